"""The queue manager and the queue tools against a live server.

The next hop is a smart-host port on which nothing listens until the test starts an
aiosmtpd sink there. `rampart queue ...` talks to the running server over the control
socket in data_dir.
"""
import json
import os
import smtplib
import socket
import stat
import threading

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


class HostileHop:
    """A next hop that answers every RCPT with a temporary error full of terminal controls."""

    REPLY = b"451 4.3.0 \x1b[31mred \xe2\x80\xaeevil \xc2\x9b2J \x9b\r\n"

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(SOCK_TIMEOUT)
        self.port = self.listener.getsockname()[1]
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(SOCK_TIMEOUT)
                try:
                    conn.sendall(b"220 hostile.test\r\n")
                    buf = b""
                    for _ in range(50):   # bounded dialogue
                        while b"\r\n" not in buf:
                            chunk = conn.recv(4096)
                            if not chunk:
                                raise EOFError
                            buf += chunk
                        line, buf = buf.split(b"\r\n", 1)
                        verb = line[:4].upper()
                        if verb == b"RCPT":
                            conn.sendall(self.REPLY)
                        elif verb == b"QUIT":
                            conn.sendall(b"221 bye\r\n")
                            break
                        else:
                            conn.sendall(b"250 ok\r\n")
                except (OSError, EOFError):
                    pass

    def stop(self):
        self.stopped.set()
        self.listener.close()
        self.thread.join(timeout=SOCK_TIMEOUT)


def test_queue_show_and_log_escape_terminal_controls(rampart_factory):
    """Issue 14 #12: headers, ENVID and a peer's diagnostic reach a terminal escaped."""
    hop = HostileHop()
    try:
        r = rampart_factory(smarthost_port=hop.port, retry_interval="1h")
        with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
            s.ehlo("client.test")
            assert s.mail(SENDER, ["ENVID=env+1B[2J+E2+80+AE"])[0] == 250
            assert s.rcpt("dest@outside.test")[0] == 250
            code, text = s.data(b"From: <sender@example.test>\r\nSubject: \x1b]0;pwned\x07 hi \xe2\x80\xae gpj.exe\r\n\r\nx\r\n")
            assert code == 250
        qid = queued_id(text)
        m = wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral\n" + r.log_tail())
        assert "\x1b[31mred" in m["recipients"][0]["diagnostic"]   # JSON keeps the text (escaped by JSON)
        for args in (("show", qid), ("list",)):
            p = r.queue_cli(*args)
            assert p.returncode == 0, p.stderr
            out = p.stdout
            for raw in ("\x1b", "\x07", "\u202e", "\u009b", "\ufffd"):
                assert raw not in out, (args, raw, out)
            assert "\\x1b[31mred \\u202eevil \\u009b2J \\x9b" in out, out
        show = r.queue_cli("show", qid).stdout
        assert "Subject: \\x1b]0;pwned\\x07 hi \\u202e gpj.exe" in show, show
        assert "ENVID=env\\x1b[2J\\u202e" in show, show
        log = r.log_path.read_bytes()
        for raw in (b"\x1b", b"\xe2\x80\xae", b"\xc2\x9b", b"\x9b"):
            assert raw not in log, raw
    finally:
        hop.stop()


def test_restart_keeps_addresses_intact_including_0_1_spool_files(rampart_factory, sink_factory):
    """Issue 14 #11: every byte of an address survives the spool; a file that 0.1 wrote
    with a TAB in ORCPT is recovered with the right address."""
    port = free_port()
    r = rampart_factory(smarthost_port=port, retry_interval="1h")
    odd = '"odd %41 -\\\\ addr"@outside.test'
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail(SENDER, ["ENVID=-"])[0] == 250
        assert s.rcpt(odd, ["ORCPT=rfc822;a+09b+25"])[0] == 250
        code, text = s.data(b"From: <sender@example.test>\r\nSubject: odd\r\n\r\nbody\r\n")
        assert code == 250
    qid = queued_id(text)
    wait_for(lambda: deferred_after(r, qid, 1), timeout=20, what="the first deferral")
    r.stop()
    body = b"Received: from c.test\r\nSubject: written by 0.1\r\n\r\nold body\r\n"
    head = ("rampart-spool 1\nid 0000000000OLD01\nreceived 1700000000\nlistener default\nclient 127.0.0.5\n"
            "helo c.test\ntls -\nsender sender@example.test\nbody -\nsmtputf8 0\nret -\nenvid -\n"
            "rcpt\t0\trfc822\tevil@attacker.test\t;x\tvictim@outside.test\n"
            f"size {len(body)}\n\n").encode()
    (r.data_dir / "spool" / "0000000000OLD01").write_bytes(head + body + b"end\n")
    sink = sink_factory(port=port)
    r.start()
    assert qjson(r, "retry", "--all")["ok"] is True
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="both messages delivered\n" + r.log_tail())
    got = sorted(tuple(m["rcpt_tos"]) for m in sink.messages())
    assert got == sorted([(odd,), ("victim@outside.test",)]), got
