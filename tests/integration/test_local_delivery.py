"""Local delivery for authoritative domains (issue 4 item 4, issue 3 item 4): directory users
and aliases, unknown recipients refused at RCPT with 550 5.1.1 (live and `explain` agree),
Maildir per user, and LMTP (RFC 2033) to a real Dovecot, read back over IMAP with imaplib."""
import email
import os
import smtplib
import stat
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for
from dovecot import Dovecot


def cli(srv, *args, stdin=None, check=True):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def add_users(srv, *names):
    for n in names:
        cli(srv, "user", "add", n, "--address", f"{n}@{DOMAIN}", stdin=f"{n}-secret\n")


def message(subject, body="Hello from the test.\r\n", msgid=None, pad=0):
    msgid = msgid or f"<{subject.replace(' ', '-')}@client.test>"
    return (f"From: sender@outside.test\r\nTo: someone@{DOMAIN}\r\nSubject: {subject}\r\n"
            f"Message-ID: {msgid}\r\n\r\n{body}" + ("x" * 70 + "\r\n") * pad)


def attempts(srv, rcpt):
    return [e for e in srv.log_events("delivery.attempt") if e.get("rcpts") == rcpt]


@pytest.fixture
def dovecot():
    d = Dovecot(users=("alice", "bob"), quota_bytes={"bob": 1024}).start()
    yield d
    d.cleanup()


def lmtp_server(rampart_factory, dovecot, sink=None, socket=False, users=("alice", "bob")):
    target = str(dovecot.socket) if socket else f"127.0.0.1:{dovecot.lmtp_port}"
    srv = rampart_factory(start=False, smarthost_port=sink.port if sink else None,
                          extra_config=f'[delivery]\nlocal = "lmtp"\nlmtp = "{target}"\n')
    add_users(srv, *users)
    return srv


def test_lmtp_delivery_reaches_dovecot_and_imap(rampart_factory, dovecot):
    srv = lmtp_server(rampart_factory, dovecot).start()
    sent = message("lmtp one", body="Line one.\r\n.leading dot\r\nLine three.\r\n")
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [f"Alice@{DOMAIN}"], sent)
    [got] = dovecot.wait_messages("alice", 1, what=srv.log_tail())
    m = email.message_from_bytes(got)
    assert m["Message-ID"] == "<lmtp-one@client.test>"
    assert m["Subject"] == "lmtp one"
    assert m["Delivered-To"] == f"alice@{DOMAIN}"          # the directory's spelling went over LMTP
    assert m.get_payload() == "Line one.\r\n.leading dot\r\nLine three.\r\n"
    assert "by mx.test" in m["Received"] or any("mx.test" in r for r in m.get_all("Received"))
    [a] = attempts(srv, f"Alice@{DOMAIN}")
    assert a["result"] == "delivered" and a["relay"] == f"127.0.0.1:{dovecot.lmtp_port}", a
    assert not (srv.data_dir / "mail").exists()             # nothing went to Maildir


def test_lmtp_over_unix_socket(rampart_factory, dovecot):
    srv = lmtp_server(rampart_factory, dovecot, socket=True).start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [f"bob@{DOMAIN}"], message("via socket"))
    [got] = dovecot.wait_messages("bob", 1, what=srv.log_tail())
    assert email.message_from_bytes(got)["Subject"] == "via socket"
    assert attempts(srv, f"bob@{DOMAIN}")[0]["relay"] == str(dovecot.socket)


def test_lmtp_failures_are_per_recipient(rampart_factory, dovecot):
    # carol is a directory user that Dovecot does not know (550 5.1.1 at LMTP RCPT); bob's
    # quota is smaller than the message (552 after the data, in his own LMTP reply).
    srv = lmtp_server(rampart_factory, dovecot, users=("alice", "bob", "carol")).start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        refused = c.sendmail("sender@outside.test", [f"alice@{DOMAIN}", f"bob@{DOMAIN}", f"carol@{DOMAIN}"],
                             message("big one", pad=60))
        assert refused == {}
    [got] = dovecot.wait_messages("alice", 1, what=srv.log_tail())
    assert email.message_from_bytes(got)["Subject"] == "big one"
    carol = wait_for(lambda: attempts(srv, f"carol@{DOMAIN}"), what="carol's attempt\n" + srv.log_tail())[0]
    assert (carol["result"], carol["code"], carol["status"]) == ("failed", "550", "5.1.1"), carol
    bob = attempts(srv, f"bob@{DOMAIN}")[0]
    assert bob["result"] == "failed" and bob["code"].startswith("5") and bob["status"].startswith("5.2."), bob
    alice = attempts(srv, f"alice@{DOMAIN}")
    assert [a["result"] for a in alice] == ["delivered"]
    # Failures are final: one report to the sender names carol and bob, the message leaves
    # the queue, and alice gets no second copy.
    qid = carol["qid"]
    [dsn] = wait_for(lambda: [e for e in srv.log_events("dsn.queued") if e["qid"] == qid], timeout=20,
                     what="the failure report\n" + srv.log_tail())
    assert dsn["kind"] == "failed" and sorted(dsn["rcpts"].split(",")) == [f"bob@{DOMAIN}", f"carol@{DOMAIN}"], dsn
    wait_for(lambda: any(e["qid"] == qid for e in srv.log_events("queue.removed")), timeout=20,
             what="the message to leave the queue")
    assert len(attempts(srv, f"carol@{DOMAIN}")) == 1
    assert len(dovecot.fetch_all("alice")) == 1
    assert [a["result"] for a in attempts(srv, f"alice@{DOMAIN}")] == ["delivered"]


def test_unknown_recipient_refused_at_rcpt_and_explain_agrees(rampart_factory):
    srv = rampart_factory(start=False)
    add_users(srv, "alice")
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        assert c.mail("sender@outside.test")[0] == 250
        assert c.rcpt(f"nobody@{DOMAIN}") == (550, b"5.1.1 no such recipient here")
        assert c.rcpt(f"ALICE@{DOMAIN.upper()}")[0] == 250
        assert c.rcpt(f"PostMaster@{DOMAIN}")[0] == 250         # RFC 5321 §4.5.1
        assert c.rcpt("Postmaster")[0] == 250
    ev = [e for e in srv.log_events() if e.get("event", "").startswith("smtp.rcpt")]
    assert any(e.get("rule") == "recipient.known" for e in ev), ev
    base = [RAMPART_BIN, "explain", "-c", str(srv.config_path), "--listener", "default", "--client-ip", "127.0.0.1",
            "--mail-from", "sender@outside.test"]
    r = subprocess.run(base + ["--rcpt", f"nobody@{DOMAIN}"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 1 and "=> 550 5.1.1 no such recipient here   [decided by recipient.known]" in r.stdout, r.stdout
    r = subprocess.run(base + ["--rcpt", f"alice@{DOMAIN}", "--rcpt", f"postmaster@{DOMAIN}"], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode == 0, r.stdout
    assert "is an address of user:alice" in r.stdout and "postmaster is always accepted" in r.stdout, r.stdout


def test_alias_expands_to_local_user_and_remote_address(rampart_factory, dovecot, sink):
    srv = lmtp_server(rampart_factory, dovecot, sink=sink)
    cli(srv, "alias", "add", f"team@{DOMAIN}", "--target", "user:alice", "--target", f"staff@{DOMAIN}")
    cli(srv, "alias", "add", f"staff@{DOMAIN}", "--target", "partner@outside.test", "--target", f"team@{DOMAIN}")  # loop
    assert f"team@{DOMAIN}  targets=user:alice,staff@{DOMAIN}" in cli(srv, "alias", "list").stdout
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [f"Team@{DOMAIN}"], message("to the team"))
    [got] = dovecot.wait_messages("alice", 1, what=srv.log_tail())
    assert email.message_from_bytes(got)["Subject"] == "to the team"
    [env] = wait_for(lambda: sink.messages(), timeout=20, what="the remote alias target at the sink\n" + srv.log_tail())
    assert env["rcpt_tos"] == ["partner@outside.test"]
    assert b"Subject: to the team" in env["data"]


def test_maildir_per_user_alias_and_postmaster(rampart_factory):
    srv = rampart_factory(start=False)
    add_users(srv, "alice")
    cli(srv, "alias", "add", f"info@{DOMAIN}", "--target", "user:alice")
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [f"info@{DOMAIN}", f"postmaster@{DOMAIN}"], message("maildir"))

    def files(sub):
        d = srv.data_dir / "mail" / sub / "new"
        return sorted(d.iterdir()) if d.is_dir() else []
    [a] = wait_for(lambda: files("alice"), what="alice's Maildir\n" + srv.log_tail())
    [p] = wait_for(lambda: files("postmaster"), what="the postmaster Maildir\n" + srv.log_tail())
    assert b"Subject: maildir" in a.read_bytes() and b"Subject: maildir" in p.read_bytes()
    assert a.read_bytes().startswith(b"Return-Path: <sender@outside.test>\r\nDelivered-To: alice@example.test\r\n")
    assert not (srv.data_dir / "mail" / "alice" / "tmp").exists() or not any((srv.data_dir / "mail" / "alice" / "tmp").iterdir())


def test_alias_cli_refuses_bad_targets(rampart_factory):
    srv = rampart_factory(start=False)
    add_users(srv, "alice")
    r = cli(srv, "alias", "add", f"x@{DOMAIN}", "--target", "user:ghost", check=False)
    assert r.returncode == 1 and "user:ghost" in r.stderr
    r = cli(srv, "alias", "add", f"alice@{DOMAIN}", "--target", "bob@outside.test", check=False)
    assert r.returncode == 1 and "already a user's address" in r.stderr
    cli(srv, "alias", "add", f"x@{DOMAIN}", "--target", "user:alice")
    cli(srv, "user", "del", "alice")                    # its alias targets go with it
    assert cli(srv, "alias", "list").stdout == ""


def test_catchall_folders_are_injective_and_private(rampart_factory):
    """Issue 14: "a/b"@ and a_b@ (and ".."@ and _..@) had one Maildir; folders were 0755."""
    srv = rampart_factory()   # no directory entries: example.test is a catch-all
    rcpts = [f'"a/b"@{DOMAIN}', f"a_b@{DOMAIN}", f'".."@{DOMAIN}', f'"_.."@{DOMAIN}']
    for rc in rcpts:
        with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
            c.sendmail("sender@outside.test", [rc], message(f"for {rc}"))
    root = srv.data_dir / "mail" / DOMAIN

    def folders():
        return sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    wait_for(lambda: len(folders()) == len(rcpts) and srv.spool_count() == 0, timeout=20,
             what="one folder per recipient\n" + srv.log_tail())
    assert folders() == sorted(["a%2Fb", "a_b", "%2E.", "_.."]), folders()
    for name in folders():
        [f] = list((root / name / "new").iterdir())
        assert f"for ".encode() in f.read_bytes()
    for d in [srv.data_dir / "mail", root] + [root / n for n in folders()] + [root / n / "new" for n in folders()]:
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d


def test_quoted_user_and_quoted_alias_are_delivered_not_bounced(rampart_factory):
    """Issue 14 item 8: "alice"@ and "sales"@ got 250 at RCPT (looked up unquoted), then
    failed 5.1.1 at delivery and bounced (expansion and delivery looked up the quoted text).
    Now every look-up uses the mailbox's one canonical key."""
    srv = rampart_factory(start=False)
    add_users(srv, "alice", "bob")
    cli(srv, "alias", "add", f"sales@{DOMAIN}", "--target", "user:bob")
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        assert c.mail("sender@outside.test")[0] == 250
        assert c.rcpt(f'"alice"@{DOMAIN}')[0] == 250
        assert c.rcpt(f'"sa\\les"@{DOMAIN}')[0] == 250
        assert c.rcpt(f'"nobody"@{DOMAIN}') == (550, b"5.1.1 no such recipient here")
        code, text = c.data(message("quoted").encode())
        assert code == 250, text

    def files(sub):
        d = srv.data_dir / "mail" / sub / "new"
        return sorted(d.iterdir()) if d.is_dir() else []
    [a] = wait_for(lambda: files("alice"), what="alice's Maildir\n" + srv.log_tail())
    [b] = wait_for(lambda: files("bob"), what="bob's Maildir (through the alias)\n" + srv.log_tail())
    assert b"Subject: quoted" in a.read_bytes() and b"Subject: quoted" in b.read_bytes()
    wait_for(lambda: srv.log_events("queue.removed"), timeout=20, what="the message to leave the queue")
    assert not srv.log_events("dsn.queued"), srv.log_events("dsn.queued")     # nothing bounced
    assert not [e for e in srv.log_events("delivery.attempt") if e.get("result") != "delivered"]
