#!/usr/bin/env bash
# bench/track.sh — `rampart track` on a store of one million events (issue 12: "results in
# under a second for a store of one million events").
#
# Fills data_dir/tracking.db through the real tracking::Store (bench/track_fill.cpp: the
# recorder's schema, indexes and batched transactions; the fill rate is printed too), then
# times each kind of query with the real `rampart track` binary, cold process each time
# (config load, SQLite open, query, rendering): by tracking id, by queue id, by sender, by
# recipient, by client, by status (refused, deferred) and by time window, text and --json.
# Prints the figures; nothing is asserted (docs/performance.md records a run).
#
# Usage: bench/track.sh            # EVENTS=1000000
#        EVENTS=200000 bench/track.sh
#        KEEP=1 bench/track.sh    # keep the store (its directory is printed) to try queries
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS=${EVENTS:-1000000}
ninja -C build rampart track_fill >/dev/null
work=$(mktemp -d /tmp/rampart-track-bench.XXXXXX)
[ "${KEEP:-}" = 1 ] && echo "keeping $work" || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data"
cat >"$work/rampart.toml" <<TOML
[server]
role = "all-in-one"
hostname = "bench.test"
data_dir = "$work/data"

[[domains]]
name = "example.test"
type = "authoritative"
TOML
echo "filling $EVENTS events..."
fill=$(build/track_fill "$work/data/tracking.db" "$EVENTS")
echo "$fill" | head -1
read -r _ _ sender _ rcpt _ id _ qid <<<"$(echo "$fill" | tail -1)"
ls -l "$work/data/tracking.db" | awk '{printf "store file: %.1f MiB\n", $5 / 1048576}'

time_ms() {   # prints milliseconds and the number of messages found
  local t0 t1 out
  t0=$(date +%s%N)
  out=$(build/rampart track -c "$work/rampart.toml" "$@" --json 2>/dev/null || true)
  t1=$(date +%s%N)
  local found
  found=$(printf '%s' "$out" | python3 -c 'import json,sys; d=sys.stdin.read(); print(len(json.loads(d)) if d.strip() else 0)')
  printf '| `%s` | %d | %d |\n' "$*" $(((t1 - t0) / 1000000)) "$found"
}
echo
echo "| query (rampart track ... --json) | ms | messages |"
echo "| --- | ---: | ---: |"
time_ms --id "$id"
time_ms --id "$qid"
time_ms --sender "$sender"
time_ms --recipient "$rcpt"
time_ms --client 10.0.3.77
time_ms --status refused
time_ms --status deferred --limit 1000
time_ms --since 2h
time_ms --since 10d --until 9d --limit 1000
time_ms --sender "$sender" --status delivered --since 7d
t0=$(date +%s%N); build/rampart track -c "$work/rampart.toml" --sender "$sender" >/dev/null; t1=$(date +%s%N)
printf '| `--sender %s` (text) | %d | |\n' "$sender" $(((t1 - t0) / 1000000))
