"""A throwaway clamav-milter (Debian clamav-milter) in front of the tests' clamd (clamd.py):
its own configuration in a temporary directory, TCP on a free loopback port, in the
foreground, OnInfected Reject with RejectMsg "Virus found: %v" (Debian's default reply
names no virus), OnClean Accept; started here,
stopped by PID, ready when the port accepts."""
import shutil
import tempfile
from pathlib import Path

from conftest import free_port, port_accepts
from daemon import Daemon

CLAMAV_MILTER = shutil.which("clamav-milter") or "/usr/sbin/clamav-milter"
START_TIMEOUT = 30


class ClamavMilter(Daemon):
    name = "clamav-milter"
    start_timeout = START_TIMEOUT

    def __init__(self, clamd):
        self.clamd = clamd
        self.dir = Path(tempfile.mkdtemp(prefix="rampart-clamav-milter-"))
        self.port = free_port()
        self.address = f"inet:127.0.0.1:{self.port}"
        self.proc = None

    def write_config(self):
        d = self.dir
        (d / "tmp").mkdir(exist_ok=True)
        clamd = (f"unix:{self.clamd.socket_path}" if self.clamd.unix else f"tcp:127.0.0.1:{self.clamd.port}")
        (d / "clamav-milter.conf").write_text(f"""Foreground yes
MilterSocket inet:{self.port}@127.0.0.1
ClamdSocket {clamd}
PidFile {d}/clamav-milter.pid
TemporaryDirectory {d}/tmp
LogFile {d}/clamav-milter.log
LogInfected Full
OnInfected Reject
RejectMsg Virus found: %v
OnClean Accept
OnFail Defer
AddHeader No
ReadTimeout 30
""")

    def accepts(self):
        return port_accepts("127.0.0.1", self.port)

    def start(self):
        self.write_config()
        return self.launch([CLAMAV_MILTER, f"--config-file={self.dir / 'clamav-milter.conf'}"], "clamav-milter.out",
                           self.accepts)

    def diagnostics(self):
        parts = []
        for name in ("clamav-milter.out", "clamav-milter.log"):
            p = self.dir / name
            if p.exists():
                parts.append(f"--- {name}\n" + p.read_text(errors="replace")[-3000:])
        return "\n".join(parts)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
