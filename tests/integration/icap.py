"""ICAP servers for the antivirus tests.

CIcap: a throwaway c-icap (Debian c-icap + libc-icap-mod-virus-scan) whose virus_scan service
("avscan") scans through clamd_mod with a clamd fixture (clamd.py, home-made signatures). Its
own configuration in a temporary directory, listening on a free loopback port, in the
foreground (-N); started here, stopped by PID; ready when it answers OPTIONS (bounded wait).
Every request is one line of its access log: scans() counts them.

HostileIcap: a small ICAP server written for the tests that answers every request badly:
"garbage" (bytes that are not ICAP), "hang" (reads the request, never answers), "error"
(ICAP/1.0 500), or "cut" (a 200 whose body stops in the middle) — or, mode "clean", with a
plain 204 (c-icap listens on TCP only: this one can listen on a unix socket). It keeps the
requests it read.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from conftest import free_port, wait_for
from daemon import Daemon

CICAP = shutil.which("c-icap") or "/usr/bin/c-icap"
MODULES = "/usr/lib/x86_64-linux-gnu/c_icap"
START_TIMEOUT = 30


def icap_options(port, service="avscan", timeout=2):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"OPTIONS icap://127.0.0.1:{port}/{service} ICAP/1.0\r\nHost: 127.0.0.1:{port}\r\n"
                  f"Encapsulated: null-body=0\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


class CIcap(Daemon):
    name = "c-icap"
    start_timeout = START_TIMEOUT

    def __init__(self, clamd):
        self.clamd = clamd
        self.dir = Path(tempfile.mkdtemp(prefix="rampart-cicap-"))
        self.port = free_port()
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def write_config(self):
        d = self.dir
        (d / "tmp").mkdir(exist_ok=True)
        (d / "log").mkdir(exist_ok=True)
        user = ""
        if os.geteuid() == 0:
            # c-icap drops root: it must still reach its own files.
            user = "User nobody\nGroup nogroup\n"
            for p in (d, d / "tmp", d / "log"):
                os.chmod(p, 0o777)
        # StartSendingDataAfter as high as MaxObjectSize: with the default (0) c-icap may
        # start its answer before the whole message is in (when it arrives in two reads, on
        # a busy machine), and then answers an infected one without X-Infection-Found.
        (d / "c-icap.conf").write_text(f"""PidFile {d}/c-icap.pid
CommandsSocket {d}/c-icap.ctl
Timeout 30
StartServers 1
MaxServers 2
MinSpareThreads 2
MaxSpareThreads 8
ThreadsPerChild 4
Port 127.0.0.1:{self.port}
{user}TmpDir {d}/tmp
DebugLevel 1
ModulesDir {MODULES}
ServicesDir {MODULES}
TemplateDir /usr/share/c_icap/templates/
LoadMagicFile /etc/c-icap/c-icap.magic
ServerLog {d}/log/server.log
AccessLog {d}/log/access.log
Module common clamd_mod.so
clamd_mod.ClamdHost 127.0.0.1
clamd_mod.ClamdPort {self.clamd.port}
Service avscan virus_scan.so
virus_scan.ScanFileTypes TEXT DATA EXECUTABLE ARCHIVE GIF JPEG MSOFFICE
virus_scan.SendPercentData 0
virus_scan.Allow204Responces on
virus_scan.MaxObjectSize 25M
virus_scan.StartSendingDataAfter 25M
virus_scan.DefaultEngine clamd
""")

    def ready(self):
        try:
            return icap_options(self.port).startswith(b"ICAP/1.0 200")
        except OSError:
            return False

    def start(self):
        self.write_config()
        # Its own session: c-icap forks worker processes, stopped with it by its process group.
        return self.launch([CICAP, "-N", "-f", str(self.dir / "c-icap.conf")], "c-icap.out", self.ready,
                           start_new_session=True)

    def scans(self):
        """RESPMOD/REQMOD requests in the access log (OPTIONS probes are not scans)."""
        p = self.dir / "log" / "access.log"
        if not p.exists():
            return 0
        return sum(1 for line in p.read_text(errors="replace").splitlines() if "RESPMOD" in line or "REQMOD" in line)

    def signal_group(self, sig):
        try:
            os.killpg(self.proc.pid, sig)   # the group this fixture started (its PID is the group's id)
        except ProcessLookupError:
            pass

    def stop(self):
        if self.proc:
            self.signal_group(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.signal_group(signal.SIGKILL)
                self.proc.wait(timeout=10)
            self.signal_group(signal.SIGKILL)   # any worker left behind
            self.out.close()
        self.proc = None

    def kill(self):
        """Kills c-icap and its workers (its process group, by PID) abruptly; waits until the port is closed."""
        self.signal_group(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.out.close()
        self.proc = None
        wait_for(lambda: not self.ready(), 20, what="c-icap's port closed")

    def diagnostics(self):
        parts = []
        for name in ("c-icap.out", "log/server.log", "log/access.log"):
            p = self.dir / name
            if p.exists():
                parts.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class HostileIcap:
    def __init__(self, mode, unix_path=None):
        assert mode in ("garbage", "hang", "error", "cut", "clean")
        self.mode = mode
        self.unix_path = unix_path
        if unix_path:
            self.sock = socket.socket(socket.AF_UNIX)
            self.sock.bind(str(unix_path))
        else:
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.port = self.sock.getsockname()[1]
        self.sock.listen(16)
        self.requests = 0
        self.received = []
        self.closing = False
        self.conns = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return f"unix:{self.unix_path}" if self.unix_path else f"127.0.0.1:{self.port}"

    def serve(self):
        while not self.closing:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def read_request(self, conn):
        data = b""
        conn.settimeout(30)
        while not data.endswith(b"\r\n0\r\n\r\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data

    def handle(self, conn):
        try:
            self.received.append(self.read_request(conn))
            self.requests += 1
            if self.mode == "clean":
                conn.sendall(b"ICAP/1.0 204 No Content\r\nISTag: \"test\"\r\n\r\n")
            elif self.mode == "garbage":
                conn.sendall(b"\x00\xffHELLO I am not ICAP\r\n\r\n")
            elif self.mode == "error":
                conn.sendall(b"ICAP/1.0 500 Server Error\r\n\r\n")
            elif self.mode == "cut":
                conn.sendall(b"ICAP/1.0 200 OK\r\nEncapsulated: res-hdr=0, res-body=19\r\n\r\nHTTP/1.1 200 OK\r\n\r\n"
                             b"400\r\nonly a part")
            else:   # hang: keep the connection open, say nothing, until stopped
                while not self.closing:
                    time.sleep(0.05)
                return
            conn.close()
        except OSError:
            pass

    def stop(self):
        self.closing = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.thread.join(timeout=5)
