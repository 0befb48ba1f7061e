#!/usr/bin/env bash
# config.sh - settings from the INI file, FNHOST_* and flags, in that order
# of precedence; [plugin NAME] reaches the plugin; unsafe or broken settings
# stop fnhost with a clear reason.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins ok user-sync
cat >"$T_DIR/fnhost.ini" <<INI
; a comment
[server]
workers = 3
log_level = debug

[plugin ok]
greeting = hello from the config

[plugin user-sync]
database = $T_DIR/users.db
INI

FNHOST_WORKERS=4 t_start --config "$T_DIR/fnhost.ini" --workers 2
t_has "$(cat "$LOG")" "2 workers" "a flag wins over FNHOST_* and the file"
t_has "$(cat "$LOG")" "debug" "the file's log_level applies"
post '{"name":"test/echo","data":{}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 10 runs_in completed 1
get "/v1/events/$EV/runs"
get "/v1/runs/$(jq -r '.data[0].run_id' <<<"$BODY_OUT")"
t_is "$(jq -r .data.output.greeting <<<"$BODY_OUT")" "hello from the config" \
    "a plugin reads its [plugin NAME] keys"
post "$(cat "$ROOT/examples/user-sync/user.created.json")"
wait_until 10 runs_in completed 2
t_is "$(sqlite3 "$T_DIR/users.db" 'select count(*) from users')" 1 \
    "user-sync writes to the database its section names"
t_stop

: >"$LOG"
T_WORKERS= FNHOST_WORKERS=5 t_start --config "$T_DIR/fnhost.ini"
t_has "$(cat "$LOG")" "5 workers" "FNHOST_* wins over the file"
# /health answers before every worker has started: count them once they
# have (a slow machine saw 4 of 5).
five() { [ "$(pgrep -P "$T_PID" -x fnhost-worker | wc -l)" = 5 ]; }
wait_until 20 five
t_is "$(pgrep -P "$T_PID" -x fnhost-worker | wc -l)" 5 \
    "and fnhost runs that many workers"
get /v1/functions
t_is "$(jq -r '[.data.plugins[].name] | sort | join(",")' <<<"$BODY_OUT")" \
    "ok,user-sync" "GET /v1/functions lists the plugins"
t_stop

# Refusals: each exits non-zero and says why.
OUT=$("$FNHOST" serve --listen 0.0.0.0:0 --state "$T_DIR/s2" \
    --plugins "$PLUGINS" 2>&1)
t_is "$?" 1 "listening beyond loopback without keys is refused"
t_has "$OUT" "needs event_keys and api_key" "with the reason"
OUT=$("$FNHOST" serve --workers lots 2>&1)
t_is "$?" 2 "a bad flag value is refused"
t_has "$OUT" "workers: expected a number from 1 to 256" "naming the setting"
printf '[server]\nworkers = 2\ntimeout = 3 dayz\n' >"$T_DIR/bad.ini"
OUT=$("$FNHOST" serve --config "$T_DIR/bad.ini" 2>&1)
t_has "$OUT" "line 3: timeout: invalid duration \"3 dayz\": unknown unit" \
    "a bad config line names the file, the line and the problem"
OUT=$(FNHOST_SYNCHRONOUS=sometimes "$FNHOST" serve 2>&1)
t_has "$OUT" "FNHOST_SYNCHRONOUS: synchronous: expected full or normal" \
    "a bad environment variable is named"
OUT=$("$FNHOST" serve --state "$STATE" --listen 127.0.0.1:0 \
    --plugins "$PLUGINS" 2>&1 & sleep 0.5; "$FNHOST" serve --state "$STATE" \
    --listen 127.0.0.1:0 --plugins "$PLUGINS" 2>&1; kill %1 2>/dev/null; wait)
t_has "$OUT" "is using the state folder" "two hosts cannot share a state folder"
t_done
