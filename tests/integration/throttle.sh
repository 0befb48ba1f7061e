#!/usr/bin/env bash
# throttle.sh - throttle (fh_function_opts.throttle) against the daemon,
# counting run starts, not time: with a period of an hour, exactly limit +
# burst runs of a key start and the rest wait, queued, shown as
# throttled; a second key is not held up by the first; the waiting runs
# and the key's used room hold across kill -9 and a SIGHUP reload (no
# fresh burst); with a period of a second every run completes, in order;
# GET /v1/functions and `fnhost functions` show the option; a bad one
# refuses its plugin at load; a [function ID] section sets one, key
# included.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins throttle bad_throttle
printf '[function th-ini]\nthrottle.limit = 1\nthrottle.period = 1h\nthrottle.key = event.data.k\n' \
    >"$T_DIR/th.ini"
t_start --config "$T_DIR/th.ini"

# started FN [KEY]: runs of FN (of data.k KEY) that started (they end at
# once, so: completed).
started() {
    sql "select count(*) from runs r join events e on e.id = r.event_id
         where r.function_id = '$1' and r.status = 'completed'
         ${2:+and e.json ->> '\$.data.k' = '$2'}"
}
# throttled FN [KEY]: runs of FN (of KEY) queued for their key's turn.
throttled() {
    sql "select count(*) from runs where function_id = '$1'
         and status = 'queued' and throttle_key is not null
         ${2:+and throttle_key = '$2'}"
}
# send NAME KEY N FIRST: N events NAME with data.k KEY, data.n from FIRST.
send() {
    local i batch="["
    for i in $(seq "$4" $(($4 + $3 - 1))); do
        batch+="{\"name\":\"$1\",\"data\":{\"k\":\"$2\",\"n\":$i}},"
    done
    post "${batch%,}]"
}

t_has "$(cat "$LOG")" \
    'plugin bad-throttle: function "th-bad": throttle.period: must be at least 1s and at most 7d, got "8d"' \
    "a period over 7d refuses the plugin: the plugin, the function, the option, why"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "th-key")
              | [.throttle, .throttle_period_ms, .throttle_burst, .throttle_key]' <<<"$BODY_OUT")" \
    '[1,3600000,1,"event.data.k"]' "GET /v1/functions shows the throttle"
t_has "$("$FNHOST" functions --url "$URL")" \
    "throttle 1 per 1h, burst 1, key event.data.k" "fnhost functions shows it"

# Five runs of key A: limit 1 + burst 1 start, three wait for their turn.
send test/th A 5 1
wait_until 20 eval '[ "$(started th-key A)" = 2 ]'
t_ok $? "two runs of key A start (limit 1 + burst 1)"
t_is "$(throttled th-key A)" 3 "the other three wait, queued, for A's turn"
# Key B is not held up by A's queue.
send test/th B 2 6
wait_until 20 eval '[ "$(started th-key B)" = 2 ]'
t_ok $? "both runs of key B start: A's waiting runs hold up no other key"
t_is "$(started th-key A) $(throttled th-key A)" "2 3" \
    "and A still has two started, three waiting"
get "/v1/runs?function_id=th-key&status=queued"
t_is "$(jq -r '[.data[] | .queued_reason + ":" + .throttle_key] | unique
               | join(" ")' <<<"$BODY_OUT")" "throttled:A" \
    "/v1/runs shows why they wait: throttled, and the key"
t_is "$(jq '[.data[] | select(.next_attempt_at != null)] | length' <<<"$BODY_OUT")" 3 \
    "and when each starts"
t_has "$("$FNHOST" runs --url "$URL" --function th-key)" "throttled" \
    "fnhost runs shows it"

# kill -9 with three runs waiting: they stay queued, and A's room stays
# used: a new event of A waits too, one of a new key C starts.
t_kill9
t_start --config "$T_DIR/th.ini"
send test/th A 1 8
send test/th C 1 9
wait_until 20 eval '[ "$(started th-key C)" = 1 ]'
t_ok $? "after kill -9 a run of a new key starts"
t_is "$(started th-key A) $(throttled th-key A)" "2 4" \
    "A's three runs still wait, and a new one of A waits too: no fresh burst"

# A reload keeps them as they are.
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
send test/th A 1 10
send test/th C 1 11
wait_until 20 eval '[ "$(started th-key C)" = 2 ]'
t_ok $? "C's second run starts (limit 1 + burst 1)"
t_is "$(started th-key A) $(throttled th-key A)" "2 5" \
    "A: still two started, five waiting"

# A second's period: of four at once one starts, three wait; all then
# complete, one a second, in the order they came.
send test/th-fast x 4 1
t_is "$(throttled th-fast)" 3 "th-fast: 3 of 4 runs wait for their turn"
wait_until 60 eval '[ "$(started th-fast)" = 4 ]'
t_ok $? "every run of th-fast completes"
t_is "$(sql "select group_concat(e.json ->> '\$.data.n', ' ') from
             (select * from runs where function_id = 'th-fast'
              order by started_at) r join events e on e.id = r.event_id")" \
    "1 2 3 4" "in the order they came"

# [function th-ini] gives th-ini a throttle of 1 an hour.
send test/th-ini x 3 1
wait_until 20 eval '[ "$(started th-ini)" = 1 ]'
t_ok $? "th-ini: one run starts"
t_is "$(throttled th-ini)" 2 "[function th-ini] throttle: the other two wait"
send test/th-ini y 1 4
wait_until 20 eval '[ "$(started th-ini y)" = 1 ]'
t_ok $? "its throttle.key: a run of another key starts"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "th-ini")
              | [.throttle, .throttle_period_ms, .throttle_burst, .throttle_key]' <<<"$BODY_OUT")" \
    '[1,3600000,0,"event.data.k"]' "and GET /v1/functions shows it"
t_stop
t_done
