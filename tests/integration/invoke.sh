#!/usr/bin/env bash
# invoke.sh - POST /v1/functions/{id}/invoke: starts a run of the function
# with inngest/function.invoked and answers with its outcome once it ends,
# or 202 with its id after ?wait=; 404 for no such function; 400 for a
# bad body or wait; callers still waiting when fnhost stops get 202.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins lifecycle steps invoker
t_start

invoke() { # invoke ID [BODY [QUERY]]: CODE and BODY_OUT
    CODE=$(curl -s -o "$T_DIR/inv" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' --data-binary "${2-}" \
        "$URL/v1/functions/$1/invoke${3-}")
    BODY_OUT=$(cat "$T_DIR/inv")
}

invoke works '{"data":{"n":5}}'
t_is "$CODE" 200 "invoking a function answers 200 once its run ends"
t_is "$(jq -c '.data | [.function_id, .status, .output]' <<<"$BODY_OUT")" \
    '["works","Completed",{"ok":5}]' "with the run's status and output"
RUN=$(jq -r '.data.run_id' <<<"$BODY_OUT")
t_is "$(sql "select status from runs where id = '$RUN'")" completed \
    "the run is stored, completed, under the id the answer gives"
t_is "$(sql "select e.name from runs r join events e on e.id = r.event_id where r.id = '$RUN'")" \
    inngest/function.invoked "its event is inngest/function.invoked"
t_is "$(sql "select count(*) from runs where function_id != 'works'
             and event_id = (select event_id from runs where id = '$RUN')")" 0 \
    "which starts the invoked function only"

invoke breaks ''
t_is "$CODE" 200 "a run that fails is answered too"
t_is "$(jq -c '.data | [.status, .error]' <<<"$BODY_OUT")" \
    '["Failed","broken on purpose"]' "with its error"

invoke three-steps '{"data":{"items":1,"sleep":"3s"}}' '?wait=300ms'
t_is "$CODE" 202 "a run that outlasts ?wait= is answered 202"
RUN=$(jq -r '.data.run_id' <<<"$BODY_OUT")
t_has "$(jq -r '.data.message' <<<"$BODY_OUT")" "GET /v1/runs/$RUN" "with where to look"
wait_until 20 eval '[ "$(sql "select status from runs where id = '"'$RUN'"'")" = completed ]'
t_ok $? "and the run goes on to complete"

invoke nope '{}'
t_is "$CODE" 404 "no such function: 404"
t_has "$(jq -r '.error' <<<"$BODY_OUT")" 'no function "nope"' "saying which"
invoke works '[1]'
t_is "$CODE" 400 "a body that is not an object: 400"
invoke works '{"data":[1]}'
t_is "$CODE" 400 "data that is not an object: 400"
invoke works '{"data":' 
t_is "$CODE" 400 "a body that is not JSON: 400"
t_has "$(jq -r '.error' <<<"$BODY_OUT")" "not valid JSON" "saying so"
invoke works '{}' '?wait=soon'
t_is "$CODE" 400 "a wait that is not a duration: 400"
invoke works '{}' '?wait=1h'
t_is "$CODE" 400 "a wait over 15 minutes: 400"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/functions/works/invoke")
t_is "$CODE" 405 "GET is not an invoke"
CODE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/functions/works")
t_is "$CODE" 404 "GET /v1/functions/ID is no API path"
CODE=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/v1/functions/works/run")
t_is "$CODE" 404 "nor is POST /v1/functions/ID/run"
invoke works ''
t_is "$(jq -c '.data.output' <<<"$BODY_OUT")" '{"ok":0}' "no body invokes with data {}"

# Stopping: a caller still waiting is answered 202 with the run's id.
curl -s -o "$T_DIR/pending" -w '%{http_code}' -X POST \
    --data-binary '{"data":{"items":1,"sleep":"20s"}}' \
    "$URL/v1/functions/three-steps/invoke?wait=60s" >"$T_DIR/pending.code" &
CURL=$!
wait_until 10 eval '[ "$(sql "select count(*) from runs where function_id = '"'three-steps'"' and status = '"'sleeping'"'")" -ge 1 ]'
t_stop
wait "$CURL"
t_is "$(cat "$T_DIR/pending.code")" 202 "a caller waiting when fnhost stops gets 202"
t_has "$(jq -r '.data.message' "$T_DIR/pending")" "stopping" "saying fnhost is stopping"

# Steps that invoke. call JSON: sends test/call, RUN gets the caller's run.
DELAY=1500
t_start
call() {
    post "{\"name\":\"test/call\",\"data\":$1}"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    RUN=$(sql "select id from runs where event_id = '$EV'")
}
status_of() { sql "select status from runs where id = '$1'"; }
output_of() { sql "select output from runs where id = '$1'" | jq -c .; }
callee_of() { sql "select id from runs where parent_run_id = '$1'"; }

call '{"target":"double","args":{"n":21}}'
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "a run whose step invokes a function completes"
t_is "$(output_of "$RUN")" '{"got":{"n":42,"event":"inngest/function.invoked"}}' \
    "with the invoked run's output, which got inngest/function.invoked and the data"
CALLEE=$(callee_of "$RUN")
t_is "$(sql "select function_id || ',' || parent_step_id from runs where id = '$CALLEE'")" \
    double,call "the invoked run names the run and step waiting for it"
get "/v1/runs/$RUN"
t_is "$(jq -c '.data.steps[] | select(.step_id == "call") | [.kind, .status]' <<<"$BODY_OUT")" \
    '["invoke","completed"]' "the step is an invoke, completed"

call '{"target":"fails"}'
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_is "$(jq -r '.error' <<<"$(output_of "$RUN")")" "invoke fails: no luck" \
    "an invoked run that fails is the step's error (fh_error)"

call '{"target":"nope"}'
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_is "$(jq -r '.error' <<<"$(output_of "$RUN")")" 'invoke nope: no function "nope"' \
    "no such function is the step's error"

call '{"target":"slow","args":{"nap":"5s"},"timeout":"500ms"}'
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "an invoke that outlasts its timeout completes the caller"
t_is "$(jq -r '.error' <<<"$(output_of "$RUN")")" "invoke slow: timed out after 500ms" \
    "with the timeout as the step's error"
SLOW=$(callee_of "$RUN")
wait_until 15 eval '[ "$(status_of "$SLOW")" = completed ]'
t_ok $? "the invoked run goes on to its own end"
get "/v1/runs/$RUN"
t_is "$(jq -c '.data.steps[] | select(.step_id == "call") | [.status, .error]' <<<"$BODY_OUT")" \
    '["failed","invoke slow: timed out after 500ms"]' \
    "whose end leaves the caller's stored step as the caller saw it"

call '{"target":"double","args":{"n":1},"timeout":"2y"}'
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_has "$(jq -r '.error' <<<"$(output_of "$RUN")")" "at most a year" \
    "a timeout over a year fails the step for good"
t_is "$(sql "select count(*) from runs where parent_run_id = '$RUN'")" 0 \
    "and invokes nothing"

# kill -9 while the caller waits for a slow callee: after the restart the
# callee ends and the caller gets its output; one callee run in all.
call '{"target":"slow","args":{"nap":"2s"}}'
wait_until 10 eval '[ -n "$(callee_of "$RUN")" ] && [ "$(status_of "$(callee_of "$RUN")")" = sleeping ]'
t_ok $? "the callee runs (sleeps) while the caller waits"
t_is "$(status_of "$RUN")" invoking "the caller holds no worker: it waits, invoking"
get "/v1/runs/$RUN"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Running "which the API shows as Running, as Inngest does"
t_kill9
t_start
wait_until 20 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "after kill -9 and a restart the caller completes"
t_is "$(output_of "$RUN")" '{"got":"slept"}' "with the callee's output"
t_is "$(sql "select count(*) from runs where parent_run_id = '$RUN'")" 1 \
    "and one callee run was started"
t_stop

# The invoked run is stored with the caller's suspension: kill -9 the
# moment either can be read, and both are there.
FNHOST_FAULT_COMMIT_DELAY_MS=$DELAY t_start
call '{"target":"double","args":{"n":5}}'
wait_until 30 eval '[ -n "$RUN" ] || RUN=$(sql "select id from runs where event_id = '"'$EV'"'")'
visible() {
    [ "$(status_of "$RUN")" = invoking ] || [ -n "$(callee_of "$RUN")" ]
}
wait_until 30 visible
t_kill9
t_is "$(status_of "$RUN"),$(sql "select count(*) from runs where parent_run_id = '$RUN'")" \
    invoking,1 "the caller's suspension and the invoked run commit together"
t_start
wait_until 20 eval '[ "$(status_of "$RUN")" = completed ]'
t_is "$(output_of "$RUN")" '{"got":{"n":10,"event":"inngest/function.invoked"}}' \
    "and after a restart the caller gets the output"
t_stop

# Many callers, slow commits: the end of each invoked run makes its
# caller due in the commit that the scheduler then looks after, so no
# caller waits for its timeout (40 s) whatever the order the commits'
# callbacks run in.
FNHOST_FAULT_COMMIT_DELAY_MS=100 t_start
CALLERS=()
for i in $(seq 1 20); do
    call "{\"target\":\"double\",\"args\":{\"n\":$i},\"timeout\":\"40s\"}"
    CALLERS+=("$RUN")
done
all_done() {
    [ "$(sql "select count(*) from runs where function_id = 'caller' and status = 'completed'
              and id in ($(printf "'%s'," "${CALLERS[@]}" | sed 's/,$//'))")" = 20 ]
}
wait_until 60 all_done
t_ok $? "twenty callers complete"
t_is "$(sql "select count(*) from runs where id in ($(printf "'%s'," "${CALLERS[@]}" | sed 's/,$//'))
             and json_extract(output, '$.got.n') is null")" 0 \
    "each with its invoked run's output, none with a timeout"

# The timeout and the invoked run's end race: one of them ends the step,
# and what the caller saw is what is stored.
for nap in 100ms 200ms; do
    call "{\"target\":\"slow\",\"args\":{\"nap\":\"$nap\"},\"timeout\":\"400ms\"}"
    wait_until 30 eval '[ "$(status_of "$RUN")" = completed ]'
    SAW=$(jq -c 'if has("got") then "output" else "error" end' <<<"$(output_of "$RUN")")
    STORED=$(sql "select case status when 'completed' then 'output' else 'error' end
                  from steps where run_id = '$RUN' and step_id = 'call'")
    t_is "$SAW" "\"$STORED\"" "an invoke racing its timeout ($nap): the caller saw what is stored"
done
t_stop
t_done
