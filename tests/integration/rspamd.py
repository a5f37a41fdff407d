"""A real rspamd for the tests (Debian package `rspamd`, installed by scripts/deps.sh test):
one normal worker on 127.0.0.1:<free port> (HTTP /checkv2), its own top-level config in a
temporary directory that includes the stock rules from /etc/rspamd, with every module that
would reach the internet or needs redis turned off and its DNS pointed at a loopback port
nobody answers on (fast failures, no leak). A deterministic local rule scores 9.0 on a body
marker (MARKER). Learned from shared/recipes/rspamd.sh.

    r = Rspamd(tmp_dir).start(); r.address  # "127.0.0.1:PORT"; r.stop(); r.start() again

Pitfalls: the first start compiles hyperscan databases (~13 s on an idle machine, minutes on a
busy one, ~1.2 GB); they are cached in
$RSPAMD_HS_CACHE (default ~/.cache/rampart-test-rspamd-hs), so later starts take ~1-2 s.
As root rspamd needs -i (workers keep the current user). Stopped by PID (the main process,
which stops its workers)."""
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import free_port

# GTUBE, assembled at run time so this file is not itself spam.
GTUBE = b"XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-" + b"ANTI-UBE-TEST-EMAIL*C.34X"
# A body marker the local rule MTA_TEST_SPAM_MARKER scores 9.0: with rspamd's required_score 15
# a business message carrying it scores about 8.9, SCL 5 (floor(9 x 8.9 / 15)); without it, SCL 0.
MARKER = b"RAMPART-TEST-SPAM-MARKER-4b7d"

OFF_MODULES = ("rbl surbl phishing fuzzy_check asn rspamd_update multimap mid url_redirector neural reputation "
               "ratelimit greylist dcc spamassassin external_services antivirus metadata_exporter clickhouse elastic "
               "history_redis bimi replies mx_check p0f whitelist").split()


def binary():
    return shutil.which("rspamd") or next((p for p in ("/usr/bin/rspamd",) if Path(p).exists()), None)


class Rspamd:
    def __init__(self, workdir):
        self.dir = Path(workdir)
        self.port = free_port()
        self.proc = None

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def write_config(self):
        d = self.dir
        for sub in ("local.d", "run", "db", "log", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        cache = Path(os.environ.get("RSPAMD_HS_CACHE", Path.home() / ".cache" / "rampart-test-rspamd-hs"))
        cache.mkdir(parents=True, exist_ok=True)
        (d / "rspamd.conf").write_text(f"""
.include "$CONFDIR/common.conf"
options {{
    pidfile = "$RUNDIR/rspamd.pid";
    .include "$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}}
logging {{
    type = "file";
    filename = "$LOGDIR/rspamd.log";
    level = "info";
}}
worker "normal" {{
    bind_socket = "127.0.0.1:{self.port}";
    count = 1;
    .include "$CONFDIR/worker-normal.inc"
}}
""")
        (d / "local.d" / "options.inc").write_text(f"""
dns {{
    nameserver = ["127.0.0.1:{free_port()}"];
    timeout = 1s;
    retransmits = 1;
}}
tempdir = "{d / 'tmp'}";
hs_cache_dir = "{cache}/";
local_addrs = [];
""")
        for m in OFF_MODULES:
            (d / "local.d" / f"{m}.conf").write_text("enabled = false;\n")
        (d / "local.d" / "regexp.conf").write_text(f"""
MTA_TEST_SPAM_MARKER {{
    re = "/{MARKER.decode()}/i{{body}}";
    score = 9.0;
    description = "rampart test marker";
}}
""")

    def start(self, timeout=300):
        exe = binary()
        if not exe:
            pytest.skip("rspamd is not installed (scripts/deps.sh test installs it)")
        self.write_config()
        d = self.dir
        cmd = [exe, "-f"] + (["-i"] if os.geteuid() == 0 else []) + [
            "-c", str(d / "rspamd.conf"), "--var=CONFDIR=/etc/rspamd", f"--var=LOCAL_CONFDIR={d}",
            f"--var=RUNDIR={d / 'run'}", f"--var=DBDIR={d / 'db'}", f"--var=LOGDIR={d / 'log'}"]
        out = open(d / "rspamd.out", "ab")
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        deadline = time.monotonic() + timeout
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() >= deadline:
                self.stop()
                raise AssertionError(f"rspamd did not answer /ping within {timeout}s:\n{self.logs()}")
            time.sleep(0.1)
        return self

    def ping(self):
        try:
            with urllib.request.urlopen(f"http://{self.address}/ping", timeout=2) as r:
                return r.read().strip() == b"pong"
        except OSError:
            return False

    def logs(self):
        return "\n".join((self.dir / f).read_text(errors="replace")[-4000:]
                         for f in ("rspamd.out", "log/rspamd.log") if (self.dir / f).exists())

    def stop(self):
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
