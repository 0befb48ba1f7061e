#!/usr/bin/env bash
# user_sync.sh - the quick start: a Clerk user event reaches the user-sync
# plugin, which writes the user's row; the run reads back over /v1 and CLI.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins user-sync
t_start
EX="$ROOT/examples/user-sync"
APP="$STATE/app.db"

post "$(cat "$EX/user.created.json")" dev
t_is "$HTTP_CODE" 200 "POST /e/dev with user.created answers 200"
t_is "$(jq -r '.status' <<<"$BODY_OUT")" 200 "the body has status 200"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
t_is "${#EV}" 26 "the body holds one ULID event id"

wait_until 10 runs_in completed 1
t_is "$(sqlite3 "$APP" "select id, email, first_name, last_name from users")" \
    "user_29w83sxmDNGwOuEthce5gg56FcC|example@example.org|Example|Example" \
    "the user's row is in the app database"

get "/v1/events/$EV/runs"
t_is "$HTTP_CODE" 200 "GET /v1/events/{id}/runs answers 200"
t_is "$(jq -r '.data | length' <<<"$BODY_OUT")" 1 "one run for the event"
t_is "$(jq -r '.data[0].function_id' <<<"$BODY_OUT")" sync-user-from-clerk \
    "the run is sync-user-from-clerk's"
t_is "$(jq -r '.data[0].status' <<<"$BODY_OUT")" Completed "it is Completed"
RUN=$(jq -r '.data[0].run_id' <<<"$BODY_OUT")
t_has "$(jq -r '.metadata.fetched_at' <<<"$BODY_OUT")" "T" \
    "the v1 envelope has metadata.fetched_at"

get "/v1/runs/$RUN"
t_is "$HTTP_CODE" 200 "GET /v1/runs/{id} answers 200"
t_is "$(jq -r '.data.run_id' <<<"$BODY_OUT")" "$RUN" "it is the same run"
t_is "$(jq -r '.data.event_id' <<<"$BODY_OUT")" "$EV" "it names its event"
t_is "$(jq -r '.data.output.email' <<<"$BODY_OUT")" example@example.org \
    "its output is the plugin's"
t_has "$(jq -r '.data.run_started_at' <<<"$BODY_OUT")" "Z" \
    "run_started_at is an RFC 3339 time"
t_has "$(jq -r '.data.ended_at' <<<"$BODY_OUT")" "Z" "ended_at too"

OUT=$("$FNHOST" runs --state "$STATE")
t_has "$OUT" "$RUN  sync-user-from-clerk" "fnhost runs lists the run"
t_has "$OUT" "Completed" "as Completed"
OUT=$("$FNHOST" run "$RUN" --state "$STATE")
t_has "$OUT" "status    Completed" "fnhost run ID shows its status"
t_has "$OUT" '"email":"example@example.org"' "and its output"

# An update changes the row; a delete removes it.
post "$(cat "$EX/user.updated.json")" dev
wait_until 10 runs_in completed 2
t_is "$(sqlite3 "$APP" "select email, last_name from users")" \
    "renamed@example.org|Renamed" "user.updated upserts the row"
post "$(cat "$EX/user.deleted.json")" dev
wait_until 10 runs_in completed 3
t_is "$(sqlite3 "$APP" "select count(*) from users")" 0 \
    "user.deleted removes the row"

# No primary email: fails at once, without retry, and says why.
post "$(cat "$EX/no-primary-email.json")" dev
wait_until 10 runs_in failed 1
t_is "$(sql "select attempt from runs where status = 'failed'")" 0 \
    "a payload without a primary email fails on its first attempt"
FAILED=$(sql "select id from runs where status = 'failed'")
OUT=$("$FNHOST" run "$FAILED" --state "$STATE")
t_has "$OUT" "status    Failed" "fnhost run shows it Failed"
t_has "$OUT" "has no primary email address" "with the plugin's reason"
OUT=$("$FNHOST" runs --state "$STATE" --status failed)
t_is "$(grep -c sync-user <<<"$OUT")" 1 "fnhost runs --status failed lists it"
OUT=$("$FNHOST" runs --state "$STATE" --function delete-user-from-clerk)
t_is "$(grep -c delete-user <<<"$OUT")" 1 "fnhost runs --function filters"

# fnhost send, the CLI's way to post an event.
OUT=$("$FNHOST" send clerk/user.created --state "$STATE" \
    --data "$(jq -c .data "$EX/user.created.json")")
t_has "$OUT" '"status":200' "fnhost send posts an event"
wait_until 10 runs_in completed 4
t_is "$(sqlite3 "$APP" "select email from users")" example@example.org \
    "and its run syncs the user again"

t_stop
t_done
