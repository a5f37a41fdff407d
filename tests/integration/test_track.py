"""Message tracking (issue 12, "Message tracking with rejection history") end to end with
the real binary: the server records what happened to each message in data_dir/tracking.db
and `rampart track` shows it — an accepted message's receipt, queueing and delivery to the
next hop; a recipient refused by relay policy (no queue id) with the rule and reason; a
sender refused by a filter agent with the agent; --json, and the sender, recipient and
status filters. A forged X-Rampart-Tracking-Id from an anonymous client is replaced by the
server's own id, which names the message in the store."""
import json
import smtplib
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for

FILTERS = """[sender_filter]
block = ["spammer@bad.test"]

[[transport_rules]]
name = "no lottery"
subject_contains = ["lottery"]
reject = { code = 554, status = "5.7.1", text = "lottery mail is not accepted here" }

[[transport_rules]]
name = "hold"
subject_contains = ["hold me"]
quarantine = true
"""


def track(srv, *args, ok=True):
    r = subprocess.run([RAMPART_BIN, "track", "-c", str(srv.config_path), *args], capture_output=True, text=True,
                       timeout=30)
    if ok:
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    return r


def track_json(srv, *args):
    return json.loads(track(srv, "--json", *args).stdout)


def wait_tracked(srv, pred, *args, what="tracking events"):
    """The recorder writes from its own thread: poll the store (bounded) until pred holds."""
    found = []

    def check():
        r = track(srv, "--json", *args, ok=False)
        found[:] = json.loads(r.stdout) if r.returncode == 0 else []
        return pred(found)

    wait_for(check, timeout=20, what=what)
    return found


@pytest.fixture
def srv(rampart_factory, sink):
    return rampart_factory("tracked", smarthost_port=sink.port, relay_list=("127.0.0.1/32",),
                           listener_keys={"filters": True}, extra_config=FILTERS)


def send(srv, sender, rcpts, body=b"Subject: hello\r\n\r\nhi\r\n"):
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as c:
        c.ehlo("client.test")
        return c.sendmail(sender, rcpts, body)


def events(message):
    return [e["event"] for e in message["events"]]


def test_delivered_message_shows_received_queued_delivered(srv, sink):
    send(srv, "alice@outside.test", ["bob@remote.test"])
    wait_for(lambda: sink.messages(), timeout=20, what="delivery to the sink")
    [m] = wait_tracked(srv, lambda f: f and "delivered" in f[0]["status"], "--sender", "alice@outside.test",
                       what="the delivery in the store")
    assert events(m)[0] == "smtp.transaction" and m["events"][0]["result"] == "accepted", m
    qid = m["events"][0]["qid"]
    attempt = [e for e in m["events"] if e["event"] == "delivery.attempt"]
    assert attempt and attempt[0]["result"] == "delivered" and attempt[0]["qid"] == qid, m
    assert m["refused_by"] is None
    text = track(srv, "--id", qid).stdout
    for word in ("received", "queued qid=" + qid, "delivery delivered", "status: delivered"):
        assert word in text, (word, text)
    # The stored message carries the tracking id the store files it under.
    stored = sink.messages()[0]["data"]
    assert f"X-Rampart-Tracking-Id: {m['tracking_id']}".encode() in stored, stored[:400]
    # Filters: by recipient (case-insensitive), by status, and ones that match nothing.
    assert [x["tracking_id"] for x in track_json(srv, "--recipient", "BOB@remote.test")] == [m["tracking_id"]]
    assert [x["tracking_id"] for x in track_json(srv, "--status", "delivered")] == [m["tracking_id"]]
    assert track(srv, "--status", "refused", ok=False).returncode == 1
    assert track(srv, "--sender", "nobody@outside.test", ok=False).returncode == 1
    assert track_json(srv, "--since", "1h", "--status", "delivered")
    assert track(srv, "--since", "2000-01-01T00:00:00Z", "--until", "2000-01-02T00:00:00Z", ok=False).returncode == 1
    bad = track(srv, "--since", "last tuesday", ok=False)
    assert bad.returncode == 2 and "--since" in bad.stderr


def test_rcpt_refused_by_relay_policy_shows_rule_and_reason_without_qid(rampart_factory, sink):
    # 127.0.0.1 is not on the relay list: mail for another domain is refused at RCPT.
    srv = rampart_factory("strict", smarthost_port=sink.port)
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as c:
        c.ehlo("client.test")
        assert c.mail("mallory@outside.test")[0] == 250
        code, _ = c.rcpt("victim@elsewhere.test")
        assert code == 550
    [m] = wait_tracked(srv, lambda f: len(f) == 1, "--recipient", "victim@elsewhere.test", what="the refusal")
    assert "refused" in m["status"]
    refusal = m["refused_by"]
    assert refusal["event"] == "smtp.rcpt.refused" and refusal["rule"].startswith("relay"), refusal
    assert refusal["code"] == 550 and refusal["reason"], refusal
    assert all("qid" not in e for e in m["events"]), m
    text = track(srv, "--status", "refused").stdout
    assert f"refused by rule {refusal['rule']}: 550" in text and "victim@elsewhere.test" in text, text


def test_sender_refused_by_a_filter_agent_names_the_agent(srv):
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as c:
        c.ehlo("client.test")
        assert c.mail("spammer@bad.test")[0] == 554
    [m] = wait_tracked(srv, lambda f: len(f) == 1, "--sender", "spammer@bad.test", what="the filter refusal")
    assert m["refused_by"]["agent"] == "sender_filter" and m["refused_by"]["rule"] == "sender_filter.block", m
    assert "filter.verdict" in events(m), m   # the agent's own verdict, in order
    text = track(srv, "--sender", "spammer@bad.test").stdout
    assert "refused by agent sender_filter (rule sender_filter.block): 554" in text, text


def test_refused_at_end_of_data_names_the_agent_and_rule(srv):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(srv, "gambler@outside.test", ["bob@remote.test"], body=b"Subject: you won the lottery\r\n\r\nhi\r\n")
    assert refused.value.smtp_code == 554
    [m] = wait_tracked(srv, lambda f: len(f) == 1, "--sender", "gambler@outside.test", what="the refusal")
    r = m["refused_by"]
    assert r["event"] == "smtp.transaction" and r["agent"] == "transport_rules", m
    assert r["rule"].startswith("transport_rules") and "lottery" in r["reason"], m
    text = track(srv, "--sender", "gambler@outside.test").stdout
    assert "refused at end of data" in text and "refused by agent transport_rules" in text, text


def test_quarantined_then_released(srv, sink):
    send(srv, "held@outside.test", ["bob@remote.test"], body=b"Subject: hold me\r\n\r\nhi\r\n")
    [m] = wait_tracked(srv, lambda f: f and "quarantined" in f[0]["status"], "--status", "quarantined",
                       what="the quarantined message")
    assert "quarantine.added" in events(m) and not sink.messages(), m
    assert events(m)[0] == "filter.verdict" and m["events"][0]["agent"] == "transport_rules", m
    [qid] = {e["qid"] for e in m["events"] if "qid" in e}
    r = subprocess.run([RAMPART_BIN, "quarantine", "release", qid, "-c", str(srv.config_path)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    [m] = wait_tracked(srv, lambda f: f and f[0]["status"] == ["delivered"], "--id", qid, what="release and delivery")
    assert events(m)[-2:] == ["quarantine.released", "delivery.attempt"], m
    assert "released from quarantine" in track(srv, "--id", qid).stdout
    assert track(srv, "--status", "quarantined", ok=False).returncode == 1


def test_bounce_shows_the_failed_attempt_and_the_report(rampart_factory, sink_factory):
    sink = sink_factory(refuse={"gone@remote.test": "550 5.1.1 no such user"})
    srv = rampart_factory("bouncing", smarthost_port=sink.port, relay_list=("127.0.0.1/32",))
    send(srv, "grace@outside.test", ["gone@remote.test"])
    [m] = wait_tracked(srv, lambda f: f and "dsn.queued" in events(f[0]), "--status", "bounced", what="the bounce")
    attempt = [e for e in m["events"] if e["event"] == "delivery.attempt"]
    assert attempt and attempt[0]["result"] == "failed" and attempt[0]["code"] == 550, m
    text = track(srv, "--recipient", "gone@remote.test").stdout
    assert "status: bounced" in text and "DSN sent" in text, text


def test_forged_tracking_id_from_an_anonymous_client_is_replaced(srv, sink):
    forged = "forged-0000000000"
    send(srv, "carol@outside.test", ["dave@remote.test"],
         body=f"X-Rampart-Tracking-Id: {forged}\r\nSubject: x\r\n\r\nhi\r\n".encode())
    wait_for(lambda: sink.messages(), timeout=20, what="delivery to the sink")
    stored = sink.messages()[0]["data"]
    assert forged.encode() not in stored, stored[:400]
    assert stored.count(b"X-Rampart-Tracking-Id:") == 1, stored[:400]
    [m] = wait_tracked(srv, lambda f: len(f) == 1, "--sender", "carol@outside.test", what="the message")
    assert m["tracking_id"] != forged
    assert f"X-Rampart-Tracking-Id: {m['tracking_id']}".encode() in stored
    assert track(srv, "--id", forged, ok=False).returncode == 1


def test_tracking_can_be_turned_off(rampart_factory, sink):
    srv = rampart_factory("untracked", smarthost_port=sink.port, relay_list=("127.0.0.1/32",),
                          extra_config="[tracking]\nenabled = false\n")
    send(srv, "erin@outside.test", ["frank@remote.test"])
    wait_for(lambda: sink.messages(), timeout=20, what="delivery to the sink")
    assert not (srv.data_dir / "tracking.db").exists()
    r = track(srv, ok=False)
    assert r.returncode == 1 and "no tracking store" in r.stderr


def test_organisation_server_keeps_its_tracking_id(rampart_factory, sink, tmp_path):
    """A hub: the edge (an organisation server, TLS client certificate + AUTH EXTERNAL)
    brings the message's id in X-Rampart-Tracking-Id; the hub keeps it, so one id names the
    message on both servers. The same header from an anonymous client is replaced."""
    from pki import TestCA
    from test_server_auth import cli as server_cli, connect

    pki = TestCA(tmp_path / "pki")
    hub = rampart_factory("hub", start=False, smarthost_port=sink.port)
    hub.config_path.write_text(hub.config_text().replace('role = "all-in-one"', 'role = "mailbox"', 1))
    cert, key = pki.issue("edge1")
    server_cli(hub, "server", "add", "edge1", "--certificate", str(cert), "--address", "127.0.0.0/8")
    hub.start()
    edge_id = "edge0123456789abcdef0123"
    with connect(hub, cert, key) as c:
        assert c.auth("EXTERNAL", lambda challenge=None: "")[0] == 235
        c.sendmail(f"app@{DOMAIN}", ["someone@outside.test"],
                   f"X-Rampart-Tracking-Id: {edge_id}\r\nSubject: from the edge\r\n\r\nhi\r\n")
    wait_for(lambda: sink.messages(), timeout=20, what="relayed message at the sink")
    data = sink.messages()[0]["data"]
    assert data.count(b"X-Rampart-Tracking-Id:") == 1 and f"X-Rampart-Tracking-Id: {edge_id}".encode() in data, data[:400]
    [m] = wait_tracked(hub, lambda f: f and "delivered" in f[0]["status"], "--id", edge_id, what="the hub's record")
    assert m["tracking_id"] == edge_id and m["events"][0]["principal"] == "server:edge1", m
