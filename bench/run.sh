#!/usr/bin/env bash
# bench/run.sh — benchmark rampart side by side with Postfix, in one run.
#
# Both servers listen on loopback, accept mail for a non-local domain from
# 127.0.0.0/8 and relay it to the same smtp-sink. smtp-source drives each
# server in turn, and the sink itself (the protocol ceiling: the fastest
# smtp-source can go on this machine), order rotated every repeat; the
# script prints Markdown tables with medians, ratios and fractions of the
# ceiling. Results also go to bench/results/latest.md.
#
# Usage (as root; installs postfix via apt-get if smtp-source is missing):
#   bench/run.sh                 # full run, REPEAT=3
#   REPEAT=5 bench/run.sh
#   QUICK=1 REPEAT=1 bench/run.sh   # smoke test, few messages
# Knobs: REPEAT (3), QUICK (0), MSGS_SMALL (2000), MSGS_LARGE (500),
#        SESSIONS ("1 10 50"), SIZES ("1024 102400"), IDLE_CONNS (1000),
#        LAT_SESSIONS (50), LAT_MSGS (3000; 300 with QUICK=1) for the latency run,
#        RAMPART (build/rampart), KEEP=1 (keep the temp dir for inspection),
#        EDGE (1: append the edge row from bench/filters.sh; 0: skip), EDGE_RSPAMD (0),
#        BENCH_TMP (parent of the temp dir, default /var/tmp: a real disk,
#        so that both servers' fsyncs cost what they cost).
#
# Pitfalls met while writing this (kept here so nobody hits them again):
# * The Debian postfix package asks which kind of MTA to configure; preseed
#   "No configuration" so it leaves /etc/postfix/main.cf absent and no system
#   instance is set up. In containers /usr/sbin/policy-rc.d returns 101, so
#   the package never starts a service; we never use the system instance.
# * A private instance is run with `postfix -c DIR`. As root that works
#   without listing DIR in alternate_config_directories of the default
#   main.cf (that check only guards the set-gid postdrop/postqueue programs,
#   which we never call: mail enters over SMTP).
# * Debian's master.cf runs most daemons chrooted ("y" in column 5) and
#   expects /etc/services etc. copied into the queue directory; we write our
#   own master.cf with chroot "n" everywhere.
# * `postfix start` runs `postfix check` / post-install, which creates and
#   chowns queue_directory and data_directory itself. The parents must be
#   traversable by user postfix: mktemp -d makes a 0700 dir, so chmod 755.
# * maillog_file needs the postlog (postlogd) service in master.cf, otherwise
#   postfix logs nothing (no syslog in a container).
# * in_flow_delay (default 1s) makes smtpd sleep when the queue manager lags
#   behind; it is set to 0 so that the acceptance rate measures smtpd, not a
#   deliberate throttle. Everything else that affects durability stays at
#   the default (Postfix fsyncs every queue file before replying 250).
# * smtp-sink's -c counter is written with \r separators; the last
#   "mesg=N" on its stdout is the number of messages received so far.
# * smtp-source aborts on the first non-2xx reply, so a non-zero exit status
#   means the server refused or dropped something.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RAMPART="${RAMPART:-$ROOT/build/rampart}"
REPEAT="${REPEAT:-3}"
QUICK="${QUICK:-0}"
if [[ "$QUICK" == 1 ]]; then
    MSGS_SMALL="${MSGS_SMALL:-200}"
    MSGS_LARGE="${MSGS_LARGE:-50}"
else
    MSGS_SMALL="${MSGS_SMALL:-2000}"
    MSGS_LARGE="${MSGS_LARGE:-500}"
fi
SESSIONS="${SESSIONS:-1 10 50}"
SIZES="${SIZES:-1024 102400}"
IDLE_CONNS="${IDLE_CONNS:-1000}"
LAT_SESSIONS="${LAT_SESSIONS:-50}"
if [[ "$QUICK" == 1 ]]; then LAT_MSGS="${LAT_MSGS:-300}"; else LAT_MSGS="${LAT_MSGS:-3000}"; fi
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-300}"   # seconds to wait for relayed mail to reach the sink
RESULTS_DIR="$ROOT/bench/results"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "run as root (postfix needs it, and apt-get may be needed)"
[[ -x "$RAMPART" ]] || die "$RAMPART not found; build with: ninja -C $ROOT/build rampart"
command -v python3 >/dev/null || die "python3 is needed for the idle-connection memory test"
command -v ss >/dev/null || die "ss (iproute2) is needed"

# ---------------------------------------------------------------- install
if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null || ! command -v postconf >/dev/null; then
    log "installing postfix (smtp-source, smtp-sink) from apt"
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postfix >/dev/null
fi
getent passwd postfix >/dev/null || die "user postfix missing (postfix package not installed correctly)"
getent group postdrop >/dev/null || die "group postdrop missing"

# ---------------------------------------------------------------- workspace
mkdir -p "${BENCH_TMP:-/var/tmp}"
WORK="$(mktemp -d "${BENCH_TMP:-/var/tmp}/rampart-bench.XXXXXX")"
chmod 755 "$WORK"
PFDIR="$WORK/postfix"      # config_directory of the private instance
RPDIR="$WORK/rampart"
mkdir -p "$PFDIR" "$RPDIR"
SINK_PID="" RAMPART_PID="" PF_STARTED=0

cleanup() {
    local rc=$?
    set +e
    if [[ -n "$RAMPART_PID" ]] && kill -0 "$RAMPART_PID" 2>/dev/null; then
        kill -TERM "$RAMPART_PID"
        for _ in $(seq 50); do kill -0 "$RAMPART_PID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$RAMPART_PID" 2>/dev/null && { log "rampart did not stop on SIGTERM within 10s; SIGKILL"; kill -KILL "$RAMPART_PID"; }
        wait "$RAMPART_PID" 2>/dev/null
    fi
    if [[ "$PF_STARTED" == 1 ]]; then
        postfix -c "$PFDIR" stop >/dev/null 2>&1
        # master waits for its children; give it a moment, then make sure.
        local mpid
        mpid="$(head -1 "$WORK/postfix-queue/pid/master.pid" 2>/dev/null | tr -d ' ')"
        for _ in $(seq 50); do [[ -n "$mpid" ]] && kill -0 "$mpid" 2>/dev/null || break; sleep 0.2; done
    fi
    if [[ -n "$SINK_PID" ]] && kill -0 "$SINK_PID" 2>/dev/null; then
        kill -TERM "$SINK_PID"; wait "$SINK_PID" 2>/dev/null
    fi
    if [[ "${KEEP:-0}" == 1 || $rc -ne 0 ]]; then
        log "work directory kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- ports
USED_PORTS=" "
free_port() {   # VAR: first port in 27500-27999 nobody listens on and not handed out yet
    local -n out=$1
    local p
    for ((p = 27500; p < 28000; p++)); do
        [[ "$USED_PORTS" == *" $p "* ]] && continue
        if [[ -z "$(ss -Htan "sport = :$p")" ]]; then USED_PORTS+="$p "; out=$p; return; fi
    done
    die "no free port in 27500-27999"
}
wait_listen() {  # port seconds
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        [[ -n "$(ss -Hltn "sport = :$1")" ]] && return 0
        sleep 0.1
    done
    return 1
}
free_port SINK_PORT
free_port RAMPART_PORT
free_port POSTFIX_PORT

# ---------------------------------------------------------------- sink
# -c: running counters on stdout; -m 1000: up to 1000 concurrent sessions
# (default 256); backlog 1000. -u postfix: drop root after binding.
smtp-sink -c -u postfix -m 1000 "127.0.0.1:$SINK_PORT" 1000 >"$WORK/sink.out" 2>"$WORK/sink.err" &
SINK_PID=$!
wait_listen "$SINK_PORT" 10 || die "smtp-sink did not listen on $SINK_PORT: $(cat "$WORK/sink.err")"
sink_count() {
    local n
    n="$(tail -c 300 "$WORK/sink.out" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2)"
    echo "${n:-0}"
}

# ---------------------------------------------------------------- postfix
cat >"$PFDIR/main.cf" <<EOF
# Private benchmark instance, written by bench/run.sh.
compatibility_level = 3.6
queue_directory = $WORK/postfix-queue
data_directory = $WORK/postfix-data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench-postfix.test
mydomain = bench.test
myorigin = \$myhostname
# like rampart's [[domains]]: example.test is local, everything else relays
mydestination = example.test
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$SINK_PORT
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
# same as rampart's send_connectors.max_connections default (20)
default_destination_concurrency_limit = 20
smtp_destination_concurrency_limit = 20
in_flow_delay = 0
smtpd_tls_security_level = none
smtp_tls_security_level = none
smtp_dns_support_level = disabled
biff = no
maillog_file = $WORK/postfix.log
EOF
# chroot "n" everywhere; smtpd only on the benchmark port.
cat >"$PFDIR/master.cf" <<EOF
127.0.0.1:$POSTFIX_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
# postfix refuses to start when queue_directory is missing; it creates the
# subdirectories (and data_directory) itself with the right owners.
mkdir -p "$WORK/postfix-queue"
postfix -c "$PFDIR" check >"$WORK/postfix-check.out" 2>&1 || { cat "$WORK/postfix-check.out" >&2; die "postfix check failed"; }
postfix -c "$PFDIR" start >"$WORK/postfix-start.out" 2>&1 || { cat "$WORK/postfix-start.out" >&2; die "postfix start failed"; }
PF_STARTED=1
wait_listen "$POSTFIX_PORT" 20 || die "postfix did not listen on $POSTFIX_PORT; see $WORK/postfix.log"

# ---------------------------------------------------------------- rampart
cat >"$RPDIR/rampart.toml" <<EOF
# Written by bench/run.sh.
[server]
role = "all-in-one"
hostname = "bench.test"
data_dir = "$RPDIR/data"
log_file = "$WORK/rampart.log"
run_as_root = true   # benches run as root (CI) in a 0700 mktemp directory the rampart user could not enter

[[domains]]
name = "example.test"
type = "authoritative"

[[listeners]]
name = "bench"
bind = ["127.0.0.1:$RAMPART_PORT"]
tls = "none"
relay = { mode = "only-list", list = ["127.0.0.0/8"] }
limits = { max_connections = 2000, max_connections_per_source = 2000 }

[[send_connectors]]
name = "sink"
address_spaces = ["*"]
route = "smarthost"
smarthosts = ["127.0.0.1:$SINK_PORT"]
tls = "none"
EOF
# check exits 1 for exposures (this benchmark's listener is deliberately plain and open to
# loopback) and 2 for configuration errors: only 2 stops the run.
check_rc=0
"$RAMPART" check -c "$RPDIR/rampart.toml" >"$WORK/rampart-check.out" 2>&1 || check_rc=$?
((check_rc < 2)) || { cat "$WORK/rampart-check.out" >&2; die "rampart check failed"; }
"$RAMPART" serve -c "$RPDIR/rampart.toml" >"$WORK/rampart.stdout" 2>&1 &
RAMPART_PID=$!
wait_listen "$RAMPART_PORT" 20 || die "rampart did not listen on $RAMPART_PORT: $(tail -5 "$WORK/rampart.stdout")"
log "sink :$SINK_PORT  rampart :$RAMPART_PORT (pid $RAMPART_PID)  postfix :$POSTFIX_PORT  work $WORK"

# ---------------------------------------------------------------- memory with idle connections
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
idle_test() {   # prints: before_kib after_kib
    python3 - "$RAMPART_PID" "$RAMPART_PORT" "$IDLE_CONNS" <<'PY'
import resource, socket, sys, time
pid, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, n + 100)), hard))
def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
time.sleep(0.5)
before = rss()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    socks.append(s)
bad = 0
for s in socks:
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = s.recv(512)
        if not chunk:
            break
        buf += chunk
    if not buf.startswith(b"220"):
        bad += 1
        if bad <= 3:
            print("unexpected greeting:", buf[:200], file=sys.stderr)
time.sleep(1.0)
after = rss()
for s in socks:
    try:
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()
print(before, after, bad)
PY
}
log "memory: opening $IDLE_CONNS idle connections to rampart"
read -r RSS_BEFORE RSS_AFTER IDLE_BAD < <(idle_test)
[[ "$IDLE_BAD" == 0 ]] || log "WARNING: $IDLE_BAD of $IDLE_CONNS idle connections did not get a 220 greeting"
sleep 1

# ---------------------------------------------------------------- throughput
declare -A ACC E2E LAST   # key "server size sessions" -> space-separated rates / seconds
FAILURES=0
run_one() {   # server port size sessions msgs
    local srv=$1 port=$2 size=$3 sess=$4 n=$5 before t0 t1 t2 got out
    before="$(sink_count)"
    t0="$(date +%s.%N)"
    if ! out="$(smtp-source -s "$sess" -m "$n" -l "$size" -M client.bench.test \
            -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$port" 2>&1)"; then
        log "FAIL: $srv size=$size sessions=$sess: smtp-source: $(echo "$out" | tail -3)"
        FAILURES=$((FAILURES + 1))
    fi
    t1="$(date +%s.%N)"
    # wait until everything accepted has reached the sink (relay finished)
    local deadline=$((${t1%.*} + DRAIN_TIMEOUT))
    while :; do
        got="$(sink_count)"
        ((got - before >= n)) && break
        if (($(date +%s) > deadline)); then
            log "FAIL: $srv size=$size sessions=$sess: sink got $((got - before)) of $n within ${DRAIN_TIMEOUT}s"
            FAILURES=$((FAILURES + 1)); break
        fi
        sleep 0.05
    done
    t2="$(date +%s.%N)"
    local acc e2e last
    acc="$(awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", n / (b - a)}')"
    e2e="$(awk -v n="$n" -v a="$t0" -v b="$t2" 'BEGIN {printf "%.1f", n / (b - a)}')"
    last="$(awk -v a="$t0" -v b="$t2" 'BEGIN {printf "%.2f", b - a}')"
    ACC["$srv $size $sess"]+="$acc "
    E2E["$srv $size $sess"]+="$e2e "
    LAST["$srv $size $sess"]+="$last "
    log "$srv size=$size sessions=$sess msgs=$n: accepted $acc msg/s, relayed end-to-end $e2e msg/s, last message at the sink after $last s"
    sleep 0.5
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "n/a"; else if (NR % 2) print a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b + 0 > 0) printf "%.2f", a / b; else print "n/a"}'; }
human_size() { if (($1 % 1024 == 0)); then echo "$(($1 / 1024)) KiB"; else echo "$1 B"; fi; }
rate_table() {  # title, name of the associative array of "server size sessions" -> values,
                # optional: unit (default msg/s), "lower" when a smaller value is better
    local -n rates=$2
    local unit="${3:-msg/s}" lower="${4:-}"
    echo "### $1"
    echo
    if [[ "$lower" ]]; then
        echo "| size | sessions | rampart $unit | postfix $unit | ratio (postfix/rampart, >1: rampart faster) |"
    else
        echo "| size | sessions | rampart $unit | postfix $unit | ratio (rampart/postfix) |"
    fi
    echo "| ---: | ---: | ---: | ---: | ---: |"
    local size sess a b
    for size in $SIZES; do
        for sess in $SESSIONS; do
            a="$(echo "${rates["rampart $size $sess"]:-}" | median)"
            b="$(echo "${rates["postfix $size $sess"]:-}" | median)"
            if [[ "$lower" ]]; then
                echo "| $(human_size "$size") | $sess | $a | $b | $(ratio "$b" "$a") |"
            else
                echo "| $(human_size "$size") | $sess | $a | $b | $(ratio "$a" "$b") |"
            fi
        done
    done
    echo
}
ceiling_table() {  # acceptance rates as a fraction of the protocol ceiling (smtp-source -> smtp-sink)
    echo "### Acceptance as a fraction of the protocol ceiling (smtp-source straight into smtp-sink)"
    echo
    echo "| size | sessions | ceiling msg/s | rampart msg/s | rampart/ceiling | postfix msg/s | postfix/ceiling | rampart/postfix |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    local size sess c a b
    for size in $SIZES; do
        for sess in $SESSIONS; do
            c="$(echo "${ACC["ceiling $size $sess"]:-}" | median)"
            a="$(echo "${ACC["rampart $size $sess"]:-}" | median)"
            b="$(echo "${ACC["postfix $size $sess"]:-}" | median)"
            echo "| $(human_size "$size") | $sess | $c | $a | $(ratio "$a" "$c") | $b | $(ratio "$b" "$c") | $(ratio "$a" "$b") |"
        done
    done
    echo
    echo "Targets (issue 13): rampart/ceiling >= 0.50 and rampart/postfix >= 5 at 1 KiB with 10 and 50 sessions."
    echo
}

# warm-up: one small run each (page cache, process pools), not counted
log "warm-up"
smtp-source -s 10 -m 100 -l 1024 -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$RAMPART_PORT" >/dev/null 2>&1 || true
smtp-source -s 10 -m 100 -l 1024 -f sender@bench.test -t rcpt@relay.test "127.0.0.1:$POSTFIX_PORT" >/dev/null 2>&1 || true
for _ in $(seq 200); do (($(sink_count) >= 200)) && break; sleep 0.1; done
SINK_START="$(sink_count)"

for size in $SIZES; do
    if ((size <= 10240)); then n=$MSGS_SMALL; else n=$MSGS_LARGE; fi
    for sess in $SESSIONS; do
        for ((r = 1; r <= REPEAT; r++)); do
            # the protocol ceiling: the same client straight into the sink, in the same
            # run, so that every ratio compares like with like on a (possibly busy) machine
            case $((r % 3)) in
            1)  run_one ceiling "$SINK_PORT" "$size" "$sess" "$n"
                run_one rampart "$RAMPART_PORT" "$size" "$sess" "$n"
                run_one postfix "$POSTFIX_PORT" "$size" "$sess" "$n" ;;
            2)  run_one postfix "$POSTFIX_PORT" "$size" "$sess" "$n"
                run_one ceiling "$SINK_PORT" "$size" "$sess" "$n"
                run_one rampart "$RAMPART_PORT" "$size" "$sess" "$n" ;;
            0)  run_one rampart "$RAMPART_PORT" "$size" "$sess" "$n"
                run_one postfix "$POSTFIX_PORT" "$size" "$sess" "$n"
                run_one ceiling "$SINK_PORT" "$size" "$sess" "$n" ;;
            esac
        done
    done
done

# ---------------------------------------------------------------- latency at 50 sessions
# bench/loadgen.py times every message from the client's CRLF.CRLF to the 250 reply
# (for a durable server: the time to make the message safe). The sink's figure is the
# client's own floor (a Python client on the same cores).
declare -A LAT
lat_one() {   # server port
    local srv=$1 port=$2 before out got deadline
    before="$(sink_count)"
    if ! out="$(python3 "$ROOT/bench/loadgen.py" --port "$port" --sessions "$LAT_SESSIONS" --messages "$LAT_MSGS" --size 1024 2>&1)"; then
        log "FAIL: latency $srv: $(echo "$out" | tail -3)"
        FAILURES=$((FAILURES + 1))
    fi
    LAT[$srv]="$(echo "$out" | grep '^messages=' | tail -1)"
    log "latency $srv: ${LAT[$srv]}"
    deadline=$(($(date +%s) + DRAIN_TIMEOUT))
    while (($(sink_count) - before < LAT_MSGS)) && (($(date +%s) <= deadline)); do sleep 0.05; done
    sleep 0.5
}
lat_field() { echo "${LAT[$1]:-}" | tr ' ' '\n' | awk -F= -v k="$2" '$1 == k {print $2}'; }
lat_one ceiling "$SINK_PORT"
lat_one rampart "$RAMPART_PORT"
lat_one postfix "$POSTFIX_PORT"
RSS_END="$(rss_kib "$RAMPART_PID")"

# ---------------------------------------------------------------- verification
SINK_TOTAL="$(sink_count)"
R_REFUSED="$(grep -c 'result=refused' "$WORK/rampart.log" || true)"
R_ACCEPTED="$(grep 'smtp.transaction' "$WORK/rampart.log" | grep -c 'result=accepted' || true)"
R_DELIVERED="$(grep 'delivery.attempt' "$WORK/rampart.log" | grep -c 'result=delivered' || true)"
R_OTHER="$(grep 'delivery.attempt' "$WORK/rampart.log" | grep -vc 'result=delivered' || true)"
P_SENT="$(grep -c 'status=sent' "$WORK/postfix.log" || true)"
P_NOTSENT="$(grep -Ec "status=(deferred|bounced)" "$WORK/postfix.log" || true)"
P_REJECT="$(grep -c 'NOQUEUE: reject' "$WORK/postfix.log" || true)"

# ---------------------------------------------------------------- report
CPU="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
RV="$("$RAMPART" version 2>&1 | head -1)"
PV="$(postconf -d -h mail_version)"
{
    echo "## rampart vs Postfix — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- Machine: $(nproc) CPUs, ${CPU:-unknown CPU}, kernel $(uname -r), $(awk '/^MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo)"
    echo "- Versions: $RV; Postfix $PV; smtp-source/smtp-sink from Postfix $PV"
    echo "- Runs: REPEAT=$REPEAT (median shown), ${MSGS_SMALL} msgs per run at 1 KiB, ${MSGS_LARGE} at 100 KiB; one message per connection; the ceiling (smtp-source straight into smtp-sink), rampart and Postfix take turns, order rotated each repeat; both servers relay to the same smtp-sink on loopback; spool/queue on $(df -T "$WORK" | awk 'NR==2 {print $2}')"
    echo "- Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (figures taken while other work ran on the machine are noisy)"
    echo
    ceiling_table
    rate_table "Acceptance rate (smtp-source start to last 250 reply)" ACC
    rate_table "End-to-end relay rate (smtp-source start until the sink has every message)" E2E
    rate_table "Time until the last message reaches the sink (from smtp-source start)" LAST s lower
    echo "### Latency: end of data (CRLF.CRLF sent) to 250, 1 KiB, $LAT_SESSIONS sessions, $LAT_MSGS messages (bench/loadgen.py)"
    echo
    echo "| target | accepted | msg/s | p50 ms | p90 ms | p99 ms | max ms |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    for srv in ceiling rampart postfix; do
        echo "| $srv | $(lat_field $srv accepted) | $(lat_field $srv rate) | $(lat_field $srv p50_ms) | $(lat_field $srv p90_ms) | $(lat_field $srv p99_ms) | $(lat_field $srv max_ms) |"
    done
    echo
    echo "(ceiling: the client straight into smtp-sink, i.e. the Python client's own floor.)"
    echo
    echo "### Memory"
    echo
    awk -v b="$RSS_BEFORE" -v a="$RSS_AFTER" -v n="$IDLE_CONNS" -v e="$RSS_END" 'BEGIN {
        printf "- rampart RSS with %d idle connections (greeting read, fresh process): %.1f MiB before, %.1f MiB with them open, %.1f KiB per connection\n", n, b/1024, a/1024, (a-b)/n
        printf "- rampart RSS after all throughput runs: %.1f MiB\n", e/1024 }'
    echo
    echo "### Checks"
    echo
    echo "- failures (smtp-source errors or undelivered within ${DRAIN_TIMEOUT}s): $FAILURES; idle connections without 220: $IDLE_BAD"
    echo "- rampart log: $R_ACCEPTED accepted, $R_REFUSED refused, $R_DELIVERED delivery attempts delivered, $R_OTHER other attempts"
    echo "- postfix log: $P_SENT status=sent, $P_NOTSENT deferred/bounced, $P_REJECT rejected"
    echo "- smtp-sink received $SINK_TOTAL messages in total ($((SINK_TOTAL - SINK_START)) during the measured runs, the ceiling runs included)"
} | tee "$WORK/report.md"
# The edge row (issue 9): the same machine, right after, with bench/filters.sh's scenarios
# plain and edge (connection filter with a local block-list zone, recipient lookup, SPF;
# rspamd off; EDGE_RSPAMD=1 adds the rspamd row). EDGE=0 skips it.
if [[ "${EDGE:-1}" == 1 ]]; then
    log "edge row: bench/filters.sh (plain vs edge)"
    {
        echo
        echo "### The edge row (bench/filters.sh: plain vs edge, rspamd $([[ "${EDGE_RSPAMD:-0}" == 1 ]] && echo on || echo off))"
        echo
        if ! QUICK="$QUICK" REPEAT="$REPEAT" SKIP_AV=1 SKIP_RSPAMD=$([[ "${EDGE_RSPAMD:-0}" == 1 ]] && echo 0 || echo 1) \
            RAMPART="$RAMPART" "$ROOT/bench/filters.sh" 2>"$WORK/filters.err" | grep -E '^(\| |- )'; then
            echo "(bench/filters.sh failed: $(tail -1 "$WORK/filters.err"))"
        fi
    } | tee -a "$WORK/report.md"
fi
mkdir -p "$RESULTS_DIR"
cp "$WORK/report.md" "$RESULTS_DIR/latest.md"
log "written $RESULTS_DIR/latest.md"
if ((FAILURES > 0)); then
    KEEP=1
    log "there were $FAILURES failures; logs in $WORK"
fi
