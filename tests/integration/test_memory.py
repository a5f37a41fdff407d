"""Memory under a DATA flood (issue 14 item 4): message data streams to the spool's incoming
directory, so a server with many connections mid-DATA holds a buffer per connection, not the
messages. Large DATA and BDAT messages still arrive byte for byte.

The flood: 20 connections each send 34 MiB of DATA without the final dot (max_message_size
is 35 MiB). Before streaming, the server's RSS went from ~30 MB to ~1 GB.
"""
import socket
import threading

from conftest import DOMAIN, queued_id, wait_for

MiB = 1024 * 1024
CONNECTIONS = 20
FLOOD_BYTES = 34 * MiB
RSS_BOUND = 300 * 1000 * 1000  # generous: the buffers of 20 sessions are a few MB
BLOCK = (b"x" * 1022 + b"\r\n") * 1024  # 1 MiB of 1024-byte lines


def vm_status(pid, key):
    """VmRSS (resident now) or VmHWM (peak resident) of a process, in bytes."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {key} in /proc/{pid}/status")


def vm_rss(pid):
    return vm_status(pid, "VmRSS")


def tcp_queues():
    """{(local port, remote port): (send queue, receive queue)} of this namespace's IPv4 TCP sockets."""
    out = {}
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            local = int(parts[1].split(":")[1], 16)
            remote = int(parts[2].split(":")[1], 16)
            tx, rx = (int(x, 16) for x in parts[4].split(":"))
            out[(local, remote)] = (tx, rx)
    return out


def server_has_read_everything(server_port, client_ports):
    """True when nothing sent on the clients' connections waits in a socket buffer: the server
    has read it all (whatever it did with it)."""
    q = tcp_queues()
    for p in client_ports:
        client_side, server_side = q.get((p, server_port)), q.get((server_port, p))
        if client_side is None or server_side is None or client_side[0] != 0 or server_side[1] != 0:
            return False
    return True


def open_data(r, rcpt):
    c = r.raw(timeout=60)
    assert c.read_reply()[0] == 220
    assert c.cmd("EHLO client.test")[0] == 250
    assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
    assert c.cmd(f"RCPT TO:<{rcpt}>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    return c


def test_data_flood_memory_is_bounded(rampart_factory):
    r = rampart_factory(limits={"max_message_size": "35MiB"})
    rss_idle = vm_rss(r.proc.pid)
    clients = [open_data(r, f"flood{i}@{DOMAIN}") for i in range(CONNECTIONS)]
    try:
        errors = []

        def flood(c):
            try:
                c.send(b"Subject: flood\r\n\r\n")
                for _ in range(FLOOD_BYTES // len(BLOCK)):
                    c.sock.sendall(BLOCK)
            except OSError as e:
                errors.append(e)

        threads = [threading.Thread(target=flood, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert not any(t.is_alive() for t in threads), "flood did not finish sending"
        assert not errors, errors
        ports = [c.sock.getsockname()[1] for c in clients]
        wait_for(lambda: server_has_read_everything(r.port, ports), timeout=120,
                 what="the server to read every connection's data")
        rss, peak = vm_rss(r.proc.pid), vm_status(r.proc.pid, "VmHWM")
        print(f"\nVmRSS idle {rss_idle / MiB:.1f} MiB; with {CONNECTIONS} x {FLOOD_BYTES // MiB} MiB mid-DATA "
              f"{rss / MiB:.1f} MiB (peak {peak / MiB:.1f} MiB)")
        assert rss < RSS_BOUND, f"VmRSS {rss / MiB:.0f} MiB with {CONNECTIONS} connections mid-DATA"
        assert peak < RSS_BOUND, f"VmHWM {peak / MiB:.0f} MiB with {CONNECTIONS} connections mid-DATA"
        # The data is on disk instead, one file per connection, never acknowledged.
        incoming = r.data_dir / "spool" / "incoming"
        assert len(list(incoming.iterdir())) == CONNECTIONS
        assert r.spool_count() == 0
    finally:
        for c in clients:
            c.close()
    incoming = r.data_dir / "spool" / "incoming"
    wait_for(lambda: not any(incoming.iterdir()), timeout=30, what="incoming files to be removed")
    assert r.spool_count() == 0
    aborted = [e for e in r.log_events("smtp.transaction") if e.get("result") == "aborted"]
    assert len(aborted) == CONNECTIONS
    # And the server still takes mail.
    with open_data(r, f"after@{DOMAIN}") as c:
        c.send(b"Subject: after\r\n\r\nok\r\n.\r\n")
        assert c.read_reply()[0] == 250


def test_large_data_and_bdat_messages_arrive_intact(rampart_factory):
    r = rampart_factory(limits={"max_message_size": "35MiB"})
    # Lines of every length up to 998, dot-led lines, distinct content: a lost, repeated or
    # reordered spill chunk would show.
    lines = []
    i = 0
    size = 0
    while size < 5 * MiB:
        line = (b"." if i % 7 == 0 else b"") + (b"%d:" % i) + bytes(((i * 31 + k) % 26) + 97 for k in range(i % 998))
        line = line[:998] + b"\r\n"
        lines.append(line)
        size += len(line)
        i += 1
    body = b"Subject: big\r\n\r\n" + b"".join(lines)
    stuffed = b"".join((b"." + l if l.startswith(b".") else l) for l in lines)

    with open_data(r, f"bigdata@{DOMAIN}") as c:
        c.send(b"Subject: big\r\n\r\n" + stuffed + b".\r\n")
        code, text = c.read_reply()
        assert code == 250, text
        data_qid = queued_id(text[0])

    with r.raw(timeout=60) as c:
        assert c.read_reply()[0] == 220
        assert c.cmd("EHLO client.test")[0] == 250
        assert c.cmd("MAIL FROM:<a@outside.test>")[0] == 250
        assert c.cmd(f"RCPT TO:<bigbdat@{DOMAIN}>")[0] == 250
        step = 1_000_003  # chunks that split lines and CRLFs anywhere
        for off in range(0, len(body), step):
            chunk = body[off:off + step]
            last = off + step >= len(body)
            c.send(b"BDAT %d%s\r\n" % (len(chunk), b" LAST" if last else b"") + chunk)
            code, text = c.read_reply()
            assert code == 250, text
        bdat_qid = queued_id(text[0])

    for local, qid in (("bigdata", data_qid), ("bigbdat", bdat_qid)):
        [stored] = wait_for(lambda: r.maildir_messages(local), 30, what=f"delivery to {local}\n" + r.log_tail())
        assert stored.endswith(body), f"{local}: {len(stored)} bytes stored"
        assert (b"id " + qid.encode()) in stored
    assert not any((r.data_dir / "spool" / "incoming").iterdir())


def test_disk_space_is_given_back_when_the_message_is_too_big(rampart_factory):
    r = rampart_factory(limits={"max_message_size": "2MiB"})
    with open_data(r, f"toobig@{DOMAIN}") as c:
        c.send(b"Subject: big\r\n\r\n")
        for _ in range(3):
            c.sock.sendall(BLOCK)
        c.send(b".\r\n")
        code, text = c.read_reply()
        assert code == 552, text
    assert not any((r.data_dir / "spool" / "incoming").iterdir())
    assert r.spool_count() == 0


def test_incoming_files_left_by_a_crash_are_removed_at_start(rampart_factory):
    r = rampart_factory(limits={"max_message_size": "35MiB"})
    incoming = r.data_dir / "spool" / "incoming"
    c = open_data(r, f"crash@{DOMAIN}")
    try:
        c.send(b"Subject: crash\r\n\r\n")
        for _ in range(4):
            c.sock.sendall(BLOCK)
        port = c.sock.getsockname()[1]
        wait_for(lambda: server_has_read_everything(r.port, [port]), timeout=60, what="the server to read the data")
        [debris] = list(incoming.iterdir())
        r.kill9()
    finally:
        c.close()
    assert debris.exists() and debris.stat().st_size > 0
    r.start()
    assert not any(incoming.iterdir())
    [ev] = r.log_events("spool.recover.incoming")
    assert ev["files"] == "1"
    assert r.spool_count() == 0
