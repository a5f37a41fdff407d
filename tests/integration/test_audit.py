"""`rampart audit HOST[:PORT]` against real servers: a deliberately open private Postfix
(the audit must find the open relay, exit 1), a private Postfix with Postfix's own relay
defaults (no open relay), and rampart with its embedded default configuration (clean,
exit 0). Postfix runs on loopback with its own config and queue directories
(tests/integration/postfix.py); each audit is a real `rampart audit` process whose every
wait is bounded by --timeout.
"""
import json
import socket
import subprocess
import threading

import pytest

import postfix
from conftest import RAMPART_BIN, Rampart, free_port

needs_postfix = pytest.mark.skipif(not postfix.available(), reason="needs postfix and root")

PF_DOMAIN = "next-hop.test"   # the private Postfix's myhostname and the domain it receives for


def audit(*args, timeout=300):
    extra = [] if "--timeout" in args else ["--timeout", "5"]
    r = subprocess.run([RAMPART_BIN, "audit", *extra, *args], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def audit_json(*args):
    rc, out, err = audit("--json", *args)
    assert rc in (0, 1), f"rc={rc}\n{out}\n{err}"
    doc = json.loads(out)
    return rc, {f["id"]: f for f in doc["findings"]}, doc


def bare_newline_allowed_by_default():
    """Postfix before 3.9 (Debian 12: 3.7) defaults to smtpd_forbid_bare_newline = no."""
    r = subprocess.run(["postconf", "-d", "-h", "smtpd_forbid_bare_newline"], capture_output=True, text=True, timeout=30)
    return r.returncode != 0 or r.stdout.strip() in ("", "no")


@pytest.fixture
def postfix_factory():
    started = []

    def make(main_cf):
        pf = postfix.Postfix(relayhost_port=free_port(), hostname=PF_DOMAIN, main_cf=main_cf)
        started.append(pf)
        return pf.start()

    yield make
    for pf in started:
        pf.stop()


# The classic open relay: mynetworks covers the whole Internet, bare LF tolerated.
OPEN_RELAY = {"mynetworks": "0.0.0.0/0", "smtpd_forbid_bare_newline": "no"}
# Postfix's own relay defaults (postconf -d smtpd_relay_restrictions) for a domain it
# relays to one mailbox server; the audit connects from 127.0.0.1, outside mynetworks, as a
# stranger on the Internet would.
DEFAULT_RELAY = {
    "mynetworks": "127.0.0.2/32",
    "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated, defer_unauth_destination",
    "relay_domains": PF_DOMAIN,
    "relay_recipient_maps": "inline:{postmaster@" + PF_DOMAIN + "=ok}",
}


@needs_postfix
def test_open_postfix_is_found(postfix_factory):
    pf = postfix_factory(OPEN_RELAY)
    rc, findings, doc = audit_json("--to-domain", PF_DOMAIN, "--send-data", f"127.0.0.1:{pf.port}")
    assert rc == 1
    plain = findings["relay.plain.foreign_sender"]
    assert plain["result"] == "open", plain
    # The evidence is the dialogue itself: the foreign RCPT and the 250 that accepted it.
    assert "C: RCPT TO:<rampart-audit@example.net>" in plain["evidence"]
    assert any(line.startswith("S: 250") for line in plain["evidence"][plain["evidence"].index("C: RCPT TO:<rampart-audit@example.net>"):])
    assert "smtpd_relay_restrictions" in plain["fix"]
    for trick in ("source_route", "foreign_literal", "quoted_address"):
        assert findings[f"relay.{trick}.foreign_sender"]["result"] == "open"
    assert findings["relay.plain.null_sender"]["result"] == "open"
    # The relay tests never send DATA.
    assert not any("C: DATA" in line for f in findings.values() if f["id"].startswith("relay.") for line in f["evidence"])
    # Bare LF ends data on this Postfix: the MAIL FROM hidden after \n.\n was answered.
    smuggled = findings["smuggling.lf_dot_lf"]
    assert smuggled["result"] == "open", smuggled
    assert "C: probe\\n.\\nMAIL FROM:<rampart-audit@example.org>" in smuggled["evidence"]
    assert findings["bare_lf_commands"]["result"] == "open"
    assert findings["unauth_pipelining"]["result"] == "open"
    assert doc["summary"]["open"] >= 10
    # The text report says the same, with the evidence and the fix.
    rc, out, _ = audit("--to-domain", PF_DOMAIN, f"127.0.0.1:{pf.port}")
    assert rc == 1
    assert "[OPEN] relay.plain.foreign_sender" in out
    assert "fix: relay only for authenticated users" in out


@needs_postfix
def test_default_postfix_is_no_open_relay(postfix_factory):
    pf = postfix_factory(DEFAULT_RELAY)
    rc, findings, doc = audit_json("--to-domain", PF_DOMAIN, "--send-data", f"127.0.0.1:{pf.port}")
    relay = {k: f for k, f in findings.items() if k.startswith("relay.")}
    assert len(relay) == 27 and "relay.mx_trick.foreign_sender" not in relay   # no --mx-domain: not tried
    assert not [k for k, f in relay.items() if f["result"] == "open"], relay
    assert relay["relay.plain.foreign_sender"]["result"] == "ok"
    assert any(line.startswith("S: 454 4.7.1") for line in relay["relay.plain.foreign_sender"]["evidence"])
    # The percent hack is judged after rewriting: refused, not taken as local mail.
    assert relay["relay.percent_hack.foreign_sender"]["result"] == "ok"
    # Postfix answers VRFY by its recipient tables (disable_vrfy_command = no by default):
    # 252 for the listed postmaster, 550 for an unknown name, which tells them apart.
    vrfy = findings["vrfy"]
    assert vrfy["result"] == "open", vrfy
    assert any(line.startswith("S: 252") for line in vrfy["evidence"])
    assert any(line.startswith("S: 550") for line in vrfy["evidence"])
    assert "disable_vrfy_command" in vrfy["fix"]
    # What remains is true of Debian 12's Postfix 3.7 defaults: bare LF ends commands and
    # data (smtpd_forbid_bare_newline = no until 3.9), so smuggling works, and data before
    # 354 is taken (reject_unauth_pipelining is not in smtpd_data_restrictions by default).
    if bare_newline_allowed_by_default():
        assert findings["bare_lf_commands"]["result"] == "open"
        assert findings["smuggling.lf_dot_lf"]["result"] == "open"
        assert rc == 1
    assert findings["unauth_pipelining"]["result"] in ("open", "ok")


class DefaultRampart(Rampart):
    """rampart with its embedded default configuration (`rampart default-config`), moved
    to a free port and a temporary data directory."""

    def config_text(self):
        text = subprocess.run([RAMPART_BIN, "default-config"], capture_output=True, text=True, timeout=30,
                              check=True).stdout
        assert '"127.0.0.1:2525"' in text and 'data_dir = "var"' in text
        return (text.replace('"127.0.0.1:2525"', f'"127.0.0.1:{self.port}"')
                    .replace('data_dir = "var"', f'data_dir = "{self.data_dir}"\nlog_file = "{self.log_path}"'))


def test_rampart_default_config_is_clean(tmp_path):
    srv = DefaultRampart(tmp_path / "r").start()
    try:
        # --send-data: rampart refuses every end-of-data look-alike, so nothing is delivered.
        rc, findings, doc = audit_json("--to-domain", "example.test", "--send-data", f"127.0.0.1:{srv.port}")
        assert rc == 0, [f for f in findings.values() if f["result"] == "open"]
        assert doc["summary"]["open"] == 0
        assert findings["relay.plain.foreign_sender"]["result"] == "ok"
        assert findings["auth_before_tls"]["result"] == "ok"
        assert findings["starttls_injection"]["result"] == "ok"     # offered, and the injected NOOP was dropped
        for variant in ("lf_dot_lf", "lf_dot_crlf", "crlf_dot_lf", "cr_dot_cr", "cr_dot_crlf", "crlf_dot_cr"):
            assert findings[f"smuggling.{variant}"]["result"] == "ok", findings[f"smuggling.{variant}"]
        assert findings["unauth_pipelining"]["result"] == "ok"
        assert findings["bare_lf_commands"]["result"] == "ok"
        # Without --send-data the smuggling test is not tried, and says why.
        rc, out, _ = audit("--to-domain", "example.test", f"127.0.0.1:{srv.port}")
        assert rc == 0
        assert "[INCONCLUSIVE] smuggling:" in out and "--send-data" in out
        assert not [p for p in (srv.data_dir / "mail").rglob("*") if p.is_file()]   # nothing was delivered
    finally:
        srv.stop()


def test_usage_and_connection_errors_exit_2():
    assert audit()[0] == 2                                   # no target
    assert audit("host:notaport")[0] == 2
    assert audit("--timeout", "0", "127.0.0.1:25")[0] == 2
    rc, _, err = audit(f"127.0.0.1:{free_port()}")           # nothing listens there
    assert rc == 2 and "connect" in err


@pytest.mark.parametrize("mode", ["silent", "trickle"])
def test_slow_server_is_bounded_by_the_timeout(mode):
    """A server that accepts and never greets, or trickles its greeting a byte at a time
    (never finishing it): exit 2 once --timeout passes for the whole reply, not a hang."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    held = []
    stop = threading.Event()

    def trickle(c):
        for _ in range(600):   # bounded: at most a minute
            if stop.wait(0.1):
                return
            try:
                c.sendall(b"2" if len(held) else b"")
            except OSError:
                return

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                c = srv.accept()[0]
            except OSError:
                continue
            held.append(c)
            if mode == "trickle":
                threading.Thread(target=trickle, args=(c,), daemon=True).start()

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        rc, _, err = audit("--timeout", "1", f"127.0.0.1:{srv.getsockname()[1]}", timeout=60)
        assert rc == 2 and "no greeting: timed out" in err
    finally:
        stop.set()
        t.join(timeout=5)
        for c in held:
            c.close()
        srv.close()


class CarelessSmtp:
    """A small SMTP server written to be careless in every way the audit looks for: a
    banner with a terminal escape, AUTH PLAIN/LOGIN in clear, lines ended at a bare LF, the
    commands read in clear before STARTTLS carried out inside TLS (CVE-2011-0411), any
    recipient accepted, VRFY telling names apart, data before 354 taken. Loopback, port
    chosen by the OS; every socket operation has a timeout; stop() closes everything."""

    BANNER = b"220 evil.example \x1b]0;pwned\x07 ESMTP careless\r\n"

    def __init__(self, cert, key):
        import ssl
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(cert), str(key))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop_event = threading.Event()
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop_event.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            c.settimeout(10)
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            c.sendall(self.BANNER)
            while True:
                while b"\n" not in buf:
                    data = c.recv(4096)
                    if not data:
                        return
                    buf += data
                line, buf = buf.split(b"\n", 1)
                verb = line.rstrip(b"\r").split(b" ")[0].upper()
                if verb in (b"EHLO", b"HELO"):
                    c.sendall(b"250-evil.example\r\n250-AUTH PLAIN LOGIN\r\n250-PIPELINING\r\n250 STARTTLS\r\n")
                elif verb == b"STARTTLS":
                    c.sendall(b"220 go ahead\r\n")
                    c = self.ctx.wrap_socket(c, server_side=True)   # buf (read in clear) is kept: the bug
                    self.conns.append(c)
                elif verb == b"VRFY":
                    c.sendall(b"250 <postmaster@evil.example>\r\n" if b"postmaster" in line else b"550 no such user\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go\r\n")
                    while True:
                        while b"\n" not in buf:
                            data = c.recv(4096)
                            if not data:
                                return
                            buf += data
                        dline, buf = buf.split(b"\n", 1)
                        if dline.rstrip(b"\r") == b".":
                            break
                    c.sendall(b"250 queued\r\n")
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                elif verb == b"EXPN":
                    c.sendall(b"502 no\r\n")
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            return
        finally:
            c.close()

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)
        for c in self.conns:
            c.close()
        self.sock.close()


def test_careless_server_every_finding_and_a_safe_terminal(tmp_path):
    from pki import TestCA
    cert, key = TestCA(tmp_path / "ca").issue("evil.example", dns=["evil.example"])
    srv = CarelessSmtp(cert, key)
    try:
        rc, findings, doc = audit_json("--send-data", "--mx-domain", "mx-trick.example.org", f"127.0.0.1:{srv.port}")
        assert rc == 1
        open_ids = {k for k, f in findings.items() if f["result"] == "open"}
        for expected in ("auth_before_tls", "starttls_injection", "bare_lf_commands", "vrfy", "unauth_pipelining",
                         "smuggling.lf_dot_lf", "relay.plain.foreign_sender", "relay.foreign_literal.null_sender",
                         "relay.mx_trick.foreign_sender"):
            assert expected in open_ids, findings.get(expected)
        assert findings["expn"]["result"] == "ok"
        # The injected NOOP was answered inside TLS, before the reply to QUIT.
        ev = findings["starttls_injection"]["evidence"]
        tls_at = next(i for i, l in enumerate(ev) if l.startswith("-- TLS handshake done"))
        assert ev[tls_at + 1:tls_at + 3] == ["C: QUIT", "S: 250 ok"]
        assert "AUTH PLAIN LOGIN" in findings["auth_before_tls"]["reason"]
        # The domain came from the greeting; the banner's escape sequence is shown escaped.
        assert findings["vrfy"]["evidence"][0] == "C: VRFY postmaster@evil.example"
        assert doc["greeting"] == "220 evil.example \\x1b]0;pwned\\x07 ESMTP careless"
        rc, out, _ = audit(f"127.0.0.1:{srv.port}")
        assert rc == 1
        assert "\x1b" not in out and "\x07" not in out
        assert "greeting: 220 evil.example \\x1b]0;pwned\\x07 ESMTP careless" in out
    finally:
        srv.stop()
