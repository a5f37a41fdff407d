"""Organisation servers authenticated by TLS client certificates (SASL EXTERNAL, RFC 4422
App. A), DESIGN.md §3 item 2 and scenario (f) of issue 3: a mailbox-role listener refuses
anonymous clients and accepts an organisation server, which may also relay.
Servers are registered with the real `rampart server add` command; clients are Python's
ssl + smtplib presenting certificates made by a throwaway CA (pki.py)."""
import re
import signal
import smtplib
import ssl
import subprocess

import pytest

from conftest import DOMAIN, RAMPART_BIN, wait_for
from pki import TestCA, fingerprint


def cli(srv, *args, ok=True):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def client_context(cert=None, key=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(str(cert), str(key))
    return ctx


def connect(srv, cert=None, key=None):
    c = smtplib.SMTP(srv.host, srv.port, timeout=10)
    c.ehlo("peer.test")
    c.starttls(context=client_context(cert, key))
    c.ehlo("peer.test")
    return c


def auth_mechanisms(c):
    return c.esmtp_features.get("auth", "").split()


@pytest.fixture
def pki(tmp_path):
    return TestCA(tmp_path / "pki")


@pytest.fixture
def mailbox(rampart_factory, sink, pki):
    """A mailbox-role server: its listener takes the preset (anonymous off, server on)."""
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace('role = "all-in-one"', 'role = "mailbox"', 1))
    srv.edge_cert, srv.edge_key = pki.issue("edge1")
    out = cli(srv, "server", "add", "edge1", "--certificate", str(srv.edge_cert), "--address", "127.0.0.0/8").stdout
    assert fingerprint(srv.edge_cert) in out
    srv.start()
    return srv


def test_anonymous_client_is_refused(mailbox):
    with connect(mailbox) as c:
        assert "EXTERNAL" not in auth_mechanisms(c)
        assert c.mail(f"app@{DOMAIN}") == (530, b"5.7.0 authentication required")
    refused = mailbox.log_events("smtp.mail.refused")
    assert refused and refused[-1]["rule"] == "auth.anonymous"


def test_organisation_server_authenticates_and_relays(mailbox, sink):
    with connect(mailbox, mailbox.edge_cert, mailbox.edge_key) as c:
        assert "EXTERNAL" in auth_mechanisms(c)
        # smtplib's own SASL driver: "AUTH EXTERNAL", 334, empty response (no authzid).
        code, _ = c.auth("EXTERNAL", lambda challenge=None: "")
        assert code == 235
        c.sendmail(f"app@{DOMAIN}", ["someone@outside.test", f"bob@{DOMAIN}"],
                   "Subject: from the edge\r\n\r\nrelayed by an organisation server\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="relayed message at the sink")
    data = sink.messages()[0]["data"]
    assert b"(authenticated as server:edge1 by TLS client certificate)" in data
    assert re.search(rb"with ESMTPSA id", data), data
    wait_for(lambda: mailbox.maildir_messages("bob"), timeout=20, what="local delivery")
    auth = mailbox.log_events("smtp.auth")[-1]
    assert (auth["mechanism"], auth["server"], auth["result"]) == ("EXTERNAL", "edge1", "success")
    assert auth["fingerprint"] == fingerprint(mailbox.edge_cert)
    txn = [e for e in mailbox.log_events("smtp.transaction") if e["result"] == "accepted"]
    assert txn[-1]["principal"] == "server:edge1"


def test_authzid_may_name_the_server_only(mailbox):
    with connect(mailbox, mailbox.edge_cert, mailbox.edge_key) as c:
        code, msg = c.docmd("AUTH", "EXTERNAL " + "YWxpY2U=")   # "alice"
        assert (code, msg) == (535, b"5.7.8 authentication credentials invalid")
        code, msg = c.docmd("AUTH", "EXTERNAL ZWRnZTE=")          # "edge1"
        assert code == 235, msg
        code, msg = c.docmd("AUTH", "EXTERNAL =")
        assert (code, msg) == (503, b"5.5.1 already authenticated")


def test_unknown_certificate_is_refused(mailbox, pki):
    for cert, key in (pki.issue("stranger"), pki.self_signed("selfmade")):
        with connect(mailbox, cert, key) as c:
            assert "EXTERNAL" not in auth_mechanisms(c)
            assert c.docmd("AUTH", "EXTERNAL =") == (535, b"5.7.8 authentication credentials invalid")
            assert c.mail(f"app@{DOMAIN}")[0] == 530
    reasons = [e["reason"] for e in mailbox.log_events("smtp.auth")]
    assert any("belongs to no server in the directory" in r for r in reasons), reasons


def test_no_certificate_and_no_tls(mailbox):
    with smtplib.SMTP(mailbox.host, mailbox.port, timeout=10) as c:
        c.ehlo("peer.test")
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 538      # before TLS: no certificate possible
    with connect(mailbox) as c:
        assert c.docmd("AUTH", "EXTERNAL =") == (535, b"5.7.8 authentication credentials invalid")


def test_server_bound_to_its_addresses(rampart_factory, sink, pki):
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace('role = "all-in-one"', 'role = "mailbox"', 1))
    cert, key = pki.issue("edge2")
    cli(srv, "server", "add", "edge2", "--certificate", str(cert), "--address", "192.0.2.10")
    srv.start()
    with connect(srv, cert, key) as c:           # right certificate, wrong source address
        assert "EXTERNAL" not in auth_mechanisms(c)
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 535
    assert "may connect only from its addresses" in srv.log_events("smtp.auth")[-1]["reason"]


def test_listener_without_server_auth_does_not_offer_external(rampart_factory, sink, pki):
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { anonymous = true, server = false }', 1))
    cert, key = pki.issue("edge3")
    cli(srv, "server", "add", "edge3", "--certificate", str(cert))
    srv.start()
    with connect(srv, cert, key) as c:
        assert "EXTERNAL" not in auth_mechanisms(c)
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 504


def test_server_cli_and_reload(rampart_factory, sink, pki):
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace('role = "all-in-one"', 'role = "mailbox"', 1))
    cert, key = pki.issue("hub1")
    srv.start()
    with connect(srv, cert, key) as c:
        assert "EXTERNAL" not in auth_mechanisms(c)
    cli(srv, "server", "add", "hub1", "--certificate", str(cert))
    listing = cli(srv, "server", "list").stdout
    assert f"hub1  fingerprint={fingerprint(cert)}  addresses=any" in listing
    assert cli(srv, "server", "add", "hub1", "--certificate", str(cert), ok=False).returncode == 1
    assert cli(srv, "server", "add", "other", "--certificate", str(cert), ok=False).returncode == 1   # same cert twice
    bad = cli(srv, "server", "add", "x", "--certificate", str(srv.workdir / "missing.pem"), ok=False)
    assert bad.returncode == 1 and "--certificate" in bad.stderr
    assert cli(srv, "server", "add", "y", "--certificate", str(cert), "--address", "nope", ok=False).returncode == 1
    srv.proc.send_signal(signal.SIGHUP)    # directory reload without restart
    wait_for(lambda: len(srv.log_events("directory.loaded")) >= 2, timeout=10, what="directory reload")
    with connect(srv, cert, key) as c:
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 235
    cli(srv, "server", "del", "hub1")
    assert cli(srv, "server", "list").stdout == ""
    assert cli(srv, "server", "del", "hub1", ok=False).returncode == 1
    # The fingerprint alone, as `openssl x509 -fingerprint -sha256` prints it, does as well.
    openssl_form = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                                  capture_output=True, text=True, timeout=30).stdout.strip().split("=", 1)[1]
    cli(srv, "server", "add", "hub1", "--fingerprint", openssl_form)
    assert f"hub1  fingerprint={fingerprint(cert)}" in cli(srv, "server", "list").stdout
    assert cli(srv, "server", "add", "z", "--fingerprint", "abc", ok=False).returncode == 1
    assert cli(srv, "server", "add", "z", ok=False).returncode == 1          # neither given
    srv.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(srv.log_events("directory.loaded")) >= 3, timeout=10, what="directory reload")
    with connect(srv, cert, key) as c:
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 235


def test_explain_agrees_for_a_server(mailbox):
    base = [RAMPART_BIN, "explain", "-c", str(mailbox.config_path), "--listener", "default", "--client-ip", "127.0.0.1",
            "--tls", "--mail-from", f"app@{DOMAIN}", "--rcpt", "someone@outside.test"]
    ok = subprocess.run(base + ["--server", "edge1"], capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "principal.server" in ok.stdout, ok.stdout + ok.stderr
    unknown = subprocess.run(base + ["--server", "nobody"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and "no server named" in unknown.stderr
    anonymous = subprocess.run(base, capture_output=True, text=True, timeout=30)
    assert anonymous.returncode == 1 and "530 5.7.0 authentication required" in anonymous.stdout, anonymous.stdout


def test_implicit_tls_listener(rampart_factory, sink, pki):
    srv = rampart_factory(start=False, tls="implicit", smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace('role = "all-in-one"', 'role = "mailbox"', 1))
    cert, key = pki.issue("edge4")
    cli(srv, "server", "add", "edge4", "--certificate", str(cert))
    srv.start()
    with smtplib.SMTP_SSL(srv.host, srv.port, timeout=10, context=client_context(cert, key)) as c:
        c.ehlo("peer.test")
        assert "EXTERNAL" in auth_mechanisms(c)
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 235
        c.sendmail(f"app@{DOMAIN}", ["x@outside.test"], "Subject: implicit\r\n\r\nbody\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="relayed message")


def test_empty_submit_list_means_servers_only(rampart_factory, sink, pki):
    """Scenario (g) with basic authentication standing in for integrated: a user who
    authenticates is refused (empty permissions.submit), an organisation server is accepted."""
    srv = rampart_factory(start=False, smarthost_port=sink.port)
    srv.config_path.write_text(srv.config_text().replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { anonymous = false, basic = true, server = true }\n'
        'permissions = { submit = [], relay = [] }', 1))
    r = subprocess.run([RAMPART_BIN, "user", "add", "alice", "--address", f"alice@{DOMAIN}", "-c", str(srv.config_path)],
                       input="alice-secret\n", capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    cert, key = pki.issue("edge5")
    cli(srv, "server", "add", "edge5", "--certificate", str(cert))
    srv.start()
    with connect(srv) as c:
        assert auth_mechanisms(c) == ["PLAIN", "LOGIN"]
        c.login("alice", "alice-secret")
        code, msg = c.mail(f"alice@{DOMAIN}")
        assert code == 550 and b"not permitted" in msg
    with connect(srv, cert, key) as c:
        assert auth_mechanisms(c) == ["EXTERNAL", "PLAIN", "LOGIN"]
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 235
        c.sendmail(f"alice@{DOMAIN}", ["partner@outside.test"], "Subject: g\r\n\r\nservers only\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="the server's message relayed")
