#!/usr/bin/env bash
# lifecycle.sh - a run's end emits Inngest's lifecycle events to the
# functions that subscribe: inngest/function.finished for every run that
# completes or fails, inngest/function.failed (its "id" the run id) for
# one that fails; in the transaction that records the end, so a kill -9
# during that commit loses neither or emits twice; runs of lifecycle
# events emit none.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
DELAY=2000
t_setup
t_plugins lifecycle
t_start

send() { # send JSON: posts an event, RUN gets the run it starts
    post "$1"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    RUN=$(sql "select id from runs where event_id = '$EV'")
}
status_of() { sql "select status from runs where id = '$1'"; }
# about RUN NAME: events NAME whose data.run_id is RUN
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

send '{"name":"test/works","data":{"n":7}}'
WORKS=$RUN
wait_until 10 eval '[ -n "$(observer "$WORKS" on-finished)" ]'
t_ok $? "a completed run's inngest/function.finished starts the function that subscribes"
OUT=$(observer "$WORKS" on-finished)
t_is "$(jq -c '[.function_id, .run_id, .result.ok, .trigger]' <<<"$OUT")" \
    "[\"works\",\"$WORKS\",7,\"test/works\"]" \
    "its data: function_id, run_id, the run's result and its event"
t_is "$(jq -c '.events | map(.name)' <<<"$OUT")" '["test/works"]' "and events, the list of them"
t_is "$(about "$WORKS" inngest/function.failed)" 0 "a completed run emits no function.failed"

send '{"name":"test/breaks"}'
BREAKS=$RUN
wait_until 10 eval '[ -n "$(observer "$BREAKS" on-failed)" ]'
t_ok $? "a failed run's inngest/function.failed starts the function that subscribes"
t_is "$(jq -r '.error' <<<"$(observer "$BREAKS" on-failed)")" "broken on purpose" \
    "its data.error.message is the run's error"
t_is "$(sql "select user_id from events where name = 'inngest/function.failed'
             and json_extract(json, '$.data.run_id') = '$BREAKS'")" "$BREAKS" \
    "its id is the run id, as Inngest's"
wait_until 10 eval '[ -n "$(observer "$BREAKS" on-finished)" ]'
t_ok $? "and it emits inngest/function.finished too"
t_is "$(jq -r '.error' <<<"$(observer "$BREAKS" on-finished)")" "broken on purpose" \
    "with the error"

# The observers' own runs emit nothing: no event is about them.
wait_until 10 eval '[ "$(sql "select count(*) from runs where status != '"'completed'"'")" = 0 ]'
t_is "$(sql "select count(*) from events e join runs r on r.id = json_extract(e.json, '$.data.run_id')
             where e.name like 'inngest/function.%' and r.function_id in ('on-finished', 'on-failed')")" 0 \
    "runs started by lifecycle events emit none (no function starts itself without end)"
t_is "$(sql "select count(*) from events where name like 'inngest/function.%'")" 3 \
    "three lifecycle events in all: finished, finished and failed"

# A failure handler: guarded's runs that fail start guarded-failure, with
# their function.failed event; other functions' failures do not.
get /v1/functions
t_is "$(jq -c '[.data.plugins[].functions[] | select(.id == "guarded-failure") |
               .name, .triggers[0], .failure_of, .retries]' <<<"$BODY_OUT")" \
    '["guarded (failure)","inngest/function.failed","guarded",1]' \
    "a function with on_failure gets ID-failure, triggered by inngest/function.failed, one retry"
t_has "$(jq -r '.data.plugins[].functions[] | select(.id == "guarded-failure") | .if' <<<"$BODY_OUT")" \
    'event.data.function_id == "guarded"' "for its own function's runs only"
send '{"name":"test/guarded","data":{"who":"ada"}}'
GUARDED=$RUN
wait_until 10 eval '[ -n "$(observer "$GUARDED" guarded-failure)" ]'
t_ok $? "a failed run of guarded starts its failure handler"
OUT=$(observer "$GUARDED" guarded-failure)
t_is "$(jq -c '[.function_id, .run_id, .error, .trigger]' <<<"$OUT")" \
    "[\"guarded\",\"$GUARDED\",\"broken on purpose\",\"test/guarded\"]" \
    "which sees the function, the run, the error and the run's event"
t_is "$(sql "select count(*) from runs where function_id = 'guarded-failure'")" 1 \
    "the failures of breaks started no failure handler of guarded"
wait_until 10 eval '[ -n "$(observer "$GUARDED" on-failed)" ]'
t_ok $? "and function.failed subscribers still see guarded's failure"
t_stop

# The events commit with the run's end. Each commit held DELAY ms: kill
# -9 the moment either the run's end or its event can be read; both must
# be stored then (stored apart, one would be, and the other lost or sent
# again), and after the restart the run emits its event once.
FNHOST_FAULT_COMMIT_DELAY_MS=$DELAY t_start
post '{"name":"test/works","data":{"n":9}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
RUN=$(sql "select id from runs where event_id = '$EV'")
visible() {
    [ "$(status_of "$RUN")" = completed ] ||
        [ "$(about "$RUN" inngest/function.finished)" -ge 1 ]
}
wait_until 30 visible
t_ok $? "the run ends while commits are slow"
t_kill9
t_is "$(status_of "$RUN"),$(about "$RUN" inngest/function.finished)" completed,1 \
    "the moment one can be read, so can the other: the end and its event"
t_start
wait_until 15 eval '[ -n "$(observer "$RUN" on-finished)" ]'
t_ok $? "after a restart its observer runs"
t_is "$(about "$RUN" inngest/function.finished)" 1 "and the run emitted its event once"
t_stop
t_done
