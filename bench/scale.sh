#!/usr/bin/env bash
# bench/scale.sh — 10,000 idle connections and 2,000 slow clients on one rampart, while a
# newcomer still gets its greeting and its message accepted (issue 13).
#
# Starts an smtp-sink and a rampart relaying to it (bench/lib.sh), then runs
# bench/scale.py: IDLE (10,000) connections that read their greeting and say nothing,
# SLOW (2,000) that send one byte every SLOW_EVERY (10) seconds (half in a command line,
# half in DATA), EXTRA (20) more from one slow client's address beyond the per-source
# limit, and a probe client from 127.0.0.1 every 5 s that sends one 1 KiB message. The
# clients come from many loopback addresses (127.1.0.0/16 and 127.2.0.0/16, PER_SOURCE =
# 50 each, the default max_connections_per_source), so the server's per-source limit is
# the default one and applies per address as on the Internet.
#
# Server configuration for the run (differences from the defaults, and why):
#   server.max_open_files = IDLE+SLOW+1500   12,000 connections need ~13,000 descriptors (one
#                                      per session; server/fd_limits.hpp); the hard limit if it is
#                                      higher, else rampart raises its own (root / CAP_SYS_RESOURCE)
#   limits.max_connections = 13000     default 1000
#   limits.command_timeout = CMD_TIMEOUT (60s; default 5min) and
#   limits.data_timeout = DATA_TIMEOUT (90s; default 10min): shorter so that the run shows
#                                      the slow clients being cut off within DURATION
# The probes in the first CMD_TIMEOUT seconds run with every connection open; after that
# the idle and command-phase slow clients are closed with 421 4.4.2 (the timeout bounds a
# whole command line, not each read, so one byte every 10 s does not keep a slot).
#
# Usage (as root): bench/scale.sh          # about 3 minutes
# Knobs: IDLE, SLOW, SLOW_EVERY, EXTRA, PER_SOURCE, DURATION (100), CMD_TIMEOUT,
# DATA_TIMEOUT, THREADS (server.threads, default 0 = one per CPU), RAMPART, KEEP=1, FORCE=1
# (run even when rampart admits fewer sessions than IDLE + SLOW: the rest wait unanswered).
# Output: Markdown on stdout and bench/results/scale.md; the raw JSON in bench/results/scale.json.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $EUID -eq 0 ]] || die "run as root (rampart raises its hard open-file limit; smtp-sink drops to postfix)"

IDLE="${IDLE:-10000}"
SLOW="${SLOW:-2000}"
SLOW_EVERY="${SLOW_EVERY:-10}"
EXTRA="${EXTRA:-20}"
PER_SOURCE="${PER_SOURCE:-50}"
DURATION="${DURATION:-100}"
CMD_TIMEOUT="${CMD_TIMEOUT:-60s}"
DATA_TIMEOUT="${DATA_TIMEOUT:-90s}"
THREADS="${THREADS:-0}"

# The client needs a descriptor per connection too.
need=$((IDLE + SLOW + EXTRA + 200))
if (($(ulimit -Hn) < need)); then ulimit -Hn "$need" 2>/dev/null || true; fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(($(ulimit -n) >= need)) || die "the client needs $need descriptors; ulimit -n is $(ulimit -n)"

RAMPART_LISTENER_EXTRA="limits = { max_connections = $((IDLE + SLOW + 1000)), max_connections_per_source = $PER_SOURCE, command_timeout = \"$CMD_TIMEOUT\", data_timeout = \"$DATA_TIMEOUT\" }"
# One descriptor per session (its socket); the rest is the plan's reserve, delivery and the
# brief budgets (commit leases, DNS sockets): about 1,000 with the defaults.
WANT_FILES=$((IDLE + SLOW + 1500))
HARD_NOW="$(ulimit -Hn)"
[[ "$HARD_NOW" == unlimited ]] || ((HARD_NOW < WANT_FILES)) || WANT_FILES=$HARD_NOW
RAMPART_SERVER_EXTRA="max_open_files = $WANT_FILES
threads = $THREADS"
start_sink
start_rampart
PLAN="$(grep -m1 'event=server.descriptors ' "$WORK/rampart.log" || true)"
log "descriptor plan: $PLAN"
ADMITTED="$(echo "$PLAN" | grep -o ' sessions=[0-9]*' | cut -d= -f2)"
if ((${ADMITTED:-0} < IDLE + SLOW + 10)); then
    log "rampart admits ${ADMITTED:-?} sessions at once (its open-file limit; see server.descriptors.unraised in $WORK/rampart.log):"
    log "fewer than the $((IDLE + SLOW)) connections plus the probes. Run where rampart may raise its hard limit (root with"
    log "CAP_SYS_RESOURCE), raise it before (ulimit -Hn), or lower IDLE/SLOW."
    [[ "${FORCE:-0}" == 1 ]] || die "not enough descriptors (FORCE=1 runs anyway)"
fi
grep 'server.descriptors.short\|server.descriptors.unraised' "$WORK/rampart.log" >&2 && log "WARNING: rampart could not get the descriptors it wants"

python3 "$ROOT/bench/scale.py" --port "$RAMPART_PORT" --pid "$RAMPART_PID" --idle "$IDLE" --slow "$SLOW" \
    --slow-every "$SLOW_EVERY" --extra "$EXTRA" --per-source "$PER_SOURCE" --duration "$DURATION" >"$WORK/scale.json"

mkdir -p "$ROOT/bench/results"
cp "$WORK/scale.json" "$ROOT/bench/results/scale.json"
python3 - "$WORK/scale.json" "$CMD_TIMEOUT" "$DATA_TIMEOUT" "$(machine_line)" "$PLAN" <<'PY' | tee "$ROOT/bench/results/scale.md"
import json, sys, statistics
r = json.load(open(sys.argv[1]))
cmd_to, data_to, machine, fdline = sys.argv[2:6]
print(f"## rampart with {r['idle']} idle and {r['slow']} slow connections")
print()
print(machine)
print(f"- Clients from 127.1.0.0/16 and 127.2.0.0/16, {r['per_source']} per address (the default per-source limit); "
      f"slow = one byte every {r['slow_every_s']} s, half in a command line, half in DATA; "
      f"command_timeout = {cmd_to}, data_timeout = {data_to} for the run")
print(f"- rampart's descriptor plan: `{fdline.strip()}`")
print()
print(f"- idle connections greeted: {r['idle_greeted']} of {r['idle']} in {r['idle_open_s']} s ({r['idle_failed']} failed)")
print(f"- memory: VmRSS {r['rss_before_kib']/1024:.1f} MiB before, {r['rss_idle_kib']/1024:.1f} MiB with the idle connections open: "
      f"**{r['kib_per_idle_connection']} KiB per idle connection**; {r['rss_all_open_kib']/1024:.1f} MiB with the slow ones too; "
      f"{r['rss_end_kib']/1024:.1f} MiB at the end")
print(f"- descriptors the server held with all of them open: {r.get('fds_all_open')}")
print(f"- connections beyond the per-source limit: {r['beyond_per_source_limit']}")
print(f"- slow clients: {r['slow_opened']} opened; closed by the server: {r['slow_closed_by_server']}, "
      f"after {r.get('slow_closed_after_s')} s")
print(f"- idle connections at the end: {r['idle_still_open_at_end']} still open; closed by the server: {r.get('idle_closed_by_server')}")
print()
print("| probe (new client from 127.0.0.1) | slow clients open | connect to 220, ms | end of data to 250, ms | whole dialogue, ms | error |")
print("| --- | ---: | ---: | ---: | ---: | --- |")
for p in r["probe_before"]:
    print(f"| before any load | 0 | {p.get('greeting_ms')} | {p.get('eod_to_250_ms')} | {p.get('total_ms')} | {p.get('error', '')} |")
for p in r["probes"]:
    print(f"| at {p['at_s']} s | {p['slow_open']} | {p.get('greeting_ms')} | {p.get('eod_to_250_ms')} | {p.get('total_ms')} | {p.get('error', '')} |")
loaded = [p for p in r["probes"] if "error" not in p and p["slow_open"] > 0]
if loaded:
    g = sorted(p["greeting_ms"] for p in loaded)
    e = sorted(p["eod_to_250_ms"] for p in loaded)
    print()
    print(f"While all were open ({len(loaded)} probes): greeting median {round(statistics.median(g), 2)} ms, max {g[-1]} ms; "
          f"end of data to 250 median {round(statistics.median(e), 2)} ms, max {e[-1]} ms.")
PY
