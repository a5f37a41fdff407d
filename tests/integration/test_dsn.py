"""Delivery status notifications (RFC 3464, RFC 3461) produced by the queue manager.

The next hop is an aiosmtpd sink that refuses chosen recipients with 550. The sender is
in the authoritative domain example.test, so its reports are delivered by rampart itself
into data_dir/mail/example.test/<local>/new, where the test parses them with Python's
`email` package.
"""
import email
import email.policy
import smtplib
import subprocess

from conftest import RAMPART_BIN, RELAY_IP, SOCK_TIMEOUT, free_port, queued_id, wait_for

SENDER = "sender@example.test"
BAD = "bad@outside.test"
GOOD = "good@outside.test"
REFUSE = {BAD: "550 5.1.1 no such user here"}


def send(r, rcpts, mail_from=SENDER, mail_options=(), rcpt_options=(), body=None):
    """Relays one message from the relay-list address; returns its queue id."""
    msg = body or (f"From: <{mail_from}>\r\nTo: {', '.join(rcpts)}\r\nSubject: dsn test\r\n"
                   "Message-ID: <orig-1@example.test>\r\n\r\nthe original body line\r\n")
    with smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        code, _ = s.mail(mail_from, list(mail_options))
        assert code == 250
        for rc in rcpts:
            code, text = s.rcpt(rc, list(rcpt_options))
            assert code == 250, text
        code, text = s.data(msg.encode())
        assert code == 250, text
    return queued_id(text)


def reports(r, local="sender"):
    return [email.message_from_bytes(m, policy=email.policy.compat32) for m in r.maildir_messages(local)]


def parse_report(msg):
    """-> (human part, per-message fields, [per-recipient fields], returned part)."""
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    parts = msg.get_payload()
    assert len(parts) == 3, [p.get_content_type() for p in parts]
    human, status, returned = parts
    assert human.get_content_type() == "text/plain"
    assert status.get_content_type() == "message/delivery-status"
    blocks = status.get_payload()  # email parses the field groups into Message objects
    assert len(blocks) >= 2
    return human, blocks[0], blocks[1:], returned


def test_permanent_failure_reaches_sender_as_rfc3464_report(rampart_factory, sink_factory):
    sink = sink_factory(refuse=REFUSE)
    r = rampart_factory(smarthost_port=sink.port)
    qid = send(r, [BAD])
    wait_for(lambda: reports(r), timeout=20, what="a report in the sender's mailbox")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    [dsn] = reports(r)
    assert dsn["From"].startswith("Mail Delivery System <MAILER-DAEMON@")
    assert dsn["To"] == f"<{SENDER}>"
    assert dsn["Auto-Submitted"] == "auto-replied"
    raw = r.maildir_messages("sender")[0]
    assert b"Return-Path: <>" in raw  # sent from the null sender
    human, per_msg, per_rcpt, returned = parse_report(dsn)
    assert per_msg["Reporting-MTA"] == "dns; mx.test"
    assert per_msg["Arrival-Date"]
    [rc] = per_rcpt
    assert rc["Final-Recipient"] == f"rfc822; {BAD}"
    assert rc["Action"] == "failed"
    assert rc["Status"] == "5.1.1"
    assert rc["Remote-MTA"] is None  # the smart host is ours: its address is not disclosed
    assert rc["Diagnostic-Code"].startswith("smtp; 550 5.1.1")
    assert "no such user" in rc["Diagnostic-Code"]
    # RET absent: headers only.
    assert returned.get_content_type() == "text/rfc822-headers"
    text = returned.get_payload()
    assert "Subject: dsn test" in text and "the original body line" not in text
    assert BAD in human.get_payload()
    assert sink.messages() == []
    ev = [e for e in r.log_events("dsn.queued") if e.get("qid") == qid]
    assert ev and ev[0]["kind"] == "failed"


def test_partial_failure_bounces_only_the_refused_recipient(rampart_factory, sink_factory):
    sink = sink_factory(refuse=REFUSE)
    r = rampart_factory(smarthost_port=sink.port)
    send(r, [GOOD, BAD])
    wait_for(lambda: reports(r), timeout=20, what="a report")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    [dsn] = reports(r)
    _, _, per_rcpt, _ = parse_report(dsn)
    assert [b["Final-Recipient"] for b in per_rcpt] == [f"rfc822; {BAD}"]
    [m] = sink.messages()
    assert m["rcpt_tos"] == [GOOD]


def test_envid_orcpt_and_ret_full_are_honoured(rampart_factory, sink_factory):
    sink = sink_factory(refuse=REFUSE)
    r = rampart_factory(smarthost_port=sink.port)
    send(r, [BAD], mail_options=["RET=FULL", "ENVID=QQ+2B314"],
         rcpt_options=["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;orig+2Bbox@outside.test"])
    wait_for(lambda: reports(r), timeout=20, what="a report")
    [dsn] = reports(r)
    _, per_msg, [rc], returned = parse_report(dsn)
    assert per_msg["Original-Envelope-Id"] == "QQ+314"  # xtext decoded
    assert rc["Original-Recipient"] == "rfc822;orig+box@outside.test"
    assert returned.get_content_type() == "message/rfc822"
    [original] = returned.get_payload()
    assert original["Subject"] == "dsn test"
    assert "the original body line" in original.get_payload()


def test_null_sender_is_never_bounced(rampart_factory, sink_factory):
    sink = sink_factory(refuse=REFUSE)
    r = rampart_factory(smarthost_port=sink.port)
    qid = send(r, [BAD], mail_from="")
    wait_for(lambda: [e for e in r.log_events("dsn.suppressed") if e.get("qid") == qid], timeout=20,
             what="the suppressed report to be logged")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    assert r.log_events("dsn.queued") == []
    assert r.maildir_messages() == []


def test_notify_never_sends_nothing_and_success_reports_relayed(rampart_factory, sink_factory):
    sink = sink_factory(refuse=REFUSE)
    r = rampart_factory(smarthost_port=sink.port)
    q1 = send(r, [BAD], rcpt_options=["NOTIFY=NEVER"])
    q2 = send(r, [GOOD], rcpt_options=["NOTIFY=SUCCESS"])
    wait_for(lambda: reports(r), timeout=20, what="the success report")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    [dsn] = reports(r)
    assert "Successful" in dsn["Subject"]
    _, _, [rc], returned = parse_report(dsn)
    assert rc["Final-Recipient"] == f"rfc822; {GOOD}"
    assert rc["Action"] == "relayed"  # the next hop was not asked for DSN
    assert rc["Status"].startswith("2.")
    assert returned.get_content_type() == "text/rfc822-headers"
    assert {e["qid"] for e in r.log_events("dsn.queued")} == {q2}
    assert any(e.get("qid") == q1 for e in r.log_events("queue.failed"))


def test_max_lifetime_expiry_bounces_with_5_4_7(rampart_factory):
    dead = free_port()
    r = rampart_factory(smarthost_port=dead, retry_interval="1s",
                        queue={"retry_backoff": 1.0, "max_lifetime": "3s", "delay_warning": "1h"})
    qid = send(r, [GOOD])
    wait_for(lambda: reports(r), timeout=30, what="the expiry report")
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    [dsn] = reports(r)
    _, _, [rc], _ = parse_report(dsn)
    assert rc["Action"] == "failed"
    assert rc["Status"] == "5.4.7"
    assert "expired" in rc["Diagnostic-Code"]
    attempts = [e for e in r.log_events("delivery.attempt") if e.get("qid") == qid]
    assert len(attempts) >= 2  # retried before giving up


def test_delay_notice_is_sent_once(rampart_factory):
    dead = free_port()
    r = rampart_factory(smarthost_port=dead, retry_interval="1s",
                        queue={"retry_backoff": 1.0, "max_lifetime": "1h", "delay_warning": "1s"})
    qid = send(r, [GOOD], rcpt_options=["NOTIFY=DELAY"])
    wait_for(lambda: reports(r), timeout=30, what="the delay notice")
    # Let the message be tried a few more times; still exactly one notice.
    wait_for(lambda: len([e for e in r.log_events("queue.deferred") if e.get("qid") == qid]) >= 4, timeout=30,
             what="more attempts")
    delayed = reports(r)
    assert len(delayed) == 1
    assert "Delayed" in delayed[0]["Subject"]
    _, _, [rc], _ = parse_report(delayed[0])
    assert rc["Action"] == "delayed"
    assert rc["Status"].startswith("4.")
    assert rc["Will-Retry-Until"]
    assert r.spool_count() == 1  # the original is still queued


def test_orcpt_with_tab_is_refused(rampart):
    """Issue 14 #11: a TAB in ORCPT once split the spool's rcpt record."""
    with rampart.raw(source_address=(RELAY_IP, 0)) as c:
        c.read_reply()
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd(f"MAIL FROM:<{SENDER}>")[0] == 250
        code, text = c.cmd(f"RCPT TO:<{GOOD}> ORCPT=rfc822\tevil@attacker.test\t;x")
        assert code == 501 and text[0].startswith("5.5.4"), (code, text)
        code, text = c.cmd(f"RCPT TO:<{GOOD}> ORCPT=rfc822;{GOOD}")
        assert code == 250, (code, text)


def test_alias_success_report_says_expanded_and_names_no_member(rampart_factory, sink_factory):
    """Issue 14 #10 (RFC 3461 §6.2.7.3): one 'expanded' block for the alias; no member,
    no Maildir path, no smart-host address."""
    sink = sink_factory()
    r = rampart_factory(start=False, smarthost_port=sink.port)
    for user in ("sender", "alice", "bob"):
        subprocess.run([RAMPART_BIN, "user", "add", user, "--address", f"{user}@example.test", "-c", str(r.config_path)],
                       input=f"{user}-secret\n", capture_output=True, text=True, timeout=30, check=True)
    subprocess.run([RAMPART_BIN, "alias", "add", "team@example.test", "--target", "user:alice", "--target", "user:bob",
                    "--target", "partner@outside.test", "-c", str(r.config_path)],
                   capture_output=True, text=True, timeout=30, check=True)
    r.start()
    qid = send(r, ["team@example.test"], rcpt_options=["NOTIFY=SUCCESS,FAILURE"])
    wait_for(lambda: reports(r), timeout=20, what="the success report\n" + r.log_tail())
    wait_for(lambda: r.spool_count() == 0, timeout=20, what="the spool to empty")
    assert [m["rcpt_tos"] for m in sink.messages()] == [["partner@outside.test"]]
    [dsn] = reports(r)
    human, _, per_rcpt, _ = parse_report(dsn)
    [rc] = per_rcpt
    assert rc["Final-Recipient"] == "rfc822; team@example.test"
    assert rc["Action"] == "expanded"
    assert rc["Status"].startswith("2.")
    assert rc["Remote-MTA"] is None
    raw = r.maildir_messages("sender")[0].decode("utf-8", "replace")
    report = raw[raw.index("\r\n\r\n"):]   # the report itself, after our own delivery headers
    for secret in ("alice", "bob", "partner", str(r.data_dir), "/mail/", "127.0.0.1", str(sink.port)):
        assert secret not in report, secret
    assert "<team@example.test>: expanded" in human.get_payload()
    assert [e["qid"] for e in r.log_events("dsn.queued")] == [qid]
