"""The content filter ([content_filter], DESIGN.md §11, issue 9) against a real rspamd on
loopback (rspamd.py): GTUBE is refused at reject_at = 7 (SCL 9), a plain business message is
delivered with a low SCL in X-Rampart-SCL, a forged incoming X-Rampart-SCL is replaced,
quarantine_at holds the message in `rampart quarantine`, delete_at answers 250 and delivers
nothing, rspamd stopped gives 451 4.7.1 (or the message passes with on_error = "accept" and
`rampart check` says so), and a recipient's safe sender skips rspamd for that recipient."""
import smtplib
import socket
import subprocess
import threading

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for
from rspamd import GTUBE, MARKER, Rspamd


@pytest.fixture(scope="module")
def rspamd(tmp_path_factory):
    r = Rspamd(tmp_path_factory.mktemp("rspamd")).start()
    yield r
    r.stop()


@pytest.fixture
def live_rspamd(rspamd):
    """The module's rspamd, started again if a test stopped it."""
    if rspamd.proc is None:
        rspamd.start()
    yield rspamd
    if rspamd.proc is None:
        rspamd.start()


def config(rspamd, reject_at=7, quarantine_at=0, delete_at=0, on_error=None, engine="rspamd"):
    lines = ["[content_filter]", f'engine = "{engine}"', f'address = "{rspamd.address}"', f"reject_at = {reject_at}",
             f"quarantine_at = {quarantine_at}", f"delete_at = {delete_at}", 'timeout = "20s"']
    if on_error:
        lines.append(f'on_error = "{on_error}"')
    return "\n".join(lines) + "\n"


def server(rampart_factory, rspamd, **kw):
    return rampart_factory("cf", extra_config=config(rspamd, **kw), listener_keys={"filters": True})


def message(subject, body=b"Hello Bob,\r\nplease find the minutes of Tuesday's meeting below.\r\nRegards, Carol\r\n",
            headers=b"", sender=b"carol@partner.test", to=b"user@" + DOMAIN.encode()):
    return (headers + b"From: Carol <" + sender + b">\r\nTo: <" + to + b">\r\nSubject: " + subject.encode() +
            b"\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\nMessage-ID: <" + subject.encode() + b".1@partner.test>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" + body)


def send(srv, data, rcpts=("user",), sender="carol@partner.test"):
    with smtplib.SMTP(srv.host, srv.port, timeout=60) as s:
        s.ehlo("mail.partner.test")
        assert s.mail(sender)[0] == 250
        for r in rcpts:
            code, text = s.rcpt(f"{r}@{DOMAIN}")
            assert code == 250, text
        return s.data(data)


def delivered(srv, subject, local="user"):
    def find():
        found = [m for m in srv.maildir_messages(local) if b"Subject: " + subject.encode() + b"\r\n" in m]
        return found or None
    return wait_for(find, 20, what=f"message '{subject}' delivered to {local}\n{srv.log_tail()}")


def stamps(msg):
    return [line for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n") if line.lower().startswith(b"x-rampart-scl:")]


def scl_events(srv):
    return srv.log_events("content_filter.scanned")


def test_gtube_is_refused_and_business_mail_is_stamped_low(rampart_factory, live_rspamd):
    srv = server(rampart_factory, live_rspamd)
    code, text = send(srv, message("spam", b"buy now\r\n" + GTUBE + b"\r\n"))
    assert code == 550, text
    assert text.decode() == "5.7.1 message refused as spam (SCL 9)", text
    [ev] = scl_events(srv)
    assert ev["scl"] == "9" and ev["action"] == "reject" and "GTUBE" in ev["symbols"], ev
    # A plain business message, with a forged stamp: delivered with rspamd's low SCL, the forgery gone.
    code, text = send(srv, message("minutes", headers=b"X-Rampart-SCL: 9\r\nx-rampart-scl: -1\r\n"))
    assert code == 250, text
    [msg] = delivered(srv, "minutes")
    [stamp] = stamps(msg)
    scl = int(stamp.split(b":")[1])
    assert 0 <= scl <= 3, msg
    assert int(scl_events(srv)[-1]["scl"]) == scl
    assert not [m for m in srv.maildir_messages() if b"Subject: spam" in m]


def test_quarantine_threshold_holds_the_message(rampart_factory, live_rspamd):
    srv = server(rampart_factory, live_rspamd, reject_at=9, quarantine_at=4)
    code, text = send(srv, message("held", b"special offer " + MARKER + b" today\r\n"))
    assert code == 250, text
    r = subprocess.run([RAMPART_BIN, "quarantine", "list", "-c", str(srv.config_path)], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0 and "1 message" in r.stdout, r.stdout + r.stderr
    qid = r.stdout.splitlines()[1].split()[0]
    r = subprocess.run([RAMPART_BIN, "quarantine", "show", qid, "-c", str(srv.config_path)], capture_output=True,
                       text=True, timeout=20)
    [why] = [line for line in r.stdout.splitlines() if line.startswith("quarantine:")]
    assert "content_filter" in why and ">= quarantine_at 4" in why, r.stdout
    assert not srv.maildir_messages()
    # Below the threshold: delivered.
    code, text = send(srv, message("fine"))
    assert code == 250, text
    delivered(srv, "fine")


def test_delete_threshold_answers_250_and_delivers_nothing(rampart_factory, live_rspamd):
    srv = server(rampart_factory, live_rspamd, reject_at=0, delete_at=4)
    code, text = send(srv, message("deleted", b"special offer " + MARKER + b" today\r\n"))
    assert code == 250, text
    code, text = send(srv, message("kept"))
    assert code == 250, text
    delivered(srv, "kept")
    assert not [m for m in srv.maildir_messages() if b"Subject: deleted" in m]
    verdicts = [e for e in srv.log_events("filter.verdict") if e.get("agent") == "content_filter" and e.get("verdict") == "discard"]
    assert verdicts and verdicts[0]["rule"] == "content_filter.delete_at", verdicts
    assert wait_for(lambda: srv.spool_count() == 0, 10, what="spool empty")


def test_rspamd_stopped_fails_closed_or_accepts_when_told(rampart_factory, live_rspamd):
    closed = server(rampart_factory, live_rspamd)
    accepting = rampart_factory("cf2", extra_config=config(live_rspamd, on_error="accept"), listener_keys={"filters": True})
    live_rspamd.stop()
    code, text = send(closed, message("later", headers=b"X-Rampart-SCL: 0\r\n"))
    assert code == 451, text
    assert text.decode() == "4.7.1 spam check unavailable; try again later", text
    [err] = closed.log_events("content_filter.engine_error")
    assert "cannot connect" in err["error"], err
    assert closed.spool_count() == 0 and not closed.maildir_messages()
    code, text = send(accepting, message("unscanned", headers=b"X-Rampart-SCL: 0\r\n"))
    assert code == 250, text
    [msg] = delivered(accepting, "unscanned")
    assert stamps(msg) == [], msg   # the forged one removed, none added
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(accepting.config_path)], capture_output=True, text=True, timeout=20)
    assert "[content_filter]" in r.stdout and 'EXPOSURE  on_error = "accept" (default "tempfail")' in r.stdout, r.stdout
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(closed.config_path)], capture_output=True, text=True, timeout=20)
    assert "[content_filter]" not in r.stdout, r.stdout


def test_safe_sender_skips_rspamd_for_its_recipient(rampart_factory, live_rspamd):
    srv = rampart_factory("cf", start=False, extra_config=config(live_rspamd), listener_keys={"filters": True})
    (srv.config_path.parent / "directory.toml").write_text(
        '[[users]]\nname = "user"\naddresses = ["user@example.test"]\nsafe_senders = ["partner.test"]\n\n'
        '[[users]]\nname = "other"\naddresses = ["other@example.test"]\n')
    srv.start()
    gtube = b"see below\r\n" + GTUBE + b"\r\n"
    # Only the safe-listing recipient: rspamd not asked, SCL -1, delivered.
    code, text = send(srv, message("safe", gtube))
    assert code == 250, text
    [msg] = delivered(srv, "safe")
    assert stamps(msg) == [b"X-Rampart-SCL: -1"], msg
    assert scl_events(srv) == []
    # The same message from another domain: refused.
    code, text = send(srv, message("unsafe", gtube, sender=b"x@elsewhere.test"), sender="x@elsewhere.test")
    assert code == 550, text
    # A recipient who does not list the sender, next to one who does: scanned and stamped,
    # no threshold applied (the safe-listing recipient gets the mail).
    code, text = send(srv, message("mixed", gtube), rcpts=("user", "other"))
    assert code == 250, text
    for local in ("user", "other"):
        [msg] = delivered(srv, "mixed", local)
        assert stamps(msg) == [b"X-Rampart-SCL: 9"], msg


class HostileRspamd:
    """A hostile engine written for the test: reads the request and answers `answer` (then
    closes), or, with answer None, never answers (the kernel's backlog accepts the connection)."""

    def __init__(self, answer):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.address = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.answer = answer
        self.thread = None
        if answer is not None:
            self.thread = threading.Thread(target=self.serve, daemon=True)
            self.thread.start()

    def serve(self):
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            conn.sendall(self.answer)

    def close(self):
        self.sock.close()
        if self.thread:
            self.thread.join(timeout=20)


@pytest.mark.parametrize("answer,error", [
    (None, "no reply from"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nnot json!!!", "reply is not JSON"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 47\r\n\r\n" + b'{"score":"high","required_score":15,"action":1}', "no number \"score\""),
    (b"220 smtp.example ESMTP\r\n\r\n", "garbled reply"),
])
def test_hostile_engine_fails_closed(rampart_factory, answer, error):
    engine = HostileRspamd(answer)
    try:
        srv = rampart_factory("cf", extra_config=config(engine).replace('timeout = "20s"', 'timeout = "1s"'),
                              listener_keys={"filters": True})
        code, text = send(srv, message("hostile"))
        assert code == 451 and text == b"4.7.1 spam check unavailable; try again later", text
        [err] = srv.log_events("content_filter.engine_error")
        assert error in err["error"], err
        assert srv.spool_count() == 0 and not srv.maildir_messages()
    finally:
        engine.close()


def test_bad_settings_name_file_line_and_key(tmp_path):
    cfg = tmp_path / "cf.toml"
    cfg.write_text('[content_filter]\nengine = "spamassassin"\nreject_at = 12\naddress = "localhost"\n')
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert 'cf.toml:2: content_filter.engine: unknown value "spamassassin" (rspamd | none)' in out, out
    assert "cf.toml:3: content_filter.reject_at: expected a whole number (from 0 to 9)" in out, out
    assert 'cf.toml:4: content_filter.address: "localhost" is not address:port' in out, out
