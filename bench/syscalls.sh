#!/usr/bin/env bash
# bench/syscalls.sh — what rampart asks of the kernel per message: system calls, context
# switches, syncs, files created and removed. Unlike a rate, these counts hardly depend on
# what else runs on the machine, so they can judge a change on a busy machine.
#
# Starts an smtp-sink and a rampart relaying to it (bench/lib.sh), sends MSGS (5000)
# messages of SIZE (1024) bytes with smtp-source, SESSIONS (50) at a time, one per
# connection, waits until the sink has them all, and counts over the whole run
# (acceptance and relay) with `perf stat -p` on the server. With STRACE=1 it also prints
# `strace -c -f` (slows the server a lot: counts only). It also counts the requests that
# reach the disk (system-wide: metadata writes, cache flushes, all). With CALLGRIND=1 it runs the server
# under valgrind --tool=callgrind instead and prints instructions per message.
#
# Usage (as root): bench/syscalls.sh
# Knobs: MSGS, SIZE, SESSIONS, STRACE=1, CALLGRIND=1, RAMPART, KEEP=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root (perf needs it; smtp-sink drops to postfix)"
command -v perf >/dev/null || die "perf is needed (apt-get install linux-perf)"
MSGS="${MSGS:-5000}"
SIZE="${SIZE:-1024}"
SESSIONS="${SESSIONS:-50}"
RAMPART_SERVER_EXTRA="threads = ${THREADS:-0}"

start_sink
if [[ "${CALLGRIND:-0}" == 1 ]]; then
    REAL_RAMPART="$RAMPART"
    RAMPART="$WORK/rampart-callgrind"
    printf '#!/bin/sh\nif [ "$1" = serve ]; then exec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out "%s" "$@"; fi\nexec "%s" "$@"\n' \
        "$WORK" "$REAL_RAMPART" "$REAL_RAMPART" >"$RAMPART"
    chmod +x "$RAMPART"
fi
start_rampart
# warm-up (connections to the sink, page cache), not counted
smtp-source -s 10 -m 200 -l "$SIZE" -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$RAMPART_PORT" >/dev/null 2>&1
for _ in $(seq 600); do (($(sink_count) >= 200)) && break; sleep 0.1; done
before="$(sink_count)"

EVENTS="raw_syscalls:sys_enter,context-switches,cpu-migrations,task-clock"
for e in syncfs fsync fdatasync openat unlink unlinkat write writev sendmsg sendto recvfrom recvmsg read epoll_wait futex io_uring_enter; do
    [[ -d /sys/kernel/tracing/events/syscalls/sys_enter_$e ]] && EVENTS+=",syscalls:sys_enter_$e"
done
if [[ "${CALLGRIND:-0}" == 1 ]]; then
    # the real server is valgrind's child... it is the same PID (exec)
    callgrind_control -z "$RAMPART_PID" >/dev/null 2>&1 || true
else
    perf stat -x, -e "$EVENTS" -p "$RAMPART_PID" -o "$WORK/perf.csv" &
    PERF_PID=$!
    EXTRA_PIDS+=("$PERF_PID")
    # Requests to the disk, system-wide (a cache flush is issued by a kernel worker, not by
    # the server): all, metadata writes (an inode table block under an fdatasync: see
    # docs/performance.md, issue 13 fifth pass) and cache flushes.
    if [[ -d /sys/kernel/tracing/events/block/block_rq_issue ]]; then
        perf stat -x, -a -e block:block_rq_issue --filter 'rwbs ~ "*M*"' -e block:block_rq_issue --filter 'rwbs ~ "F*"' \
            -e block:block_rq_issue -o "$WORK/block.csv" &
        BLOCK_PID=$!
        EXTRA_PIDS+=("$BLOCK_PID")
    fi
fi
if [[ "${STRACE:-0}" == 1 ]]; then
    strace -c -f -p "$RAMPART_PID" -o "$WORK/strace.txt" &
    STRACE_PID=$!
    EXTRA_PIDS+=("$STRACE_PID")
    sleep 1
fi
sleep 0.5
t0="$(date +%s.%N)"
smtp-source -s "$SESSIONS" -m "$MSGS" -l "$SIZE" -M client.bench.test -f sender@bench.test -t rcpt@relay.test \
    "127.0.0.1:$RAMPART_PORT" >"$WORK/source.out" 2>&1 || die "smtp-source failed: $(tail -3 "$WORK/source.out")"
t1="$(date +%s.%N)"
for _ in $(seq 6000); do (($(sink_count) - before >= MSGS)) && break; sleep 0.05; done
t2="$(date +%s.%N)"
sleep 0.3
if [[ "${STRACE:-0}" == 1 ]]; then kill -INT "$STRACE_PID"; wait "$STRACE_PID" 2>/dev/null || true; fi
if [[ "${CALLGRIND:-0}" == 1 ]]; then
    callgrind_control -d "$RAMPART_PID" >/dev/null 2>&1 || true
    sleep 2
else
    kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
    if [[ -n "${BLOCK_PID:-}" ]]; then kill -INT "$BLOCK_PID"; wait "$BLOCK_PID" 2>/dev/null || true; fi
fi

echo "## rampart per message: $MSGS messages of $SIZE bytes, $SESSIONS sessions, accepted and relayed — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
machine_line
awk -v n="$MSGS" -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {printf "- accepted in %.2f s (%.0f msg/s), at the sink after %.2f s (rates are noisy on a busy machine; the counts below are not)\n", b-a, n/(b-a), c-a}'
echo
if [[ "${CALLGRIND:-0}" == 1 ]]; then
    f="$(ls "$WORK"/callgrind.out.[0-9]* 2>/dev/null | sort -V | tail -1)"; [[ -n "$f" ]] || f="$WORK/callgrind.out"
    total="$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')"
    echo "- instructions (callgrind, from the counter reset to the dump): $total, $(awk -v t="$total" -v n="$MSGS" 'BEGIN {printf "%.0f", t/n}') per message"
    echo
    echo '```'
    callgrind_annotate --threshold=100 "$f" 2>/dev/null | grep -v "^--" | sed -n "/file:function/,\$p" | head -45 | cut -c1-160 || true
    echo '```'
else
    echo "| event | total | per message |"
    echo "| --- | ---: | ---: |"
    awk -F, -v n="$MSGS" '$1 ~ /^[0-9.]+$/ {name=$3; sub(/^syscalls:sys_enter_/, "", name); sub(/^raw_syscalls:sys_enter/, "all system calls", name);
        if (name == "task-clock") printf "| CPU time (ms) | %.0f | %.3f |\n", $1, $1/n; else printf "| %s | %d | %.2f |\n", name, $1, $1/n}' "$WORK/perf.csv"
    if [[ -s "$WORK/block.csv" ]]; then
        awk -F, -v n="$MSGS" 'BEGIN {split("disk metadata writes (system-wide)|disk cache flushes (system-wide)|disk requests (system-wide)", label, "|")}
            $1 ~ /^[0-9]+$/ {k++; printf "| %s | %d | %.2f |\n", label[k], $1, $1/n}' "$WORK/block.csv"
    fi
fi
if [[ "${STRACE:-0}" == 1 ]]; then
    echo
    echo '```'
    head -40 "$WORK/strace.txt"
    echo '```'
fi
