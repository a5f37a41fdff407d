"""Basic SMTP behaviour (RFC 5321, 1870, 2920, 3463, 6152, 6531)."""
import re
import smtplib
import subprocess

import pytest

from conftest import RELAY_IP, SOCK_TIMEOUT, queued_id, wait_for


def smtp(r, **kw):
    return smtplib.SMTP(r.host, r.port, timeout=SOCK_TIMEOUT, **kw)


def msg(subject="hello", body="Hello world.\r\nSecond line.\r\n"):
    return (f"From: sender@outside.test\r\nTo: user@example.test\r\nSubject: {subject}\r\n\r\n{body}").encode()


def send_one(r, rcpt="user@example.test", data=None, sender="sender@outside.test"):
    """One transaction with smtplib; returns (code, reply-bytes) of the final DATA reply."""
    data = data if data is not None else msg()
    with smtp(r) as s:
        s.ehlo("client.test")
        code, _ = s.mail(sender)
        assert code == 250
        code, text = s.rcpt(rcpt)
        assert code == 250, text
        return s.data(data)


def delivered(r, local, n=1, timeout=10):
    return wait_for(lambda: len(r.maildir_messages(local)) >= n and r.maildir_messages(local), timeout,
                    what=f"{n} message(s) in Maildir of {local}\n{r.log_tail()}")


def headers_of(stored):
    return stored.split(b"\r\n\r\n", 1)[0]


def test_full_transaction(rampart):
    data = msg("full")
    code, text = send_one(rampart, data=data)
    assert code == 250, text
    assert re.match(rb"2\.0\.0 Ok: queued as \S+$", text), text
    qid = queued_id(text)
    [stored] = delivered(rampart, "user")
    assert stored.endswith(data), stored
    assert stored.startswith(b"Return-Path: <sender@outside.test>\r\nDelivered-To: user@example.test\r\n"), stored[:200]
    head = headers_of(stored)
    assert re.search(rb"^Received: from client\.test ", head, re.M), head
    assert (b"id " + qid.encode()) in head, head
    ev = wait_for(lambda: [e for e in rampart.log_events("smtp.transaction") if e.get("qid") == qid], 5,
                  what="smtp.transaction log event")
    assert ev[0]["result"] == "accepted"
    assert ev[0]["code"] == "250"
    assert ev[0]["from"] == "sender@outside.test"
    assert "user@example.test" in ev[0]["rcpts"]
    dl = wait_for(lambda: [e for e in rampart.log_events("delivery.attempt") if e.get("qid") == qid], 5,
                  what="delivery.attempt log event")
    assert dl[-1]["result"] == "delivered"


def test_ehlo_capabilities(rampart):
    with smtp(rampart) as s:
        code, text = s.ehlo("client.test")
        assert code == 250
        first = text.split(b"\n")[0]
        assert first.startswith(b"mx.test"), text
        f = s.esmtp_features
        for ext in ("pipelining", "size", "8bitmime", "enhancedstatuscodes", "smtputf8", "chunking", "dsn", "starttls"):
            assert ext in f, (ext, text)
        # max_message_size counts the Received header we add: SIZE is what is left for the message
        assert 100 * 1024 - 1024 < int(f["size"]) < 100 * 1024, f["size"]


def test_greeting(rampart):
    with rampart.raw() as c:
        code, lines = c.read_reply()
        assert code == 220
        assert lines[0].startswith("mx.test"), lines


def test_helo(rampart):
    with smtp(rampart) as s:
        code, text = s.helo("client.test")
        assert code == 250
        assert b"mx.test" in text
        # a plain SMTP transaction works after HELO
        assert s.mail("sender@outside.test")[0] == 250
        assert s.rcpt("heloer@example.test")[0] == 250
        code, text = s.data(msg("helo"))
        assert code == 250, text
    [stored] = delivered(rampart, "heloer")
    assert b"with SMTP id" in headers_of(stored) or b"with SMTP" in headers_of(stored)


def test_simple_commands(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("NOOP")
        assert code == 250 and lines[0].startswith("2.0.0"), lines
        code, lines = c.cmd("MAIL FROM:<a@outside.test>")
        assert code == 250 and lines[0].startswith("2.1.0"), lines
        code, lines = c.cmd("RSET")
        assert code == 250 and lines[0].startswith("2.0.0"), lines
        # RSET cleared the transaction: RCPT is now out of sequence
        code, lines = c.cmd("RCPT TO:<user@example.test>")
        assert code == 503 and lines[0].startswith("5.5.1"), lines
        code, lines = c.cmd("VRFY user@example.test")
        assert code == 252 and lines[0].startswith("2."), lines
        code, lines = c.cmd("HELP")
        assert code == 214, lines
        code, lines = c.cmd("QUIT")
        assert code == 221 and lines[0].startswith("2.0.0"), lines
        assert c.read_until_closed(timeout=5) == b""


def test_unknown_command(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("FROBNICATE now")
        assert code == 500 and lines[0].startswith("5.5."), lines
        assert c.cmd("NOOP")[0] == 250


def test_bad_sequence(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        code, lines = c.cmd("MAIL FROM:<a@outside.test>")
        assert code == 503, lines  # MAIL before EHLO/HELO
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("RCPT TO:<user@example.test>")
        assert code == 503 and lines[0].startswith("5.5.1"), lines
        code, lines = c.cmd("DATA")
        assert code == 503 and lines[0].startswith("5.5.1"), lines
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        code, lines = c.cmd("MAIL FROM:<a@outside.test>")
        assert code == 503, lines  # nested MAIL
        # DATA with no recipient: RFC 5321 §3.3 allows 503 or 554 (no valid recipients)
        code, lines = c.cmd("DATA")
        assert code in (503, 554), lines
        assert c.cmd("NOOP")[0] == 250  # no 354 was given: still in command mode
    assert rampart.maildir_messages() == []


def test_pipelining(rampart):
    body = b"Subject: pipelined\r\n\r\npipelined body\r\n"
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        c.send(b"EHLO client.test\r\nMAIL FROM:<p@outside.test>\r\nRCPT TO:<pipe1@example.test>\r\n"
               b"RCPT TO:<pipe2@example.test>\r\nDATA\r\n")
        code, lines = c.read_reply()
        assert code == 250 and "PIPELINING" in lines, lines
        assert c.read_reply()[0] == 250
        assert c.read_reply()[0] == 250
        assert c.read_reply()[0] == 250
        assert c.read_reply()[0] == 354
        c.send(body + b".\r\nQUIT\r\n")
        code, lines = c.read_reply()
        assert code == 250 and "queued as" in lines[0], lines
        assert c.read_reply()[0] == 221
    for local in ("pipe1", "pipe2"):
        [stored] = delivered(rampart, local)
        assert stored.endswith(body)


def test_size_parameter_too_big(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("MAIL FROM:<a@outside.test> SIZE=200000")
        assert code == 552 and lines[0].startswith("5.3.4"), lines
        code, lines = c.cmd("MAIL FROM:<a@outside.test> SIZE=1000")
        assert code == 250, lines


def test_message_too_big(rampart):
    big = b"Subject: big\r\n\r\n" + (b"x" * 76 + b"\r\n") * 2000  # ~156 KB > 100 KiB
    with smtp(rampart) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("big@example.test")[0] == 250
        code, text = s.data(big)
        assert code == 552, text
        assert text.startswith(b"5.3.4"), text
        assert s.noop()[0] == 250  # session still usable
    ev = [e for e in rampart.log_events("smtp.transaction") if e.get("result") == "refused"]
    assert ev and ev[-1]["code"] == "552"
    assert rampart.maildir_messages("big") == []
    assert rampart.spool_count() == 0


def test_max_recipients(rampart):
    with smtp(rampart) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        for i in range(5):
            assert s.rcpt(f"many{i}@example.test")[0] == 250
        code, text = s.rcpt("many5@example.test")
        assert code == 452 and text.startswith(b"4.5.3"), text
        code, text = s.data(msg("many"))
        assert code == 250, text
    for i in range(5):
        delivered(rampart, f"many{i}")
    assert rampart.maildir_messages("many5") == []


def test_overlong_command_line(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("NOOP " + "x" * 5000)
        assert code == 500 and lines[0].startswith("5.5.6"), lines
        code, lines = c.cmd("MAIL FROM:<" + "a" * 3000 + "@outside.test>")
        assert code == 500, lines
        assert c.expect_nothing(0.3)
        assert c.cmd("NOOP")[0] == 250  # still in step


def test_bare_lf_in_command(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        c.send(b"NOOP\n")
        c.send(b"NOOP\r\n")
        code, lines = c.read_reply()
        assert code == 500 and lines[0].startswith("5.5.2"), lines
        assert c.read_reply()[0] == 250


def test_swaks(rampart):
    p = subprocess.run(["swaks", "--server", f"127.0.0.1:{rampart.port}", "--to", "swaks@example.test",
                        "--from", "sender@outside.test", "--timeout", "10", "--helo", "swaks.test"],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    assert b"queued as" in p.stdout
    [stored] = delivered(rampart, "swaks")
    assert b"X-Mailer: swaks" in stored


def test_dot_stuffing_transparency(rampart):
    original = b"Subject: dots\r\n\r\n.\r\n..\r\n.foo\r\n..bar\r\nmid.dle\r\n. \r\nend\r\n"
    wire = b"".join((b"." + l if l.startswith(b".") else l) for l in original.splitlines(keepends=True))
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<dots@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(wire + b".\r\n")
        code, lines = c.read_reply()
        assert code == 250, lines
    [stored] = delivered(rampart, "dots")
    assert stored.endswith(original), stored
    # and through smtplib's own dot-stuffing
    code, text = send_one(rampart, rcpt="dots2@example.test", data=original)
    assert code == 250
    [stored] = delivered(rampart, "dots2")
    assert stored.endswith(original), stored


def test_8bitmime(rampart):
    original = "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" \
               "Grüße aus Köln — ½ € ✓\r\n".encode()
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert "8BITMIME" in c.cmd("EHLO client.test")[1]
        assert c.cmd("MAIL FROM:<a@outside.test> BODY=8BITMIME")[0] == 250
        assert c.cmd("RCPT TO:<eight@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(original + b".\r\n")
        assert c.read_reply()[0] == 250
    [stored] = delivered(rampart, "eight")
    assert stored.endswith(original)


def test_smtputf8_accepted(rampart):
    rcpt = "jörg@example.test"
    data = "From: a@outside.test\r\nTo: jörg@example.test\r\nSubject: utf8\r\n\r\nhallo jörg\r\n".encode()
    with smtp(rampart) as s:
        s.ehlo("client.test")
        assert s.has_extn("smtputf8")
        refused = s.sendmail("a@outside.test", [rcpt], data, mail_options=["SMTPUTF8"])
        assert refused == {}

    def find():
        return [m for m in rampart.maildir_messages() if b"hallo j\xc3\xb6rg" in m]
    [stored] = wait_for(find, 10, what="UTF-8 message delivered\n" + rampart.log_tail())
    assert stored.endswith(data)
    assert "jörg@example.test".encode() in stored


def test_utf8_address_without_smtputf8_refused(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        code, lines = c.cmd("RCPT TO:<jörg@example.test>".encode())
        assert code == 553 and lines[0].startswith("5.6.7"), lines
        c.cmd("RSET")
        code, lines = c.cmd("MAIL FROM:<jörg@outside.test>".encode())
        assert code == 553 and lines[0].startswith("5.6.7"), lines


def test_hop_count_loop(rampart):
    received = b"".join(b"Received: from hop%d.test by hop%d.test; Mon, 1 Jan 2024 00:00:00 +0000\r\n" % (i, i + 1)
                        for i in range(60))
    data = received + b"Subject: loop\r\n\r\nlooping\r\n"
    with smtp(rampart) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("loop@example.test")[0] == 250
        code, text = s.data(data)
        assert code == 554 and text.startswith(b"5.4.6"), text
    assert rampart.maildir_messages("loop") == []
    # a few hops are fine
    few = b"".join(received.splitlines(keepends=True)[:5]) + b"Subject: ok\r\n\r\nok\r\n"
    code, text = send_one(rampart, rcpt="fewhops@example.test", data=few)
    assert code == 250, text


def test_relay_denied(rampart):
    with smtp(rampart) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        code, text = s.rcpt("someone@elsewhere.test")
        assert code == 550 and text.startswith(b"5.7.1"), text
        assert s.rcpt("user@example.test")[0] == 250  # local recipients still fine


def test_relay_allowed_from_listed_ip(rampart, sink):
    data = msg("relayed", "relayed body\r\n")
    with smtp(rampart, source_address=(RELAY_IP, 0)) as s:
        s.ehlo("client.test")
        assert s.mail("a@outside.test")[0] == 250
        code, text = s.rcpt("someone@elsewhere.test")
        assert code == 250, text
        code, text = s.data(data)
        assert code == 250, text
    qid = queued_id(text)
    got = wait_for(lambda: [e for e in sink.messages() if (b"id " + qid.encode()) in e["data"]], 15,
                   what="relayed message at the sink\n" + rampart.log_tail())
    e = got[0]
    assert e["mail_from"] == "a@outside.test"
    assert e["rcpt_tos"] == ["someone@elsewhere.test"]
    assert e["data"].replace(b"\r\n", b"\n").endswith(data.replace(b"\r\n", b"\n"))
    assert ("[%s]" % RELAY_IP).encode() in e["data"]
    dl = wait_for(lambda: [x for x in rampart.log_events("delivery.attempt")
                           if x.get("qid") == qid and x.get("result") == "delivered"], 5, what="delivery log")
    assert dl


def test_data_split_across_segments(rampart):
    """The end-of-data sequence and dot-stuffing split across TCP segments are still recognised."""
    import socket as _socket
    original = b"Subject: split\r\n\r\n.\r\nline\r\n..x\r\nlast\r\n"
    wire = b"".join((b"." + l if l.startswith(b".") else l) for l in original.splitlines(keepends=True)) + b".\r\n"
    with rampart.raw() as c:
        c.sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<split@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        for i in range(len(wire)):
            c.send(wire[i:i + 1])
            if i % 7 == 0:
                assert c.expect_nothing(0.01) if i < len(wire) - 1 else True
        code, lines = c.read_reply()
        assert code == 250, lines
    [stored] = delivered(rampart, "split")
    assert stored.endswith(original), stored


def test_null_sender_and_postmaster(rampart):
    """RFC 5321 §4.5.5 null reverse-path; §4.5.1 <Postmaster> without a domain MUST be accepted."""
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        code, lines = c.cmd("MAIL FROM:<>")
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<Postmaster>")
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<bounce@example.test>")
        assert code == 250, lines
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: bounce\r\n\r\nbounce body\r\n.\r\n")
        assert c.read_reply()[0] == 250
    [stored] = delivered(rampart, "bounce")
    assert stored.startswith(b"Return-Path: <>\r\n")


def test_case_insensitivity(rampart):
    """Verbs and domain names are case-insensitive (RFC 5321 §2.4)."""
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("ehlo client.test")[0] == 250
        assert c.cmd("mail from:<a@outside.test>")[0] == 250
        code, lines = c.cmd("rcpt to:<CaseUser@EXAMPLE.Test>")
        assert code == 250, lines
        assert c.cmd("data")[0] == 354
        c.send(b"Subject: case\r\n\r\ncase\r\n.\r\n")
        assert c.read_reply()[0] == 250


def test_quoted_local_part(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        code, lines = c.cmd('RCPT TO:<"john doe"@example.test>')
        assert code == 250, lines


def test_too_many_errors_closes(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        c.send(b"BOGUS\r\n" * 10)
        for _ in range(10):
            code, lines = c.read_reply()
            if code == 421:
                break
            assert code == 500
        else:
            code, lines = c.read_reply()
        assert code == 421 and lines[0].startswith("4.7.0"), lines
        assert c.read_until_closed(timeout=10) == b""


def test_command_timeout(rampart_factory):
    r = rampart_factory("timeout", limits={"command_timeout": "1s"})
    with r.raw() as c:
        assert c.read_reply()[0] == 220
        code, lines = c.read_reply(timeout=8)
        assert code == 421 and lines[0].startswith("4.4.2"), lines
        assert c.read_until_closed(timeout=5) == b""


def test_data_timeout(rampart_factory):
    r = rampart_factory("dtimeout", limits={"data_timeout": "1s", "command_timeout": "1s"})
    with r.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<slow@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: slow\r\n\r\npartial")
        code, lines = c.read_reply(timeout=8)
        assert code == 421 and lines[0].startswith("4.4.2"), lines
    assert r.maildir_messages("slow") == []


def dribble_until_reply(c, data, every=0.25):
    """Sends `data` one byte at a time, `every` seconds apart, until the server replies or
    closes; returns the reply (code, lines), or None if every byte went out unanswered."""
    for i in range(len(data)):
        try:
            c.send(data[i:i + 1])
        except OSError:
            break   # closed by the server: its reply is waiting in our receive buffer
        if not c.expect_nothing(every):
            break
    else:
        return None
    return c.read_reply(timeout=5)


def test_command_timeout_bounds_a_dribbled_line(rampart_factory):
    # Slowloris (issue 13): one byte now and then, never a whole line. The command timeout
    # bounds the whole line, not each read, or such a client holds its slot for ever.
    r = rampart_factory("dribble", limits={"command_timeout": "1s"})
    with r.raw() as c:
        assert c.read_reply()[0] == 220
        # 200 bytes at 4 a second: 50 s, fifty times the timeout, and every byte comes
        # well within it (before the fix the server waited for all of them and more).
        reply = dribble_until_reply(c, b"NOOP " + b"x" * 195)
        assert reply is not None, "the server kept waiting for the dribbled line"
        code, lines = reply
        assert code == 421 and lines[0].startswith("4.4.2"), lines
        assert c.read_until_closed(timeout=5) == b""


def test_data_timeout_bounds_dribbled_data(rampart_factory):
    r = rampart_factory("ddribble", limits={"data_timeout": "1s", "command_timeout": "1s"})
    with r.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        assert c.cmd("RCPT TO:<slow@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        reply = dribble_until_reply(c, b"Subject: slow\r\n\r\n" + b"y" * 200)
        assert reply is not None, "the server kept waiting for the dribbled message"
        code, lines = reply
        assert code == 421 and lines[0].startswith("4.4.2"), lines
    assert r.maildir_messages("slow") == []
