#!/usr/bin/env bash
# concurrency.sh - concurrency limits (fh_function_opts.concurrency)
# against the daemon, counting executions, not time: the fixture's runs
# mark themselves in flight and hold their worker until the test opens
# their key's gate. At most LIMIT runs of a key execute at once while
# runs of other keys go by (no head-of-line blocking: a full key's queue
# holds up no one else); the runs that wait show why; sleeping runs hold
# no slot; a scope-env key is shared by the functions that use it; a
# cancel reaches a run in a key's queue; the limits hold across kill -9
# of the master and a SIGHUP reload; a [function ID] section overrides
# the first limit; a limit that cannot be refuses its plugin at load,
# naming it.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins concurrency bad_concurrency
export FNHOST_TEST_CONC="$T_DIR/conc"
mkdir -p "$FNHOST_TEST_CONC/in" "$FNHOST_TEST_CONC/open"
: >"$FNHOST_TEST_CONC/log"
# Runs held at a gate must not time out meanwhile.
printf '[function conc-ini]\nconcurrency.limit = 3\n[function conc-key]\ntimeout = 10m\n' \
    >"$T_DIR/conc.ini"
T_WORKERS=12 t_start --config "$T_DIR/conc.ini"

# send NAME KEY N: N events NAME with data.key KEY.
send() {
    local i batch="["
    for i in $(seq 1 "$3"); do
        batch+="{\"name\":\"$1\",\"data\":{\"key\":\"$2\",\"i\":$i}},"
    done
    post "${batch%,}]"
}
# entered KEY: how many runs of KEY have entered their step.
entered() { grep -c "^in $1 " "$FNHOST_TEST_CONC/log"; }
# most KEY: the most runs of KEY any run saw in flight with it.
most() {
    awk -v k="$1" '$1 == "in" && $2 == k && $3 > m { m = $3 } END { print m + 0 }' \
        "$FNHOST_TEST_CONC/log"
}
# waiting FN: runs of FN in their key's queue, as the store has them.
waiting() { sql "select count(*) from runs where function_id = '$1' and status = 'concurrency'"; }
# settled FN N: N runs of FN wait in a key's queue: nothing more will
# start before a slot frees.
settled() { [ "$(waiting "$1")" = "$2" ]; }
open_gate() { touch "$FNHOST_TEST_CONC/open/$1"; }
done_runs() { sql "select count(*) from runs where function_id = '$1' and status = 'completed'"; }

t_has "$(cat "$LOG")" \
    'plugin bad-concurrency: function "conc-bad": concurrency[1]: scope "account" is neither "fn" nor "env"' \
    "a limit that cannot be refuses its plugin: the plugin, the function, which limit, what is wrong"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "conc-key") | .concurrency' <<<"$BODY_OUT")" \
    '[{"limit":2,"key":"event.data.key","scope":"fn"}]' "GET /v1/functions shows the limit"
t_has "$("$FNHOST" functions --url "$URL" 2>&1)" "concurrency 2 per event.data.key (scope fn)" \
    "fnhost functions shows it"

# Six runs of key A: two execute, four wait in A's queue.
send test/conc A 6
wait_until 20 eval '[ "$(entered A)" = 2 ] && settled conc-key 4'
t_ok $? "two runs of a key with limit 2 execute, the other four wait in its queue"
get "/v1/runs?function_id=conc-key&status=queued"
t_is "$(jq -r '[.data[] | select(.queued_reason == "concurrency key full")] | length' <<<"$BODY_OUT")" 4 \
    "/v1/runs shows them Queued, and why"
id=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
get "/v1/runs/$id"
t_is "$(jq -r '.data.status + " / " + .data.queued_reason' <<<"$BODY_OUT")" \
    "Queued / concurrency key full" "so does /v1/runs/{id}"
t_has "$("$FNHOST" runs --url "$URL" --function conc-key 2>&1)" "concurrency key full" \
    "and fnhost runs"

# No head-of-line blocking: runs of other keys start and end while A's
# four wait behind its two.
send test/conc B 1
for k in C1 C2 C3 C4; do send test/conc "$k" 3; done
wait_until 30 eval '[ "$(entered B)" = 1 ] && settled conc-key 8 &&
    [ "$(grep -c "^in C" "$FNHOST_TEST_CONC/log")" = 8 ]'
t_ok $? "five other keys' runs start while key A is full, two of each key"
open_gate B
for k in C1 C2 C3 C4; do open_gate "$k"; done
wait_until 30 eval '[ "$(done_runs conc-key)" = 13 ]'
t_ok $? "and complete while key A is full"
t_is "$(entered A) $(waiting conc-key)" "2 4" "A's runs did not move meanwhile"
m=0
for k in B C1 C2 C3 C4; do [ "$(most "$k")" -gt "$m" ] && m=$(most "$k"); done
t_is "$m" 2 "no other key ever had more than 2 in flight"

# A cancel reaches a run in a key's queue: it never runs.
request DELETE "/v1/runs/$id"
wait_until 10 eval '[ "$(sql "select status from runs where id = '"'$id'"'")" = cancelled ]'
t_ok $? "a run waiting in a key's queue is cancelled at once"

# kill -9 with A's two runs on workers and three in its queue: after the
# restart the limit still holds.
t_kill9
T_WORKERS=12 t_start --config "$T_DIR/conc.ini"
wait_until 20 eval 'settled conc-key 3 && [ "$(entered A)" = 4 ]'
t_ok $? "after kill -9: the two runs that were executing run again, the three others still wait"
t_is "$(most A)" 2 "and A never had more than 2 in flight"

# A reload with A full: the limit holds on the new generation, and the
# runs on workers still hold their slots until their attempts end.
rm -f "$PLUGINS/bad_concurrency.so"
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2: " "$LOG"'
t_ok $? "reloaded"
send test/conc A 2
wait_until 20 eval 'settled conc-key 5'
t_ok $? "after the reload, new runs of the full key wait too"
t_is "$(most A)" 2 "A has 2 in flight at most"
open_gate A
wait_until 30 eval '[ "$(done_runs conc-key)" = 20 ]'
t_ok $? "once A's gate opens its seven runs complete, a slot at a time"
t_is "$(most A)" 2 "and never more than 2 of A in flight"

# Sleeping runs hold no slot: with limit 1, three runs each do their step
# and sleep, one after another.
open_gate S
send test/conc-sleep S 3
wait_until 30 eval '[ "$(sql "select count(*) from runs where function_id = '"'conc-sleep'"' and status = '"'sleeping'"'")" = 3 ]'
t_ok $? "three runs of a limit-1 function sleep: a sleeping run holds no slot"
t_is "$(most S)" 1 "and one ran at a time"

# Scope env: two functions share each key's queue, limit 1.
send test/conc-env E 3
wait_until 20 eval '[ "$(entered E)" = 1 ] && [ "$(( $(waiting conc-env-a) + $(waiting conc-env-b) ))" = 5 ]'
t_ok $? "scope env: of six runs of two functions with key E, one executes, five wait"
open_gate E
wait_until 30 eval '[ "$(( $(done_runs conc-env-a) + $(done_runs conc-env-b) ))" = 6 ]'
t_ok $? "they all complete"
t_is "$(most E)" 1 "never more than one of the key in flight across both functions"
# A [function ID] section overrides the first limit: 3 at a time, not 1.
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "conc-ini") | .concurrency[0].limit' <<<"$BODY_OUT")" \
    3 "a [function ID] section's concurrency.limit overrides the plugin's"
send test/conc-ini I 5
wait_until 20 eval '[ "$(entered I)" = 3 ] && settled conc-ini 2'
t_ok $? "and three runs execute, two wait"
open_gate I
wait_until 30 eval '[ "$(done_runs conc-ini)" = 5 ]'
t_ok $? "they all complete"
t_is "$(most I)" 3 "never more than 3 in flight"
# A run waiting in its key's queue is active: a singleton that skips
# counts it, and a second event of its key starts nothing.
send test/conc-single Q1 1
wait_until 20 eval '[ "$(entered Q1)" = 1 ]'
send test/conc-single Q2 1
wait_until 20 settled conc-single 1
t_ok $? "a singleton's run waits in the queue while another key's holds the slot"
send test/conc-single Q2 1
t_is "$(sql "select count(*) from runs where function_id = 'conc-single'")" 2 \
    "a second event of the waiting run's key starts no run"
t_is "$(sql "select count(*) from skipped where function_id = 'conc-single'
    and reason = 'singleton'")" 1 "it is skipped, as singleton"
open_gate Q1
open_gate Q2
wait_until 30 eval '[ "$(done_runs conc-single)" = 2 ]'
t_ok $? "both runs complete"
t_stop
t_done
