#!/usr/bin/env bash
# runner.sh - tests/run.sh itself, on a copy with fixture scripts: a
# script that stops early, prints no plan, exits non-zero or hangs fails
# the run, and a hung one's processes go with it; a name in TESTS that is
# no test fails it; skips are counted on their own.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
TREE="$T_DIR/tree"
H="$TREE/tests/integration"
mkdir -p "$H" "$TREE/tests/hostile" "$TREE/build"
cp "$ROOT/tests/run.sh" "$TREE/tests/"
printf 'echo "1..2"\necho "ok 1 - a"\necho "ok 2 # SKIP no x here"\n' \
    >"$TREE/tests/hostile/good.sh"
printf 'echo "ok 1 - a"\necho "1..1"\n' >"$H/plan_last.sh"
printf 'echo "1..0 # SKIP nothing to do here"\n' >"$H/skip_all.sh"
printf 'echo "1..3"\necho "ok 1 - a"\n' >"$H/early.sh"
printf 'echo "ok 1 - a"\necho "ok 2 - b"\n' >"$H/no_plan.sh"
printf 'echo "1..1"\necho "ok 1 - a"\nexit 3\n' >"$H/status.sh"
printf 'echo "ok 1 - a"\necho "1..2"\necho "ok 2 - b"\n' >"$H/plan_mid.sh"
# A test that hangs, with a child that ignores SIGTERM as a stuck daemon
# might.
cat >"$H/hang.sh" <<EOF
echo "1..1"
echo "ok 1 - started"
bash -c 'trap "" TERM; echo \$\$ >"$T_DIR/stuck.pid"; exec sleep 300' &
sleep 300
EOF

# runner TESTS [TEST_TIMEOUT]: runs the copy (bounded, should it hang);
# sets OUT and RC.
runner() {
    OUT=$(TESTS=$1 TEST_TIMEOUT=${2:-60} FNHOST_BUILD="$TREE/build" \
        timeout -k 5 90 bash "$TREE/tests/run.sh" 2>&1)
    RC=$?
}

runner good,plan_last,skip_all
t_is "$RC" 0 "scripts pass with the plan first or last, tests/hostile/ too"
t_has "$OUT" "2 passed, 0 failed, 2 skipped" \
    "a skip counts as skipped, not passed; so does a plan of 1..0, skipped"

runner early
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "a script that stops early fails the run"
t_has "$OUT" "early planned 3 tests but ran 1" "saying so"
runner no_plan
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "so does one with no plan"
t_has "$OUT" "no_plan printed no plan" "saying so"
runner plan_mid
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "or its plan between tests"
runner status
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "or an exit status not 0"
t_has "$OUT" "status exited with status 3" "saying so"

runner good,nosuch
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "a name in TESTS that is no test fails"
t_has "$OUT" 'TESTS names "nosuch", which is no test' "naming it"
runner ,
t_ok "$([ "$RC" -ne 0 ]; echo $?)" "as does a TESTS that names nothing"

runner hang 2
t_ok "$([ "$RC" -ne 0 ] && [ "$RC" -ne 124 ]; echo $?)" \
    "a hanging test fails the run, which goes on ($RC)"
t_has "$OUT" "hang timed out (2 s, TEST_TIMEOUT)" "saying it timed out"
STUCK=$(cat "$T_DIR/stuck.pid" 2>/dev/null)
# Killed, it may linger as a zombie until its new parent reaps it.
stuck_gone() {
    local st
    st=$(ps -o stat= -p "$STUCK" 2>/dev/null)
    [ -z "$st" ] || [ "${st#Z}" != "$st" ]
}
t_ok "$([ -n "$STUCK" ] && wait_until 5 stuck_gone; echo $?)" \
    "and its child that ignores SIGTERM is killed with it"
[ -n "$STUCK" ] && ! stuck_gone && kill -9 "$STUCK" 2>/dev/null
t_done
