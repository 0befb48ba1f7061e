#!/usr/bin/env bash
# waits.sh - fh_wait_for_event() against the daemon: a matching event
# resumes the run with that event, one that does not match leaves it
# waiting, a timeout resumes it with null, one event resumes many waits,
# `if` waits, look-back, the API and CLI show Waiting; waits survive a
# kill -9 of the master and a reload, and the event that ends a wait is
# acknowledged only with the wait's end committed in the same transaction.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins waits
EXECS="$T_DIR/execs.db"
printf '[plugin waits]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"

# start_run EVENT: posts it; RUN gets the id of the run it started.
start_run() {
    post "$1"
    local ev
    ev=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    has_run() { [ -n "$(sql "select id from runs where event_id = '$1'")" ]; }
    wait_until 10 has_run "$ev"
    RUN=$(sql "select id from runs where event_id = '$ev'")
}
status_of() { sql "select status from runs where id = '$1'"; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }
output_of() { sql "select output from runs where id = '$1'"; }
execs() { sqlite3 "$EXECS" "select count(*) from execs where run_id = '$1' and step_id = '$2'"; }

# --- match
start_run '{"name":"test/wait.start","data":{"user_id":"u1"}}'
R1=$RUN
wait_until 10 is_status "$R1" waiting
t_is "$(status_of "$R1")" waiting "the run waits in the store"
get "/v1/runs/$R1"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Waiting "GET /v1/runs/{id} shows Waiting"
t_is "$(jq -c '.data.waiting_for | [.event, .match, .step_id]' <<<"$BODY_OUT")" \
    '["test/wait.login","data.user_id","wait-login"]' "and what it waits for"
t_has "$("$FNHOST" runs --state "$STATE")" "Waiting" "fnhost runs shows Waiting"
t_has "$("$FNHOST" run --state "$STATE" "$R1")" "waits for test/wait.login matching data.user_id" \
    "fnhost run says what it waits for"
get "/v1/runs?status=waiting"
t_is "$(jq -r '.data[].run_id' <<<"$BODY_OUT")" "$R1" "the status filter finds it"
t_is "$(sql "select count(*) from runs r join pauses p on p.run_id = r.id where r.status = 'waiting'")" 1 \
    "one wait is recorded"

post '{"name":"test/wait.login","data":{"user_id":"u9"}}'
t_is "$HTTP_CODE" 200 "an event for another user is accepted"
post '{"name":"test/wait.other","data":{"user_id":"u1"}}'
# A run that an event would resume is due with that event's commit: a
# barrier event that triggers a run proves the two above committed, and
# the run, once that one completes, is still waiting.
start_run '{"name":"test/wait.any.start","data":{}}'
BAR=$RUN
wait_until 10 is_status "$BAR" waiting
t_is "$(status_of "$R1")" waiting "an event of another user or name does not end the wait"

post '{"name":"test/wait.login","data":{"user_id":"u1","via":"web"}}'
LOGIN=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 10 is_status "$R1" completed
t_is "$(status_of "$R1")" completed "the matching event resumes the run"
t_is "$(output_of "$R1" | jq -c '.got.data')" '{"user_id":"u1","via":"web"}' \
    "and the wait returns that event"
t_is "$(sql "select count(*) from pauses where run_id = '$R1'")" 0 "the wait is gone"
t_is "$(execs "$R1" before)" 1 "the step before the wait ran once"
t_is "$(execs "$R1" after)" 1 "and the step after it once"
get "/v1/events/$LOGIN/runs"
t_is "$(jq '.data | length' <<<"$BODY_OUT")" 0 "the event started no run of its own"

# --- one event, many waits
RUNS=()
for i in 1 2 3 4 5; do
    start_run '{"name":"test/wait.start","data":{"user_id":"many"}}'
    RUNS+=("$RUN")
done
all_waiting() { [ "$(sql "select count(*) from runs where status = 'waiting' and function_id = 'wait-match'")" = 5 ]; }
wait_until 10 all_waiting
t_ok $? "five runs wait for the same user"
post '{"name":"test/wait.ping","data":{}}'
wait_until 10 is_status "$BAR" completed
t_is "$(status_of "$BAR")" completed "a wait on the name alone ends with any event of it"
post '{"name":"test/wait.login","data":{"user_id":"many"}}'
LOGIN=$(jq -r '.ids[0]' <<<"$BODY_OUT")
done5() { [ "$(sql "select count(*) from runs where status = 'completed' and function_id = 'wait-match'")" = 6 ]; }
wait_until 10 done5
t_ok $? "one event resumes all five"
n=0
for r in "${RUNS[@]}"; do
    [ "$(output_of "$r" | jq -r '.got.data.user_id')" = many ] && n=$((n + 1))
done
t_is "$n" 5 "each with that event"

# --- timeout
start_run '{"name":"test/wait.start","data":{"user_id":"late","timeout":"1s"}}'
RT=$RUN
wait_until 20 is_status "$RT" completed
t_is "$(output_of "$RT")" '{"got":null}' "a wait that times out returns null"
t_is "$(sql "select count(*) from pauses where run_id = '$RT'")" 0 "and its wait is gone"
post '{"name":"test/wait.login","data":{"user_id":"late"}}'
t_is "$(execs "$RT" after)" 1 "an event after the timeout changes nothing"

# --- if
start_run '{"name":"test/wait.if.start","data":{"min":10}}'
RI=$RUN
wait_until 10 is_status "$RI" waiting
post '{"name":"test/wait.score","data":{"score":5}}'
post '{"name":"test/wait.score","data":{"score":"high"}}'
start_run '{"name":"test/wait.any.start","data":{}}'
wait_until 10 is_status "$RUN" waiting
t_is "$(status_of "$RI")" waiting "an event that makes the if false, or fail, does not end the wait"
post '{"name":"test/wait.score","data":{"score":20}}'
wait_until 10 is_status "$RI" completed
t_is "$(output_of "$RI" | jq -c .got.data)" '{"score":20}' "one that makes it true does"
post '{"name":"test/wait.ping","data":{}}' # ends the barrier

# --- a wait that cannot be
start_run '{"name":"test/wait.bad.start","data":{}}'
wait_until 10 is_status "$RUN" failed
t_has "$(sql "select error from runs where id = '$RUN'")" "wait \"bad\": .if_expr: column" \
    "a bad if fails the run, saying where"

# --- look-back
post '{"name":"test/wait.login","data":{"user_id":"early"}}'
post '{"name":"test/wait.login","data":{"user_id":"early2"}}'
start_run '{"name":"test/wait.start","data":{"user_id":"early","lookback":"10m"}}'
RL=$RUN
wait_until 10 is_status "$RL" completed
t_is "$(output_of "$RL" | jq -r .got.data.user_id)" early \
    "with a look-back, an event that came just before the wait ends it"
start_run '{"name":"test/wait.start","data":{"user_id":"early2"}}'
RN=$RUN
wait_until 10 is_status "$RN" waiting
post '{"name":"test/wait.ping","data":{}}'
start_run '{"name":"test/wait.any.start","data":{}}'
wait_until 10 is_status "$RUN" waiting
t_is "$(status_of "$RN")" waiting "without one, it does not"
post '{"name":"test/wait.login","data":{"user_id":"early2"}}'
wait_until 10 is_status "$RN" completed
post '{"name":"test/wait.ping","data":{}}'

# --- kill -9 while runs wait
RUNS=()
for i in 1 2 3; do
    start_run "{\"name\":\"test/wait.start\",\"data\":{\"user_id\":\"k$i\"}}"
    RUNS+=("$RUN")
done
three() { [ "$(sql "select count(*) from pauses where run_id in ('${RUNS[0]}','${RUNS[1]}','${RUNS[2]}')")" = 3 ]; }
wait_until 10 three
t_kill9
t_start --config "$T_DIR/fnhost.ini"
t_is "$(status_of "${RUNS[0]}")" waiting "after a kill -9 the runs still wait"
post '{"name":"test/wait.login","data":{"user_id":"k1"}}'
post '{"name":"test/wait.login","data":{"user_id":"k2"}}'
wait_until 10 is_status "${RUNS[0]}" completed
wait_until 10 is_status "${RUNS[1]}" completed
t_is "$(status_of "${RUNS[0]}")$(status_of "${RUNS[1]}")" completedcompleted \
    "and the events sent after the restart resume them"
t_is "$(execs "${RUNS[0]}" before)" 1 "the step before the wait did not run again"

# --- an event during a reload
kill -HUP "$T_PID"
post '{"name":"test/wait.login","data":{"user_id":"k3"}}'
t_is "$HTTP_CODE" 200 "an event sent during a reload is accepted"
wait_until 20 is_status "${RUNS[2]}" completed
t_is "$(output_of "${RUNS[2]}" | jq -r .got.data.user_id)" k3 "and resumes its wait"
t_stop

# --- the event and the wait's end commit together
# Each commit waits 400 ms: the daemon is killed right after the event is
# acknowledged. Were the wait ended in a transaction of its own after the
# event's, the kill would come before it commits, and the run would wait
# forever for an event that was acknowledged.
FNHOST_FAULT_COMMIT_DELAY_MS=400 t_start --config "$T_DIR/fnhost.ini"
start_run '{"name":"test/wait.start","data":{"user_id":"atomic"}}'
RA=$RUN
wait_until 20 is_status "$RA" waiting
post '{"name":"test/wait.login","data":{"user_id":"atomic"}}'
t_is "$HTTP_CODE" 200 "the event is acknowledged"
t_kill9
t_is "$(sql "select count(*) from pauses where run_id = '$RA'")$(sql "select json_extract(result, '$.data.user_id') from steps where run_id = '$RA' and step_id = 'wait-login'")" \
    0atomic "killed at once after the ack, the wait had ended with the event"
t_start --config "$T_DIR/fnhost.ini"
wait_until 20 is_status "$RA" completed
t_is "$(output_of "$RA" | jq -r .got.data.user_id)" atomic \
    "and after the restart it resumes with the event"
t_stop
t_done
