#!/usr/bin/env bash
# limits.sh - a run keeps at most 32 MiB in stored steps: a run under the
# limit resumes with all of it; the step that would cross it fails with a
# clear error and is not stored, rather than leave a run that can never
# resume.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins big_steps
t_start

MIB=$((1 << 20))
# 10 steps of 3 MiB: 30 MiB kept, then a sleep and a resume carrying it.
post "{\"name\":\"test/big-steps\",\"data\":{\"n\":10,\"size\":$((3 * MIB))}}"
UNDER=$(jq -r '.ids[0]' <<<"$BODY_OUT")
# 22 steps of 3 MiB would be 66 MiB: more than one message to a worker
# can carry.
post "{\"name\":\"test/big-steps\",\"data\":{\"n\":22,\"size\":$((3 * MIB))}}"
OVER=$(jq -r '.ids[0]' <<<"$BODY_OUT")
status_of() { sql "select status from runs where event_id = '$1'"; }
wait_until 120 eval '[ "$(status_of "$UNDER")" = completed ] &&
                     [ "$(status_of "$OVER")" = failed ]'
t_is "$(status_of "$UNDER")" completed \
    "a run keeping 30 MiB in its steps resumes after its sleep and completes"
t_is "$(sql "select output from runs where event_id = '$UNDER'")" '{"steps":10}' \
    "with every step replayed from the store"
t_is "$(status_of "$OVER")" failed "a run that would keep 66 MiB fails"
R=$(sql "select id from runs where event_id = '$OVER'")
ERR=$(sql "select error from runs where id = '$R'")
t_has "$ERR" "would take the run's stored steps to" \
    "at the step that crosses the limit, saying so"
t_has "$ERR" "over the 32 MiB a run may keep" "and naming the limit"
t_is "$(sql "select count(*) from steps where run_id = '$R' and status = 'completed'")" 10 \
    "the 10 steps under the limit are kept"
t_is "$(sql "select count(*) from steps where run_id = '$R' and status = 'completed' and length(result) > 0 and step_id = 'blob:10'")" 0 \
    "the one that crossed it is not stored as completed"
t_is "$(sql "select status from steps where run_id = '$R' and step_id = 'blob:10'")" failed \
    "it is stored as a failed step, with its error"
t_has "$(cat "$LOG")" "$R failed after 1 attempt" \
    "and the run is not retried: the step would fail again"
t_stop
t_done
