#!/usr/bin/env bash
# run_logs.sh - what a plugin logs in a run (fh_log) is stored with the
# run, in order, with its level and attempt: GET /v1/runs/ID and fnhost run
# show it; a resume after a sleep does not store the replayed lines again;
# a line is made printable and cut; a run keeps at most 1,000 lines.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins steps
printf '[plugin steps]\ndatabase = %s\n' "$T_DIR/execs.db" >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"

run_of() { # run_of EV: its run into RUN and BODY_OUT
    get "/v1/events/$1/runs"
    RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
    get "/v1/runs/$RUN"
}
done_() { get "/v1/events/$1/runs"; [ "$(jq -r '.data[0].status' <<<"$BODY_OUT")" = Completed ]; }

send_event test/chatty '{"n":2,"sleep":"1s"}'
wait_until 15 done_ "$EV"
t_ok $? "(a run that logs, sleeps and logs again completes)"
run_of "$EV"
t_is "$(jq -r '[.data.logs[] | "\(.level):\(.message | .[0:12])"] | join(",")' \
    <<<"$BODY_OUT")" \
    'info:starting,debug:line 1,debug:line 2,info:bad byte \xf,info:xxxxxxxxxxxx,warn:woke,error:done' \
    "its lines are stored in order with their levels, once each across the sleep"
t_is "$(jq -r '.data.logs[3].message' <<<"$BODY_OUT")" 'bad byte \xff here' \
    "a byte that is not UTF-8 is written as \\xNN"
t_is "$(jq -r '.data.logs[4].message | length' <<<"$BODY_OUT")" 2048 \
    "a long line is cut to 2 KiB"
t_has "$(jq -r '.data.logs[0].at' <<<"$BODY_OUT")" "Z" "each line has its time"
OUT=$("$FNHOST" run "$RUN" --state "$STATE")
t_has "$OUT" "logs" "fnhost run lists them"
t_has "$OUT" "error attempt 1  done" "with level, attempt and text"

send_event test/chatty '{"n":1200}'
wait_until 15 done_ "$EV"
run_of "$EV"
t_is "$(jq '.data.logs | length' <<<"$BODY_OUT")" 1000 \
    "a run keeps at most 1,000 lines"
t_is "$(jq -r '.data.logs[-1].message' <<<"$BODY_OUT")" "line 999" \
    "the first ones"
t_stop
t_done
