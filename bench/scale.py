#!/usr/bin/env python3
"""bench/scale.py — many idle and slow connections on one server, and a newcomer's service.

Against one SMTP server (started by bench/scale.sh) this opens
  * IDLE connections that read their 220 greeting and then say nothing,
  * SLOW connections that read their greeting and then send one byte every SLOW_EVERY
    seconds: half of them dribble a command line that never ends ("EHLO xxxx..."), the
    other half reach DATA and dribble message data,
  * EXTRA connections from one of the slow clients' addresses, beyond the per-source
    limit (they must be refused with 421 at once),
each from loopback source addresses in 127.1.0.0/16 with at most PER_SOURCE connections
per address (so that the server's per-source limit applies per address, as it would on
the Internet). While all of that is open, a probe client from 127.0.0.1 connects every
PROBE_EVERY seconds and sends one 1 KiB message: its connect-to-greeting time and its
end-of-data-to-250 time (and the whole dialogue) are recorded.

It samples the server's VmRSS before and after the idle connections (memory per idle
connection), and reports what happened to the slow clients: how many were closed by the
server, with which reply, and how long after they connected (the command timeout, the
data timeout). Prints a JSON object on stdout; progress on stderr.

All waits are bounded; the run lasts about DURATION seconds after everything is open.
"""
import argparse
import asyncio
import ipaddress
import json
import os
import resource
import sys
import time

T0 = time.monotonic()


def say(*a):
    print(f"[scale {time.monotonic() - T0:7.1f}s]", *a, file=sys.stderr, flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def open_fds(pid):
    """Descriptors the server holds now (/proc/PID/fd)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def sources(base, per_source):
    """Endless source addresses 127.1.0.1, ... each handed out per_source times."""
    a = int(ipaddress.IPv4Address(base))
    while True:
        a += 1
        for _ in range(per_source):
            yield str(ipaddress.IPv4Address(a))


async def read_reply(reader, timeout):
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ConnectionError("closed")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return int(lines[-1][:3]), b"".join(lines).decode("ascii", "replace").strip()


async def open_greeted(args, src):
    r, w = await asyncio.wait_for(asyncio.open_connection(args.host, args.port, local_addr=(src, 0)), args.timeout)
    code, text = await read_reply(r, args.timeout)
    return r, w, code, text


class Slow:
    def __init__(self):
        self.closed_with = {}    # first reply line's code+status -> count
        self.closed_after = []   # seconds from connect to close
        self.open = 0
        self.failed_to_open = 0


async def slow_client(args, src, in_data, slow, stop):
    try:
        r, w, code, _ = await open_greeted(args, src)
    except (OSError, asyncio.TimeoutError, ConnectionError):
        slow.failed_to_open += 1
        return
    if code != 220:
        slow.failed_to_open += 1
        w.close()
        return
    t_open = time.monotonic()
    slow.open += 1
    try:
        if in_data:
            for cmd, want in ((b"EHLO slow.bench.test", 250), (b"MAIL FROM:<slow@bench.test>", 250),
                              (b"RCPT TO:<rcpt@relay.test>", 250), (b"DATA", 354)):
                w.write(cmd + b"\r\n")
                c, t = await read_reply(r, args.timeout)
                if c != want:
                    raise ConnectionError(f"{cmd!r}: {t}")
            payload = b"Subject: slow\r\n\r\n" + b"y" * 100000
        else:
            payload = b"EHLO " + b"x" * 100000
        # stagger the clients over the interval
        await asyncio.sleep(args.slow_every * (hash(src) % 1000) / 1000.0)
        i = 0
        while not stop.is_set():
            w.write(payload[i:i + 1])
            i += 1
            try:
                line = await asyncio.wait_for(r.readline(), args.slow_every)
            except asyncio.TimeoutError:
                continue
            key = line[:9].decode("ascii", "replace").strip() if line else "EOF"
            slow.closed_with[key] = slow.closed_with.get(key, 0) + 1
            slow.closed_after.append(time.monotonic() - t_open)
            break
    except (OSError, ConnectionError, asyncio.TimeoutError) as e:
        key = f"error {type(e).__name__}"
        slow.closed_with[key] = slow.closed_with.get(key, 0) + 1
        slow.closed_after.append(time.monotonic() - t_open)
    finally:
        slow.open -= 1
        w.close()


async def probe(args):
    """One newcomer: connect, greeting, EHLO, MAIL, RCPT, DATA, 1 KiB, 250. Times in ms."""
    t0 = time.monotonic()
    out = {}
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection(args.host, args.port, local_addr=(args.probe_source, 0)), args.timeout)
        code, text = await read_reply(r, args.timeout)
        out["greeting_ms"] = round((time.monotonic() - t0) * 1000, 2)
        if code != 220:
            out["error"] = f"greeting {text}"
            w.close()
            return out
        for cmd, want in ((b"EHLO probe.bench.test", 250), (b"MAIL FROM:<probe@bench.test>", 250),
                          (b"RCPT TO:<rcpt@relay.test>", 250), (b"DATA", 354)):
            w.write(cmd + b"\r\n")
            c, t = await read_reply(r, args.timeout)
            if c != want:
                out["error"] = f"{cmd.decode()}: {t}"
                w.close()
                return out
        w.write(b"Subject: probe\r\n\r\n" + (b"z" * 78 + b"\r\n") * 13)
        t1 = time.monotonic()
        w.write(b".\r\n")
        c, t = await read_reply(r, args.timeout)
        t2 = time.monotonic()
        out["eod_to_250_ms"] = round((t2 - t1) * 1000, 2)
        out["total_ms"] = round((t2 - t0) * 1000, 2)
        if c != 250:
            out["error"] = f"end of data: {t}"
        w.write(b"QUIT\r\n")
        w.close()
    except (OSError, ConnectionError, asyncio.TimeoutError) as e:
        out["error"] = repr(e)
    return out


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--pid", type=int, required=True, help="the server's PID (for VmRSS)")
    ap.add_argument("--idle", type=int, default=10000)
    ap.add_argument("--slow", type=int, default=2000)
    ap.add_argument("--slow-every", type=float, default=10.0)
    ap.add_argument("--extra", type=int, default=20, help="connections beyond the per-source limit")
    ap.add_argument("--per-source", type=int, default=50)
    ap.add_argument("--probe-every", type=float, default=5.0)
    ap.add_argument("--probe-source", default="127.0.0.1")
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--open-parallel", type=int, default=200)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle + args.slow + args.extra + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    result = {"idle": args.idle, "slow": args.slow, "slow_every_s": args.slow_every, "per_source": args.per_source}

    baseline = [await probe(args) for _ in range(3)]
    result["probe_before"] = baseline
    await asyncio.sleep(1.0)
    rss0 = rss_kib(args.pid)

    # idle connections, opened a batch at a time
    src = sources("127.1.0.0", args.per_source)
    idle, idle_bad = [], 0
    sem = asyncio.Semaphore(args.open_parallel)

    async def one_idle(s):
        nonlocal idle_bad
        async with sem:
            try:
                r, w, code, _ = await open_greeted(args, s)
            except (OSError, asyncio.TimeoutError, ConnectionError) as e:
                idle_bad += 1
                if idle_bad <= 3:
                    say("idle connection failed:", repr(e))
                return
            if code != 220:
                idle_bad += 1
                w.close()
                return
            idle.append((r, w))
    t = time.monotonic()
    await asyncio.gather(*(one_idle(next(src)) for _ in range(args.idle)))
    result["idle_open_s"] = round(time.monotonic() - t, 1)
    result["idle_greeted"] = len(idle)
    result["idle_failed"] = idle_bad
    await asyncio.sleep(2.0)
    rss1 = rss_kib(args.pid)
    result["rss_before_kib"] = rss0
    result["rss_idle_kib"] = rss1
    result["kib_per_idle_connection"] = round((rss1 - rss0) / max(1, len(idle)), 2)
    say(f"{len(idle)} idle connections open ({idle_bad} failed); VmRSS {rss0} -> {rss1} KiB")

    # slow clients, on their own source addresses
    slow = Slow()
    stop = asyncio.Event()
    slow_src = sources("127.2.0.0", args.per_source)
    slow_addrs = []
    tasks = []
    for i in range(args.slow):
        s = next(slow_src)
        slow_addrs.append(s)
        tasks.append(asyncio.create_task(slow_client(args, s, i % 2 == 1, slow, stop)))
        if i % args.open_parallel == args.open_parallel - 1:
            await asyncio.sleep(0.2)
    for _ in range(int(args.timeout * 10)):
        if slow.open + slow.failed_to_open + len(slow.closed_after) >= args.slow:
            break
        await asyncio.sleep(0.1)
    say(f"{slow.open} slow clients open ({slow.failed_to_open} failed to open)")

    # beyond the per-source limit: from the first slow client's address
    extra_codes = {}
    for _ in range(args.extra):
        try:
            r, w, code, text = await open_greeted(args, slow_addrs[0])
            key = text.splitlines()[0][:9] if text else str(code)
            extra_codes[key] = extra_codes.get(key, 0) + 1
            w.close()
        except (OSError, asyncio.TimeoutError, ConnectionError) as e:
            extra_codes[type(e).__name__] = extra_codes.get(type(e).__name__, 0) + 1
    result["beyond_per_source_limit"] = extra_codes
    result["rss_all_open_kib"] = rss_kib(args.pid)
    result["fds_all_open"] = open_fds(args.pid)

    # probes while everything is open
    probes = []
    t_end = time.monotonic() + args.duration
    while time.monotonic() < t_end:
        p = await probe(args)
        p["at_s"] = round(time.monotonic() - T0, 1)
        p["slow_open"] = slow.open
        probes.append(p)
        say("probe:", p)
        await asyncio.sleep(args.probe_every)
    result["probes"] = probes
    result["rss_end_kib"] = rss_kib(args.pid)
    stop.set()
    await asyncio.wait(tasks, timeout=args.slow_every + 5)
    result["slow_opened"] = args.slow - slow.failed_to_open
    result["slow_failed_to_open"] = slow.failed_to_open
    result["slow_closed_by_server"] = dict(sorted(slow.closed_with.items()))
    ca = sorted(slow.closed_after)
    if ca:
        result["slow_closed_after_s"] = {"min": round(ca[0], 1), "median": round(ca[len(ca) // 2], 1), "max": round(ca[-1], 1)}
    # the idle ones: still open? (a server with a command timeout closes them too)
    still = 0
    idle_closed_with = {}
    for r, w in idle:
        try:
            line = await asyncio.wait_for(r.readline(), 0.01)
        except asyncio.TimeoutError:
            still += 1   # nothing from the server: still open
        except (OSError, ConnectionError):
            idle_closed_with["reset"] = idle_closed_with.get("reset", 0) + 1
        else:
            key = line[:9].decode("ascii", "replace").strip() if line else "EOF"
            idle_closed_with[key] = idle_closed_with.get(key, 0) + 1
        w.close()
    result["idle_closed_by_server"] = idle_closed_with
    result["idle_still_open_at_end"] = still
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    asyncio.run(main())
