#!/usr/bin/env bash
# steps.sh - durable steps: memoized results, ids for repeats, per-step
# retries, final step errors handed to the handler, sleeps that survive
# kill -9, and bad durations.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins steps
EXECS="$T_DIR/execs.db"
printf '[plugin steps]\ndatabase = %s\n' "$EXECS" >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"

# send JSON: posts one event, sets EV to its id
send() {
    post "$1"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
}
# run_of EV: the run of event EV, into RUN and BODY_OUT (/v1/runs/{id})
run_of() {
    get "/v1/events/$1/runs"
    RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
    get "/v1/runs/$RUN"
}
status_is() { # status_is EV STATUS
    get "/v1/events/$1/runs"
    [ "$(jq -r '.data[0].status' <<<"$BODY_OUT")" = "$2" ]
}
# strict_json: whether BODY_OUT is JSON as RFC 8259 has it (jq 1.6 reads
# NaN and Infinity; SQLite's json_valid does not)
strict_json() {
    printf '%s' "$BODY_OUT" >"$T_DIR/body.json"
    [ "$(sqlite3 :memory: "select json_valid(cast(
        readfile('$T_DIR/body.json') as text))")" = 1 ]
}
execs() { # execs RUN STEP: how often the step body ran
    sqlite3 "$EXECS" "select count(*) from execs where run_id = '$1' and step_id = '$2'"
}

send '{"name":"test/steps","data":{"items":3}}'
wait_until 10 status_is "$EV" Completed
run_of "$EV"
t_is "$(jq -c '.data.output | [.a.value, .b.value, .c.value]' <<<"$BODY_OUT")" \
    "[1,2,3]" "a three-step function completes; later steps see earlier results"
t_is "$(jq -r '[.data.steps[].step_id] | join(",")' <<<"$BODY_OUT")" \
    "a,b,item,item:1,item:2,c" "repeated step names get ids name, name:1, name:2"
t_is "$(jq -r '[.data.steps[] | .status] | unique | join(",")' <<<"$BODY_OUT")" \
    completed "every step is completed"
t_is "$(jq -c '.data.steps[1].result' <<<"$BODY_OUT")" '{"step":"b","value":2}' \
    "each step shows its result"
t_has "$(jq -r '.data.steps[0].started_at' <<<"$BODY_OUT")" "Z" "and its timing"
t_is "$(sqlite3 "$EXECS" "select count(*) from execs where run_id = '$RUN'")" 6 \
    "each step ran once"
OUT=$("$FNHOST" run "$RUN" --state "$STATE")
t_has "$OUT" "step item:2" "fnhost run lists the steps"

# Checkpointing ahead: the same steps, each run once, all stored before
# the run sleeps and before it ends; the function says it does.
send '{"name":"test/steps-ahead","data":{"items":3,"sleep":"2s"}}'
AHEAD_EV=$EV
wait_until 5 status_is "$EV" Sleeping
t_ok $? "a function that checkpoints ahead sleeps"
run_of "$EV"
t_is "$(jq -r '[.data.steps[] | "\(.step_id)=\(.status)"] | join(",")' \
    <<<"$BODY_OUT")" "a=completed,b=completed,nap=sleeping" \
    "with the steps before the sleep stored"
wait_until 10 status_is "$AHEAD_EV" Completed
t_ok $? "and completes"
run_of "$AHEAD_EV"
t_is "$(jq -c '.data.output | [.a.value, .b.value, .c.value]' <<<"$BODY_OUT")" \
    "[1,2,3]" "with the results of its steps"
t_is "$(jq -r '[.data.steps[].step_id] | join(",")' <<<"$BODY_OUT")" \
    "a,b,nap,item,item:1,item:2,c" "every step stored"
t_is "$(sqlite3 "$EXECS" "select count(*) from execs where run_id = '$RUN'")" 6 \
    "each step ran once"
# What checkpointing ahead changes, seen in the store: committed_at is the
# time of the batch that stored a step. Waiting for each commit, a step
# never starts before the batch holding the step before it; ahead, with
# the writer kept busy by 20 runs at once, steps do. A function that
# ignored the option would show none.
early_starts() { # early_starts FUNCTION: steps begun before the last one's
    sql "select count(*) from (select s.started_at, lag(s.committed_at)
         over (partition by s.run_id order by s.started_at, s.rowid) prev
         from steps s join runs r on r.id = s.run_id
         where r.function_id = '$1' and s.kind = 'run')
         where started_at < prev"
}
twenty() { # twenty NAME: 20 runs of 6 steps at once, all completed
    post "$(for i in $(seq 1 20); do
        printf '{"name":"%s","data":{"items":3,"n":%d}}\n' "$1" "$i"
    done | jq -cs .)"
    all_done() { [ "$(sql "select count(*) from runs where function_id = '$2'
        and status != 'completed'")" = 0 ]; }
    wait_until 20 all_done "$1" "$2"
}
twenty test/steps three-steps
twenty test/steps-ahead steps-ahead
t_is "$(early_starts three-steps)" 0 \
    "waiting for each commit, no step starts before the one before is stored"
t_ok "$([ "$(early_starts steps-ahead)" -gt 0 ]; echo $?)" \
    "ahead, steps start before the one before is stored ($(early_starts \
    steps-ahead) of 100)"

# Ahead, a run's end may reach the store before a checkpoint it sent
# commits: if that checkpoint fails, the end must not commit (a run done
# without its step b). Storing b here fails, slowly (a trigger that counts
# for a while), so that c's checkpoint and the end queue behind it.
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "CREATE TRIGGER lose_b BEFORE
    INSERT ON steps WHEN NEW.step_id = 'b' AND (SELECT function_id FROM runs
    WHERE id = NEW.run_id) = 'steps-ahead' AND (WITH RECURSIVE c(x) AS
    (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000)
    SELECT count(*) FROM c) > 0 BEGIN SELECT RAISE(ABORT, 'disk full'); END"
send '{"name":"test/steps-ahead","data":{"lost":1}}'
LOST_EV=$EV
lost_end() { grep -q "an earlier write of run .* was not stored" "$LOG"; }
wait_until 20 lost_end
t_ok $? "ahead, an end queued behind a checkpoint that failed is refused"
t_ok "$(! status_is "$LOST_EV" Completed; echo $?)" \
    "the run is not completed without its step b"
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "DROP TRIGGER lose_b"
wait_until 20 status_is "$LOST_EV" Completed
t_ok $? "once b can be stored, the attempt that failed is retried to the end"
run_of "$LOST_EV"
t_is "$(jq -r '[.data.steps[].step_id] | join(",")' <<<"$BODY_OUT")" \
    "a,b,c" "with every step stored"

# Ahead, a run starts before its event commits: its steps run while the
# event is written. If that write fails, the client hears so, the run's
# writes fail with it (none reaches the store, where no run would own
# them), and it is dropped, not retried: the host goes on. Storing the
# event here fails slowly, so that the run's writes queue behind it.
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "CREATE TRIGGER lose_ev BEFORE
    INSERT ON events WHEN instr(NEW.json, '\"unborn\"') > 0 AND (WITH
    RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c
    WHERE x < 2000000) SELECT count(*) FROM c) > 0
    BEGIN SELECT RAISE(ABORT, 'disk full'); END"
orphans() { # rows, and steps that ran, of runs that the store does not have
    printf '%s,%s' "$(sql "select (select count(*) from steps where run_id
        not in (select id from runs)) + (select count(*) from attempts
        where run_id not in (select id from runs))")" "$(sqlite3 "$EXECS" \
        "attach '$STATE/fnhost.db' as h; select count(*) from execs
         where run_id not in (select id from h.runs)")"
}
t_is "$(orphans)" "0,0" "(before: no orphans)"
post '{"name":"test/steps-ahead","data":{"unborn":1}}'
t_is "$HTTP_CODE" 503 "ahead, an event that cannot be stored is refused (503: send again)"
t_has "$BODY_OUT" "disk full" "saying why"
sqlite3 "$STATE/fnhost.db" ".timeout 5000" "DROP TRIGGER lose_ev"
dropped() { grep -q "dropped; its event was not stored" "$LOG"; }
wait_until 10 dropped
t_ok $? "its run, started before the commit, is dropped"
t_is "$(orphans)" "0,3" \
    "its three steps ran, and none of them, nor an attempt, is in the store"
send '{"name":"test/steps-ahead","data":{"items":1}}'
wait_until 10 status_is "$EV" Completed
t_ok $? "the next event's run completes: nothing waits on the dropped one"
t_is "$(sql "select count(*) from runs r join events e on e.id = r.event_id
    where e.json like '%unborn%'")" 0 "the refused event has no run"

get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "steps-ahead")
    | .checkpoint_ahead' <<<"$BODY_OUT")" 1 "GET /v1/functions shows it"

# Per-step retries: earlier steps are not run again.
send '{"name":"test/step-flaky","data":{"fail_times":2}}'
wait_until 10 status_is "$EV" Completed
run_of "$EV"
t_is "$(jq -r '.data.output' <<<"$BODY_OUT")" 2 \
    "a step failing twice succeeds on its third attempt"
t_is "$(execs "$RUN" first),$(execs "$RUN" flaky),$(execs "$RUN" last)" "1,3,1" \
    "the step before it ran once, the flaky step three times"
t_is "$(jq -r '.data.steps[] | select(.step_id == "flaky") | .attempts' <<<"$BODY_OUT")" 3 \
    "the step shows three attempts"
t_is "$(jq -r '[.data.attempts[] | select(.step_id == "flaky") | .error] | .[0]' <<<"$BODY_OUT")" \
    "flaky step failed on attempt 0" "each failed attempt is recorded with its error"

# A step that fails for good: the handler gets the error.
send '{"name":"test/step-fatal","data":{}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" "doomed step: the card was declined" \
    "returning a step's final error fails the run with it"
t_is "$(execs "$RUN" doomed)" 1 "a non-retryable step runs once"
t_is "$(jq -r '.data.steps[0].status' <<<"$BODY_OUT")" failed "the step is failed"
send '{"name":"test/step-fatal","data":{"handle":1}}'
wait_until 10 status_is "$EV" Completed
run_of "$EV"
t_is "$(jq -r '.data.output' <<<"$BODY_OUT")" handled \
    "a handler may handle a step's error and go on"
t_is "$(jq -r '[.data.steps[].step_id] | join(",")' <<<"$BODY_OUT")" "doomed,after" \
    "and run the next step"
send '{"name":"test/step-fatal","data":{"retryable":1}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(execs "$RUN" doomed)" 3 "a retryable step gets retries + 1 attempts (retries = 2)"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" "doomed step: still broken" \
    "then its error fails the run"

# Results too deep to store (or to replay) fail for good, with the reason.
send '{"name":"test/deep","data":{"depth":64,"nap":200}}'
wait_until 10 status_is "$EV" Completed
run_of "$EV"
t_is "$(jq -r '.data.output' <<<"$BODY_OUT")" 64 \
    "a step result nesting 64 levels is stored, and replayed whole"
send '{"name":"test/deep","data":{"depth":65}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    "step result nests deeper than 64 levels" \
    "one nesting 65 fails the step, and the run, saying why"
t_is "$(execs "$RUN" deep)" 1 "without a retry"
t_is "$(jq -r '.data.steps[0].status' <<<"$BODY_OUT")" failed \
    "the step shows failed"
send '{"name":"test/deep","data":{"depth":65,"output":1}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    "the output nests too deep to store (more than 64 levels)" \
    "an output nesting 65 levels fails the run, saying why"
send '{"name":"test/deep","data":{"bad_json":1}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    'step result is not valid JSON: 1}, "x": [oops' \
    "a result a custom serializer wrote as broken JSON fails, saying why"
t_is "$(execs "$RUN" deep)" 1 "also without a retry"
send '{"name":"test/deep","data":{"unprintable":1}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    "step result could not be serialized" \
    "a result whose serializer fails fails the step (the worker lives)"
# json-c prints NaN and Infinity as named: neither may reach the API.
send '{"name":"test/deep","data":{"nonfinite":"nan"}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
strict_json
t_ok $? "a step result holding NaN leaves /v1/runs/{id} valid JSON"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    "step result is not valid JSON: NaN is not a number JSON can hold" \
    "it fails the step and the run, saying why"
t_is "$(jq -r '.data.steps[0].status' <<<"$BODY_OUT")" failed \
    "the step shows failed"
t_is "$(execs "$RUN" deep)" 1 "without a retry"
send '{"name":"test/deep","data":{"nonfinite":"inf","output":1}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
strict_json
t_ok $? "an output holding Infinity leaves /v1/runs/{id} valid JSON"
t_is "$(jq -r '.data.error' <<<"$BODY_OUT")" \
    "the output is not valid JSON: Infinity is not a number JSON can hold" \
    "it fails the run, saying why"

# Messages bigger than a pipe holds (64 KiB) both ways: a 300 KB event,
# step results of 200 KB, replayed after a sleep.
head -c 300000 /dev/zero | tr '\0' 'p' |
    jq -Rc '{name: "test/deep", data: {bytes: 200000, nap: 300, pad: .}}' \
        >"$T_DIR/big.json"
OUT=$(curl -s -H 'Content-Type: application/json' \
    --data-binary @"$T_DIR/big.json" "$URL/e/test")
t_is "$(jq -r .status <<<"$OUT")" 200 "a 300 KB event is accepted"
EV=$(jq -r '.ids[0]' <<<"$OUT")
wait_until 20 status_is "$EV" Completed
run_of "$EV"
t_is "$(sqlite3 -readonly "$STATE/fnhost.db" "select group_concat(length(result))
    from steps where run_id = '$RUN' and kind = 'run'")" "200002,200002" \
    "both 200 KB results are stored whole"
t_is "$(execs "$RUN" deep)" 2 "the first was replayed after the sleep, not run again"

# Sleeps.
send '{"name":"test/steps","data":{"sleep":"1500ms"}}'
wait_until 5 status_is "$EV" Sleeping
run_of "$EV"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Sleeping "a sleeping run shows Sleeping"
t_has "$(jq -r '.data.sleeping_until' <<<"$BODY_OUT")" "Z" "with when it wakes"
t_is "$(jq -r '.data.steps[2] | [.step_id, .kind, .status] | join(",")' <<<"$BODY_OUT")" \
    "nap,sleep,sleeping" "the sleep is a step"
get /metrics
t_has "$BODY_OUT" $'\nfnhost_runs_running 0\n' "it holds no worker"
t_has "$BODY_OUT" $'\nfnhost_runs_sleeping 1\n' "/metrics counts it sleeping"
get "/v1/runs?status=sleeping"
t_is "$(jq -r '[.data[].run_id] | join(",")' <<<"$BODY_OUT")" "$RUN" \
    "GET /v1/runs?status=sleeping finds it"
get "/v1/runs?status=queued"
t_is "$(jq --arg r "$RUN" '[.data[] | select(.run_id == $r)] | length' \
    <<<"$BODY_OUT")" 0 "status=queued does not"
# A store that cannot give the steps back: the run waits rather than
# replaying without them (which would run a and b again).
sql_rw() { sqlite3 "$STATE/fnhost.db" ".timeout 5000" "$1"; }
sql_rw "ALTER TABLE steps RENAME TO steps_away"
wait_until 10 grep -q "cannot read the steps of run $RUN" "$LOG"
t_ok $? "when the steps cannot be read at its wake, the log says so"
get "/v1/runs/$RUN"
t_is "$HTTP_CODE" 500 "and the API answers 500, not a run without steps"
t_is "$(sql "select status from runs where id = '$RUN'")" sleeping \
    "and the run stays asleep in the store"
t_is "$(execs "$RUN" a),$(execs "$RUN" b)" "1,1" "without running a step"
sql_rw "ALTER TABLE steps_away RENAME TO steps"
wait_until 10 status_is "$EV" Completed
run_of "$EV"
t_is "$(execs "$RUN" a),$(execs "$RUN" b),$(execs "$RUN" c)" "1,1,1" \
    "after waking, the steps before the sleep did not run again"
get /metrics
t_has "$BODY_OUT" $'\nfnhost_runs_sleeping 0\n' "and no longer sleeping"
GAP=$(sqlite3 -readonly "$STATE/fnhost.db" "select (select started_at from steps
    where run_id = '$RUN' and step_id = 'c') - (select started_at from steps
    where run_id = '$RUN' and step_id = 'nap')")
t_ok "$([ "$GAP" -ge 1500 ]; echo $?)" "the step after the sleep ran 1.5 s later ($GAP ms)"

# Bad durations fail the step (and the run) at once, without retry.
send '{"name":"test/sleep","data":{"duration":"3 dayz"}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" 'invalid duration "3 dayz": unknown unit "dayz"' \
    "an unparseable duration fails the run and says why"
t_is "$(jq -r '.data.attempts | length' <<<"$BODY_OUT")" 2 \
    "after one attempt (the step's and the handler's records)"
send '{"name":"test/sleep","data":{"duration":"400 days"}}'
wait_until 10 status_is "$EV" Failed
run_of "$EV"
t_has "$(jq -r '.data.error' <<<"$BODY_OUT")" "longer than a year" \
    "a sleep over a year is refused"
send "{\"name\":\"test/sleep\",\"data\":{\"until\":$(( $(date +%s%3N) - 1000 ))}}"
wait_until 10 status_is "$EV" Completed
t_ok $? "sleep_until a past time completes"
t_is "$(sql "select count(*) from steps s join runs r on r.id = s.run_id
    where r.event_id = '$EV' and s.kind = 'sleep'")" 0 \
    "without sleeping (no sleep step is stored)"

# kill -9 during a sleep: the run wakes after the restart, nothing reruns.
send '{"name":"test/steps","data":{"sleep":"3s"}}'
LONG=$EV
send '{"name":"test/steps","data":{"sleep":"1s"}}'
SHORT=$EV
wait_until 5 status_is "$LONG" Sleeping
wait_until 5 status_is "$SHORT" Sleeping
t_kill9
t_is "$(sql "select group_concat(status) from runs
    where event_id in ('$LONG', '$SHORT')")" "sleeping,sleeping" \
    "both runs were asleep when the master was killed"
sleep 1.2 # the short sleep ends while the host is down
t_start --config "$T_DIR/fnhost.ini"
wait_until 10 status_is "$SHORT" Completed
t_ok $? "a sleep that ended while the host was down completes after the restart"
wait_until 10 status_is "$LONG" Completed
t_ok $? "a sleep interrupted by kill -9 completes after the restart"
for ev in "$SHORT" "$LONG"; do
    run_of "$ev"
    t_is "$(execs "$RUN" a),$(execs "$RUN" b),$(execs "$RUN" c)" "1,1,1" \
        "run $RUN: no step ran twice across the crash"
done
GAP=$(sql "select (select started_at from steps where run_id = '$RUN' and
    step_id = 'c') - (select started_at from steps where run_id = '$RUN' and
    step_id = 'nap')")
t_ok "$([ "$GAP" -ge 3000 ]; echo $?)" \
    "and not early: the step after the 3 s sleep ran $GAP ms after it began"

# A long run: 200 steps, each followed by a sleep, so that each of its 200
# wakes replays every step stored before it (the last, 399 of them).
send '{"name":"test/naps","data":{"naps":200}}'
wait_until 120 status_is "$EV" Completed
t_ok $? "a run of 200 steps and 200 sleeps completes"
run_of "$EV"
t_is "$(jq -c '.data.output' <<<"$BODY_OUT")" '{"sum":19900,"n":200}' \
    "every replay gave the handler each stored result back"
t_is "$(jq -r '[.data.steps[] | select(.status == "completed")] | length' \
    <<<"$BODY_OUT")" 400 "all 400 steps are stored, completed"
t_is "$(sqlite3 "$EXECS" "select count(*) || ',' || count(distinct step_id)
    from execs where run_id = '$RUN'")" "200,200" \
    "each step's body ran once: none ran again on a resume"

# A run due in an hour waits in the store, not in the ready queue.
get /metrics
t_has "$BODY_OUT" $'\nfnhost_runs_queued 0\n' "/metrics: no run queued"
send "{\"name\":\"test/steps\",\"data\":{},\"ts\":$(( $(date +%s%3N) + 3600000 ))}"
get /metrics
t_has "$BODY_OUT" $'\nfnhost_runs_queued 1\n' \
    "a run due in an hour counts as queued in the store"
t_has "$BODY_OUT" $'\nfnhost_runs_ready 0\n' "though not in the ready queue"

# A store that cannot be read is not "not found".
get "/v1/runs/01AAAAAAAAAAAAAAAAAAAAAAAA"
t_is "$HTTP_CODE" 404 "a run that does not exist is a 404"
sql_rw "ALTER TABLE runs RENAME TO runs_away"
get "/v1/runs/$RUN"
t_is "$HTTP_CODE" 500 "a run that cannot be read is a 500"
t_has "$(jq -r .error <<<"$BODY_OUT")" "cannot read run $RUN from the store" \
    "that says so"
get "/v1/events/$EV/runs"
t_is "$HTTP_CODE" 500 "so are an event's runs"
sql_rw "ALTER TABLE runs_away RENAME TO runs"
get "/v1/runs/$RUN"
t_is "$HTTP_CODE" 200 "and once the store reads again, the run is back"
t_stop
t_done
