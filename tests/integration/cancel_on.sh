#!/usr/bin/env bash
# cancel_on.sh - cancelOn against the daemon: an event that matches a
# function's rule (match, if) cancels its runs as DELETE /v1/runs/{id}
# does: a sleeping or waiting run at once, a running one at its step
# boundary; a value that differs, a false `if`, or a rule past its timeout
# cancels nothing. The cancel commits with the event (a kill -9 right
# after the 200 keeps it), the rules survive kill -9 and a reload, a bad
# rule is refused at load, and the run emits inngest/function.cancelled.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins cancel bad_cancel_on lifecycle
W="$T_DIR/w"
mkdir -p "$W"
T_WORKERS=1 t_start

# send NAME [DATA-FIELDS]: an event; RUN gets the run it started.
send() {
    post "{\"name\":\"$1\",\"data\":{\"dir\":\"$W\",\"sleep\":\"10m\"${2:+,$2}}}"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    RUN=$(sql "select id from runs where event_id = '$EV'")
}
status() { sql "select status from runs where id = '$1'"; }
is_status() { [ "$(status "$1")" = "$2" ]; }
ran() { tr '\n' ' ' <"$W/$1.log" 2>/dev/null; }
has_run() { grep -qx "$2" "$W/$1.log" 2>/dev/null; }

# --- a bad rule is refused at load, naming what is wrong
t_has "$(cat "$LOG")" \
    'bad_cancel_on.so: plugin bad-cancel-on: function "bad-rule": cancel_on[1]: if: column' \
    "a cancelOn whose if does not compile is refused: the plugin, the function, the rule, the column"
get /v1/functions
t_is "$(jq -c '.data.plugins[].functions[] | select(.id == "nap") | .cancel_on[0]' <<<"$BODY_OUT")" \
    '{"event":"test/nap.stop","match":"data.user","if":null,"timeout_ms":31536000000}' \
    "GET /v1/functions shows the rules, a year by default"

# --- a sleeping run: a different value cancels nothing, the same does
send test/nap '"user":"u1"'
NAP=$RUN
wait_until 20 is_status "$NAP" sleeping
t_ok $? "a run sleeps"
send test/nap.stop '"user":"u2"'
send test/nap '"user":"u2"'
U2=$RUN
t_is "$(status "$NAP"),$(sql "select cancel_at is null from runs where id = '$NAP'")" sleeping,1 \
    "an event whose value differs cancels nothing"
send test/nap.stop '"user":"u1"'
STOP=$EV
t_is "$(sql "select cancel_at is not null from runs where id = '$NAP'")" 1 \
    "the matching event's cancel is stored as it is acknowledged"
wait_until 20 is_status "$NAP" cancelled
t_ok $? "and it cancels the sleeping run"
t_is "$(sql "select error from runs where id = '$NAP'")" \
    "cancelled by event test/nap.stop ($STOP)" "saying which event"
t_is "$(sql "select count(*) from pauses where run_id = '$NAP'")" 0 "its rules are gone"
t_is "$(ran "$NAP")" "before " "it never woke"
t_is "$(status "$U2")" sleeping "a run started after the first stop event is not cancelled by it"
wait_until 20 eval '[ -n "$(sql "select 1 from events where name = '"'inngest/function.cancelled'"' and user_id = '"'$NAP'"'")" ]'
t_ok $? "a run cancelled by cancelOn emits inngest/function.cancelled"

# --- if
send test/nap '"code":7'
CODE=$RUN
wait_until 20 is_status "$CODE" sleeping
send test/nap.halt '"code":7,"ok":false'
t_is "$(status "$CODE"),$(sql "select cancel_at is null from runs where id = '$CODE'")" sleeping,1 \
    "an event for which the rule's if is false cancels nothing"
send test/nap.halt '"code":7,"ok":true'
wait_until 20 is_status "$CODE" cancelled
t_ok $? "one for which it holds cancels the run"

# --- a run waiting for an event
send test/waiter '"user":"w1"'
WAITER=$RUN
wait_until 20 is_status "$WAITER" waiting
send test/waiter.stop '"user":"w1"'
wait_until 20 is_status "$WAITER" cancelled
t_ok $? "a run waiting for an event is cancelled"
t_is "$(sql "select count(*) from pauses where run_id = '$WAITER'")" 0 \
    "its wait and its rules are gone"

# --- a running run: at its step boundary
rm -f "$W/go"
send test/holder '"user":"h1"'
HOLDER=$RUN
wait_until 20 has_run "$HOLDER" hold
send test/holder.stop '"user":"h1"'
get "/v1/runs/$HOLDER"
t_is "$(jq -c '[.data.status, (.data.cancel_requested_at != null)]' <<<"$BODY_OUT")" \
    '["Running",true]' "a running run shows Running with cancel_requested_at"
touch "$W/go"
wait_until 20 is_status "$HOLDER" cancelled
t_ok $? "it is cancelled at its step boundary"
t_is "$(ran "$HOLDER")" "hold " "the step it ran completed, the next never started"

# --- a run that ends drops its rules
send test/holder '"user":"h2"'
H2=$RUN
wait_until 20 is_status "$H2" completed
t_is "$(sql "select count(*) from pauses where run_id = '$H2'")" 0 \
    "a run that completes keeps no rules"

# --- the rule's timeout: past it, the rule no longer applies
send test/nap '"user":"t1"'
T1=$RUN
wait_until 20 is_status "$T1" sleeping
expired() {
    [ "$(sql "select count(*) from pauses where run_id = '$T1'
              and event = 'test/nap.brief' and timeout_at <
              cast((julianday('now') - 2440587.5) * 86400000 as integer)")" = 1 ]
}
wait_until 30 expired
t_ok $? "the rule with a 3s timeout is past it"
send test/nap.brief '"user":"t1"'
t_is "$(status "$T1"),$(sql "select cancel_at is null from runs where id = '$T1'")" sleeping,1 \
    "an event past the rule's timeout cancels nothing"
send test/nap.stop '"user":"t1"'
wait_until 20 is_status "$T1" cancelled
t_ok $? "while its other rules still apply"

# --- a reload keeps the rules of runs that exist
send test/nap '"user":"r1"'
R1=$RUN
wait_until 20 is_status "$R1" sleeping
kill -HUP "$T_PID"
send test/nap.stop '"user":"r1"'
wait_until 20 is_status "$R1" cancelled
t_ok $? "after a reload a run's rules still cancel it"
send test/nap '"user":"k1"'
K1=$RUN
wait_until 20 is_status "$K1" sleeping

# --- kill -9: the rules are durable with the run
t_kill9
T_WORKERS=1 t_start
send test/nap.stop '"user":"k1"'
wait_until 20 is_status "$K1" cancelled
t_ok $? "after a restart a run's rules still cancel it"
t_stop

# --- the cancel commits with the event. Each commit waits 400 ms; the
# daemon is killed the moment the event is acknowledged. Were the cancel
# stored in a transaction of its own after the event's, the kill would
# come before it commits, and the run would sleep on.
FNHOST_FAULT_COMMIT_DELAY_MS=400 T_WORKERS=1 t_start
send test/nap '"user":"atomic"'
RA=$RUN
wait_until 20 is_status "$RA" sleeping
send test/nap.stop '"user":"atomic"'
t_is "$HTTP_CODE" 200 "the event is acknowledged"
t_kill9
t_is "$(sql "select cancel_at is not null from runs where id = '$RA'")" 1 \
    "its cancel was stored with it"
T_WORKERS=1 t_start
t_is "$(status "$RA")" cancelled "the restart ends the run cancelled"
t_is "$(ran "$RA")" "before " "and it never woke"
t_stop
t_done
