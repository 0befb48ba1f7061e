#!/usr/bin/env bash
# singleton.sh - singleton (fh_function_opts.singleton) against the
# daemon: one active (not ended) run per key of a function, counted in
# runs. Mode skip: an event of a key with an active run starts no run of
# the function (it is stored and shows it as skipped), also within one
# request, after a reload and after kill -9; once the run ended, the next
# event starts one. Mode cancel: the active run is cancelled, as DELETE
# /v1/runs/{id} does (inngest/function.cancelled), and the new one
# starts; other keys are not touched; the cancel commits with the event
# (across kill -9 at the ack). GET
# /v1/functions and `fnhost functions` show it.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins flow
t_start

# send NAME DATA: send_event, and RUN the run it started (empty: none).
send() {
    send_event "$1" "$2"
    RUN=$(sql "select id from runs where event_id = '$EV'
                 and function_id like 'sg-%'")
}
# runs FN: how many runs function FN has; active FN: how many not ended.
runs() { sql "select count(*) from runs where function_id = '$1'"; }
active() {
    sql "select count(*) from runs where function_id = '$1'
           and status not in ('completed', 'failed', 'cancelled')"
}
status() { sql "select status from runs where id = '$1'"; }

# skip
send test/sg '{"user":"u1"}'
R1=$RUN
wait_until 20 eval '[ "$(status "$R1")" = sleeping ]'
t_ok $? "the first run of key u1 starts, and sleeps"
send test/sg '{"user":"u1"}'
t_is "$RUN" "" "a second event of u1 starts no run while it is active"
get "/v1/events/$EV"
t_is "$(jq -c '.data.skipped' <<<"$BODY_OUT")" \
    '[{"function_id":"sg-skip","reason":"singleton"}]' \
    "the event is stored and shows sg-skip as skipped"
t_has "$(cat "$LOG")" "sg-skip has a run of its singleton key active; no new run" \
    "the log says why"
send test/sg '{"user":"u2"}'
t_ok "$([ -n "$RUN" ]; echo $?)" "another key starts its own run"
post '[{"name":"test/sg","data":{"user":"u3"}},{"name":"test/sg","data":{"user":"u3"}}]'
t_is "$(runs sg-skip)" 3 "two events of a new key in one request start one run"

get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "sg-cancel")
              | [.singleton, .singleton_key]' <<<"$BODY_OUT")" \
    '["cancel","event.data.user"]' "GET /v1/functions shows the singleton"
t_has "$("$FNHOST" functions --url "$URL")" \
    "singleton, mode skip, key event.data.user" "fnhost functions shows it"

kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
send test/sg '{"user":"u1"}'
t_is "$RUN/$(runs sg-skip)" "/3" "an event of u1 still starts no run"
t_kill9
t_start
send test/sg '{"user":"u1"}'
t_is "$RUN/$(runs sg-skip)" "/3" "nor after kill -9"
request DELETE "/v1/runs/$R1"
wait_until 20 eval '[ "$(status "$R1")" = cancelled ]'
t_ok $? "the active run of u1 is cancelled"
send test/sg '{"user":"u1"}'
t_ok "$([ -n "$RUN" ]; echo $?)" "then the next event of u1 starts a run"
t_is "$(active sg-skip)" 3 "one active run per key (u1, u2, u3)"

# cancel
send test/sg-c '{"user":"u1"}'
C1=$RUN
wait_until 20 eval '[ "$(status "$C1")" = sleeping ]'
t_ok $? "the first run of key u1 sleeps"
send test/sg-c '{"user":"u1"}'
C2=$RUN
t_ok "$([ -n "$C2" ]; echo $?)" "a second event of u1 starts a run"
wait_until 20 eval '[ "$(status "$C1")" = cancelled ]'
t_ok $? "and cancels the active one"
get "/v1/runs/$C1"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "singleton" "which says why"
wait_until 20 eval '[ "$(sql "select count(*) from events where name =
    '"'inngest/function.cancelled'"' and json_extract(json, '"'$.data.run_id'"')
    = '"'$C1'"'")" = 1 ]'
t_ok $? "inngest/function.cancelled is emitted for it, as for DELETE"
send test/sg-c '{"user":"u2"}'
t_ok "$([ "$(status "$C2")" != cancelled ] && [ -n "$RUN" ]; echo $?)" \
    "another key starts its own and leaves u1's"
wait_until 20 eval '[ "$(status "$C2")" = sleeping ]'
send test/sg-c '{"user":"u1"}'
C3=$RUN
t_kill9
t_start
wait_until 20 eval '[ "$(status "$C2")" = cancelled ]'
t_ok $? "a cancel asked for by an event before kill -9 ends the run after it"
t_is "$(active sg-cancel) $(runs sg-cancel)" "2 4" \
    "one active run per key: u1's newest, u2's"
t_is "$(sql "select count(*) from runs where id = '$C3' and status
               not in ('completed', 'failed', 'cancelled')")" 1 \
    "u1's newest is the active one"
t_stop

# The cancel commits with the event. Each commit waits 400 ms; the daemon
# is killed the moment the event is acknowledged. Were the cancel stored
# in a transaction of its own after the event's, the kill would come
# before it commits, and the old run would sleep on.
FNHOST_FAULT_COMMIT_DELAY_MS=400 t_start
send test/sg-c '{"user":"atomic"}'
A1=$RUN
wait_until 20 eval '[ "$(status "$A1")" = sleeping ]'
send test/sg-c '{"user":"atomic"}'
A2=$RUN
t_is "$HTTP_CODE" 200 "the event is acknowledged"
t_kill9
t_is "$(sql "select cancel_at is not null from runs where id = '$A1'")" 1 \
    "the old run's cancel was stored with the event"
t_start
wait_until 20 eval '[ "$(status "$A1")" = cancelled ]'
t_ok $? "the restart ends the old run cancelled"
t_is "$(sql "select count(*) from runs where id = '$A2' and status
               not in ('completed', 'failed', 'cancelled')")" 1 \
    "and the new one is the active one"
t_stop
t_done
