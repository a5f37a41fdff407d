"""Peer text never reaches an assertion (issue 13): with max_command_length raised to its
maximum, commands whose arguments a client chose and that are echoed or quoted in a reply or
a log line get a bounded reply (every line within RFC 5321's 512 octets), and the server
keeps serving: a second client still gets its greeting and sends a message."""
import smtplib

import pytest

from conftest import DOMAIN, wait_for

LONG = 60000


@pytest.fixture
def wide(rampart_factory, sink):
    return rampart_factory(smarthost_port=sink.port, tls="none",
                           limits={"max_command_length": 65536, "max_errors": 100})


def lines_fit(c, count=1):
    """Reads `count` replies from raw client c; asserts every line fits 512 octets -> last (code, lines)."""
    last = None
    for _ in range(count):
        last = c.read_reply()
        for text in last[1]:
            assert len(text.encode()) + 4 + 2 <= 512, text[:80]
    return last


def second_client_sends(srv, local="after"):
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as s:
        assert s.ehlo("client.test")[0] == 250
        s.sendmail("someone@outside.test", [f"{local}@{DOMAIN}"], b"Subject: still serving\r\n\r\nhello\r\n")
    msgs = wait_for(lambda: srv.maildir_messages(local), 10, what="delivery to a second client's recipient")
    assert b"Subject: still serving" in msgs[0]


@pytest.mark.parametrize("command", [
    "EHLO " + "a" * LONG,
    "HELO " + "a" * LONG,
    "EHLO " + ".".join(["b" * 63] * (LONG // 64)),
    "MAIL FROM:<" + "x" * LONG + "@outside.test>",
    "MAIL FROM:<s@outside.test> ENVID=" + "e" * LONG,
    "MAIL FROM:<s@outside.test> " + "X-UNKNOWN=" + "v" * LONG,
    "RCPT TO:<" + "y" * LONG + "@" + DOMAIN + ">",
    "VRFY " + "v" * LONG,
    "AUTH PLAIN " + "QUFB" * (LONG // 4),
    "X" * LONG,
    "NOOP " + "n" * LONG,
], ids=["ehlo", "helo", "ehlo-dotted", "mail-address", "mail-envid", "mail-param", "rcpt-address", "vrfy",
        "auth", "unknown", "noop-arg"])
def test_long_peer_argument_keeps_server_serving(wide, command):
    c = wide.raw()
    try:
        assert lines_fit(c)[0] == 220
        if not command.startswith(("EHLO", "HELO")):
            c.send("EHLO client.test\r\n")
            assert lines_fit(c)[0] == 250
        c.send(command + "\r\n")
        code, lines = lines_fit(c)
        assert 250 <= code < 600, (code, lines)   # an answer, not a crash (NOOP: 250, VRFY: 252)
        # the session goes on: same connection, next command
        code, lines = c.cmd("EHLO client.test")
        assert code == 250 and lines[0].startswith("mx.test greets client.test"), lines
        assert c.cmd("QUIT")[0] == 221
    finally:
        c.close()
    assert wide.running(), wide.diagnostics()
    second_client_sends(wide)
    # Log lines stay bounded too (util/log.hpp kMaxValue), and none is torn by the peer's bytes.
    assert all(len(l) < 20000 for l in wide.log_lines()), max(len(l) for l in wide.log_lines())


def test_longest_valid_ehlo_argument_is_echoed_within_512_octets(wide):
    name = ".".join(["c" * 63] * 3) + "." + "d" * 61   # 253 octets: the longest domain
    c = wide.raw()
    try:
        assert c.read_reply()[0] == 220
        c.send(f"EHLO {name}\r\n")
        code, lines = lines_fit(c)
        assert code == 250 and lines[0] == f"mx.test greets {name}", lines
        assert "PIPELINING" in lines and "CHUNKING" in lines
    finally:
        c.close()


def test_sixty_thousand_byte_ehlo_then_a_second_client(wide):
    """The issue's scenario, spelled out: one client sends a 60,000-byte EHLO argument; the
    server answers it, and a second client gets its greeting and can send a message."""
    first = wide.raw()
    try:
        assert first.read_reply()[0] == 220
        first.send("EHLO " + "z" * LONG + "\r\n")
        code, lines = lines_fit(first)
        assert code == 501, lines
        second_client_sends(wide, "second")
        assert first.cmd("NOOP")[0] == 250   # and the first is still being served
    finally:
        first.close()
    assert wide.running()


def test_long_bdat_argument_is_refused_and_the_server_serves_on(wide):
    """A malformed BDAT ends the session (its chunk cannot be skipped): a bounded reply, then a close."""
    c = wide.raw()
    try:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<s@outside.test>")[0] == 250
        assert c.cmd(f"RCPT TO:<r@{DOMAIN}>")[0] == 250
        c.send("BDAT " + "9" * LONG + " LAST\r\n")
        code, lines = lines_fit(c)
        assert 400 <= code < 600, (code, lines)
    finally:
        c.close()
    assert wide.running(), wide.diagnostics()
    second_client_sends(wide)
