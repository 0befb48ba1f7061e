#!/usr/bin/env bash
# plugin_failures.sh - a plugin that cannot load costs no acknowledged
# event its run: a worker whose load() fails is replaced (with a growing
# delay) rather than given runs it cannot do.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"

metric() { # metric NAME: its value in GET /metrics
    get /metrics
    awk -v m="$1" '$1 == m { print $2 }' <<<"$BODY_OUT"
}

workers_of() { # workers_of PID: its worker processes
    pgrep -P "$1" -x fnhost-worker
}

# 1. load() fails in one worker only, for a while.
t_setup
t_plugins load_when
DOWN="$T_DIR/database-down"
export FNHOST_TEST_LOAD_FAILS_IF="$DOWN"
t_start
post '{"name":"test/load-when"}'
wait_until 10 runs_in completed 1
t_is "$(sql "select count(*) from runs where status = 'completed'")" 1 \
    "both workers load the plugin while its database is up"
t_is "$(metric fnhost_worker_start_failures_total)" 0 \
    "no worker has failed to start"

touch "$DOWN"
W=$(workers_of "$T_PID" | head -n 1)
kill -9 "$W"
wait_until 10 grep -q "the database is down" "$LOG"
t_ok $? "the worker started in its place cannot load it: the log says why"
rm -f "$DOWN"

# 200 events for a function with no retries: every one must complete.
BATCH=$(jq -nc '[range(200) | {name: "test/load-when", data: {i: .}}]')
post "$BATCH"
t_is "$HTTP_CODE" 200 "200 events are accepted"
wait_until 60 runs_in completed 201
t_is "$(sql "select count(*) from runs where status = 'completed'")" 201 \
    "every run completes: none was given to the worker that cannot run it"
t_is "$(sql "select count(*) from runs where status = 'failed'")" 0 \
    "no run failed for it"
F=$(metric fnhost_worker_start_failures_total)
t_ok "$([ "${F:-0}" -ge 1 ]; echo $?)" \
    "/metrics counts the worker that failed to start ($F)"
t_has "$(cat "$LOG")" "could not load its plugins" \
    "the log says the worker was replaced because load() failed"
wait_until 30 eval '[ "$(workers_of "$T_PID" | wc -l)" = 2 ]'
t_ok $? "once the cause is gone, the pool is whole again"
post '{"name":"test/load-when"}'
wait_until 10 runs_in completed 202
t_is "$(sql "select count(*) from runs where status = 'completed'")" 202 \
    "and serves"
t_stop

# 14. Plugins are described side by side: three whose load() returns only
# once all three are loading at the same time load at start. Described one
# after another, each would wait out its load_timeout and be refused.
rm -f "$PLUGINS"/*.so
t_plugins barrier_1 barrier_2 barrier_3
mkdir -p "$T_DIR/barrier"
export FNHOST_TEST_BARRIER="$T_DIR/barrier"
: >"$LOG"
t_start --load-timeout 5s
t_has "$(cat "$LOG")" "generation 1: 3 plugins, 3 functions" \
    "three plugins are described at once at start"
post '{"name":"test/barrier"}'
wait_until 10 runs_in completed 4
t_is "$(sql "select count(*) from runs where function_id like 'barrier-%' and status = 'completed'")" 3 \
    "and each serves"
t_stop
t_done
