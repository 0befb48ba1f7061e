#!/usr/bin/env bash
# batch.sh - batches (fh_function_opts.batch) against the daemon: the
# events of a key gather in one pending run, which starts with all of
# them, in order, once max_size have come or its timeout after the first
# (stored: the outcome is asserted, not the time); keys batch apart; an
# event the batch `if` is false for runs alone. The pending batch is
# rows in SQLite written in each event's transaction: it survives a
# reload and kill -9 without losing an event or running twice, and its
# timeout fires after a restart. /v1/runs, `fnhost run`, GET
# /v1/functions and `fnhost functions` show it; a run that sleeps sees
# the same events when it resumes.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins batch
t_start

runs() { sql "select count(*) from runs where function_id = '$1'"; }
# newest FN: the id of FN's newest run.
newest() {
    sql "select id from runs where function_id = '$1' order by id desc
          limit 1"
}
# output RUN: the run's output (jq -c), once it completed.
output() {
    wait_until 30 eval '[ "$(sql "select status from runs
                                 where id = '"'$1'"'")" = completed ]' ||
        return 1
    get "/v1/runs/$1"
    jq -c '.data.output' <<<"$BODY_OUT"
}

# max_size: three events of ws a start exactly one run with all three.
send_event test/bt '{"ws":"a","n":1}'
E1=$EV
send_event test/bt '{"ws":"b","n":10}'
send_event test/bt '{"ws":"a","n":2}'
E2=$EV
RA=$(newest bt-size)
t_is "$(runs bt-size)" 2 "three events of two keys: two pending batches"
t_is "$(sql "select r.status || ' ' || (r.wake_at > 1e14) || ' ' || d.size
               from runs r join debounces d on d.run_id = r.id
              where r.id = (select run_id from run_events
                             where event_id = '$E1')")" "queued 1 2" \
    "the batch of a is queued, not due, with two events"
RA=$(sql "select run_id from run_events where event_id = '$E1'")
get "/v1/runs/$RA"
t_is "$(jq -r '.data.queued_reason + " " + .data.batching.key + " " +
               (.data.batching.size | tostring)' <<<"$BODY_OUT")" \
    "batching a 2" "GET /v1/runs/{id} says it is batching, its key and size"
t_has "$("$FNHOST" run "$RA" --url "$URL")" "batch     key \"a\", 2 events" \
    "fnhost run says so"
get /v1/runs
t_is "$(jq -r '[.data[] | select(.queued_reason == "batching")] | length' \
    <<<"$BODY_OUT")" 2 "GET /v1/runs lists both as batching"
send_event test/bt '{"ws":"a","n":3}'
E3=$EV
t_is "$(output "$RA")" \
    "{\"n\":[1,2,3],\"ids\":[\"$E1\",\"$E2\",\"$E3\"],\"count\":3,\"first\":true}" \
    "the third event starts the run, which sees the three, in order"
t_is "$(runs bt-size)" 2 "and no other run of a started"
get "/v1/runs/$RA"
t_is "$(jq -c '.data.event_ids' <<<"$BODY_OUT")" "[\"$E1\",\"$E2\",\"$E3\"]" \
    "GET /v1/runs/{id} shows the batch's events"
t_has "$(cat "$LOG")" "joins the batch of bt-size run $RA" "the log says so"
get "/v1/events/$E2/runs"
t_is "$(jq -r '[.data[].run_id] | join(" ")' <<<"$BODY_OUT")" "$RA" \
    "GET /v1/events/{id}/runs of an event that joined lists the batch's run"

# `if` false: the event runs alone, at once.
send_event test/bt '{"ws":"b","n":11,"solo":true}'
wait_until 30 eval '[ "$(runs bt-size)" = 3 ]'
t_ok $? "an event the batch's if is false for starts a run of its own"
t_is "$(output "$(newest bt-size)")" \
    "{\"n\":[11],\"ids\":[\"$EV\"],\"count\":1,\"first\":true}" \
    "which sees only that event"

# The timeout: two events start one run with both, once it passed.
send_event test/bt-time '{"n":1}'
send_event test/bt-time '{"n":2}'
t_is "$(output "$(newest bt-time)" | jq -c .n)" "[1,2]" \
    "fewer events than max_size start one run after the timeout"
t_is "$(runs bt-time)" 1 "one run"

get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "bt-size")
              | [.batch_max_size, .batch_timeout_ms, .batch_key,
                 .batch_if]' <<<"$BODY_OUT")" \
    '[3,60000,"event.data.ws","!has(event.data.solo)"]' \
    "GET /v1/functions shows the batch"
t_has "$("$FNHOST" functions --url "$URL")" \
    "batch of 3, timeout 1m, key event.data.ws, if !has(event.data.solo)" \
    "fnhost functions shows it"

# A reload keeps the pending batch of b (one event so far).
RB=$(sql "select run_id from debounces where function_id = 'bt-size'
           and key = 'b'")
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
send_event test/bt '{"ws":"b","n":12}'
t_is "$(sql "select size from debounces where run_id = '$RB'")" 2 \
    "an event of b still joins its batch"

# kill -9 with the batch of b pending (two events, a minute's timeout):
# nothing is lost, and the event after the restart completes it.
t_kill9
t_start
send_event test/bt '{"ws":"b","n":13}'
t_is "$(output "$RB" | jq -c .n)" "[10,12,13]" \
    "after kill -9 the batch runs once, with every event"
t_is "$(runs bt-size)" 3 "no other run started"

# kill -9 before a timeout: it fires after the restart.
send_event test/bt-slow '{"n":1}'
send_event test/bt-slow '{"n":2}'
RS=$(newest bt-slow)
t_is "$(sql "select r.status || ' ' || d.size from runs r
               join debounces d on d.run_id = r.id where r.id = '$RS'")" \
    "queued 2" "the slow batch is pending when the host dies"
t_kill9
t_start
t_is "$(output "$RS" | jq -c .n)" "[1,2]" \
    "its timeout fires after the restart: one run with both events"
t_is "$(runs bt-slow)" 1 "once"

# A run that sleeps resumes with the same events.
send_event test/bt-nap '{"n":1}'
send_event test/bt-nap '{"n":2}'
t_is "$(output "$(newest bt-nap)" | jq -c '[.before, .n]')" "[2,[1,2]]" \
    "a batch's run sees its events before and after a sleep"

# A batch's run that fails: its failure event lists the batch's events.
send_event test/bt-fail '{"n":1}'
send_event test/bt-fail '{"n":2}'
wait_until 30 eval '[ "$(runs bt-fail-failure)" = 1 ]'
t_is "$(output "$(newest bt-fail-failure)")" '{"n":[1,2]}' \
    "its inngest/function.failed event has every event of the batch"
t_stop

# A [function ID] section: bt-time in batches of one (each event runs
# at once, alone), bt-nap not batched at all, bt-size without its key.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function bt-time]
batch.max_size = 1
[function bt-nap]
batch.max_size = 0
[function bt-size]
batch.key = ""
INI
t_start --config "$T_DIR/fnhost.ini"
send_event test/bt-time '{"n":3}'
send_event test/bt-time '{"n":4}'
wait_until 30 eval '[ "$(sql "select count(*) from runs where function_id =
                            '"'bt-time'"' and status = '"'completed'"'")" = 3 ]'
t_ok $? "batch.max_size = 1: each event starts a run at once"
t_is "$(output "$(newest bt-time)" | jq -c .n)" "[4]" "with itself alone"
send_event test/bt-nap '{"n":5}'
t_is "$(output "$(newest bt-nap)" | jq -c '[.before, .n]')" "[1,[5]]" \
    "batch.max_size = 0: no batching"
send_event test/bt '{"ws":"x","n":20}'
send_event test/bt '{"ws":"y","n":21}'
send_event test/bt '{"ws":"z","n":22}'
t_is "$(output "$(newest bt-size)" | jq -c .n)" "[20,21,22]" \
    "batch.key = \"\" in the section: one batch for every key"
t_stop

# A function that debounced and now batches (its [function ID] section
# changed): the debounced run pending starts, as it was, at the next
# event, which begins a batch; none is left parked for good.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function bt-plain]
debounce.period = 1h
INI
t_start --config "$T_DIR/fnhost.ini"
send_event test/bt-plain '{"n":1}'
RD=$(newest bt-plain)
t_stop
cat >"$T_DIR/fnhost.ini" <<'INI'
[function bt-plain]
batch.max_size = 3
batch.timeout = 1m
INI
t_start --config "$T_DIR/fnhost.ini"
send_event test/bt-plain '{"n":2}'
t_is "$(output "$RD" | jq -c .n)" "[1]" \
    "a debounced run pending when its function took a batch starts"
RB2=$(newest bt-plain)
t_is "$(sql "select d.size from debounces d where d.run_id = '$RB2'") \
$(runs bt-plain)" "1 2" "and the event begins a batch"
t_stop
t_done
