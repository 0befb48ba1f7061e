#!/usr/bin/env bash
# restart.sh - kill -9 of the master between ingest and completion: after a
# restart every acknowledged event has its run, none lost, none doubled,
# and no run that had completed runs again.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins counter
COUNT="$T_DIR/count.db"
cat >"$T_DIR/fnhost.ini" <<INI
[plugin counter]
database = $COUNT
INI
t_start --config "$T_DIR/fnhost.ini"

WORKERS=$(pgrep -P "$T_PID" | tr '\n' ' ')
# One request of 30 events, then 10 alone: each run takes 100 ms, so the
# kill below finds some done and most pending, however fast this machine.
BATCH=$(for i in $(seq 1 30); do
    printf '{"name":"test/count","data":{"n":%d,"sleep_ms":100}}\n' "$i"
done | jq -cs .)
post "$BATCH"
ACKED=($(jq -r '.ids[]' <<<"$BODY_OUT"))
for i in $(seq 31 40); do
    post "{\"name\":\"test/count\",\"data\":{\"n\":$i,\"sleep_ms\":100}}"
    [ "$HTTP_CODE" = 200 ] && ACKED+=("$(jq -r '.ids[0]' <<<"$BODY_OUT")")
done
t_is "${#ACKED[@]}" 40 "40 events acknowledged"
# Let some runs finish, then pull the plug mid-flight.
some_done() { [ "$(sql "select count(*) from runs where status='completed'")" -ge 5 ]; }
wait_until 10 some_done
t_kill9
DONE_BEFORE=$(sql "select id from runs where status = 'completed'")
NDONE=$(wc -l <<<"$DONE_BEFORE")
t_ok "$([ "$NDONE" -ge 5 ] && [ "$NDONE" -lt 40 ]; echo $?)" \
    "the master died with runs done ($NDONE) and runs pending"
gone() {
    local p
    for p in $WORKERS; do kill -0 "$p" 2>/dev/null && return 1; done
    return 0
}
wait_until 5 gone
t_ok $? "its workers ($WORKERS) die with it"

t_start --config "$T_DIR/fnhost.ini"
t_has "$(cat "$LOG")" "resuming: " "the restart says it resumes the pending runs"
wait_until 30 runs_in completed 40
t_is "$(sql "select count(*) from runs where status = 'completed'")" 40 \
    "after the restart all 40 runs completed"
MISSING=0
for id in "${ACKED[@]}"; do
    [ "$(sql "select count(*) from runs where event_id = '$id'")" = 1 ] ||
        MISSING=$((MISSING + 1))
done
t_is "$MISSING" 0 "every acknowledged event has exactly one run"
t_is "$(sql "select count(*) from events")" 40 "no event was stored twice"
AGAIN=0
for r in $DONE_BEFORE; do
    n=$(sqlite3 "$COUNT" "select count(*) from execs where run_id = '$r'")
    [ "$n" = 1 ] || AGAIN=$((AGAIN + 1))
done
t_is "$AGAIN" 0 "no run completed before the crash ran again"
t_is "$(sqlite3 "$COUNT" "select count(distinct run_id) from execs")" 40 \
    "every run executed"
t_stop

# Runs of five steps, 150 ms each, killed mid-step: after the restart each
# resumes at the step it was in, and no step stored before the kill runs
# again.
rm -f "$PLUGINS"/*.so
t_plugins steps
EXECS="$T_DIR/execs.db"
printf '[plugin steps]\ndatabase = %s\n' "$EXECS" >"$T_DIR/steps.ini"
rm -rf "$STATE"
t_start --config "$T_DIR/steps.ini"
post "$(for i in $(seq 1 6); do
    printf '{"name":"test/steps","data":{"items":2,"step_ms":150,"n":%d}}\n' $i
done | jq -cs .)"
t_is "$HTTP_CODE" 200 "6 five-step runs accepted"
mid() { [ "$(sql "select count(*) from steps where status = 'completed'")" -ge 4 ]; }
wait_until 20 mid
t_kill9
STORED=$(sql "select count(*) from steps where status = 'completed'")
RUNNING=$(sql "select count(*) from runs where status = 'running'")
BEFORE=$(sql "select run_id || ' ' || step_id || ' ' || committed_at from steps
              where status = 'completed'")
t_ok "$([ "$STORED" -lt 30 ] && [ "$RUNNING" -ge 1 ]; echo $?)" \
    "the kill came mid-run: $STORED of 30 steps stored, $RUNNING runs running"
t_start --config "$T_DIR/steps.ini"
wait_until 30 eval '[ "$(sql "select count(*) from runs where status = '"'completed'"'")" = 6 ]'
t_ok $? "after the restart the 6 runs complete"
t_is "$(sql "select count(*) from steps where status = 'completed'")" 30 \
    "with all 30 steps"
AGAIN=0
while read -r run step at; do
    [ -n "$run" ] || continue
    n=$(sqlite3 "$EXECS" "select count(*) from execs where run_id = '$run'
                          and step_id = '$step' and at > $at")
    [ "$n" = 0 ] || AGAIN=$((AGAIN + 1))
done <<<"$BEFORE"
t_is "$AGAIN" 0 "no step stored before the kill ran again"
t_stop

t_done
