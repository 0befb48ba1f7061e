#!/usr/bin/env bash
# run.sh - fnhost benchmarks: they print figures and ratios, not pass/fail.
# SPDX-License-Identifier: Apache-2.0
#
#   bench/run.sh            every benchmark
#   bench/run.sh ingest     the named ones (bench/run.sh -l lists them)
#
# Environment:
#   FNHOST_BUILD    build directory holding fnhost and bench/ (default: build)
#   BENCH_SECONDS   length of each measured run (wrk, steps_load; default: 10)
#   BENCH_VERBOSE   1: also print wrk's own output (and steps_load's)
#   BENCH_STEPS     steps: the step counts to run (default "1 3 10")
#   BENCH_WORKERS   steps: the worker counts to try (default "2 8 32")
#   FLOOR_REPEAT    steps: floor runs per figure, best kept (default 2)
#   BENCH_SLEEPERS  sleepers: how many sleeping runs (default 1000000)
#   BENCH_WAITERS   waits: how many runs wait for an event (default 100000)
#   BENCH_RELOADS   reload: timed `fnhost reload`s (default 5)
#   BENCH_RELOAD_PLUGINS  reload: how many plugins (default 50)
#   BENCH_FETCH_WORKERS   fetch: workers (default 8)
#   BENCH_FANOUT_WORKERS  fanout: workers (default 32)
#   BENCH_CONC_WORKERS    concurrency, flow: workers (default 8)
#   BENCH_RETENTION_SECONDS  retention: each run's length (default 40)
#
# A benchmark is a function bench_NAME; add its name to BENCHES. Each one
# may call fail, which makes the script exit 1 after the rest have run
# (a durability check that does not hold is a bug, whatever the figures).
set -euo pipefail

BENCHES=(ingest webhooks steps invoke fanout sleepers waits reload fetch
         concurrency flow retention)

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
    shift
    setsid "$BUILD/bench/bare" 127.0.0.1 0 "$@" >"$out" 2>"$TMP/$name.log" &
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
    shift
    STATE=$TMP/state
    mkdir -p "$STATE" "$TMP/plugins"
    setsid "$BUILD/fnhost" serve --listen 127.0.0.1:0 --state "$STATE" \
        --plugins "$TMP/plugins" --workers 2 "$@" >"$TMP/$name.log" 2>&1 &
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
    local s_rps s_p50 s_p99

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

    echo "ingest: bare with fnhost's scanner, ${SECONDS_PER_RUN} s ..." >&2
    start_bare bare-scan scan
    run_wrk bare-scan "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    stop "$PID" bare-scan
    s_rps=$W_RPS s_p50=$W_P50 s_p99=$W_P99
    if ((W_NON2XX > 0)); then
        fail "bare (scan) answered $W_NON2XX requests with an error status"
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
    row "bare (json-c: the goal's baseline)" "$b_rps" "$b_p50" "$b_p99" "100%"
    row "bare, fnhost's scanner" "$s_rps" "$s_p50" "$s_p99" \
        "$(pct "$s_rps" "$b_rps")"
    row "fnhost durable (synchronous=FULL)" "$f_rps" "$f_p50" "$f_p99" \
        "$(pct "$f_rps" "$b_rps")"
    echo "  fnhost against bare with its scanner (the store's price alone):" \
        "$(pct "$f_rps" "$s_rps")"
    echo "  goal (#10): fnhost >= 80% of bare (json-c), in the same run"
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

# webhooks: a Clerk user.created delivered to /webhooks/clerk, signed the
# way Svix signs it (verified on every request, then stored), next to the
# same user posted to /e/ as an event, in the same run.
bench_webhooks() {
    local payload=$ROOT/examples/user-sync/webhook.user.created.json
    local -a args=(-t1 -c64 "-d${SECONDS_PER_RUN}s")
    local e_rps e_p50 e_p99 w_rps w_p50 w_p99 secret
    secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw

    jq -c '{name: "clerk/user.created", data: .data}' "$payload" \
        >"$TMP/event.json"
    echo "webhooks: /e/ and /webhooks/clerk, ${SECONDS_PER_RUN} s each ..." >&2
    FNHOST_WEBHOOK_CLERK_SECRET=$secret start_fnhost webhooks
    BENCH_EVENT=$TMP/event.json run_wrk events \
        "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    e_rps=$W_RPS e_p50=$W_P50 e_p99=$W_P99
    "$BUILD/fnhost" sign --secret "$secret" @"$payload" >"$TMP/headers"
    BENCH_EVENT=$payload BENCH_HEADERS=$TMP/headers run_wrk webhooks \
        "http://127.0.0.1:$PORT/webhooks/clerk" "${args[@]}"
    w_rps=$W_RPS w_p50=$W_P50 w_p99=$W_P99
    stop "$PID" webhooks
    if ((W_NON2XX > 0)); then
        show_log "$TMP/webhooks.log"
        fail "$W_NON2XX webhook deliveries were refused"
    fi
    echo
    echo "webhooks (Clerk user.created, $(wc -c <"$payload") bytes, 64" \
        "connections, synchronous=FULL)"
    printf '  %-36s %10s %12s %12s %8s\n' "" "req/s" "p50" "p99" "vs /e/"
    row "POST /e/ (event API)" "$e_rps" "$e_p50" "$e_p99" "100%"
    row "POST /webhooks/clerk (Svix-verified)" "$w_rps" "$w_p50" "$w_p99" \
        "$(pct "$w_rps" "$e_rps")"
}

# --- durable steps --------------------------------------------------------

# start_stepper NAME STATE WORKERS: starts fnhost on STATE with only the
# bench plugin (bench/plugins/stepper.so) and WORKERS workers ("" for the
# default); sets PID, PORT, EXEC_MS (wall ms just before the exec).
# --log-level debug adds the store's "closed after N ops in M commits"
# line at exit, our fallback for the group commit size; nothing debug is
# logged per run.
# bench_retention: the event API at full speed for a while, with events
# kept 5 s and kept for good: the store's size over time in each, and what
# retention costs ingest.
bench_retention() {
    local secs=${BENCH_RETENTION_SECONDS:-40} keep name rps=() sizes=() i
    local -a args=(-t1 -c64 "-d${secs}s")

    for keep in 5s 0; do
        name=retention-$keep
        echo "retention: events kept ${keep/#0/for good}, $secs s ..." >&2
        rm -rf "$TMP/state"
        start_fnhost "$name" --retain-events "$keep" --retain-runs "$keep"
        (
            for ((i = 5; i <= secs; i += 5)); do
                sleep 5
                du -k -c "$STATE"/fnhost.db* 2>/dev/null | tail -n 1 |
                    awk '{ printf "%.0f ", $1 / 1024 }'
            done
        ) >"$TMP/$name.sizes" &
        CHILDREN+=("$!")
        run_wrk "$name" "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
        wait "${CHILDREN[-1]}" 2>/dev/null || true
        forget "${CHILDREN[-1]}"
        stop "$PID" "$name"
        rps+=("$W_RPS")
        sizes+=("$(cat "$TMP/$name.sizes")")
        if ((W_NON2XX > 0)); then
            fail "$name: $W_NON2XX requests were refused"
        fi
    done
    echo
    echo "retention (1.5 KB events at full speed, 64 connections, $secs s;" \
        "the store's size every 5 s, MiB, with its WAL)"
    printf '  %-28s %10s  %s\n' "" "req/s" "size"
    printf '  %-28s %10.0f  %s\n' "events kept 5 s" "${rps[0]}" "${sizes[0]}"
    printf '  %-28s %10.0f  %s\n' "kept for good (retention off)" \
        "${rps[1]}" "${sizes[1]}"
    echo "  ingest with retention deleting as fast as events come:" \
        "$(pct "${rps[0]}" "${rps[1]}") of ingest without it"
}

start_stepper() {
    local name=$1 state=$2 workers=$3 addr i
    local -a extra=()
    [[ -n $workers ]] && extra=(--workers "$workers")
    [[ -n ${STEPPER_CONFIG:-} ]] && extra+=(--config "$STEPPER_CONFIG")
    mkdir -p "$state" "$TMP/stepper"
    if [[ ! -e $TMP/stepper/stepper.so ]]; then
        [[ -f $BUILD/bench/plugins/stepper.so ]] ||
            die "no $BUILD/bench/plugins/stepper.so; run: make bench"
        install -m 644 "$BUILD/bench/plugins/stepper.so" "$TMP/stepper/"
    fi
    rm -f "$state/fnhost.addr"
    EXEC_MS=$(date +%s%3N)
    setsid "$BUILD/fnhost" serve --listen 127.0.0.1:0 --state "$state" \
        --plugins "$TMP/stepper" --log-level debug "${extra[@]}" \
        >"$TMP/$name.log" 2>&1 &
    PID=$!
    CHILDREN+=("$PID")
    for ((i = 0; i < 200; i++)); do
        wait_for "$state/fnhost.addr" "$PID" "$name"
        addr=$(head -n 1 "$state/fnhost.addr")
        if [[ $addr =~ ^127\.0\.0\.1:([0-9]+)$ ]]; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        sleep 0.05
    done
    die "$name: $state/fnhost.addr holds '$addr', not 127.0.0.1:PORT"
}

# kv FILE KEY: the value of "KEY value" in a steps_load/floor output.
kv() {
    awk -v k="$2" '$1 == k { print $2; exit }' "$1"
}

# log_group LOG: ops/commits from the store's line at exit, or nothing.
log_group() {
    awk '/\[store\] closed after [0-9]+ ops in [0-9]+ commits/ {
            for (i = 1; i <= NF; i++) {
                if ($i == "after") o = $(i + 1)
                if ($i == "in") c = $(i + 1)
            }
            if (c > 0) printf "%.1f\n", o / c
         }' "$1"
}

# rss_kb PID: VmRSS in kB (0 if gone).
rss_kb() {
    awk '$1 == "VmRSS:" { print $2; f = 1 } END { if (!f) print 0 }' \
        "/proc/$1/status" 2>/dev/null || echo 0
}

# workers_mem PID: "N RSS_KB PSS_KB" over the direct children of PID.
workers_mem() {
    local c n=0 rss=0 pss=0 r p
    for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        r=$(rss_kb "$c")
        p=$(awk '$1 == "Pss:" { print $2 }' "/proc/$c/smaps_rollup" \
            2>/dev/null || echo 0)
        n=$((n + 1)) rss=$((rss + r)) pss=$((pss + ${p:-0}))
    done
    echo "$n $rss $pss"
}

mb() {
    awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'
}

# floor_best K RUNS GROUP: best of FLOOR_REPEAT (default 2) floor runs:
# the floor is a ceiling, and noise (a shared disk) only lowers it.
# Sets F_RPS.
floor_best() {
    local k=$1 n=$2 g=$3 i r out=$TMP/floor.txt
    F_RPS=0
    for ((i = 0; i < ${FLOOR_REPEAT:-2}; i++)); do
        "$BUILD/bench/floor" -k "$k" -n "$n" -g "$g" -c 64 \
            "$TMP/floor.db" >"$out" || die "bench/floor failed"
        r=$(kv "$out" runs_per_s)
        F_RPS=$(awk -v a="$r" -v b="$F_RPS" 'BEGIN { print (a > b) ? a : b }')
    done
}

# steps: closed-loop runs of 1, 3 and 10 trivial steps, 64 runs in
# flight, against the floor: the same rows written straight to SQLite by
# one thread in groups of the same size. fnhost runs with several worker
# counts (BENCH_WORKERS, default "2 8 32"): a worker blocks on each
# step's acknowledgement, so the workers bound how many checkpoints one
# commit can carry; the best is reported with its worker count.
bench_steps() {
    local k kn w state out best_rps best_w best_out g n schema_f schema_h
    local floor_g floor_64 ratio ratio64 lines=() rps
    local -a workers=(${BENCH_WORKERS:-2 8 32})
    # "3a": the 3-step function that checkpoints ahead (its floor is 3's).
    local -a ks=(${BENCH_STEPS:-1 3 3a 10})

    [[ -x $BUILD/bench/steps_load && -x $BUILD/bench/floor ]] ||
        die "no $BUILD/bench/steps_load or floor; run: make bench"
    for k in "${ks[@]}"; do
        best_rps=0 best_w= best_out=
        for w in "${workers[@]}"; do
            echo "steps: $k-step runs, $w workers, 2 s warmup +" \
                "${SECONDS_PER_RUN} s ..." >&2
            state=$TMP/steps-$k-$w
            out=$TMP/load-$k-$w.txt
            start_stepper "steps-$k-$w" "$state" "$w"
            if ! "$BUILD/bench/steps_load" -p "$PORT" \
                -d "$state/fnhost.db" -e "bench/steps-$k" -c 64 -w 2 \
                -t "$SECONDS_PER_RUN" >"$out" 2>"$TMP/load-$k-$w.err"; then
                cat "$TMP/load-$k-$w.err" >&2
                show_log "$TMP/steps-$k-$w.log"
                fail "steps_load against $k-step runs, $w workers failed"
            fi
            stop "$PID" "steps-$k-$w"
            if [[ $(kv "$out" group) == unknown ]]; then
                g=$(log_group "$TMP/steps-$k-$w.log")
                sed -i "s/^group unknown\$/group ${g:-unknown}/" "$out"
                echo "group_source log" >>"$out"
            fi
            if [[ $VERBOSE == 1 ]]; then
                sed 's/^/    load: /' "$out" >&2
            fi
            if (($(kv "$out" failed) > 0)); then
                fail "$(kv "$out" failed) $k-step runs failed ($w workers)"
            fi
            rps=$(kv "$out" runs_per_s)
            printf '  %2s steps %3d workers: %8.0f runs/s  p50 %4s ms' \
                "$k" "$w" "$rps" "$(kv "$out" p50_ms)" >&2
            printf '  p99 %4s ms  group %s\n' "$(kv "$out" p99_ms)" \
                "$(kv "$out" group)" >&2
            if awk -v a="$rps" -v b="$best_rps" 'BEGIN { exit !(a > b) }'
            then
                best_rps=$rps best_w=$w best_out=$out
            fi
        done
        [[ -n $best_out ]] || { fail "no $k-step figures"; continue; }

        # The floor: the same number of runs, in groups of fnhost's size,
        # and in groups of 64 (the issue's reference point).
        n=$(kv "$best_out" runs)
        ((n >= 2000)) || n=2000
        kn=${k%a}
        g=$(kv "$best_out" group)
        [[ $g =~ ^[0-9.]+$ ]] || g=64
        g=$(awk -v g="$g" 'BEGIN { printf "%d", g + 0.5 }')
        ((g >= 1)) || g=1
        echo "steps: floor, $n $kn-step runs in groups of $g and 64 ..." >&2
        floor_best "$kn" "$n" "$g"
        floor_g=$F_RPS
        floor_best "$kn" "$n" 64
        floor_64=$F_RPS
        if [[ -z ${schema_f:-} ]]; then
            schema_f=$(sqlite3 "$TMP/floor.db" .schema)
            schema_h=$(sqlite3 "$TMP/steps-$k-$best_w/fnhost.db" .schema)
            if [[ $schema_f != "$schema_h" ]]; then
                fail "bench/floor's schema differs from fnhost's, though both" \
                    "apply host/store_sql.c: rebuild with make bench"
            fi
        fi
        ratio=$(pct "$best_rps" "$floor_g")
        ratio64=$(pct "$best_rps" "$floor_64")
        lines+=("$(printf '  %5s %5d %10.0f %7s ms %7s ms %6s %10.0f %7s %10.0f %7s' \
            "$k" "$best_w" "$best_rps" "$(kv "$best_out" p50_ms)" \
            "$(kv "$best_out" p99_ms)" "$g" "$floor_g" "$ratio" \
            "$floor_64" "$ratio64")")
    done

    echo
    echo "steps (trivial steps, 64 runs in flight, closed loop;" \
        "latency = event accepted -> run completed, from the store)"
    printf '  %5s %5s %10s %10s %10s %6s %10s %7s %10s %7s\n' steps \
        workers "runs/s" p50 p99 group "floor@grp" ratio "floor@64" ratio
    printf '%s\n' "${lines[@]}"
    echo "  3a: the 3-step function with checkpoint_ahead (consecutive" \
        "steps share a commit; see README, Checkpoints)"
    echo "  goal (#3): 3-step runs at >= 50% of the floor in group commits" \
        "of the same size (floor@grp), which the issue put near 16,000" \
        "runs/s on a 2-core machine with synchronous=FULL"
    echo "  floor: bench/floor, one thread, same schema, statements and" \
        "ops per run, best of ${FLOOR_REPEAT:-2}"
}

# sleepers: BENCH_SLEEPERS (default 1,000,000) runs asleep for 30 days in
# the store. They are made straight in SQL, row for row what fnhost writes
# for the "sleeper" function (checked against one real sleeping run), then
# fnhost starts on them: the time to /health and its memory.
# load_steps NAME STATE KIND C: steps_load of bench/KIND runs on the
# stepper of benchmark NAME (state STATE), C in flight, its figures into
# $TMP/NAME-KIND.txt; a failed load or a failed run fails the benchmark.
load_steps() {
    local name=$1 state=$2 k=$3 c=$4 out=$TMP/$1-$3.txt
    echo "$name: $k runs, $c in flight, ${SECONDS_PER_RUN} s ..." >&2
    "$BUILD/bench/steps_load" -p "$PORT" -d "$state/fnhost.db" \
        -e "bench/$k" -c "$c" -w 2 -t "$SECONDS_PER_RUN" >"$out" \
        2>"$TMP/$name-$k.err" ||
        { cat "$TMP/$name-$k.err" >&2; show_log "$TMP/$name.log"
          fail "steps_load against bench/$k failed"; }
    if (($(kv "$out" failed) > 0)); then
        fail "$(kv "$out" failed) bench/$k runs failed"
    fi
}

# invoke: a run whose step invokes a 1-step function (fh_invoke: two runs,
# the caller sleeping while the callee runs) against the 1-step run alone;
# then POST /v1/functions/steps-3/invoke, the call a Restate or DBOS user
# makes, with 1 and 64 callers (wrk), against the same 3-step runs started
# by events (steps_load, 64 in flight). One fnhost, 32 workers, one run.
bench_invoke() {
    local state=$TMP/invoke w=${BENCH_INVOKE_WORKERS:-32} k
    local base1 call1 base3 args=(-t1 "-d${SECONDS_PER_RUN}s")
    local c1_rps c1_p50 c1_p99 c64_rps c64_p50 c64_p99 c64_non2xx

    [[ -x $BUILD/bench/steps_load ]] ||
        die "no $BUILD/bench/steps_load; run: make bench"
    start_stepper invoke "$state" "$w"
    for k in steps-1 invoke steps-3; do
        load_steps invoke "$state" "$k" 64
    done
    base1=$(kv "$TMP/invoke-steps-1.txt" runs_per_s)
    call1=$(kv "$TMP/invoke-invoke.txt" runs_per_s)
    base3=$(kv "$TMP/invoke-steps-3.txt" runs_per_s)
    printf '{"data":{}}' >"$TMP/invoke-body.json"
    echo "invoke: POST /v1/functions/steps-3/invoke, 1 caller ..." >&2
    BENCH_EVENT=$TMP/invoke-body.json run_wrk invoke-1 \
        "http://127.0.0.1:$PORT/v1/functions/steps-3/invoke" -c1 "${args[@]}"
    c1_rps=$W_RPS c1_p50=$W_P50 c1_p99=$W_P99
    ((W_NON2XX == 0)) || fail "$W_NON2XX invokes (1 caller) were not 200"
    echo "invoke: POST /v1/functions/steps-3/invoke, 64 callers ..." >&2
    BENCH_EVENT=$TMP/invoke-body.json run_wrk invoke-64 \
        "http://127.0.0.1:$PORT/v1/functions/steps-3/invoke" -c64 "${args[@]}"
    c64_rps=$W_RPS c64_p50=$W_P50 c64_p99=$W_P99 c64_non2xx=$W_NON2XX
    stop "$PID" invoke
    ((c64_non2xx == 0)) || fail "$c64_non2xx invokes (64 callers) were not 200"

    echo
    echo "invoke ($w workers, synchronous=FULL)"
    printf '  %-36s %10s %12s %12s %8s\n' "" "runs/s" "p50" "p99" "vs"
    row "1-step run (event, 64 in flight)" "$base1" \
        "$(kv "$TMP/invoke-steps-1.txt" p50_ms)" \
        "$(kv "$TMP/invoke-steps-1.txt" p99_ms)" "100%"
    row "step invoking a 1-step run" "$call1" \
        "$(kv "$TMP/invoke-invoke.txt" p50_ms)" \
        "$(kv "$TMP/invoke-invoke.txt" p99_ms)" "$(pct "$call1" "$base1")"
    row "3-step run (event, 64 in flight)" "$base3" \
        "$(kv "$TMP/invoke-steps-3.txt" p50_ms)" \
        "$(kv "$TMP/invoke-steps-3.txt" p99_ms)" "100%"
    row "invoke and wait, 64 callers" "$c64_rps" "$c64_p50" "$c64_p99" \
        "$(pct "$c64_rps" "$base3")"
    row "invoke and wait, 1 caller" "$c1_rps" "$c1_p50" "$c1_p99" ""
    echo "  (run latencies from the store, ms; invoke and wait: wrk's" \
        "request latencies)"
}

# fanout: a parallel group of 10 steps (fh_parallel: each branch its own
# invocation on its own worker, and the run's two) against the same 10
# steps in a row. With trivial steps, 64 runs in flight: what a group
# costs the host. With steps that each wait 20 ms (a call to a slow
# service), one run at a time: how much sooner a run ends when its steps
# run at once. One fnhost, 32 workers, one run.
bench_fanout() {
    local state=$TMP/fanout w=${BENCH_FANOUT_WORKERS:-32} k c
    local seq fan seq_io fan_io

    [[ -x $BUILD/bench/steps_load ]] ||
        die "no $BUILD/bench/steps_load; run: make bench"
    start_stepper fanout "$state" "$w"
    for k in steps-10 fan-10 seq-10-io fan-10-io; do
        c=64
        [[ $k == *-io ]] && c=1
        load_steps fanout "$state" "$k" "$c"
    done
    stop "$PID" fanout
    # Every run of a group has its 10 branch steps and the group's.
    k=$(sqlite3 -readonly "$state/fnhost.db" \
        "select count(*) from runs r where r.function_id like 'fan-10%'
           and r.target_step is null and r.status = 'completed'
           and (select count(*) from steps s where s.run_id = r.id) != 11")
    ((k == 0)) || fail "$k completed fan-out runs lack some of their 11 steps"
    seq=$(kv "$TMP/fanout-steps-10.txt" runs_per_s)
    fan=$(kv "$TMP/fanout-fan-10.txt" runs_per_s)
    seq_io=$(kv "$TMP/fanout-seq-10-io.txt" p50_ms)
    fan_io=$(kv "$TMP/fanout-fan-10-io.txt" p50_ms)

    echo
    echo "fanout ($w workers, synchronous=FULL)"
    printf '  %-36s %10s %12s %12s %8s\n' "" "runs/s" "p50" "p99" "vs"
    row "10 steps in a row, trivial" "$seq" \
        "$(kv "$TMP/fanout-steps-10.txt" p50_ms)" \
        "$(kv "$TMP/fanout-steps-10.txt" p99_ms)" "100%"
    row "a group of 10, trivial" "$fan" \
        "$(kv "$TMP/fanout-fan-10.txt" p50_ms)" \
        "$(kv "$TMP/fanout-fan-10.txt" p99_ms)" "$(pct "$fan" "$seq")"
    row "10 steps in a row, 20 ms each" \
        "$(kv "$TMP/fanout-seq-10-io.txt" runs_per_s)" "$seq_io" \
        "$(kv "$TMP/fanout-seq-10-io.txt" p99_ms)" "100%"
    row "a group of 10, 20 ms each" \
        "$(kv "$TMP/fanout-fan-10-io.txt" runs_per_s)" "$fan_io" \
        "$(kv "$TMP/fanout-fan-10-io.txt" p99_ms)" "$(pct "$fan_io" "$seq_io")"
    echo "  (trivial: 64 runs in flight, vs = runs/s; 20 ms: 1 run in" \
        "flight, vs = p50; run latencies from the store)"
}

bench_sleepers() {
    local state=$TMP/sleepers n=${BENCH_SLEEPERS:-1000000} now wake i
    local t0 t1 ready_ms listen_ms health_ms real fake rss0 rss1 w0 w1
    local out=$TMP/sleepers-load.txt restart_ms restart_listen sql

    [[ -x $BUILD/bench/steps_load ]] ||
        die "no $BUILD/bench/steps_load; run: make bench"
    command -v curl >/dev/null || die "curl not found"

    # A real sleeper first: the schema, and the rows to imitate.
    echo "sleepers: one real sleeping run ..." >&2
    one_real_run sleepers-0 "$state" bench/sleep sleeping
    real=$(sleeper_shape "$state/fnhost.db" "(select id from runs limit 1)")

    now=$(date +%s%3N)
    wake=$((now + 30 * 86400000))
    echo "sleepers: making $n sleeping runs in one transaction ..." >&2
    t0=$(date +%s%3N)
    sql="PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF;
PRAGMA cache_size=-1000000; PRAGMA temp_store=MEMORY;
BEGIN;
$(events_sql "$n" bench/sleep "$now")
INSERT INTO runs(id, function_id, event_id, status, attempt, wake_at,
                 output, error, created_at, started_at, ended_at, updated_at)
  SELECT printf('01R%023d', i), 'sleeper', printf('01E%023d', i),
         'sleeping', 0, $wake + i * 86, NULL, NULL, $now, $now, NULL, $now
  FROM n;
INSERT INTO steps(run_id, step_id, name, kind, status, result, error,
                  attempts, started_at, ended_at, wake_at, committed_at)
  SELECT printf('01R%023d', i), 's1', 's1', 'run', 'completed', '1', NULL,
         1, $now, $now, NULL, $now FROM n;
INSERT INTO steps(run_id, step_id, name, kind, status, result, error,
                  attempts, started_at, ended_at, wake_at, committed_at)
  SELECT printf('01R%023d', i), 'nap', 'nap', 'sleep', 'sleeping', NULL,
         NULL, 1, $now, NULL, $wake + i * 86, $now FROM n;
INSERT INTO attempts(run_id, step_id, attempt, started_at, ended_at, error)
  SELECT printf('01R%023d', i), 's1', 0, $now, $now, NULL FROM n;
COMMIT;
PRAGMA journal_mode=WAL;"
    sqlite3 "$state/fnhost.db" "$sql" >/dev/null ||
        die "cannot make the sleeping runs"
    t1=$(date +%s%3N)
    fake=$(sleeper_shape "$state/fnhost.db" "'01R$(printf '%023d' 1)'")
    if [[ $real != "$fake" ]]; then
        printf 'real:\n%s\nmade:\n%s\n' "$real" "$fake" >&2
        fail "the sleeping runs made in SQL do not look like fnhost's"
    fi
    echo "  made in $(((t1 - t0) / 1000)) s; store" \
        "$(du -sh "$state" | cut -f1)" >&2

    start_ready sleepers-1 "$state"
    ready_ms=$HEALTH_MS listen_ms=$LISTEN_MS
    sleep 5
    rss0=$(rss_kb "$PID")
    w0=$(workers_mem "$PID")
    echo "sleepers: 1000 bench/steps-1 runs on the full store ..." >&2
    "$BUILD/bench/steps_load" -p "$PORT" -d "$state/fnhost.db" \
        -e bench/steps-1 -c 64 -n 1000 >"$out" 2>"$TMP/sleepers-load.err" ||
        { cat "$TMP/sleepers-load.err" >&2
          fail "steps_load -n 1000 on the sleepers' store failed"; }
    rss1=$(rss_kb "$PID")
    w1=$(workers_mem "$PID")
    stop "$PID" sleepers-1

    echo "sleepers: restart ..." >&2
    start_ready sleepers-2 "$state"
    restart_ms=$HEALTH_MS restart_listen=$LISTEN_MS
    stop "$PID" sleepers-2

    echo
    echo "sleepers ($n runs asleep for 30 days in the store," \
        "$(du -sh "$state/fnhost.db" | cut -f1) database)"
    printf '  %-44s %12s   %s\n' "" measured goal
    printf '  %-44s %9s ms   %s\n' "first start: exec -> \"listening\" logged" \
        "$listen_ms" ""
    printf '  %-44s %9s ms   %s\n' "first start: exec -> /health 200" \
        "$ready_ms" "< 5000 ms"
    printf '  %-44s %9s ms   %s\n' "restart: exec -> \"listening\" logged" \
        "$restart_listen" ""
    printf '  %-44s %9s ms   %s\n' "restart: exec -> /health 200" \
        "$restart_ms" "< 5000 ms"
    printf '  %-44s %12s   %s\n' "host RSS after 5 s idle" "$(mb "$rss0")" \
        "< 200 MB"
    printf '  %-44s %12s   %s\n' "host RSS after 1000 steps-1 runs" \
        "$(mb "$rss1")" "< 200 MB"
    read -r n0 r0 p0 <<<"$w0"
    read -r n1 r1 p1 <<<"$w1"
    printf '  %-44s %12s   (PSS %s)\n' "$n0 workers' RSS, idle" "$(mb "$r0")" \
        "$(mb "$p0")"
    printf '  %-44s %12s   (PSS %s)\n' "$n1 workers' RSS, after the runs" \
        "$(mb "$r1")" "$(mb "$p1")"
    printf '  %-44s %12s   p50 %s ms, p99 %s ms\n' \
        "1000 steps-1 runs among the sleepers" \
        "$(awk -v r="$(kv "$out" runs_per_s)" 'BEGIN { printf "%.0f runs/s", r }')" \
        "$(kv "$out" p50_ms)" "$(kv "$out" p99_ms)"
    if ((ready_ms >= 5000 || restart_ms >= 5000)); then
        echo "  note: not ready within 5 s"
    fi
    if ((rss0 >= 204800 || rss1 >= 204800)); then
        echo "  note: host RSS over 200 MB"
    fi
}

# events_sql N NAME NOW: SQL that makes table n of 1..N and N events NAME
# received at NOW with ids 01E + i and {"i": i}, as fnhost stores them.
events_sql() {
    cat <<SQL
CREATE TEMP TABLE n(i INTEGER PRIMARY KEY);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $1)
  INSERT INTO n SELECT i FROM c;
INSERT INTO events(id, name, user_id, ts, received_at, json)
  SELECT printf('01E%023d', i), '$2', NULL, $3, $3,
         printf('{"name":"$2","data":{"i":%d},"ts":%d}', i, $3) FROM n;
SQL
}

# one_real_run NAME STATE EVENT STATUS: on a new store, the first run of
# EVENT ({"i": 0}) until it has STATUS (up to 5 s), then fnhost stops: the
# schema, and the rows that a benchmark's runs made in SQL imitate.
one_real_run() {
    local name=$1 state=$2 i
    start_stepper "$name" "$state" 2
    curl -fsS -o /dev/null -d "{\"name\":\"$3\",\"data\":{\"i\":0}}" \
        "http://127.0.0.1:$PORT/e/bench" || die "cannot post $3"
    for ((i = 0; i < 100; i++)); do
        [[ $(sqlite3 "$state/fnhost.db" \
            "select status from runs limit 1") == "$4" ]] && break
        sleep 0.05
    done
    stop "$PID" "$name"
}

# run_shape_sql RUN EVENT: SQL for the shape of run RUN (an SQL
# expression) and of its event, named EVENT.
run_shape_sql() {
    cat <<SQL
select 'run', function_id, status, attempt, wake_at > created_at,
       output is null, error is null, started_at is null, ended_at is null
  from runs where id = $1;
select 'event', name, user_id is null,
       json like '{"name":"$2","data":{"i":%},"ts":%}'
  from events where id = (select event_id from runs where id = $1);
SQL
}

# sleeper_shape DB RUN: the rows of one sleeping run with ids and times
# replaced by what matters (NULL or not, values that are not times).
sleeper_shape() {
    sqlite3 "$1" "
$(run_shape_sql "$2" bench/sleep)
select 'step', step_id, name, kind, status, result, error is null, attempts,
       started_at is null, ended_at is null, wake_at is null
  from steps where run_id = $2 order by step_id;
select 'attempt', step_id, attempt, ended_at is null, error is null
  from attempts where run_id = $2 order by rowid;"
}

# start_ready NAME STATE: starts fnhost (default workers) and waits for
# /health; sets PID, PORT, HEALTH_MS and LISTEN_MS (from the exec).
start_ready() {
    local name=$1 state=$2 i now line ts
    start_stepper "$name" "$state" ""
    HEALTH_MS=
    for ((i = 0; i < 6000; i++)); do
        if curl -fsS -o /dev/null --max-time 1 \
            "http://127.0.0.1:$PORT/health" 2>/dev/null; then
            now=$(date +%s%3N)
            HEALTH_MS=$((now - EXEC_MS))
            break
        fi
        alive "$PID" || { show_log "$TMP/$name.log"; die "$name died"; }
        sleep 0.005
    done
    [[ -n $HEALTH_MS ]] || die "$name: no /health answer in 30 s"
    line=$(grep -m1 ' listening on ' "$TMP/$name.log")
    ts=$(date -d "${line%% *}" +%s%3N 2>/dev/null) || ts=
    LISTEN_MS=${ts:+$((ts - EXEC_MS))}
    LISTEN_MS=${LISTEN_MS:-?}
}

# --- waits ----------------------------------------------------------------

# waiter_shape DB RUN: the rows of one waiting run, as sleeper_shape.
waiter_shape() {
    sqlite3 "$1" "
$(run_shape_sql "$2" bench/wait)
select 'step', step_id, name, kind, status, result is null, error is null,
       attempts, started_at is null, ended_at is null, wake_at > started_at
  from steps where run_id = $2 order by step_id;
select 'pause', kind, step_id, event, match_path, if_expr is null,
       lookback_ms, timeout_at > began_at
  from pauses where run_id = $2;
select 'attempts', count(*) from attempts where run_id = $2;"
}

# post_batches DIR: POSTs each file of events in DIR, four at a time.
post_batches() {
    find "$1" -name '*.json' -print0 |
        xargs -0 -P4 -I{} curl -fsS -o /dev/null -H 'Content-Type: application/json' \
            --data-binary @{} "http://127.0.0.1:$PORT/e/bench" ||
        die "cannot post the events in $1"
}

# make_batches DIR NAME N: files of 1000 events {"name": NAME, "data":
# {"i": k}}, k = 1..N, in DIR.
make_batches() {
    mkdir -p "$1"
    awk -v dir="$1" -v name="$2" -v n="$3" 'BEGIN {
        for (b = 0; b * 1000 < n; b++) {
            f = sprintf("%s/%05d.json", dir, b)
            printf "[" >f
            for (k = b * 1000 + 1; k <= n && k <= (b + 1) * 1000; k++)
                printf "%s{\"name\":\"%s\",\"data\":{\"i\":%d}}",
                    (k > b * 1000 + 1 ? "," : ""), name, k >f
            printf "]" >f
            close(f)
        }
    }'
}

# until_completed DB FUNCTION N: polls until N runs of FUNCTION completed
# (at most 300 s); prints the wall ms when they had.
until_completed() {
    local i
    for ((i = 0; i < 3000; i++)); do
        (($(sqlite3 "$1" ".timeout 5000" "select count(*) from runs
            where function_id = '$2' and status = 'completed'") >= $3)) &&
            { date +%s%3N; return 0; }
        sleep 0.1
    done
    return 1
}

# waits: N runs wait for an event each, on distinct match values; N
# events then resume them all. Measured from the first POST to the last
# run completed: events in, waits ended in the events' transactions, runs
# dispatched and completed. The baseline, in the same run, is the same
# path without waits: N events that each start a run that completes at
# once, and N events that neither start nor resume anything.
bench_waits() {
    local state=$TMP/waits n=${BENCH_WAITERS:-100000} now timeout
    local real fake sql t0 t1 t2 b0 b1 b2 c0 c1 resumed left

    echo "waits: one real waiting run ..." >&2
    one_real_run waits-0 "$state" bench/wait waiting
    real=$(waiter_shape "$state/fnhost.db" "(select id from runs limit 1)")
    [[ $real == *"pause|wait|wake|bench/wake|data.i|1|0|1"* ]] ||
        fail "the real run does not wait as bench_waits expects: $real"

    now=$(date +%s%3N)
    timeout=$((now + 30 * 86400000))
    echo "waits: making $n waiting runs in one transaction ..." >&2
    sql="PRAGMA synchronous=OFF; BEGIN;
$(events_sql "$n" bench/wait "$now")
INSERT INTO runs(id, function_id, event_id, status, attempt, wake_at,
                 output, error, created_at, started_at, ended_at, updated_at)
  SELECT printf('01R%023d', i), 'waiter', printf('01E%023d', i),
         'waiting', 0, $timeout, NULL, NULL, $now, $now, NULL, $now FROM n;
INSERT INTO steps(run_id, step_id, name, kind, status, result, error,
                  attempts, started_at, ended_at, wake_at, committed_at)
  SELECT printf('01R%023d', i), 'wake', 'wake', 'wait', 'waiting', NULL,
         NULL, 1, $now, NULL, $timeout, $now FROM n;
INSERT INTO pauses(kind, run_id, step_id, event, match_path, match_value,
                   if_expr, began_at, lookback_ms, timeout_at, created_at)
  SELECT 'wait', printf('01R%023d', i), 'wake', 'bench/wake', 'data.i', i,
         NULL, $now, 0, $timeout, $now FROM n;
COMMIT;"
    sqlite3 "$state/fnhost.db" "$sql" >/dev/null ||
        die "cannot make the waiting runs"
    fake=$(waiter_shape "$state/fnhost.db" "'01R$(printf '%023d' 1)'")
    if [[ $real != "$fake" ]]; then
        printf 'real:\n%s\nmade:\n%s\n' "$real" "$fake" >&2
        fail "the waiting runs made in SQL do not look like fnhost's"
    fi
    make_batches "$TMP/wake" bench/wake "$n"
    make_batches "$TMP/noop" bench/noop "$n"

    echo "waits: $n events that resume $n waits ..." >&2
    start_stepper waits-1 "$state" 2
    t0=$(date +%s%3N)
    post_batches "$TMP/wake"
    t1=$(date +%s%3N)
    t2=$(until_completed "$state/fnhost.db" waiter "$n") ||
        fail "not every waiting run completed within 300 s"
    stop "$PID" waits-1
    resumed=$(sqlite3 "$state/fnhost.db" "select count(*) from runs r
        join steps s on s.run_id = r.id and s.step_id = 'wake'
        where r.function_id = 'waiter' and r.status = 'completed'
        and s.result like '{\"name\":\"bench/wake\",\"data\":{\"i\":' ||
            (substr(r.event_id, 4) + 0) || '}%'")
    left=$(sqlite3 "$state/fnhost.db" "select count(*) from pauses")

    echo "waits: baseline, $n events that start $n runs ..." >&2
    rm -rf "$state"
    start_stepper waits-2 "$state" 2
    b0=$(date +%s%3N)
    post_batches "$TMP/noop"
    b1=$(date +%s%3N)
    b2=$(until_completed "$state/fnhost.db" noop "$n") ||
        fail "not every noop run completed within 300 s"
    echo "waits: baseline, $n events that start and resume nothing ..." >&2
    c0=$(date +%s%3N)
    post_batches "$TMP/wake"
    c1=$(date +%s%3N)
    stop "$PID" waits-2

    echo
    echo "waits ($n runs waiting on distinct data.i; 2 workers; events" \
        "in requests of 1000, 4 at a time)"
    printf '  %-48s %10s %10s\n' "" "events/s" "runs/s"
    printf '  %-48s %10.0f %10.0f\n' "resume: events in, to every run completed" \
        "$(awk -v n="$n" -v d=$((t1 - t0)) 'BEGIN { print n * 1000 / d }')" \
        "$(awk -v n="$n" -v d=$((t2 - t0)) 'BEGIN { print n * 1000 / d }')"
    printf '  %-48s %10.0f %10.0f\n' "baseline: each event starts a new run" \
        "$(awk -v n="$n" -v d=$((b1 - b0)) 'BEGIN { print n * 1000 / d }')" \
        "$(awk -v n="$n" -v d=$((b2 - b0)) 'BEGIN { print n * 1000 / d }')"
    printf '  %-48s %10.0f %10s\n' "baseline: events that start or resume nothing" \
        "$(awk -v n="$n" -v d=$((c1 - c0)) 'BEGIN { print n * 1000 / d }')" "-"
    echo "  resumes: $resumed of $n runs completed with their own event;" \
        "$left waits left"
    ((resumed == n)) || fail "$((n - resumed)) runs did not resume with their event"
    ((left == 1)) || fail "$left waits left, want 1 (the real one, i = 0)"
}

# --- hot reload -----------------------------------------------------------

# make_reload_plugins DIR N: N distinct plugins reload-01..reload-N in DIR,
# each with one function fn-NN on bench/reload-NN (plugin names and
# function ids must be unique), made from one template and built with the
# Makefile's plugin flags, two compilers at a time.
make_reload_plugins() {
    local dir=$1 n=$2 src=$TMP/reload-src i id
    local -a cflags
    mkdir -p "$dir" "$src"
    for ((i = 1; i <= n; i++)); do
        printf -v id '%02d' "$i"
        cat >"$src/reload-$id.c" <<EOF
/* reload-$id.c - made by bench/run.sh (bench_reload). */
#include <fnhost.h>

static int
handler(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "fn-$id", .run = handler,
     .triggers = FH_EVENTS("bench/reload-$id")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "reload-$id", .version = "1.0.0", .functions = functions);
EOF
    done
    # pkg-config prints one line of flags: split it into words.
    read -r -a cflags <<<"$(pkg-config --cflags json-c)"
    (cd "$src" && printf '%s\n' reload-*.c) | sed 's/\.c$//' |
        xargs -P2 -I{} "${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 -fPIC \
            -fvisibility=hidden -shared -Wl,-z,defs -I"$ROOT/sdk" \
            "${cflags[@]}" -o "$dir/{}.so" "$src/{}.c" -ljson-c ||
        die "cannot build the reload plugins (sources in $src)"
    i=$(find "$dir" -name 'reload-*.so' | wc -l)
    ((i == n)) || die "built $i reload plugins, not $n"
}

# start_host NAME STATE PLUGINS [ARGS...]: starts fnhost on STATE with the
# plugins in PLUGINS and ARGS; sets PID, PORT.
start_host() {
    local name=$1 state=$2 plugins=$3 addr i
    shift 3
    mkdir -p "$state"
    rm -f "$state/fnhost.addr"
    setsid "$BUILD/fnhost" serve --listen 127.0.0.1:0 --state "$state" \
        --plugins "$plugins" "$@" >"$TMP/$name.log" 2>&1 &
    PID=$!
    CHILDREN+=("$PID")
    for ((i = 0; i < 200; i++)); do
        wait_for "$state/fnhost.addr" "$PID" "$name"
        addr=$(head -n 1 "$state/fnhost.addr")
        if [[ $addr =~ ^127\.0\.0\.1:([0-9]+)$ ]]; then
            PORT=${BASH_REMATCH[1]}
            return 0
        fi
        sleep 0.05
    done
    die "$name: $state/fnhost.addr holds '$addr', not 127.0.0.1:PORT"
}

# reload_log_ms LOG PLUGINS: "N MS" for each reload the log shows done
# with PLUGINS plugins: generation N, and the ms from its "building
# generation N" line to its "generation N: PLUGINS plugins" line, by the
# log's own timestamps (2026-11-29T05:59:28.589Z).
reload_log_ms() {
    awk -v want="$2" '
        function ms(ts,   h) {
            split(substr(ts, 12, 12), h, ":")
            return ((h[1] * 60 + h[2]) * 60 + h[3]) * 1000
        }
        / \[reload\] .*: building generation [0-9]+ / {
            for (i = 1; i <= NF; i++)
                if ($i == "generation") { start[$(i + 1) + 0] = ms($1); break }
        }
        / \[reload\] generation [0-9]+: [0-9]+ plugins?, / {
            for (i = 1; i <= NF; i++)
                if ($i == "generation") break
            g = $(i + 1); sub(/:$/, "", g); g += 0
            if ($(i + 2) + 0 != want || !(g in start))
                next
            d = ms($1) - start[g]
            if (d < 0)
                d += 86400000    # past midnight
            printf "%d %d\n", g, d
        }' "$1"
}

# min_median_max: "MIN MEDIAN MAX" of the numbers on standard input.
min_median_max() {
    sort -n | awk '{ v[NR] = $1 }
        END {
            if (NR == 0) { print "? ? ?"; exit }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.0f %.0f %.0f\n", v[1], m, v[NR]
        }'
}

# runs_settle DB SECONDS: waits up to SECONDS for no run in DB to be
# queued or running; returns 1 if some still are. Says how long it took.
runs_settle() {
    local db=$1 i left t0=$EPOCHREALTIME
    for ((i = 0; i < $2 * 10; i++)); do
        left=$(sqlite3 "$db" "select count(*) from runs
                              where status in ('queued', 'running')") ||
            left='?'
        if [[ $left == 0 ]]; then
            awk -v a="$t0" -v b="$EPOCHREALTIME" \
                'BEGIN { printf "  runs done %.1f s later\n", b - a }' >&2
            return 0
        fi
        sleep 0.1
    done
    echo "  $left runs still queued or running after $2 s" >&2
    return 1
}

# reload_ends LOG: how many reloads have ended, swapped or refused.
reload_ends() {
    grep -cE '\[reload\] (generation [0-9]+: [0-9]+ plugins?, |kept generation )' \
        "$1" || true
}

# cpu_ms PID: the CPU time PID's own threads used so far (the loop and
# the store's writer: not its workers), in ms.
cpu_ms() {
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, "");
        printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"
}

# cpu_per_run K [NAME]: the daemon's CPU per run ended of load K of
# benchmark NAME (default conc: NAME-K.cpu and NAME-K.txt), in us.
cpu_per_run() {
    local name=${2:-conc}
    awk -v ms="$(cat "$TMP/$name-$1.cpu")" \
        -v n="$(kv "$TMP/$name-$1.txt" ended)" \
        'BEGIN { printf "%.1f\n", (n > 0 ? ms * 1000 / n : 0) }'
}

# cpu_row LABEL K: a line of cpu_per_run K.
cpu_row() {
    printf '  %-36s %10s us\n' "$1" "$(cpu_per_run "$2")"
}

# flow: the scheduler's cost per run of each flow-control option: 1-step
# runs of a function with one option each (bench/plugins/stepper.c,
# steps-1-*), set so that every event starts its run, one after the other
# on one daemon, 64 in flight, BENCH_CONC_WORKERS (default 8) workers. For
# each: runs/s, and the daemon's own CPU (loop and store writer, not the
# workers) per run ended, beside the runs with no option. Debounce holds
# each run 1 s (its shortest period), so its runs/s is 64 a second by
# design; its CPU per run is what counts.
bench_flow() {
    local state=$TMP/flow w=${BENCH_CONC_WORKERS:-8} k c0 base i
    # The runs with no option come first and last: how far apart the two
    # are is the noise of the figures between them.
    local -a ks=(steps-1 steps-1-if steps-1-idem steps-1-rate
                 steps-1-single steps-1-conc steps-1-debounce
                 steps-1-throttle steps-1-prio steps-1-batch steps-1)
    local -A label=([steps-1]="no option" [steps-1-if]="if"
        [steps-1-idem]="idempotency key" [steps-1-rate]="rate limit (keyed)"
        [steps-1-single]="singleton (keyed)"
        [steps-1-conc]="concurrency 1 per key, 10,000 keys"
        [steps-1-debounce]="debounce 1 s (keyed)"
        [steps-1-throttle]="throttle (keyed)"
        [steps-1-prio]="priority 0, 60 or 120 s (mixed)"
        [steps-1-batch]="batch of 1 (keyed)")

    [[ -x $BUILD/bench/steps_load ]] ||
        die "no $BUILD/bench/steps_load; run: make bench"
    start_stepper flow "$state" "$w"
    for i in "${!ks[@]}"; do
        k=${ks[$i]}
        c0=$(cpu_ms "$PID")
        load_steps flow "$state" "$k" 64
        echo "$(($(cpu_ms "$PID") - c0))" >"$TMP/flow-$k.cpu"
        if ((i == 0)); then
            mv "$TMP/flow-$k.cpu" "$TMP/flow-first.cpu"
            mv "$TMP/flow-$k.txt" "$TMP/flow-first.txt"
        fi
    done
    stop "$PID" flow
    ks=(first "${ks[@]:1}")
    label[first]="no option (first)"
    label[steps-1]="no option (again, last)"
    if (($(sqlite3 -readonly "$state/fnhost.db" \
            "select count(*) from skipped") > 0)); then
        fail "flow: events were skipped, though each had a key of its own"
    fi
    if (($(sqlite3 -readonly "$state/fnhost.db" \
            "select count(*) from runs where throttle_key is not null") > 0))
    then
        fail "flow: runs were throttled, though each had a key of its own"
    fi
    base=$(cpu_per_run first flow)

    echo
    echo "flow control: scheduler cost per run ($w workers," \
        "synchronous=FULL, 64 runs in flight)"
    printf '  %-36s %10s %8s %14s %10s\n' "option" "runs/s" "p50" \
        "daemon CPU/run" "vs none"
    for k in "${ks[@]}"; do
        printf '  %-36s %10.0f %5s ms %11s us %+7.1f us\n' "${label[$k]}" \
            "$(kv "$TMP/flow-$k.txt" runs_per_s)" \
            "$(kv "$TMP/flow-$k.txt" p50_ms)" "$(cpu_per_run "$k" flow)" \
            "$(awk -v a="$(cpu_per_run "$k" flow)" -v b="$base" \
                'BEGIN { print a - b }')"
    done
    echo "  (daemon CPU: the master's loop and store writer over each load," \
        "per run ended; the workers' is not in it)"
}

# concurrency: 1-step runs limited to 1 at a time per key over 10,000
# distinct keys (steps-1-conc: key event.data.i % 10000) against the same
# runs with no limit (steps-1), one after the other on one daemon, 64 in
# flight, BENCH_CONC_WORKERS (default 8) workers. The ratio is what the
# limit costs throughput: keys are not a scan, so it should be near 100%.
# The scheduler's cost per run with the option on: the daemon's own CPU
# (loop and store writer, not the workers) over each load, per run
# ended, with and without the limit, and the difference. Afterwards no
# two runs of a key may have overlapped (stored start and end times).
bench_concurrency() {
    local state=$TMP/conc w=${BENCH_CONC_WORKERS:-8} k c0 n over
    local base lim

    [[ -x $BUILD/bench/steps_load ]] ||
        die "no $BUILD/bench/steps_load; run: make bench"
    start_stepper conc "$state" "$w"
    for k in steps-1 steps-1-conc; do
        c0=$(cpu_ms "$PID")
        load_steps conc "$state" "$k" 64
        echo "$(($(cpu_ms "$PID") - c0))" >"$TMP/conc-$k.cpu"
    done
    stop "$PID" conc
    # Each run of a key starts once the one before it ended.
    over=$(sqlite3 -readonly "$state/fnhost.db" \
        "select count(*) from (select started_at, lag(ended_at) over
           (partition by conc_key1 order by started_at) as prev
           from runs where function_id = 'steps-1-conc')
          where started_at < prev")
    ((over == 0)) || fail "$over runs started before the last of their key ended"
    n=$(sqlite3 -readonly "$state/fnhost.db" \
        "select count(distinct conc_key1) from runs
          where function_id = 'steps-1-conc'")
    base=$(kv "$TMP/conc-steps-1.txt" runs_per_s)
    lim=$(kv "$TMP/conc-steps-1-conc.txt" runs_per_s)

    echo
    echo "concurrency ($w workers, synchronous=FULL, 64 runs in flight)"
    printf '  %-36s %10s %12s %12s %8s\n' "" "runs/s" "p50" "p99" "vs"
    row "1-step run, no limit" "$base" \
        "$(kv "$TMP/conc-steps-1.txt" p50_ms)" \
        "$(kv "$TMP/conc-steps-1.txt" p99_ms)" "100%"
    row "limit 1 per key, $n keys" "$lim" \
        "$(kv "$TMP/conc-steps-1-conc.txt" p50_ms)" \
        "$(kv "$TMP/conc-steps-1-conc.txt" p99_ms)" "$(pct "$lim" "$base")"
    cpu_row "daemon CPU per run, no limit" steps-1
    cpu_row "daemon CPU per run, with the limit" steps-1-conc
    awk -v a="$(cpu_per_run steps-1)" -v b="$(cpu_per_run steps-1-conc)" \
        'BEGIN { printf "  %-36s %10.1f us per run\n",
                 "the limit'"'"'s cost (the difference)", b - a }'
    echo "  (run latencies from the store, ms; no two runs of a key" \
        "overlapped)"
}

# reload: BENCH_RELOAD_PLUGINS (default 50) plugins of one function each,
# 8 workers. First the time of a reload on the idle host, BENCH_RELOADS
# (default 5) times `fnhost reload`: the command's wall time (it sends
# SIGHUP, then polls GET /v1/functions every 100 ms until last_reload
# changes) and the host's own, from its log ("building generation N" ->
# "generation N: 50 plugins"). Then events/s of an event that starts a run
# (bench/reload-01 -> fn-01): BENCH_SECONDS without reloads, then
# BENCH_SECONDS with a SIGHUP every 0.5 s, on the same host; afterwards
# every acknowledged event must have its run, completed.
bench_reload() {
    local plugins=$TMP/reload-plugins state=$TMP/reload-state
    local log=$TMP/reload.log np=${BENCH_RELOAD_PLUGINS:-50}
    local n=${BENCH_RELOADS:-5} db i t0 t1 out wall host
    local -a args=(-t1 -c64 "-d${SECONDS_PER_RUN}s")
    local s_rps s_p50 s_p99 s_acked r_rps r_p50 r_p99 r_acked
    local w_min w_med w_max h_min h_med h_max
    local done0 done1 sent loop stop_file=$TMP/reload-loop.stop
    local ev_s ev_r missing failed completed unfinished lost kept settled=1

    [[ $n =~ ^[1-9][0-9]*$ ]] || die "BENCH_RELOADS=$n: want a count"
    [[ $np =~ ^[1-9][0-9]?$ ]] ||
        die "BENCH_RELOAD_PLUGINS=$np: want 1 to 99"
    for i in curl jq pkg-config "${CC:-cc}"; do
        command -v "$i" >/dev/null || die "$i not found"
    done
    echo "reload: building $np plugins ..." >&2
    t0=$EPOCHREALTIME
    make_reload_plugins "$plugins" "$np"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" \
        'BEGIN { printf "  built in %.1f s\n", b - a }' >&2

    start_host reload "$state" "$plugins" --workers 8
    db=$state/fnhost.db
    out=$(curl -fsS "http://127.0.0.1:$PORT/v1/functions" |
          jq -r '.data | "\(.generation) \(.plugins | length)" +
                 " \([.plugins[].functions[]] | length)"' 2>/dev/null) ||
        out=
    [[ $out == "1 $np $np" ]] || { show_log "$log"
        die "generation 1 is '$out' (generation, plugins, functions)," \
            "not '1 $np $np'"; }

    # --- reload time, idle host
    echo "reload: fnhost reload x $n ..." >&2
    : >"$TMP/reload-wall.txt"
    for ((i = 0; i < n; i++)); do
        t0=$EPOCHREALTIME
        out=$("$BUILD/fnhost" reload --state "$state" 2>"$TMP/reload.err") ||
            { cat "$TMP/reload.err" >&2; show_log "$log"
              fail "fnhost reload failed"; break; }
        t1=$EPOCHREALTIME
        [[ $out == "reloaded: generation $((i + 2))" ]] ||
            fail "fnhost reload said '$out', not" \
                "'reloaded: generation $((i + 2))'"
        awk -v a="$t0" -v b="$t1" \
            'BEGIN { printf "%.0f\n", (b - a) * 1000 }' \
            >>"$TMP/reload-wall.txt"
    done
    wall=$(min_median_max <"$TMP/reload-wall.txt")
    host=$(reload_log_ms "$log" "$np" | awk '{ print $2 }' | min_median_max)
    i=$(reload_log_ms "$log" "$np" | wc -l)
    ((i == n)) ||
        fail "the log shows $i reloads to $np plugins, not $n (see $log)"

    # --- events/s, steady. The phase in the data tells the parts apart.
    for i in steady reloads; do
        printf '{"name":"bench/reload-01","data":{"phase":"%s"}}\n' "$i" \
            >"$TMP/reload-$i.json"
    done
    echo "reload: events/s without reloads, ${SECONDS_PER_RUN} s ..." >&2
    BENCH_EVENT=$TMP/reload-steady.json run_wrk reload-steady \
        "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    s_rps=$W_RPS s_p50=$W_P50 s_p99=$W_P99 s_acked=$W_ACKED
    # Both parts start alike: no backlog of runs from the first.
    runs_settle "$db" 30 ||
        fail "runs of the steady part still queued or running after 30 s"

    # --- events/s, a SIGHUP every 0.5 s
    echo "reload: events/s with a SIGHUP every 0.5 s," \
        "${SECONDS_PER_RUN} s ..." >&2
    done0=$(reload_log_ms "$log" "$np" | wc -l)
    rm -f "$stop_file" "$TMP/reload-sent.txt"
    (
        k=0
        while [[ ! -e $stop_file ]]; do
            kill -HUP "$PID" 2>/dev/null || break
            k=$((k + 1))
            sleep 0.5
        done
        echo "$k" >"$TMP/reload-sent.txt"
    ) &
    loop=$!
    CHILDREN+=("$loop")
    BENCH_EVENT=$TMP/reload-reloads.json run_wrk reload-reloads \
        "http://127.0.0.1:$PORT/e/bench" "${args[@]}"
    done1=$(reload_log_ms "$log" "$np" | wc -l)
    : >"$stop_file"
    wait "$loop" || true
    forget "$loop"
    sent=$(cat "$TMP/reload-sent.txt" 2>/dev/null) || sent='?'
    r_rps=$W_RPS r_p50=$W_P50 r_p99=$W_P99 r_acked=$W_ACKED
    # The last build asked for ends too: as many reloads end as began.
    for ((i = 0; i < 300; i++)); do
        (($(reload_ends "$log") >=
          $(grep -c '\[reload\] .*: building generation ' "$log"))) && break
        sleep 0.1
    done
    kept=$(grep -c '\[reload\] kept generation ' "$log" || true)

    # --- durability: every acknowledged event has its run, completed
    echo "reload: waiting for the runs (up to 30 s) ..." >&2
    runs_settle "$db" 30 || settled=0
    stop "$PID" reload
    ev_s=$(sqlite3 "$db" "select count(*) from events
                          where json like '%\"phase\":\"steady\"%'")
    ev_r=$(sqlite3 "$db" "select count(*) from events
                          where json like '%\"phase\":\"reloads\"%'")
    missing=$(sqlite3 "$db" "select count(*) from events e where not exists
                             (select 1 from runs r where r.event_id = e.id)")
    failed=$(sqlite3 "$db" "select count(*) from runs
                            where status = 'failed'")
    completed=$(sqlite3 "$db" "select count(*) from runs
                               where status = 'completed'")
    unfinished=$(sqlite3 "$db" "select count(*) from runs
                                where status not in ('completed', 'failed')")
    lost=$((missing + failed))
    ((ev_s >= s_acked)) || lost=$((lost + s_acked - ev_s))
    ((ev_r >= r_acked)) || lost=$((lost + r_acked - ev_r))

    read -r w_min w_med w_max <<<"$wall"
    read -r h_min h_med h_max <<<"$host"
    echo
    echo "reload ($np plugins of one function each, 8 workers)"
    printf '  %-44s %8s %8s %8s\n' "" min median max
    printf '  %-44s %5s ms %5s ms %5s ms\n' \
        "reload time: fnhost reload, wall (x$n)" "$w_min" "$w_med" "$w_max"
    printf '  %-44s %5s ms %5s ms %5s ms\n' \
        "reload time: host log, building -> swapped" "$h_min" "$h_med" \
        "$h_max"
    echo "  (fnhost reload polls every 100 ms, so its wall time is the" \
        "host's plus 100-200 ms)"
    echo
    echo "  events starting a run (bench/reload-01 -> fn-01)," \
        "64 connections, ${SECONDS_PER_RUN} s each"
    printf '  %-36s %10s %12s %12s %9s\n' "" "events/s" "p50" "p99" \
        "vs steady"
    row "steady (no reloads)" "$s_rps" "$s_p50" "$s_p99" "100%"
    row "SIGHUP every 0.5 s" "$r_rps" "$r_p50" "$r_p99" \
        "$(pct "$r_rps" "$s_rps")"
    echo "  reloads during the run: $((done1 - done0)) completed" \
        "($sent SIGHUPs sent; one build at a time, the rest coalesce;" \
        "$kept refused)"
    echo "  durability: $((s_acked + r_acked)) events acknowledged," \
        "$((ev_s + ev_r)) stored, $completed runs completed, $failed failed," \
        "$missing missing, $unfinished unfinished"
    echo "  runs lost: $lost"

    if ((s_acked == 0 || r_acked == 0)); then
        show_log "$log"
        fail "fnhost acknowledged no event in a part; the figures mean nothing"
    fi
    ((kept == 0)) || fail "$kept reloads were refused (see $log)"
    ((done1 > done0)) || fail "no reload completed during the run"
    ((missing == 0)) || fail "$missing stored events have no run"
    ((failed == 0)) || fail "$failed runs failed (see $log)"
    ((ev_s >= s_acked && ev_r >= r_acked)) ||
        fail "acknowledged $s_acked + $r_acked events, stored $ev_s + $ev_r"
    ((settled)) ||
        fail "$unfinished runs still queued or running 30 s after the run"
}

# --- main -----------------------------------------------------------------

# fetch: closed-loop runs of one fetch step (fh_fetch of a local origin,
# tests/tools/http_origin, GET /echo/...) against runs of one plain step,
# on the same host, 64 runs in flight, BENCH_FETCH_WORKERS (default 8)
# workers. A fetch step costs two invocations (the fetch suspends the
# run; the replay gets the response), two commits and the request, which
# libcurl makes on the master's loop. Afterwards the origin's request
# count must cover every stored fetch step: a response without a request
# would be a bug.
bench_fetch() {
    local state=$TMP/fetch w=${BENCH_FETCH_WORKERS:-8} origin oport k out
    local rps lines=() steps reqs

    [[ -x $BUILD/bench/steps_load && -x $BUILD/tests/tools/http_origin ]] ||
        die "no $BUILD/bench/steps_load or tests/tools/http_origin; run:" \
            "make bench"
    setsid "$BUILD/tests/tools/http_origin" "$TMP/origin.port" \
        "$TMP/origin.log" 2>"$TMP/origin.err" &
    origin=$!
    CHILDREN+=("$origin")
    wait_for "$TMP/origin.port" "$origin" origin
    oport=$(head -n 1 "$TMP/origin.port")
    printf '[plugin stepper]\nfetch_url = http://127.0.0.1:%s/echo/bench\n' \
        "$oport" >"$TMP/fetch.ini"
    STEPPER_CONFIG=$TMP/fetch.ini start_stepper fetch "$state" "$w"
    for k in fetch-1 steps-1; do
        echo "fetch: $k runs, $w workers, 2 s warmup + ${SECONDS_PER_RUN} s" \
            "..." >&2
        out=$TMP/load-$k.txt
        if ! "$BUILD/bench/steps_load" -p "$PORT" -d "$state/fnhost.db" \
            -e "bench/$k" -c 64 -w 2 -t "$SECONDS_PER_RUN" >"$out" \
            2>"$TMP/load-$k.err"; then
            cat "$TMP/load-$k.err" >&2
            show_log "$TMP/fetch.log"
            fail "steps_load against $k runs failed"
            continue
        fi
        (($(kv "$out" failed) > 0)) && fail "$(kv "$out" failed) $k runs failed"
        rps=$(kv "$out" runs_per_s)
        lines+=("$(printf '  %-8s %10.0f %7s ms %7s ms' "$k" "$rps" \
            "$(kv "$out" p50_ms)" "$(kv "$out" p99_ms)")")
    done
    stop "$PID" fetch
    stop "$origin" origin
    steps=$(sqlite3 "$state/fnhost.db" \
        "select count(*) from steps where kind = 'fetch'")
    reqs=$(grep -c ' /echo/bench$' "$TMP/origin.log" || true)
    ((reqs >= steps)) ||
        fail "$steps fetch steps stored, but the origin got $reqs requests"

    echo
    echo "fetch (one step per run, 64 runs in flight, closed loop, $w" \
        "workers; latency = event accepted -> run completed)"
    printf '  %-8s %10s %10s %10s\n' run "runs/s" p50 p99
    printf '%s\n' "${lines[@]}"
    echo "  fetch-1: a GET of a local origin per run, made by the master" \
        "(libcurl multi on its loop); steps-1: one trivial step"
    echo "  the origin got $reqs requests for $steps stored fetch steps" \
        "(the rest were in flight at the stop)"
}

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
