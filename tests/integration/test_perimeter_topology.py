"""The perimeter of issue 11, end to end, in network namespaces the test creates
(tests/integration/netns.py):

    internet  : a client, NSD (MX for outside.test) and the outside mail server (a sink)
    perimeter : the edge (role edge): internet listener, from-hub listener, replication
    internal  : the hub (role hub, directory on slapd), Dovecot (LMTP + IMAP)
    rogue     : another host in the perimeter network, which reaches the hub's port 25

The internet reaches only the edge; the internal firewall lets the perimeter reach only the
hub's port 25. Everything runs from the real binaries: `rampart edge new-subscription`,
`rampart hub add-edge`, `rampart hub sync --now`, replication over mutual TLS, mail both
ways, IMAP to read it.
"""
import email
import imaplib
import os
import shutil
import signal
import smtplib
import subprocess
import time
from pathlib import Path

import pytest

import netns
import nsd
from conftest import RAMPART_BIN, Sink, parse_logfmt, port_accepts, toml_str, wait_for
from dovecot import Dovecot
from ldap_server import Slapd, person

A = netns.ADDR
DOMAIN = "example.test"
EDGE_SMTP = (A["edge_outside"], 25)
EDGE_FROM_HUB = (A["edge_inside"], 2526)
EDGE_SYNC = (A["edge_inside"], 50636)
HUB_SMTP = (A["hub"], 25)

OUTSIDE_ZONE = f"""$ORIGIN outside.test.
$TTL 60
@   IN SOA ns.outside.test. hostmaster.outside.test. 1 3600 600 86400 60
@   IN NS  ns.outside.test.
@   IN MX  10 mx.outside.test.
ns  IN A   {A["internet"]}
mx  IN A   {A["internet"]}
"""


class Server:
    """One rampart process inside a namespace (stopped by PID)."""

    def __init__(self, topo, where, workdir, name, config):
        self.topo, self.where, self.name = topo, where, name
        self.dir = Path(workdir) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.dir / "data"
        self.log = self.dir / "rampart.log"
        self.config = self.dir / "rampart.toml"
        self.config.write_text(config.replace("{data_dir}", toml_str(str(self.data_dir))).replace("{log}", toml_str(str(self.log))))
        self.proc = None

    def start(self, ready):
        self.proc = self.topo.popen(self.where, [RAMPART_BIN, "serve", "-c", str(self.config)],
                                    stdout=subprocess.DEVNULL, stderr=open(self.dir / "stderr", "ab"))
        wait_for(lambda: self.proc.poll() is not None or self.events("server.started"), 20,
                 what=f"{self.name} started\n{self.tail()}")
        assert self.proc.poll() is None, f"{self.name} exited\n{self.tail()}"
        with self.topo.inside(self.where):
            wait_for(lambda: port_accepts(*ready), 10, what=f"{self.name} listening on {ready}")
        return self

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)

    def cli(self, *args, timeout=60):
        return subprocess.run([RAMPART_BIN, *args, "-c", str(self.config)], capture_output=True, text=True, timeout=timeout)

    def events(self, name=None):
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []
        evs = [parse_logfmt(line) for line in lines]
        return [e for e in evs if name is None or e.get("event") == name]

    def tail(self, n=30):
        out = []
        for f in (self.log, self.dir / "stderr"):
            try:
                out += f.read_text(errors="replace").splitlines()[-n:]
            except FileNotFoundError:
                pass
        return "\n".join(out)


def hub_config(slapd_dir_config, lmtp_port):
    return """[server]
role = "hub"
hostname = "hub.example.test"
data_dir = {data_dir}
log_file = {log}
run_as_root = true
threads = 2

[[domains]]
name = "example.test"
type = "authoritative"

[[listeners]]
name = "from-edge"
bind = ["%s:25", "%s:25"]

[[listeners]]
name = "submission"
preset = "submission"
bind = ["127.0.0.1:587"]
permissions = { submit = ["authenticated"], relay = ["authenticated"] }

[delivery]
local = "lmtp"
lmtp = "127.0.0.1:%d"

[queue]
retry_interval = "2s"

[admin]
bind = ""

""" % (A["hub"], A["hub_rogue_side"], lmtp_port) + slapd_dir_config + "\n"


def edge_config(nsd_port):
    return """[server]
role = "edge"
hostname = "edge.example.test"
data_dir = {data_dir}
log_file = {log}
run_as_root = true
threads = 2

[[listeners]]
name = "internet"
bind = ["%s:25"]

[[listeners]]
name = "from-hub"
bind = ["%s:%d"]

[edge]
sync_bind = "%s:%d"

[recipient_filter]
tarpit = "0s"

[dns]
servers = ["%s:%d"]
timeout = "1s"

[queue]
retry_interval = "2s"

[admin]
bind = ""
""" % (EDGE_SMTP[0], *EDGE_FROM_HUB, *EDGE_SYNC, A["internet"], nsd_port)


def message(subject, to, frm="someone@outside.test"):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{subject.replace(' ', '-')}@test>\r\n"
            f"\r\nhello through the perimeter\r\n").encode()


def send(topo, where, host_port, rcpts, data, frm="someone@outside.test", login=None):
    """One SMTP transaction from inside `where`: {rcpt: (code, text)}, and the DATA reply."""
    with topo.inside(where):
        with smtplib.SMTP(*host_port, timeout=30) as s:
            s.ehlo("client.outside.test")
            if login:
                s.starttls()
                s.ehlo("client.outside.test")
                s.login(*login)
            assert s.mail(frm)[0] == 250
            replies = {r: s.rcpt(r) for r in rcpts}
            if not any(code == 250 for code, _ in replies.values()):
                s.rset()
                return replies, None
            return replies, s.data(data)


def imap_messages(topo, dovecot, user):
    with topo.inside("internal"):
        return dovecot.fetch_all(user)


def wait_imap(topo, dovecot, user, subject, timeout=40, what=""):
    def found():
        for raw in imap_messages(topo, dovecot, user):
            if email.message_from_bytes(raw)["Subject"] == subject:
                return raw
        return None
    return wait_for(found, timeout, interval=0.3, what=f"'{subject}' in {user}'s IMAP INBOX\n{what}")


def subscribe(edge, hub, workdir):
    """new-subscription on the edge, add-edge on the hub; returns the subscription file."""
    sub = Path(workdir) / f"{edge.name}.sub"
    r = edge.cli("edge", "new-subscription", "--out", str(sub))
    assert r.returncode == 0, r.stdout + r.stderr
    r = hub.cli("hub", "add-edge", str(sub))
    assert r.returncode == 0, r.stdout + r.stderr
    return sub


def sync_now(hub):
    r = hub.cli("hub", "sync", "--now")
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


@pytest.fixture
def topo():
    why = netns.available()
    if why:
        pytest.fail(f"the topology test needs network namespaces: {why}")
    with netns.Topology() as t:
        yield t


def test_mail_crosses_the_perimeter_both_ways_and_the_edge_knows_only_hashes(topo, tmp_path):
    # ---- internal: slapd with the users, Dovecot, the hub --------------------------------
    slapd = Slapd(tmp_path / "slapd")
    with topo.inside("internal"):
        slapd.load([person("alice", slapd.slappasswd("alicepw"), [f"alice@{DOMAIN}"]),
                    person("bob", slapd.slappasswd("bobpw"), [f"bob@{DOMAIN}"])])
        slapd.start()
        dovecot = Dovecot(users=("alice", "bob", "carol")).start()
    try:
        _run(topo, tmp_path, slapd, dovecot)
    finally:
        dovecot.cleanup()
        slapd.stop()


def _run(topo, tmp_path, slapd, dovecot):
    hub = Server(topo, "internal", tmp_path, "hub",
                 hub_config(slapd.directory_config(tmp_path / "ldap.pw", refresh_interval="1h"), dovecot.lmtp_port))
    # ---- internet: DNS (MX of outside.test) and the outside world's mail server ----------
    with topo.inside("internet"):
        dns_cm = nsd.serve(tmp_path, {"outside.test": OUTSIDE_ZONE}, address=A["internet"])
        nsd_port = dns_cm.__enter__()
        outside = Sink(port=25, host=A["internet"]).start()
    try:
        edge = Server(topo, "perimeter", tmp_path, "edge", edge_config(nsd_port))
        edge.start(ready=EDGE_SMTP)
        hub.start(ready=HUB_SMTP)

        # ---- subscription: file on the edge, import on the hub, first push pins ---------
        subscribe(edge, hub, tmp_path)   # the running hub admits, replicates to and sends through it at once
        out = sync_now(hub)
        assert "edge.example.test" in out, out
        assert (edge.data_dir / "edge" / "hub.pem").exists(), edge.tail()
        r = edge.cli("edge", "status", "--json")
        assert r.returncode == 0, r.stderr
        assert subprocess.run([RAMPART_BIN, "edge", "test-recipient", f"alice@{DOMAIN}", "-c", str(edge.config)],
                              timeout=30).returncode == 0
        assert subprocess.run([RAMPART_BIN, "edge", "test-recipient", f"nobody@{DOMAIN}", "-c", str(edge.config)],
                              timeout=30).returncode == 1

        # ---- the internet cannot reach the hub at all ----------------------------------
        assert not topo.can_connect("internet", A["hub"], 25)

        # ---- inbound: internet -> edge -> hub -> Dovecot, read over IMAP -----------------
        replies, data = send(topo, "internet", EDGE_SMTP, [f"alice@{DOMAIN}", f"nobody@{DOMAIN}"],
                             message("inbound one", f"alice@{DOMAIN}"))
        assert replies[f"alice@{DOMAIN}"][0] == 250, replies
        # An unknown recipient is refused at the edge, from the replicated hashes.
        assert replies[f"nobody@{DOMAIN}"][0] == 550 and b"5.1.1" in replies[f"nobody@{DOMAIN}"][1], replies
        assert data[0] == 250, data
        got = wait_imap(topo, dovecot, "alice", "inbound one", what=edge.tail() + "\n" + hub.tail())
        assert b"edge.example.test" in got, got[:600]

        # ---- a user added on the hub is known at the edge after hub sync --now -----------
        replies, _ = send(topo, "internet", EDGE_SMTP, [f"carol@{DOMAIN}"], message("too early", f"carol@{DOMAIN}"))
        assert replies[f"carol@{DOMAIN}"][0] == 550, replies
        with topo.inside("internal"):
            r = subprocess.run(["ldapadd", "-x", "-H", slapd.uri, "-D", "cn=admin,dc=example,dc=test", "-w", "admin-secret"],
                               input=person("carol", slapd.slappasswd("carolpw"), [f"carol@{DOMAIN}"]),
                               capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        hub.proc.send_signal(signal.SIGHUP)   # the directory snapshot is re-read from LDAP
        wait_for(lambda: len(hub.events("directory.loaded")) >= 2, 20, what="hub reloaded the directory\n" + hub.tail())
        sync_now(hub)
        replies, data = send(topo, "internet", EDGE_SMTP, [f"carol@{DOMAIN}"], message("for carol", f"carol@{DOMAIN}"))
        assert replies[f"carol@{DOMAIN}"][0] == 250, replies
        wait_imap(topo, dovecot, "carol", "for carol", what=edge.tail() + "\n" + hub.tail())

        # ---- another host in the perimeter is refused by the hub -------------------------
        with topo.inside("rogue"):
            with pytest.raises(smtplib.SMTPConnectError) as refused:
                smtplib.SMTP(A["hub_rogue_side"], 25, timeout=30)
        assert refused.value.smtp_code == 554 and b"5.7.1" in refused.value.smtp_error, refused.value
        assert any(e.get("rule") == "from-edge.pinned" and e.get("client") == A["rogue"]
                   for e in hub.events("smtp.connection.refused")), hub.tail()

        # ---- outbound: a mailbox user -> hub -> edge -> the internet, no internal trace ---
        replies, data = send(topo, "internal", ("127.0.0.1", 587), ["friend@outside.test"],
                             message("outbound one", "friend@outside.test", frm=f"alice@{DOMAIN}"),
                             frm=f"alice@{DOMAIN}", login=("alice", "alicepw"))
        assert data and data[0] == 250, (replies, data)
        wait_for(lambda: outside.messages(), 60, what="the outbound message at the outside server\n" + hub.tail() + "\n" + edge.tail())
        [out_msg] = outside.messages()
        raw = out_msg["data"]
        assert b"outbound one" in raw
        for internal in (A["hub"].encode(), b"hub.example.test", b"127.0.0.1", A["edge_inside"].encode()):
            assert internal not in raw, (internal, raw.decode(errors="replace"))
        assert b"edge.example.test" in raw, raw[:800]

        # ---- the edge's data holds no address list in clear ------------------------------
        # bob never received mail through the edge: his address may only be a hash there.
        for path in edge.data_dir.rglob("*"):
            if path.is_file():
                assert f"bob@{DOMAIN}".encode() not in path.read_bytes(), path

        # ---- the hub down: the edge still accepts for known recipients and queues --------
        hub.stop(signal.SIGKILL)
        replies, data = send(topo, "internet", EDGE_SMTP, [f"bob@{DOMAIN}"], message("hub down", f"bob@{DOMAIN}"))
        assert replies[f"bob@{DOMAIN}"][0] == 250 and data[0] == 250, (replies, data)
        wait_for(lambda: any(e.get("result") == "deferred" for e in edge.events("delivery.attempt")), 60,
                 what="a deferred attempt to the dead hub\n" + edge.tail())
        r = edge.cli("queue", "list")
        assert "bob@example.test" in r.stdout, r.stdout + r.stderr
        hub.start(ready=HUB_SMTP)
        edge.cli("queue", "retry", "--all")
        wait_imap(topo, dovecot, "bob", "hub down", timeout=60, what=edge.tail() + "\n" + hub.tail())

        # ---- the edge rebuilt from scratch and subscribed again works --------------------
        edge.stop()
        shutil.rmtree(edge.data_dir)
        edge.start(ready=EDGE_SMTP)
        r = hub.cli("hub", "remove-edge", "edge.example.test")
        assert r.returncode == 0, r.stdout + r.stderr
        subscribe(edge, hub, tmp_path)
        sync_now(hub)
        replies, data = send(topo, "internet", EDGE_SMTP, [f"alice@{DOMAIN}"], message("after rebuild", f"alice@{DOMAIN}"))
        assert replies[f"alice@{DOMAIN}"][0] == 250 and data[0] == 250, (replies, data)
        wait_imap(topo, dovecot, "alice", "after rebuild", what=edge.tail() + "\n" + hub.tail())
    finally:
        for srv in ("edge", "hub"):
            s = locals().get(srv)
            if s:
                s.stop(signal.SIGKILL)
        outside.stop()
        dns_cm.__exit__(None, None, None)
