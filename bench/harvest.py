#!/usr/bin/env python3
"""Directory-harvest rate against the recipient filter's tarpit (issue 9): one connection
probes N unknown addresses of an authoritative domain (RCPT TO, each refused 550 5.1.1)
and we count addresses per minute, with tarpit = "0s" and tarpit = "5s".
Usage: RAMPART_BIN=build/rampart bench/harvest.py [PROBES_0S] [PROBES_5S]   (defaults 500 and 10;
loopback only; prints a Markdown table)."""
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))
from conftest import DOMAIN, RAMPART_BIN, Rampart  # noqa: E402


def probe_rate(tarpit, probes, workdir):
    # max_errors raised: by default the 10th refusal closes the session (421 4.7.0).
    srv = Rampart(workdir, listener_keys={"filters": True}, limits={"max_errors": 1000},
                  extra_config=f'[recipient_filter]\nlookup = true\ntarpit = "{tarpit}"\n')
    subprocess.run([RAMPART_BIN, "user", "add", "alice", "--address", f"alice@{DOMAIN}", "-c", str(srv.config_path)],
                   input="alice-secret\n", text=True, capture_output=True, check=True, timeout=30)
    srv.start()
    try:
        with smtplib.SMTP(srv.host, srv.port, timeout=120) as c:
            c.ehlo("harvester.test")
            assert c.mail("probe@outside.test")[0] == 250
            start = time.monotonic()
            for i in range(probes):
                code, _ = c.rcpt(f"guess{i}@{DOMAIN}")
                assert code == 550, code
            elapsed = time.monotonic() - start
    finally:
        srv.stop()
    return elapsed, probes / elapsed * 60


def main():
    counts = {"0s": int(sys.argv[1]) if len(sys.argv) > 1 else 500, "5s": int(sys.argv[2]) if len(sys.argv) > 2 else 10}
    print(f"| tarpit | probes | seconds | addresses per minute (one connection) |")
    print(f"| --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for tarpit, probes in counts.items():
            elapsed, rate = probe_rate(tarpit, probes, Path(tmp) / tarpit)
            print(f"| {tarpit} | {probes} | {elapsed:.2f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
