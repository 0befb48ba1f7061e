#!/usr/bin/env bash
# webhooks.sh - signed webhooks end to end: a Clerk user.created signed the
# way Svix signs it reaches user-sync; tampered, wrongly signed, stale and
# incomplete deliveries are refused and leave nothing; a redelivery starts
# nothing new; Stripe, GitHub and generic sources, each of which refuses
# wrong, missing and empty signatures.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins user-sync
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
OLD=whsec_dGhlIG9sZCBzZWNyZXQgYmVmb3JlIHJvdGF0aW9u
cat >"$T_DIR/fnhost.ini" <<INI
[webhook clerk]
secret = $SECRET $OLD

[webhook stripe]
secret = whsec_stripe_test_secret

[webhook github]
secret = It's a Secret to Everybody

[webhook acme]
scheme = standard-webhooks
transform = generic
type_field = kind
INI
export FNHOST_WEBHOOK_ACME_SECRET=whsec_YWNtZSBzZWNyZXQgZm9yIHRlc3Rz
t_start --config "$T_DIR/fnhost.ini"
t_has "$(cat "$LOG")" "source clerk: POST /webhooks/clerk, 2 secrets" \
    "configured sources are logged"

PAYLOAD="$ROOT/examples/user-sync/webhook.user.created.json"
# deliver SOURCE FILE [extra curl args]: POST a body with headers from
# "$T_DIR/h"; sets HTTP_CODE and BODY_OUT.
deliver() {
    local src=$1 file=$2 out
    shift 2
    out=$(curl -s -w '\n%{http_code}' -H @"$T_DIR/h" "$@" \
        --data-binary @"$file" "$URL/webhooks/$src")
    HTTP_CODE=${out##*$'\n'}
    BODY_OUT=${out%$'\n'*}
}
sign() { "$FNHOST" sign --config "$T_DIR/fnhost.ini" "$@" >"$T_DIR/h"; }
counts() { echo "$(sql 'select count(*) from events'),$(sql 'select count(*) from runs')"; }

sign --webhook clerk --id msg_2KWPBgLlAfxdpx2AI54pPJ85f4W @"$PAYLOAD"
t_has "$(cat "$T_DIR/h")" "svix-signature: v1," "fnhost sign writes Svix headers"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 200 "a Clerk user.created signed like Svix is accepted"
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
wait_until 10 runs_in completed 1
t_is "$(sqlite3 "$STATE/app.db" 'select id, email from users')" \
    "user_29w83sxmDNGwOuEthce5gg56FcC|example@example.org" \
    "and the user's row appears (user-sync ran)"
get "/v1/events/$EV"
t_is "$(jq -c '.data | [.name, .id, .ts]' <<<"$BODY_OUT")" \
    '["clerk/user.created","msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",1654012591835]' \
    "the event is clerk/<type>, its id the svix-id, its ts Clerk's timestamp"
t_is "$(jq -r '.data.data.id' <<<"$BODY_OUT")" user_29w83sxmDNGwOuEthce5gg56FcC \
    "its data is the payload's data"

# Svix retries the same message with a new timestamp and signature.
sleep 1
sign --webhook clerk --id msg_2KWPBgLlAfxdpx2AI54pPJ85f4W @"$PAYLOAD"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 200 "a redelivery of the same message is acknowledged"
sleep 0.3
t_is "$(sql "select count(*) from runs")" 1 "and starts nothing new"

# Refusals leave no event, no run, no row.
BEFORE=$(counts)
sed 's/example@example.org/evil@example.org/' "$PAYLOAD" >"$T_DIR/tampered.json"
sign --webhook clerk @"$PAYLOAD"
deliver clerk "$T_DIR/tampered.json"
t_is "$HTTP_CODE" 401 "a tampered body is refused with 401"
t_has "$(jq -r .error <<<"$BODY_OUT")" "no v1 signature matches" "naming the check"
"$FNHOST" sign --secret whsec_d3Jvbmcgc2VjcmV0IGZvciB0aGUgdGVzdA== \
    @"$PAYLOAD" >"$T_DIR/h"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 401 "a wrong secret is refused"
SIG=$(grep -i '^svix-signature' "$T_DIR/h" | cut -d' ' -f2)
t_ok "$(grep -qF "${SIG#v1,}" <<<"$BODY_OUT"; [ $? -ne 0 ]; echo $?)" \
    "the answer never shows a signature"
sign --webhook clerk --timestamp $(( $(date +%s) - 400 )) @"$PAYLOAD"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 401 "a timestamp 400 s old is refused"
t_has "$(jq -r .error <<<"$BODY_OUT")" "old" "as too old"
sign --webhook clerk --timestamp $(( $(date +%s) + 400 )) @"$PAYLOAD"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 401 "one 400 s ahead is refused too"
t_has "$(jq -r .error <<<"$BODY_OUT")" "in the future" "as too new"
sign --webhook clerk @"$PAYLOAD"
grep -v '^svix-signature' "$T_DIR/h" >"$T_DIR/h2" && mv "$T_DIR/h2" "$T_DIR/h"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 400 "a missing signature header is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" "missing header" "that names the header"
# Correctly signed, but not JSON: read as strictly as the event API reads.
printf '{"type":"user.created","data":{"id":"u_x"} /* note */}' >"$T_DIR/c.json"
sign --webhook clerk @"$T_DIR/c.json"
deliver clerk "$T_DIR/c.json"
t_is "$HTTP_CODE" 400 "a signed payload with a comment in it is a 400"
t_has "$(jq -r .error <<<"$BODY_OUT")" "is not valid JSON" "that says it is not JSON"
printf '{"type":"user.created","data":{"id":"u_\xc0\xaf"}}' >"$T_DIR/c.json"
sign --webhook clerk @"$T_DIR/c.json"
deliver clerk "$T_DIR/c.json"
t_is "$HTTP_CODE" 400 "so is one with an overlong UTF-8 form"
t_has "$(jq -r .error <<<"$BODY_OUT")" "not UTF-8" "that says so"
t_is "$(counts)" "$BEFORE" "refused deliveries stored no event and no run"
t_is "$(sqlite3 "$STATE/app.db" 'select email from users')" example@example.org \
    "and changed no row"

# The webhook-* header family, and the older of two secrets (rotation).
"$FNHOST" sign --secret "$OLD" --id msg_rotated @"$PAYLOAD" |
    sed 's/^svix-/webhook-/' >"$T_DIR/h"
deliver clerk "$PAYLOAD"
t_is "$HTTP_CODE" 200 "webhook-* headers signed with the previous secret verify"
: >"$T_DIR/h"
deliver nosuch "$PAYLOAD"
t_is "$HTTP_CODE" 404 "an unknown source is a 404"

# Stripe: Stripe-Signature over t.body, hex, the secret as bytes.
printf '{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"invoice.paid","data":{"object":{"id":"in_1"}}}' >"$T_DIR/stripe.json"
sign --webhook stripe @"$T_DIR/stripe.json"
t_has "$(cat "$T_DIR/h")" "stripe-signature: t=" "fnhost sign writes a Stripe-Signature"
deliver stripe "$T_DIR/stripe.json"
t_is "$HTTP_CODE" 200 "a signed Stripe event is accepted"
t_is "$(sql "select name || ' ' || user_id from events where name like 'stripe/%'")" \
    "stripe/invoice.paid evt_1NG8Du2eZvKYlo2CUI79vXWy" "as stripe/<type> with the evt id"
sign --webhook stripe --timestamp 1 @"$T_DIR/stripe.json"
deliver stripe "$T_DIR/stripe.json"
t_is "$HTTP_CODE" 401 "a Stripe signature from 1970 is refused"
t_has "$(jq -r .error <<<"$BODY_OUT")" "old" "as too old, though correctly signed"

# GitHub: X-Hub-Signature-256 over the body; the delivery GUID is the id.
printf 'Hello, World!' >"$T_DIR/hello"
sign --webhook github --id 0e2f1d6a-aaaa-bbbb-cccc-1234567890ab @"$T_DIR/hello"
t_has "$(cat "$T_DIR/h")" \
    "x-hub-signature-256: sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" \
    "GitHub's documented vector comes out of fnhost sign"
printf '{"ref":"refs/heads/main","zen":"Keep it logically awesome."}' >"$T_DIR/push.json"
sign --webhook github --id 0e2f1d6a-aaaa-bbbb-cccc-1234567890ab @"$T_DIR/push.json"
deliver github "$T_DIR/push.json" -H 'X-GitHub-Event: push'
t_is "$HTTP_CODE" 200 "a signed GitHub push is accepted"
t_is "$(sql "select name || ' ' || user_id from events where name like 'github/%'")" \
    "github/push 0e2f1d6a-aaaa-bbbb-cccc-1234567890ab" "as github/<X-GitHub-Event>"

# A generic source: the type comes from the configured field.
printf '{"kind":"order.shipped","order":42}' >"$T_DIR/acme.json"
sign --webhook acme @"$T_DIR/acme.json"
deliver acme "$T_DIR/acme.json"
t_is "$HTTP_CODE" 200 "a generic source with its secret from FNHOST_WEBHOOK_ACME_SECRET"
t_is "$(sql "select name from events where name like 'acme/%'")" acme/order.shipped \
    "names events prefix/<type field>"

# Every scheme refuses a wrong, a missing and an empty signature, and
# stores nothing. Each payload is new and would be accepted if signed (an
# unverified delivery would show as a 200 and a stored event).
WRONG=whsec_d3Jvbmcgc2VjcmV0IGZvciB0aGUgdGVzdA==
runs_listed() {
    get "/v1/runs?limit=100"
    jq '.data | length' <<<"$BODY_OUT"
}
# refusals SOURCE SCHEME HEADER EMPTIED FILE [curl args]: HEADER is the
# signature header; EMPTIED a sed command that empties its signature and
# keeps the rest (Stripe's t=).
refusals() {
    local src=$1 scheme=$2 hdr=$3 emptied=$4 file=$5 before listed
    shift 5
    before=$(counts)
    listed=$(runs_listed)
    "$FNHOST" sign --secret "$WRONG" --scheme "$scheme" @"$file" >"$T_DIR/h"
    deliver "$src" "$file" "$@"
    t_is "$HTTP_CODE" 401 "$src: a signature by another secret is a 401"
    t_has "$(jq -r .error <<<"$BODY_OUT")" "signature matches" \
        "$src: that says no signature matches"
    sign --webhook "$src" @"$file"
    sed -i "/^$hdr:/Id" "$T_DIR/h"
    deliver "$src" "$file" "$@"
    t_is "$HTTP_CODE" 400 "$src: no signature header is a 400"
    t_has "$(jq -r .error <<<"$BODY_OUT")" "missing header $hdr" \
        "$src: that names the header"
    deliver "$src" "$file" "$@" -H "$hdr;"
    t_is "$HTTP_CODE" 400 "$src: an empty signature header is a 400"
    t_has "$(jq -r .error <<<"$BODY_OUT")" "missing header $hdr" \
        "$src: as missing"
    sign --webhook "$src" @"$file"
    sed -i "$emptied" "$T_DIR/h"
    deliver "$src" "$file" "$@"
    t_is "$HTTP_CODE" 401 "$src: an empty signature in the header is a 401"
    t_has "$(jq -r .error <<<"$BODY_OUT")" "signature" \
        "$src: refused for its signature"
    t_is "$(counts)" "$before" "$src: the refusals stored no event and no run"
    t_is "$(runs_listed)" "$listed" "$src: GET /v1/runs lists no new run"
}
printf '{"type":"user.deleted","data":{"id":"user_wrong"}}' >"$T_DIR/clerk2.json"
refusals clerk standard-webhooks svix-signature 's/v1,[^ ]*$/v1,/' \
    "$T_DIR/clerk2.json"
printf '{"id":"evt_refused","type":"invoice.paid","data":{}}' >"$T_DIR/stripe2.json"
refusals stripe stripe stripe-signature 's/v1=[0-9a-f]*/v1=/' \
    "$T_DIR/stripe2.json"
printf '{"ref":"refs/heads/refused"}' >"$T_DIR/push2.json"
refusals github github x-hub-signature-256 's/sha256=[0-9a-f]*/sha256=/' \
    "$T_DIR/push2.json" -H 'X-GitHub-Event: push'
printf '{"kind":"order.refused","order":43}' >"$T_DIR/acme2.json"
refusals acme standard-webhooks svix-signature 's/v1,[^ ]*$/v1,/' \
    "$T_DIR/acme2.json"
t_stop

# A secret that is not base64 stops fnhost with the reason.
OUT=$(FNHOST_WEBHOOK_CLERK_SECRET='whsec_!!!' "$FNHOST" serve --listen 127.0.0.1:0 \
    --state "$T_DIR/s2" --plugins "$PLUGINS" 2>&1)
t_has "$OUT" "webhook clerk: secret 1:" "a bad secret refuses to start, naming the source"
t_done
