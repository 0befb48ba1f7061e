#!/usr/bin/env bash
# retention.sh - retain_runs and retain_events: ended runs go with their
# steps and attempts, events that no run has go, expired keys go; a
# sleeping run and its event stay; /metrics and the log say what went.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins counter steps
cat >"$T_DIR/fnhost.ini" <<INI
[plugin counter]
database = $T_DIR/count.db
[plugin steps]
database = $T_DIR/execs.db
INI
t_start --config "$T_DIR/fnhost.ini" --retain-runs 3s --retain-events 3s \
    --dedup-window 1s

send_event test/steps '{"sleep":"30s"}'
SLEEPER=$EV
get "/v1/events/$SLEEPER/runs"
SLEEPER_RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
for i in 1 2 3 4 5; do
    post "{\"name\":\"test/count\",\"id\":\"user-$i\",\"data\":{\"n\":$i}}"
done
get "/v1/events/$(jq -r '.ids[0]' <<<"$BODY_OUT")/runs"
ENDED_RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
send_event test/nobody '{}'
wait_until 10 runs_in completed 5
t_ok $? "(five runs completed, one sleeps)"
t_is "$(sql "select count(*) from dedup")" 5 "(their event ids are dedup keys)"
t_ok "$([ "$(sql "select count(*) from attempts a join runs r on r.id =
    a.run_id where r.function_id != 'three-steps'")" -ge 5 ]; echo $?)" \
    "(with their attempts)"

gone() { [ "$(sql "select count(*) from runs where status = 'completed'")" = 0 ]; }
wait_until 20 gone
t_ok $? "ended runs are deleted once retain_runs has passed"
t_is "$(sql "select count(*) from attempts where run_id not in
    (select id from runs)")" 0 "with their attempts"
get "/v1/runs/$ENDED_RUN"
t_is "$HTTP_CODE" 404 "GET /v1/runs/ID of one is a 404"
events_gone() {
    [ "$(sql "select count(*) from events where name in ('test/count',
        'test/nobody')")" = 0 ]
}
wait_until 20 events_gone
t_ok $? "events that no run has are deleted once retain_events has passed"
keys_gone() { [ "$(sql "select count(*) from dedup")" = 0 ]; }
wait_until 10 keys_gone
t_ok $? "dedup keys are deleted once their window has passed"
t_is "$(sql "select status from runs where id = '$SLEEPER_RUN'")" sleeping \
    "a sleeping run stays"
t_is "$(sql "select count(*) from events where id = '$SLEEPER'")" 1 \
    "and so does its event"
t_is "$(sql "select group_concat(step_id) from steps where run_id =
    '$SLEEPER_RUN'")" "a,b,nap" "and its steps"
t_ok "$([ "$(metric 'fnhost_retention_deleted_total{what="runs"}')" -ge 5 ] &&
    [ "$(metric 'fnhost_retention_deleted_total{what="events"}')" -ge 6 ] &&
    [ "$(metric 'fnhost_retention_deleted_total{what="keys"}')" -ge 5 ]
    echo $?)" "/metrics counts what retention deleted"
t_is "$(awk '/\[retention\] deleted/ { n += $(NF - 8) } END { print n }' \
    "$LOG")" 5 "and the log says so"

# An id whose window has passed starts a run again.
post '{"name":"test/count","id":"user-1","data":{"n":1}}'
wait_until 10 runs_in completed 1
t_ok $? "a resent id whose key expired starts a new run"
t_stop
t_done
