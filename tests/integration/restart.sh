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

t_done
