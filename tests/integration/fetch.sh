#!/usr/bin/env bash
# fetch.sh - fetch steps (fh_fetch()): the master makes the request on a
# local origin (tests/tools/http_origin) and stores the response as the
# step's result; a replay never fetches again; transport errors, 5xx and
# 429 are retried with the function's retries, a 404 is a response; a
# kill -9 while a request is in flight makes it again after the restart;
# the body is capped.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins fetcher
EXECS="$T_DIR/execs.db"
printf '[plugin fetcher]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
ORIGIN_LOG="$T_DIR/origin.log"
"$BUILD/tests/tools/http_origin" "$T_DIR/origin.port" "$ORIGIN_LOG" &
ORIGIN_PID=$!
trap 'kill "$ORIGIN_PID" 2>/dev/null; t_cleanup' EXIT
wait_until 10 test -s "$T_DIR/origin.port"
ORIGIN="http://127.0.0.1:$(cat "$T_DIR/origin.port")"
t_start --config "$T_DIR/fnhost.ini"

fetch() { # fetch DATA-JSON: sends test/fetch; RUN gets its run
    post "{\"name\":\"test/fetch\",\"data\":$1}"
    local ev
    ev=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    wait_until 10 eval '[ -n "$(sql "select id from runs where event_id = '"'$ev'"'")" ]'
    RUN=$(sql "select id from runs where event_id = '$ev'")
}
status_of() { sql "select status from runs where id = '$1'"; }
ended() { # ended RUN: completed or failed
    case "$(status_of "$1")" in completed | failed) return 0 ;; esac
    return 1
}
hits() { # hits PATH: requests the origin got for PATH
    grep -c -- " $1\$" "$ORIGIN_LOG"
}
output() { # output RUN: the run's output
    get "/v1/runs/$1"
    jq -c '.data.output' <<<"$BODY_OUT"
}
passes() { # passes RUN: how often the handler went past the fetch
    sqlite3 "$EXECS" "select count(*) from execs where run_id = '$1' and what = 'fetching'"
}

# GET with headers.
fetch "{\"url\":\"$ORIGIN/echo/get\",\"headers\":[\"X-Test: one\",\"Authorization: Bearer x\"]}"
wait_until 15 ended "$RUN"
t_is "$(status_of "$RUN")" completed "a run that fetches completes"
OUT=$(output "$RUN")
t_is "$(jq '.response.status' <<<"$OUT")" 200 "its output holds the response's status"
t_is "$(jq -r '.response.headers["x-origin"]' <<<"$OUT")" 1 \
    "its headers, by lower-case name"
ECHO=$(jq -r '.response.body' <<<"$OUT")
t_is "$(jq -r '.method' <<<"$ECHO")" GET "the origin got a GET"
t_is "$(jq -r '.headers["x-test"] + "|" + .headers.authorization' <<<"$ECHO")" \
    "one|Bearer x" "with the request's headers"
t_is "$(hits /echo/get)" 1 "one request"
get "/v1/runs/$RUN"
t_is "$(jq -c '[.data.steps[] | select(.step_id == "call") | .kind, .status]' <<<"$BODY_OUT")" \
    '["fetch","completed"]' "the fetch is a completed step of kind fetch"
t_is "$(jq -c '.data.steps[] | select(.step_id == "call") | .result.status' <<<"$BODY_OUT")" \
    200 "whose stored result is the response"

# POST with a body.
fetch "{\"url\":\"$ORIGIN/echo/post\",\"method\":\"POST\",\"headers\":[\"Content-Type: application/json\"],\"body\":\"{\\\"a\\\":1}\"}"
wait_until 15 ended "$RUN"
ECHO=$(output "$RUN" | jq -r '.response.body')
t_is "$(jq -r '.method + " " + .body + " " + .headers["content-type"]' <<<"$ECHO")" \
    'POST {"a":1} application/json' "a POST sends its body and headers"

# The response is memoized: the run sleeps after the fetch and replays it.
fetch "{\"url\":\"$ORIGIN/echo/memo\",\"nap\":\"300ms\"}"
wait_until 15 ended "$RUN"
t_is "$(status_of "$RUN")" completed "a run that fetches, then sleeps, completes"
t_is "$(hits /echo/memo)" 1 "the origin got one request"
t_is "$(passes "$RUN")" 3 "(though the handler went past the fetch three times)"

# Two fetches of one URL under two names: two requests, two results.
fetch "{\"url\":\"$ORIGIN/echo/twice\",\"twice\":true}"
wait_until 15 ended "$RUN"
t_is "$(output "$RUN" | jq -c '[.response.status, .again.status]')" '[200,200]' \
    "two fetch steps complete"
t_is "$(hits /echo/twice)" 2 "with one request each"

# 500, then 200: retried.
fetch "{\"url\":\"$ORIGIN/flaky/1/a\"}"
wait_until 15 ended "$RUN"
t_is "$(output "$RUN" | jq -c '[.response.status, .response.body]')" '[200,"ok after 1"]' \
    "a 500 is retried until the 200"
t_is "$(hits /flaky/1/a)" 2 "two requests"
get "/v1/runs/$RUN"
t_has "$(jq -r '[.data.attempts[] | select(.step_id == "call") | .error // "ok"] | join(",")' <<<"$BODY_OUT")" \
    "HTTP 500,ok" "the step's attempts show the 500, then success"

# 429 with Retry-After: retried.
fetch "{\"url\":\"$ORIGIN/slow-429/a\"}"
wait_until 15 ended "$RUN"
t_is "$(output "$RUN" | jq -c '.response.status')" 200 "a 429 is retried"
t_is "$(hits /slow-429/a)" 2 "two requests"

# A 404 is a response, not an error.
fetch "{\"url\":\"$ORIGIN/status/404/a\"}"
wait_until 15 ended "$RUN"
t_is "$(status_of "$RUN")" completed "a run whose fetch gets a 404 completes"
t_is "$(output "$RUN" | jq -c '[.response.status, .response.body]')" '[404,"status 404"]' \
    "with the 404 as its response"
t_is "$(hits /status/404/a)" 1 "not retried"

# A transport error: retried with the function's retries, then failed.
fetch '{"url":"http://127.0.0.1:1/closed"}'
wait_until 15 ended "$RUN"
t_is "$(status_of "$RUN")" failed "a fetch that cannot connect fails the run at last"
get "/v1/runs/$RUN"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "GET http://127.0.0.1:1/closed:" \
    "with the fetch's error"
t_is "$(jq '[.data.attempts[] | select(.step_id == "call")] | length' <<<"$BODY_OUT")" 3 \
    "after 3 attempts (retries = 2)"
t_is "$(jq -c '[.data.steps[] | select(.step_id == "call") | .status]' <<<"$BODY_OUT")" \
    '["failed"]' "the step failed for good"

# Redirects are followed; a body that is not text is base64.
fetch "{\"url\":\"$ORIGIN/redirect/2/a\"}"
wait_until 15 ended "$RUN"
t_is "$(output "$RUN" | jq -c '[.response.status, .response.body]')" '[200,"landed"]' \
    "redirects are followed"
fetch "{\"url\":\"$ORIGIN/binary/a\"}"
wait_until 15 ended "$RUN"
OUT=$(output "$RUN")
t_is "$(jq -r '.response.encoding' <<<"$OUT")" base64 "a binary body is base64"
t_is "$(jq -r '.response.body' <<<"$OUT" | base64 -d | od -An -tu1 | wc -w)" 256 \
    "and decodes to the bytes sent"

# The body cap: over 4 MiB fails for good, without a retry.
fetch "{\"url\":\"$ORIGIN/big/5000000\"}"
wait_until 15 ended "$RUN"
t_is "$(status_of "$RUN")" failed "a response body over 4 MiB fails the run"
get "/v1/runs/$RUN"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "the response body is over" \
    "saying so"
t_is "$(hits /big/5000000)" 1 "not retried"
fetch "{\"url\":\"$ORIGIN/big/1000\"}"
wait_until 15 ended "$RUN"
t_is "$(output "$RUN" | jq -r '.response.body | length')" 1000 "a small body comes whole"

# A bad request fails for good in the worker; nothing is fetched.
fetch '{"url":"ftp://example.com/x"}'
wait_until 15 ended "$RUN"
get "/v1/runs/$RUN"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "fetch \"call\": the URL is not http:// or https://" \
    "another scheme fails the step for good"

# A reload, and the workers killed, while a request is in flight: the
# run holds no worker, and the master's request goes on.
fetch "{\"url\":\"$ORIGIN/delay/1500/r\"}"
wait_until 15 eval '[ "$(hits /delay/1500/r)" = 1 ]'
kill -HUP "$T_PID"
for w in $(ps -o pid= --ppid "$T_PID"); do kill -9 "$w" 2>/dev/null; done
wait_until 20 ended "$RUN"
t_is "$(output "$RUN" | jq -r '.response.body')" late \
    "a reload and killed workers during a request: the run completes"
t_is "$(hits /delay/1500/r)" 1 "with one request"

# kill -9 of the master while a request is in flight: made again after
# the restart, and the run completes with that response.
fetch "{\"url\":\"$ORIGIN/hold/k\"}"
wait_until 15 eval '[ "$(hits /hold/k)" = 1 ]'
t_ok $? "the origin holds the request"
get "/v1/runs/$RUN"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Running "the run shows as running meanwhile"
t_is "$(sql "select count(*) from fetches where run_id = '$RUN'")" 1 \
    "its request is stored as pending"
t_kill9
t_start --config "$T_DIR/fnhost.ini"
wait_until 20 ended "$RUN"
t_is "$(status_of "$RUN")" completed "after a restart the run completes"
t_is "$(output "$RUN" | jq -r '.response.body')" released "with the response of the request made again"
t_is "$(hits /hold/k)" 2 "which was made twice (at least once)"
t_is "$(sql "select count(*) from fetches")" 0 "nothing is pending"

# kill -9 after the response is stored: never fetched again.
fetch "{\"url\":\"$ORIGIN/echo/stored\",\"nap\":\"2s\"}"
wait_until 15 eval '[ "$(status_of "$RUN")" = sleeping ]'
t_kill9
t_start --config "$T_DIR/fnhost.ini"
wait_until 20 ended "$RUN"
t_is "$(status_of "$RUN")" completed "a run killed while it slept after its fetch completes"
t_is "$(hits /echo/stored)" 1 "and its request was made once"
t_stop

# The request is stored before it is made. With each commit held 2 s,
# kill -9 the master the moment the origin sees the request: its pending
# fetch must be stored already. (Made first, it would still be
# committing.)
FNHOST_FAULT_COMMIT_DELAY_MS=2000 t_start --config "$T_DIR/fnhost.ini"
fetch "{\"url\":\"$ORIGIN/hold/d\"}"
wait_until 30 eval '[ "$(hits /hold/d)" = 1 ]'
t_ok $? "the request is made while commits are slow"
t_kill9
t_is "$(sql "select count(*) from fetches where run_id = '$RUN'")" 1 \
    "the moment it is made, it is stored as pending"
t_start --config "$T_DIR/fnhost.ini"
wait_until 20 ended "$RUN"
t_is "$(output "$RUN" | jq -r '.response.body')" released \
    "after a restart it is made again, and the run completes"
t_stop
t_done
