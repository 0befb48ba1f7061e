#!/usr/bin/env bash
# event_api.sh - Inngest's event API as fnhost serves it: shapes, errors,
# fan-out, wildcards, dedup by event id, size limits, keys.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins ok fanout
t_start --max-body 64KiB

get /health
t_is "$HTTP_CODE" 200 "GET /health answers 200"
t_is "$BODY_OUT" '{"status":200,"message":"OK"}' "with Inngest's body"

post '{"name":"test/echo","data":{"x":1}}'
t_is "$HTTP_CODE" 200 "one event object is accepted"
t_is "$(jq -c '[(.ids | length), .status]' <<<"$BODY_OUT")" "[1,200]" \
    "the answer has one id and status 200"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 10 runs_in completed 2
get "/v1/events/$EV/runs"
t_is "$(jq -r '[.data[].function_id] | sort | join(",")' <<<"$BODY_OUT")" \
    "echo,fanout-wild" "test/echo runs echo and the test/* wildcard"
RUN=$(jq -r '.data[] | select(.function_id == "echo") | .run_id' \
    <<<"$BODY_OUT")
get "/v1/runs/$RUN"
t_is "$(jq -c '.data.output' <<<"$BODY_OUT")" '{"data":{"x":1},"greeting":null}' \
    "the handler saw the event's data"

# Python's json.dumps() escapes U+1DA00 as \ud836\ude00, which json-c
# 0.16 alone reads as U+FFFD: the character is kept, whether the body takes
# the fast path or (a duplicate key) the tree's.
pair_stored() {
    post "$1"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    t_is "$(sql "select json_extract(json, '$.data.s') = char(121344)
        from events where id = '$EV'")" 1 "$2"
}
SCANNED=$(metric fnhost_requests_scanned_total)
pair_stored '{"name":"other/pair","data":{"s":"\ud836\ude00"}}' \
    "an escaped U+1DA00 is stored as sent (fast path)"
t_is "$(metric fnhost_requests_scanned_total)" $((SCANNED + 1)) \
    "the usual body takes the fast path (fnhost_requests_scanned_total)"
pair_stored '{"name":"other/pair","data":{"s":1,"s":"\ud836\ude00"}}' \
    "an escaped U+1DA00 is stored as sent (json-c's path)"
t_is "$(metric fnhost_requests_scanned_total)" $((SCANNED + 1)) \
    "a body with a duplicate key does not"

post '[{"name":"test/fanout","data":{}},{"name":"test/wild.one"},{"name":"other/x"}]'
t_is "$HTTP_CODE" 200 "an array of events is accepted"
t_is "$(jq -r '.ids | length' <<<"$BODY_OUT")" 3 "with one id per event"
IDS=($(jq -r '.ids[]' <<<"$BODY_OUT"))
sleep 0.2
wait_until 10 runs_in completed 7
get "/v1/events/${IDS[0]}/runs"
t_is "$(jq -r '[.data[].function_id] | sort | join(",")' <<<"$BODY_OUT")" \
    "count-ok,fanout-two,fanout-wild" "test/fanout fans out to three functions in two plugins"
get "/v1/events/${IDS[1]}/runs"
t_is "$(jq -r '[.data[].function_id] | sort | join(",")' <<<"$BODY_OUT")" \
    "echo,fanout-wild" "test/wild.one matches the test/wild.* trigger"
get "/v1/events/${IDS[2]}/runs"
t_is "$(jq -r '.data | length' <<<"$BODY_OUT")" 0 "an event no function wants starts nothing"
t_is "$(sql "select count(*) from events where id = '${IDS[2]}'")" 1 \
    "but is stored"

# Errors: 400 with a reason that names the event; nothing stored.
BEFORE=$(sql "select count(*) from events")
post '{"name":"test/echo",'
t_is "$HTTP_CODE" 400 "malformed JSON is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" "not valid JSON" "that says so"
post '[{"name":"test/echo"},{"data":{}}]'
t_is "$HTTP_CODE" 400 "an event without a name is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" 'events[1]: "name" is required' \
    "naming the event and the field"
post '{"name":"inngest/function.failed","data":{}}'
t_is "$HTTP_CODE" 400 "a reserved inngest/ name is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" "reserved" "that says it is reserved"
post '{"name":"test/echo","data":[1]}'
t_has "$(jq -r .error <<<"$BODY_OUT")" '"data" must be an object' \
    "data that is not an object is refused"
post '"hello"'
t_has "$(jq -r .error <<<"$BODY_OUT")" "event object or an array" \
    "a body that is not an event is refused"
t_is "$(sql "select count(*) from events")" "$BEFORE" \
    "refused requests store nothing (all or nothing)"

# Size: over --max-body is a 413; the daemon keeps serving.
BIG=$(head -c 70000 /dev/zero | tr '\0' a)
post "{\"name\":\"test/echo\",\"data\":{\"s\":\"$BIG\"}}"
t_is "$HTTP_CODE" 413 "a body over max_body is a 413"
post '{"name":"test/echo","data":{"after":"413"}}'
t_is "$HTTP_CODE" 200 "and the next request is served"

# Keys: an empty key is a 401; with no keys configured any key works.
out=$(curl -s -o "$T_DIR/b" -w '%{http_code}' -d '{"name":"test/echo"}' "$URL/e/")
t_is "$out" 401 "POST /e/ without a key is a 401"
t_has "$(cat "$T_DIR/b")" "Event key is required" "that says a key is required"
post '{"name":"test/echo"}' any-key-at-all
t_is "$HTTP_CODE" 200 "on loopback without keys any key is accepted"
get /e/test
t_is "$HTTP_CODE" 405 "GET /e/key is a 405"

# Dedup: the same event id within 24 h starts no new run, but is stored.
wait_until 10 runs_in queued 0
N0=$(sql "select count(*) from runs")
post '{"name":"test/echo","id":"signup-42","data":{"n":1}}'
FIRST=$(jq -r '.ids[0]' <<<"$BODY_OUT")
post '{"name":"test/echo","id":"signup-42","data":{"n":2}}'
t_is "$HTTP_CODE" 200 "a repeated event id is still acknowledged"
SECOND=$(jq -r '.ids[0]' <<<"$BODY_OUT")
t_ok "$([ "$FIRST" != "$SECOND" ]; echo $?)" "each delivery gets its own internal id"
t_is "$(sql "select count(*) from events where user_id = 'signup-42'")" 2 \
    "both deliveries are stored"
t_is "$(sql "select count(*) from runs") " "$((N0 + 2)) " \
    "but only the first starts runs (echo and fanout-wild)"
post '[{"name":"test/echo","id":"batch-1"},{"name":"test/echo","id":"batch-1"}]'
t_is "$(sql "select count(*) from runs r join events e on e.id = r.event_id where e.user_id = 'batch-1'")" 2 \
    "a repeat within one request is deduplicated too"

# An SDK that lost our answer sends again with the same
# x-inngest-event-id-seed: the same ids come back and nothing runs twice.
SEED="x-inngest-event-id-seed: 1795932112268,nOan5ggdN73Dag=="
BODY='[{"name":"test/echo","data":{"seeded":1}},{"name":"other/seeded"}]'
A=$(curl -s -H "$SEED" -d "$BODY" "$URL/e/test")
B=$(curl -s -H "$SEED" -d "$BODY" "$URL/e/test")
t_is "$(jq -c .ids <<<"$A")" '["01M8JYAHCCKKKAFSG83MVVVGVA","01M8JYAHCCKKKAFSG83MVVVGVB"]' \
    "a seeded send gets Inngest's ids for the seed"
t_is "$(jq -c .ids <<<"$B")" "$(jq -c .ids <<<"$A")" "a resend gets the same ids"
t_is "$(sql "select count(*) from runs where event_id = '01M8JYAHCCKKKAFSG83MVVVGVA'")" 2 \
    "and starts no second run"
t_is "$(sql "select count(*) from events where id like '01M8JYAHCCKKKAFSG83MVVVGV_'")" 2 \
    "nor a second copy of the events"

# A future ts schedules the run for that time.
FUT=$(( $(date +%s%3N) + 3600000 ))
post "{\"name\":\"test/echo\",\"ts\":$FUT,\"data\":{}}"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
t_is "$(sql "select group_concat(distinct wake_at) from runs
    where event_id = '$EV'")" "$FUT" "an event with a future ts is due then"
sleep 0.3
get "/v1/events/$EV/runs"
t_is "$(jq -r '[.data[].status] | unique | join(",")' <<<"$BODY_OUT")" Queued \
    "and waits (Queued)"

# A store that cannot write (here a trigger standing in for a full disk)
# answers 503 with the reason; nothing half-stored, and it recovers.
BEFORE=$(sql "select count(*) from events")
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "CREATE TRIGGER full BEFORE INSERT
    ON events BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END;"
post '{"name":"test/echo","data":{"n":"full"}}'
t_is "$HTTP_CODE" 503 "a store that cannot write answers 503"
t_has "$(jq -r .error <<<"$BODY_OUT")" "database or disk is full" \
    "with the store's reason"
t_is "$(sql "select count(*) from events")" "$BEFORE" "and stores nothing"
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "DROP TRIGGER full"
post '{"name":"test/echo","data":{"n":"after"}}'
t_is "$HTTP_CODE" 200 "once the store can write again, events are accepted"

get /metrics
t_has "$BODY_OUT" "fnhost_events_received_total" "/metrics serves Prometheus text"

# An event no function wants is logged at info, once a minute per name,
# and counted.
unrouted() {
    get /metrics
    sed -n 's/^fnhost_events_unrouted_total //p' <<<"$BODY_OUT"
}
U0=$(unrouted)
post '[{"name":"nobody/home"},{"name":"nobody/home"}]'
post '{"name":"nobody/home"}'
post '{"name":"nobody/else"}'
post '{"name":"test/echo"}'
t_is "$(unrouted)" "$((U0 + 4))" \
    "/metrics counts the 4 events that triggered nothing"
LINE='info  \[pipeline\] event [0-9A-Z]* (nobody/home) triggers no function'
t_is "$(grep -c "$LINE" "$LOG")" 1 \
    "the log says once that nobody/home triggers no function"
t_is "$(grep -c '(nobody/else) triggers no function' "$LOG")" 1 \
    "and once for another name"
t_is "$(grep -c '(test/echo) triggers no function' "$LOG")" 0 \
    "and nothing for a routed event"
get /nope
t_is "$HTTP_CODE" 404 "an unknown path is a 404"
get /v1/runs/01AAAAAAAAAAAAAAAAAAAAAAAA
t_is "$HTTP_CODE" 404 "an unknown run is a 404"
t_stop

# With keys configured, an unknown key is refused: also one of the same
# length, a prefix of a key, and a key with more after it.
t_start --event-keys key-one,key-two --api-key the-api-key
post '{"name":"test/echo"}' wrong
t_is "$HTTP_CODE" 401 "with event_keys set an unknown key is a 401"
t_has "$BODY_OUT" "Event key not found" "that says the key was not found"
for k in key-twx key-tw key-two2 key-on; do
    post '{"name":"test/echo"}' "$k"
    t_is "$HTTP_CODE" 401 "event key $k is refused"
done
post '{"name":"test/echo"}' key-two
t_is "$HTTP_CODE" 200 "a configured key is accepted"
post '{"name":"test/echo"}' key-one
t_is "$HTTP_CODE" 200 "and so is the other one"
api() { # api KEY: GET /v1/runs with that bearer token; prints the status
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
        "$URL/v1/runs"
}
get /v1/runs
t_is "$HTTP_CODE" 401 "with api_key set, /v1 without it is a 401"
for k in the-api-kez the-api-ke the-api-key2 ""; do
    t_is "$(api "$k")" 401 "API key \"$k\" is refused"
done
t_is "$(api the-api-key)" 200 "the API key is accepted"
t_stop
t_done
