"""Shared fixtures for rampart integration tests.

Run with:  /usr/bin/python3 -m pytest -q tests/integration   (from the repository root)

Needs: build/rampart (or RAMPART_BIN), python3-pytest, python3-aiosmtpd, swaks, openssl.
Nothing here builds rampart. Every wait is bounded; synchronisation is by polling
with a deadline, never by a bare sleep.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RAMPART_BIN = os.environ.get("RAMPART_BIN", str(REPO / "build" / "rampart"))

SOCK_TIMEOUT = 10.0
START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0

DOMAIN = "example.test"
RELAY_IP = "127.0.0.5"  # client address that is on the relay list


# --------------------------------------------------------------------------- utilities

def wait_for(pred, timeout=10.0, interval=0.02, what="condition"):
    """Poll pred() until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


_HANDED_OUT = set()


def free_port(host="127.0.0.1"):
    """A port nobody listens on, never handed out before in this run: the kernel can give
    the same ephemeral port to two bind(0) calls in a row (a server's SMTP and admin
    listeners once got the same one), so a port is handed out once."""
    for _ in range(1000):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((host, 0))
        port = s.getsockname()[1]
        s.close()
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no fresh port in 1000 tries")


def port_accepts(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def parse_logfmt(line):
    """Parse one logfmt line (key=value, values optionally double-quoted with \\ escapes)."""
    out = {}
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        eq = line.find("=", i)
        if eq < 0:
            break
        key = line[i:eq]
        i = eq + 1
        if i < n and line[i] == '"':
            i += 1
            buf = []
            while i < n and line[i] != '"':
                c = line[i]
                if c == "\\" and i + 1 < n:
                    nx = line[i + 1]
                    if nx == "x" and i + 3 < n:
                        buf.append(chr(int(line[i + 2:i + 4], 16)))
                        i += 4
                        continue
                    buf.append({"n": "\n", "r": "\r", "t": "\t"}.get(nx, nx))
                    i += 2
                    continue
                buf.append(c)
                i += 1
            i += 1  # closing quote
            out[key] = "".join(buf)
        else:
            sp = line.find(" ", i)
            if sp < 0:
                sp = n
            out[key] = line[i:sp]
            i = sp
    return out


def toml_str(s):
    return '"' + str(s).replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return toml_str(v)


QID_RE = re.compile(rb"queued as ([0-9A-Za-z]+)")


def queued_id(reply_text):
    """Queue id from a '250 2.0.0 Ok: queued as <ID>' reply text (bytes or str)."""
    if isinstance(reply_text, str):
        reply_text = reply_text.encode()
    m = QID_RE.search(reply_text)
    return m.group(1).decode() if m else None


# --------------------------------------------------------------------------- raw SMTP client

class RawSMTP:
    """Byte-exact SMTP dialogue over a plain socket (optionally upgraded to TLS)."""

    def __init__(self, host, port, timeout=SOCK_TIMEOUT, source_address=None):
        self.sock = socket.create_connection((host, port), timeout=timeout, source_address=source_address)
        self.sock.settimeout(timeout)
        self.timeout = timeout
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout=None):
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by server")
        self.buf += chunk

    def read_line(self, timeout=None):
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete line")
            self._fill(left)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_reply(self, timeout=None):
        """One (possibly multi-line) reply -> (code:int, [text lines as str])."""
        lines = []
        while True:
            line = self.read_line(timeout)
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line[4:].decode("utf-8", "replace"))
            if len(line) == 3 or line[3:4] == b" ":
                return int(line[:3]), lines
            if line[3:4] != b"-":
                raise AssertionError(f"malformed reply line {line!r}")

    def cmd(self, line):
        self.send(line + "\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.read_reply()

    def expect_nothing(self, timeout=0.5):
        """True if no bytes arrive within timeout (buffered bytes count as something)."""
        if self.buf:
            return False
        try:
            self._fill(timeout)
        except (socket.timeout, TimeoutError, ssl.SSLError):
            return True
        except EOFError:
            return True
        return not self.buf

    def read_until_closed(self, timeout=None):
        """Read everything until EOF (bounded)."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("server did not close the connection")
            try:
                self._fill(left)
            except (EOFError, ConnectionResetError):
                data, self.buf = self.buf, b""
                return data

    def starttls(self, server_hostname=None, suppress_ragged_eofs=True):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if not suppress_ragged_eofs:
            # Python sets this by default; clear it so a missing close_notify is reported
            ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)
        self.sock = ctx.wrap_socket(self.sock, server_hostname=server_hostname,
                                    suppress_ragged_eofs=suppress_ragged_eofs)
        self.sock.settimeout(self.timeout)


def no_verify_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# --------------------------------------------------------------------------- SMTP sink (aiosmtpd)

class Sink:
    """A real SMTP server (aiosmtpd) in a thread, collecting envelopes."""

    def __init__(self, port=None, host="127.0.0.1", refuse=None):
        """refuse: {recipient address: "550 5.1.1 reply"} answered at RCPT TO."""
        from aiosmtpd.controller import Controller

        self.host = host
        self.port = port or free_port(host)
        self.envelopes = []
        self.lock = threading.Lock()
        self.refuse = dict(refuse or {})
        sink = self

        class Handler:
            async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
                if address in sink.refuse:
                    return sink.refuse[address]
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server, session, envelope):
                with sink.lock:
                    sink.envelopes.append(
                        {
                            "mail_from": envelope.mail_from,
                            "rcpt_tos": list(envelope.rcpt_tos),
                            "data": bytes(envelope.original_content or envelope.content),
                        }
                    )
                return "250 OK"

        self.controller = Controller(Handler(), hostname=host, port=self.port, ready_timeout=10)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        try:
            self.controller.stop()
        except Exception:
            pass

    def messages(self):
        with self.lock:
            return list(self.envelopes)

    def ids_seen(self):
        ids = set()
        for e in self.messages():
            for m in re.finditer(rb"\bid ([0-9A-Za-z]+)", e["data"]):
                ids.add(m.group(1).decode())
        return ids


# --------------------------------------------------------------------------- rampart server

_STARTED = []   # every Rampart started: the autouse fixture below stops those a test left running


@pytest.fixture(autouse=True)
def _stop_started_servers():
    # A test that starts servers itself (not through rampart_factory) and fails, or forgets,
    # must not leave them running after it: each is stopped by its own PID here.
    yield
    while _STARTED:
        _STARTED.pop().stop()


class Rampart:
    def __init__(self, workdir, port=None, tls="starttls", relay_list=(RELAY_IP + "/32",), smarthost_port=None,
                 limits=None, retry_interval="2s", hostname="mx.test", data_dir=None, extra_listeners=(),
                 threads=2, extra_config="", queue=None, listener_keys=None, server_keys=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.admin_port = free_port()  # [admin] bind: parallel tests must not share 2580
        self.tls = tls
        self.hostname = hostname
        self.data_dir = Path(data_dir) if data_dir else self.workdir / "data"
        self.log_path = self.workdir / "rampart.log"
        self.stdout_path = self.workdir / "stdout.txt"
        self.stderr_path = self.workdir / "stderr.txt"
        self.config_path = self.workdir / "rampart.toml"
        self.relay_list = list(relay_list)
        self.smarthost_port = smarthost_port
        self.limits = dict(limits or {})
        self.retry_interval = retry_interval
        self.extra_listeners = list(extra_listeners)  # list of (name, port, tls)
        self.threads = threads
        self.extra_config = extra_config  # TOML appended verbatim (e.g. [dns], more [[send_connectors]])
        self.queue = dict(queue or {})  # more [queue] keys, e.g. {"max_lifetime": "5s"}
        self.listener_keys = dict(listener_keys or {})  # more keys for every listener, e.g. {"filters": True}
        self.server_keys = dict(server_keys or {})  # more [server] keys, e.g. {"max_open_files": 30000}
        self.proc = None
        self.preexec_fn = None  # run in the child before exec (e.g. resource limits)
        self.env = None  # the child's environment (None: this process's), e.g. with NOTIFY_SOCKET
        self.write_config()

    # ---- config ----
    def config_text(self):
        lines = [
            "[server]",
            'role = "all-in-one"',
            f"hostname = {toml_str(self.hostname)}",
            f"data_dir = {toml_str(self.data_dir)}",
            f"log_file = {toml_str(self.log_path)}",
            f"threads = {self.threads}",
            # Tests run as root in CI: stay root unless a test sets server.user or
            # run_as_root itself (test_privileges.py proves the drop).
            *(["run_as_root = true"] if not {"user", "run_as_root"} & set(self.server_keys) else []),
            *[f"{k} = {toml_value(v)}" for k, v in self.server_keys.items()],
            "",
            "[[domains]]",
            f"name = {toml_str(DOMAIN)}",
            'type = "authoritative"',
            "",
        ]
        listeners = [("default", self.port, self.tls)] + self.extra_listeners
        for name, port, tls in listeners:
            lines += [
                "[[listeners]]",
                f"name = {toml_str(name)}",
                f'bind = ["127.0.0.1:{port}"]',
                f"tls = {toml_str(tls)}",
                'remote_ranges = ["0.0.0.0/0", "::/0"]',
                "relay = " + toml_value({"mode": "only-list", "list": self.relay_list, "allow_authenticated": False}),
            ]
            if self.limits:
                lines.append("limits = " + toml_value(self.limits))
            lines += [f"{k} = {toml_value(v)}" for k, v in self.listener_keys.items()]
            lines.append("")
        if self.smarthost_port:
            lines += [
                "[[send_connectors]]",
                'name = "relay"',
                'address_spaces = ["*"]',
                'route = "smarthost"',
                f'smarthosts = ["127.0.0.1:{self.smarthost_port}"]',
                'tls = "none"',
                "",
            ]
        lines += ["[queue]", f"retry_interval = {toml_str(self.retry_interval)}"]
        lines += [f"{k} = {toml_value(v)}" for k, v in self.queue.items()] + [""]
        if self.extra_config:
            lines += [self.extra_config, ""]
        if "[admin]" not in self.extra_config:
            lines += ["[admin]", f'bind = "127.0.0.1:{self.admin_port}"', ""]
        return "\n".join(lines)

    def write_config(self):
        self.config_path.write_text(self.config_text())

    # ---- process control ----
    def start(self, timeout=START_TIMEOUT):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        out = open(self.stdout_path, "ab")
        err = open(self.stderr_path, "ab")
        try:
            self.proc = subprocess.Popen([RAMPART_BIN, "serve", "-c", str(self.config_path)],
                                         stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=str(self.workdir),
                                         preexec_fn=self.preexec_fn, env=self.env)
            _STARTED.append(self)
        finally:
            out.close()
            err.close()
        ports = [self.port] + [p for _, p, _ in self.extra_listeners]
        deadline = time.monotonic() + timeout
        for p in ports:
            while not port_accepts(self.host, p):
                if self.proc.poll() is not None:
                    raise AssertionError(f"rampart exited with {self.proc.returncode} during start-up:\n"
                                         + self.diagnostics())
                if time.monotonic() >= deadline:
                    self.stop()
                    raise AssertionError(f"rampart did not accept connections on {p} within {timeout}s\n"
                                         + self.diagnostics())
                time.sleep(0.02)
        return self

    def stop(self, timeout=STOP_TIMEOUT):
        p = self.proc
        if p is None or p.poll() is not None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=timeout)

    def kill9(self):
        p = self.proc
        if p is not None and p.poll() is None:
            p.kill()  # SIGKILL to our own child, by PID
            p.wait(timeout=STOP_TIMEOUT)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def diagnostics(self):
        parts = []
        for p in (self.stderr_path, self.log_path):
            try:
                parts.append(f"--- {p.name} (tail) ---\n" + "\n".join(p.read_text(errors="replace").splitlines()[-30:]))
            except OSError:
                pass
        return "\n".join(parts)

    # ---- helpers ----
    def raw(self, **kw):
        return RawSMTP(self.host, self.port, **kw)

    def maildir(self, local):
        # A directory user's mail goes to mail/<user>/, anyone else's to mail/<domain>/<local>/.
        user_dir = self.data_dir / "mail" / local.lower()
        return user_dir if user_dir.is_dir() else self.data_dir / "mail" / DOMAIN / local.lower()

    def maildir_messages(self, local=None):
        """Contents (bytes) of delivered messages, for one local part or all of them."""
        root = self.data_dir / "mail" / DOMAIN
        dirs = [self.maildir(local)] if local else (sorted(root.iterdir()) if root.is_dir() else [])
        out = []
        for d in dirs:
            for sub in ("new", "cur"):
                sd = d / sub
                if sd.is_dir():
                    for f in sorted(sd.iterdir()):
                        if f.is_file():
                            out.append(f.read_bytes())
        return out

    def spool_files(self):
        sd = self.data_dir / "spool"
        if not sd.is_dir():
            return []
        return [f for f in sd.iterdir() if f.is_file()]

    def spool_count(self):
        return len(self.spool_files())

    def queued_ids(self):
        """Ids the spool holds on disk: a file, or (a message in flight, whose file is written
        lazily: src/queue/spool.hpp) a copy in the write-ahead journal not followed by an RM
        record (format 2, src/queue/spool.cpp: a generation header, then records with their
        generation and CRC-32). What a restart would recover; read after a stop or a kill."""
        ids = {f.name for f in self.spool_files()}
        journalled, removed = set(), set()
        for j in ("0", "1"):
            p = self.data_dir / "spool" / "journal" / j
            data = p.read_bytes() if p.is_file() else b""
            if not data.startswith(b"RJ2 ") or len(data) < 21:
                continue
            gen = int(data[4:20], 16)
            pos = 21
            while pos < len(data):
                nl = data.find(b"\n", pos)
                if nl < 0:
                    break
                line = data[pos:nl].decode("ascii", "replace")
                fields, _, crc = line.rpartition(" ")
                parts = fields.split(" ")
                try:
                    if int(parts[-1], 16) != gen:
                        break  # stale bytes of an earlier generation
                    crc = int(crc, 16)
                except ValueError:
                    break
                if parts[0] == "RM" and len(parts) == 3:
                    if zlib.crc32(fields.encode()) != crc:
                        break
                    removed.add(parts[1])
                    pos = nl + 1
                    continue
                if parts[0] != "J" or len(parts) != 4 or not parts[2].isdigit():
                    break
                end = nl + 1 + int(parts[2])
                if end >= len(data) or data[end:end + 1] != b"\n":
                    break
                if zlib.crc32(fields.encode(), zlib.crc32(data[nl + 1:end])) != crc:
                    break  # cut short by the kill: never acknowledged
                journalled.add(parts[1])
                pos = end + 1
        return ids | (journalled - removed)

    def log_lines(self):
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def log_events(self, name=None):
        evs = [parse_logfmt(l) for l in self.log_lines() if l.strip()]
        if name:
            evs = [e for e in evs if e.get("event") == name]
        return evs

    def queue_cli(self, *args, timeout=30):
        """Runs `rampart queue ARGS -c <config>` against this server -> CompletedProcess."""
        return subprocess.run([RAMPART_BIN, "queue", *args, "-c", str(self.config_path)], capture_output=True,
                              text=True, timeout=timeout)

    def log_tail(self, n=40):
        return "\n".join(self.log_lines()[-n:])


@pytest.fixture
def rampart_factory(tmp_path):
    """Create (and later stop) rampart instances: factory(name='r', **Rampart kwargs)."""
    servers = []

    def make(name="r", start=True, **kw):
        srv = Rampart(tmp_path / name, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def sink_factory():
    sinks = []

    def make(port=None, host="127.0.0.1", refuse=None):
        s = Sink(port=port, host=host, refuse=refuse).start()
        sinks.append(s)
        return s

    yield make
    for s in sinks:
        s.stop()


@pytest.fixture
def sink(sink_factory):
    return sink_factory()


@pytest.fixture
def rampart(rampart_factory, sink):
    """Default server: STARTTLS listener, relay list 127.0.0.5/32, smarthost = the sink."""
    return rampart_factory(smarthost_port=sink.port, limits={"max_message_size": "100KiB", "max_recipients": 5})
