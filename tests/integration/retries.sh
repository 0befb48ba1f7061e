#!/usr/bin/env bash
# retries.sh - failed handlers retry with backoff until their retries are
# used up; non-retryable failures fail at once; every attempt is recorded.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins flaky
t_start

post '[{"name":"test/flaky","data":{"fail_times":2}},
       {"name":"test/flaky","data":{"fail_times":0,"fatal":true}},
       {"name":"test/flaky","data":{"fail_times":10}},
       {"name":"test/flaky-none","data":{}}]'
IDS=($(jq -r '.ids[]' <<<"$BODY_OUT"))
run_json() {
    get "/v1/events/$1/runs"
    get "/v1/runs/$(jq -r '.data[0].run_id' <<<"$BODY_OUT")"
}
wait_until 20 runs_in completed 1
wait_until 20 runs_in failed 3

run_json "${IDS[0]}"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Completed \
    "a handler failing twice completes on its third attempt"
t_is "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" 3 "three attempts are recorded"
t_is "$(jq -r '.data.attempts[0].error' <<<"$BODY_OUT")" \
    "flaky failure on attempt 0" "with each failure's reason"
t_is "$(jq -r '.data.attempts[2].error' <<<"$BODY_OUT")" null \
    "and no error on the attempt that succeeded"
t_is "$(jq -r '.data.output.attempt' <<<"$BODY_OUT")" 2 \
    "the handler saw its attempt number"

run_json "${IDS[1]}"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Failed "FH_NO_RETRY fails the run"
t_is "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" 1 "after one attempt"
t_is "$(jq -r .data.error <<<"$BODY_OUT")" "fatal: data.fatal is set" \
    "with the handler's reason"

run_json "${IDS[2]}"
t_is "$(jq -r .data.status <<<"$BODY_OUT")" Failed \
    "a handler that keeps failing fails the run"
t_is "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" 4 \
    "after retries + 1 attempts (retries = 3)"
t_is "$(jq -r .data.error <<<"$BODY_OUT")" "flaky failure on attempt 3" \
    "with the last attempt's error"

run_json "${IDS[3]}"
t_is "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" 1 \
    "FH_RETRIES_NONE allows a single attempt"
t_stop

# The delays follow the backoff table, here scaled to 1/50: the retry after
# attempt A waits at least the table's entry for A (15 s, 30 s, 1 min), plus
# up to 30 s of jitter, plus the time to dispatch it. So only lower bounds
# hold; as the table outgrows the jitter, a backoff that stays at 15 s
# cannot reach the third (1 min: 45 s at most), and a second gap shorter
# than 30 s means the second retry did not wait longer than the first had
# to. The gaps are the store's: from one attempt's end to the next's start.
STATE="$T_DIR/state2"
t_start --backoff-scale 0.02
post '{"name":"test/flaky","data":{"fail_times":3}}'
wait_until 20 runs_in completed 1
GAPS=($(sql "select b.started_at - a.ended_at from attempts a join attempts b
             on a.run_id = b.run_id and b.attempt = a.attempt + 1
             order by a.attempt"))
t_is "${#GAPS[@]}" 3 "a run failing three times has three retry gaps"
t_ok "$([ "${GAPS[0]:-0}" -ge 300 ]; echo $?)" \
    "the first retry waits 15 s scaled, or more (${GAPS[0]:-} ms)"
t_ok "$([ "${GAPS[1]:-0}" -ge 600 ]; echo $?)" \
    "the second 30 s scaled, or more: past the first's least (${GAPS[1]:-} ms)"
t_ok "$([ "${GAPS[2]:-0}" -ge 1200 ]; echo $?)" \
    "the third 1 min scaled, or more: past the first's most (${GAPS[2]:-} ms)"

# fh_retry_after's delay is the service's: the backoff scale leaves it be.
post '{"name":"test/retry-after","data":{"after_ms":2000}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
retry_queued() {
    get "/v1/events/$EV/runs"
    RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
    get "/v1/runs/$RUN"
    [ "$(jq -r '.data.next_attempt_at' <<<"$BODY_OUT")" != null ] &&
        [ "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" = 1 ]
}
wait_until 10 retry_queued
ms() { date -d "$1" +%s%3N; }
NEXT=$(jq -r '.data.next_attempt_at' <<<"$BODY_OUT")
ENDED=$(jq -r '.data.attempts[0].ended_at' <<<"$BODY_OUT")
t_is "$(($(ms "$NEXT") - $(ms "$ENDED")))" 2000 \
    "GET /v1/runs: a retry_after of 2 s is next_attempt_at, unscaled"
wait_until 10 runs_in completed 2
GAP=$(sql "select b.started_at - a.ended_at from attempts a join attempts b
           on a.run_id = b.run_id and b.attempt = 1
           where a.attempt = 0 and a.run_id = '$RUN'")
t_ok "$([ "$GAP" -ge 2000 ]; echo $?)" \
    "and the retry starts no sooner ($GAP ms after the failure)"
t_stop

# A [function ID] section overrides retries and the backoff scale.
STATE="$T_DIR/state3"
cat >"$T_DIR/fnhost.ini" <<INI
[function flaky]
retries = 1
backoff_scale = 0.0001
INI
t_start --config "$T_DIR/fnhost.ini" --backoff-scale 100
post '{"name":"test/flaky","data":{"fail_times":5}}'
wait_until 10 runs_in failed 1
t_is "$(sql "select count(*) from attempts")" 2 \
    "[function flaky] retries = 1 gives two attempts"
t_stop
t_done
