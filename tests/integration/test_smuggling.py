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


def test_control_real_end_of_data_then_pipelined_message(rampart):
    """Control for the method above: with a real <CRLF>.<CRLF> the second transaction is legitimate."""
    replies = run_dialogue(rampart, b"\r\n.\r\n")
    ids = settle(rampart, replies)
    assert len(ids) == 2, replies
    msgs = wait_for(lambda: len(rampart.maildir_messages("victim")) == 2 and rampart.maildir_messages("victim"), 10,
                    what="two deliveries")
    assert sum(1 for m in msgs if re.search(rb"^Subject: smuggled", m, re.M)) == 1


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
