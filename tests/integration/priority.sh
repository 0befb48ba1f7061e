#!/usr/bin/env bash
# priority.sh - priority.run (fh_function_opts.priority) against the
# daemon, by the order in which runs start, not by time: a run holds the
# one slot (a concurrency limit of 1, or the one worker) at a gate while
# runs of other priorities queue behind it; once the gate opens they
# start highest first, the equal ones in the order they came. The order
# holds in a concurrency key's queue, in the ready queue, and in the store
# across kill -9 and a reload; a value that is not a number is 0, said once; one past
# 600 is clamped; a negative one delays the run; a [function ID] section
# replaces it; the functions and runs APIs show it.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins priority
export FNHOST_TEST_PRIO="$T_DIR/prio"
mkdir -p "$FNHOST_TEST_PRIO/open"
: >"$FNHOST_TEST_PRIO/log"
# Runs held at a gate must not time out meanwhile.
printf '[function prio-conc]\ntimeout = 10m\n[function prio-any]\ntimeout = 10m\n' \
    >"$T_DIR/prio.ini"
T_WORKERS=2 t_start --config "$T_DIR/prio.ini"

# send FN NAME DATA...: one event of FN with data.name NAME and the
# other fields DATA ("p":1); RUN is its run's id.
send() {
    local fn=$1 name=$2
    shift 2
    post "{\"name\":\"test/$fn\",\"data\":{\"name\":\"$name\"${1:+,$1}}}"
    RUN=$(sql "select r.id from runs r join events e on e.id = r.event_id
               where e.json like '%\"name\":\"$name\"%'")
}
started() { grep -c "^start $1 " "$FNHOST_TEST_PRIO/log"; }
# order FROM: the names that started after the FROM-th line of the log.
order() { tail -n "+$1" "$FNHOST_TEST_PRIO/log" | awk '{ printf "%s ", $2 }'; }
lines() { wc -l <"$FNHOST_TEST_PRIO/log"; }
status() { sql "select status from runs where id = '$1'"; }

get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "prio-conc") | .priority' <<<"$BODY_OUT")" \
    "event.data.p" "GET /v1/functions shows the priority expression"
t_has "$("$FNHOST" functions --url "$URL" 2>&1)" "priority event.data.p" \
    "fnhost functions shows it"

# A concurrency key's queue: the blocker holds the slot; six runs wait in
# the key's queue, sent lowest first.
send prio-conc block '"hold":true,"p":600'
wait_until 20 eval '[ "$(started block)" = 1 ]'
t_ok $? "the blocker holds the slot"
send prio-conc lo1 '"p":0'
send prio-conc nokey
send prio-conc mid '"p":100.7'
id_mid=$RUN
send prio-conc hi '"p":300'
id_hi=$RUN
send prio-conc str '"p":"high"'
id_str=$RUN
send prio-conc big '"p":5000'
id_big=$RUN
send prio-conc neg '"p":-600'
id_neg=$RUN
wait_until 20 eval '[ "$(sql "select count(*) from runs where function_id = '"'prio-conc'"' and status = '"'concurrency'"'")" = 6 ]'
t_ok $? "six runs wait in the key's queue"
get "/v1/runs/$id_hi"
t_is "$(jq -r '.data.priority' <<<"$BODY_OUT")" 300 "/v1/runs/{id} shows a run's priority"
t_has "$("$FNHOST" run "$id_hi" --url "$URL" 2>&1)" "priority  300 s" "so does fnhost run"
get "/v1/runs/$id_mid"
t_is "$(jq -r '.data.priority' <<<"$BODY_OUT")" 100 "a fraction is cut to whole seconds"
get "/v1/runs/$id_big"
t_is "$(jq -r '.data.priority' <<<"$BODY_OUT")" 600 "one past 600 is clamped to 600"
get "/v1/runs/$id_str"
t_is "$(jq -r '.data.priority' <<<"$BODY_OUT")" 0 "a string is 0"
t_is "$(grep -c 'prio-conc: priority event.data.p: .*(said once' "$LOG")" 1 \
    "an expression that fails is said once, not per run"
t_is "$(sql "select wake_at - created_at from runs where id = '$id_neg'")" 600000 \
    "a negative priority delays the run by as many seconds"
t_is "$(status "$id_neg")" queued "and it waits meanwhile, free slot or not"

n=$(($(lines) + 1))
touch "$FNHOST_TEST_PRIO/open/block"
wait_until 30 eval '[ "$(started str)" = 1 ]'
t_is "$(order "$n")" "big hi mid lo1 nokey str " \
    "the key's queue starts them highest priority first, equal ones in turn"
t_is "$(started neg)" 0 "the delayed run has not started"

t_stop
# The ready queue, and the store's due scan after kill -9: one worker.
# The config replaces prio-any's priority with event.data.q, whose order
# is not data.p's.
printf '[function prio-any]\npriority = event.data.q\n' >>"$T_DIR/prio.ini"
T_WORKERS=1 t_start --config "$T_DIR/prio.ini"
get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "prio-any") | .priority' <<<"$BODY_OUT")" \
    "event.data.q" "a [function ID] section replaces the plugin's priority"
send prio-any hold1 '"hold":true,"q":600'
wait_until 20 eval '[ "$(started hold1)" = 1 ]'
t_ok $? "a run holds the one worker"
send prio-any a-lo '"q":-0,"p":200'
send prio-any a-mid '"q":60'
send prio-any a-lo2 '"p":300'
send prio-any a-hi '"q":120,"p":-5'
n=$(($(lines) + 1))
touch "$FNHOST_TEST_PRIO/open/hold1"
wait_until 30 eval '[ "$(started a-lo2)" = 1 ]'
t_is "$(order "$n")" "a-hi a-mid a-lo a-lo2 " \
    "the ready queue starts them highest priority first, by the config's"

send prio-any hold2 '"hold":true,"q":600'
wait_until 20 eval '[ "$(started hold2)" = 1 ]'
send prio-any k-lo '"q":1'
send prio-any k-mid '"q":30'
send prio-any k-hi '"q":400'
wait_until 20 eval '[ "$(sql "select count(*) from runs where function_id = '"'prio-any'"' and status = '"'queued'"'")" = 4 ]'
t_kill9
T_WORKERS=1 t_start --config "$T_DIR/prio.ini"
# The blocker, first by its priority, runs again and holds the worker.
wait_until 20 eval '[ "$(started hold2)" = 2 ]'
t_ok $? "after kill -9 the run that held the worker, first in line, holds it again"
n=$(($(lines) + 1))
touch "$FNHOST_TEST_PRIO/open/hold2"
wait_until 30 eval '[ "$(started k-lo)" = 1 ]'
t_is "$(order "$n")" "k-hi k-mid k-lo " \
    "after kill -9 their stored priorities still order them"
t_is "$(status "$id_neg")" queued "the delayed run still waits"

# And across a reload: the new generation's worker, which starts while
# the old one still holds its run, takes them in the same order.
send prio-any hold3 '"hold":true,"q":600'
wait_until 20 eval '[ "$(started hold3)" = 1 ]'
send prio-any r-lo '"q":2'
send prio-any r-mid '"q":31'
send prio-any r-hi '"q":401'
n=$(($(lines) + 1))
gens=$(grep -c "\[reload\] generation" "$LOG")
kill -HUP "$T_PID"
wait_until 20 eval '[ "$(grep -c "\[reload\] generation" "$LOG")" -gt "$gens" ]'
t_ok $? "a reload while they wait"
touch "$FNHOST_TEST_PRIO/open/hold3"
wait_until 30 eval '[ "$(started r-lo)" = 1 ]'
t_is "$(order "$n")" "r-hi r-mid r-lo " \
    "after a reload their priorities still order them"

t_stop
t_done
