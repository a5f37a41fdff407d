"""The perimeter topology of issue 11 built from Linux network namespaces that the test
creates (and removes): nothing outside them is touched, no address outside them is used.

    internet  (203.0.113.1)  -- veth --  perimeter (the edge: 203.0.113.2 | 10.251.2.2)
    perimeter (10.251.2.2)   -- veth --  internal  (the hub: 10.251.2.1)
    rogue     (10.251.3.2)   -- veth --  internal  (10.251.3.1): another host in the
                                          perimeter network, which the hub must refuse

The internet side uses TEST-NET-3 (203.0.113.0/24, RFC 5737), which an MX delivery may
reach (private ranges are refused by route = "mx"); it exists only inside these namespaces.
Routing makes the internet reach the edge only: the internet namespace knows 203.0.113.0/24
alone, and the perimeter namespace does not forward (net.ipv4.ip_forward is 0 in a new
namespace). The internal firewall (nftables, in the internal namespace) lets in from the
perimeter only TCP port 25 (and the replies to the hub's own connections, so the hub can
push to the edge); everything else from outside is dropped.

    with Topology() as topo:
        proc = topo.popen("perimeter", [rampart, "serve", "-c", cfg])
        topo.run("internet", ["python3", "-c", ...])

Needs root (ip netns); `available()` says why not when it cannot work. Every process
started through `popen` is stopped by PID at exit, then the namespaces are deleted."""
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import threading
import uuid

ADDR = {
    "internet": "203.0.113.1",
    "edge_outside": "203.0.113.2",
    "edge_inside": "10.251.2.2",
    "hub": "10.251.2.1",
    "rogue": "10.251.3.2",
    "hub_rogue_side": "10.251.3.1",
}

HUB_SMTP_PORT = 25


def available():
    """None when namespaces can be made here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns)"
    if not shutil.which("ip"):
        return "iproute2 (ip) is not installed: scripts/deps.sh test installs it"
    if not shutil.which("nft"):
        return "nftables (nft) is not installed: scripts/deps.sh test installs it"
    name = f"rp-probe-{uuid.uuid4().hex[:8]}"
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10)


class Topology:
    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.ns = {role: f"rp{tag}-{role}" for role in ("internet", "perimeter", "internal", "rogue")}
        self.procs = []
        self.made = []

    # --- building -------------------------------------------------------------------------
    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _link(self, a, a_addr, b, b_addr, prefix=24):
        """A veth pair between namespaces a and b with an address on each end."""
        tag = uuid.uuid4().hex[:5]
        ea, eb = f"va{tag}", f"vb{tag}"
        _ip("link", "add", ea, "type", "veth", "peer", "name", eb)
        _ip("link", "set", ea, "netns", self.ns[a])
        _ip("link", "set", eb, "netns", self.ns[b])
        _ip("-n", self.ns[a], "addr", "add", f"{a_addr}/{prefix}", "dev", ea)
        _ip("-n", self.ns[b], "addr", "add", f"{b_addr}/{prefix}", "dev", eb)
        _ip("-n", self.ns[a], "link", "set", ea, "up")
        _ip("-n", self.ns[b], "link", "set", eb, "up")

    def _build(self):
        for name in self.ns.values():
            _ip("netns", "add", name)
            self.made.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        self._link("internet", ADDR["internet"], "perimeter", ADDR["edge_outside"])
        self._link("perimeter", ADDR["edge_inside"], "internal", ADDR["hub"])
        self._link("rogue", ADDR["rogue"], "internal", ADDR["hub_rogue_side"])
        # The internal firewall: from the perimeter only port 25 and replies.
        rules = f"""
table inet rampart_internal {{
    chain input {{
        type filter hook input priority 0; policy drop;
        iif lo accept
        ct state established,related accept
        tcp dport {HUB_SMTP_PORT} accept
        icmp type echo-request drop
    }}
}}
"""
        subprocess.run(["ip", "netns", "exec", self.ns["internal"], "nft", "-f", "-"], input=rules,
                       check=True, capture_output=True, text=True, timeout=10)

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        self.procs.clear()
        for name in reversed(self.made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
        self.made.clear()

    # --- running things inside ------------------------------------------------------------
    def argv(self, where, argv):
        return ["ip", "netns", "exec", self.ns[where], *argv]

    def popen(self, where, argv, **kw):
        """Starts argv inside namespace `where`; stopped by PID when the topology closes.
        `ip netns exec` execs the command, so the PID is the command's own."""
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(self.argv(where, argv), **kw)
        self.procs.append(proc)
        return proc

    def run(self, where, argv, timeout=30, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(self.argv(where, argv), timeout=timeout, **kw)

    def python(self, where, code, timeout=30):
        """Runs a Python snippet inside `where` with Debian's interpreter; returns the result."""
        return self.run(where, ["/usr/bin/python3", "-c", code], timeout=timeout)

    def can_connect(self, where, host, port, timeout=2.0):
        """True when a TCP connection from namespace `where` to host:port is accepted."""
        code = (
            "import socket,sys\n"
            f"s=socket.socket(); s.settimeout({timeout})\n"
            "try:\n"
            f"    s.connect(({host!r},{port})); print('open')\n"
            "except Exception as e:\n"
            "    print('closed', type(e).__name__)\n"
        )
        r = self.python(where, code, timeout=timeout + 10)
        return r.stdout.startswith("open")

    @contextlib.contextmanager
    def inside(self, where):
        """Moves the calling thread into namespace `where` for the block: sockets it opens
        and processes it starts (they inherit the thread's namespace) live there, so the
        project's fixtures (slapd, Dovecot, NSD, a sink, rampart) run unchanged inside.
        The network namespace is per thread (setns(2)); the thread is moved back after."""
        libc = ctypes.CDLL(None, use_errno=True)
        CLONE_NEWNET = 0x40000000
        home = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        target = os.open(f"/run/netns/{self.ns[where]}", os.O_RDONLY)
        try:
            if libc.setns(target, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), f"setns into {self.ns[where]}")
            try:
                yield self
            finally:
                if libc.setns(home, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), "setns back to the test's namespace")
        finally:
            os.close(target)
            os.close(home)

