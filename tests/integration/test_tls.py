"""STARTTLS (RFC 3207) and implicit TLS (RFC 8314)."""
import re
import smtplib
import ssl
import subprocess

from conftest import SOCK_TIMEOUT, no_verify_context, queued_id, wait_for


def body(subject):
    return f"From: a@outside.test\r\nTo: x@example.test\r\nSubject: {subject}\r\n\r\nsecret body\r\n".encode()


def received_of(stored):
    m = re.search(rb"^Received:.*?(?=\r\n\S)", stored, re.M | re.S)
    assert m, stored[:500]
    return m.group(0)


def test_starttls_smtplib(rampart):
    data = body("tls")
    with smtplib.SMTP(rampart.host, rampart.port, timeout=SOCK_TIMEOUT) as s:
        s.ehlo("client.test")
        assert s.has_extn("starttls")
        code, _ = s.starttls(context=no_verify_context())
        assert code == 220
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert not s.has_extn("starttls"), "STARTTLS must not be offered inside TLS"
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("tlsuser@example.test")[0] == 250
        code, text = s.data(data)
        assert code == 250, text
        # second STARTTLS inside TLS is refused
        code2, text2 = s.docmd("STARTTLS")
        assert code2 == 503, text2
    qid = queued_id(text)
    [stored] = wait_for(lambda: rampart.maildir_messages("tlsuser"), 10, what="delivery\n" + rampart.log_tail())
    assert stored.endswith(data)
    rec = received_of(stored)
    assert b"ESMTPS" in rec and b"TLS" in rec, rec
    assert (b"id " + qid.encode()) in rec
    ev = [e for e in rampart.log_events("smtp.transaction") if e.get("qid") == qid]
    assert ev and ev[0]["tls"] not in ("", "no"), ev


def test_openssl_s_client(rampart):
    p = subprocess.run(["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{rampart.port}",
                        "-ign_eof", "-servername", "mx.test"],
                       input=b"EHLO client.test\r\nQUIT\r\n", capture_output=True, timeout=30)
    out = p.stdout.decode(errors="replace")
    err = p.stderr.decode(errors="replace")
    # handshake completed and the SMTP dialogue continued inside TLS
    assert re.search(r"Cipher is (?!\(NONE\))", out), out + err
    assert re.search(r"Protocol\s*: TLSv1\.[23]", out), out
    # stdout carries only what was read inside TLS (the cleartext EHLO reply goes to stderr)
    assert re.search(r"^250-mx\.test", out, re.M) and re.search(r"^221 2\.0\.0", out, re.M), out
    assert not re.search(r"^250.STARTTLS", out, re.M), "STARTTLS offered again after TLS:\n" + out
    # exit status 0 also needs a proper TLS closure (see test_tls_close_notify)
    assert p.returncode == 0, err


def test_tls_close_notify(rampart):
    """RFC 8446 §6.1: the server MUST send close_notify before closing its write side.
    Without it the client cannot tell a complete session from a truncated one."""
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        c.starttls(suppress_ragged_eofs=False)
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("QUIT")[0] == 221
        try:
            rest = c.sock.recv(4096)  # clean TLS EOF -> b""
        except (ssl.SSLEOFError, ssl.SSLError) as e:  # UNEXPECTED_EOF_WHILE_READING
            raise AssertionError(f"server closed TCP without a TLS close_notify alert: {e}")
        assert rest == b""


def test_starttls_injection_noop(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert "STARTTLS" in c.cmd("EHLO client.test")[1]
        c.send(b"STARTTLS\r\nNOOP\r\n")
        code, lines = c.read_reply()
        assert code == 220, lines
        assert c.buf == b"", f"plaintext after the 220: {c.buf!r}"
        c.starttls()
        assert c.expect_nothing(1.0), f"server answered the injected command: {c.buf!r}"
        code, lines = c.cmd("EHLO client.test")
        assert code == 250 and lines[0].startswith("mx.test"), lines
        assert "STARTTLS" not in lines
        assert c.cmd("NOOP")[0] == 250
        assert c.expect_nothing(0.3)
    ev = wait_for(lambda: rampart.log_events("smtp.starttls.injection"), 5, what="injection warning in the log")
    assert ev[0]["discarded_bytes"] == str(len(b"NOOP\r\n"))


def test_starttls_injection_transaction(rampart):
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        c.send(b"EHLO client.test\r\nSTARTTLS\r\nMAIL FROM:<evil@outside.test>\r\nRCPT TO:<victim@example.test>\r\n"
               b"DATA\r\nSubject: injected\r\n\r\ninjected\r\n.\r\n")
        code, lines = c.read_reply()
        assert code == 250 and "STARTTLS" in lines, lines
        code, lines = c.read_reply()
        assert code == 220, lines
        assert c.buf == b"", f"plaintext after the 220: {c.buf!r}"
        c.starttls()
        assert c.expect_nothing(1.0), f"server answered injected commands: {c.buf!r}"
        assert c.cmd("EHLO client.test")[0] == 250
        # the injected MAIL was discarded: RCPT is out of sequence
        code, lines = c.cmd("RCPT TO:<victim@example.test>")
        assert code == 503, lines
        assert c.cmd("QUIT")[0] == 221
    assert rampart.maildir_messages("victim") == []
    assert rampart.spool_count() == 0


def test_starttls_required_helo_reset(rampart):
    """RFC 3207 §4.2: after TLS the client must EHLO again; earlier state is forgotten."""
    with rampart.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("STARTTLS")[0] == 220
        c.starttls()
        code, lines = c.cmd("MAIL FROM:<a@outside.test>")
        assert code == 503, lines


def test_implicit_tls(rampart_factory):
    r = rampart_factory("implicit", tls="implicit")
    data = body("implicit")
    with smtplib.SMTP_SSL(r.host, r.port, timeout=SOCK_TIMEOUT, context=no_verify_context()) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert not s.has_extn("starttls")
        assert s.mail("a@outside.test")[0] == 250
        assert s.rcpt("implicit@example.test")[0] == 250
        code, text = s.data(data)
        assert code == 250, text
    [stored] = wait_for(lambda: r.maildir_messages("implicit"), 10, what="delivery\n" + r.log_tail())
    assert stored.endswith(data)
    assert b"ESMTPS" in received_of(stored)


def test_implicit_tls_rejects_plaintext(rampart_factory):
    r = rampart_factory("implicit2", tls="implicit")
    with r.raw(timeout=5) as c:
        c.send(b"EHLO client.test\r\n")
        try:
            data = c.read_until_closed(timeout=5)
        except Exception as e:  # reset is fine too
            data = b""
            assert not isinstance(e, TimeoutError), e
        assert not data.startswith(b"220") and b"250" not in data, data
