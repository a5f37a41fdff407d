"""The queue manager and the queue tools against a live server.

The next hop is a smart-host port on which nothing listens until the test starts an
aiosmtpd sink there. `rampart queue ...` talks to the running server over the control
socket in data_dir.
"""
import json
import os
import smtplib
import stat

from conftest import RELAY_IP, SOCK_TIMEOUT, free_port, queued_id, wait_for

SENDER = "sender@example.test"


def send_one(r, rcpt="dest@outside.test"):
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail(SENDER)[0] == 250
        assert s.rcpt(rcpt)[0] == 250
        code, text = s.data(b"From: <sender@example.test>\r\nSubject: queue test\r\n\r\nbody\r\n")
        assert code == 250
    return queued_id(text)


def qjson(r, *args):
    p = r.queue_cli(*args, "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def message(r, qid):
    return next((m for m in qjson(r, "list")["messages"] if m["id"] == qid), None)


def deferred_after(r, qid, attempts):
    m = message(r, qid)
    return m if m and m["state"] == "deferred" and m["attempts"] >= attempts else None


def test_next_hop_down_then_back_delivers_exactly_once(rampart_factory, sink_factory):
    port = free_port()
    r = rampart_factory(smarthost_port=port, retry_interval="1s", queue={"retry_backoff": 1.0})
    qid = send_one(r)
    wait_for(lambda: deferred_after(r, qid, 2), timeout=20, what="two failed attempts")
    sink = sink_factory(port=port)
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="delivery after the next hop came back")
    assert len(sink.messages()) == 1
    assert qid in sink.ids_seen()
    assert qjson(r, "list")["messages"] == []
    results = [e["result"] for e in r.log_events("delivery.attempt") if e.get("qid") == qid]
    assert results.count("delivered") == 1 and results[-1] == "delivered"


def test_list_show_retry_and_control_socket_mode(rampart_factory):
    r = rampart_factory(smarthost_port=free_port(), retry_interval="1h")
    sock = r.data_dir / "control.sock"
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
    qid = send_one(r)
    m = wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    assert m["sender"] == SENDER and m["held"] is False and m["next_attempt"] is not None
    [rc] = m["recipients"]
    assert rc["address"] == "dest@outside.test" and rc["state"] == "deferred" and rc["status"].startswith("4.")
    text = r.queue_cli("list")
    assert text.returncode == 0
    assert qid in text.stdout and "dest@outside.test" in text.stdout and "deferred" in text.stdout
    assert "1 message" in text.stdout
    show = qjson(r, "show", qid)
    assert "Subject: queue test" in show["headers"]
    assert "Subject: queue test" in r.queue_cli("show", qid).stdout
    # retry: due now although the next attempt is an hour away
    assert qjson(r, "retry", qid)["ok"] is True
    wait_for(lambda: deferred_after(r, qid, 2), timeout=20, what="the retried attempt")
    assert qjson(r, "retry", "--all")["ok"] is True
    wait_for(lambda: deferred_after(r, qid, 3), timeout=20, what="retry --all")
    missing = r.queue_cli("show", "NOSUCHID")
    assert missing.returncode != 0 and "NOSUCHID" in missing.stderr


def test_hold_survives_restart_and_release_delivers(rampart_factory, sink_factory):
    port = free_port()
    r = rampart_factory(smarthost_port=port, retry_interval="1h")
    qid = send_one(r)
    wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    assert qjson(r, "hold", qid)["ok"] is True
    assert message(r, qid)["state"] == "held"
    r.stop()
    sink = sink_factory(port=port)
    r.start()
    m = message(r, qid)
    assert m["state"] == "held" and m["held"] is True and m["attempts"] == 1  # attempt count survived too
    # retry does not override a hold
    p = r.queue_cli("retry", qid)
    assert p.returncode != 0 and "held" in p.stderr
    assert message(r, qid)["attempts"] == 1
    assert sink.messages() == []
    assert qjson(r, "release", qid)["ok"] is True
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="delivery after release")
    assert qid in sink.ids_seen()


def test_delete_removes_without_report(rampart_factory):
    r = rampart_factory(smarthost_port=free_port(), retry_interval="1h")
    qid = send_one(r)
    wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    assert qjson(r, "delete", qid)["ok"] is True
    assert qjson(r, "list")["messages"] == []
    assert r.spool_count() == 0
    assert r.maildir_messages() == []
    assert r.log_events("dsn.queued") == []


def test_bounce_fails_pending_recipients_with_a_report(rampart_factory):
    r = rampart_factory(smarthost_port=free_port(), retry_interval="1h")
    qid = send_one(r)
    wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    assert qjson(r, "bounce", qid)["ok"] is True
    wait_for(lambda: r.maildir_messages("sender"), timeout=20, what="the report")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    raw = r.maildir_messages("sender")[0]
    assert b"Action: failed" in raw and b"Status: 5.0.0" in raw


def test_queue_tool_without_server_names_the_socket(rampart_factory):
    r = rampart_factory(smarthost_port=free_port(), start=False)
    p = r.queue_cli("list")
    assert p.returncode != 0
    assert str(r.data_dir / "control.sock") in p.stderr


def test_recorded_failure_is_reported_after_restart_and_not_retried(rampart_factory):
    """A 'failed' record without its 'notified' record (a crash between the two) means:
    the report is still owed, the recipient is finished."""
    r = rampart_factory(smarthost_port=free_port(), retry_interval="1h")
    qid = send_one(r)
    wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    r.stop()
    with open(r.data_dir / "spool" / qid, "a") as f:
        f.write("failed\t0\t550\t5.1.1\t127.0.0.1:25\tno such user\n")
    attempts_before = len([e for e in r.log_events("delivery.attempt") if e.get("qid") == qid])
    r.start()
    wait_for(lambda: r.maildir_messages("sender"), timeout=20, what="the owed report")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    raw = r.maildir_messages("sender")[0]
    assert b"Status: 5.1.1" in raw and b"Diagnostic-Code: smtp; 550 5.1.1 no such user" in raw
    assert len([e for e in r.log_events("delivery.attempt") if e.get("qid") == qid]) == attempts_before


def test_second_server_on_the_same_data_dir_is_refused(rampart_factory):
    r = rampart_factory(smarthost_port=free_port())
    twin = rampart_factory("twin", start=False, data_dir=r.data_dir, smarthost_port=free_port())
    try:
        twin.start()
    except AssertionError:
        pass
    assert not twin.running()
    assert "another server answers on" in twin.stderr_path.read_text()
    assert r.queue_cli("list").returncode == 0  # the first one still owns its socket
