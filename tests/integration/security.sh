#!/usr/bin/env bash
# security.sh - what guards the host: keys that cannot be empty, the
# loopback rule on the bound address, secrets kept out of /proc, and one
# permission rule for plugin files and folders (issue #11, items 7-10).
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins ok proc_peek

# raw REQUEST: sends REQUEST (printf %b escapes) to the daemon as is and
# prints the status of the answer: for what curl will not send.
raw() {
    local hp=${URL#http://} line
    exec 3<>"/dev/tcp/${hp%:*}/${hp##*:}"
    printf '%b' "$1" >&3
    IFS=' ' read -r -t 10 _ line _ <&3
    exec 3<&-
    echo "$line"
}

# serve_refused WHAT ARGS...: fnhost serve with ARGS must exit 2 at once;
# prints its output. (timeout only bounds a host that wrongly starts.)
serve_refused() {
    local out rc
    out=$(timeout 10 "$FNHOST" serve --listen 127.0.0.1:0 --workers 2 \
        --state "$T_DIR/refused" --plugins "$PLUGINS" "$@" 2>&1)
    rc=$?
    echo "$out"
    return $rc
}

# --- item 8: an empty key is refused at start, however it is given
OUT=$(serve_refused --api-key "")
t_is "$?" 2 "an empty --api-key is refused"
t_has "$OUT" "api_key: is empty" "saying so"
printf '[server]\napi_key =\n' >"$T_DIR/empty.ini"
OUT=$(serve_refused --config "$T_DIR/empty.ini")
t_is "$?" 2 "an empty api_key in the config is refused"
t_has "$OUT" "line 2: api_key: is empty" "naming the line"
OUT=$(serve_refused --api-key "   ")
t_is "$?" 2 "an api_key of spaces is refused"
OUT=$(serve_refused --event-keys "")
t_is "$?" 2 "an empty --event-keys is refused"
t_has "$OUT" "event_keys: is empty" "saying so"
printf '[server]\nevent_key = ,\n' >"$T_DIR/empty.ini"
OUT=$(serve_refused --config "$T_DIR/empty.ini")
t_is "$?" 2 "an event_key of nothing but commas is refused"
OUT=$(serve_refused --webhook "hook=")
t_is "$?" 2 "an empty --webhook secret is refused"
t_has "$OUT" "secret: is empty" "saying so"

# With a key, no empty or folded-empty bearer opens /v1.
t_start --api-key the-api-key
REQ='GET /v1/runs HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
t_is "$(raw "$REQ\r\n")" 401 "/v1 without Authorization is a 401"
t_is "$(raw "${REQ}Authorization: Bearer\r\n\r\n")" 401 \
    "\"Authorization: Bearer\" is a 401"
t_is "$(raw "${REQ}Authorization: Bearer \r\n\r\n")" 401 \
    "\"Authorization: Bearer \" is a 401"
t_is "$(raw "${REQ}Authorization: Bearer\r\n \r\n\r\n")" 401 \
    "a Bearer folded onto an empty line is a 401"
t_is "$(raw "${REQ}Authorization: Bearer \r\n\t \r\n\r\n")" 401 \
    "a Bearer folded onto blanks is a 401"
t_is "$(raw "${REQ}Authorization: Bearer\r\n the-api-key\r\n\r\n")" 200 \
    "the key folded onto a second line is the key (the check reads it)"
t_stop

# --- item 7: no secret shows in the master's cmdline or environment, to
# ps or to a plugin reading /proc/<parent>, nor in a worker's environment.
# Each secret is given twice, in FNHOST_* and as a flag (the flag wins).
S_API_ENV=s3cr3t-api-from-env S_API_FLAG=s3cr3t-api-from-flag
S_EV_ENV=s3cr3t-ev-from-env S_EV_FLAG=s3cr3t-ev-from-flag
S_EV_CLI=s3cr3t-ev-for-the-cli
# standard-webhooks secrets: whsec_ and base64 ("secret-from-the-env", ...)
S_WH_ENV=c2VjcmV0LWZyb20tdGhlLWVudg S_WH_FLAG=c2VjcmV0LWZyb20tdGhlLWZsYWc
NEEDLES=("$S_API_ENV" "$S_API_FLAG" "$S_EV_ENV" "$S_EV_FLAG" "$S_EV_CLI"
    "$S_WH_ENV" "$S_WH_FLAG")
: >"$LOG"
FNHOST_API_KEY=$S_API_ENV FNHOST_EVENT_KEYS=$S_EV_ENV \
    FNHOST_EVENT_KEY=$S_EV_CLI FNHOST_WEBHOOK_HOOKENV_SECRET=whsec_$S_WH_ENV \
    FNHOST_TEST_MARKER=visible-marker \
    t_start --api-key "$S_API_FLAG" --event-keys="$S_EV_FLAG" \
    --webhook "hookflag=whsec_$S_WH_FLAG"
t_has "$(cat "$LOG")" "source hookenv: POST /webhooks/hookenv, 1 secret" \
    "the webhook secret from the environment was read"
post "{\"name\":\"test/proc-peek\",\"data\":{\"needles\":
    $(printf '%s\n' "${NEEDLES[@]}" visible-marker hookflag= | jq -R . |
        jq -sc .)}}" "$S_EV_FLAG"
t_is "$HTTP_CODE" 200 "the event key from the flag was read"
wait_until 10 runs_in completed 1
RUN=$(sql "select id from runs where function_id = 'proc-peek'")
OUT=$(curl -s -H "Authorization: Bearer $S_API_FLAG" "$URL/v1/runs/$RUN" |
    jq -c .data.output)
# needles 7 (a variable, not a secret) and 8 (the name before a wiped
# secret) prove the files were read.
t_is "$(jq -c '.parent_environ.found' <<<"$OUT")" "[7]" \
    "a plugin reads /proc/<master>/environ and finds no secret in it"
t_is "$(jq -c '.parent_cmdline.found' <<<"$OUT")" "[8]" \
    "nor in /proc/<master>/cmdline"
t_is "$(jq -c '.own_environ.found' <<<"$OUT")" "[7]" \
    "nor in the environment the worker inherited"
found=""
for f in cmdline environ; do
    for n in "${NEEDLES[@]}"; do
        grep -qaF -- "$n" "/proc/$T_PID/$f" && found="$found $f:$n"
    done
done
t_is "$found" "" "no secret in /proc/<master>/cmdline or environ"
t_has "$(ps -o args= -p "$T_PID")" "--api-key xxxxxxxx" \
    "ps shows the flag, its value overwritten"
t_has "$(tr '\0' '\n' <"/proc/$T_PID/environ")" "FNHOST_TEST_MARKER=visible" \
    "other variables stay as they were"
t_stop
# The config file, the recommended home of secrets, is said to be open if
# it is: serve warns.
printf '[server]\napi_key = %s\n' "$S_API_FLAG" >"$T_DIR/secret.ini"
chmod 644 "$T_DIR/secret.ini"
: >"$LOG"
t_start --config "$T_DIR/secret.ini"
W="holds api_key and is readable by others (mode 644); run chmod 600"
t_has "$(cat "$LOG")" "config $T_DIR/secret.ini $W" \
    "serve warns of a config file with a key that others can read"
t_stop
chmod 600 "$T_DIR/secret.ini"
: >"$LOG"
t_start --config "$T_DIR/secret.ini"
t_is "$(grep -c 'secret.ini holds' "$LOG")" 0 "and not once it is mode 600"
t_stop

OUT=$(FNHOST_API_KEY=$S_API_ENV "$FNHOST" check "$PLUGINS/proc_peek.so" 2>&1)
t_has "$OUT" "load() sees FNHOST_API_KEY: no" \
    "fnhost check does not pass secret variables to the plugin it loads"

# --- item 9: the loopback rule looks at the address bound, not the name.
# In namespaces of its own (nothing outside can reach it), /etc/hosts maps
# localhost to 0.0.0.0: listening there without keys must be refused.
printf '0.0.0.0 localhost\n' >"$T_DIR/hosts"
if unshare -rmn sh -c "mount --bind '$T_DIR/hosts' /etc/hosts &&
        getent hosts localhost | grep -q 0.0.0.0" 2>/dev/null; then
    OUT=$(unshare -rmn sh -c "mount --bind '$T_DIR/hosts' /etc/hosts &&
        exec timeout 10 '$FNHOST' serve --listen localhost:0 --workers 2 \
            --state '$T_DIR/ns' --plugins '$PLUGINS'" 2>&1)
    t_is "$?" 1 "\"localhost\" bound to 0.0.0.0 without keys is refused"
    t_has "$OUT" "listening on 0.0.0.0 (localhost:0) needs event_keys and" \
        "naming the address bound"
else
    T_N=$((T_N + 1))
    echo "ok $T_N # skip no user and mount namespaces here (unshare -rmn)"
fi

# --- item 10: check and serve apply one rule to a plugin and its folder
SO="$BUILD/tests/plugins/ok.so"
mkdir -p "$T_DIR/p10"
install -m 666 "$SO" "$T_DIR/p10/ok.so"
OUT=$("$FNHOST" check "$T_DIR/p10/ok.so" 2>&1)
t_is "$?" 1 "fnhost check refuses a mode-666 plugin"
t_has "$OUT" "ok.so: refused: the file is writable by others (mode 666)" \
    "in the words serve uses"
chmod 664 "$T_DIR/p10/ok.so"
OUT=$("$FNHOST" check "$T_DIR/p10/ok.so" 2>&1)
t_has "$OUT" "refused: the file is writable by its group (mode 664)" \
    "and a group-writable one"
chmod 644 "$T_DIR/p10/ok.so"
"$FNHOST" check "$T_DIR/p10/ok.so" >/dev/null 2>&1
t_is "$?" 0 "a mode-644 plugin in a mode-755 folder passes check"
if [ "$(id -u)" = 0 ]; then
    chown 4242 "$T_DIR/p10/ok.so"
    OUT=$("$FNHOST" check "$T_DIR/p10/ok.so" 2>&1)
    t_has "$OUT" "refused: the file is owned by uid 4242, not by this user" \
        "a plugin owned by another user is refused"
    chown 0 "$T_DIR/p10/ok.so"
    chown 4242 "$T_DIR/p10"
    OUT=$("$FNHOST" check "$T_DIR/p10/ok.so" 2>&1)
    t_has "$OUT" "plugin folder $T_DIR/p10: refused: it is owned by uid 4242" \
        "and one in a folder owned by another user"
    chown 0 "$T_DIR/p10"
else
    T_N=$((T_N + 2))
    echo "ok $((T_N - 1)) # skip not root: cannot give a file to another user"
    echo "ok $T_N # skip not root: cannot give a folder to another user"
fi
for mode in 777 775; do
    chmod "$mode" "$T_DIR/p10"
    OUT=$("$FNHOST" check "$T_DIR/p10/ok.so" 2>&1)
    t_has "$OUT" "plugin folder $T_DIR/p10: refused: it is writable by" \
        "check refuses a plugin in a mode-$mode folder, naming it"
    OUT=$(serve_refused --plugins "$T_DIR/p10")
    t_is "$?" 1 "serve refuses to start on a mode-$mode plugin folder"
    t_has "$OUT" "plugin folder $T_DIR/p10: refused: it is writable by" \
        "in the same words"
done
# A reload applies the rule too: it fails, naming the folder, and the
# generation that serves stays.
chmod 755 "$T_DIR/p10"
t_start --plugins "$T_DIR/p10"
chmod 777 "$T_DIR/p10"
OUT=$("$FNHOST" reload --state "$STATE" 2>&1)
t_has "$OUT" "plugin folder $T_DIR/p10: refused: it is writable by others" \
    "a reload refuses a folder made world-writable"
post '{"name":"test/echo","data":{}}'
EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
echo_done() { [ "$(sql "select status from runs where event_id = '$EV' and function_id = 'echo'")" = completed ]; }
wait_until 10 echo_done
t_ok $? "and the loaded generation keeps serving: the event's run completes"
t_stop
chmod 1777 "$T_DIR/p10"
"$FNHOST" check "$T_DIR/p10/ok.so" >/dev/null 2>&1
t_is "$?" 0 "a sticky world-writable folder (as /tmp) passes"
chmod 755 "$T_DIR/p10"

t_done
