#!/usr/bin/env bash
# plugin_failures.sh - a plugin that cannot load costs no acknowledged
# event its run: a worker whose load() fails is replaced (with a growing
# delay) rather than given runs it cannot do.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"

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

# 200 events for a function with no retries, while workers started in
# its place still cannot load the plugin: every one must complete, on the
# worker that has it.
BATCH=$(jq -nc '[range(200) | {name: "test/load-when", data: {i: .}}]')
post "$BATCH"
t_is "$HTTP_CODE" 200 "200 events are accepted"
wait_until 60 runs_in completed 201
twice() { [ "$(metric fnhost_worker_start_failures_total)" -ge 2 ]; }
wait_until 10 twice
t_ok $? "meanwhile another worker tried to start and could not"
rm -f "$DOWN"
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

# 2. A plugin refused at start: the host says so, and the events for what
# it last declared get runs that wait for it.
rm -f "$PLUGINS"/*.so
t_plugins ok
: >"$LOG"
t_start
get /health
t_is "$HTTP_CODE" 200 "/health is 200 while every plugin loads"
t_stop
chmod 664 "$PLUGINS/ok.so"
: >"$LOG"
t_start
get /health
t_is "$HTTP_CODE" 503 "/health is 503 while a plugin in the folder is refused"
t_has "$(jq -r .message <<<"$BODY_OUT")" "degraded: 1 plugin refused: $PLUGINS/ok.so: refused: the file is writable by its group" \
    "and says which file and why"
get /v1/functions
t_is "$(jq -r '.data.refused[0].file' <<<"$BODY_OUT")" "$PLUGINS/ok.so" \
    "/v1/functions lists the refused file"
t_is "$(jq -r '[.data.refused[0].functions[].id] | sort | join(",")' <<<"$BODY_OUT")" \
    "count-ok,echo" \
    "with the functions it declared when it last loaded"
t_is "$(jq -r '.data.last_reload.ok' <<<"$BODY_OUT")" false \
    "and the start-up load is not called ok"
t_is "$(metric fnhost_plugins_refused)" 1 "/metrics counts it"
post '{"name":"test/echo","data":{"n":1}}'
t_is "$HTTP_CODE" 200 "an event for its function is accepted"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 5 eval '[ "$(sql "select count(*) from runs where event_id = '"'$EV'"'")" -ge 1 ]'
t_is "$(sql "select status from runs where event_id = '$EV' and function_id = 'echo'")" queued \
    "and gets a run, which waits in the store"
get "/v1/events/$EV/runs"
t_is "$(jq -r '.data[] | select(.function_id == "echo") | .status' <<<"$BODY_OUT")" Waiting \
    "shown as Waiting"
chmod 644 "$PLUGINS/ok.so"
"$FNHOST" reload --state "$STATE" >/dev/null 2>&1
t_ok $? "a reload with the file fixed succeeds"
wait_until 10 eval '[ "$(sql "select status from runs where event_id = '"'$EV'"' and function_id = '"'echo'"'")" = completed ]'
t_ok $? "the waiting run starts once the plugin loads, and completes"
get /health
t_is "$HTTP_CODE" 200 "/health is 200 again"
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
