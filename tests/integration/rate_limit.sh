#!/usr/bin/env bash
# rate_limit.sh - rateLimit (fh_function_opts.rate_limit) against the
# daemon: at most LIMIT runs of a function start per period (per key), the
# events past it start none of it (counted in runs, not timed), stay stored
# and show it as skipped; other functions of the event are not affected;
# the counts hold across a SIGHUP reload and kill -9 (they live in SQLite,
# claimed in the event's transaction); GET /v1/functions and `fnhost
# functions` show the limit; a bad one refuses its plugin at load, naming
# plugin, function and option; a [function ID] section sets one.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins flow bad_rate
t_start

# runs FN: how many runs of function FN there are.
runs() {
    sql "select count(*) from runs where function_id = '$1'"
}

t_has "$(cat "$LOG")" \
    'bad_rate.so: plugin bad-rate: function "rl-bad": rate_limit.period: must be at least 1s and at most 1d, got "48h"' \
    "a period over 24h refuses the plugin: the plugin, the function, the option, why"

# Five at once, in one request (one transaction), then two more alone.
post '[{"name":"test/rl","data":{"n":1}},{"name":"test/rl","data":{"n":2}},
       {"name":"test/rl","data":{"n":3}},{"name":"test/rl","data":{"n":4}},
       {"name":"test/rl","data":{"n":5}}]'
t_is "$(jq '.ids | length' <<<"$BODY_OUT")" 5 "every event is accepted"
FIFTH=$(jq -r '.ids[4]' <<<"$BODY_OUT")
send_event test/rl '{"n":6}'
send_event test/rl '{"n":7}'
t_is "$(runs rl-fn) $(runs rl-free)" "3 7" \
    "3 of 7 events start rl-fn (limit 3 per hour); rl-free runs for all"
t_is "$(sql "select count(*) from events where name = 'test/rl'")" 7 \
    "the skipped events are stored"
get "/v1/events/$FIFTH"
t_is "$(jq -c '.data.skipped' <<<"$BODY_OUT")" \
    '[{"function_id":"rl-fn","reason":"rate_limit"}]' \
    "an event's detail shows the function its rate limit skipped"
get "/v1/events/$FIFTH/runs"
t_is "$(jq -r '[.data[].function_id] | join(" ")' <<<"$BODY_OUT")" rl-free \
    "and its runs are the other function's"
t_has "$(cat "$LOG")" "rl-fn reached its rate limit; no new run" \
    "the log says why"

# Per key: 2 a day for each data.ws; events without one share a key.
for ws in a a a b; do send_event test/rl-key "{\"ws\":\"$ws\"}"; done
send_event test/rl-key '{}'
send_event test/rl-key '{"other":1}'
send_event test/rl-key '{}'
t_is "$(runs rl-key)" 5 "2 runs for ws a (of 3), 1 for b, 2 of 3 without ws"
t_has "$(cat "$LOG")" 'rl-key: its rate_limit key cannot be made for this event' \
    "the log says an event has no key of its own"

get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "rl-key")
              | [.rate_limit, .rate_limit_period_ms, .rate_limit_key]' <<<"$BODY_OUT")" \
    '[2,86400000,"event.data.ws"]' "GET /v1/functions shows the rate limit"
t_has "$("$FNHOST" functions --url "$URL")" \
    "rate limit 2 per 1d, key event.data.ws" "fnhost functions shows it"

kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
send_event test/rl '{"n":8}'
send_event test/rl-key '{"ws":"b"}'
send_event test/rl-key '{"ws":"b"}'
t_is "$(runs rl-fn) $(runs rl-key)" "3 6" "the counts hold: rl-fn none, ws b one more"

wait_until 20 eval '[ "$(sql "select count(*) from runs where status != '"'completed'"'")" = 0 ]'
t_ok $? "every run started completes"
t_kill9
t_start
send_event test/rl '{"n":9}'
send_event test/rl-key '{"ws":"a"}'
send_event test/rl-key '{"ws":"c"}'
t_is "$(runs rl-fn) $(runs rl-key) $(runs rl-free)" "3 7 9" \
    "after kill -9 the counts hold: rl-fn and ws a none, ws c its first"
t_stop

# A [function ID] section gives rl-free a limit of 1 per hour.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function rl-free]
rate_limit.limit = 1
rate_limit.period = 1h
[function rl-key]
rate_limit.period = 0
INI
t_start --config "$T_DIR/fnhost.ini"
send_event test/rl '{"n":10}'
send_event test/rl '{"n":11}'
t_is "$(runs rl-free)" 10 "[function rl-free] rate_limit: 1 of 2 events starts it"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "rl-free")
              | [.rate_limit, .rate_limit_period_ms]' <<<"$BODY_OUT")" \
    '[1,3600000]' "and GET /v1/functions shows it"
t_has "$(cat "$LOG")" \
    "function rl-key: rate_limit.limit 2 needs a rate_limit.period of 1s or more: it has no rate limit" \
    "a section that leaves a limit without a period says the function has none"
t_stop
t_done
