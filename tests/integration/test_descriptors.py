"""Descriptors and signals (issue 14, item 5): rampart under a low open-file limit, and
with its log on a pipe whose reader has gone.

At a limit of 64 the server used to accept until accept(2) failed with EMFILE: new clients
got no greeting, transactions already in DATA got 452 because the spool could not open
its file, and `net.accept.failed` was logged every 100 ms. Now the soft limit is raised to
the hard one, the sessions admitted at once are sized against it (with a warning at
start), the acceptors wait while the server is full, and an accept failure backs off
with one log line per episode."""
import os
import resource
import select
import signal
import smtplib
import socket
import subprocess
import time

from conftest import DOMAIN, RAMPART_BIN, RawSMTP, free_port, port_accepts, wait_for


def limit_nofile(soft, hard):
    return lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_soft_limit_is_raised_to_the_hard_limit(rampart_factory):
    srv = rampart_factory(start=False)
    srv.preexec_fn = limit_nofile(64, 4096)
    srv.start()
    ev = wait_for(lambda: srv.log_events("server.descriptors"), what="server.descriptors")[0]
    assert (ev["limit"], ev["raised_from"]) == ("4096", "64"), ev
    # The default listener's 1000 connections (2 descriptors each) fit in 4096: no warning.
    assert not srv.log_events("server.descriptors.short"), srv.log_tail()
    assert int(ev["sessions"]) >= 1000, ev


def may_raise_hard_limit():
    """Root with CAP_SYS_RESOURCE (bit 24 of the effective capabilities)."""
    with open("/proc/self/status") as f:
        caps = next(int(l.split()[1], 16) for l in f if l.startswith("CapEff:"))
    return os.geteuid() == 0 and bool(caps & (1 << 24))


def test_max_open_files_raises_the_hard_limit(rampart_factory):
    # 10,000 connections need about 20,100 descriptors; a hard limit below that (here 1024)
    # is raised by rampart itself when it may (root with CAP_SYS_RESOURCE).
    if not may_raise_hard_limit():
        import pytest
        pytest.skip("raising the hard open-file limit needs CAP_SYS_RESOURCE")
    srv = rampart_factory(start=False, limits={"max_connections": 10000, "max_connections_per_source": 50},
                          server_keys={"max_open_files": 30000})
    srv.preexec_fn = limit_nofile(1024, 1024)
    srv.start()
    ev = wait_for(lambda: srv.log_events("server.descriptors"), what="server.descriptors")[0]
    assert (ev["limit"], ev["raised_from"]) == ("30000", "1024"), ev
    assert int(ev["sessions"]) == 10000, ev
    assert not srv.log_events("server.descriptors.short"), srv.log_tail()
    with open(f"/proc/{srv.proc.pid}/limits") as f:
        line = next(l for l in f if l.startswith("Max open files"))
    assert line.split()[3:5] == ["30000", "30000"], line


def test_max_open_files_it_may_not_set_is_reported(rampart_factory):
    # Without the privilege (or above fs.nr_open's reach) the server still starts, with the
    # limit it has, and says why it could not raise it.
    srv = rampart_factory(start=False, limits={"max_connections": 10000, "max_connections_per_source": 50},
                          server_keys={"max_open_files": 30000})
    srv.preexec_fn = limit_nofile(1024, 1024)
    if may_raise_hard_limit():
        import pytest
        pytest.skip("this process may raise the hard limit (CAP_SYS_RESOURCE): the other test covers it")
    srv.start()
    ev = wait_for(lambda: srv.log_events("server.descriptors"), what="server.descriptors")[0]
    assert ev["limit"] == "1024", ev
    unraised = srv.log_events("server.descriptors.unraised")
    assert len(unraised) == 1 and "server.max_open_files = 30000" in unraised[0]["error"], srv.log_tail()
    assert "CAP_SYS_RESOURCE" in unraised[0]["error"], unraised
    assert len(srv.log_events("server.descriptors.short")) == 1, srv.log_tail()
    with srv.raw() as c:
        assert c.read_reply()[0] == 220


def readable(sock):
    r, _, _ = select.select([sock], [], [], 0)
    return bool(r)


def test_low_limit_keeps_transactions_whole(rampart_factory):
    srv = rampart_factory(start=False, limits={"max_connections": 1000, "max_connections_per_source": 1000})
    srv.preexec_fn = limit_nofile(64, 64)
    srv.start()
    ev = wait_for(lambda: srv.log_events("server.descriptors"), what="server.descriptors")[0]
    capacity = int(ev["sessions"])
    assert 1 <= capacity < 30, ev
    short = srv.log_events("server.descriptors.short")
    assert len(short) == 1 and "max_connections" in short[0]["advice"], srv.log_tail()

    clients = []
    try:
        for _ in range(capacity + 10):
            clients.append(RawSMTP(srv.host, srv.port))
        # `capacity` clients are greeted; the others wait in the listen queue.
        greeted, waiting = [], list(clients)

        def greet_some():
            for c in list(waiting):
                if readable(c.sock):
                    code, _ = c.read_reply()
                    assert code == 220, code
                    waiting.remove(c)
                    greeted.append(c)
            return len(greeted) >= capacity
        wait_for(greet_some, timeout=10, what=f"{capacity} greetings")
        assert len(greeted) == capacity
        # Every admitted session opens a transaction and sits in DATA at once ...
        for i, c in enumerate(greeted):
            assert c.cmd("EHLO client.test")[0] == 250
            assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
            assert c.cmd(f"RCPT TO:<postmaster@{DOMAIN}>")[0] == 250
            assert c.cmd("DATA")[0] == 354
            c.send(f"Subject: in flight {i}\r\n\r\nbody\r\n")
        # ... while the clients beyond capacity have been told nothing (not accepted yet).
        assert not any(readable(c.sock) for c in waiting)
        # The spool still has descriptors: every one of them is committed.
        for c in greeted:
            c.send(".\r\n")
            code, text = c.read_reply()
            assert code == 250, (code, text, srv.log_tail())
        for c in greeted:
            assert c.cmd("QUIT")[0] == 221
            c.close()
        # Room again: the waiting clients are served in turn.
        for c in waiting:
            code, _ = c.read_reply(timeout=10)
            assert code == 220
            assert c.cmd("EHLO client.test")[0] == 250
            assert c.cmd("QUIT")[0] == 221
            c.close()
    finally:
        for c in clients:
            c.close()
    assert srv.running()
    assert not srv.log_events("net.accept.failed"), srv.log_tail()
    assert len(srv.log_events("net.accept.backoff")) <= 1, srv.log_tail()


def test_accept_failing_for_descriptors_backs_off_quietly(rampart_factory):
    """Descriptors taken by something the plan does not see: accept(2) fails with EMFILE.
    The acceptor backs off (100 ms growing to 1 s) and logs the episode once, not every
    100 ms, and serves the waiting client as soon as descriptors are free again."""
    srv = rampart_factory(start=False)
    srv.preexec_fn = limit_nofile(4096, 4096)
    srv.start()
    pid = srv.proc.pid
    # Settle first: a session (the start-up probe's) still open while we count would free
    # its descriptor later and end the shortage early.
    with RawSMTP(srv.host, srv.port) as probe:
        assert probe.read_reply()[0] == 220
        assert probe.cmd("QUIT")[0] == 221
        probe.read_until_closed()
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use, 4096))   # no descriptor left
    client = RawSMTP(srv.host, srv.port)
    try:
        wait_for(lambda: srv.log_events("net.accept.backoff"), what="net.accept.backoff")
        # Hold the shortage for a while: the old acceptor logged every 100 ms meanwhile.
        # (Not a timing assertion: the count below does not depend on how long this is.)
        time.sleep(1.5)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (4096, 4096))
        code, _ = client.read_reply(timeout=10)
        assert code == 220
        assert client.cmd("QUIT")[0] == 221
    finally:
        client.close()
    backoff = srv.log_events("net.accept.backoff")
    assert len(backoff) == 1 and "Too many open files" in backoff[0]["error"], srv.log_tail()
    resumed = wait_for(lambda: srv.log_events("net.accept.resumed"), what="net.accept.resumed")
    assert len(resumed) == 1 and int(resumed[0]["failures"]) >= 2, resumed
    assert not srv.log_events("net.accept.failed"), srv.log_tail()
    assert srv.running()


def test_closed_log_pipe_does_not_kill_the_server(tmp_path):
    """With the log on standard error and standard error a pipe whose reader has gone, the
    first log line used to raise SIGPIPE and kill the server."""
    from conftest import Rampart
    srv = Rampart(tmp_path / "pipe")
    text = "\n".join(l for l in srv.config_text().splitlines() if not l.startswith("log_file"))
    srv.config_path.write_text(text)
    proc = subprocess.Popen([RAMPART_BIN, "serve", "-c", str(srv.config_path)], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=str(srv.workdir))
    try:
        # Read the start-up lines until the server listens, then close our end.
        buf = b""
        deadline = time.monotonic() + 10
        while b"server.started" not in buf:
            assert time.monotonic() < deadline and proc.poll() is None, buf
            r, _, _ = select.select([proc.stderr], [], [], 0.2)
            if r:
                buf += proc.stderr.read1(65536)
        proc.stderr.close()
        wait_for(lambda: port_accepts(srv.host, srv.port), what="listener")
        # A transaction makes the server log (smtp.transaction and the delivery).
        with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
            c.sendmail("a@outside.test", [f"postmaster@{DOMAIN}"], "Subject: x\r\n\r\nbody\r\n")
        with smtplib.SMTP(srv.host, srv.port, timeout=10) as c:
            assert c.noop()[0] == 250
        wait_for(lambda: (srv.data_dir / "mail" / "postmaster" / "new").is_dir()
                 and any((srv.data_dir / "mail" / "postmaster" / "new").iterdir()), what="local delivery")
        assert proc.poll() is None, proc.returncode
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    assert proc.returncode == 0, proc.returncode
