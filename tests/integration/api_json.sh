#!/usr/bin/env bash
# api_json.sh - what enters the store is what /v1 can serve as JSON (RFC
# 8259), and is bounded: event text json-c would take and silently change
# is refused with a 400 and nothing stored; messages, names, results and
# outputs that are not UTF-8 or are too big never reach the store as
# they came; lists stay small however big the outputs stored. lib.sh's
# get checks every /v1 answer with a strict parser.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins ok outputs
t_start

events_stored() { sql "select count(*) from events"; }

# refused BODY WANT DESCRIPTION: POST /e answers 400 with an error holding
# WANT, and stores nothing.
refused() {
    local before
    before=$(events_stored)
    post "$1"
    t_is "$HTTP_CODE" 400 "$3: 400"
    t_has "$(jq -r .error <<<"$BODY_OUT")" "$2" "$3: the error says why"
    t_is "$(events_stored)" "$before" "$3: nothing is stored"
}

# --- event ids with a NUL: "order\u0000-1" and "order\u0000-2" are one C
# string, so dedup would take the second for the first.
refused '{"name":"test/echo","id":"order\u0000-1"}' '"id" contains a NUL' \
    'an id holding \u0000'
refused '{"name":"test/echo","id":"order\u0000-2"}' '"id" contains a NUL' \
    'another id that differs after the \u0000'
refused '[{"name":"test/echo"},{"name":"test/echo","id":"a\u0000"}]' \
    'events[1] (test/echo): "id" contains a NUL' 'a NUL id in a batch'
t_is "$(sql "select count(*) from runs")" 0 "and no run was made"

# --- integers json-c would clamp to 64 bits
refused '{"name":"test/echo","data":{"n":12345678901234567890123456789012345}}' \
    "integer beyond 64 bits" "an integer of 35 digits"
refused '{"name":"test/echo","data":{"n":18446744073709551616}}' \
    "integer beyond 64 bits" "2^64"
refused '{"name":"test/echo","data":{"n":-9223372036854775809}}' \
    "integer beyond 64 bits" "-2^63 - 1"
post '{"name":"test/echo","data":{"max":18446744073709551615,"min":-9223372036854775808,"big":1e300}}'
t_is "$HTTP_CODE" 200 "the largest and smallest 64-bit integers are taken"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
get "/v1/events/$EV"
t_has "$BODY_OUT" '"data":{"max":18446744073709551615,"min":-9223372036854775808,"big":1e300}' \
    "and served as they were sent"

# --- text json-c would change: a raw control character, a lone surrogate
refused $'{"name":"test/echo","data":{"s":"a\tb"}}' \
    "control character in a string must be escaped" "a raw tab in a string"
refused $'{"name":"test/echo","data":{"s":"a\x01b"}}' \
    "control character in a string must be escaped" "a raw U+0001"
refused '{"name":"test/echo","data":{"s":"a\ud800b"}}' "lone surrogate" \
    'a lone high surrogate \ud800'
refused '{"name":"test/echo","data":{"s":"\udc00"}}' "lone surrogate" \
    'a lone low surrogate \udc00'
refused '{"name":"test/echo","data":{"\ud800":1}}' "lone surrogate" \
    'a lone surrogate in a key'
post '{"name":"test/echo","data":{"s":"\ud83d\ude00 \u00e9\t"}}'
t_is "$HTTP_CODE" 200 "a surrogate pair and escaped controls are taken"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
get "/v1/events/$EV"
t_is "$(jq -r .data.data.s <<<"$BODY_OUT")" $'\U1F600 \u00e9\t' \
    "and read back as the characters they name"

# --- what a handler returns
# out DATA: sends test/out with DATA; waits for its run to end; the run
# into RUN and BODY_OUT (/v1/runs/{id}).
out() {
    post "{\"name\":\"test/out\",\"data\":$1}"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    wait_until 20 run_ended "$EV"
    get "/v1/events/$EV/runs"
    RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
    get "/v1/runs/$RUN"
}
run_ended() {
    get "/v1/events/$1/runs"
    case "$(jq -r '.data[0].status' <<<"$BODY_OUT")" in
    Completed | Failed) return 0 ;;
    esac
    return 1
}

out '{"fail_utf8":1}'
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Failed "fh_fail with bytes that are not UTF-8 fails the run"
t_is "$(jq -r .data.error <<<"$BODY_OUT")" $'bad bytes: \uFFFD\uFFFD, \uFFFD\uFFFD, end' \
    "its message keeps its text, each bad byte a U+FFFD"

out '{"name_utf8":1}'
t_is "$(jq -r .data.error <<<"$BODY_OUT")" "fh_step: a step's name must be UTF-8" \
    "a step whose name is not UTF-8 fails, saying why"
t_is "$(jq -r '.data.steps | length' <<<"$BODY_OUT")" 0 "and is not stored"

out '{"result_utf8":1}'
t_is "$(jq -r .data.error <<<"$BODY_OUT")" \
    "step result is not valid JSON: it is not UTF-8" \
    "a step result whose string is not UTF-8 fails the step, saying why"
t_is "$(jq -r '.data.steps[0].status' <<<"$BODY_OUT")" failed \
    "the step shows failed"

out '{"output_utf8":1}'
t_is "$(jq -r .data.error <<<"$BODY_OUT")" \
    "the output is not valid JSON: it is not UTF-8" \
    "an output whose string is not UTF-8 fails the run, saying why"

# --- sizes: 4 MiB per step result and per output; errors are cut at 16 KiB
out '{"result_bytes":4194400}'
t_is "$(jq -r .data.error <<<"$BODY_OUT")" \
    "step result is 4194402 bytes, more than the 4 MiB a step may return" \
    "a step result over 4 MiB fails the step, saying why"
t_is "$(jq -r '.data.steps[0].status' <<<"$BODY_OUT")" failed \
    "the step shows failed, with no result stored"
out '{"output_bytes":4194400}'
t_is "$(jq -r .data.error <<<"$BODY_OUT")" \
    "the output is 4194402 bytes, more than the 4 MiB a run may return" \
    "an output over 4 MiB fails the run, saying why"
t_is "$(sql "select count(*) from runs where length(output) > 4194304")" 0 \
    "and is not stored"
out '{"error_bytes":1000000}'
ERR=$(jq -r .data.error <<<"$BODY_OUT")
t_ok "$([ "${#ERR}" -le 16384 ] && echo 0 || echo 1)" \
    "a 1 MB error message is stored cut to 16 KiB (${#ERR} bytes)"
t_has "$ERR" "... (cut: the message was 1000000 bytes)" "and says so"

# --- lists carry summaries; a run's detail carries its output
for i in 1 2 3 4 5; do
    out '{"output_bytes":3000000}'
    t_is "$(jq -r .data.status <<<"$BODY_OUT")" Completed "a 3 MB output $i is stored"
done
t_is "$(jq -r '.data.output | length' <<<"$BODY_OUT")" 3000000 \
    "GET /v1/runs/{id} carries the output"
BYTES=$(curl -s "$URL/v1/runs?limit=20" | wc -c)
t_ok "$([ "$BYTES" -lt 100000 ] && echo 0 || echo 1)" \
    "GET /v1/runs?limit=20 stays small with 15 MB of outputs stored ($BYTES bytes)"
get "/v1/runs?limit=20"
t_is "$(jq '[.data[] | has("output")] | any' <<<"$BODY_OUT")" false \
    "its runs carry no output"
t_is "$(jq -r '.data | length' <<<"$BODY_OUT")" "$(sql "select count(*) from runs")" \
    "and every run is there"
get "/v1/events/$EV/runs"
t_is "$(jq -r '.data[0].output | length' <<<"$BODY_OUT")" 3000000 \
    "GET /v1/events/{id}/runs carries the outputs of the event's runs, as Inngest's does"
get "/v1/runs?limit=1000"
t_is "$HTTP_CODE" 200 "GET /v1/runs with every bad run above answers"

# --- a store written before these checks: what it holds that is not JSON
# is not printed as it is (lib.sh checks each answer).
RUN=$(sql "select id from runs where function_id = 'outputs'
    and status = 'completed' order by id limit 1")
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "update runs set output =
    '{\"n\":NaN}', error = cast(x'6261642078ff' as text) where id = '$RUN';
    update steps set result = '[Infinity]', name = cast(x'c0af' as text)
    where run_id in (select id from runs where function_id = 'outputs')"
get "/v1/runs/$RUN"
t_is "$HTTP_CODE/$(jq -c .data.output <<<"$BODY_OUT")" 200/null \
    "an output stored as NaN is served as null"
t_is "$(jq -r .data.error <<<"$BODY_OUT")" $'bad x\uFFFD' \
    "an error stored with a byte that is not UTF-8 is served with U+FFFD"
get "/v1/runs?limit=1000"
t_is "$HTTP_CODE" 200 "and /v1/runs answers"
get "/v1/events/$(sql "select event_id from runs where id = '$RUN'")/runs"
t_is "$HTTP_CODE" 200 "as does /v1/events/{id}/runs"
RUN=$(sql "select run_id from steps where result = '[Infinity]' limit 1")
get "/v1/runs/$RUN"
t_is "$(jq -c '.data.steps[0] | [.result, .name]' <<<"$BODY_OUT")" \
    "$(jq -nc '[null, "\ufffd\ufffd"]')" \
    "a step result stored as Infinity is served as null, a bad name with U+FFFD"

t_stop
t_done
