#!/usr/bin/env bash
# cancel.sh - cancellation against the daemon: DELETE /v1/runs/{id} of a
# queued, retrying, sleeping and running run (the running step completes
# and is recorded, the next never starts), 409 for one that ended, bulk
# POST /v1/cancellations by time range and `if`, fnhost cancel, the
# timeouts.start and timeouts.finish options, and cancels that survive a
# kill -9 of the master. What ran is counted from the fixture's side
# effects (tests/plugins/cancel.c: one line per step in W/RUN.log).
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins cancel invoker waits
W="$T_DIR/w"
mkdir -p "$W"
T_WORKERS=1 t_start

# send NAME [DATA-FIELDS] [EVENT-FIELDS]: an event for the fixture; sets
# RUN to the run it started.
send() {
    post "{\"name\":\"$1\",\"data\":{\"dir\":\"$W\"${2:+,$2}}${3:+,$3}}"
    local ev
    ev=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    RUN=$(sql "select id from runs where event_id = '$ev'")
}
# del RUN: DELETE /v1/runs/RUN; bulk BODY: POST /v1/cancellations.
del() { request DELETE "/v1/runs/$1"; }
bulk() { request POST /v1/cancellations "$1"; }
status() { sql "select status from runs where id = '$1'"; }
is_status() { [ "$(status "$1")" = "$2" ]; }
# ran RUN: the steps RUN executed, one per line.
ran() { cat "$W/$1.log" 2>/dev/null; }
has_run() { grep -qx "$2" "$W/$1.log" 2>/dev/null; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
HOUR_LATER=$(($(now_ms) + 3600000))

# --- 404 and 409
del 01JZZZZZZZZZZZZZZZZZZZZZZZ
t_is "$HTTP_CODE" 404 "DELETE of an unknown run is a 404"
send test/cancel-once
wait_until 20 is_status "$RUN" completed
del "$RUN"
t_is "$HTTP_CODE" 409 "DELETE of a completed run is a 409"
t_is "$(jq -c '[.status, (.error | test("already completed"))]' \
    <<<"$BODY_OUT")" '[409,true]' "with the error JSON of the house"

# --- a running run: its step completes and is recorded, the next never
# starts. One worker, held inside step "hold" until W/go exists.
send test/cancel-held
HELD=$RUN
wait_until 20 has_run "$HELD" hold
t_ok $? "the held run is inside its first step"
# Meanwhile a run waits in the ready queue behind it.
send test/cancel-once
QUEUED=$RUN
del "$HELD"
t_is "$HTTP_CODE" 200 "DELETE of a running run is a 200"
t_is "$(jq -c '[.data.status, (.data.cancel_requested_at != null)]' \
    <<<"$BODY_OUT")" '["Running",true]' \
    "it shows Running, with cancel_requested_at, until its step boundary"
OUT=$("$FNHOST" cancel "$QUEUED" --url "$URL" 2>&1)
t_is "$OUT" "run $QUEUED cancelled" "fnhost cancel RUN of a queued run"
t_is "$(status "$QUEUED")" cancelled "which is cancelled at once"
touch "$W/go"
wait_until 20 is_status "$HELD" cancelled
t_ok $? "the running run ends cancelled once its step returns"
t_is "$(ran "$HELD")" hold "its next step never started"
get "/v1/runs/$HELD"
t_is "$(jq -c '[.data.status, .data.steps[0].step_id, .data.steps[0].status,
    .data.steps[0].result, (.data.steps | length)]' <<<"$BODY_OUT")" \
    '["Cancelled","hold","completed","held",1]' \
    "the step it was in is recorded, and shows in the Cancelled run"
t_is "$(jq -r .data.error <<<"$BODY_OUT")" "cancelled by DELETE /v1/runs" \
    "its error says who cancelled it"
# The worker is free again: a new run completes.
send test/cancel-once
wait_until 20 is_status "$RUN" completed
t_ok $? "the worker takes the next run"
t_is "$(ran "$QUEUED")" "" "the queued run never ran"

# --- a retrying run: its next attempt (an hour away) never comes
send test/cancel-retry
RETRY=$RUN
retrying() {
    [ "$(sql "select status || attempt from runs where id = '$1'")" = queued1 ]
}
wait_until 20 retrying "$RETRY"
get "/v1/runs/$RETRY"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Running "a retrying run"
del "$RETRY"
t_is "$(jq -c '[.data.status, .data.next_attempt_at]' <<<"$BODY_OUT")" \
    '["Cancelled",null]' "is cancelled at once"
t_is "$(ran "$RETRY")" attempt "after its one attempt"

# --- a sleeping run never wakes. A second run that sleeps as long, from
# later, wakes and completes: by then the first would have woken.
send test/cancel-sleeper '"sleep":"2s"'
SLEEPER=$RUN
wait_until 20 is_status "$SLEEPER" sleeping
del "$SLEEPER"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Cancelled \
    "DELETE of a sleeping run cancels it at once"
send test/cancel-sleeper '"sleep":"2s"'
wait_until 30 is_status "$RUN" completed
t_ok $? "another run of the same sleep wakes and completes"
t_is "$(ran "$SLEEPER")" before "the cancelled run never woke"
del "$SLEEPER"
t_is "$(jq -c '[.status, (.error | test("been cancelled"))]' \
    <<<"$BODY_OUT")" '[409,true]' "DELETE of a cancelled run is a 409"

# --- a queued run the scheduler does not hold: scheduled for an hour on
send test/cancel-once "" "\"ts\":$HOUR_LATER"
del "$RUN"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Cancelled \
    "DELETE of a run scheduled for later cancels it"

get "/v1/runs?status=cancelled"
t_is "$(jq '.data | length' <<<"$BODY_OUT")" 5 \
    "GET /v1/runs?status=cancelled finds the five"
t_is "$("$FNHOST" runs --status cancelled --url "$URL" | grep -c Cancelled)" \
    5 "and so does fnhost runs --status cancelled"

# --- bulk: by time range and `if`, over runs scheduled for later
send test/cancel-once '"user":"a"' "\"ts\":$HOUR_LATER"
FIRST=$RUN
sleep 0.01
MID=$(now_ms)
sleep 0.01
send test/cancel-once '"user":"a"' "\"ts\":$HOUR_LATER"
LATE_A=$RUN
send test/cancel-once '"user":"b"' "\"ts\":$HOUR_LATER"
LATE_B=$RUN
bulk "{\"function_id\":\"cancel-once\",\"started_after\":$MID,
       \"if\":\"event.data.user == 'a'\"}"
t_is "$HTTP_CODE" 200 "POST /v1/cancellations"
t_is "$(jq -c '[.data.cancelled, (.data.id | length), .data.function_id]' \
    <<<"$BODY_OUT")" '[1,26,"cancel-once"]' \
    "answers with its id and the one run it cancelled"
t_is "$(status "$LATE_A") $(status "$FIRST") $(status "$LATE_B")" \
    "cancelled queued queued" "the later run of user a, and no other"
t_is "$(sql "select error from runs where id = '$LATE_A'")" \
    "cancelled by cancellation $(jq -r .data.id <<<"$BODY_OUT")" \
    "its error names the cancellation"
MID_RFC=$(date -u -d "@$((MID / 1000))" +%Y-%m-%dT%H:%M:%S)
MID_RFC=$MID_RFC.$(printf %03d $((MID % 1000)))Z
bulk "{\"function_id\":\"cancel-once\",\"started_before\":\"$MID_RFC\"}"
t_is "$(jq .data.cancelled <<<"$BODY_OUT")" 1 \
    "started_before (RFC 3339) picks the earlier run"
t_is "$(status "$FIRST") $(status "$LATE_B")" "cancelled queued" \
    "which is cancelled, the other not"
OUT=$("$FNHOST" cancel --function cancel-once --if 'event.data.user == "b"' \
    --url "$URL" 2>&1)
t_has "$OUT" ": 1 run cancelled" "fnhost cancel --function F --if EXPR"
t_is "$(status "$LATE_B")" cancelled "cancels the run it picks"
bulk '{"function_id":"cancel-once","if":"event.data.user =="}'
t_is "$HTTP_CODE" 400 "a bad if is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" "if: column 19: expected" \
    "naming the column and what was expected"
bulk '{"function_id":"cancel-once","started_after":"yesterday"}'
t_has "$HTTP_CODE $(jq -r .error <<<"$BODY_OUT")" \
    "400 started_after: expected a time" "a bad time is a 400 naming it"
bulk '{"started_after":0}'
t_has "$HTTP_CODE $(jq -r .error <<<"$BODY_OUT")" "400 function_id:" \
    "a missing function_id is a 400"
OUT=$("$FNHOST" cancel --function cancel-once --if 'event.data.user ==' \
    --url "$URL" 2>&1)
t_has "$?:$OUT" "1:fnhost: if: column" "fnhost cancel says why it was refused"

# --- timeouts.start: a run that waits in line longer than 1s is
# cancelled and never runs. The one worker is held meanwhile.
rm -f "$W/go"
send test/cancel-held
HELD2=$RUN
wait_until 20 has_run "$HELD2" hold
send test/cancel-start
START=$RUN
wait_until 20 is_status "$START" cancelled
t_ok $? "a run queued past its timeouts.start is cancelled"
t_has "$(sql "select error from runs where id = '$START'")" \
    "timeouts.start passed before it started" "saying why"
touch "$W/go"
wait_until 20 is_status "$HELD2" completed
t_ok $? "the run that held the worker completes"
t_is "$(ran "$START")" "" "the timed-out run never ran"

# --- timeouts.finish: 1s from its first start, it is asleep for 10m
send test/cancel-finish '"sleep":"10m"'
FINISH=$RUN
wait_until 20 is_status "$FINISH" cancelled
t_ok $? "a run past its timeouts.finish is cancelled in its sleep"
t_has "$(sql "select error from runs where id = '$FINISH'")" \
    "timeouts.finish passed before it ended" "saying why"
t_is "$(ran "$FINISH")" before "after its first step only"

# --- a run that a step invoked: cancelling it fails the invoke, and the
# run waiting on it goes on at once.
post "{\"name\":\"test/call\",\"data\":{\"target\":\"cancel-sleeper\",
       \"args\":{\"dir\":\"$W\",\"sleep\":\"10m\"}}}"
CALLER=$(sql "select id from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")'")
child_sleeps() {
    CHILD=$(sql "select id from runs where parent_run_id = '$CALLER'")
    [ -n "$CHILD" ] && is_status "$CHILD" sleeping
}
wait_until 20 child_sleeps
t_ok $? "an invoked run sleeps while its caller waits"
del "$CHILD"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Cancelled "it is cancelled"
wait_until 20 is_status "$CALLER" completed
t_ok $? "its caller goes on"
t_is "$(sql "select output from runs where id = '$CALLER'")" \
    '{"error":"invoke cancel-sleeper: cancelled"}' \
    "with the invoke failed as cancelled"

# --- a run that waits for an event: cancelled, its wait is gone, and the
# event it waited for resumes nothing.
post '{"name":"test/wait.start","data":{"user_id":"uc"}}'
WAITER=$(sql "select id from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")'")
wait_until 20 is_status "$WAITER" waiting
del "$WAITER"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Cancelled \
    "DELETE of a run waiting for an event cancels it"
t_is "$(sql "select count(*) from pauses where run_id = '$WAITER'")" 0 \
    "its wait is deleted with it"
post '{"name":"test/wait.login","data":{"user_id":"uc"}}'
send test/cancel-once
wait_until 20 is_status "$RUN" completed
t_is "$(status "$WAITER")" cancelled "the event it waited for does not resume it"
t_stop

# --- durability: each commit waits 300 ms, so that a 200 sent before the
# cancel commits would be followed by the kill -9 before the commit.
STATE="$T_DIR/state2"
FNHOST_FAULT_COMMIT_DELAY_MS=300 T_WORKERS=1 t_start
send test/cancel-sleeper '"sleep":"3s"'
SLEEPER=$RUN
wait_until 20 is_status "$SLEEPER" sleeping
del "$SLEEPER"
t_is "$HTTP_CODE" 200 "a sleeping run's cancel is answered"
t_kill9
T_WORKERS=1 t_start
send test/cancel-sleeper '"sleep":"3s"'
wait_until 30 is_status "$RUN" completed
t_ok $? "after kill -9 and a restart, a later run of the same sleep completes"
t_is "$(status "$SLEEPER"):$(ran "$SLEEPER")" cancelled:before \
    "the cancelled one stays cancelled and never woke"
t_stop

# A running run's cancel, durable before the 200, ends it at the restart:
# it never runs again.
rm -f "$W/go"
FNHOST_FAULT_COMMIT_DELAY_MS=300 T_WORKERS=1 t_start
send test/cancel-held
HELD=$RUN
wait_until 20 has_run "$HELD" hold
del "$HELD"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Running \
    "a running run's cancel is answered, its step still running"
t_kill9
T_WORKERS=1 t_start
touch "$W/go"
send test/cancel-held
wait_until 30 is_status "$RUN" completed
t_ok $? "after kill -9 and a restart, a later run of the function completes"
t_is "$(status "$HELD"):$(ran "$HELD" | tr '\n' ' ')" "cancelled:hold " \
    "the cancelled run is cancelled, its step never ran again, nor the next"
t_stop
t_done
