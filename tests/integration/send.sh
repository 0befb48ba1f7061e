#!/usr/bin/env bash
# send.sh - steps that send events (fh_send_event): the events start the
# functions they trigger, the step's result holds their ids, a replay
# sends nothing again, the events commit with the step (a kill -9 during
# that commit sends them once, after the restart), "id" deduplicates as
# on /e/, and a bad event fails the step for good.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
DELAY=2000
t_setup
t_plugins sender
EXECS="$T_DIR/execs.db"
printf '[plugin sender]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"

send() { # send JSON: posts an event, EV gets its id
    post "$1"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
}
run_of() { # run_of EV: RUN gets the sender run of event EV
    RUN=$(sql "select id from runs where event_id = '$1'")
}
status_of() { sql "select status from runs where id = '$1'"; }
sent_by() { # sent_by RUN: how many test/sent events run RUN sent
    sql "select count(*) from events where name = 'test/sent'
         and json_extract(json, '$.data.from') = '$1'"
}
# received_from RUN: receiver runs that ran for them. Runs, not
# executions: a receiver that ran but had not recorded its end when the
# master was killed runs again (at least once), and is still one run.
received_from() {
    sqlite3 "$EXECS" "ATTACH '$STATE/fnhost.db' AS f" \
        "select count(distinct x.run_id) from execs x join f.runs r on r.id = x.run_id
         join f.events e on e.id = r.event_id where x.what = 'received'
         and json_extract(e.json, '$.data.from') = '$1'"
}

# Three events: each starts the receiver; the step's result is their ids.
send '{"name":"test/send","data":{"count":3}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "a run that sends three events completes"
get "/v1/runs/$RUN"
IDS=$(jq -c '.data.output' <<<"$BODY_OUT")
t_is "$(jq 'length' <<<"$IDS")" 3 "its output is the three ids fh_send_event returned"
t_is "$(jq -c '[.data.steps[] | select(.step_id == "notify") | .kind]' <<<"$BODY_OUT")" \
    '["send"]' "the send is a step of kind send"
t_is "$(jq -c '.data.steps[] | select(.step_id == "notify") | .result.ids' <<<"$BODY_OUT")" \
    "$IDS" "whose stored result is {\"ids\": [...]}, as Inngest's step.sendEvent"
STORED=$(sql "select json_group_array(id) from (select id from events
              where json_extract(json, '$.data.from') = '$RUN' order by id)")
t_is "$STORED" "$(jq -c 'sort' <<<"$IDS")" "the ids are the stored events' ids"
wait_until 10 eval '[ "$(received_from "$RUN")" = 3 ]'
t_ok $? "each sent event starts the function it triggers"
get "/v1/events/$(jq -r '.[1]' <<<"$IDS")/runs"
t_is "$(jq -r '.data[0].output.n' <<<"$BODY_OUT")" 1 \
    "a receiver sees the data that was sent, in the order given"
t_is "$(sql "select count(*) from events e join runs r on r.event_id = e.id
             where e.name = 'test/sent' and r.function_id = 'receiver'
             and json_extract(e.json, '$.data.from') = '$RUN'")" 3 \
    "one receiver run per event"

# A replay sends nothing: the run sleeps after the send and replays it.
send '{"name":"test/send","data":{"count":2,"nap":"300ms"}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "a run that sends, then sleeps, completes"
t_is "$(sent_by "$RUN")" 2 "the replay after the sleep sent nothing again"
t_is "$(sqlite3 "$EXECS" "select count(*) from execs where run_id = '$RUN' and what = 'sending'")" 2 \
    "(the handler did go past the send twice)"

# kill -9 of the master while the run sleeps after its send.
send '{"name":"test/send","data":{"count":1,"nap":"2s"}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$RUN")" = sleeping ]'
t_kill9
t_start --config "$T_DIR/fnhost.ini"
wait_until 15 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "a run killed while it slept after its send completes after a restart"
t_is "$(sent_by "$RUN")" 1 "and sent its event once"
wait_until 10 eval '[ "$(received_from "$RUN")" = 1 ]'
t_ok $? "which started its function once"

# "id" deduplicates as on /e/: the second send of the same id starts no run.
send '{"name":"test/send","data":{"count":1,"dedup_id":"welcome-u1"}}'
run_of "$EV"
FIRST=$RUN
send '{"name":"test/send","data":{"count":1,"dedup_id":"welcome-u1"}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$FIRST")" = completed ] && [ "$(status_of "$RUN")" = completed ]'
t_ok $? "two runs that send the same event id complete"
t_is "$(sql "select count(*) from events where user_id = 'welcome-u1'")" 2 \
    "both events are stored"
t_is "$(sql "select count(*) from runs r join events e on e.id = r.event_id
             where e.user_id = 'welcome-u1'")" 1 \
    "only the first starts a run (the event id's dedup window)"

# A bad event fails the step for good, and sends nothing.
send '{"name":"test/send","data":{"events":[{"name":"test/sent","data":{"from":"bad"}},{"name":"inngest/function.failed"}]}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$RUN")" = failed ]'
t_ok $? "a run whose send holds an event under inngest/ fails"
get "/v1/runs/$RUN"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "events[1]: event name \"inngest/function.failed\" is reserved" \
    "with the reason and which event"
t_is "$(jq -c '[.data.attempts[] | select(.step_id == "notify")] | length' <<<"$BODY_OUT")" 1 \
    "at once: the send step is not retried"
t_is "$(sql "select count(*) from events where json_extract(json, '$.data.from') = 'bad'")" 0 \
    "and nothing was sent, not even the good event before it"
send '{"name":"test/send","data":{"events":[]}}'
run_of "$EV"
wait_until 10 eval '[ "$(status_of "$RUN")" = failed ]'
get "/v1/runs/$RUN"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "send 1 to 5000 events at once, not 0" \
    "an empty list is refused"
t_stop

# The events commit with the step. With each commit held DELAY ms, kill
# -9 the master the moment the sent events can be read: the step must be
# stored with them, so after a restart it is replayed, not run again, and
# the events are sent once. (Stored apart, the step would still be
# committing then, and would send them again.)
FNHOST_FAULT_COMMIT_DELAY_MS=$DELAY t_start --config "$T_DIR/fnhost.ini"
send '{"name":"test/send","data":{"count":2}}'
wait_until 30 eval '[ -n "$(sql "select id from runs where event_id = '"'$EV'"'")" ]'
run_of "$EV"
visible() { [ "$(sent_by "$RUN")" -ge 1 ]; }
wait_until 30 visible
t_ok $? "the sent events are stored while commits are slow"
t_kill9
t_is "$(sql "select count(*) from steps where run_id = '$RUN' and step_id = 'notify'")" 1 \
    "the moment they can be read, the send step is stored too"
t_start --config "$T_DIR/fnhost.ini"
wait_until 15 eval '[ "$(status_of "$RUN")" = completed ]'
t_ok $? "after a restart the run completes"
t_is "$(sent_by "$RUN")" 2 "and its two events were sent once"
t_is "$(sqlite3 "$EXECS" "select count(*) from execs where run_id = '$RUN' and what = 'sending'")" 2 \
    "(the handler went past the send again, which replayed)"
t_stop
t_done
