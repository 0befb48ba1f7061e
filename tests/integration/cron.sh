#!/usr/bin/env bash
# cron.sh - cron triggers (fh_function_opts.cron) against the daemon: a
# tick starts one run of its function, and of no other function, with an
# inngest/scheduled.timer event whose data.cron is the schedule; kill -9
# while the host is down over several ticks gives exactly one catch-up
# run; a restart does not fire a tick again; a tick whose transaction
# did not commit before kill -9 runs at the next start (the last tick is
# stored with the tick's event and run); a reload that changes or
# removes a schedule stops the old one, and one that keeps it keeps its
# last tick; a bad or duplicate schedule refuses its plugin at load; a
# [function ID] section overrides the schedule.
#
# FNHOST_TEST_CRON_OFFSET (seconds, a setting for tests) moves the clock
# that schedules see: each start puts it at a chosen time of 2030-01-10
# (D) or a few days later, so nothing waits for a real minute.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins cron bad_cron dup_cron

D=1894233600 # 2030-01-10T00:00:00Z
H=3600
DAY=86400

# start_at CRON_TIME [FLAGS...]: starts the daemon with the schedules'
# clock at CRON_TIME (epoch seconds).
start_at() {
    local at=$1
    shift
    FNHOST_TEST_CRON_OFFSET=$((at - $(date +%s))) t_start "$@"
}

# runs_of FN: how many runs FN has.
runs_of() {
    sql "select count(*) from runs where function_id = '$1'"
}

# synced N: the log says N times that the schedules were set.
synced() {
    [ "$(grep -c "cron: generation .* schedule" "$LOG")" -ge "$1" ]
}

start_at $((D + 2 * H + 59 * 60 + 57))
t_has "$(cat "$LOG")" \
    'bad_cron.so: plugin bad-cron: function "cron-bad": cron "0 25 * * *": hour: 25 is out of range 0..23' \
    "a bad schedule refuses its plugin, naming plugin, function and why"
t_has "$(cat "$LOG")" \
    'dup_cron.so: plugin dup-cron: function "cron-dup": cron "0 1 * * *" is there twice' \
    "so does one schedule twice in a function"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "nightly") | [.triggers, .cron]' <<<"$BODY_OUT")" \
    '[[],[{"cron":"0 3 * * *","next":"2030-01-10T03:00:00.000Z"}]]' \
    "GET /v1/functions shows the schedule and its next tick"
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "paris") | [.cron[0].cron, .cron_jitter_ms]' <<<"$BODY_OUT")" \
    '["TZ=Europe/Paris 30 2 * * *",1000]' "and a zone's schedule, and its jitter"
t_has "$("$FNHOST" check "$BUILD/tests/plugins/cron.so")" \
    'function nightly                      triggers [] cron ["0 3 * * *"]' \
    "fnhost check shows a function's schedules"
t_has "$("$FNHOST" functions --url "$URL")" \
    'cron "0 3 * * *", next 2030-01-10T03:00:00.000Z' "fnhost functions shows them"

wait_until 30 eval '[ "$(runs_of nightly)" = 1 ]'
t_ok $? "the 03:00 tick starts a run"
wait_until 20 eval '[ "$(sql "select status from runs where function_id = '"'nightly'"'")" = completed ]'
t_is "$(sql "select e.name || ' ' || json_extract(e.json, '\$.data.cron')
             from runs r join events e on e.id = r.event_id
             where r.function_id = 'nightly'")" \
    "inngest/scheduled.timer 0 3 * * *" "with an inngest/scheduled.timer event whose data.cron is the schedule"
t_is "$(sql "select output from runs where function_id = 'nightly'" | jq -c .)" \
    '{"name":"inngest/scheduled.timer","cron":"0 3 * * *"}' "which the handler gets"
t_is "$(runs_of spy)" 0 "a function triggered by that event name gets no run from it"

# Down over three nights (and three Paris ticks): one run each at start.
t_kill9
start_at $((D + 3 * DAY + 3 * H + 30))
wait_until 20 eval '[ "$(runs_of nightly)" = 2 ] && [ "$(runs_of paris)" = 1 ]'
t_ok $? "after kill -9 over several ticks, each schedule catches up"
t_has "$(cat "$LOG")" "generation 1: 2 schedules, 2 catching up" "once"
t_stop
t_is "$(runs_of nightly) $(runs_of paris)" "2 1" "exactly once, not once per missed tick"
t_is "$(runs_of spy)" 0 "and the spy still has none"

# A restart fires no tick again.
n=$(grep -c "catching up" "$LOG")
start_at $((D + 3 * DAY + 3 * H + 40))
wait_until 20 eval '[ "$(grep -c "catching up" "$LOG")" -gt '"$n"' ]'
t_has "$(tail -n 20 "$LOG")" "2 schedules, 0 catching up" "a restart after the catch-up has nothing to catch up"
t_stop
t_is "$(runs_of nightly) $(runs_of paris)" "2 1" "and starts no run"

# kill -9 at the tick's commit: the writer waits 2 s before each COMMIT,
# and the test kills as soon as the tick's run or its last tick shows in
# the store. Stored in one transaction, either both are or neither is
# (the next start then catches up): the tick runs exactly once. Stored
# apart, one shows first, and the kill loses the tick or runs it twice.
FNHOST_FAULT_COMMIT_DELAY_MS=2000 start_at $((D + 4 * DAY + 2 * H + 59 * 60 + 58))
lastq="select last_tick from cron_ticks where function_id = 'nightly'"
last=$(sql "$lastq")
t_is "$(runs_of nightly)" 2 "before the next night's tick"
wait_until 30 eval '[ "$(runs_of nightly)" != 2 ] || [ "$(sql "$lastq")" != '"$last"' ]'
t_ok $? "the tick's commit shows"
t_kill9
m=$(grep -c "catching up" "$LOG")
start_at $((D + 4 * DAY + 3 * H + 10))
wait_until 20 eval '[ "$(grep -c "catching up" "$LOG")" -gt '"$m"' ]'
if sed -n '/generation 1: 1 plugin/,$p' "$LOG" | tail -n 40 |
    grep -q "function nightly, .*a tick was missed"; then
    wait_until 20 eval '[ "$(runs_of nightly)" -ge 3 ]'
    wait_until 20 eval 'tail -n 40 "$LOG" | grep -q "function nightly, .*: run "'
fi
t_stop
t_is "$(runs_of nightly)" 3 "killed at its commit, the tick runs exactly once"
start_at $((D + 4 * DAY + 3 * H + 20))

# A reload that changes one schedule and removes another stops both.
# (A reload with a plugin it refuses keeps the last generation.)
rm -f "$PLUGINS/bad_cron.so" "$PLUGINS/dup_cron.so"
install -m 644 "$BUILD/tests/plugins/cron_v2.so" "$PLUGINS/cron.so"
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2: 1 schedule, 0 catching up" "$LOG"'
t_ok $? "a reload sets the new schedules"
get /v1/functions
t_is "$(jq -c '[.data.plugins[].functions[] | select(.id == "nightly" or .id == "paris") | [.id, (.cron // [] | map(.cron))]]' <<<"$BODY_OUT")" \
    '[["nightly",["0 5 * * *"]],["paris",[]]]' "GET /v1/functions shows them"
t_is "$(sql "select group_concat(function_id || ' ' || cron, ', ') from cron_ticks")" \
    "nightly 0 5 * * *" "the store keeps only the new schedule"
last=$(sql "select last_tick from cron_ticks")
# A reload that keeps it keeps its last tick.
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 3: 1 schedule, 0 catching up" "$LOG"'
t_ok $? "a reload that keeps the schedule"
t_is "$(sql "select last_tick from cron_ticks")" "$last" "keeps its last tick"
paris=$(runs_of paris)
t_kill9
start_at $((D + 6 * DAY))
wait_until 20 eval '[ "$(runs_of nightly)" = 4 ]'
t_ok $? "two days later the new schedule catches up"
t_stop
t_is "$(sql "select json_extract(e.json, '\$.data.cron') from runs r
             join events e on e.id = r.event_id where r.function_id = 'nightly'
             order by r.id desc limit 1")" "0 5 * * *" "with the new schedule's tick"
t_is "$(runs_of nightly) $(runs_of paris)" "4 $paris" "the old ones run no more"

# A [function ID] section sets the schedules.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function nightly]
cron = TZ=Asia/Tokyo 0 9 * * MON-FRI; 0 5 * * *
cron_jitter = 30s
[function paris]
cron = */10 * * * *
INI
start_at $((D + 6 * DAY + 60)) --config "$T_DIR/fnhost.ini"
get /v1/functions
t_is "$(jq -c '[.data.plugins[].functions[] | select(.id == "nightly" or .id == "paris") | [.id, (.cron // [] | map(.cron)), .cron_jitter_ms]]' <<<"$BODY_OUT")" \
    '[["nightly",["TZ=Asia/Tokyo 0 9 * * MON-FRI","0 5 * * *"],30000],["paris",["*/10 * * * *"],0]]' \
    "a [function ID] section's cron and cron_jitter win over the plugin's"
t_stop
printf '[function nightly]\ncron = 0 0 31 2 * extra\n' >"$T_DIR/bad.ini"
"$FNHOST" serve --state "$STATE" --plugins "$PLUGINS" --config "$T_DIR/bad.ini" \
    >"$T_DIR/bad.out" 2>&1
t_has "$(cat "$T_DIR/bad.out")" 'cron: "0 0 31 2 * extra": expected 5 fields' \
    "a bad schedule in the config file stops the start, saying why"
t_done
