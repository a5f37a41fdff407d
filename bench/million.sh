#!/usr/bin/env bash
# bench/million.sh — RSS of rampart while a million small messages go through it.
#
# Starts an smtp-sink and a rampart (all-in-one, relaying everything to the sink, as in
# bench/run.sh), then pushes TOTAL messages (1,000,000) of SIZE bytes (1 KiB) with
# smtp-source, SESSIONS (50) at a time, in chunks of CHUNK (50,000). After every chunk it
# waits until the sink has every message (so the queue is empty again) and samples the
# server's VmRSS and VmHWM from /proc. A server that keeps anything per message (a leak,
# an ever-growing map) shows a rising RSS column; a flat one means memory is bounded by
# concurrency, not by the number of messages served.
#
# Usage (as root, like bench/run.sh; about 15-20 minutes at ~1,000 msg/s):
#   bench/million.sh
#   TOTAL=100000 CHUNK=10000 bench/million.sh        # a shorter run
# Knobs: TOTAL, CHUNK, SESSIONS, SIZE, REUSE=1 (all messages of a session over one
# connection, smtp-source -d; default: one message per connection when the kernel reuses
# loopback TIME_WAIT ports, net.ipv4.tcp_tw_reuse != 0, else REUSE=1), RAMPART, KEEP=1,
# BENCH_TMP. Output: a Markdown table on stdout and in bench/results/million.md.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root (smtp-sink drops to user postfix)"

TOTAL="${TOTAL:-1000000}"
CHUNK="${CHUNK:-50000}"
SESSIONS="${SESSIONS:-50}"
SIZE="${SIZE:-1024}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-600}"
if [[ -z "${REUSE:-}" ]]; then
    if [[ "$(cat /proc/sys/net/ipv4/tcp_tw_reuse 2>/dev/null || echo 0)" == 0 ]]; then REUSE=1; else REUSE=0; fi
fi
SOURCE_OPTS=()
[[ "$REUSE" == 1 ]] && SOURCE_OPTS+=(-d)

start_sink
start_rampart
sleep 1
RSS0="$(rss_kib "$RAMPART_PID")"
ROWS=()
sent=0
t_start="$(date +%s.%N)"
while ((sent < TOTAL)); do
    n=$((TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK))
    before="$(sink_count)"
    t0="$(date +%s.%N)"
    smtp-source "${SOURCE_OPTS[@]}" -s "$SESSIONS" -m "$n" -l "$SIZE" -M client.bench.test \
        -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$RAMPART_PORT" >"$WORK/source.out" 2>&1 \
        || die "smtp-source failed after $sent messages: $(tail -3 "$WORK/source.out")"
    t1="$(date +%s.%N)"
    deadline=$(($(date +%s) + DRAIN_TIMEOUT))
    while (($(sink_count) - before < n)); do
        (($(date +%s) <= deadline)) || die "the sink got $(($(sink_count) - before)) of $n within ${DRAIN_TIMEOUT}s"
        sleep 0.2
    done
    sent=$((sent + n))
    rss="$(rss_kib "$RAMPART_PID")" hwm="$(hwm_kib "$RAMPART_PID")"
    rate="$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}')"
    ROWS+=("| $sent | $rate | $(awk -v k="$rss" 'BEGIN {printf "%.1f", k/1024}') | $(awk -v k="$hwm" 'BEGIN {printf "%.1f", k/1024}') |")
    log "$sent messages: accepted $rate msg/s in this chunk, VmRSS $rss KiB, VmHWM $hwm KiB"
done
t_end="$(date +%s.%N)"
SPOOL_LEFT="$(find "$RPDIR/data/spool" -maxdepth 1 -type f | wc -l)"
ACCEPTED="$(grep 'smtp.transaction' "$WORK/rampart.log" | grep -c 'result=accepted' || true)"

{
    echo "## rampart RSS over $TOTAL messages — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    machine_line
    echo "- $TOTAL messages of $SIZE bytes, $SESSIONS sessions, $([[ "$REUSE" == 1 ]] && echo "all messages of a session over one connection (smtp-source -d)" || echo "one message per connection"), relayed to smtp-sink; chunks of $CHUNK, queue drained after each; $(awk -v n="$TOTAL" -v a="$t_start" -v b="$t_end" 'BEGIN {printf "%.0f s in all", b - a}')"
    echo "- VmRSS after start: $(awk -v k="$RSS0" 'BEGIN {printf "%.1f MiB", k/1024}'); rampart logged $ACCEPTED accepted; files left in the spool: $SPOOL_LEFT"
    echo
    echo "| messages so far | msg/s (this chunk) | VmRSS MiB | VmHWM MiB |"
    echo "| ---: | ---: | ---: | ---: |"
    printf '%s\n' "${ROWS[@]}"
} | tee "$WORK/million.md"
mkdir -p "$ROOT/bench/results"
cp "$WORK/million.md" "$ROOT/bench/results/million.md"
