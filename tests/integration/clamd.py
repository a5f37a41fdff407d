"""A throwaway ClamAV daemon (Debian clamav-daemon) with a home-made signature database —
no internet, so no freshclam: an .hdb hash signature for the EICAR test file and an .ndb body
signature for a marker string. Its own clamd.conf in a temporary directory, TCP on a free
loopback port (or, with unix=True, a unix socket in that directory), in the foreground; started here, stopped by PID, ready when it answers
zPING with PONG (bounded wait).

signatures=False gives a clamd with only a signature that matches nothing we send: a
working engine that finds nothing in the test viruses.
"""
import hashlib
import shutil
import socket
import tempfile
from pathlib import Path

from conftest import free_port, wait_for
from daemon import Daemon

# The EICAR test string, assembled at run time so this file is not itself "infected".
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-" + b"STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
MARKER = b"RAMPART-TEST-VIRUS-MARKER-" + b"5c1d"
EICAR_SIGNATURE = "Test.EICAR.HDB.UNOFFICIAL"
MARKER_SIGNATURE = "Test.Rampart.Marker.UNOFFICIAL"
CLAMD = shutil.which("clamd") or "/usr/sbin/clamd"
START_TIMEOUT = 60


class Clamd(Daemon):
    name = "clamd"
    start_timeout = START_TIMEOUT

    def __init__(self, signatures=True, stream_max_length="25M", unix=False):
        self.dir = Path(tempfile.mkdtemp(prefix="rampart-clamd-"))
        self.unix = unix
        self.socket_path = self.dir / "clamd.sock"
        self.port = free_port()
        self.signatures = signatures
        self.stream_max_length = stream_max_length
        self.proc = None

    @property
    def address(self):
        return f"unix:{self.socket_path}" if self.unix else f"127.0.0.1:{self.port}"

    def write_config(self):
        d = self.dir
        (d / "db").mkdir(exist_ok=True)
        (d / "tmp").mkdir(exist_ok=True)
        if self.signatures:
            (d / "db" / "test.hdb").write_text(f"{hashlib.md5(EICAR).hexdigest()}:{len(EICAR)}:Test.EICAR.HDB\n")
            (d / "db" / "test.ndb").write_text(f"Test.Rampart.Marker:0:*:{MARKER.hex()}\n")
        else:
            # clamd refuses to start without any signature: one that matches nothing sent here.
            (d / "db" / "test.ndb").write_text(f"Test.Nothing:0:*:{b'never-sent-by-rampart-tests-0f9e'.hex()}\n")
        listen = f"LocalSocket {self.socket_path}\n" if self.unix else f"TCPSocket {self.port}\nTCPAddr 127.0.0.1\n"
        (d / "clamd.conf").write_text(f"""Foreground yes
{listen}DatabaseDirectory {d}/db
TemporaryDirectory {d}/tmp
LogFile {d}/clamd.log
LogTime yes
PidFile {d}/clamd.pid
SelfCheck 0
MaxThreads 4
StreamMaxLength {self.stream_max_length}
ScanMail yes
ScanArchive yes
Bytecode no
""")

    def command(self, cmd, timeout=5):
        if self.unix:
            conn = socket.socket(socket.AF_UNIX)
            conn.settimeout(timeout)
            conn.connect(str(self.socket_path))
        else:
            conn = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        with conn as s:
            s.sendall(cmd)
            data = b""
            while not data.endswith(b"\0"):
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data

    def ping(self):
        try:
            return self.command(b"zPING\0", timeout=2) == b"PONG\0"
        except OSError:
            return False

    def start(self):
        self.write_config()
        return self.launch([CLAMD, f"--config-file={self.dir / 'clamd.conf'}"], "clamd.out", self.ping)

    def kill(self):
        """Kills clamd by PID, abruptly (SIGKILL), and waits until the port is closed."""
        super().kill()
        wait_for(lambda: not self.ping(), 10, what="clamd's port closed")

    def diagnostics(self):
        parts = []
        for name in ("clamd.out", "clamd.log"):
            p = self.dir / name
            if p.exists():
                parts.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
