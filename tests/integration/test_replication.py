"""One-way replication hub → edge (docs/architecture.md "Replication"), two real rampart
processes on loopback: the edge's bootstrap file and the hub's edge file are written here in
exactly the formats `rampart edge new-subscription` / `rampart hub add-edge` write (the
contract of issue 11), so this test does not depend on those commands.

Proves: the first push pins the hub and retires the secret; a reused or expired secret is
refused; recipients reach the edge only as keyed hashes (no address in clear under the
edge's data_dir) and the edge's recipient filter answers from them (unknown 550 5.1.1, known
250); a user added on the hub is known at the edge after `rampart hub sync --now`; tampered
messages (bad signature, wrong serial, truncated) are refused and the last good replica kept;
`rampart edge status --json` and `rampart edge test-recipient`.
"""
import base64
import datetime
import hashlib
import json
import os
import secrets
import socket
import ssl
import subprocess
import tomllib

import pytest

from conftest import RAMPART_BIN, Rampart, free_port, toml_str, wait_for

DOMAIN = "example.test"


class Node(Rampart):
    """A rampart process with a configuration written whole by the test."""

    def __init__(self, workdir, text_fn, **kw):
        self._text_fn = text_fn
        super().__init__(workdir, **kw)

    def config_text(self):
        return self._text_fn(self)


def server_block(n, role):
    """The [server] table every node here shares: its role, hostname <role>.test, its own
    data_dir and log file."""
    return f"""[server]
role = "{role}"
hostname = "{role}.test"
data_dir = {toml_str(n.data_dir)}
log_file = {toml_str(n.log_path)}
threads = 1
run_as_root = true
"""


def hub_text(sync_interval="1h"):
    def text(n):
        return server_block(n, "hub") + f"""
[[domains]]
name = "{DOMAIN}"
type = "authoritative"

[[listeners]]
name = "from-edge"
bind = ["127.0.0.1:{n.port}"]
tls = "starttls"
remote_ranges = ["127.0.0.0/8"]

[hub]
config_interval = "{sync_interval}"
recipients_interval = "{sync_interval}"
"""
    return text


def edge_text(sync_port):
    """No [[domains]] and no send connector on the edge: a subscribed edge may not configure
    its own (config/load.cpp check_perimeter); it learns both from the hub."""
    def text(n):
        return server_block(n, "edge") + f"""
[[listeners]]
name = "internet"
bind = ["127.0.0.1:{n.port}"]
tls = "none"
remote_ranges = ["0.0.0.0/0"]
filters = true

[recipient_filter]
tarpit = "0s"

[edge]
sync_bind = "127.0.0.1:{sync_port}"
"""
    return text


def cli(node, *args, stdin=None, check=True):
    r = subprocess.run([RAMPART_BIN, *args, "-c", str(node.config_path)], input=stdin, capture_output=True, text=True,
                       timeout=60)
    if check:
        assert r.returncode == 0, f"rampart {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
    return r


def rfc3339(delta):
    t = datetime.datetime.now(datetime.timezone.utc) + delta
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_bootstrap(edge, secret_raw, expires_delta=datetime.timedelta(hours=24), expected_hub=None):
    d = edge.data_dir / "edge"
    d.mkdir(parents=True, exist_ok=True)
    f = d / "bootstrap.toml"
    f.write_text(f'secret_sha256 = "{hashlib.sha256(secret_raw).hexdigest()}"\nexpires = "{rfc3339(expires_delta)}"\n'
                 + (f'expected_hub = "{expected_hub}"\n' if expected_hub else ""))
    os.chmod(f, 0o600)


def write_edge_file(hub, edge, sync_port, secret_raw, name="edge1"):
    cert = (edge.data_dir / "tls" / "cert.pem").read_text()
    d = hub.data_dir / "hub" / "edges"
    d.mkdir(parents=True, exist_ok=True)
    secret = base64.urlsafe_b64encode(secret_raw).decode().rstrip("=")
    (d / f"{name}.toml").write_text(
        "[subscription]\n"
        f'edge_name = "{name}"\n'
        f'sync_address = "127.0.0.1:{sync_port}"\n'
        f'smtp_address = "127.0.0.1:{edge.port}"\n'
        f'certificate = """{cert}"""\n'
        f'secret = "{secret}"\n'
        f'expires = "{rfc3339(datetime.timedelta(hours=24))}"\n'
        f'added = "{rfc3339(datetime.timedelta(0))}"\n')


def edge_status(edge):
    return json.loads(cli(edge, "edge", "status", "--json").stdout)


def test_recipient(edge, address):
    return cli(edge, "edge", "test-recipient", address, check=False).returncode


test_recipient.__test__ = False  # a helper, not a test


@pytest.fixture
def pair(tmp_path):
    """An edge (started, bootstrap written) and a hub (not started) with alice in its directory."""
    started = []
    sync_port = free_port()
    hub_port = free_port()
    edge = Node(tmp_path / "edge", edge_text(sync_port))
    secret = secrets.token_bytes(32)
    write_bootstrap(edge, secret)
    edge.start()
    started.append(edge)
    wait_for(lambda: (edge.data_dir / "tls" / "cert.pem").exists(), what="edge certificate")
    hub = Node(tmp_path / "hub", hub_text(), port=hub_port)
    cli(hub, "user", "add", "alice", "--address", f"alice@{DOMAIN}", stdin="alice-secret\n")
    write_edge_file(hub, edge, sync_port, secret)

    class Pair:
        pass

    p = Pair()
    p.edge, p.hub, p.sync_port, p.secret, p.started = edge, hub, sync_port, secret, started
    yield p
    for n in started:
        n.stop()


def start_hub(p):
    p.hub.start()
    p.started.append(p.hub)
    wait_for(lambda: edge_status(p.edge)["recipients"]["serial"] > 0, timeout=20, what="first push")


def rcpt_reply(edge, address):
    with edge.raw() as c:
        c.read_reply()
        c.cmd("EHLO client.test")
        c.cmd("MAIL FROM:<sender@outside.test>")
        return c.cmd(f"RCPT TO:<{address}>")


def test_first_push_pins_hub_retires_secret_and_answers_recipients(pair):
    p = pair
    start_hub(p)
    edge_dir = p.edge.data_dir / "edge"
    assert (edge_dir / "hub.pem").read_text() == (p.hub.data_dir / "tls" / "cert.pem").read_text()
    boot = tomllib.loads((edge_dir / "bootstrap.toml").read_text())
    assert "secret_sha256" not in boot and boot["hub_name"] == "hub.test" and boot["expires"], boot
    assert [e for e in p.edge.log_events("edge.hub.pinned")], p.edge.diagnostics()

    st = edge_status(p.edge)
    assert st["hub"] == "hub.test" and st["subscribed"] is True
    assert st["config"]["serial"] >= 1 and st["recipients"]["serial"] >= 1
    assert st["recipients"]["age_seconds"] is not None and st["last_error"] is None

    # No address in clear anywhere under the edge's data_dir (before any mail was queued).
    for f in p.edge.data_dir.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert b"alice" not in data, f

    assert test_recipient(p.edge, f"alice@{DOMAIN}") == 0
    assert test_recipient(p.edge, f"Alice@EXAMPLE.test") == 0
    assert test_recipient(p.edge, f"bob@{DOMAIN}") == 1
    code, text = rcpt_reply(p.edge, f"bob@{DOMAIN}")
    assert code == 550 and "5.1.1" in " ".join(text), (code, text)
    code, text = rcpt_reply(p.edge, f"alice@{DOMAIN}")
    assert code == 250, (code, text)

    # A user added on the hub is known at the edge after `hub sync --now` (a delta).
    cli(p.hub, "user", "add", "carol", "--address", f"carol@{DOMAIN}", stdin="carol-secret\n")
    out = cli(p.hub, "hub", "sync", "--now").stdout
    assert "edge1: ok" in out and "recipients" in out and "delta" in out, out
    assert test_recipient(p.edge, f"carol@{DOMAIN}") == 0
    code, text = rcpt_reply(p.edge, f"carol@{DOMAIN}")
    assert code == 250, (code, text)
    # Nothing changed: nothing sent.
    out = cli(p.hub, "hub", "sync", "--now").stdout
    assert "unchanged" in out, out


def hub_connection(p):
    """A TLS connection to the edge's replication port presenting the hub's own certificate."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.load_cert_chain(p.hub.data_dir / "tls" / "cert.pem", p.hub.data_dir / "tls" / "key.pem")
    raw = socket.create_connection(("127.0.0.1", p.sync_port), timeout=10)
    return ctx.wrap_socket(raw)


def send_frame(s, data):
    s.sendall(str(len(data)).encode() + b"\n" + data)


def read_frame(s):
    buf = b""
    while b"\n" not in buf:
        chunk = s.recv(1)
        assert chunk, "edge closed the connection"
        buf += chunk
    n = int(buf)
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        assert chunk, "edge closed the connection"
        data += chunk
    return data.decode()


def signed(p, body):
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    key = load_pem_private_key((p.hub.data_dir / "hub" / "sign.key").read_bytes(), password=None)
    return body + b"signature " + key.sign(body).hex().encode() + b"\n"


def test_tampered_messages_refused_last_good_kept(pair):
    p = pair
    start_hub(p)
    before = edge_status(p.edge)
    serial = before["recipients"]["serial"]
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
    key = load_pem_private_key((p.hub.data_dir / "hub" / "sign.key").read_bytes(), password=None)
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    bogus = "rcpt " + "ab" * 32

    def body(serial_, base_):
        return (f"rampart-replication 1\nkind recipients\nserial {serial_}\nbase {base_}\nhub hub.test\nentries 1\n"
                f"+ {bogus}\n").encode()

    cases = {
        "bad signature": body(serial + 1, serial) + b"signature " + b"00" * 64 + b"\n",
        "gap": signed(p, body(serial + 5, serial + 4)),
        "replay": signed(p, body(serial, serial - 1) if serial > 1 else body(serial, 0)),
    }
    with hub_connection(p) as s:
        send_frame(s, f"HELLO 1 hub.test {pub} -".encode())
        send_frame(s, (p.hub.data_dir / "tls" / "cert.pem").read_bytes())
        assert read_frame(s).startswith("OK ")
        for what, msg in cases.items():
            send_frame(s, msg)
            answer = read_frame(s)
            assert answer.startswith("REFUSED "), (what, answer)
        # A truncated message: the frame ends early.
        msg = signed(p, body(serial + 1, serial))
        s.sendall(str(len(msg)).encode() + b"\n" + msg[: len(msg) // 2])
        s.shutdown(socket.SHUT_WR)
        wait_for(lambda: any("truncated" in e.get("reason", "") for e in p.edge.log_events("edge.sync.refused")),
                 what="truncated message refused")
    reasons = [e.get("reason", "") for e in p.edge.log_events("edge.sync.refused")]
    assert any("bad signature" in r for r in reasons), reasons
    assert any("gap" in r for r in reasons), reasons
    assert any("replay" in r for r in reasons), reasons
    after = edge_status(p.edge)
    assert after["recipients"]["serial"] == serial
    assert after["last_error"] is not None
    assert test_recipient(p.edge, f"alice@{DOMAIN}") == 0
    # The hub still syncs afterwards (the edge kept its state).
    out = cli(p.hub, "hub", "sync", "--now").stdout
    assert "edge1: ok" in out, out


def test_reused_secret_from_another_hub_refused(pair, tmp_path):
    p = pair
    start_hub(p)
    other = Node(tmp_path / "other-hub", hub_text(), port=free_port())
    write_edge_file(other, p.edge, p.sync_port, p.secret)
    other.start()
    try:
        r = cli(other, "hub", "sync", "--now", check=False)
        assert r.returncode != 0
        assert "edge1: failed" in r.stdout + r.stderr and "not the pinned hub" in r.stdout + r.stderr, r.stdout + r.stderr
    finally:
        other.stop()
    reasons = [e.get("reason", "") for e in p.edge.log_events("edge.sync.refused")]
    assert any("not the pinned hub" in r for r in reasons), reasons
    assert test_recipient(p.edge, f"alice@{DOMAIN}") == 0


def test_expired_secret_refused(tmp_path):
    sync_port, hub_port = free_port(), free_port()
    edge = Node(tmp_path / "edge", edge_text(sync_port))
    secret = secrets.token_bytes(32)
    write_bootstrap(edge, secret, expires_delta=datetime.timedelta(hours=-1))
    edge.start()
    hub = Node(tmp_path / "hub", hub_text(), port=hub_port)
    try:
        wait_for(lambda: (edge.data_dir / "tls" / "cert.pem").exists(), what="edge certificate")
        write_edge_file(hub, edge, sync_port, secret)
        hub.start()
        r = cli(hub, "hub", "sync", "--now", check=False)
        assert r.returncode != 0 and "expired" in r.stdout + r.stderr, r.stdout + r.stderr
        assert not (edge.data_dir / "edge" / "hub.pem").exists()
        assert test_recipient(edge, f"alice@{DOMAIN}") == 2   # no replica
        st = edge_status(edge)
        assert st["hub"] is None and st["subscribed"] is False and "expired" in st["last_error"]
    finally:
        hub.stop()
        edge.stop()


def test_subscription_made_for_another_hub_refused_at_the_first_push(tmp_path):
    """`new-subscription --hub NAME` writes expected_hub: a hub by another name that holds the
    secret (a copied file) cannot make the first push; nothing is pinned."""
    sync_port, hub_port = free_port(), free_port()
    edge = Node(tmp_path / "edge", edge_text(sync_port))
    secret = secrets.token_bytes(32)
    write_bootstrap(edge, secret, expected_hub="hub.elsewhere.test")
    edge.start()
    hub = Node(tmp_path / "hub", hub_text(), port=hub_port)   # hostname hub.test
    try:
        wait_for(lambda: (edge.data_dir / "tls" / "cert.pem").exists(), what="edge certificate")
        write_edge_file(hub, edge, sync_port, secret)
        hub.start()
        r = cli(hub, "hub", "sync", "--now", check=False)
        out = r.stdout + r.stderr
        assert r.returncode != 0 and 'made for hub "hub.elsewhere.test", not "hub.test"' in out, out
        assert not (edge.data_dir / "edge" / "hub.pem").exists()
    finally:
        hub.stop()
        edge.stop()


def test_unreachable_hub_warned_and_edge_keeps_serving(pair):
    """No push for longer than [edge] hub_unreachable_warning: edge.hub.unreachable, and the
    edge still answers from its last replica."""
    p = pair
    start_hub(p)
    p.hub.stop()
    p.edge.stop()
    text = p.edge.config_text().replace("[edge]\n", '[edge]\nhub_unreachable_warning = "1s"\n')
    p.edge.config_path.write_text(text)
    p.edge.start()
    wait_for(lambda: p.edge.log_events("edge.hub.unreachable"), timeout=20, what="edge.hub.unreachable")
    ev = p.edge.log_events("edge.hub.unreachable")[0]
    assert ev["hub"] == "hub.test" and ev["action"] == "serving from the last replica", ev
    code, text = rcpt_reply(p.edge, f"alice@{DOMAIN}")
    assert code == 250, (code, text)
    code, text = rcpt_reply(p.edge, f"bob@{DOMAIN}")
    assert code == 550, (code, text)


@pytest.mark.parametrize("pair", [False], ids=["replicated-routing"], indirect=True)
def test_edge_accepts_and_routes_by_the_replica(pair):
    """An edge with no [[domains]] and no send connector of its own: the replicated accepted
    domains take mail for example.test (applied live, no restart) and the replicated route
    sends it to the hub, which stores it in alice's mailbox."""
    import smtplib
    p = pair
    # Before any replica: example.test is nobody's domain here.
    code, text = rcpt_reply(p.edge, f"alice@{DOMAIN}")
    assert code >= 500, (code, text)
    start_hub(p)
    code, text = rcpt_reply(p.edge, f"bob@{DOMAIN}")
    assert code == 550 and "5.1.1" in " ".join(text), (code, text)
    with smtplib.SMTP("127.0.0.1", p.edge.port, timeout=10) as c:
        c.sendmail("sender@outside.test", [f"alice@{DOMAIN}"],
                   b"From: sender@outside.test\r\nSubject: via the edge\r\n\r\nhello\r\n")
    inbox = p.hub.data_dir / "mail" / "alice" / "new"
    wait_for(lambda: inbox.is_dir() and any(inbox.iterdir()), timeout=30, what="delivery through the edge to the hub")
    assert b"via the edge" in next(inbox.iterdir()).read_bytes()


def test_changed_edge_certificate_refused_by_the_hub(pair):
    """The hub pushes only to the certificate pinned in the edge file: an edge presenting
    another one (rebuilt, or an impostor on its address) gets nothing."""
    p = pair
    start_hub(p)
    f = p.hub.data_dir / "hub" / "edges" / "edge1.toml"
    text = f.read_text()
    cert = (p.edge.data_dir / "tls" / "cert.pem").read_text()
    f.write_text(text.replace(cert, (p.hub.data_dir / "tls" / "cert.pem").read_text()))
    r = cli(p.hub, "hub", "sync", "--now", check=False)
    out = r.stdout + r.stderr   # an "error" answer of the control socket goes to stderr
    assert r.returncode != 0 and "edge1: failed" in out and "not the pinned" in out, out
    assert [e for e in p.hub.log_events("hub.sync.failed") if "not the pinned" in e.get("error", "")]


def test_edge_without_its_status_file_still_takes_the_pinned_hub(pair):
    """status.toml is bookkeeping: lost, the pinned hub (bootstrap.toml's hub_name, hub.pem)
    is still recognised and its pushes applied."""
    p = pair
    start_hub(p)
    p.edge.stop()
    (p.edge.data_dir / "edge" / "status.toml").unlink()
    p.edge.start()
    cli(p.hub, "user", "add", "dave", "--address", f"dave@{DOMAIN}", stdin="dave-secret\n")
    out = cli(p.hub, "hub", "sync", "--now").stdout
    assert "edge1: ok" in out, out
    assert test_recipient(p.edge, f"dave@{DOMAIN}") == 0
    assert edge_status(p.edge)["hub"] == "hub.test"
