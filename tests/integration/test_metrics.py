"""The admin listener and its Prometheus metrics (issue 12, "Metrics").

The real server is scraped over HTTP and the text is parsed with the Prometheus
project's own parser (Debian python3-prometheus-client); the values must move as the
mail sent through the real server says: an accepted message, a recipient refused by the
relay rule, a failed AUTH. The admin listener's [admin] rules: a non-loopback bind
without TLS and a token is refused at load with file:line; with TLS and a token a
request without the token gets 401. Bad requests get their 4xx and the server lives on.
"""
import re
import smtplib
import socket
import ssl
import subprocess
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import DOMAIN, RAMPART_BIN, no_verify_context, wait_for
from pki import TestCA


def scrape_text(port, scheme="http", token=None, context=None):
    req = urllib.request.Request(f"{scheme}://127.0.0.1:{port}/metrics")
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=10, context=context) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def samples(text):
    """{(sample name, frozenset(labels)): value} and the set of family names and types."""
    out, families = {}, {}
    for fam in text_string_to_metric_families(text):
        families[fam.name] = fam.type
        for s in fam.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out, families


def value(smp, name, **labels):
    return smp.get((name, frozenset(labels.items())), 0.0)


def rampart_cli(srv, *args, stdin=None):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(srv.config_path)], input=stdin, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.fixture
def metricsrv(rampart_factory):
    srv = rampart_factory(start=False)
    text = srv.config_text().replace('tls = "starttls"', 'tls = "starttls"\nauth = { basic = true }', 1)
    srv.config_path.write_text(text)
    rampart_cli(srv, "user", "add", "alice", "--address", f"alice@{DOMAIN}", stdin="alice-secret\n")
    srv.start()
    return srv


def test_metrics_move_with_the_mail(metricsrv):
    srv = metricsrv
    before, families = samples(scrape_text(srv.admin_port))
    # Every family of docs/metrics.md is there from the start, with its type.
    expected = {
        "rampart_sessions_active": "gauge", "rampart_sessions": "counter", "rampart_transactions": "counter",
        "rampart_refusals": "counter", "rampart_delivery_attempts": "counter",
        "rampart_spool_commit_seconds": "histogram", "rampart_spool_flush_messages": "histogram",
        "rampart_filter_agent_seconds": "histogram", "rampart_tls_handshakes": "counter",
        "rampart_auth_failures": "counter", "rampart_auth_lockouts": "counter", "rampart_queue_messages": "gauge",
        "rampart_tracking_batch_events": "histogram", "rampart_tracking_write_seconds": "histogram",
        "rampart_tracking_dropped_events": "counter",
    }
    for name, typ in expected.items():
        assert families.get(name) == typ, (name, families)

    # 1. accepted (a directory user of the authoritative domain: delivered to its Maildir)
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        c.sendmail("sender@client.test", [f"alice@{DOMAIN}"], "Subject: m\r\n\r\nhello\r\n")
    # 2. refused at RCPT: 127.0.0.1 is not on the relay list
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        c.mail("sender@client.test")
        code, _ = c.rcpt("someone@elsewhere.test")
        assert code == 550
    # 3. refused AUTH (after STARTTLS: a TLS handshake too)
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
        with pytest.raises(smtplib.SMTPAuthenticationError):
            c.login("alice", "wrong")

    def delivered():
        after, _ = samples(scrape_text(srv.admin_port))
        return value(after, "rampart_delivery_attempts_total", result="delivered") >= \
            value(before, "rampart_delivery_attempts_total", result="delivered") + 1
    wait_for(delivered, what="the delivery attempt counted")
    after, _ = samples(scrape_text(srv.admin_port))

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("rampart_transactions_total", listener="default", result="accepted") == 1
    assert moved("rampart_sessions_total", listener="default") >= 3
    assert value(after, "rampart_sessions_active", listener="default") >= 0
    grown = [dict(ls) for (n, ls), v in after.items()
             if n == "rampart_refusals_total" and v > before.get((n, ls), 0.0)]
    assert len(grown) == 1, grown
    assert grown[0]["stage"] == "rcpt" and grown[0]["agent"] == "policy" and grown[0]["listener"] == "default", grown
    assert grown[0]["rule"], "the refusal names the rule that refused"
    assert moved("rampart_refusals_total", **grown[0]) == 1
    assert moved("rampart_auth_failures_total", listener="default", mechanism="PLAIN") == 1
    assert moved("rampart_tls_handshakes_total", direction="inbound", result="ok") >= 1
    assert moved("rampart_spool_commit_seconds_count") >= 1
    assert value(after, "rampart_spool_commit_seconds_bucket", le="+Inf") == value(after, "rampart_spool_commit_seconds_count")
    assert moved("rampart_spool_flush_messages_count") >= 1
    assert moved("rampart_delivery_attempts_total", result="delivered") == 1

    # The tracking writer stores the transaction within its 200 ms period: a batch and its
    # write are counted, and nothing was dropped.
    def tracked():
        smp, _ = samples(scrape_text(srv.admin_port))
        return value(smp, "rampart_tracking_write_seconds_count") > value(before, "rampart_tracking_write_seconds_count")
    wait_for(tracked, what="a tracking store write counted")
    after, _ = samples(scrape_text(srv.admin_port))
    assert moved("rampart_tracking_batch_events_count") >= 1
    assert moved("rampart_tracking_batch_events_sum") >= 1
    assert value(after, "rampart_tracking_dropped_events_total") == 0


def test_queue_gauge_counts_a_deferred_message(rampart_factory):
    # A relay through a smart host that does not answer: the message waits, deferred, for
    # that destination.
    from conftest import free_port
    srv = rampart_factory(smarthost_port=free_port(), relay_list=("127.0.0.1/32",))
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.sendmail("sender@client.test", ["x@far.test"], "Subject: q\r\n\r\nq\r\n")

    def deferred():
        smp, _ = samples(scrape_text(srv.admin_port))
        return value(smp, "rampart_queue_messages", state="deferred", destination="far.test") == 1
    wait_for(deferred, what="rampart_queue_messages{state=deferred,destination=far.test} 1")
    smp, _ = samples(scrape_text(srv.admin_port))
    assert value(smp, "rampart_delivery_attempts_total", result="deferred") >= 1


def http_raw(port, data, tls_context=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls_context:
        s = tls_context.wrap_socket(s, server_hostname="127.0.0.1")
    with s:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b


def status_of(reply):
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", reply)
    assert m, reply[:200]
    return int(m.group(1))


def test_bad_requests_get_their_status_and_the_server_lives_on(rampart_factory):
    srv = rampart_factory()
    p = srv.admin_port
    assert status_of(http_raw(p, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")) == 404
    reply = http_raw(p, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert status_of(reply) == 405 and b"Allow: GET, HEAD" in reply
    assert status_of(http_raw(p, b"GET /metrics HTTP/1.1\nHost: x\n\n")) == 400
    assert status_of(http_raw(p, b"GARBAGE\r\n\r\n")) == 400
    assert status_of(http_raw(p, b"GET /metrics HTTP/1.1\r\n" + b"X: " + b"a" * 20000 + b"\r\n\r\n")) == 431
    assert status_of(http_raw(p, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")) == 413
    head = http_raw(p, b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(head) == 200 and head.endswith(b"\r\n\r\n")
    assert "rampart_sessions_total" in scrape_text(p)
    assert srv.running()
    assert any(e.get("status") == "404" for e in srv.log_events("admin.request"))


def test_non_loopback_bind_without_tls_and_token_is_refused_at_load(rampart_factory):
    srv = rampart_factory(start=False, extra_config='[admin]\nbind = "0.0.0.0:2580"')
    text = srv.config_text()
    line = text.splitlines().index("[admin]") + 1
    r = subprocess.run([RAMPART_BIN, "serve", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stderr
    assert re.search(r"rampart\.toml:%d: admin\.bind: .*not loopback.*needs TLS and a bearer token" % line, r.stderr), r.stderr
    assert "admin.tls_certificate" in r.stderr and "admin.token_file" in r.stderr   # the fix
    r = subprocess.run([RAMPART_BIN, "check", "-c", str(srv.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "admin.bind" in r.stdout + r.stderr


def test_tls_and_token(rampart_factory, tmp_path):
    ca = TestCA(tmp_path / "ca")
    cert, key = ca.issue("admin", ips=("127.0.0.1",))
    token = "s3cret-token-0123456789"
    (tmp_path / "token").write_text(token + "\n")
    from conftest import free_port
    port = free_port()
    srv = rampart_factory(extra_config="\n".join([
        "[admin]", f'bind = "127.0.0.1:{port}"', f'tls_certificate = "{cert}"', f'tls_key = "{key}"',
        f'token_file = "{tmp_path / "token"}"']))
    ctx = ssl.create_default_context(cafile=str(ca.cert))
    # No token, a wrong one, one of another length: 401, and nothing about the paths.
    for auth in (None, "Bearer s3cret-token-0123456788", "Bearer x", "Basic czNjcmV0"):
        req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + (b"Authorization: " + auth.encode() + b"\r\n" if auth else b"") + b"\r\n"
        reply = http_raw(port, req, ctx)
        assert status_of(reply) == 401, (auth, reply[:200])
        assert b'WWW-Authenticate: Bearer realm="rampart"' in reply
        assert b"rampart_" not in reply
    assert status_of(http_raw(port, b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n", ctx)) == 401
    # With the token, over TLS checked against the test CA: the metrics.
    smp, _ = samples(scrape_text(port, "https", token, ctx))
    assert value(smp, "rampart_tls_handshakes_total", direction="inbound", result="ok") >= 1
    # Plain HTTP to the TLS listener gets no metrics.
    try:
        reply = http_raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    except OSError:
        reply = b""
    assert b"rampart_" not in reply
    with pytest.raises(OSError):   # URLError or the connection closed without a response
        scrape_text(port, "http", token)
    assert srv.running()


def test_filter_refusal_names_the_agent_and_its_latency_is_measured(rampart_factory):
    srv = rampart_factory(extra_config='[connection_filter]\nblock = ["127.0.0.66"]', listener_keys={"filters": True})
    with socket.create_connection((srv.host, srv.port), timeout=10, source_address=("127.0.0.66", 0)) as s:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(512)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"550 ")
    smp, _ = samples(scrape_text(srv.admin_port))
    assert value(smp, "rampart_refusals_total", listener="default", stage="connect", agent="connection_filter",
                 rule="connection_filter.block") == 1
    assert value(smp, "rampart_filter_agent_seconds_count", agent="connection_filter") >= 1
    assert value(smp, "rampart_filter_agent_seconds_bucket", agent="connection_filter", le="+Inf") == \
        value(smp, "rampart_filter_agent_seconds_count", agent="connection_filter")


def test_auth_lockout_is_counted(rampart_factory):
    srv = rampart_factory(start=False, limits={"auth_failure_delay": "10ms", "auth_failure_delay_max": "20ms",
                                               "auth_lockout_failures": 2, "auth_lockout_window": "10m"})
    text = srv.config_text().replace('tls = "starttls"', 'tls = "starttls"\nauth = { basic = true }', 1)
    srv.config_path.write_text(text)
    rampart_cli(srv, "user", "add", "alice", "--address", f"alice@{DOMAIN}", stdin="alice-secret\n")
    srv.start()
    with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
        c.ehlo("client.test")
        c.starttls(context=no_verify_context())
        c.ehlo("client.test")
        for _ in range(3):   # two failures lock the address out; the third is refused unchecked
            code, _ = c.docmd("AUTH", "PLAIN AGFsaWNlAHdyb25n")   # \0alice\0wrong
            assert code in (535, 454), code
    smp, _ = samples(scrape_text(srv.admin_port))
    assert value(smp, "rampart_auth_failures_total", listener="default", mechanism="PLAIN") == 2
    assert value(smp, "rampart_auth_lockouts_total", listener="default", key="address") == 1
    assert value(smp, "rampart_auth_lockouts_total", listener="default", key="user") == 1


def test_token_file_is_read_again_on_reload(rampart_factory, tmp_path):
    """SIGHUP re-reads [admin] token_file: the new token is asked from then on; a file left
    empty keeps the token in force and the log names the file."""
    import signal
    from conftest import free_port
    token_file = tmp_path / "token"
    token_file.write_text("first-token-0123456789\n")
    port = free_port()
    srv = rampart_factory(extra_config="\n".join(["[admin]", f'bind = "127.0.0.1:{port}"', f'token_file = "{token_file}"']))

    def status(token):
        req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode() + b"\r\n\r\n"
        return status_of(http_raw(port, req))

    def reload(event):
        before = len(srv.log_events(event))
        srv.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: srv.log_events(event)[before:], what=event)
        return srv.log_events(event)[-1]

    assert status("first-token-0123456789") == 200
    token_file.write_text("second-token-9876543210\n")
    assert reload("admin.token.loaded")["file"] == str(token_file)
    assert status("second-token-9876543210") == 200
    assert status("first-token-0123456789") == 401
    token_file.write_text("\n")
    ev = reload("admin.token.kept")
    assert ev["file"] == str(token_file) and "no token" in ev["error"], ev
    assert status("second-token-9876543210") == 200   # the token in force is kept
    assert status("x") == 401
    assert srv.running()
