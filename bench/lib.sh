# bench/lib.sh — shared by bench/million.sh and bench/scale.sh (sourced, not run): a work
# directory, an smtp-sink, and a rampart relaying to it on loopback; cleanup stops exactly
# the processes started here (by PID) and removes the work directory unless KEEP=1 or the
# run failed. bench/run.sh predates this file and keeps its own copy (it also runs Postfix).
# The caller may set RAMPART_SERVER_EXTRA (more [server] keys), RAMPART_LISTENER_EXTRA
# (the listener's keys after relay, default: limits of 2000 connections) and RAMPART_EXTRA
# (more TOML appended to the file) before start_rampart.
set -euo pipefail
export PATH="/usr/sbin:/usr/bin:/sbin:/bin:$PATH"
export LC_ALL=C

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RAMPART="${RAMPART:-$ROOT/build/rampart}"

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[[ -x "$RAMPART" ]] || die "$RAMPART not found; build with: scripts/build.sh rampart"
command -v smtp-sink >/dev/null && command -v smtp-source >/dev/null \
    || die "smtp-source/smtp-sink missing: run bench/run.sh once (it installs postfix) or apt-get install postfix"
command -v ss >/dev/null || die "ss (iproute2) is needed"

mkdir -p "${BENCH_TMP:-/var/tmp}"
WORK="$(mktemp -d "${BENCH_TMP:-/var/tmp}/rampart-bench.XXXXXX")"
chmod 755 "$WORK"
RPDIR="$WORK/rampart"
mkdir -p "$RPDIR"
SINK_PID="" RAMPART_PID=""
EXTRA_PIDS=()

cleanup() {
    local rc=$?
    set +e
    local p
    for p in "${EXTRA_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    if [[ -n "$RAMPART_PID" ]] && kill -0 "$RAMPART_PID" 2>/dev/null; then
        kill -TERM "$RAMPART_PID"
        for _ in $(seq 100); do kill -0 "$RAMPART_PID" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$RAMPART_PID" 2>/dev/null && { log "rampart did not stop on SIGTERM within 20s; SIGKILL"; kill -KILL "$RAMPART_PID"; }
        wait "$RAMPART_PID" 2>/dev/null
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
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

start_sink() {
    free_port SINK_PORT
    smtp-sink -c -u postfix -m 1000 "127.0.0.1:$SINK_PORT" 1000 >"$WORK/sink.out" 2>"$WORK/sink.err" &
    SINK_PID=$!
    wait_listen "$SINK_PORT" 10 || die "smtp-sink did not listen on $SINK_PORT: $(cat "$WORK/sink.err")"
}
sink_count() {
    local n
    n="$(tail -c 300 "$WORK/sink.out" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2)"
    echo "${n:-0}"
}

start_rampart() {
    free_port RAMPART_PORT
    : "${RAMPART_LISTENER_EXTRA:=limits = { max_connections = 2000, max_connections_per_source = 2000 \}}"
    cat >"$RPDIR/rampart.toml" <<EOF
# Written by bench/lib.sh for $(basename "$0").
[server]
role = "all-in-one"
hostname = "bench.test"
data_dir = "$RPDIR/data"
log_file = "$WORK/rampart.log"
run_as_root = true   # benches run as root (CI) in a 0700 mktemp directory the rampart user could not enter
${RAMPART_SERVER_EXTRA:-}

[[domains]]
name = "example.test"
type = "authoritative"

[[listeners]]
name = "bench"
bind = ["127.0.0.1:$RAMPART_PORT"]
tls = "none"
relay = { mode = "only-list", list = ["127.0.0.0/8"] }
$RAMPART_LISTENER_EXTRA

[[send_connectors]]
name = "sink"
address_spaces = ["*"]
route = "smarthost"
smarthosts = ["127.0.0.1:$SINK_PORT"]
tls = "none"
${RAMPART_EXTRA:-}
EOF
    local check_rc=0
    "$RAMPART" check -c "$RPDIR/rampart.toml" >"$WORK/rampart-check.out" 2>&1 || check_rc=$?
    ((check_rc < 2)) || { cat "$WORK/rampart-check.out" >&2; die "rampart check failed"; }
    "$RAMPART" serve -c "$RPDIR/rampart.toml" >"$WORK/rampart.stdout" 2>&1 &
    RAMPART_PID=$!
    wait_listen "$RAMPART_PORT" 20 || die "rampart did not listen on $RAMPART_PORT: $(tail -5 "$WORK/rampart.stdout")"
    log "sink :$SINK_PORT  rampart :$RAMPART_PORT (pid $RAMPART_PID)  work $WORK"
}

machine_line() {
    echo "- Machine: $(nproc) CPUs, $(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo), kernel $(uname -r); load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $("$RAMPART" version 2>&1 | head -1)"
}
