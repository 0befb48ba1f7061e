#!/usr/bin/env bash
# run.sh - fnhost benchmarks: they print figures and ratios, not pass/fail.
# SPDX-License-Identifier: Apache-2.0
#
#   bench/run.sh            every benchmark
#   bench/run.sh ingest     the named ones (bench/run.sh -l lists them)
#
# Environment:
#   FNHOST_BUILD    build directory holding fnhost and bench/ (default: build)
#   BENCH_SECONDS   length of each wrk run, per side (default: 10)
#   BENCH_VERBOSE   1: also print wrk's own output
#
# A benchmark is a function bench_NAME; add its name to BENCHES. Each one
# may call fail, which makes the script exit 1 after the rest have run
# (a durability check that does not hold is a bug, whatever the figures).
set -euo pipefail

BENCHES=(ingest)

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -n ${FNHOST_BUILD:-} ]]; then
    BUILD=$(cd "$FNHOST_BUILD" 2>/dev/null && pwd) ||
        { echo "bench: FNHOST_BUILD=$FNHOST_BUILD: no such directory" >&2
          exit 2; }
else
    BUILD=$ROOT/build
fi
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
VERBOSE=${BENCH_VERBOSE:-0}
TMP=
CHILDREN=()     # pids we started and have not reaped yet
FAILED=0

# Servers run under setsid: each leads its own process group, so a SIGKILL
# to the group also ends the daemon's workers, and a ^C at the terminal
# reaches them only through our cleanup (SIGTERM first).

die() {
    echo "bench: $*" >&2
    exit 1
}

fail() {
    echo "bench: FAILED: $*" >&2
    FAILED=1
}

# True while PID runs (a zombie does not count: kill -0 would say yes).
alive() {
    local st
    st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $st != Z* ]]
}

forget() {
    local p keep=()
    for p in "${CHILDREN[@]}"; do
        [[ $p == "$1" ]] || keep+=("$p")
    done
    CHILDREN=("${keep[@]}")
}

cleanup() {
    local p i
    trap - EXIT INT TERM
    for p in "${CHILDREN[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    for p in "${CHILDREN[@]}"; do
        for ((i = 0; i < 50; i++)); do
            alive "$p" || break
            sleep 0.1
        done
        kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    [[ -n $TMP ]] && rm -rf "$TMP"
}

# stop PID NAME: SIGTERM, up to 30 s to exit, then SIGKILL to its process
# group (what the server forked may outlive it otherwise). Sets STOP_RC
# to the exit status (or "killed") and calls fail unless it exited 0.
stop() {
    local pid=$1 name=$2 i
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        forget "$pid"
        STOP_RC=killed
        fail "$name did not exit within 30 s of SIGTERM; killed it"
        return 0
    fi
    STOP_RC=0
    wait "$pid" || STOP_RC=$?
    forget "$pid"
    if [[ $STOP_RC != 0 ]]; then
        fail "$name exited with status $STOP_RC after SIGTERM"
    fi
}

# show_log FILE: the last lines a server wrote, for a failure message.
show_log() {
    [[ -s $1 ]] || return 0
    echo "--- last lines of $1:" >&2
    tail -n 20 "$1" >&2
}

# wait_for FILE PID NAME: polls up to 10 s for FILE to be non-empty.
wait_for() {
    local file=$1 pid=$2 name=$3 i
    for ((i = 0; i < 200; i++)); do
        [[ -s $file ]] && return 0
        alive "$pid" || { show_log "$TMP/$name.log"
                          die "$name exited before it was listening"; }
        sleep 0.05
    done
    show_log "$TMP/$name.log"
    die "$name was not listening after 10 s (no $file)"
}

# start_bare NAME: starts bench/bare on an ephemeral port; sets PID, PORT.
start_bare() {
    local name=$1 out=$TMP/$1.port
    setsid "$BUILD/bench/bare" 127.0.0.1 0 >"$out" 2>"$TMP/$name.log" &
    PID=$!
    CHILDREN+=("$PID")
    wait_for "$out" "$PID" "$name"
    PORT=$(awk '$1 == "port" { print $2; exit }' "$out")
    [[ $PORT =~ ^[0-9]+$ ]] || die "$name printed '$(cat "$out")', not a port"
}

# start_fnhost NAME: starts the daemon with fresh state and no plugins;
# sets PID, PORT, STATE.
start_fnhost() {
    local name=$1 addr i
    STATE=$TMP/state
    mkdir -p "$STATE" "$TMP/plugins"
    setsid "$BUILD/fnhost" serve --listen 127.0.0.1:0 --state "$STATE" \
        --plugins "$TMP/plugins" --workers 2 >"$TMP/$name.log" 2>&1 &
    PID=$!
    CHILDREN+=("$PID")
    # The daemon writes its bound address once it listens. Reread until it
    # parses, in case we catch it half-written.
    for ((i = 0; i < 200; i++)); do
        wait_for "$STATE/fnhost.addr" "$PID" "$name"
        addr=$(head -n 1 "$STATE/fnhost.addr")
        if [[ $addr =~ ^127\.0\.0\.1:([0-9]+)$ ]]; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        sleep 0.05
    done
    die "$name: $STATE/fnhost.addr holds '$addr', not 127.0.0.1:PORT"
}

# run_wrk NAME URL [wrk args...]: runs wrk into $TMP/wrk-NAME.txt and sets
# W_REQS, W_NON2XX, W_ACKED, W_RPS, W_P50, W_P99 (latencies in ms), W_ERRS.
run_wrk() {
    local name=$1 url=$2 out=$TMP/wrk-$1.txt rc=0 pid
    shift 2
    wrk "$@" --latency -s "$ROOT/bench/post.lua" "$url" >"$out" 2>&1 &
    pid=$!
    CHILDREN+=("$pid")
    wait "$pid" || rc=$?
    forget "$pid"
    if [[ $VERBOSE == 1 ]]; then
        sed 's/^/    wrk: /' "$out"
    fi
    ((rc == 0)) || { cat "$out" >&2; die "wrk against $name failed ($rc)"; }

    W_REQS=$(awk '$2 == "requests" && $3 == "in" { print $1; exit }' "$out")
    W_RPS=$(awk '$1 == "Requests/sec:" { print $2; exit }' "$out")
    W_NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF; exit }' "$out")
    W_ERRS=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, "");
                                     print; exit }' "$out")
    W_P50=$(wrk_latency_ms 50% "$out")
    W_P99=$(wrk_latency_ms 99% "$out")
    [[ -n $W_REQS && -n $W_RPS && -n $W_P50 && -n $W_P99 ]] ||
        { cat "$out" >&2; die "cannot read wrk's output for $name"; }
    W_NON2XX=${W_NON2XX:-0}
    W_ACKED=$((W_REQS - W_NON2XX))
}

# wrk_latency_ms PCT FILE: that percentile from "Latency Distribution", in
# ms. wrk prints e.g. "99%  812.00us", "1.35ms", "2.01s", "1.50m".
wrk_latency_ms() {
    awk -v pct="$1" '
        $1 == pct && NF == 2 {
            v = $2; u = $2
            sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
            if (u == "us") f = 0.001
            else if (u == "ms") f = 1
            else if (u == "s") f = 1000
            else if (u == "m") f = 60000
            else if (u == "h") f = 3600000
            else exit 1
            printf "%.3f\n", v * f
            exit
        }' "$2"
}

# row LABEL RPS P50 P99 [VS]: one line of a result table.
row() {
    printf '  %-36s %10.0f %9.2f ms %9.2f ms %8s\n' "$1" "$2" "$3" "$4" \
        "${5:-}"
}

# pct A B: A/B as a percentage with one decimal.
pct() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (b > 0) printf "%.1f%%", 100 * a / b; else print "n/a" }'
}

# --- benchmarks -----------------------------------------------------------

# ingest: POST /e/{key} with a Clerk user.created event, first against
# bench/bare (the same HTTP and JSON work, nothing stored), then against
# fnhost, which answers only once the event has committed. The ratio is
# the price of durability.
bench_ingest() {
    local event=$ROOT/bench/clerk-event.json size title
    local -a args=(-t1 -c64 "-d${SECONDS_PER_RUN}s")
    local b_rps b_p50 b_p99 f_rps f_p50 f_p99 acked non2xx errs stored

    size=$(wc -c <"$event")
    title=$(awk -v n="$size" 'BEGIN { printf "%.1f KB", n / 1000 }')
    echo "ingest: bare, ${SECONDS_PER_RUN} s ..." >&2
    start_bare bare
    run_wrk bare "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    stop "$PID" bare
    b_rps=$W_RPS b_p50=$W_P50 b_p99=$W_P99
    if ((W_NON2XX > 0)); then
        fail "bare answered $W_NON2XX requests with an error status"
    fi

    echo "ingest: fnhost, ${SECONDS_PER_RUN} s ..." >&2
    start_fnhost fnhost
    run_wrk fnhost "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    stop "$PID" fnhost
    f_rps=$W_RPS f_p50=$W_P50 f_p99=$W_P99
    acked=$W_ACKED non2xx=$W_NON2XX errs=$W_ERRS
    stored=$(sqlite3 "$STATE/fnhost.db" 'select count(*) from events') ||
        { fail "cannot count the events in $STATE/fnhost.db"; stored=0; }

    echo
    echo "ingest ($title Clerk event, 64 connections, keep-alive)"
    printf '  %-36s %10s %12s %12s %8s\n' "" "req/s" "p50" "p99" "vs bare"
    row "bare" "$b_rps" "$b_p50" "$b_p99" "100%"
    row "fnhost durable (synchronous=FULL)" "$f_rps" "$f_p50" "$f_p99" \
        "$(pct "$f_rps" "$b_rps")"
    if ((non2xx > 0)); then
        echo "  fnhost: $non2xx of $W_REQS responses were not 2xx" \
            "(see $TMP/fnhost.log)"
    fi
    if [[ -n $errs ]]; then
        echo "  fnhost: wrk socket errors: $errs"
    fi
    echo "durability check: $acked acknowledged, $stored stored"
    if ((acked == 0)); then
        show_log "$TMP/fnhost.log"
        fail "fnhost acknowledged no event; the figures mean nothing"
    elif ((stored < acked)); then
        show_log "$TMP/fnhost.log"
        fail "fnhost acknowledged $acked events but stored only $stored"
    fi
}

# --- main -----------------------------------------------------------------

usage() {
    echo "usage: bench/run.sh [-l] [BENCHMARK...]   (${BENCHES[*]})" >&2
    exit 2
}

main() {
    local b k known opt tool
    local -a run=()

    while getopts lh opt; do
        case $opt in
        l) printf '%s\n' "${BENCHES[@]}"; exit 0 ;;
        *) usage ;;
        esac
    done
    shift $((OPTIND - 1))
    run=("$@")
    ((${#run[@]} > 0)) || run=("${BENCHES[@]}")
    for b in "${run[@]}"; do
        known=0
        for k in "${BENCHES[@]}"; do [[ $k == "$b" ]] && known=1; done
        ((known)) || { echo "bench: no benchmark '$b'" >&2; usage; }
    done
    [[ $SECONDS_PER_RUN =~ ^[1-9][0-9]*$ ]] ||
        die "BENCH_SECONDS=$SECONDS_PER_RUN: want a whole number of seconds"
    for tool in wrk sqlite3 ps setsid; do
        command -v "$tool" >/dev/null ||
            die "$tool not found; run: scripts/deps.sh bench"
    done
    [[ -x $BUILD/bench/bare ]] || die "no $BUILD/bench/bare; run: make bench"
    [[ -x $BUILD/fnhost ]] || die "no $BUILD/fnhost; run: make bench"

    TMP=$(mktemp -d "${TMPDIR:-/tmp}/fnhost-bench.XXXXXX")
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    for b in "${run[@]}"; do
        "bench_$b"
    done
    ((FAILED == 0)) || exit 1
}

main "$@"
