#!/usr/bin/env bash
# chaos.sh - a seeded, bounded chaos test: while multi-step runs are in
# flight, kill -9 the master and workers and restart. Kills come at points
# of progress (so many steps acknowledged), not of time, so that each one
# lands while work remains however fast the machine is; the seed jitters
# those points and picks the workers. Afterwards every run has completed,
# every acknowledged event has exactly one run, and no step ran again after
# its checkpoint was acknowledged. CHAOS_SEED=N (default 1) picks another
# schedule; CHAOS_ROUNDS sets how many kills (a third of them the master).
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
SEED=${CHAOS_SEED:-1}
ROUNDS=${CHAOS_ROUNDS:-8}
RANDOM=$SEED
echo "# chaos seed $SEED ($ROUNDS rounds); replay with CHAOS_SEED=$SEED"
t_setup
t_plugins steps
EXECS="$T_DIR/execs.db"
printf '[plugin steps]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
T_WORKERS=4 t_start --config "$T_DIR/fnhost.ini"

# 80 runs of 5 steps each (a, b, item, item:1, c), 15 ms a step; half of
# them checkpoint ahead (steps-ahead), where a step does not wait for the
# commit of the one before, and the same must hold.
ACKED=()
for batch in 1 2 3 4; do
    NAME=test/steps
    [ $((batch % 2)) = 0 ] && NAME=test/steps-ahead
    BODY=$(for i in $(seq 1 20); do
        printf '{"name":"%s","data":{"items":2,"step_ms":15,"n":%d}}\n' \
            "$NAME" $i
    done | jq -cs .)
    post "$BODY"
    [ "$HTTP_CODE" = 200 ] && ACKED+=($(jq -r '.ids[]' <<<"$BODY_OUT"))
done
t_is "${#ACKED[@]}" 80 "80 events acknowledged"

# Which steps were acknowledged, and when: a snapshot of the completed
# steps before every kill, keeping the first time each was seen. The store
# alone cannot tell: a step run again after its acknowledgement would
# replace its row, and its commit time, with the new one.
ACKDB="$T_DIR/acked.db"
sqlite3 "$ACKDB" "create table a(run_id text, step_id text,
    committed_at integer, primary key (run_id, step_id))"
snapshot() {
    sqlite3 "$ACKDB" ".timeout 5000" "ATTACH '$STATE/fnhost.db' AS f" \
        "insert or ignore into a select run_id, step_id, committed_at
         from f.steps where status = 'completed'"
}

acked() { sqlite3 "$ACKDB" "select count(*) from a"; }
# reaches N: at least N steps are acknowledged (stored completed).
reaches() { snapshot; [ "$(acked)" -ge "$1" ]; }

TOTAL=400
MASTER_KILLS=0 WORKER_KILLS=0 KILLED_AT=() LATE=0
for round in $(seq 1 "$ROUNDS"); do
    # Spread over the first four fifths of the load, each moved by up to
    # 10 steps either way: the last kill still finds steps to go when the
    # runs outpace the snapshots.
    target=$(( round * TOTAL * 4 / (5 * ROUNDS) + RANDOM % 21 - 10 ))
    wait_until 60 reaches "$target"
    snapshot
    n=$(acked)
    KILLED_AT+=("$n")
    [ "$n" -lt "$TOTAL" ] || LATE=$((LATE + 1))
    if [ $(( round % 3 )) -eq 2 ]; then
        t_kill9
        MASTER_KILLS=$((MASTER_KILLS + 1))
        T_WORKERS=4 t_start --config "$T_DIR/fnhost.ini" || break
    else
        WORKERS=($(pgrep -P "$T_PID"))
        if [ ${#WORKERS[@]} -gt 0 ]; then
            kill -9 "${WORKERS[$(( RANDOM % ${#WORKERS[@]} ))]}" 2>/dev/null &&
                WORKER_KILLS=$((WORKER_KILLS + 1))
        fi
    fi
done
echo "# killed the master $MASTER_KILLS and a worker $WORKER_KILLS times;" \
    "steps acknowledged at each kill: ${KILLED_AT[*]}"

done_all() { [ "$(sql "select count(*) from runs where status = 'completed'")" = 80 ]; }
wait_until 60 done_all
t_ok $? "after the chaos every run completed"
LOST=0
for id in "${ACKED[@]}"; do
    [ "$(sql "select count(*) from runs where event_id = '$id'")" = 1 ] ||
        LOST=$((LOST + 1))
done
t_is "$LOST" 0 "every acknowledged event has exactly one run"
t_is "$(sql "select count(*) from steps where status = 'completed'")" 400 \
    "every run has its five steps completed"

# Every kill must have hit work in progress, or it proves nothing.
t_ok "$([ "$MASTER_KILLS" -ge $((ROUNDS / 3)) ] && [ "$MASTER_KILLS" -ge 1 ]; echo $?)" \
    "the master was killed $MASTER_KILLS times"
t_ok "$([ "$WORKER_KILLS" -ge 1 ]; echo $?)" \
    "workers were killed $WORKER_KILLS times"
t_is "$LATE" 0 "every kill came with steps still to go (${KILLED_AT[*]} of $TOTAL)"
t_ok "$([ "${KILLED_AT[0]}" -gt 0 ]; echo $?)" \
    "the first kill came with steps acknowledged (${KILLED_AT[0]})"

# A step may run more than once before its checkpoint is acknowledged (a
# kill in between); never after.
snapshot
sqlite3 "$EXECS" "ATTACH '$ACKDB' AS k" \
    "select count(*) from execs e join k.a s on s.run_id = e.run_id
     and s.step_id = e.step_id where e.at > s.committed_at" >"$T_DIR/after"
t_is "$(cat "$T_DIR/after")" 0 "no step ran again after its checkpoint was acknowledged"
AGAIN=$(sqlite3 "$EXECS" "select count(*) from (select run_id, step_id
    from execs group by 1, 2 having count(*) > 1)")
echo "# $AGAIN steps ran more than once before their checkpoint (allowed)"
MISSING=$(sqlite3 "$EXECS" "ATTACH '$STATE/fnhost.db' AS f" \
    "select count(*) from f.steps s where not exists (select 1 from execs e
     where e.run_id = s.run_id and e.step_id = s.step_id)")
t_is "$MISSING" 0 "every stored step result came from a real execution"
t_stop
t_done
