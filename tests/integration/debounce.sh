#!/usr/bin/env bash
# debounce.sh - debounce (fh_function_opts.debounce) against the daemon:
# the events of a key wait in one pending run, which takes the last of
# them as its event (the others show it as skipped) and starts once no
# event of the key came for the period; counted in runs, not timed. The
# pending run survives a reload and kill -9 (a row in SQLite, pushed in
# each event's transaction); a timeout caps the delay from the first
# event; /v1/runs, `fnhost runs`, GET /v1/functions and `fnhost functions`
# show it; a [function ID] section changes the period.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins flow
t_start

runs() { sql "select count(*) from runs where function_id = '$1'"; }
# ws_run WS: the id of db-fn's newest run whose event has data.ws WS, and
# that event's data.n.
ws_run() {
    sql "select r.id || ' ' || json_extract(e.json, '$.data.n') from runs r
           join events e on e.id = r.event_id
          where r.function_id = 'db-fn'
            and json_extract(e.json, '$.data.ws') = '$1'
          order by r.id desc limit 1"
}

send_event test/db '{"ws":"a","n":1}'
FIRST=$EV
send_event test/db '{"ws":"a","n":2}'
send_event test/db '{"ws":"b","n":1}'
send_event test/db '{"ws":"a","n":3}'
t_is "$(runs db-fn)" 2 "four events of two keys make two pending runs"
read -r RA NA <<<"$(ws_run a)"
t_is "$NA" 3 "the run of key a has the last event of a"
t_is "$(sql "select status || ' ' || (wake_at > 1e14) || ' ' ||
               ifnull(deadline, 'none') from runs where id = '$RA'")" \
    "queued 1 none" "it is queued, not due, and its timeouts.start waits too"
get "/v1/events/$FIRST"
t_is "$(jq -c '.data.skipped' <<<"$BODY_OUT")" \
    '[{"function_id":"db-fn","reason":"debounce"}]' \
    "an earlier event shows db-fn as skipped by the debounce"
get "/v1/runs/$RA"
t_is "$(jq -r '.data.debouncing.key' <<<"$BODY_OUT")" a \
    "GET /v1/runs/{id} says the run is debouncing, and its key"
t_has "$("$FNHOST" runs --url "$URL")" "debouncing until" \
    "fnhost runs says why it waits"
t_has "$(cat "$LOG")" "db-fn run $RA is debounced until" "the log says so"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "db-cap")
              | [.debounce_period_ms, .debounce_timeout_ms]' <<<"$BODY_OUT")" \
    '[604800000,3600000]' "GET /v1/functions shows the debounce"
t_has "$("$FNHOST" functions --url "$URL")" \
    "debounce 1h, key event.data.ws" "fnhost functions shows it"

# The timeout: each event pushes the run a week on, but the first event
# of the key caps it at an hour (stored, not timed).
send_event test/db-cap '{"n":1}'
send_event test/db-cap '{"n":2}'
send_event test/db-cap '{"n":3}'
t_is "$(runs db-cap) $(sql "select d.due_at - r.created_at from debounces d
                              join runs r on r.id = d.run_id
                             where d.function_id = 'db-cap'")" "1 3600000" \
    "one run, due an hour after its first event, not a week after its last"

kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
send_event test/db '{"ws":"a","n":4}'
t_is "$(runs db-fn) $(ws_run a)" "2 $RA 4" "an event of a still joins its run"
t_kill9
t_start
send_event test/db '{"ws":"a","n":5}'
t_is "$(runs db-fn) $(ws_run a)" "2 $RA 5" "and after kill -9 too"
t_stop

# A [function db-fn] section shortens the period: the next event of a
# pushes the run to a second from now, and it runs with that event.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function db-fn]
debounce.period = 1s
INI
t_start --config "$T_DIR/fnhost.ini"
send_event test/db '{"ws":"a","n":6}'
wait_until 30 eval '[ "$(sql "select status from runs where id = '"'$RA'"'")" = completed ]'
t_ok $? "the run of a starts once its period passed, and completes"
get "/v1/runs/$RA"
t_is "$(jq -c '.data.output' <<<"$BODY_OUT")" '{"n":6}' "with the last event"
t_is "$(runs db-fn)" 2 "no other run of a started"
send_event test/db '{"ws":"a","n":7}'
t_is "$(runs db-fn)" 3 "an event after it ran starts a new pending run"
read -r RA2 NA2 <<<"$(ws_run a)"
wait_until 30 eval '[ "$(sql "select status from runs where id = '"'$RA2'"'")" = completed ]'
t_ok $? "which runs too"
t_is "$(sql "select count(*) from runs where function_id = 'db-fn'
               and status = 'queued'")" 1 "b's run still waits for its hour"
t_stop
t_done
