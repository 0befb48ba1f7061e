#!/usr/bin/env bash
# cancel_events.sh - a cancelled run emits inngest/function.cancelled (its
# "id" the run id) and inngest/function.finished, in the transaction that
# ends it cancelled, however it was cancelled: DELETE, bulk, timeouts,
# its step boundary, a restart that ends a pending cancel. A kill -9 while
# that commit is slow finds both or neither. A restart that ends the
# cancel of an invoked run fails its caller's invoke step.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins cancel lifecycle invoker
W="$T_DIR/w"
mkdir -p "$W"
T_WORKERS=1 t_start

send() {
    post "{\"name\":\"$1\",\"data\":{\"dir\":\"$W\"${2:+,$2}}${3:+,$3}}"
    RUN=$(sql "select id from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")'")
}
del() { request DELETE "/v1/runs/$1"; }
status() { sql "select status from runs where id = '$1'"; }
is_status() { [ "$(status "$1")" = "$2" ]; }
has_run() { grep -qx "$2" "$W/$1.log" 2>/dev/null; }
# about RUN NAME: how many events NAME are about RUN
about() {
    sql "select count(*) from events where name = '$2'
         and json_extract(json, '$.data.run_id') = '$1'"
}
# observer RUN FN: the output of FN's run for the lifecycle event of RUN
observer() {
    sql "select r.output from runs r join events e on e.id = r.event_id
         where r.function_id = '$2' and r.status = 'completed'
         and json_extract(e.json, '$.data.run_id') = '$1'"
}
observed() { [ -n "$(observer "$1" "$2")" ]; }

# --- DELETE of a sleeping run
send test/cancel-sleeper '"sleep":"10m"'
SLEEPER=$RUN
wait_until 20 is_status "$SLEEPER" sleeping
t_is "$(about "$SLEEPER" inngest/function.cancelled)" 0 "a sleeping run emits nothing"
del "$SLEEPER"
t_is "$(status "$SLEEPER"),$(about "$SLEEPER" inngest/function.cancelled)" cancelled,1 \
    "DELETE: the run is cancelled and its function.cancelled stored, as the 200 is sent"
wait_until 20 observed "$SLEEPER" on-cancelled
t_ok $? "the function that subscribes to inngest/function.cancelled runs"
t_is "$(jq -c '[.function_id, .run_id, .trigger, .error_name, .error, (.events | map(.name))]' \
    <<<"$(observer "$SLEEPER" on-cancelled)")" \
    "[\"cancel-sleeper\",\"$SLEEPER\",\"test/cancel-sleeper\",\"Error\",\"function cancelled\",[\"test/cancel-sleeper\"]]" \
    "its data: function_id, run_id, event, events, error {name, message} as Inngest's"
t_is "$(sql "select user_id from events where name = 'inngest/function.cancelled'
             and json_extract(json, '$.data.run_id') = '$SLEEPER'")" "$SLEEPER" \
    "its id is the run id"
wait_until 20 observed "$SLEEPER" on-finished
t_ok $? "and inngest/function.finished, as Inngest emits for every end"
t_is "$(jq -r .error <<<"$(observer "$SLEEPER" on-finished)")" "function cancelled" \
    "with the same error"
t_is "$(about "$SLEEPER" inngest/function.failed)" 0 "a cancelled run emits no function.failed"
del "$SLEEPER"
t_is "$HTTP_CODE,$(about "$SLEEPER" inngest/function.cancelled)" 409,1 \
    "a second DELETE is a 409 and emits nothing"

# --- at its step boundary: a running run, held in its first step
send test/cancel-held
HELD=$RUN
wait_until 20 has_run "$HELD" hold
del "$HELD"
t_is "$(about "$HELD" inngest/function.cancelled)" 0 \
    "a running run's cancel emits nothing before its step boundary"
touch "$W/go"
wait_until 20 observed "$HELD" on-cancelled
t_ok $? "at its step boundary it does"
t_is "$(status "$HELD"),$(about "$HELD" inngest/function.cancelled)" cancelled,1 "once"
rm -f "$W/go"

# --- bulk, and timeouts.finish
send test/cancel-sleeper '"sleep":"10m"' '"ts":'$(($(date +%s) * 1000 + 3600000))
LATER=$RUN
request POST /v1/cancellations '{"function_id":"cancel-sleeper","started_after":0,"started_before":"2100-01-01T00:00:00Z"}'
wait_until 20 observed "$LATER" on-cancelled
t_ok $? "a bulk cancellation emits function.cancelled"
send test/cancel-finish '"sleep":"10m"'
FINISH=$RUN
wait_until 20 observed "$FINISH" on-cancelled
t_ok $? "so does a timeouts.finish"

# Runs that lifecycle events started emit none: cancelling one emits
# nothing.
send test/cancel-sleeper '"sleep":"10m"'
wait_until 20 is_status "$RUN" sleeping
t_is "$(sql "select count(*) from events e join runs r
             on r.id = json_extract(e.json, '$.data.run_id')
             where e.name like 'inngest/function.%'
             and r.function_id like 'on-%'")" 0 \
    "the observers' runs emit no lifecycle event"
t_stop

# --- atomicity: each commit waits DELAY ms. Kill -9 the moment either the
# run's cancelled status or its event can be read: both must be stored,
# and after the restart its observer runs once.
FNHOST_FAULT_COMMIT_DELAY_MS=1500 T_WORKERS=1 t_start
send test/cancel-sleeper '"sleep":"10m"'
R=$RUN
wait_until 30 is_status "$R" sleeping
request DELETE "/v1/runs/$R" >/dev/null 2>&1 &
DEL_PID=$!
visible() {
    is_status "$R" cancelled || [ "$(about "$R" inngest/function.cancelled)" -ge 1 ]
}
wait_until 30 visible
t_ok $? "the cancel commits while commits are slow"
t_kill9
wait "$DEL_PID" 2>/dev/null
t_is "$(status "$R"),$(about "$R" inngest/function.cancelled)" cancelled,1 \
    "the moment one can be read, so can the other: the end and its event"
T_WORKERS=1 t_start
wait_until 20 observed "$R" on-cancelled
t_ok $? "after a restart its observer runs"
t_is "$(about "$R" inngest/function.cancelled)" 1 "and the event was stored once"
t_stop

# --- a cancel pending at a kill -9 ends at the restart, with its events;
# an invoked run's pending cancel fails its caller's invoke step.
T_WORKERS=1 t_start
post "{\"name\":\"test/call\",\"data\":{\"target\":\"cancel-held\",\"args\":{\"dir\":\"$W\"}}}"
CALLER=$(sql "select id from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")'")
child_holds() {
    CHILD=$(sql "select id from runs where parent_run_id = '$CALLER'")
    [ -n "$CHILD" ] && has_run "$CHILD" hold
}
wait_until 20 child_holds
t_ok $? "an invoked run is inside its first step"
del "$CHILD"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Running "its cancel is pending"
t_kill9
T_WORKERS=1 t_start
t_is "$(status "$CHILD"),$(about "$CHILD" inngest/function.cancelled)" cancelled,1 \
    "the restart ends it cancelled, with its function.cancelled"
wait_until 20 is_status "$CALLER" completed
t_ok $? "its caller goes on"
t_is "$(sql "select output from runs where id = '$CALLER'")" \
    '{"error":"invoke cancel-held: cancelled"}' \
    "with the invoke failed as cancelled, as any cancel of an invoked run"
t_is "$(sql "select count(*) from runs where parent_run_id = '$CALLER'
             and status != 'cancelled'")" 0 "and the child never ran again"
t_stop
t_done
