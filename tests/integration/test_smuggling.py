"""SMTP smuggling (bare CR / LF around the end-of-data dot, RFC 5321 §2.3.8, §4.1.1.4)."""
import re
import socket

import pytest

from conftest import wait_for

SMUGGLED = (b"MAIL FROM:<evil@outside.test>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
            b"From: evil@outside.test\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n")


def run_dialogue(r, payload):
    """Send a message whose body contains payload followed by a second transaction;
    return all server bytes received after the 354."""
    c = r.raw()
    try:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<sender@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<victim@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"From: sender@outside.test\r\nSubject: x\r\n\r\nbody" + payload + SMUGGLED + b"\r\n.\r\nQUIT\r\n")
        try:
            return c.read_until_closed(timeout=10)
        except ConnectionResetError:
            return c.buf
    finally:
        c.close()


def settle(r, replies):
    """Wait until every message acknowledged in replies has had a delivery attempt."""
    ids = re.findall(rb"queued as (\S+)", replies)
    for qid in ids:
        q = qid.decode()
        wait_for(lambda: any(e.get("qid") == q for e in r.log_events("delivery.attempt")), 10,
                 what=f"delivery of {q}\n{r.log_tail()}")
    return ids


@pytest.mark.parametrize("payload", [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n.\n"],
                         ids=["LF.LF", "LF.CRLF", "CR.CRLF", "CRLF.CR", "CRLF.LF"])
def test_smuggling_refused(rampart, payload):
    replies = run_dialogue(rampart, payload)
    ids = settle(rampart, replies)
    msgs = rampart.maildir_messages()
    # never two messages, never a separately delivered smuggled message
    assert len(ids) <= 1, replies
    assert len(msgs) <= 1, msgs
    for m in msgs:
        assert not re.search(rb"^Subject: smuggled", m, re.M), m
    # rampart's contract: a bare CR/LF in DATA is refused outright, nothing is queued
    assert replies.startswith(b"521 5.5.2 "), replies
    assert ids == [] and msgs == [], replies
    assert rampart.spool_count() == 0
    ev = [e for e in rampart.log_events("smtp.transaction") if e.get("code") == "521"]
    assert ev and ev[-1]["result"] == "refused"


def test_control_real_end_of_data_then_pipelined_message(rampart_factory, sink):
    """Control for the method above: with a real <CRLF>.<CRLF> the second transaction is legitimate
    (forbid_unauth_pipelining off: its content follows DATA without waiting for the 354)."""
    r = rampart_factory(smarthost_port=sink.port, listener_keys={"forbid_unauth_pipelining": False})
    replies = run_dialogue(r, b"\r\n.\r\n")
    ids = settle(r, replies)
    assert len(ids) == 2, replies
    msgs = wait_for(lambda: len(r.maildir_messages("victim")) == 2 and r.maildir_messages("victim"), 10,
                    what="two deliveries")
    assert sum(1 for m in msgs if re.search(rb"^Subject: smuggled", m, re.M)) == 1


def test_real_end_of_data_then_content_before_354_is_refused(rampart):
    """Default (forbid_unauth_pipelining = true): the pipelined second transaction sends its content
    before the 354; the first message is accepted, the second refused and the connection closed."""
    replies = run_dialogue(rampart, b"\r\n.\r\n")
    ids = settle(rampart, replies)
    assert len(ids) == 1, replies
    assert b"554 5.5.0 SMTP protocol synchronization error" in replies, replies
    assert not re.search(rb"^354", replies, re.M), replies
    msgs = wait_for(lambda: rampart.maildir_messages("victim"), 10, what="the first delivery")
    assert len(msgs) == 1 and not re.search(rb"^Subject: smuggled", msgs[0], re.M), msgs


def pipeline_past_data(r, wait_for_354):
    """MAIL, RCPT, DATA and the message; in one write unless wait_for_354. -> bytes the server sent."""
    msg = b"From: p@outside.test\r\nSubject: early\r\n\r\nbody\r\n.\r\n"
    c = r.raw()
    try:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        group = b"MAIL FROM:<p@outside.test>\r\nRCPT TO:<early@example.test>\r\nDATA\r\n"
        if wait_for_354:
            c.send(group)
            assert c.read_reply()[0] == 250 and c.read_reply()[0] == 250
            code, lines = c.read_reply()
            assert code == 354, lines
            c.send(msg)
            code, lines = c.read_reply()
            assert code == 250 and "queued as" in lines[0], lines
            return c.cmd("QUIT")
        c.send(group + msg + b"QUIT\r\n")   # one write: the content cannot have waited for a 354
        try:
            return c.read_until_closed(timeout=10)
        except ConnectionResetError:
            return c.buf
    finally:
        c.close()


def test_unauthenticated_content_before_354_is_refused(rampart):
    out = pipeline_past_data(rampart, wait_for_354=False)
    # MAIL and RCPT were answered; DATA got the refusal, never a 354, and nothing was queued.
    assert out.startswith(b"250 2.1.0 sender ok\r\n250 2.1.5 "), out
    assert b"\r\n554 5.5.0 SMTP protocol synchronization error: data sent before the 354 reply" in out, out
    assert not re.search(rb"^354", out, re.M) and b"queued as" not in out, out
    assert rampart.spool_count() == 0
    ev = wait_for(lambda: rampart.log_events("smtp.pipelining_refused"), 5, what="the refusal in the log")
    assert ev[0]["setting"] == "forbid_unauth_pipelining" and int(ev[0]["pending_bytes"]) > 0
    tx = [e for e in rampart.log_events("smtp.transaction") if e.get("code") == "554"]
    assert tx and tx[-1]["result"] == "refused"
    assert rampart.maildir_messages("early") == []
    # The server goes on serving others.
    assert pipeline_past_data(rampart, wait_for_354=True)[0] == 221


def test_client_that_waits_for_354_is_accepted(rampart):
    assert pipeline_past_data(rampart, wait_for_354=True)[0] == 221
    msgs = wait_for(lambda: rampart.maildir_messages("early"), 10, what="delivery")
    assert len(msgs) == 1 and b"Subject: early" in msgs[0]
    assert rampart.log_events("smtp.pipelining_refused") == []


def test_content_before_354_accepted_when_setting_is_off(rampart_factory, sink):
    r = rampart_factory(smarthost_port=sink.port, listener_keys={"forbid_unauth_pipelining": False})
    out = pipeline_past_data(r, wait_for_354=False)
    assert re.search(rb"^354 ", out, re.M) and b"queued as" in out, out
    assert len(wait_for(lambda: r.maildir_messages("early"), 10, what="delivery")) == 1


@pytest.mark.parametrize("bare", [b"\n", b"\r"], ids=["LF", "CR"])
def test_bare_line_end_in_body(rampart, bare):
    c = rampart.raw()
    try:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<sender@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<barebody@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: bare\r\n\r\nline one" + bare + b"line two\r\n.\r\n")
        code, lines = c.read_reply()
        assert code == 521 and lines[0].startswith("5.5.2"), lines
        try:
            rest = c.read_until_closed(timeout=10)
        except ConnectionResetError:
            rest = b""
        assert b"queued" not in rest
    finally:
        c.close()
    assert rampart.maildir_messages() == []
    assert rampart.spool_count() == 0
