#!/usr/bin/env bash
# cli.sh - the command line: help written from the tables (and the README's
# tables, which must be the same), check, runs.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup

# fnhost help names every command, setting, [webhook NAME] key and option.
HELP=$("$FNHOST" help)
t_ok $? "fnhost help exits 0"
for want in "[webhook NAME]" "tolerance" "--secret S" "--scheme X" \
    "--timestamp UNIX_S" "--load-timeout DURATION" "FNHOST_DEDUP_WINDOW" \
    "new-plugin NAME [DIR]"; do
    t_has "$HELP" "$want" "fnhost help shows $want"
done
OUT=$("$FNHOST" help sign)
t_has "$OUT" "--timestamp UNIX_S" "fnhost help sign lists its options"
t_has "$OUT" "[webhook NAME] keys" "and the [webhook NAME] keys it reads"
t_is "$("$FNHOST" sign --help | head -n 1)" "$(head -n 1 <<<"$OUT")" \
    "fnhost sign --help is the same"
"$FNHOST" help nope >/dev/null 2>&1
t_is "$?" 1 "fnhost help of an unknown command fails"
t_has "$("$FNHOST" version)" "fnhost " "fnhost version still works"
awk '{ if (length($0) > 80) bad = 1 } END { exit bad }' <<<"$HELP"
t_ok $? "fnhost help fits in 80 columns"

# The README's tables are the code's: regenerate them with
# fnhost help --markdown settings|webhook|commands.
for table in settings webhook commands; do
    DOC=$(awk -v m="<!-- fnhost help --markdown $table -->" '
        $0 == m { on = 1; next } on && /^$/ { exit } on { print }' \
        "$ROOT/README.md")
    t_is "$DOC" "$("$FNHOST" help --markdown "$table")" \
        "README.md's $table table is fnhost help --markdown $table"
done

# check: a bare file name is a file here, not a library to search for;
# load() gets an absolute state folder, a temporary one unless --state
# says, and nothing is left in the current folder.
mkdir -p "$T_DIR/cwd"
install -m 644 "$BUILD/plugins/user-sync.so" "$T_DIR/cwd/user-sync.so"
cd "$T_DIR/cwd"
OUT=$("$FNHOST" check user-sync.so 2>&1)
t_ok $? "fnhost check FILE.so works without ./"
t_has "$OUT" "plugin user-sync" "and describes the plugin"
mkdir "$T_DIR/cwd/.fnhost" # as if fnhost serve had run here
"$FNHOST" check ./user-sync.so >/dev/null 2>&1
t_is "$(ls -A "$T_DIR/cwd" "$T_DIR/cwd/.fnhost" | tr '\n' ' ')" \
    "$T_DIR/cwd: .fnhost user-sync.so  $T_DIR/cwd/.fnhost: " \
    "check leaves nothing in ./.fnhost (user-sync's load() opens app.db)"
OUT=$("$FNHOST" check user-sync.so --state checkstate 2>&1)
t_ok $? "check --state DIR works"
t_ok "$([ -f "$T_DIR/cwd/checkstate/app.db" ]; echo $?)" \
    "and load() gets that folder as fh_state_dir"
rm -rf "$T_DIR/cwd/checkstate"
cd "$ROOT"

# runs: the number under RETRIES is the API's "attempt".
t_plugins ok flaky
t_start
post '{"name":"test/echo","data":{}}'
post '{"name":"test/flaky","data":{"fail_times":2}}'
wait_until 20 runs_in completed 2
OUT=$("$FNHOST" runs --state "$STATE")
t_has "$(head -n 1 <<<"$OUT")" "RETRIES" "fnhost runs has a RETRIES column"
get "/v1/runs?limit=10"
for fn in echo flaky; do
    t_is "$(awk -v f="$fn" '$2 == f { print $4 }' <<<"$OUT")" \
        "$(jq -r --arg f "$fn" '.data[] | select(.function_id == $f) | .attempt' \
            <<<"$BODY_OUT")" "fnhost runs shows $fn's attempt as the API does"
done
t_stop
t_done
