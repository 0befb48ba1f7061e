#!/usr/bin/env bash
# parallel.sh - parallel steps (fh_parallel) against the daemon: branches
# run at the same time, each in its own worker; the run resumes once all
# have ended (race: the first) with their results; a branch's failure and
# retries are its own; branches are hidden from run lists; a cancel takes
# the pending branches with it; a branch stored before a kill -9 never
# runs again; a reload does not lose a group. Each step body of the
# fixture (tests/plugins/parallel.c) appends its id to DIR/RUN.log, so
# what ran is counted from its effects, not from timings.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins parallel
T_WORKERS=4 t_start

# fan DIR DATA: sends test/fan with data {"dir": DIR, DATA...}; RUN gets
# the run it starts.
fan() {
    mkdir -p "$1"
    post "{\"name\":\"test/fan\",\"data\":{\"dir\":\"$1\"${2:+,$2}}}"
    RUN=$(sql "select id from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")' and target_step is null")
}
status() { sql "select status from runs where id = '$1'"; }
lines() { # lines DIR RUN ID: how many times step ID's body ran
    grep -cx "$3" "$1/$2.log" 2>/dev/null || true
}
output() { sql "select output from runs where id = '$1'"; }

# All: three branches that each wait until all three have started.
D=$T_DIR/all
fan "$D" '"barrier":true'
wait_until 30 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "a run with a parallel group completes"
t_is "$(output "$RUN" | jq -c '[.results[].branch, .error]')" \
    '["b0","b1","b2",null]' "with every branch's result, in order"
t_is "$(ls "$D" | grep -c '^started\.')" 3 \
    "each branch ran at the same time as the others (none timed out at the barrier)"
t_is "$(for s in before b0 b1 b2 after; do lines "$D" "$RUN" $s; done | tr '\n' ' ')" \
    "1 1 1 1 1 " "each step body ran once"
t_is "$(sql "select group_concat(step_id || ':' || kind || ':' || status, ' ') from
             (select * from steps where run_id = '$RUN' order by step_id)")" \
    "after:run:completed b0:run:completed b1:run:completed b2:run:completed before:run:completed fan:parallel:completed" \
    "the branches are steps of the run, and the group one too"
t_is "$(sql "select count(*) from runs where parent_run_id = '$RUN' and target_step is not null")" 3 \
    "each branch ran as a unit of its own"
get "/v1/runs?function_id=fan"
t_is "$(jq -r '[.data[].run_id] | join(" ")' <<<"$BODY_OUT")" "$RUN" \
    "GET /v1/runs lists the run, not its branches"
get "/v1/runs/$RUN"
t_is "$(jq -r '[.data.steps[] | select(.step_id == "fan") | .kind] | join(",")' <<<"$BODY_OUT")" \
    parallel "GET /v1/runs/ID shows the group among its steps"

# A run whose branches run shows as running, holding no worker.
D=$T_DIR/hold
fan "$D" '"hold":"b0,b1,b2"'
wait_until 20 eval '[ "$(cat "$D/$RUN.log" 2>/dev/null | grep -c "^b[0-9]")" = 3 ]'
t_ok $? "three held branches started"
t_is "$(status "$RUN")" parallel "the run waits for its group"
get "/v1/runs/$RUN"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Running "and shows as Running"
touch "$D/go"
wait_until 20 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "and completes once they end"

# Race: six branches on four workers; b0 ends at once, the others are
# held. b0's worker takes b4 before b0's end commits; b5 is still in line
# when the race ends, and never starts.
D=$T_DIR/race
fan "$D" '"n":6,"mode":"race","hold":"b1,b2,b3,b4,b5"'
wait_until 20 eval '[ "$(sql "select status from steps where run_id = '"'$RUN'"' and step_id = '"'fan'"'")" = completed ]'
t_ok $? "a race ends at its first branch's end"
t_is "$([ -e "$D/go" ] && echo released || echo held)" held \
    "while the other branches are still running"
t_is "$(sql "select result ->> 'winner' from steps where run_id = '$RUN' and step_id = 'fan'")" \
    b0 "b0 won"
t_is "$(status "$RUN")" queued "the run is due (its workers are all held)"
t_is "$(sql "select status from runs where parent_run_id = '$RUN' and target_step = 'b5'")" \
    cancelled "a branch still in line when the race ended is cancelled"
touch "$D/go"
wait_until 20 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "the run goes on"
t_is "$(output "$RUN" | jq -c '[.winner, .results[0].branch, .results[1], .results[5]]')" \
    '[0,"b0",null,null]' "with the winner's result only"
wait_until 20 eval '[ "$(sql "select count(*) from runs where parent_run_id = '"'$RUN'"' and status = '"'completed'"'")" = 5 ]'
t_ok $? "the others, which had started, run to their end"
t_is "$(sql "select count(*) from steps where run_id = '$RUN' and step_id in ('b1','b2','b3','b4') and status = 'completed'")" 4 \
    "and their results are stored"
t_is "$(lines "$D" "$RUN" b5)" 0 "the cancelled one never ran"

# A branch that fails for good: the handler gets FH_ERR and goes on.
D=$T_DIR/fail
fan "$D" '"fail":"b1"'
wait_until 20 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "a branch that fails does not fail the run by itself"
t_is "$(output "$RUN" | jq -c '[.results[0].branch, .results[1], .results[2].branch]')" \
    '["b0",null,"b2"]' "the others' results are there"
t_is "$(output "$RUN" | jq -r '.error')" "step b1: b1 fails on purpose" \
    "fh_error() says which branch failed and why"
t_is "$(lines "$D" "$RUN" after)" 1 "the handler went on after the group"

# A branch that fails an attempt is retried on its own.
D=$T_DIR/flaky
fan "$D" '"flaky":"b2"'
wait_until 30 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "a run whose branch failed an attempt completes"
t_is "$(output "$RUN" | jq -c '[.results[].attempt]')" '[0,0,1]' \
    "the branch succeeded on its second attempt"
t_is "$(for s in b0 b1 b2; do lines "$D" "$RUN" $s; done | tr '\n' ' ')" \
    "1 1 2 " "only the failed branch ran again"
t_is "$(sql "select count(*) from attempts where run_id = '$RUN' and step_id = 'b2'")" 2 \
    "its attempts are the run's"

# Two groups in a row: the second's branches replay the first.
post '{"name":"test/fan-twice","data":{}}'
R2=$(sql "select id from runs where function_id = 'fan-twice' and target_step is null")
wait_until 20 eval '[ "$(status "$R2")" = completed ]'
t_ok $? "a run with two groups completes"
t_is "$(output "$R2")" '["x","y","x:1","y:1"]' "with both groups' results"

# A handler that takes another way in a branch than it did before: the
# branch fails, saying so.
D=$T_DIR/stray
fan "$D" '"n":2,"stray":true'
wait_until 20 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "a run whose branches stray completes"
t_has "$(sql "select error from runs where parent_run_id = '$RUN' and target_step = 'b0'") $(output "$RUN")" \
    "a handler must call the same steps in the same order" \
    "a branch that reached another step fails, saying why"

# Cancel: with two workers, two of four held branches run and two wait;
# the run is cancelled; the waiting two never start.
t_stop
T_WORKERS=2 t_start
D=$T_DIR/cancel
fan "$D" '"n":4,"hold":"b0,b1,b2,b3"'
wait_until 20 eval '[ "$(cat "$D/$RUN.log" 2>/dev/null | grep -c "^b[0-9]")" = 2 ]'
t_ok $? "two branches run, two wait for a worker"
request DELETE "/v1/runs/$RUN"
t_is "$HTTP_CODE" 200 "the run is cancelled"
t_is "$(status "$RUN")" cancelled "at once (it holds no worker)"
touch "$D/go"
wait_until 20 eval '[ "$(sql "select count(*) from runs where parent_run_id = '"'$RUN'"' and status in ('"'queued'"','"'running'"')")" = 0 ]'
t_ok $? "its branches end"
post '{"name":"test/fan-twice","data":{}}' # a barrier: later work runs
wait_until 20 eval '[ "$(sql "select count(*) from runs where function_id = '"'fan-twice'"' and target_step is null and status = '"'completed'"'")" = 2 ]'
t_is "$(cat "$D/$RUN.log" | grep -c '^b[0-9]')" 2 "the two that waited never ran"
t_is "$(status "$RUN")" cancelled "and the run stays cancelled"
t_is "$(lines "$D" "$RUN" after)" 0 "its handler never went past the group"

# kill -9: b0 is stored, b1 and b2 are held; after a restart the run
# completes and b0's body never runs again.
t_stop
T_WORKERS=4 t_start
D=$T_DIR/kill
fan "$D" '"hold":"b1,b2"'
wait_until 20 eval '[ "$(sql "select status from steps where run_id = '"'$RUN'"' and step_id = '"'b0'"'")" = completed ]'
t_ok $? "b0 is stored while b1 and b2 are held"
wait_until 20 eval '[ "$(cat "$D/$RUN.log" | grep -c "^b[0-9]")" = 3 ]'
t_kill9
t_is "$(status "$RUN")" parallel "killed with its group pending"
touch "$D/go"
T_WORKERS=4 t_start
wait_until 30 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "after a restart the run completes"
t_is "$(lines "$D" "$RUN" b0)" 1 "the branch stored before the kill never ran again"
t_is "$(output "$RUN" | jq -c '[.results[].branch]')" '["b0","b1","b2"]' \
    "every branch's result is there"

# kill -9 of the workers while three branches are held: each branch's
# attempt fails and is retried on its own; the run completes.
D=$T_DIR/workers
fan "$D" '"hold":"b0,b1,b2"'
wait_until 20 eval '[ "$(cat "$D/$RUN.log" 2>/dev/null | grep -c "^b[0-9]")" = 3 ]'
t_ok $? "three held branches run"
kill -9 $(pgrep -P "$T_PID")
touch "$D/go"
wait_until 30 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "the run completes after its workers were killed"
# At least the second: on a machine loaded enough that a new worker
# fails to start, a retry may cost one more attempt (seen once in many
# runs, beside a sanitizer build).
t_is "$(output "$RUN" | jq -c '[.results[].attempt >= 1]')" '[true,true,true]' \
    "each branch succeeded on a later attempt, retried on its own"
t_is "$(lines "$D" "$RUN" before)" 1 "and the step before the group ran once"

# A reload while branches run: the group is not lost.
D=$T_DIR/reload
rm -f "$T_DIR/go"
fan "$D" '"hold":"b0,b1,b2"'
wait_until 20 eval '[ "$(cat "$D/$RUN.log" 2>/dev/null | grep -c "^b[0-9]")" = 3 ]'
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "fnhost reloads while the branches run"
touch "$D/go"
wait_until 30 eval '[ "$(status "$RUN")" = completed ]'
t_ok $? "and the run completes"
t_is "$(output "$RUN" | jq -c '[.results[].branch]')" '["b0","b1","b2"]' \
    "with every branch's result"
t_stop
t_done
