"""The web console's operations pages (issue 12, docs/console.md "## Pages") with the real
binary, signed in as a directory administrator through the real sign-in gate:

- explain: the form gives the decision, reason and enhanced status `rampart explain`
  prints, for a refused and an accepted case;
- queue: a message for a dead next hop is listed; hold, release and delete through the
  page change the queue (`rampart queue list` agrees), each in the audit log;
- quarantine: a quarantined message is listed with the rule that held it, its page shows
  the body as escaped text, release through the page delivers it;
- tracking: the search finds a RCPT refused by the relay rule, with the rule and reason;
- users and groups: nested groups resolved, who may sign in;
- a POST without the CSRF token is refused and changes nothing.
"""
import html
import json
import re
import smtplib
import subprocess
import urllib.parse

import pytest

from conftest import DOMAIN, RAMPART_BIN, RELAY_IP, free_port, queued_id, wait_for
from console_client import ADMIN_PASSWORD, ADMIN_USER, ConsoleClient, start_console_server

QUARANTINE_RULE = """[[transport_rules]]
name = "hold"
subject_contains = ["hold me"]
quarantine = true
"""


def signed_in(base):
    c = ConsoleClient(base)
    status, text, _ = c.login(ADMIN_USER, ADMIN_PASSWORD)
    assert status == 303, text
    return c


def table_rows(page, table_id):
    """The cells (unescaped text) of each <tr> with <td>s in the table with this id."""
    m = re.search(rf'<table id="{table_id}">(.*?)</table>', page, re.S)
    assert m, f"no table {table_id} in:\n{page[:3000]}"
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", m.group(1), re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)
        if cells:
            rows.append([html.unescape(re.sub(r"<[^>]+>", " ", c)).strip() for c in cells])
    return rows


def send(srv, sender, rcpts, body=b"Subject: console\r\n\r\nhello\r\n", source=RELAY_IP):
    with smtplib.SMTP(srv.host, srv.port, timeout=20, source_address=(source, 0)) as s:
        s.ehlo("client.test")
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            assert s.rcpt(r)[0] == 250
        code, text = s.data(body)
        assert code == 250, text
    return queued_id(text)


def queue_messages(srv):
    r = srv.queue_cli("list", "--json")
    assert r.returncode == 0, r.stderr
    return {m["id"]: m for m in json.loads(r.stdout)["messages"]}


def audit_lines(srv):
    path = srv.data_dir / "console-audit.log"
    return [json.loads(l) for l in path.read_text().splitlines() if l.strip()] if path.exists() else []


def cli_explain(srv, client_ip, sender, rcpts):
    args = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", client_ip,
            "--mail-from", sender]
    for r in rcpts:
        args += ["--rcpt", r]
    r = subprocess.run(args, capture_output=True, text=True, timeout=30)
    replies = re.findall(r"^  => (\d{3}) (?:(\d\.\d+\.\d+) )?(.*?)   \[decided by ([^\]]+)\]$", r.stdout, re.M)
    return r.returncode, replies, r.stdout


@pytest.mark.parametrize("client_ip,rcpt,accepted", [("127.0.0.1", "x@outside.test", False),
                                                      (RELAY_IP, "x@outside.test", True)])
def test_explain_form_gives_what_rampart_explain_prints(rampart_factory, client_ip, rcpt, accepted):
    srv, base = start_console_server(rampart_factory, smarthost_port=free_port())   # a route for the relayed mail
    c = signed_in(base)
    status, page = c.get("/console/explain")
    assert status == 200 and '<option value="default"' in page, page
    query = urllib.parse.urlencode({"listener": "default", "client": client_ip, "user": "", "sender": "s@outside.test",
                                    "rcpts": rcpt + "\r\n"})
    status, page = c.get("/console/explain?" + query)
    assert status == 200, page
    code, cli_replies, text = cli_explain(srv, client_ip, "s@outside.test", [rcpt])
    assert code == (0 if accepted else 1), text
    rows = table_rows(page, "explain-replies")
    # The same replies, with the same code, enhanced status, text and deciding rule.
    assert [tuple(r[1:]) for r in rows] == [tuple(x) for x in cli_replies], (rows, text)
    last = rows[-1]
    if accepted:
        assert "Every recipient would be accepted" in page and last[1].startswith("2")
    else:
        assert "would be refused" in page
        assert last[1:] == ["550", "5.7.1", "relaying denied", "relay"], rows
    # Every rule step the command printed is a row of the trace table.
    trace = table_rows(page, "explain-trace")
    steps = [list(s) for s in re.findall(r"^  (\S+)\s+(pass|accept|refuse)\s", text, re.M)]
    assert steps and steps == [r[:2] for r in trace if len(r) == 3 and r[1] in ("pass", "accept", "refuse")], (steps, trace)
    # Live-only steps were evaluated in-process, from the running server.
    assert "evaluated with this server's live state" in page


def test_explain_form_runs_the_filter_chain_without_logging_or_tracking_it(rampart_factory):
    srv, base = start_console_server(rampart_factory, listener_keys={"filters": True},
                                     extra_config='[sender_filter]\nblock = ["spammer@bad.test"]\n')
    c = signed_in(base)
    status, page = c.get("/console/explain?listener=default&client=127.0.0.1&sender=spammer%40bad.test&rcpts=x%40" + DOMAIN)
    assert status == 200, page
    code, cli_replies, text = cli_explain(srv, "127.0.0.1", "spammer@bad.test", [f"x@{DOMAIN}"])
    rows = table_rows(page, "explain-replies")
    # The filter agent's refusal, as the command prints it (the agent named in the trace).
    assert code == 1 and rows[-1][1:4] == list(cli_replies[-1][:3]) and rows[-1][1] == "554", (rows, text)
    # "Decided by" names the agent and its rule, as an access rule's name is shown.
    assert rows[-1][4] == "filter sender_filter sender_filter.block", rows
    decisions = [r[0] for r in table_rows(page, "explain-trace") if len(r) == 1]
    assert any("decided by filter sender_filter" in d for d in decisions), decisions
    # An imagined session: its verdict is neither in the log nor in the tracking store.
    assert not srv.log_events("filter.verdict"), srv.log_tail()
    r = subprocess.run([RAMPART_BIN, "track", "-c", str(srv.config_path), "--sender", "spammer@bad.test"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "no message matches" in r.stderr, (r.stdout, r.stderr)


def test_explain_form_error_is_the_commands(rampart_factory):
    srv, base = start_console_server(rampart_factory)
    c = signed_in(base)
    status, page = c.get("/console/explain?listener=default&client=not-an-ip&sender=a%40b&rcpts=x%40y")
    assert status == 200 and "is not an IPv4 or IPv6 address" in page, page


def test_queue_page_hold_release_delete(rampart_factory):
    srv, base = start_console_server(rampart_factory, smarthost_port=free_port(), retry_interval="1h")
    qid = send(srv, "sender@outside.test", ["dest@outside.test"])
    wait_for(lambda: queue_messages(srv).get(qid, {}).get("state") == "deferred", timeout=20, what="the first deferral")
    c = signed_in(base)
    status, page = c.get("/console/queue")
    assert status == 200, page
    [row] = [r for r in table_rows(page, "queue") if r[1] == qid]
    assert row[2] == "deferred" and row[3] == "<sender@outside.test>" and row[4] == "dest@outside.test", row
    assert row[7] == "1" and row[8].startswith("4"), row   # attempts, last error
    # Hold through the page: the queue agrees, the list shows it under "held".
    status, _, location = c.post("/console/queue/action", [("action", "hold"), ("id", qid)])
    assert status == 303 and location.startswith("/console/queue?done="), location
    wait_for(lambda: queue_messages(srv)[qid]["held"], timeout=10, what="the hold")
    assert queue_messages(srv)[qid]["state"] == "held"
    status, page = c.get("/console/queue?state=held")
    assert [r[1] for r in table_rows(page, "queue")] == [qid], page
    status, page = c.get("/console/queue?state=deferred")
    assert table_rows(page, "queue") == []
    # The message's page: envelope, recipient with its last result, headers.
    status, page = c.get("/console/queue/message?id=" + qid)
    assert status == 200 and "Subject: console" in page and "dest@outside.test" in page, page
    # Release, then delete (through the selection form's fields).
    status, _, _ = c.post("/console/queue/action", [("action", "release"), ("id", qid)])
    assert status == 303
    wait_for(lambda: not queue_messages(srv)[qid]["held"], timeout=10, what="the release")
    status, _, location = c.post("/console/queue/action", [("action", "delete"), ("id", qid)])
    assert status == 303
    wait_for(lambda: qid not in queue_messages(srv), timeout=10, what="the deletion")
    status, page = c.get(location)
    assert qid in html.unescape(page)   # what happened, said on the list
    # Each change in the audit log with who made it.
    whats = [(a["user"], a["what"]) for a in audit_lines(srv)]
    for verb in ("hold", "release", "delete"):
        assert (ADMIN_USER, f"queue: {verb} {qid}") in whats, whats
    changes = [e for e in srv.log_events("console.change") if qid in e.get("what", "")]
    assert len(changes) == 3 and all(e["user"] == ADMIN_USER for e in changes), changes


def test_queue_action_without_csrf_is_refused(rampart_factory):
    srv, base = start_console_server(rampart_factory, smarthost_port=free_port(), retry_interval="1h")
    qid = send(srv, "sender@outside.test", ["dest@outside.test"])
    c = signed_in(base)
    c.get("/console/queue")
    status, _, _ = c.post("/console/queue/action", [("action", "delete"), ("id", qid)], csrf=None)
    assert status == 403
    status, _, _ = c.post("/console/queue/action", [("action", "delete"), ("id", qid)], csrf="00" * 32)
    assert status == 403
    assert qid in queue_messages(srv)
    assert not [a for a in audit_lines(srv) if qid in a["what"]]


def test_quarantine_page_shows_escaped_preview_and_release_delivers(rampart_factory, sink):
    srv, base = start_console_server(rampart_factory, smarthost_port=sink.port, listener_keys={"filters": True},
                                     extra_config=QUARANTINE_RULE)
    body = b"Subject: hold me\r\nContent-Type: text/html\r\n\r\n<script>alert('x')</script><b>bold</b>\r\n"
    qid = send(srv, "sender@outside.test", ["dest@outside.test"], body=body)
    wait_for(lambda: queue_messages(srv).get(qid, {}).get("quarantine"), timeout=20, what="the quarantine")
    c = signed_in(base)
    status, page = c.get("/console/quarantine")
    assert status == 200, page
    [row] = [r for r in table_rows(page, "quarantine") if r[1] == qid]
    assert "hold" in row[2] and row[3] == "<sender@outside.test>", row
    assert f"/console/tracking?id={qid}" in page
    status, page = c.get("/console/quarantine/message?id=" + qid)
    assert status == 200
    assert "<script>" not in page and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page, page
    assert "Subject: hold me" in page
    status, _, location = c.post("/console/quarantine/action", [("action", "release"), ("id", qid)])
    assert status == 303 and location.startswith("/console/quarantine?done="), location
    wait_for(lambda: sink.messages(), timeout=20, what="delivery of the released message")
    assert b"hold me" in sink.messages()[0]["data"]
    assert (ADMIN_USER, f"quarantine: release {qid}") in [(a["user"], a["what"]) for a in audit_lines(srv)]
    status, page = c.get("/console/quarantine")
    assert not [r for r in table_rows(page, "quarantine") if r[1] == qid]


def test_tracking_search_finds_refused_rcpt_with_its_rule(rampart_factory):
    srv, base = start_console_server(rampart_factory)
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as s:   # 127.0.0.1: not on the relay list
        s.ehlo("client.test")
        assert s.mail("mallory@outside.test")[0] == 250
        assert s.rcpt("victim@elsewhere.test")[0] == 550
    c = signed_in(base)
    found = []

    def search():
        status, page = c.get("/console/tracking?recipient=victim%40elsewhere.test&status=refused")
        assert status == 200, page
        found[:] = [page]
        return "Refused by rule relay" in page

    wait_for(search, timeout=20, what="the refusal in the tracking store")
    page = found[0]
    assert re.search(r"Refused by rule relay[.\w]*: 550 (5\.7\.1 )?relaying denied", html.unescape(page)), page
    assert "victim@elsewhere.test" in page and "RCPT refused" in page
    status, page = c.get("/console/tracking?since=last+tuesday")
    assert status == 400 and "since" in page


def test_directory_page_lists_nested_groups(rampart_factory):
    srv, base = start_console_server(rampart_factory)
    c = signed_in(base)
    status, page = c.get("/console/directory")
    assert status == 200, page
    users = {r[0]: r for r in table_rows(page, "users")}
    # carol is in operators, which is in rampart-admins: she may sign in; bob may not.
    assert users["carol"][2] == "operators" and "rampart-admins" in users["carol"][3] and users["carol"][4] == "yes", users
    assert users["bob"][4] == "no" and users["admin"][4] == "yes"
    assert users["admin"][1] == f"admin@{DOMAIN}"
    groups = {r[0]: r for r in table_rows(page, "groups")}
    assert "group:operators" in groups["rampart-admins"][1]
    assert groups["rampart-admins"][2].split() == ["admin", "carol"], groups
