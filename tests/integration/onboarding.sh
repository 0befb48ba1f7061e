#!/usr/bin/env bash
# onboarding.sh - the seed's onboarding function end to end: a real SMTP
# sink receives exactly one welcome and one trial email per user, in order,
# the configured delay apart, also when the master is killed during the
# sleep and when the first send fails; a user deleted during the pause
# gets no trial offer.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins onboarding-emails
MAIL="$T_DIR/mail"
mkdir -p "$MAIL"
SMTP_SINK_FAIL_FIRST=1 "$BUILD/tests/tools/smtp_sink" "$T_DIR/smtp.port" "$MAIL" \
    2>"$T_DIR/smtp.log" &
SINK=$!
trap 'kill $SINK 2>/dev/null; t_cleanup' EXIT
wait_until 5 test -s "$T_DIR/smtp.port"
cat >"$T_DIR/fnhost.ini" <<INI
[plugin onboarding-emails]
smtp_url = smtp://127.0.0.1:$(cat "$T_DIR/smtp.port")
from = Acme <hello@acme.test>
trial_delay = 3s
INI
t_start --config "$T_DIR/fnhost.ini"

# Three signups, Clerk-shaped.
USERS=(ada grace linus)
for u in "${USERS[@]}"; do
    jq -c --arg u "$u" '.data.id = "user_\($u)" | .data.first_name = $u
        | .data.email_addresses[0].email_address = "\($u)@example.org"' \
        "$ROOT/examples/user-sync/user.created.json" >"$T_DIR/$u.json"
    post "$(cat "$T_DIR/$u.json")"
    t_is "$HTTP_CODE" 200 "user.created for $u is accepted"
done

mails() { grep -l "^X-Fnhost-Email: $2" "$MAIL"/*.eml 2>/dev/null |
    xargs -r grep -l "^X-Sink-Rcpt-To: $1@example.org" | wc -l; }
all_welcomed() {
    for u in "${USERS[@]}"; do [ "$(mails "$u" welcome)" -ge 1 ] || return 1; done
}
wait_until 15 all_welcomed
t_ok $? "every user gets a welcome email"
t_has "$(cat "$LOG")" "welcome-email attempt 1 of 5 failed: send welcome email to" \
    "the first send, refused by the server, failed the step's attempt"
t_has "$(cat "$LOG")" "(SMTP 451); retrying" "with the SMTP reply, and was retried"
wait_until 5 runs_in sleeping 3
t_ok $? "then the runs sleep, holding no worker"

# Pull the plug during the sleep; the trial emails still come, once.
t_kill9
t_start --config "$T_DIR/fnhost.ini"
all_offered() {
    for u in "${USERS[@]}"; do [ "$(mails "$u" trial-offer)" -ge 1 ] || return 1; done
}
wait_until 20 all_offered
t_ok $? "after kill -9 and a restart every user gets the trial offer"
wait_until 10 runs_in completed 3
for u in "${USERS[@]}"; do
    t_is "$(mails "$u" welcome),$(mails "$u" trial-offer)" "1,1" \
        "$u got exactly one welcome and one trial email"
    W=$(grep -l "^X-Fnhost-Email: welcome" $(grep -l "^X-Sink-Rcpt-To: $u@" "$MAIL"/*.eml) |
        xargs grep -h '^X-Sink-Received-Ms' | tr -d '\r' | cut -d' ' -f2)
    T=$(grep -l "^X-Fnhost-Email: trial-offer" $(grep -l "^X-Sink-Rcpt-To: $u@" "$MAIL"/*.eml) |
        xargs grep -h '^X-Sink-Received-Ms' | tr -d '\r' | cut -d' ' -f2)
    t_ok "$([ $((T - W)) -ge 3000 ] && [ $((T - W)) -lt 60000 ]; echo $?)" \
        "$u: the trial offer came after the welcome, 3 s later as configured ($((T - W)) ms)"
done
F=$(grep -l "^X-Sink-Rcpt-To: ada@" "$MAIL"/*.eml | head -1)
t_has "$(cat "$F")" "From: Acme <hello@acme.test>" "the emails come from the configured sender"
t_has "$(cat "$F")" "Hi ada," "and greet the user by name"
t_stop

# A user deleted in Clerk during the pause gets no trial offer: the
# plugin's cancel_on (clerk/user.deleted, same data.id) cancels the run in
# its sleep; another user's deletion cancels nothing. The pause is long
# now, so that only a cancel can end these runs.
sed -i 's/^trial_delay = .*/trial_delay = 1h/' "$T_DIR/fnhost.ini"
t_start --config "$T_DIR/fnhost.ini"
for u in zoe max; do
    jq -c --arg u "$u" '.data.id = "user_\($u)" | .data.first_name = $u
        | .data.email_addresses[0].email_address = "\($u)@example.org"' \
        "$ROOT/examples/user-sync/user.created.json" >"$T_DIR/$u.json"
    post "$(cat "$T_DIR/$u.json")"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
    eval "RUN_$u=\$(sql \"select id from runs where event_id = '\$EV'\")"
done
status() { sql "select status from runs where id = '$1'"; }
both_sleep() { [ "$(status "$RUN_zoe")$(status "$RUN_max")" = sleepingsleeping ]; }
wait_until 20 both_sleep
t_ok $? "two new users are welcomed and their runs sleep"
post "$(jq -c '.data.id = "user_nobody"' "$ROOT/examples/user-sync/user.deleted.json")"
post "$(jq -c '.data.id = "user_zoe"' "$ROOT/examples/user-sync/user.deleted.json")"
t_is "$HTTP_CODE" 200 "clerk/user.deleted for zoe is accepted"
wait_until 20 eval '[ "$(status "$RUN_zoe")" = cancelled ]'
t_ok $? "zoe's onboarding run is cancelled"
t_has "$(sql "select error from runs where id = '$RUN_zoe'")" \
    "cancelled by event clerk/user.deleted" "by her deletion"
t_is "$(status "$RUN_max")" sleeping "max's run sleeps on: another user's deletion is not his"
t_is "$(mails zoe welcome),$(mails zoe trial-offer)" 1,0 \
    "zoe got her welcome email and no trial offer"
t_stop
t_done
