"""rampart under systemd: the notification protocol (Type=notify) read from a real datagram
socket, the unit file checked by systemd-analyze, and SIGUSR1 reopening the log file."""
import os
import signal
import socket
import subprocess
import uuid

import pytest

from conftest import REPO, RAMPART_BIN, wait_for


def read_states(sock, want, timeout=10.0):
    """Datagrams from rampart until one carries the assignment `want` (e.g. "READY=1");
    returns every datagram read, each as a dict of its assignments."""
    sock.settimeout(timeout)
    got = []
    while True:
        try:
            data = sock.recv(4096)
        except socket.timeout:
            raise AssertionError(f"no {want} within {timeout}s; received {got}")
        fields = dict(line.split("=", 1) for line in data.decode().split("\n") if "=" in line)
        got.append(fields)
        k, v = want.split("=", 1)
        if fields.get(k) == v:
            return got


def notify_env(address):
    env = dict(os.environ)
    env["NOTIFY_SOCKET"] = address
    return env


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_ready_reloading_stopping(rampart_factory, tmp_path, abstract):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "rampart-test-" + uuid.uuid4().hex
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        sock.bind(address)
    try:
        srv = rampart_factory(start=False)
        srv.env = notify_env(address)
        srv.start()
        ready = read_states(sock, "READY=1")[-1]
        assert "STATUS" in ready
        # By READY=1 the listeners are bound: a client is answered.
        with srv.raw() as c:
            assert c.read_reply()[0] == 220

        srv.proc.send_signal(signal.SIGHUP)
        states = read_states(sock, "RELOADING=1")
        assert int(states[-1]["MONOTONIC_USEC"]) > 0
        read_states(sock, "READY=1")

        srv.proc.send_signal(signal.SIGTERM)
        read_states(sock, "STOPPING=1")
        srv.proc.wait(timeout=10)
        assert srv.proc.returncode == 0
    finally:
        sock.close()


def test_no_notify_socket_is_fine(rampart_factory):
    srv = rampart_factory(start=False)
    srv.env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    srv.start()
    with srv.raw() as c:
        assert c.read_reply()[0] == 220


def test_unit_file_verifies(tmp_path):
    """dist/rampart.service passes systemd-analyze verify (systemd is in test_pkgs), with
    ExecStart pointed at the binary under test."""
    unit = (REPO / "dist" / "rampart.service").read_text()
    assert "Type=notify" in unit
    for needed in ("ProtectSystem=strict", "PrivateTmp=yes", "NoNewPrivileges=yes", "ProtectHome=yes",
                   "CapabilityBoundingSet=CAP_NET_BIND_SERVICE", "RestrictAddressFamilies=", "LimitNOFILE=",
                   "ExecReload=/bin/kill -HUP $MAINPID"):
        assert needed in unit, needed
    (tmp_path / "rampart.service").write_text(unit.replace("/usr/local/bin/rampart", RAMPART_BIN))
    # Documentation=man:rampart(8) man:rampart.toml(5) must resolve: the pages the binary writes.
    subprocess.run([RAMPART_BIN, "settings", "--man-dir", str(tmp_path / "man")], check=True, timeout=30)
    p = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "rampart.service")],
                       capture_output=True, text=True, timeout=60, env={**os.environ, "MANPATH": str(tmp_path / "man")})
    assert p.returncode == 0 and "rampart.service" not in p.stderr, p.stdout + p.stderr


def refused_rcpt(srv):
    """One relay attempt from 127.0.0.1 (not on the relay list): logged smtp.rcpt.refused."""
    with srv.raw() as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@elsewhere.test>")[0] == 250
        assert c.cmd("RCPT TO:<b@far.test>")[0] >= 500
        c.cmd("QUIT")


def test_sigusr1_reopens_log_file(rampart_factory):
    srv = rampart_factory()
    refused_rcpt(srv)
    wait_for(lambda: srv.log_events("smtp.rcpt.refused"), what="smtp.rcpt.refused in the log")
    rotated = srv.log_path.with_name("rampart.log.1")
    os.rename(srv.log_path, rotated)   # what logrotate does
    srv.proc.send_signal(signal.SIGUSR1)
    wait_for(lambda: srv.log_events("log.reopened"), what="log.reopened in a new file by the old name")
    refused_rcpt(srv)
    wait_for(lambda: srv.log_events("smtp.rcpt.refused"), what="the next session's lines in the new file")
    assert srv.running()
    old = rotated.read_text()
    assert "log.reopened" not in old and old.count("smtp.rcpt.refused") == 1   # nothing more went to the renamed file
