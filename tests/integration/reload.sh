#!/usr/bin/env bash
# reload.sh - hot reload: SIGHUP and fnhost reload build a new generation
# while events keep coming; nothing fails or is lost; a broken plugin keeps
# the old generation; an upgrade adds a step to a sleeping run; a removed
# plugin's runs wait and resume when it comes back; a plugin hanging in
# load() does not block the master; --watch reloads by itself; handlers
# in flight at a SIGHUP finish once, with no extra attempt.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins ok
printf '[server]\nload_timeout = 1s\n' >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"
gen() { "$FNHOST" functions --state "$STATE" --json | jq -r .data.generation; }
t_is "$(gen)" 1 "fnhost starts on generation 1"

# A bounded steady load while the plugins are reloaded five times.
(for i in $(seq 1 150); do
    curl -s -o /dev/null -w '%{http_code}\n' -d "{\"name\":\"test/echo\",\"data\":{\"i\":$i}}" \
        "$URL/e/k"
    sleep 0.01
done) >"$T_DIR/codes" &
LOAD=$!
for i in 1 2 3 4 5; do
    sleep 0.2
    kill -HUP "$T_PID"
done
wait $LOAD
ACKED=$(grep -c '^200$' "$T_DIR/codes")
t_is "$ACKED" 150 "every event sent during the reloads was acknowledged"
wait_until 20 runs_in completed 150
t_is "$(sql "select count(*) from runs where status = 'completed'")" 150 \
    "and every one ran, none lost"
t_is "$(sql "select count(*) from runs where status = 'failed' or attempt > 0")" 0 \
    "no run failed or needed a retry across the reloads"
G=$(gen)
t_ok "$([ "$G" -ge 3 ] && [ "$G" -le 6 ]; echo $?)" \
    "the SIGHUPs during the load swapped in new generations (now $G)"
# A folder goes when the last worker of its generation has exited and
# been reaped, which may come a little after the runs complete.
only_current() { [ "$(ls "$STATE/gen")" = "$G" ]; }
wait_until 10 only_current
t_is "$(ls "$STATE/gen")" "$G" "the folders of replaced generations are removed"

# Signals during a build coalesce: three in a row make at most two builds.
B0=$(grep -c 'building generation' "$LOG")
kill -HUP "$T_PID"; kill -HUP "$T_PID"; kill -HUP "$T_PID"
sleep 1
B1=$(grep -c 'building generation' "$LOG")
t_ok "$([ $((B1 - B0)) -ge 1 ] && [ $((B1 - B0)) -le 2 ]; echo $?)" \
    "three SIGHUPs in a row coalesce ($((B1 - B0)) builds)"

# Drop-in: a new .so serves events after the reload.
t_plugins fanout
OUT=$("$FNHOST" reload --state "$STATE")
t_has "$OUT" "reloaded: generation" "fnhost reload reports the new generation"
post '{"name":"test/fanout","data":{}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
done_ev() { get "/v1/events/$1/runs"; [ "$(jq -r '[.data[] | select(.status == "Completed")] | length' <<<"$BODY_OUT")" = "$2" ]; }
wait_until 10 done_ev "$EV" 3
t_ok $? "the dropped-in plugin's functions get the next event"

# A broken plugin: the reload fails, the old generation keeps serving.
G=$(gen)
t_plugins bad_magic
OUT=$("$FNHOST" reload --state "$STATE" 2>&1)
t_is "$?" 1 "fnhost reload fails when a plugin is broken"
t_has "$OUT" "bad_magic.so: bad magic" "and names the file and the reason"
t_is "$(gen)" "$G" "the previous generation keeps serving"
"$FNHOST" functions --state "$STATE" --json >"$T_DIR/f.json"
t_is "$(jq -r .data.last_reload.ok "$T_DIR/f.json")" false \
    "GET /v1/functions shows the failed reload"
post '{"name":"test/fanout","data":{}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 10 done_ev "$EV" 3
t_ok $? "and events still run on it"
rm -f "$PLUGINS/bad_magic.so"

# A .so still being written when the signal comes is refused as a whole
# (the copy is what gets loaded); once complete, it loads.
SIZE=$(stat -c %s "$BUILD/tests/plugins/flaky.so")
head -c $((SIZE / 2)) "$BUILD/tests/plugins/flaky.so" >"$PLUGINS/flaky.so"
chmod 644 "$PLUGINS/flaky.so"
OUT=$("$FNHOST" reload --state "$STATE" 2>&1)
t_has "$OUT" "reload failed, the previous generation keeps serving: $PLUGINS/flaky.so:" \
    "a half-written plugin is refused, not half-loaded (it can crash only the describe child)"
t_is "$(gen)" "$G" "and the old generation serves on"
cat "$BUILD/tests/plugins/flaky.so" >"$PLUGINS/flaky.so"
OUT=$("$FNHOST" reload --state "$STATE" 2>&1)
t_has "$OUT" "reloaded" "once the file is complete, it reloads"
t_has "$("$FNHOST" functions --state "$STATE")" "flaky" "with the plugin's functions"
rm -f "$PLUGINS/flaky.so"
"$FNHOST" reload --state "$STATE" >/dev/null

# A plugin hanging in load(): the master keeps answering meanwhile.
t_plugins hang_load
kill -HUP "$T_PID"
sleep 0.2
H=$(curl -s -m 0.5 -o /dev/null -w '%{http_code}' "$URL/health")
t_is "$H" 200 "while a plugin hangs in load(), /health still answers"
wait_until 10 grep -q "kept generation .*load() did not finish" "$LOG"
t_ok $? "the reload gives up after load_timeout and keeps the old generation"
rm -f "$PLUGINS/hang_load.so"

# Upgrade mid-run: a run sleeping between steps continues on the new code.
install -m 644 "$BUILD/tests/plugins/upgrade_v1.so" "$PLUGINS/upgrade.so"
"$FNHOST" reload --state "$STATE" >/dev/null
post '{"name":"test/upgrade","data":{"sleep":"1500ms"}}'
UP=$(jq -r '.ids[0]' <<<"$BODY_OUT")
# upgrade_run EV: the upgrade function's run of EV into BODY_OUT (test/*
# also starts fanout-wild).
upgrade_run() {
    get "/v1/events/$1/runs"
    get "/v1/runs/$(jq -r '.data[] | select(.function_id == "upgrade") | .run_id' <<<"$BODY_OUT")"
}
sleeping() { upgrade_run "$1"; [ "$(jq -r '.data.status' <<<"$BODY_OUT")" = "$2" ]; }
wait_until 5 sleeping "$UP" Sleeping
install -m 644 "$BUILD/tests/plugins/upgrade_v2.so" "$PLUGINS/.upgrade.tmp"
mv "$PLUGINS/.upgrade.tmp" "$PLUGINS/upgrade.so"
"$FNHOST" reload --state "$STATE" >/dev/null
wait_until 10 sleeping "$UP" Completed
upgrade_run "$UP"
t_is "$(jq -r .data.output <<<"$BODY_OUT")" "v2: a,b,c" \
    "a run sleeping across an upgrade finishes on the new code"
t_is "$(jq -r '[.data.steps[].step_id] | join(",")' <<<"$BODY_OUT")" "a,nap,b,c" \
    "keeping its stored steps and running the added one"

# Removal and return: a pending run waits for its function. The reload
# that removes it must be in effect before the run wakes, however loaded
# the machine: the sleep is long, and the test waits for the generation
# without the function before it waits out the sleep.
post '{"name":"test/upgrade","data":{"sleep":"4s"}}'
PEND=$(jq -r '.ids[0]' <<<"$BODY_OUT")
PEND_AT=$(date +%s)
wait_until 5 sleeping "$PEND" Sleeping
rm -f "$PLUGINS/upgrade.so"
G=$(gen)
"$FNHOST" reload --state "$STATE" >/dev/null
newer_gen() { [ "$(gen)" -gt "$G" ]; }
wait_until 10 newer_gen
t_ok $? "the reload that removes the function is in effect"
upgrade_run "$PEND"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Waiting \
    "before the sleeping run woke: it waits for its function already"
# Its wake time passes while the function is gone.
while [ "$(date +%s)" -lt $((PEND_AT + 5)) ]; do sleep 0.2; done
upgrade_run "$PEND"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Waiting \
    "a sleeping run of a removed function waits instead of failing"
t_has "$("$FNHOST" runs --state "$STATE" --function upgrade)" "Waiting" \
    "fnhost runs shows it waiting for its function"
post '{"name":"test/upgrade","data":{}}'
NEW=$(jq -r '.ids[0]' <<<"$BODY_OUT")
get "/v1/events/$NEW/runs"
t_is "$(jq -r '[.data[].function_id] | join(",")' <<<"$BODY_OUT")" fanout-wild \
    "a removed function gets no new runs"
install -m 644 "$BUILD/tests/plugins/upgrade_v2.so" "$PLUGINS/upgrade.so"
"$FNHOST" reload --state "$STATE" >/dev/null
wait_until 10 sleeping "$PEND" Completed
t_is "$(jq -r .data.output <<<"$BODY_OUT")" "v2: a,b,c" \
    "when the plugin comes back, the waiting run completes"

# A run waiting for a retry (fh_retry_after, a minute) when its plugin is
# removed waits for it too: it shows Waiting, not Running.
t_plugins flaky
"$FNHOST" reload --state "$STATE" >/dev/null
post '{"name":"test/retry-after","data":{"after_ms":60000}}'
RA=$(jq -r '.ids[0]' <<<"$BODY_OUT")
ra_run() {
    get "/v1/events/$RA/runs"
    RA_RUN=$(jq -r '.data[] | select(.function_id == "retry-after") | .run_id' <<<"$BODY_OUT")
    get "/v1/runs/$RA_RUN"
}
retrying() { ra_run; [ "$(jq -r .data.next_attempt_at <<<"$BODY_OUT")" != null ]; }
wait_until 10 retrying
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Running \
    "a run waiting for its retry shows Running"
rm -f "$PLUGINS/flaky.so"
"$FNHOST" reload --state "$STATE" >/dev/null
ra_run
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Waiting \
    "once its plugin is removed, the retrying run shows Waiting"
get "/v1/runs?status=waiting&function_id=retry-after"
t_is "$(jq -r '[.data[].run_id] | join(",")' <<<"$BODY_OUT")" "$RA_RUN" \
    "and ?status=waiting finds it"
get "/v1/runs?status=running&function_id=retry-after"
t_is "$(jq -r '.data | length' <<<"$BODY_OUT")" 0 "?status=running does not"
t_stop

OUT=$("$FNHOST" reload --state "$STATE" 2>&1)
t_has "$OUT" "no fnhost is running on the state folder" \
    "fnhost reload with no host running says so (it signals no stale pid)"

# A SIGHUP while generation 1 is still being built (here a plugin hangs in
# load() for load_timeout) is kept for later, not fatal.
STATE="$T_DIR/state-early"
t_plugins hang_load
"$FNHOST" serve --listen 127.0.0.1:0 --state "$STATE" --plugins "$PLUGINS" \
    --workers 1 --config "$T_DIR/fnhost.ini" >>"$LOG" 2>&1 &
T_PID=$!
sleep 0.3
kill -HUP "$T_PID"
wait_until 10 test -s "$STATE/fnhost.addr"
t_ok "$(kill -0 "$T_PID" 2>/dev/null; echo $?)" "a SIGHUP during start-up does not kill fnhost"
wait_until 10 grep -q "SIGHUP (during start-up)" "$LOG"
t_ok $? "it reloads once serving"
rm -f "$PLUGINS/hang_load.so"
t_stop

# --watch: a plugin copied in is loaded without a signal.
STATE="$T_DIR/state-watch"
T_WORKERS=2 t_start --config "$T_DIR/fnhost.ini" --watch
t_plugins flaky
has_flaky() { "$FNHOST" functions --state "$STATE" | grep -q flaky; }
wait_until 10 has_flaky
t_ok $? "with --watch, copying a plugin in reloads by itself"
t_stop

# Handlers in flight across a SIGHUP: each finishes on the old generation,
# its result is kept, and the run completes once, with no extra attempt.
STATE="$T_DIR/state-busy"
rm -f "$PLUGINS"/*.so
t_plugins counter
COUNT="$T_DIR/count.db"
printf '[server]\nload_timeout = 1s\n[plugin counter]\ndatabase = %s\n' \
    "$COUNT" >"$T_DIR/busy.ini"
T_WORKERS=2 t_start --config "$T_DIR/busy.ini"
post "$(for i in $(seq 1 6); do
    printf '{"name":"test/count","data":{"n":%d,"sleep_ms":600}}\n' "$i"
done | jq -cs .)"
t_is "$HTTP_CODE" 200 "6 slow runs accepted"
busy() { [ "$(sqlite3 "$COUNT" ".timeout 5000" "select count(*) from execs")" -ge 2 ]; }
wait_until 10 busy
G0=$(gen)
kill -HUP "$T_PID"
wait_until 10 eval '[ "$(gen)" -gt "$G0" ]'
t_ok $? "a SIGHUP swaps the generation while both workers run handlers"
INFLIGHT=$(sqlite3 "$COUNT" "select count(*) from execs")
t_ok "$([ "$INFLIGHT" -lt 6 ]; echo $?)" \
    "with runs still to start ($INFLIGHT of 6 started)"
wait_until 30 runs_in completed 6
t_is "$(sql "select count(*) from runs where status = 'completed'")" 6 \
    "every run completes"
t_is "$(sqlite3 "$COUNT" "select count(*) from execs")" 6 \
    "each ran exactly once: a handler in flight at the SIGHUP was not cut"
t_is "$(sqlite3 "$COUNT" "select count(*) from execs where attempt > 0")" 0 \
    "and none needed another attempt"
t_is "$(sql "select count(*) from attempts where error is not null")" 0 \
    "no attempt failed"
t_stop
t_done
