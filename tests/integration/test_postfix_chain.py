"""rampart → rampart → Postfix (issue 4 item 6): the edge-side rampart A presents its
certificate to the hub-side rampart B, whose listener accepts only organisation servers
(mutual TLS, SASL EXTERNAL); B verifies Postfix's certificate by name and hands over;
Postfix relays to the sink. Every hop is a real server on loopback."""
import smtplib
import ssl
import subprocess

import pytest

import postfix
from conftest import RAMPART_BIN, RELAY_IP, toml_str, wait_for
from pki import TestCA

pytestmark = pytest.mark.skipif(not postfix.available(), reason="needs postfix and root")


def connector(name, port, pki, **extra):
    lines = ["[[send_connectors]]", f"name = {toml_str(name)}", 'address_spaces = ["*"]', 'route = "smarthost"',
             f'smarthosts = ["localhost:{port}"]', 'tls = "verify"', f"tls_ca_file = {toml_str(pki.cert)}"]
    lines += [f"{k} = {toml_str(v)}" for k, v in extra.items()]
    return "\n".join(lines)


@pytest.fixture
def pki(tmp_path):
    return TestCA(tmp_path / "pki")


@pytest.fixture
def next_hop(sink, pki):
    cert, key = pki.issue("postfix", dns=["localhost"])
    pf = postfix.Postfix(relayhost_port=sink.port, tls_cert=cert, tls_key=key).start()
    yield pf
    pf.stop()


def test_edge_to_hub_to_postfix(rampart_factory, sink, pki, next_hop):
    b_cert, b_key = pki.issue("hub-b", dns=["localhost"], ips=["127.0.0.1"])
    hub = rampart_factory("hub", start=False, hostname="hub-b.test",
                          extra_config=f"[tls]\ncertificate = {toml_str(b_cert)}\nkey = {toml_str(b_key)}\n\n"
                          + connector("postfix", next_hop.port, pki))
    hub.config_path.write_text(hub.config_text().replace('role = "all-in-one"', 'role = "hub"', 1).replace(
        'tls = "starttls"', 'tls = "starttls"\nauth = { anonymous = false, basic = false, integrated = false, server = true }', 1))
    a_cert, a_key = pki.issue("edge-a")
    r = subprocess.run([RAMPART_BIN, "server", "add", "edge-a", "--certificate", str(a_cert), "--address", "127.0.0.1",
                        "-c", str(hub.config_path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    hub.start()
    edge = rampart_factory("edge", hostname="edge-a.test",
                           extra_config=connector("hub", hub.port, pki, certificate=a_cert, key=a_key))

    # The hub's only door is an organisation server: an anonymous TLS client is refused.
    with smtplib.SMTP(hub.host, hub.port, timeout=10) as c:
        ctx = ssl.create_default_context(cafile=str(pki.cert))
        c.starttls(context=ctx)
        c.ehlo("intruder.test")
        assert c.mail("x@example.test") == (530, b"5.7.0 authentication required")

    with smtplib.SMTP(edge.host, edge.port, timeout=10, source_address=(RELAY_IP, 0)) as c:
        c.sendmail("app@example.test", ["someone@outside.test"], "Subject: three hops\r\n\r\nedge, hub, postfix\r\n")
    wait_for(lambda: len(sink.messages()) == 1, timeout=60,
             what="the message at the sink behind Postfix\n" + next_hop.log()[-2000:])
    msg = sink.messages()[0]
    assert msg["rcpt_tos"] == ["someone@outside.test"]
    data = msg["data"]
    assert b"edge, hub, postfix" in data
    assert b"by hub-b.test (rampart)" in data and b"(authenticated as server:edge-a by TLS client certificate)" in data
    assert b"by next-hop.test (Postfix)" in data
    assert b"(using TLS" in data                          # Postfix's note: the hub spoke TLS to it
    assert edge.log_events("delivery.attempt")[-1]["tls"].startswith("TLS")
    hub_txn = [e for e in hub.log_events("smtp.transaction") if e["result"] == "accepted"]
    assert hub_txn[-1]["principal"] == "server:edge-a"
    assert hub.log_events("delivery.attempt")[-1]["result"] == "delivered"
