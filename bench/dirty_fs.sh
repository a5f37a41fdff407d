#!/usr/bin/env bash
# bench/dirty_fs.sh — acknowledgement latency while the spool's file system holds other
# programs' dirty data.
#
# A spool usually shares its file system with logs, the tracking store, other daemons'
# queues. Anything that syncs the whole file system (syncfs) makes the acknowledging
# fdatasync wait for all of that data. This starts an smtp-sink and a rampart relaying to
# it (bench/lib.sh), measures end of data -> 250 with bench/loadgen.py (SESSIONS, 50;
# MSGS, 20,000 x 1 KiB: long enough to span a spool checkpoint, every 10 s), then writes DIRTY_MB
# (1,500) MiB of zeros to a file in the work directory without syncing it and measures
# again. Prints both loadgen lines and the kernel's Dirty count before and after the
# second run (a server that syncs only its own files leaves the zeros dirty).
#
# Usage (as root): bench/dirty_fs.sh
# Knobs: SESSIONS, MSGS, DIRTY_MB, RAMPART, KEEP=1, BENCH_TMP (the file system measured).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root (smtp-sink drops to user postfix)"
SESSIONS="${SESSIONS:-50}"
MSGS="${MSGS:-20000}"
DIRTY_MB="${DIRTY_MB:-1500}"
PY=/usr/bin/python3

start_sink
start_rampart
smtp-source -s 10 -m 500 -l 1024 -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$RAMPART_PORT" >/dev/null 2>&1
for _ in $(seq 600); do (($(sink_count) >= 500)) && break; sleep 0.1; done
dirty_kib() { awk '/^Dirty:/ {print $2}' /proc/meminfo; }
run() { "$PY" "$ROOT/bench/loadgen.py" --port "$RAMPART_PORT" --sessions "$SESSIONS" --messages "$MSGS" --size 1024 \
            --rcpt rcpt@relay.test 2>&1 | tail -1; }

echo "## end of data -> 250 with and without ${DIRTY_MB} MiB of other dirty data — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
machine_line
echo "- file system: $(df -T "$WORK" | awk 'NR==2 {print $2, $7}')"
echo "- clean: $(run)"
sync
dd if=/dev/zero of="$WORK/dirty" bs=1M count="$DIRTY_MB" status=none
before="$(dirty_kib)"
echo "- ${DIRTY_MB} MiB dirty: $(run)"
echo "- kernel Dirty: ${before} KiB before that run, $(dirty_kib) KiB after"
rm -f "$WORK/dirty"
