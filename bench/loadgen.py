#!/usr/bin/env python3
"""bench/loadgen.py — an SMTP load client that records per-message latency.

Drives N parallel sessions against one SMTP server (like smtp-source) and, for every
message, measures the time from sending the end of data (CRLF.CRLF) to reading the
server's 250 reply: the part of a transaction in which a durable server makes the
message safe. Prints one line of key=value figures (count, rate, p50/p90/p99/max in
milliseconds); --json writes them as JSON as well.

Usage:
  bench/loadgen.py --port 25 --sessions 50 --messages 2000 --size 1024
Options: --host (127.0.0.1), --per-connection K (messages per connection, default 1 as
smtp-source does), --sources 127.0.0.2-127.0.0.200 (bind each session to one of these
loopback source addresses in turn, so that per-source limits of the server apply per
address), --rcpt, --sender, --json FILE.

Every wait is bounded (--timeout, 60 s): a server that stops answering ends the run with
an error instead of a hang. Exit status 1 if any message was not accepted with 250.
"""
import argparse
import asyncio
import ipaddress
import json
import sys
import time


def parse_sources(spec):
    if not spec:
        return [None]
    first, _, last = spec.partition("-")
    a = int(ipaddress.IPv4Address(first))
    b = int(ipaddress.IPv4Address(last or first))
    return [str(ipaddress.IPv4Address(i)) for i in range(a, b + 1)]


async def read_reply(reader, timeout):
    """One complete (possibly multi-line) reply; returns (code, text)."""
    lines = []
    while True:
        line = await asyncio.wait_for(reader.readline(), timeout)
        if not line:
            raise ConnectionError("connection closed by the server")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            break
    return int(lines[-1][:3]), b"".join(lines)


class Stats:
    def __init__(self):
        self.latencies = []  # seconds, end of data -> 250
        self.failed = 0
        self.errors = []


def body_of(size):
    # Lines of 78 characters plus CRLF, total about `size` bytes (headers included).
    header = b"From: <sender@bench.test>\r\nTo: <rcpt@relay.test>\r\nSubject: loadgen\r\n\r\n"
    line = b"x" * 78 + b"\r\n"
    n = max(0, size - len(header)) // len(line) + 1
    return header + line * n


async def session(idx, args, queue, stats, sources, message):
    src = sources[idx % len(sources)]
    while True:
        try:
            batch = queue.get_nowait()
        except asyncio.QueueEmpty:
            return
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(args.host, args.port, local_addr=(src, 0) if src else None),
                args.timeout)
        except (OSError, asyncio.TimeoutError) as e:
            stats.failed += batch
            stats.errors.append(f"connect from {src}: {e!r}")
            continue
        try:
            code, text = await read_reply(reader, args.timeout)
            if code != 220:
                raise RuntimeError(f"greeting {text!r}")
            writer.write(b"EHLO loadgen.bench.test\r\n")
            code, text = await read_reply(reader, args.timeout)
            if code != 250:
                raise RuntimeError(f"EHLO {text!r}")
            for _ in range(batch):
                writer.write(f"MAIL FROM:<{args.sender}>\r\n".encode())
                code, text = await read_reply(reader, args.timeout)
                if code != 250:
                    raise RuntimeError(f"MAIL {text!r}")
                writer.write(f"RCPT TO:<{args.rcpt}>\r\n".encode())
                code, text = await read_reply(reader, args.timeout)
                if code != 250:
                    raise RuntimeError(f"RCPT {text!r}")
                writer.write(b"DATA\r\n")
                code, text = await read_reply(reader, args.timeout)
                if code != 354:
                    raise RuntimeError(f"DATA {text!r}")
                writer.write(message)
                await writer.drain()
                t0 = time.perf_counter()
                writer.write(b".\r\n")
                code, text = await read_reply(reader, args.timeout)
                t1 = time.perf_counter()
                if code != 250:
                    raise RuntimeError(f"end of data {text!r}")
                stats.latencies.append(t1 - t0)
                batch -= 1
            writer.write(b"QUIT\r\n")
            await asyncio.wait_for(read_reply(reader, args.timeout), args.timeout)
        except (OSError, ConnectionError, RuntimeError, asyncio.TimeoutError, ValueError) as e:
            stats.failed += batch
            if len(stats.errors) < 20:
                stats.errors.append(repr(e))
        finally:
            writer.close()


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = min(len(sorted_values) - 1, max(0, int(round(p / 100.0 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[k]


async def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--per-connection", type=int, default=1)
    ap.add_argument("--sources", default="")
    ap.add_argument("--sender", default="sender@bench.test")
    ap.add_argument("--rcpt", default="rcpt@relay.test")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json", default="")
    args = ap.parse_args()

    queue = asyncio.Queue()
    left = args.messages
    while left > 0:
        k = min(left, args.per_connection)
        queue.put_nowait(k)
        left -= k
    stats = Stats()
    sources = parse_sources(args.sources)
    message = body_of(args.size)
    t0 = time.perf_counter()
    await asyncio.gather(*(session(i, args, queue, stats, sources, message) for i in range(args.sessions)))
    elapsed = time.perf_counter() - t0
    lat = sorted(stats.latencies)
    ms = lambda v: round(v * 1000.0, 3)
    out = {
        "messages": args.messages, "accepted": len(lat), "failed": stats.failed,
        "sessions": args.sessions, "size": args.size, "seconds": round(elapsed, 3),
        "rate": round(len(lat) / elapsed, 1) if elapsed > 0 else 0.0,
        "p50_ms": ms(percentile(lat, 50)), "p90_ms": ms(percentile(lat, 90)),
        "p99_ms": ms(percentile(lat, 99)), "max_ms": ms(lat[-1]) if lat else float("nan"),
    }
    print(" ".join(f"{k}={v}" for k, v in out.items()))
    for e in stats.errors[:5]:
        print("error:", e, file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f)
    return 0 if stats.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
