#!/usr/bin/env bash
# trigger_if.sh - a trigger's `if` (Inngest's `event: …, if: …`, fnhost's
# fh_function_opts.if_expr) against the daemon: an event starts a run of a
# function with an `if` only when the expression holds for it; one it
# cannot be evaluated on (a missing field) starts none; the other
# functions of the event are not affected; GET /v1/functions shows the
# `if`; one that does not compile refuses its plugin at load, naming the
# plugin, the function and the column; it holds after a reload. Then an
# idempotency key (fh_function_opts.idempotency): one run per key, across
# kill -9; an event without the key's field starts its run.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins trigger_if bad_if
t_start

# fns DATA: the functions the test/tif event with DATA started, sorted.
fns() {
    post "{\"name\":\"test/tif\",\"data\":$1}"
    local ev
    ev=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    sql "select group_concat(function_id, ' ') from
           (select function_id from runs where event_id = '$ev'
            order by function_id)"
}

t_has "$(cat "$LOG")" \
    'bad_if.so: plugin bad-if: function "tif-bad": if: column' \
    "an if that does not compile is refused: the plugin, the function, the column"
t_is "$(fns '{"plan":"pro"}')" "tif-all tif-pro" "an event the if holds for starts the function"
t_is "$(fns '{"plan":"free"}')" "tif-all" "one it does not hold for does not"
t_is "$(fns '{}')" "tif-all" "nor one it cannot be evaluated on (no data.plan)"
t_is "$(fns '{"plan":["pro"]}')" "tif-all" "nor one whose field has another type"
get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "tif-pro") | .if' <<<"$BODY_OUT")" \
    'event.data.plan == "pro"' "GET /v1/functions shows the if"
kill -HUP "$T_PID"
wait_until 20 eval 'grep -q "generation 2" "$LOG"'
t_ok $? "after a reload"
t_is "$(fns '{"plan":"pro"}') / $(fns '{"plan":"free"}')" "tif-all tif-pro / tif-all" \
    "the if still decides"
wait_until 20 eval '[ "$(sql "select count(*) from runs where status != '"'completed'"'")" = 0 ]'
t_ok $? "every run started completes"

# idem DATA: how many runs the test/idem event with DATA started.
idem() {
    post "{\"name\":\"test/idem\",\"data\":$1}"
    sql "select count(*) from runs where event_id = '$(jq -r '.ids[0]' <<<"$BODY_OUT")'"
}
t_is "$(idem '{"user_id":"u1"}')" 1 "the first event of a key starts a run"
t_is "$(idem '{"user_id":"u1","n":2}')" 0 "the next one of that key starts none"
t_has "$(cat "$LOG")" "idem ran for its idempotency key already" "and the log says why"
t_is "$(idem '{"user_id":"u2"}')" 1 "another key starts its own"
t_is "$(idem '{}') $(idem '{}')" "1 1" "an event without the key's field starts its run"
t_has "$(cat "$LOG")" "idem: its idempotency key cannot be made for this event" \
    "and the log says it has no key, and why"
get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "idem") | .idempotency' <<<"$BODY_OUT")" \
    'event.data.user_id' "GET /v1/functions shows the key"
t_kill9
t_start
t_is "$(idem '{"user_id":"u1"}') $(idem '{"user_id":"u3"}')" "0 1" \
    "the keys survive kill -9"
t_stop

# A [function ID] section sets the expressions: its own `if` for one
# function, an `if` for one that had none, and no idempotency key.
cat >"$T_DIR/expr.ini" <<'EOF'
[function tif-pro]
if = event.data.plan == "team"
[function tif-all]
if = event.data.plan != "free"
[function idem]
idempotency =
EOF
t_start --config "$T_DIR/expr.ini"
t_is "$(fns '{"plan":"team"}')" "tif-all tif-pro" \
    "a [function ID] section's if replaces the plugin's"
t_is "$(fns '{"plan":"pro"}')" "tif-all" "the plugin's no longer decides"
t_is "$(fns '{"plan":"free"}')" "" "and gives one to a function that had none"
t_is "$(idem '{"user_id":"u1"}') $(idem '{"user_id":"u1"}')" "1 1" \
    "an empty idempotency removes the plugin's key"
get /v1/functions
t_is "$(jq -r '.data.plugins[].functions[] | select(.id == "tif-pro") | .if' <<<"$BODY_OUT")" \
    'event.data.plan == "team"' "GET /v1/functions shows the section's if"
t_stop
printf '[function tif-pro]\nif = event.data.plan ==\n' >"$T_DIR/bad.ini"
OUT=$("$FNHOST" serve --config "$T_DIR/bad.ini" --state "$T_DIR/bad-state" \
    --plugins "$PLUGINS" --listen 127.0.0.1:0 2>&1)
t_is "$?" 2 "an if that does not compile stops the host at start"
t_has "$OUT" "line 2: if: column" "naming the line, the key and the column"
t_done
