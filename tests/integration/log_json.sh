#!/usr/bin/env bash
# log_json.sh - log_format = json: every line the host and its workers
# write is one JSON object, hostile text included; the lines about a run
# carry its run id, function, plugin, attempt and trace (its event).
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins steps
printf '[plugin steps]\ndatabase = %s\n' "$T_DIR/execs.db" >"$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini" --log-format json

send_event test/chatty '{"n":1}'
CHATTY=$EV
done_() { get "/v1/events/$1/runs"; [ "$(jq -r '.data[0].status' <<<"$BODY_OUT")" = Completed ]; }
wait_until 10 done_ "$CHATTY"
t_ok $? "(a run that logs completes)"
RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
# An event name with a quote, a backslash and a control character
# triggers nothing: the host logs it.
post '{"name":"test/no\"bo\\\\dy\u0007","data":{}}'
t_is "$HTTP_CODE" 200 "(an event with a hostile name is taken)"
t_stop

t_is "$(jq -R 'fromjson? // "BAD"' "$LOG" | grep -c '^"BAD"$')" 0 \
    "every line is a JSON object"
t_ok "$([ "$(wc -l <"$LOG")" -gt 5 ]; echo $?)" "(of $(wc -l <"$LOG") lines)"
t_is "$(jq -rc 'select(.msg == "done") | [.level, .run_id, .function,
    .plugin, .attempt, .trace_id] | join(" ")' "$LOG")" \
    "error $RUN chatty steps 0 $CHATTY" \
    "a plugin's line carries its run, function, plugin, attempt and trace"
t_is "$(jq -rc 'select(.module == "run" and (.msg | endswith("completed")))
    | [.run_id, .function, .trace_id] | join(" ")' "$LOG")" \
    "$RUN chatty $CHATTY" "so does the host's line about the run's end"
t_has "$(jq -r 'select(.msg | contains("triggers no function")) | .msg' \
    "$LOG")" 'test/no"bo\\dy\x07' \
    "outside text reads back as it came, its control byte as \\xNN"
t_done
