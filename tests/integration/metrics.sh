#!/usr/bin/env bash
# metrics.sh - GET /metrics moves as the host works: histograms of run,
# step, queue and commit times and group sizes, runs by function and
# outcome, the waiting and worker gauges, reloads, and webhook refusals by
# source and reason; every histogram is well formed.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins counter steps waits
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
cat >"$T_DIR/fnhost.ini" <<INI
[plugin counter]
database = $T_DIR/count.db
[plugin steps]
database = $T_DIR/execs.db
[webhook clerk]
secret = $SECRET
INI
t_start --config "$T_DIR/fnhost.ini"

get /metrics
t_is "$(metric fnhost_run_duration_seconds_count)" 0 "(no run has ended)"
t_is "$(metric fnhost_workers'{state="idle"}')" 2 "both workers are idle"
t_is "$(metric fnhost_workers'{state="busy"}')" 0 "none is busy"
COMMITS=$(metric fnhost_store_commit_seconds_count)

for i in 1 2 3; do
    send_event test/count "{\"n\":$i}"
done
send_event test/steps '{}'
send_event test/step-flaky '{"fail_times":1}'
wait_until 10 runs_in completed 5
t_ok $? "(five runs completed)"
t_is "$(metric fnhost_runs_total'{function="count",outcome="completed"}')" 3 \
    "runs are counted by function and outcome"
t_is "$(metric fnhost_runs_total'{function="step-flaky",outcome="retried"}')" 1 \
    "a retried attempt is counted as retried"
t_is "$(metric fnhost_run_duration_seconds_count)" 5 \
    "each run's duration is observed once"
t_ok "$([ "$(metric fnhost_step_duration_seconds_count)" -ge 3 ]; echo $?)" \
    "step durations are observed"
t_ok "$([ "$(metric fnhost_queue_wait_seconds_count)" -ge 6 ]; echo $?)" \
    "so is each dispatch's wait (the retry's too)"
t_ok "$([ "$(metric fnhost_store_commit_seconds_count)" -gt "$COMMITS" ]
    echo $?)" "and every group commit, with its size"
t_is "$(metric fnhost_store_group_writes_count)" \
    "$(metric fnhost_store_commit_seconds_count)" \
    "(one size per commit)"

# Histograms as Prometheus reads them: buckets cumulative, +Inf the count.
get /metrics
BAD=$(awk '
    /_bucket\{/ { name = $1; sub(/_bucket\{.*/, "", name)
        if ($2 + 0 < last[name] + 0) bad = bad " " name; last[name] = $2
        if ($1 ~ /le="\+Inf"/) inf[name] = $2 }
    /_count / { name = $1; sub(/_count$/, "", name)
        if ((name in inf) && inf[name] != $2) bad = bad " " name }
    END { print bad }' <<<"$BODY_OUT")
t_is "$BAD" "" "every histogram is cumulative and ends at its count"

# A slow run keeps a worker busy; a wait counts as waiting.
send_event test/count '{"n":9,"sleep_ms":1500}'
busy() { [ "$(metric fnhost_workers'{state="busy"}')" = 1 ]; }
wait_until 5 busy
t_ok $? "a worker running a run counts as busy"
send_event test/wait.any.start '{}'
waiting() { [ "$(metric fnhost_runs_waiting)" = 1 ]; }
wait_until 10 waiting
t_ok $? "a run waiting for an event counts as waiting"
post '{"name":"test/wait.ping","data":{}}'
not_waiting() { [ "$(metric fnhost_runs_waiting)" = 0 ]; }
wait_until 10 not_waiting
t_ok $? "and no longer once its event came"

# Reloads, one that works and one that keeps the old generation.
"$FNHOST" reload --state "$STATE" >/dev/null
t_is "$(metric fnhost_reloads_total'{result="ok"}')" 1 "a reload is counted"
echo "not a plugin" >"$PLUGINS/broken.so"
"$FNHOST" reload --state "$STATE" >/dev/null 2>&1
t_is "$(metric fnhost_reloads_total'{result="failed"}')" 1 \
    "so is one that failed"
rm -f "$PLUGINS/broken.so"

# Webhook refusals, by source and reason.
PAYLOAD="$ROOT/examples/user-sync/webhook.user.created.json"
hook() { # hook FILE [sign options]: deliver FILE signed so
    local file=$1
    shift
    "$FNHOST" sign --config "$T_DIR/fnhost.ini" "$@" @"$file" >"$T_DIR/h"
    curl -s -o /dev/null -H @"$T_DIR/h" --data-binary @"$PAYLOAD" \
        "$URL/webhooks/clerk"
}
hook "$PAYLOAD" --secret whsec_d3Jvbmcgc2VjcmV0IGZvciB0aGUgdGVzdA==
hook "$PAYLOAD" --webhook clerk --timestamp 1000000000
t_is "$(metric fnhost_webhook_refused_total'{source="clerk",reason="signature"}')" 1 \
    "a delivery with a wrong signature is counted as such"
t_is "$(metric fnhost_webhook_refused_total'{source="clerk",reason="timestamp"}')" 1 \
    "a stale one as a timestamp refusal"
echo '[1]' >"$T_DIR/array.json"
"$FNHOST" sign --config "$T_DIR/fnhost.ini" --webhook clerk \
    @"$T_DIR/array.json" >"$T_DIR/h"
curl -s -o /dev/null -H @"$T_DIR/h" --data-binary @"$T_DIR/array.json" \
    "$URL/webhooks/clerk"
t_is "$(metric fnhost_webhook_refused_total'{source="clerk",reason="payload"}')" 1 \
    "a signed body that is no payload as a payload refusal"
t_stop
t_done
