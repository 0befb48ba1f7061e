#!/usr/bin/env bash
# acks.sh - nothing is acknowledged before it is committed: an event's 200
# and a step's ack to its worker come after the COMMIT that holds them.
# FNHOST_FAULT_COMMIT_DELAY_MS makes the writer wait before each COMMIT,
# so that an ack sent early would be seen: an event answered 200 and lost
# to a kill -9 right after it, a step started before the commit of the
# one before.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
DELAY=300
t_setup
t_plugins steps
EXECS="$T_DIR/execs.db"
printf '[plugin steps]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
FNHOST_FAULT_COMMIT_DELAY_MS=$DELAY t_start --config "$T_DIR/fnhost.ini"

# Events: ten POSTs at once; kill -9 the master as soon as one is answered
# 200. Every event answered 200 must be in the store after a restart.
for i in $(seq 1 10); do
    curl -s -o "$T_DIR/body$i" -w '%{http_code}' \
        -H 'Content-Type: application/json' \
        --data-binary "{\"name\":\"test/nothing\",\"data\":{\"i\":$i}}" \
        "$URL/e/test" >"$T_DIR/code$i" 2>/dev/null &
done
first_200() { grep -qx 200 "$T_DIR"/code* 2>/dev/null; }
wait_until 20 first_200
t_ok $? "a POST is answered 200 while the others wait for their commit"
t_kill9
wait
OK_IDS=()
for i in $(seq 1 10); do
    [ "$(cat "$T_DIR/code$i")" = 200 ] &&
        OK_IDS+=("$(jq -r '.ids[0]' "$T_DIR/body$i")")
done
t_start --config "$T_DIR/fnhost.ini"
LOST=0
for id in "${OK_IDS[@]}"; do
    [ "$(sql "select count(*) from events where id = '$id'")" = 1 ] ||
        LOST=$((LOST + 1))
done
t_is "$LOST" 0 "every event answered 200 before the kill is stored (${#OK_IDS[@]} of them)"
t_stop

# Steps: with each commit taking DELAY ms, a step may start only after the
# commit of the one before: DELAY ms after that step's row was written.
: >"$LOG"
FNHOST_FAULT_COMMIT_DELAY_MS=$DELAY t_start --config "$T_DIR/fnhost.ini"
post '{"name":"test/steps","data":{"items":2}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
R=""
wait_until 30 eval '[ "$(sql "select status from runs where event_id = '"'$EV'"' and function_id = '"'three-steps'"'")" = completed ]'
t_ok $? "a five-step run completes with slow commits"
R=$(sql "select id from runs where event_id = '$EV' and function_id = 'three-steps'")
PAIRS=$(sqlite3 "$EXECS" "ATTACH '$STATE/fnhost.db' AS f" \
    "select count(*) from execs e join f.steps p on p.run_id = e.run_id
     and p.step_id = (select e2.step_id from execs e2 where e2.run_id = e.run_id
                      and e2.rowid < e.rowid order by e2.rowid desc limit 1)
     where e.run_id = '$R'")
EARLY=$(sqlite3 "$EXECS" "ATTACH '$STATE/fnhost.db' AS f" \
    "select count(*) from execs e join f.steps p on p.run_id = e.run_id
     and p.step_id = (select e2.step_id from execs e2 where e2.run_id = e.run_id
                      and e2.rowid < e.rowid order by e2.rowid desc limit 1)
     where e.run_id = '$R' and e.at < p.committed_at + $DELAY")
t_is "$PAIRS" 4 "the worker ran its five steps one after another"
t_is "$EARLY" 0 "none started before the commit of the step before it"
t_stop
t_done
