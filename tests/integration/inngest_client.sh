#!/usr/bin/env bash
# inngest_client.sh - Inngest's own JS SDK (npm "inngest"), unchanged, sends
# events to a running fnhost: the ids it gets back are fnhost's, the runs
# happen with the data sent, the SDK's ts is kept, refusals reach the caller.
# SPDX-License-Identifier: Apache-2.0
#
# The SDK is installed with `npm ci` from tests/compat/package-lock.json into
# $FNHOST_BUILD/compat (once; again only when the lock file changes).
# tests/compat/send.mjs makes the client and does the sends.
#
# Version: inngest 3.35.1, pinned exactly. It is the last release without
# OpenTelemetry: from 3.36.0 on (and all of 4.x) the package depends on
# @opentelemetry/auto-instrumentations-node and pulls in ~230 packages.
# Measured here (Node 20.20.2, npm 11.19.1, `npm ci` with an empty npm cache):
#   inngest@3.35.1   30 packages,  8.9 MB, npm ci 1.5-2.1 s cold, 1.1 s warm
#   inngest@3.54.2  329 packages,  257 MB, npm ci 20-30 s cold
#   inngest@4.24.0  320 packages,  259 MB, npm ci 15-30 s cold
# The event API part of the SDK (send(): the body, the headers, the
# x-inngest-event-id-seed, the 5 tries with backoff, the error text) is the
# same in 3.35.1 and 4.24.0: this test passed with 4.24.0 put in
# $FNHOST_BUILD/compat by hand, all but the two checks that name the version.
. "$(dirname "$0")/lib.sh"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "ok 1 # skip node/npm not installed"
    echo "1..1"
    exit 0
fi
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null)
if [ "${NODE_MAJOR:-0}" -lt 20 ] 2>/dev/null; then
    echo "ok 1 # skip node $(node --version) is older than 20"
    echo "1..1"
    exit 0
fi

# --- the SDK, installed once per build folder
COMPAT="$BUILD/compat"
SRC="$ROOT/tests/compat"
STAMP="$COMPAT/installed.lock"
if ! cmp -s "$SRC/package-lock.json" "$STAMP" ||
    [ ! -f "$COMPAT/node_modules/inngest/package.json" ]; then
    mkdir -p "$COMPAT"
    rm -f "$STAMP"
    cp "$SRC/package.json" "$SRC/package-lock.json" "$COMPAT/"
    start=$(date +%s%N)
    (cd "$COMPAT" && npm ci --no-audit --no-fund --ignore-scripts \
        --prefer-offline) >"$COMPAT/npm-ci.log" 2>&1
    rc=$?
    echo "# npm ci: exit $rc in $((($(date +%s%N) - start) / 1000000)) ms," \
        "$(du -sh "$COMPAT/node_modules" 2>/dev/null | cut -f1) installed"
    t_is "$rc" 0 "npm ci installs the inngest SDK into $COMPAT"
    if [ "$rc" -ne 0 ]; then
        tail -n 20 "$COMPAT/npm-ci.log" | sed 's/^/#   /'
        t_done
        exit 1
    fi
    cp "$SRC/package-lock.json" "$STAMP"
else
    t_ok 0 "the inngest SDK is installed in $COMPAT (npm ci skipped)"
fi
cp "$SRC/send.mjs" "$COMPAT/send.mjs"
SDK_VERSION=$(jq -r '.packages["node_modules/inngest"].version' \
    "$SRC/package-lock.json")

# send MODE [VAR=VALUE...]: runs send.mjs with only the given variables
# (no INNGEST_* from the caller's environment); sets OUT to its JSON. Each
# call has its own TAG, so the sender's ids in its events are new.
SEQ=0
send() {
    local mode=$1 rc
    shift
    SEQ=$((SEQ + 1))
    OUT=$(cd "$COMPAT" && env -i PATH="$PATH" HOME="${HOME:-/tmp}" \
        TAG="$TAG-$SEQ" "$@" timeout 60 node send.mjs "$mode" \
        2>"$T_DIR/node.err")
    rc=$?
    if [ "$rc" -ne 0 ] || ! jq -e . >/dev/null 2>&1 <<<"$OUT"; then
        echo "# send.mjs $mode exited $rc; stderr:"
        sed 's/^/#   /' "$T_DIR/node.err" | head -20
        OUT='{}'
    fi
}

j() { jq -r "$1" <<<"$OUT"; }

event_runs_done() { # all runs of event $1 completed, and there is one
    local b
    b=$(curl -s "$URL/v1/events/$1/runs")
    [ "$(jq -r '[.data[].status] | length > 0 and all(. == "Completed")' \
        <<<"$b")" = true ]
}

# check_sent STEP: every event of that send is in fnhost under the id the
# SDK returned, with the data and ts the SDK sent, and its echo run
# completed with that data.
check_sent() {
    local step=$1 n i id sent
    n=$(j ".$step.requests[-1].events | length")
    t_is "$(j ".$step.ids | length")" "$n" \
        "$WHO: $step: send() returns one id per event ($n)"
    for ((i = 0; i < n; i++)); do
        id=$(j ".$step.ids[$i]")
        sent=$(j ".$step.requests[-1].events[$i]")
        get "/v1/events/$id"
        t_is "$HTTP_CODE/$(jq -r .data.internal_id <<<"$BODY_OUT")" "200/$id" \
            "$WHO: ${step}[$i]: GET /v1/events/$id knows the id the SDK got"
        t_is "$(jq -c '[.data.name, .data.data, .data.ts, .data.id]' \
            <<<"$BODY_OUT")" \
            "$(jq -c '[.name, .data, .ts, .id]' <<<"$sent")" \
            "$WHO: ${step}[$i]: stored name, data, ts and id are what the SDK sent"
        wait_until 10 event_runs_done "$id"
        get "/v1/events/$id/runs"
        t_is "$(jq -c '[.data[] | [.function_id, .status, .output.data]]' \
            <<<"$BODY_OUT")" \
            "$(jq -c '[["echo", "Completed", .data]]' <<<"$sent")" \
            "$WHO: ${step}[$i]: GET /v1/events/$id/runs: echo completed with the data"
    done
}

t_setup
t_plugins ok
TAG="c$$-$(date +%s)"

# --- 1. no event keys: new Inngest({ id, eventKey, baseUrl })
t_start
WHO="options"
send options KEY=test FNHOST_URL="$URL"
t_is "$(j .sdk)" "inngest-js:v$SDK_VERSION" "the SDK in use is inngest-js v$SDK_VERSION"
t_is "$(j '[.one.error, .two.error]' | jq -c .)" "[null,null]" \
    "$WHO: send() of one event and of an array of two succeeds"
t_is "$(j '[.one, .two] | map(.requests | length) | join(",")')" "1,1" \
    "$WHO: each took one request (no retry)"
t_is "$(j '.one.requests[0] | [.method, .url] | join(" ")')" "POST $URL/e/test" \
    "$WHO: the SDK posts to {baseUrl}/e/{eventKey}"
t_is "$(j '.one.requests[0].headers | [."content-type", ."x-inngest-sdk",
        (."x-inngest-event-id-seed" | test("^[0-9]+,[A-Za-z0-9+/]{14}==$"))]
        | map(tostring) | join(" ")')" \
    "application/json inngest-js:v$SDK_VERSION true" \
    "$WHO: with its own headers (content type, x-inngest-sdk, id seed)"
t_is "$(j '.one.requests[0] | (.headers."x-inngest-event-id-seed" |
        split(",")[0]) == (.events[0].ts | tostring)')" true \
    "$WHO: the SDK stamped ts with its own Date.now() (the seed's ms)"
check_sent one
check_sent two
t_is "$(j '.two.ids | unique | length')" 2 "$WHO: the two ids differ"
t_ok "$(j '.one.ids + .two.ids | all(test("^[0-9A-HJKMNP-TV-Z]{26}$"))' |
    grep -qx true; echo $?)" "$WHO: the ids are fnhost's ULIDs"
t_ok "$([ "$(j '.two.ids[1]')" != "$(j '.two.requests[0].events[1].id')" ]
    echo $?)" "$WHO: not the sender's id"

# The reserved name: fnhost's 400 reaches the caller as the SDK's error.
t_has "$(j .reserved.error)" "Inngest API Error: 400" \
    "$WHO: send() of inngest/x throws with the 400"
t_has "$(j .reserved.error)" 'event name "inngest/x" is reserved' \
    "$WHO: and the message carries fnhost's reason"
t_is "$(j '.reserved.requests | map(.status) | unique | join(",")')" 400 \
    "$WHO: every try was answered 400 ($(j '.reserved.requests | length') tries: the SDK retries any error)"
t_is "$(sql "select count(*) from events where name like 'inngest/%'")" 0 \
    "$WHO: nothing under inngest/ is stored"

# An answer lost after fnhost stored the event: the SDK retries the same
# request (same x-inngest-event-id-seed). As in Inngest, the ids derive
# from the seed, so the retry gets the first try's ids and starts no
# second run.
send options KEY=test FNHOST_URL="$URL" STEPS=lost
t_is "$(j '[.lost.error, (.lost.requests | length), .lost.requests[0].lost,
        (.lost.requests | map(.headers."x-inngest-event-id-seed") | unique
        | length)] | map(tostring) | join(" ")')" "null 2 true 1" \
    "$WHO: lost answer: the SDK retried once with the same seed and succeeded"
check_sent lost
t_is "$(j '.lost.requests[0].response.ids == .lost.ids')" true \
    "$WHO: lost answer: the retry got the ids of the first try"
t_is "$(sql "select count(*) from runs where event_id = '$(j '.lost.ids[0]')'")" 1 \
    "$WHO: lost answer: and the event ran once"

# --- 2. the self-hosting recipe: INNGEST_DEV=0, INNGEST_BASE_URL,
# INNGEST_EVENT_KEY, and new Inngest({ id }) reads them
WHO="env self-host"
send env INNGEST_DEV=0 INNGEST_BASE_URL="$URL" INNGEST_EVENT_KEY=env-key \
    STEPS=one,two
t_is "$(j '[.one.error, .two.error, .one.requests[0].url] | map(tostring)
        | join(" ")')" "null null $URL/e/env-key" \
    "$WHO: send() succeeds, posting to INNGEST_BASE_URL/e/INNGEST_EVENT_KEY"
check_sent one
check_sent two
send env INNGEST_DEV=0 INNGEST_BASE_URL="$URL" STEPS=one
t_has "$(j .one.error)" "Failed to send event" \
    "$WHO: without INNGEST_EVENT_KEY the SDK refuses before sending"

# --- 3. dev mode, INNGEST_DEV=<url>: no key needed
WHO="env dev"
send env INNGEST_DEV="$URL" STEPS=one,two
t_is "$(j '[.one.error, .two.error, .one.requests[0].url] | map(tostring)
        | join(" ")')" "null null $URL/e/NO_EVENT_KEY_SET" \
    "$WHO: send() succeeds with the SDK's placeholder key"
check_sent one
check_sent two
t_stop

# --- 4. with --event-keys k1: the right key works, a wrong one throws
t_start --event-keys k1
WHO="keys k1"
send options KEY=k1 FNHOST_URL="$URL" STEPS=one,two
t_is "$(j '[.one.error, .two.error] | map(tostring) | join(" ")')" \
    "null null" "$WHO: eventKey k1 is accepted"
check_sent one
check_sent two
send env INNGEST_DEV=0 INNGEST_BASE_URL="$URL" INNGEST_EVENT_KEY=k1 STEPS=one
t_is "$(j '.one.error | tostring')" null "$WHO: INNGEST_EVENT_KEY=k1 is accepted"
BEFORE=$(sql "select count(*) from events")
send options KEY=wrong FNHOST_URL="$URL" STEPS=one
t_has "$(j .one.error)" "Inngest API Error: 401 Event key not found" \
    "$WHO: eventKey wrong: send() throws with fnhost's 401 reason"
t_is "$(j '[.one.ids, (.one.requests | map(.status) | unique)] | tostring')" \
    '[null,[401]]' "$WHO: no ids, every try answered 401"
send env INNGEST_DEV="$URL" STEPS=one
t_has "$(j .one.error)" "401 Event key not found" \
    "$WHO: dev mode without a key is refused too"
t_is "$(sql "select count(*) from events")" "$BEFORE" \
    "$WHO: refused sends store nothing"
t_stop
t_done
