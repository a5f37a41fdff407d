#!/usr/bin/env bash
# bench/filters.sh — what the filter chain costs, side by side in one run (issues 9 and 10).
#
# Every scenario is a fresh rampart (all-in-one, one plain loopback listener) accepting mail
# for rcpt@example.test, a directory user of the authoritative domain example.test, and
# delivering it over LMTP to an smtp-sink speaking LMTP: the same end-to-end path for every
# row, only the filters differ. smtp-source drives it; the rate is end to end (smtp-source
# start until the sink has every message).
#
#   plain        filters = false (the reference for the 1 KiB rows)
#   edge         filters = true: [connection_filter] with a DNS block list (a zone served by
#                NSD on loopback; 127.0.0.1 is not listed, so every connect costs a look-up),
#                [recipient_filter] lookup = true, tarpit = "0s", [sender_auth] (SPF for
#                bench.test from the same NSD: pass; DMARC look-up: no record), rspamd off
#   edge+rspamd  edge plus [content_filter] with a local rspamd (as tests/integration/rspamd.py)
#   plain-100k   filters = false, a 100 KiB MIME message with a zip attachment
#   av-100k      filters = true, [attachment_filter] (preset lists, zips inspected) and
#                [antivirus] with one clamd (as tests/integration/clamd.py), cache_ttl = "0s"
#                (smtp-source sends the same bytes every time: with the cache on, clamd
#                would scan once)
#
# Also shown: rampart's own CPU time (user + system, /proc/PID/stat) per message, which the
# machine's load disturbs less than the rate. The per-agent split comes from the filter_us=agent:us,... field of each smtp.transaction
# log line (docs/logging.md): mean microseconds per accepted message per agent.
#
# Usage (as root, like bench/run.sh; needs smtp-source/smtp-sink, nsd, rspamd, clamd):
#   bench/filters.sh            # MSGS=5000 at 1 KiB, MSGS_LARGE=1000 at 100 KiB, REPEAT=3
#   QUICK=1 REPEAT=1 bench/filters.sh    # 300 / 150 messages, one pass
# Knobs: QUICK, REPEAT (3; median shown), MSGS, MSGS_LARGE, SESSIONS (50), KEEP=1, RSPAMD_HS_CACHE (as the tests),
#        SKIP_RSPAMD=1, SKIP_AV=1, LOG_LEVEL=debug (to see every agent's verdict and reason;
#        slows rampart down, so not for figures).
# Pitfalls: NSD's response rate limiting is on by default (200 queries/s from one source):
# past it, answers are dropped and the resolver waits out [dns] timeout (2 s here) before it
# asks again, so SPF looked like 200 ms a message; it is turned off (a site's own caching
# resolver does not rate-limit rampart). rspamd's first start compiles hyperscan databases (minutes on a busy machine;
# cached in RSPAMD_HS_CACHE, shared with the tests); its first messages are slow too, so
# every scenario gets a warm-up batch that is not measured.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

QUICK="${QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then MSGS="${MSGS:-300}"; MSGS_LARGE="${MSGS_LARGE:-150}"
else MSGS="${MSGS:-5000}"; MSGS_LARGE="${MSGS_LARGE:-1000}"; fi
SESSIONS="${SESSIONS:-50}"
REPEAT="${REPEAT:-3}"
WARMUP="${WARMUP:-50}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-300}"
for b in nsd clamd rspamd; do command -v "$b" >/dev/null || die "$b is missing (scripts/deps.sh test installs it)"; done

# ---------------------------------------------------------------- LMTP sink
free_port SINK_PORT
smtp-sink -L -c -u postfix -m 1000 "127.0.0.1:$SINK_PORT" 1000 >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
wait_listen "$SINK_PORT" 10 || die "smtp-sink did not listen on $SINK_PORT: $(cat "$WORK/sink.err")"

stop_pid() {   # pid: TERM, bounded wait, KILL
    local p=$1
    kill -0 "$p" 2>/dev/null || return 0
    kill -TERM "$p"
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p"
    wait "$p" 2>/dev/null || true
}

# ---------------------------------------------------------------- NSD: block list and SPF
free_port DNS_PORT
mkdir -p "$WORK/nsd"
cat >"$WORK/nsd/bl.test.zone" <<'EOF'
$ORIGIN bl.test.
$TTL 60
@ SOA ns.bl.test. admin.bl.test. 1 3600 600 86400 60
@ NS ns.bl.test.
ns A 127.0.0.1
; the RFC 5782 test point; 127.0.0.1 (the bench client) is not listed
2.0.0.127 A 127.0.0.2
EOF
cat >"$WORK/nsd/bench.test.zone" <<'EOF'
$ORIGIN bench.test.
$TTL 60
@ SOA ns.bench.test. admin.bench.test. 1 3600 600 86400 60
@ NS ns.bench.test.
ns A 127.0.0.1
@ TXT "v=spf1 ip4:127.0.0.0/8 -all"
EOF
cat >"$WORK/nsd/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$DNS_PORT
    do-ip6: no
    username: ""
    chroot: ""
    zonesdir: "$WORK/nsd"
    database: ""
    zonelistfile: "$WORK/nsd/zone.list"
    xfrdfile: "$WORK/nsd/xfrd.state"
    xfrdir: "$WORK/nsd"
    pidfile: "$WORK/nsd/nsd.pid"
    logfile: "$WORK/nsd/nsd.log"
    server-count: 1
    hide-version: yes
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "bl.test"
    zonefile: "bl.test.zone"
zone:
    name: "bench.test"
    zonefile: "bench.test.zone"
EOF
nsd -d -c "$WORK/nsd/nsd.conf" >"$WORK/nsd/nsd.out" 2>&1 &
EXTRA_PIDS+=($!)
wait_listen "$DNS_PORT" 10 || die "nsd did not start: $(cat "$WORK/nsd/nsd.out" "$WORK/nsd/nsd.log" 2>/dev/null)"

# ---------------------------------------------------------------- clamd
CLAMD_PID=""
start_clamd() {
    local d="$WORK/clamd"
    mkdir -p "$d/db" "$d/tmp"
    free_port CLAMD_PORT
    printf 'Test.Nothing:0:*:%s\n' "$(printf 'never-sent-by-the-rampart-bench-7e1' | od -An -tx1 | tr -d ' \n')" >"$d/db/bench.ndb"
    cat >"$d/clamd.conf" <<EOF
Foreground yes
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
DatabaseDirectory $d/db
TemporaryDirectory $d/tmp
LogFile $d/clamd.log
PidFile $d/clamd.pid
SelfCheck 0
MaxThreads 8
StreamMaxLength 25M
ScanMail yes
ScanArchive yes
Bytecode no
EOF
    clamd --config-file="$d/clamd.conf" >"$d/clamd.out" 2>&1 &
    CLAMD_PID=$!
    EXTRA_PIDS+=("$CLAMD_PID")
    wait_listen "$CLAMD_PORT" 60 || die "clamd did not start: $(tail -5 "$d/clamd.out" "$d/clamd.log")"
}

# ---------------------------------------------------------------- rspamd
RSPAMD_PID=""
start_rspamd() {
    local d="$WORK/rspamd" cache="${RSPAMD_HS_CACHE:-$HOME/.cache/rampart-test-rspamd-hs}" m
    mkdir -p "$d/local.d" "$d/run" "$d/db" "$d/log" "$d/tmp" "$cache"
    free_port RSPAMD_PORT
    free_port RSPAMD_DEAD_DNS   # nobody answers: modules that would reach the internet fail fast
    cat >"$d/rspamd.conf" <<EOF
.include "\$CONFDIR/common.conf"
options {
    pidfile = "\$RUNDIR/rspamd.pid";
    .include "\$CONFDIR/options.inc"
    .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}
logging { type = "file"; filename = "\$LOGDIR/rspamd.log"; level = "warning"; }
worker "normal" {
    bind_socket = "127.0.0.1:$RSPAMD_PORT";
    count = 1;
    .include "\$CONFDIR/worker-normal.inc"
}
EOF
    cat >"$d/local.d/options.inc" <<EOF
dns { nameserver = ["127.0.0.1:$RSPAMD_DEAD_DNS"]; timeout = 1s; retransmits = 1; }
tempdir = "$d/tmp";
hs_cache_dir = "$cache/";
local_addrs = [];
EOF
    for m in rbl surbl phishing fuzzy_check asn rspamd_update multimap mid url_redirector neural reputation \
             ratelimit greylist dcc spamassassin external_services antivirus metadata_exporter clickhouse elastic \
             history_redis bimi replies mx_check p0f whitelist; do
        echo "enabled = false;" >"$d/local.d/$m.conf"
    done
    rspamd -f -i -c "$d/rspamd.conf" --var=CONFDIR=/etc/rspamd "--var=LOCAL_CONFDIR=$d" "--var=RUNDIR=$d/run" \
        "--var=DBDIR=$d/db" "--var=LOGDIR=$d/log" >"$d/rspamd.out" 2>&1 &
    RSPAMD_PID=$!
    EXTRA_PIDS+=("$RSPAMD_PID")
    local i
    for ((i = 0; i < 6000; i++)); do   # up to 10 minutes: the first start compiles hyperscan
        [[ "$(curl -s -m 2 "http://127.0.0.1:$RSPAMD_PORT/ping" 2>/dev/null)" == pong* ]] && return 0
        kill -0 "$RSPAMD_PID" 2>/dev/null || die "rspamd exited: $(tail -5 "$d/rspamd.out")"
        sleep 0.1
    done
    die "rspamd did not answer /ping within 10 minutes"
}

# ---------------------------------------------------------------- messages
# 100 KiB: a short text part and a zip (random bytes, stored) as a base64 attachment.
python3 - "$WORK/msg-100k.eml" <<'PY'
import base64, io, os, sys, zipfile
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
    z.writestr("report.pdf", b"%PDF-1.4\n" + os.urandom(72 * 1024))
b64 = base64.encodebytes(buf.getvalue()).decode().replace("\n", "\r\n")
msg = ("From: sender@bench.test\r\nTo: rcpt@example.test\r\nSubject: quarterly report\r\n"
       "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
       "--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe report is attached.\r\n\r\n"
       "--b1\r\nContent-Type: application/zip; name=\"report.zip\"\r\n"
       "Content-Disposition: attachment; filename=\"report.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
       + b64 + "--b1--\r\n")
open(sys.argv[1], "w", newline="").write(msg.replace("\r\n", "\n"))   # smtp-source -F appends CRLF per line
PY

# ---------------------------------------------------------------- one scenario
declare -A RATE SPLIT NMSG CPU
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime of rampart, in clock ticks
ORDER=()
FAILURES=0
run_scenario() {   # name listener_filters extra_toml smtp-source-message-args... 
    local name=$1 filters=$2 extra=$3; shift 3
    local dir="$WORK/$name" n
    rm -rf "$dir"; mkdir -p "$dir"
    free_port RAMPART_PORT
    cat >"$dir/directory.toml" <<'EOF'
[[users]]
name = "rcpt"
addresses = ["rcpt@example.test"]
EOF
    cat >"$dir/rampart.toml" <<EOF
# Written by bench/filters.sh, scenario $name.
[server]
role = "all-in-one"
hostname = "bench.test"
data_dir = "$dir/data"
log_file = "$dir/rampart.log"
run_as_root = true   # benches run as root (CI) in a 0700 mktemp directory the rampart user could not enter
log_level = "${LOG_LEVEL:-info}"

[[domains]]
name = "example.test"
type = "authoritative"

[directory]
file = "directory.toml"

[delivery]
local = "lmtp"
lmtp = "127.0.0.1:$SINK_PORT"
lmtp_max_connections = 20

[dns]
servers = ["127.0.0.1:$DNS_PORT"]
timeout = "2s"

[[listeners]]
name = "bench"
bind = ["127.0.0.1:$RAMPART_PORT"]
tls = "none"
relay = { mode = "only-list", list = ["127.0.0.0/8"] }
limits = { max_connections = 2000, max_connections_per_source = 2000 }
filters = $filters
$extra
EOF
    local check_rc=0
    "$RAMPART" check -c "$dir/rampart.toml" >"$dir/check.out" 2>&1 || check_rc=$?
    ((check_rc < 2)) || { cat "$dir/check.out" >&2; die "rampart check failed ($name)"; }
    "$RAMPART" serve -c "$dir/rampart.toml" >"$dir/rampart.stdout" 2>&1 &
    RAMPART_PID=$!
    wait_listen "$RAMPART_PORT" 20 || die "rampart did not listen ($name): $(tail -5 "$dir/rampart.stdout")"
    n="$MSGS"; [[ "$name" == *100k* ]] && n="$MSGS_LARGE"
    # warm-up (not measured): caches, rspamd's first scans, the LMTP connections
    send_batch "$name warm-up" "$WARMUP" "$@" || true
    local skip; skip="$(wc -l <"$dir/rampart.log")"
    local t0 t2 cpu0 cpu1
    cpu0="$(cpu_ticks "$RAMPART_PID")"
    t0="$(date +%s.%N)"
    send_batch "$name" "$n" "$@"
    t2="$(date +%s.%N)"
    cpu1="$(cpu_ticks "$RAMPART_PID")"
    CPU[$name]+="$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.0f", (b - a) * 1e6 / hz / n}') "
    local rate
    rate="$(awk -v n="$n" -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", n / (b - a)}')"
    RATE[$name]+="$rate "
    NMSG[$name]=$n
    tail -n +"$((skip + 1))" "$dir/rampart.log" | grep 'smtp.transaction' | grep 'result=accepted' \
        | grep -o 'filter_us=[^ ]*' | cut -d= -f2 >>"$WORK/$name.filter_us"
    # mean microseconds per accepted message per agent, from filter_us (every repeat so far)
    SPLIT[$name]="$(awk '
            { msgs++; if ($0 == "-") next; k = split($0, parts, ",");
              for (i = 1; i <= k; i++) { split(parts[i], kv, ":"); if (!(kv[1] in sum)) order[++o] = kv[1]; sum[kv[1]] += kv[2] } }
            END { out = ""; for (i = 1; i <= o; i++) out = out (i > 1 ? ", " : "") sprintf("%s %.0f", order[i], sum[order[i]] / msgs);
                  print (out == "" ? "-" : out) }' "$WORK/$name.filter_us")"
    [[ " ${ORDER[*]} " == *" $name "* ]] || ORDER+=("$name")
    log "$name: $rate msg/s end to end ($n msgs, $SESSIONS sessions); per agent µs/msg: ${SPLIT[$name]}"
    stop_pid "$RAMPART_PID"; RAMPART_PID=""
}
send_batch() {   # label count smtp-source-message-args...
    local label=$1 n=$2; shift 2
    local before got out deadline
    before="$(sink_count)"
    if ! out="$(smtp-source -s "$SESSIONS" -m "$n" "$@" -M client.bench.test \
            -f sender@bench.test -t rcpt@example.test "127.0.0.1:$RAMPART_PORT" 2>&1)"; then
        log "FAIL: $label: smtp-source: $(echo "$out" | tail -3)"; FAILURES=$((FAILURES + 1))
    fi
    deadline=$(($(date +%s) + DRAIN_TIMEOUT))
    while :; do
        got="$(sink_count)"
        ((got - before >= n)) && return 0
        if (($(date +%s) > deadline)); then
            log "FAIL: $label: the sink got $((got - before)) of $n within ${DRAIN_TIMEOUT}s"; FAILURES=$((FAILURES + 1)); return 1
        fi
        sleep 0.05
    done
}

EDGE="
[connection_filter]
[[connection_filter.block_providers]]
zone = \"bl.test\"

[recipient_filter]
lookup = true
tarpit = \"0s\"

[sender_auth]
"
SMALL=(-l 1024)
LARGE=(-F "$WORK/msg-100k.eml")

if [[ "${SKIP_RSPAMD:-0}" != 1 ]]; then
    log "starting rspamd (the first start compiles hyperscan: minutes on a busy machine)"
    start_rspamd
fi
[[ "${SKIP_AV:-0}" != 1 ]] && start_clamd
RSPAMD_TOML="
[content_filter]
engine = \"rspamd\"
address = \"127.0.0.1:${RSPAMD_PORT:-0}\"
"
AV_TOML="
[attachment_filter]

[antivirus]
cache_ttl = \"0s\"
[[antivirus.engines]]
name = \"clamd\"
type = \"clamd\"
address = \"127.0.0.1:${CLAMD_PORT:-0}\"
"
# Each repeat runs every scenario once, the unfiltered reference right before its filtered
# rows, so slow drifts of the machine's load hit both; the table shows medians.
for ((rep = 1; rep <= REPEAT; rep++)); do
    run_scenario plain false "" "${SMALL[@]}"
    run_scenario edge true "$EDGE" "${SMALL[@]}"
    [[ "${SKIP_RSPAMD:-0}" != 1 ]] && run_scenario edge+rspamd true "$EDGE$RSPAMD_TOML" "${SMALL[@]}"
    run_scenario plain-100k false "" "${LARGE[@]}"
    [[ "${SKIP_AV:-0}" != 1 ]] && run_scenario av-100k true "$AV_TOML" "${LARGE[@]}"
done
[[ -n "$RSPAMD_PID" ]] && stop_pid "$RSPAMD_PID"
[[ -n "$CLAMD_PID" ]] && stop_pid "$CLAMD_PID"

# ---------------------------------------------------------------- report
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}'; }
{
    echo "| scenario | message | msgs per run | rate (msg/s, end to end, median) | runs | ratio to unfiltered | rampart CPU (µs per message, median) | per agent (mean µs per message) |"
    echo "| --- | --- | ---: | ---: | --- | ---: | ---: | --- |"
    for s in "${ORDER[@]}"; do
        ref=plain; size="1 KiB"
        [[ "$s" == *100k* ]] && { ref=plain-100k; size="100 KiB MIME, zip attachment"; }
        m="$(echo "${RATE[$s]}" | median)"; mr="$(echo "${RATE[$ref]:-}" | median)"
        echo "| $s | $size | ${NMSG[$s]} | $m | ${RATE[$s]% } | $(ratio "$m" "$mr") | $(echo "${CPU[$s]}" | median) | ${SPLIT[$s]} |"
    done
    echo
    echo "- $SESSIONS sessions, one message per connection; rampart delivers over LMTP to smtp-sink -L on loopback"
    machine_line
    echo "- failures: $FAILURES"
} | tee "$WORK/filters.md"
((FAILURES == 0))
