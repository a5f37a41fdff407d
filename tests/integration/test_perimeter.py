"""Edge subscription and the perimeter's inside links (issue 11, docs/perimeter.md), with real
rampart processes on loopback: `rampart edge new-subscription` writes the subscription file
and bootstrap.toml; `rampart hub add-edge` pins the edge and refuses expired, malformed,
reused and changed-certificate files; the hub's from-edge listener admits only the pinned
edge (address at connect, certificate after STARTTLS); the hub sends outbound mail to the
edge's from-hub listener, and the edge passes it on with no internal host in its headers; a
subscribed edge refuses a configuration of its own accepted domains."""
import re
import signal
import smtplib
import ssl
import stat
import subprocess
import tomllib
from datetime import datetime, timezone

import pytest

from conftest import RAMPART_BIN, RELAY_IP, Rampart, free_port, toml_str, wait_for
from pki import TestCA, fingerprint

OTHER_IP = "127.0.0.7"   # a host in the perimeter that is not the edge


def run(*args, timeout=30):
    return subprocess.run([RAMPART_BIN, *map(str, args)], capture_output=True, text=True, timeout=timeout)


class Node(Rampart):
    """A rampart whose whole configuration the test writes (roles edge and hub)."""

    def __init__(self, workdir, body, ports, hostname):
        self.body = body
        super().__init__(workdir, port=ports[0], hostname=hostname,
                         extra_listeners=[(f"l{i}", p, "starttls") for i, p in enumerate(ports[1:])])

    def config_text(self):
        return (f"{self.body}\n[server]\nhostname = {toml_str(self.hostname)}\ndata_dir = {toml_str(self.data_dir)}\n"
                f"log_file = {toml_str(self.log_path)}\nthreads = 2\nrun_as_root = true\n" + self.server_tail + "\n" + self.tail)

    server_tail = ""
    tail = ""


def edge_config(ports, sink_port=None, domains=False):
    internet, from_hub, sync = ports
    body = ""
    tail = (f'[[listeners]]\nname = "internet"\nbind = ["127.0.0.1:{internet}"]\n\n'
            f'[[listeners]]\nname = "from-hub"\nbind = ["127.0.0.1:{from_hub}"]\n\n'
            f'[edge]\nsync_bind = "127.0.0.1:{sync}"\n\n[queue]\nretry_interval = "1s"\n')
    if sink_port:
        tail += ('\n[[send_connectors]]\nname = "internet"\naddress_spaces = ["*"]\nroute = "mx"\n'
                 f'mx_port = {sink_port}\nallow_private_destinations = true\n')
    if domains:
        tail += '\n[[domains]]\nname = "example.test"\n'
    return body, tail


@pytest.fixture
def pki(tmp_path):
    return TestCA(tmp_path / "pki")


def make_edge(tmp_path, sink_port=None, name="edge"):
    ports = [free_port(), free_port(), free_port()]
    body, tail = edge_config(ports, sink_port)
    e = Node(tmp_path / name, body, ports[:2], "edge1.example.test")
    e.server_tail = 'role = "edge"\n'
    e.tail = tail
    e.write_config()
    e.ports = ports
    return e


def make_hub(tmp_path):
    from_edge, apps = free_port(), free_port()
    h = Node(tmp_path / "hub", "", [from_edge, apps], "hub.inside.test")
    h.server_tail = 'role = "hub"\n'
    h.tail = ('[[domains]]\nname = "example.test"\n\n'
              f'[[listeners]]\nname = "from-edge"\nbind = ["127.0.0.1:{from_edge}"]\n\n'
              f'[[listeners]]\nname = "apps"\npreset = "smtp"\nbind = ["127.0.0.1:{apps}"]\n'
              f'relay = {{ list = ["{RELAY_IP}/32"] }}\nauth = {{ anonymous = true }}\n\n[queue]\nretry_interval = "1s"\n')
    h.write_config()
    h.apps_port = apps
    return h


def new_subscription(edge, out):
    r = run("edge", "new-subscription", "-c", edge.config_path, "--out", out)
    assert r.returncode == 0, r.stderr
    return tomllib.loads(out.read_text())["subscription"]


def test_new_subscription_writes_file_and_bootstrap(tmp_path):
    edge = make_edge(tmp_path)
    out = tmp_path / "sub.toml"
    sub = new_subscription(edge, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert sub["edge_name"] == "edge1.example.test"
    assert sub["smtp_address"] == f"127.0.0.1:{edge.ports[1]}"
    assert sub["sync_address"] == f"127.0.0.1:{edge.ports[2]}"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", sub["secret"])
    assert "PRIVATE" not in sub["certificate"] and sub["certificate"].startswith("-----BEGIN CERTIFICATE-----")
    # The certificate is the one the edge's listeners present (the self-signed pair in data_dir/tls).
    assert sub["certificate"].strip() in (edge.data_dir / "tls" / "cert.pem").read_text()
    expires = datetime.strptime(sub["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    hours = (expires - datetime.now(timezone.utc)).total_seconds() / 3600
    assert 23.9 < hours <= 24.0
    boot = edge.data_dir / "edge" / "bootstrap.toml"
    assert stat.S_IMODE(boot.stat().st_mode) == 0o600
    b = tomllib.loads(boot.read_text())
    import base64
    import hashlib
    raw = base64.urlsafe_b64decode(sub["secret"] + "=")
    assert b["secret_sha256"] == hashlib.sha256(raw).hexdigest() and b["expires"] == sub["expires"]
    assert sub["secret"] not in boot.read_text()

    # Stdout without --out; a second subscription has a new secret.
    r = run("edge", "new-subscription", "-c", edge.config_path)
    assert r.returncode == 0 and "[subscription]" in r.stdout
    assert tomllib.loads(r.stdout)["subscription"]["secret"] != sub["secret"]


def test_new_subscription_wildcard_bind_needs_address(tmp_path):
    edge = make_edge(tmp_path)
    edge.tail = edge.tail.replace(f'sync_bind = "127.0.0.1:{edge.ports[2]}"', 'sync_bind = "0.0.0.0:50636"')
    edge.write_config()
    r = run("edge", "new-subscription", "-c", edge.config_path)
    assert r.returncode == 2 and "--address" in r.stderr, r.stderr
    r = run("edge", "new-subscription", "-c", edge.config_path, "--address", "192.0.2.25")
    assert r.returncode == 0, r.stderr
    sub = tomllib.loads(r.stdout)["subscription"]
    assert sub["sync_address"] == "192.0.2.25:50636" and sub["smtp_address"] == f"192.0.2.25:{edge.ports[1]}"


def test_add_edge_pins_and_refuses_bad_files(tmp_path, pki):
    edge = make_edge(tmp_path)
    hub = make_hub(tmp_path)
    sub_path = tmp_path / "sub.toml"
    sub = new_subscription(edge, sub_path)
    text = sub_path.read_text()

    # Expired.
    expired = tmp_path / "expired.toml"
    expired.write_text(text.replace(sub["expires"], "2020-01-01T00:00:00Z"))
    r = run("hub", "add-edge", "-c", hub.config_path, expired)
    assert r.returncode == 2 and "expired" in r.stderr, r.stderr
    # Foreign: not a subscription, or a certificate that is not one (file:line named).
    foreign = tmp_path / "foreign.toml"
    foreign.write_text("[server]\nrole = \"edge\"\n")
    r = run("hub", "add-edge", "-c", hub.config_path, foreign)
    assert r.returncode == 2 and "no [subscription] table" in r.stderr, r.stderr
    bad_cert = tmp_path / "badcert.toml"
    bad_cert.write_text(re.sub(r'certificate = """.*?"""', 'certificate = """garbage"""', text, flags=re.S))
    r = run("hub", "add-edge", "-c", hub.config_path, bad_cert)
    assert r.returncode == 2 and re.search(r"badcert\.toml:\d+: subscription\.certificate: the certificate not a PEM certificate", r.stderr), r.stderr
    assert not (hub.data_dir / "hub" / "edges").exists() or not any((hub.data_dir / "hub" / "edges").iterdir())

    # The good one pins the edge's certificate.
    r = run("hub", "add-edge", "-c", hub.config_path, sub_path)
    assert r.returncode == 0, r.stderr
    pinned = hub.data_dir / "hub" / "edges" / "edge1.example.test.toml"
    assert stat.S_IMODE(pinned.stat().st_mode) == 0o600
    p = tomllib.loads(pinned.read_text())["subscription"]
    assert p["certificate"] == sub["certificate"] and "added" in p
    assert fingerprint(edge.data_dir / "tls" / "cert.pem") in r.stdout

    # The same file again: its one-time secret was used (also after remove-edge, below).
    r = run("hub", "add-edge", "-c", hub.config_path, sub_path)
    assert r.returncode == 2 and "imported already" in r.stderr, r.stderr
    assert sub["secret"] not in (hub.data_dir / "hub" / "used-secrets").read_text()
    # A rebuilt edge (another certificate) under the same name: remove-edge first.
    other_cert, _ = pki.issue("edge1.example.test")
    changed = tmp_path / "changed.toml"
    changed.write_text(re.sub(r'certificate = """.*?"""', 'certificate = """\n' + other_cert.read_text() + '"""', text, flags=re.S))
    r = run("hub", "add-edge", "-c", hub.config_path, changed)
    assert r.returncode == 2 and "already subscribed with another certificate" in r.stderr and "remove-edge" in r.stderr, r.stderr
    r = run("hub", "remove-edge", "-c", hub.config_path, "edge1.example.test")
    assert r.returncode == 0 and not pinned.exists()
    r = run("hub", "remove-edge", "-c", hub.config_path, "edge1.example.test")
    assert r.returncode == 1
    r = run("hub", "add-edge", "-c", hub.config_path, sub_path)
    assert r.returncode == 2 and "imported already" in r.stderr, r.stderr


def test_subscription_for_another_hub_is_refused(tmp_path):
    edge = make_edge(tmp_path)
    hub = make_hub(tmp_path)   # server.hostname hub.inside.test
    other = tmp_path / "other.toml"
    r = run("edge", "new-subscription", "-c", edge.config_path, "--out", other, "--hub", "hub.elsewhere.test")
    assert r.returncode == 0, r.stderr
    assert tomllib.loads(other.read_text())["subscription"]["hub_name"] == "hub.elsewhere.test"
    assert 'expected_hub = "hub.elsewhere.test"' in (edge.data_dir / "edge" / "bootstrap.toml").read_text()
    r = run("hub", "add-edge", "-c", hub.config_path, other)
    assert r.returncode == 2 and 'subscription.hub_name: this subscription is for hub "hub.elsewhere.test"' in r.stderr, r.stderr
    assert not (hub.data_dir / "hub" / "edges").exists() or not any((hub.data_dir / "hub" / "edges").iterdir())
    ours = tmp_path / "ours.toml"
    assert run("edge", "new-subscription", "-c", edge.config_path, "--out", ours, "--hub", "hub.inside.test").returncode == 0
    r = run("hub", "add-edge", "-c", hub.config_path, ours)
    assert r.returncode == 0, r.stderr


def edge_client_context(edge_dir, cafile=None):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if edge_dir:
        ctx.load_cert_chain(edge_dir / "tls" / "cert.pem", edge_dir / "tls" / "key.pem")
    return ctx


def test_from_edge_admits_only_the_pinned_edge(tmp_path, pki):
    edge = make_edge(tmp_path)
    hub = make_hub(tmp_path)
    new_subscription(edge, tmp_path / "sub.toml")
    hub.start()
    port = hub.port
    # Not subscribed yet: even the edge's address is refused at connect.
    with smtplib.SMTP() as c:
        code, msg = c.connect("127.0.0.1", port)
        assert (code, msg) == (554, b"5.7.1 connection refused: not a subscribed edge server")
    # add-edge while the hub runs: seen at once (the control request), no restart.
    r = run("hub", "add-edge", "-c", hub.config_path, tmp_path / "sub.toml")
    assert r.returncode == 0 and "no rampart server is running" not in r.stderr, r.stderr
    wait_for(lambda: any(e.get("edges") == "1" for e in hub.log_events("perimeter.edges.loaded")), what="edges reloaded")

    # Another host of the perimeter: refused at connect.
    with smtplib.SMTP(source_address=(OTHER_IP, 0)) as c:
        code, msg = c.connect("127.0.0.1", port)
        assert code == 554 and b"5.7.1" in msg
    # The edge's address without a certificate: nothing but STARTTLS, then refused.
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.ehlo("edge1.example.test")
        assert c.mail("a@example.test") == (530, b"5.7.0 must issue a STARTTLS command first")
        c.starttls(context=edge_client_context(None))
        with pytest.raises(smtplib.SMTPServerDisconnected):
            code, msg = c.ehlo("edge1.example.test")
            assert code == 554 and b"a subscribed edge's client certificate is required" in msg
            c.ehlo("again")
    # Another certificate from the edge's address: refused.
    other_cert, other_key = pki.issue("edge1.example.test")
    ctx = edge_client_context(None)
    ctx.load_cert_chain(other_cert, other_key)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.starttls(context=ctx)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            code, msg = c.ehlo("edge1.example.test")
            assert code == 554 and b"not that of a subscribed edge" in msg
            c.ehlo("again")
    refused = [e for e in hub.log_events("smtp.connection.refused") if e.get("rule") == "from-edge.pinned"]
    assert len(refused) >= 4, hub.log_tail()
    # The pinned edge: an organisation server, may relay.
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.starttls(context=edge_client_context(edge.data_dir))
        code, msg = c.ehlo("edge1.example.test")
        assert code == 250 and b"AUTH" not in msg
        assert c.mail("someone@outside.test")[0] == 250
        assert c.rcpt("alice@example.test")[0] == 250
        assert c.data(b"Subject: in\r\n\r\nfrom the edge\r\n")[0] == 250
    auth = hub.log_events("smtp.auth")[-1]
    assert auth["principal"] == "server:edge1.example.test" and auth["mechanism"] == "TLS"

    # remove-edge: the edge is refused again at once.
    r = run("hub", "remove-edge", "-c", hub.config_path, "edge1.example.test")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: hub.log_events("perimeter.edges.loaded")[-1].get("edges") == "0", what="edges reloaded")
    with smtplib.SMTP() as c:
        assert c.connect("127.0.0.1", port)[0] == 554
    # A file put in data_dir/hub/edges by hand is read on SIGHUP.
    loads = len(hub.log_events("perimeter.edges.loaded"))
    r = run("hub", "add-edge", "-c", hub.config_path, tmp_path / "sub.toml")   # refused: its secret was used
    assert r.returncode == 2, r.stderr
    sub2 = tmp_path / "sub2.toml"
    new_subscription(edge, sub2)
    edges_dir = hub.data_dir / "hub" / "edges"
    text = sub2.read_text().replace("[subscription]\n", '[subscription]\nadded = "2026-01-01T00:00:00Z"\n')
    (edges_dir / "edge1.example.test.toml").write_text(text)
    hub.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len(hub.log_events("perimeter.edges.loaded")) > loads, what="edges re-read on SIGHUP")
    assert hub.log_events("perimeter.edges.loaded")[-1]["edges"] == "1"
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as c:
        c.starttls(context=edge_client_context(edge.data_dir))
        c.ehlo("edge1.example.test")
        assert c.mail("someone@outside.test")[0] == 250


def test_hub_sends_outbound_through_the_edge_without_internal_traces(tmp_path, sink):
    edge = make_edge(tmp_path, sink_port=sink.port)
    hub = make_hub(tmp_path)
    new_subscription(edge, tmp_path / "sub.toml")
    assert run("hub", "add-edge", "-c", hub.config_path, tmp_path / "sub.toml").returncode == 0
    hub.start()
    # The edge knows its hub as an organisation server (as replication would pin it).
    r = run("server", "add", "hub", "--certificate", hub.data_dir / "tls" / "cert.pem", "--address", "127.0.0.1",
            "-c", edge.config_path)
    assert r.returncode == 0, r.stderr
    edge.start()
    rc = run("check", "-c", hub.config_path)
    assert "to-edges" not in rc.stderr

    with smtplib.SMTP("127.0.0.1", hub.apps_port, timeout=10, source_address=(RELAY_IP, 0)) as c:
        c.ehlo("ws17.inside.test")
        c.sendmail("app@example.test", ["bob@[127.0.0.1]"],
                   b"From: app@example.test\r\nX-Originating-IP: [10.1.2.3]\r\nX-Mailer-Host: ws17.inside.test\r\n"
                   b"Subject: out\r\n\r\nto the internet\r\n")
    wait_for(lambda: sink.messages(), timeout=20, what="delivery through the edge")
    data = sink.messages()[0]["data"]
    assert b"to the internet" in data
    assert b"by edge1.example.test (rampart)" in data
    for inside in (b"hub.inside.test", b"ws17.inside.test", b"10.1.2.3", RELAY_IP.encode(), b"X-Originating-IP",
                   b"X-Mailer-Host", b"server:hub"):
        assert inside not in data, data
    # The hub delivered to the edge's from-hub listener over TLS with the edge's pinned certificate.
    att = [e for e in hub.log_events("delivery.attempt") if e.get("result") == "delivered"]
    assert att and att[-1]["relay"] == f"127.0.0.1:{edge.ports[1]}" and att[-1]["tls"] != "no", hub.log_tail()
    txn = [e for e in edge.log_events("smtp.transaction") if e.get("result") == "accepted"]
    assert txn[-1]["principal"] == "server:hub" and txn[-1]["listener"] == "from-hub"


def test_subscribed_edge_refuses_its_own_domains_and_connectors(tmp_path, pki):
    edge = make_edge(tmp_path, sink_port=2599)
    edge.tail += '\n[[domains]]\nname = "example.test"\n'
    edge.write_config()
    assert run("check", "-c", edge.config_path).returncode in (0, 1)   # not subscribed: allowed
    hub_cert, _ = pki.issue("hub.inside.test")
    (edge.data_dir / "edge").mkdir(parents=True, exist_ok=True)
    (edge.data_dir / "edge" / "hub.pem").write_text(hub_cert.read_text())
    r = run("check", "-c", edge.config_path)
    assert r.returncode == 2, r.stdout + r.stderr
    lines = edge.config_path.read_text().splitlines()
    dom_line = lines.index("[[domains]]") + 1
    conn_line = lines.index("[[send_connectors]]") + 1
    assert f"rampart.toml:{dom_line}: domains: accepted domain \"example.test\" configured on a subscribed edge" in r.stderr, r.stderr
    assert f"rampart.toml:{conn_line}: send_connectors: send connector \"internet\" configured on a subscribed edge" in r.stderr
    assert "accepted domains and connectors come from the hub" in r.stderr


def test_subscribed_edge_admits_its_pinned_hub_on_from_hub(tmp_path, pki):
    edge = make_edge(tmp_path)
    hub_cert, hub_key = pki.issue("hub.inside.test")
    (edge.data_dir / "edge").mkdir(parents=True, exist_ok=True)
    (edge.data_dir / "edge" / "hub.pem").write_text(hub_cert.read_text())   # as the first replication pins it
    edge.start()
    from_hub = edge.ports[1]
    # Nobody anonymous: a client without the hub's certificate cannot send.
    with smtplib.SMTP("127.0.0.1", from_hub, timeout=10) as c:
        c.starttls(context=edge_client_context(None))
        c.ehlo("intruder.test")
        assert c.mail("x@example.test")[0] == 530
    other_cert, other_key = pki.issue("other.inside.test")
    ctx = edge_client_context(None)
    ctx.load_cert_chain(other_cert, other_key)
    with smtplib.SMTP("127.0.0.1", from_hub, timeout=10) as c:
        c.starttls(context=ctx)
        c.ehlo("other.inside.test")
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 535
    # The pinned hub: AUTH EXTERNAL makes it the organisation server "hub".
    ctx = edge_client_context(None)
    ctx.load_cert_chain(hub_cert, hub_key)
    with smtplib.SMTP("127.0.0.1", from_hub, timeout=10) as c:
        c.starttls(context=ctx)
        code, msg = c.ehlo("hub.inside.test")
        assert b"EXTERNAL" in msg
        assert c.docmd("AUTH", "EXTERNAL =")[0] == 235
        assert c.mail("app@example.test")[0] == 250
    auth = [e for e in edge.log_events("smtp.auth") if e.get("result") == "success"]
    assert auth and auth[-1]["principal"] == "server:hub", edge.log_tail()


def test_check_warns_when_own_default_connector_shadows_the_edges(tmp_path):
    edge = make_edge(tmp_path)
    hub = make_hub(tmp_path)
    new_subscription(edge, tmp_path / "sub.toml")
    assert run("hub", "add-edge", "-c", hub.config_path, tmp_path / "sub.toml").returncode == 0
    r = run("check", "-c", hub.config_path)
    assert "1 send connector(s)" in r.stdout and "shadow" not in r.stderr, r.stdout + r.stderr   # the implicit to-edges
    hub.tail += '\n[[send_connectors]]\nname = "direct"\naddress_spaces = ["*"]\nroute = "mx"\n'
    hub.write_config()
    r = run("check", "-c", hub.config_path)
    assert 'warning: send_connectors: "direct" serves "*", so outbound mail does not go through the 1 subscribed edge(s)' in r.stderr, r.stderr
