"""Outbound TLS policy of send connectors (issue 4 items 1 and 6): `verify` checks the
chain against `tls_ca_file` and the smart host's name, `required` never sends in clear
to a peer without STARTTLS, and smart-host SASL PLAIN/LOGIN happens over TLS only.
Peers are real: a second rampart (with a certificate from a throwaway CA, pki.py) and
aiosmtpd sinks."""
import smtplib
import subprocess

import pytest

from conftest import RAMPART_BIN, RELAY_IP, toml_str, wait_for
from pki import TestCA


def why(attempt):
    """The failure as the log tells it: `detail` holds what reports must not show
    (peer addresses, TLS errors); `reason` the text a report may carry."""
    return attempt.get("reason", "") + " " + attempt.get("detail", "")


def connector(port, tls, host="localhost", **extra):
    lines = ["[[send_connectors]]", 'name = "out"', 'address_spaces = ["*"]', 'route = "smarthost"',
             f'smarthosts = ["{host}:{port}"]', f"tls = {toml_str(tls)}"]
    lines += [f"{k} = {toml_str(v)}" for k, v in extra.items()]
    return "\n".join(lines)


def tls_section(cert, key):
    return f"[tls]\ncertificate = {toml_str(cert)}\nkey = {toml_str(key)}"


def send_through(srv, rcpt="someone@outside.test", subject="outbound tls"):
    with smtplib.SMTP(srv.host, srv.port, timeout=10, source_address=(RELAY_IP, 0)) as c:
        c.sendmail("app@example.test", [rcpt], f"Subject: {subject}\r\n\r\nhello\r\n")


def attempts(srv, result):
    return [e for e in srv.log_events("delivery.attempt") if e.get("result") == result]


@pytest.fixture
def pki(tmp_path):
    return TestCA(tmp_path / "pki")


@pytest.fixture
def next_hop(rampart_factory, sink, pki):
    """Rampart B: presents a certificate for `localhost` from the test CA; relays for loopback."""
    cert, key = pki.issue("hop-b", dns=["localhost"], ips=["127.0.0.1"])
    return rampart_factory("b", smarthost_port=sink.port, relay_list=("127.0.0.0/8",),
                           extra_config=tls_section(cert, key))


def test_verify_name_mismatch_defers_until_the_certificate_is_fixed(rampart_factory, sink, pki, tmp_path):
    b_cert, b_key = tmp_path / "b.pem", tmp_path / "b.key"
    wrong_cert, wrong_key = pki.issue("wrong", dns=["wrong.test"])
    b_cert.write_bytes(wrong_cert.read_bytes())
    b_key.write_bytes(wrong_key.read_bytes())
    b = rampart_factory("b", smarthost_port=sink.port, relay_list=("127.0.0.0/8",), extra_config=tls_section(b_cert, b_key))
    a = rampart_factory("a", extra_config=connector(b.port, "verify", tls_ca_file=pki.cert))
    send_through(a)
    deferred = wait_for(lambda: attempts(a, "deferred"), timeout=20, what="a deferred attempt")
    assert "hostname mismatch" in why(deferred[0]) and "localhost" in why(deferred[0]), deferred[0]
    assert deferred[0]["status"] == "4.7.5"
    assert sink.messages() == [] and not b.log_events("smtp.transaction")
    # The next hop gets the right certificate: the queued message goes out on a retry.
    good_cert, good_key = pki.issue("right", dns=["localhost"])
    b.stop()
    b_cert.write_bytes(good_cert.read_bytes())
    b_key.write_bytes(good_key.read_bytes())
    b.start()
    wait_for(lambda: len(sink.messages()) == 1, timeout=30, what="delivery after the certificate was fixed")
    ok = attempts(a, "delivered")
    assert ok and ok[-1]["tls"].startswith("TLSv1.3")


def test_verify_against_an_ip_literal_smarthost(rampart_factory, next_hop, sink, pki):
    a = rampart_factory("a", extra_config=connector(next_hop.port, "verify", host="127.0.0.1", tls_ca_file=pki.cert))
    send_through(a)
    wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="delivery verified by IP address")


def test_verify_without_the_ca_defers(rampart_factory, next_hop, sink):
    a = rampart_factory("a", extra_config=connector(next_hop.port, "verify"))   # system store only
    send_through(a)
    deferred = wait_for(lambda: attempts(a, "deferred"), timeout=20, what="a deferred attempt")
    assert "certificate verification failed" in why(deferred[0]), deferred[0]
    assert sink.messages() == []


def test_required_tls_never_sends_in_clear(rampart_factory, sink_factory):
    plain = sink_factory()            # aiosmtpd without STARTTLS
    a = rampart_factory("a", extra_config=connector(plain.port, "required", host="127.0.0.1"))
    send_through(a)
    deferred = wait_for(lambda: len(attempts(a, "deferred")) >= 2 and attempts(a, "deferred"), timeout=30,
                        what="two deferred attempts")
    assert "does not offer STARTTLS" in why(deferred[0]) and deferred[0]["status"] == "4.7.4", deferred[0]
    assert plain.messages() == []
    assert a.spool_count() > 0            # still queued, not bounced


@pytest.fixture
def auth_hop(rampart_factory, sink, pki):
    """Rampart B with basic authentication; user `relay` may relay, nobody else."""
    cert, key = pki.issue("hop-b", dns=["localhost"])
    b = rampart_factory("b", start=False, smarthost_port=sink.port, extra_config=tls_section(cert, key))
    b.config_path.write_text(b.config_text().replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { basic = true }\npermissions = { relay = ["user:relay"] }', 1))
    r = subprocess.run([RAMPART_BIN, "user", "add", "relay", "--send-as-any", "-c", str(b.config_path)], input="s3cret-pass\n",
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    b.start()
    return b


@pytest.mark.parametrize("password,delivered", [("s3cret-pass", True), ("wrong", False)])
def test_smarthost_sasl_over_tls(rampart_factory, auth_hop, sink, pki, tmp_path, password, delivered):
    pw = tmp_path / "smarthost.secret"
    pw.write_text(password + "\n")
    pw.chmod(0o600)
    a = rampart_factory("a", extra_config=connector(auth_hop.port, "verify", tls_ca_file=pki.cert,
                                                    auth_user="relay", auth_password_file=pw))
    send_through(a)
    if delivered:
        wait_for(lambda: len(sink.messages()) == 1, timeout=20, what="relayed through the smart host")
        auth = auth_hop.log_events("smtp.auth")[-1]
        assert (auth["user"], auth["result"], auth["mechanism"]) == ("relay", "success", "PLAIN")
        assert [e["principal"] for e in auth_hop.log_events("smtp.transaction")] == ["user:relay"]
    else:
        deferred = wait_for(lambda: attempts(a, "deferred"), timeout=20, what="a deferred attempt")
        assert "authentication as relay failed: 535" in why(deferred[0]), deferred[0]
        assert deferred[0]["status"] == "4.7.0"
        assert sink.messages() == []


@pytest.mark.parametrize("tls", ["none", "opportunistic"])
def test_credentials_need_tls_in_the_configuration(rampart_factory, tmp_path, tls):
    pw = tmp_path / "pw"
    pw.write_text("x\n")
    a = rampart_factory("a", start=False, extra_config=connector(2525, tls, auth_user="u", auth_password_file=pw))
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(a.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert "auth_user" in r.stderr and "over TLS" in r.stderr, r.stderr


def test_unreadable_connector_files_stop_the_start(rampart_factory, tmp_path):
    a = rampart_factory("a", start=False, extra_config=connector(2525, "verify", tls_ca_file=tmp_path / "missing-ca.pem"))
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(a.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and "tls_ca_file" in r.stderr, r.stderr


def test_smarthost_sasl_login_when_plain_is_not_offered(rampart_factory, pki, tmp_path):
    """A peer that is not rampart (aiosmtpd) offering only AUTH LOGIN, after STARTTLS only."""
    import ssl
    import threading

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from conftest import free_port

    cert, key = pki.issue("login-peer", dns=["localhost"])
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(str(cert), str(key))
    got = {"logins": [], "messages": []}
    lock = threading.Lock()

    def authenticator(server, session, envelope, mechanism, data):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"relay", b"pw-login")
        with lock:
            got["logins"].append((mechanism, data.login if isinstance(data, LoginPassword) else None, ok))
        return AuthResult(success=ok)

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                got["messages"].append(envelope.rcpt_tos)
            return "250 OK"

    port = free_port()
    peer = Controller(Handler(), hostname="127.0.0.1", port=port, ready_timeout=10, tls_context=server_ctx,
                      require_starttls=True, auth_required=True, auth_require_tls=True,
                      auth_exclude_mechanism=["PLAIN"], authenticator=authenticator)
    peer.start()
    try:
        pw = tmp_path / "pw"
        pw.write_text("pw-login\n")
        a = rampart_factory("a", extra_config=connector(port, "verify", tls_ca_file=pki.cert,
                                                        auth_user="relay", auth_password_file=pw))
        send_through(a)
        wait_for(lambda: got["messages"], timeout=20, what="delivery to the LOGIN-only peer\n" + a.log_tail())
        assert got["logins"] == [("LOGIN", b"relay", True)]
        assert got["messages"] == [["someone@outside.test"]]
    finally:
        peer.stop()


@pytest.mark.parametrize("policy", ["opportunistic", "required"])
def test_failed_handshake_falls_back_to_cleartext_only_when_opportunistic(rampart_factory, pki, policy):
    """A peer that offers STARTTLS but speaks only TLS 1.1 (below rampart's minimum):
    opportunistic delivers in clear on a new connection (RFC 7435), required defers."""
    import ssl
    import threading
    import warnings

    from aiosmtpd.controller import Controller

    from conftest import free_port

    cert, key = pki.issue("old-peer", dns=["localhost"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    old.load_cert_chain(str(cert), str(key))
    got = []
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                got.append(session.ssl is not None)
            return "250 OK"

    port = free_port()
    peer = Controller(Handler(), hostname="127.0.0.1", port=port, ready_timeout=10, tls_context=old)
    peer.start()
    try:
        a = rampart_factory("a", extra_config=connector(port, policy, host="127.0.0.1"))
        send_through(a)
        if policy == "opportunistic":
            wait_for(lambda: got, timeout=20, what="cleartext delivery after the failed handshake\n" + a.log_tail())
            assert got == [False]
            assert a.log_events("delivery.tls.fallback")
        else:
            deferred = wait_for(lambda: len(attempts(a, "deferred")) >= 2 and attempts(a, "deferred"), timeout=30,
                                what="two deferred attempts")
            assert deferred[0]["status"] == "4.7.5" and "TLS handshake failed" in why(deferred[0]), deferred[0]
            assert got == [] and not a.log_events("delivery.tls.fallback")
    finally:
        peer.stop()
