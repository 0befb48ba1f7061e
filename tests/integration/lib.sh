# lib.sh - helpers for the integration tests: a real daemon on a free
# loopback port with its own state folder, spoken to over HTTP.
# SPDX-License-Identifier: Apache-2.0
#
# Source it, then: t_setup; t_plugins ok flaky; t_start [flags]; ... ;
# t_stop; t_done. Each test prints TAP.
set -u

ROOT=${FNHOST_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${FNHOST_BUILD:-build}
# The ABI this host is, "MAJOR.MINOR", as sdk/fnhost.h defines it.
HOST_ABI=$(awk '$1 == "#define" && $2 == "FH_ABI_MAJOR" { M = $3 }
                $1 == "#define" && $2 == "FH_ABI_MINOR" { m = $3 }
                END { print M "." m }' "$ROOT/sdk/fnhost.h")
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
FNHOST="$BUILD/fnhost"
T_N=0
T_FAILED=0
T_PID=""
URL=""

t_ok() { # t_ok CONDITION-EXIT-STATUS DESCRIPTION
    T_N=$((T_N + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $T_N - $2"
    else
        echo "not ok $T_N - $2"
        T_FAILED=$((T_FAILED + 1))
    fi
}

t_is() { # t_is GOT WANT DESCRIPTION
    if [ "$1" = "$2" ]; then
        t_ok 0 "$3"
    else
        t_ok 1 "$3"
        echo "#   got:  $1"
        echo "#   want: $2"
    fi
}

t_has() { # t_has HAYSTACK NEEDLE DESCRIPTION
    case "$1" in
    *"$2"*) t_ok 0 "$3" ;;
    *)
        t_ok 1 "$3"
        echo "#   \"$(printf '%s' "$1" | head -c 600)\""
        echo "#   does not contain \"$2\""
        ;;
    esac
}

t_setup() {
    T_DIR=$(mktemp -d /tmp/fnhost-test.XXXXXX)
    STATE="$T_DIR/state"
    PLUGINS="$T_DIR/plugins"
    LOG="$T_DIR/fnhost.log"
    mkdir -p "$PLUGINS"
    trap t_cleanup EXIT
}

t_cleanup() {
    if [ -n "$T_PID" ] && kill -0 "$T_PID" 2>/dev/null; then
        kill -9 "$T_PID" 2>/dev/null
    fi
    if [ "$T_FAILED" -ne 0 ] && [ -f "${LOG:-}" ]; then
        echo "# daemon log (last 40 lines):"
        tail -n 40 "$LOG" | sed 's/^/#   /'
    fi
    rm -rf "$T_DIR"
}

# t_plugins NAME...: copies fixture plugins (tests/plugins) or real ones
# (plugins/) into the test's plugin folder.
t_plugins() {
    local p
    for p in "$@"; do
        if [ -f "$BUILD/tests/plugins/$p.so" ]; then
            install -m 644 "$BUILD/tests/plugins/$p.so" "$PLUGINS/$p.so"
        elif [ -f "$BUILD/plugins/$p.so" ]; then
            install -m 644 "$BUILD/plugins/$p.so" "$PLUGINS/$p.so"
        else
            echo "# no plugin $p in $BUILD" >&2
            return 1
        fi
    done
}

# t_start [FLAGS...]: starts the daemon and waits until it listens. Two
# workers unless T_WORKERS says otherwise (empty: fnhost's own choice).
t_start() {
    local w=()
    [ -n "${T_WORKERS-2}" ] && w=(--workers "${T_WORKERS-2}")
    rm -f "$STATE/fnhost.addr"
    "$FNHOST" serve --listen 127.0.0.1:0 --state "$STATE" \
        --plugins "$PLUGINS" "${w[@]}" --backoff-scale 0.0001 "$@" \
        >>"$LOG" 2>&1 &
    T_PID=$!
    local i
    for i in $(seq 1 200); do
        if [ -s "$STATE/fnhost.addr" ]; then
            URL="http://$(cat "$STATE/fnhost.addr")"
            return 0
        fi
        kill -0 "$T_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "# fnhost did not start; log:"
    sed 's/^/#   /' "$LOG"
    return 1
}

# t_stop: SIGTERM, and the exit status must be 0 (leaks fail it under
# ASan).
t_stop() {
    local rc
    kill -TERM "$T_PID" 2>/dev/null
    wait "$T_PID"
    rc=$?
    T_PID=""
    t_is "$rc" 0 "fnhost exits 0 after SIGTERM"
}

# t_kill9: the crash a test wants to survive.
t_kill9() {
    kill -9 "$T_PID" 2>/dev/null
    wait "$T_PID" 2>/dev/null
    T_PID=""
}

t_done() {
    local line v1=${T_DIR:+$T_DIR/v1} # a test without t_setup kept none
    if [ -n "$v1" ] && [ -d "$v1" ]; then
        if ! command -v python3 >/dev/null; then
            t_ok 1 "python3 checks the /v1 answers: it is not installed"
        fi
        while IFS= read -r line; do
            t_ok 1 "a /v1 answer is JSON as RFC 8259 has it: $line"
        done < <(t_strict_json "$v1")
    fi
    echo "1..$T_N"
    [ "$T_FAILED" -eq 0 ]
}

# request METHOD PATH [BODY]: a request with a JSON body, or none; sets
# HTTP_CODE and BODY_OUT.
request() {
    local out body=()
    [ $# -ge 3 ] && body=(-H 'Content-Type: application/json'
        --data-binary "$3")
    out=$(curl -s -w '\n%{http_code}' -X "$1" "${body[@]}" "$URL$2")
    HTTP_CODE=${out##*$'\n'}
    BODY_OUT=${out%$'\n'*}
    BODY_OUT=${BODY_OUT%$'\n'}
}

# post BODY [KEY]: POST /e/KEY; sets HTTP_CODE and BODY_OUT.
post() {
    request POST "/e/${2:-test}" "$1"
}

metric() { # metric NAME: its value in GET /metrics
    get /metrics
    awk -v m="$1" '$1 == m { print $2 }' <<<"$BODY_OUT"
}

# send_event NAME DATA: posts the event {"name": NAME, "data": DATA}; EV
# is its id.
send_event() {
    post "{\"name\":\"$1\",\"data\":$2}"
    EV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
}

# get PATH: GET; sets HTTP_CODE and BODY_OUT. Every /v1 answer is kept,
# and t_done fails for each one that is not JSON as RFC 8259 has it
# (t_strict_json: one parser for them all, so that polling stays fast).
get() {
    local body="$T_DIR/get.$BASHPID"
    case "$1" in
    /v1/*)
        [ -d "$T_DIR/v1" ] || mkdir -p "$T_DIR/v1"
        body="$T_DIR/v1/$BASHPID-${EPOCHREALTIME/./}"
        printf '%s\n' "$1" >"$body.path"
        ;;
    esac
    HTTP_CODE=$(curl -s -o "$body" -w '%{http_code}' "$URL$1")
    { BODY_OUT=$(<"$body"); } 2>/dev/null
}

# t_strict_json DIR: checks each answer FILE in DIR (named in FILE.path)
# as one JSON text as RFC 8259 has it: UTF-8, no NaN or Infinity, no raw
# control character, no lone surrogate (jq and SQLite's json_valid are
# laxer). Prints "PATH: why" for each that is not.
t_strict_json() {
    python3 -S -c '
import json, os, sys
def constant(c):
    raise ValueError(c + " is not JSON")
def text(v):
    if isinstance(v, str):
        v.encode("utf-8")  # a lone surrogate does not encode
    elif isinstance(v, list):
        for x in v:
            text(x)
    elif isinstance(v, dict):
        for k, x in v.items():
            text(k)
            text(x)
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".path"):
        continue
    with open(os.path.join(d, name + ".path")) as f:
        path = f.read().strip()
    try:
        raw = b""
        if os.path.exists(os.path.join(d, name)):
            with open(os.path.join(d, name), "rb") as f:
                raw = f.read()
        if raw:  # no answer at all (the daemon is down) is not checked
            text(json.loads(raw.decode("utf-8"), parse_constant=constant))
    except Exception as e:
        print("GET %s: %s" % (path, str(e)[:200]))
' "$1"
}

# sql QUERY: runs against the daemon's store, read-only.
sql() {
    sqlite3 -readonly "$STATE/fnhost.db" ".timeout 5000" "$1"
}

# wait_until SECONDS COMMAND...: polls COMMAND until it succeeds.
wait_until() {
    local limit=$1 i
    shift
    for i in $(seq 1 $((limit * 20))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# runs_in STATUS N: exactly N runs have STATUS in the store.
runs_in() {
    [ "$(sql "select count(*) from runs where status = '$1'")" = "$2" ]
}
