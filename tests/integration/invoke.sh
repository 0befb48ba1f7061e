#!/usr/bin/env bash
# invoke.sh - POST /v1/functions/{id}/invoke: starts a run of the function
# with inngest/function.invoked and answers with its outcome once it ends,
# or 202 with its id after ?wait=; 404 for no such function; 400 for a
# bad body or wait; callers still waiting when fnhost stops get 202.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins lifecycle steps
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
t_done
