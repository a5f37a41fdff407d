"""An authoritative DNS server for the tests: NSD (Debian package `nsd`, installed by
scripts/deps.sh test) on 127.0.0.1:<free port>, serving the zones it is given.

    with nsd.serve(tmp_dir, {"mx.test": ZONE_TEXT}) as port: ...

NSD runs in the foreground (-d) so the process started here is the one stopped, by PID."""
import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import free_port, port_accepts


def binary():
    return shutil.which("nsd") or next((p for p in ("/usr/sbin/nsd",) if Path(p).exists()), None)


@contextlib.contextmanager
def serve(d: Path, zones: dict, address="127.0.0.1"):
    """Starts NSD authoritative for `zones` (name -> zone file text) in directory `d`;
    yields the UDP/TCP port on `address` (127.0.0.1; the perimeter test gives an address of
    its internet namespace). Skips the test when nsd is not installed."""
    nsd = binary()
    if not nsd:
        pytest.skip("nsd is not installed (scripts/deps.sh test installs it)")
    port = free_port(address)
    zone_conf = ""
    for name, text in zones.items():
        (d / f"{name}.zone").write_text(text)
        zone_conf += f'zone:\n    name: "{name}"\n    zonefile: "{name}.zone"\n'
    (d / "nsd.conf").write_text(f"""server:
    ip-address: {address}@{port}
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "{d}"
    database: ""
    zonelistfile: "{d}/zone.list"
    xfrdfile: "{d}/xfrd.state"
    xfrdir: "{d}"
    pidfile: "{d}/nsd.pid"
    logfile: "{d}/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
remote-control:
    control-enable: no
{zone_conf}""")
    out = open(d / "nsd.out", "wb")
    # -d: stay in the foreground, so proc.pid is the process to stop
    proc = subprocess.Popen([nsd, "-d", "-c", str(d / "nsd.conf")], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    out.close()
    try:
        deadline = time.monotonic() + 10
        while not port_accepts(address, port):
            if proc.poll() is not None or time.monotonic() >= deadline:
                logs = [(d / f).read_text(errors="replace") for f in ("nsd.out", "nsd.log") if (d / f).exists()]
                raise AssertionError("nsd did not start within 10s:\n" + "\n".join(logs))
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
