"""The sender and recipient filters of the filter chain (issue 9, DESIGN.md §11
[sender_filter], [recipient_filter]) end to end: blocked senders (address, domain,
*.domain) refused 554 5.7.1 at MAIL or stamped, blocked and unknown recipients refused
550 5.1.1 after the tarpit — which waits on a timer, so another session on the same
one-thread server is served meanwhile — and `explain` shows both agents."""
import smtplib
import socket
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for

FILTERS = """[sender_filter]
block = ["spammer@bad.test", "bad.test", "*.bad.test"]
block_blank_sender = true
action = "{action}"

[recipient_filter]
block = ["ceo@{domain}"]
lookup = true
tarpit = "{tarpit}"
"""


def cli(srv, *args, stdin=None):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r


def server(rampart_factory, name="filtered", action="reject", tarpit="1s", **kw):
    srv = rampart_factory(name, start=False, listener_keys={"filters": True},
                          extra_config=FILTERS.format(action=action, domain=DOMAIN, tarpit=tarpit), **kw)
    for user in ("alice", "ceo"):
        cli(srv, "user", "add", user, "--address", f"{user}@{DOMAIN}", stdin=f"{user}-secret\n")
    srv.start()
    return srv


@pytest.fixture
def filtered(rampart_factory):
    return server(rampart_factory)


def test_blocked_senders_get_554(filtered):
    with smtplib.SMTP(filtered.host, filtered.port, timeout=20) as c:
        c.ehlo("client.test")
        for sender in ("spammer@bad.test", "SPAMMER@BAD.TEST", "anyone@bad.test", "x@mx.bad.test", "x@a.b.bad.test", ""):
            assert c.mail(sender) == (554, b"5.7.1 sender refused by the sender filter"), sender
        assert c.mail("friend@notbad.test")[0] == 250
        assert c.rcpt(f"alice@{DOMAIN}")[0] == 250
    refused = [e for e in filtered.log_events("smtp.mail.refused") if e.get("agent") == "sender_filter"]
    assert {e["rule"] for e in refused} == {"sender_filter.block", "sender_filter.block_blank_sender"}, refused


def test_blocked_and_unknown_recipients_are_refused_after_the_tarpit(filtered):
    with smtplib.SMTP(filtered.host, filtered.port, timeout=20) as c:
        c.ehlo("client.test")
        assert c.mail("friend@outside.test")[0] == 250
        assert c.rcpt(f"ceo@{DOMAIN}") == (550, b"5.1.1 no such recipient here")       # blocked, though a user
        assert c.rcpt(f"nobody@{DOMAIN}") == (550, b"5.1.1 no such recipient here")    # unknown
        assert c.rcpt(f"Alice@{DOMAIN}")[0] == 250
    rules = [e.get("rule") for e in filtered.log_events("smtp.rcpt.refused")]
    assert rules == ["recipient_filter.block", "recipient_filter.lookup"], rules
    verdicts = [e for e in filtered.log_events("filter.verdict") if e.get("agent") == "recipient_filter"
                and e.get("verdict") == "refuse"]
    assert len(verdicts) == 2, verdicts


def read_reply(sock):
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
        lines = data.split(b"\r\n")
        if len(lines) >= 2 and len(lines[-2]) >= 4 and lines[-2][3:4] == b" ":
            return data.decode()


def test_the_tarpit_does_not_block_other_sessions(rampart_factory):
    # One I/O thread: a tarpit that slept on the thread would hold the second session's
    # every reply until the first session's refusal was sent.
    srv = server(rampart_factory, "tarpit", tarpit="4s", threads=1)
    with socket.create_connection((srv.host, srv.port), timeout=30) as a:
        assert read_reply(a).startswith("220 ")
        for cmd, code in ((b"EHLO a.test", "250"), (b"MAIL FROM:<friend@outside.test>", "250")):
            a.sendall(cmd + b"\r\n")
            assert read_reply(a).startswith(code)
        a.sendall(f"RCPT TO:<harvest1@{DOMAIN}>\r\n".encode())
        # Meanwhile a second session on the same server is served from greeting to queued message.
        with smtplib.SMTP(srv.host, srv.port, timeout=30) as b:
            b.sendmail("friend@outside.test", [f"alice@{DOMAIN}"], b"Subject: meanwhile\r\n\r\nserved\r\n")
        a.setblocking(False)
        try:
            early = a.recv(4096)
        except BlockingIOError:
            early = b""
        a.setblocking(True)
        assert early == b"", "the refusal came before the other session was served: " + early.decode()
        assert read_reply(a) == "550 5.1.1 no such recipient here\r\n"
    wait_for(lambda: srv.maildir_messages("alice"), timeout=20, what="the second session's message delivered")


def test_stamp_accepts_the_message_and_marks_it(rampart_factory):
    srv = server(rampart_factory, "stamp", action="stamp")
    with smtplib.SMTP(srv.host, srv.port, timeout=20) as c:
        c.sendmail("x@mx.bad.test", [f"alice@{DOMAIN}"],
                   b"X-Rampart-Sender-Filter: clean (forged by the sender)\r\nSubject: stamped\r\n\r\nbody\r\n")
        c.sendmail("friend@outside.test", [f"alice@{DOMAIN}"],
                   b"X-Rampart-Sender-Filter: blocked (forged by the sender)\r\nSubject: clean\r\n\r\nbody\r\n")
    msgs = wait_for(lambda: (lambda m: m if len(m) == 2 else None)(srv.maildir_messages("alice")), timeout=20,
                    what="two messages delivered")
    by_subject = {next(l for l in m.split(b"\r\n") if l.startswith(b"Subject:")): m for m in msgs}
    stamped, clean = by_subject[b"Subject: stamped"], by_subject[b"Subject: clean"]
    assert stamped.count(b"X-Rampart-Sender-Filter:") == 1, stamped
    assert b"X-Rampart-Sender-Filter: blocked (sender_filter.block)\r\n" in stamped, stamped
    assert b"X-Rampart-Sender-Filter" not in clean, clean


def test_bad_block_entries_are_config_errors(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('[sender_filter]\nblock = ["not an address"]\n[recipient_filter]\ntarpit = "soon"\nblock = ["@x.test"]\n')
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(cfg)], capture_output=True, text=True, timeout=20)
    out = r.stdout + r.stderr
    assert r.returncode == 2, out
    assert "bad.toml:2: sender_filter.block" in out and "\"not an address\" is not an address, domain or *.domain" in out, out
    assert "bad.toml:4: recipient_filter.tarpit" in out, out
    assert "bad.toml:5: recipient_filter.block" in out, out


def explain(srv, mail_from, *rcpts):
    args = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", "127.0.0.1",
            "--mail-from", mail_from]
    for r in rcpts:
        args += ["--rcpt", r]
    r = subprocess.run(args, capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout


def test_explain_shows_both_agents_without_waiting_the_tarpit(rampart_factory):
    srv = server(rampart_factory, "explained", tarpit="1h")   # explain would hang if it waited
    code, out = explain(srv, "x@mx.bad.test", f"alice@{DOMAIN}")
    assert code == 1, out
    assert "filter sender_filter sender_filter.block  refuse" in out, out
    assert "=> 554 5.7.1 sender refused by the sender filter   [decided by filter sender_filter sender_filter.block]" in out
    code, out = explain(srv, "friend@outside.test", f"alice@{DOMAIN}", f"nobody@{DOMAIN}", f"ceo@{DOMAIN}")
    assert "filter sender_filter" in out and "continue" in out, out
    assert "filter recipient_filter recipient_filter.lookup  refuse" in out, out
    assert "filter recipient_filter recipient_filter.block  refuse" in out, out
    assert "(tarpit 3600000 ms, not waited here)" in out, out
    assert "[decided by filter recipient_filter recipient_filter.lookup]" in out, out
    assert "result: 1 of 3 recipient(s) accepted" in out, out
