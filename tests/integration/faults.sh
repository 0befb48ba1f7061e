#!/usr/bin/env bash
# faults.sh - a plugin that crashes, aborts or hangs costs one attempt, not
# the host: the worker is replaced, the reason recorded, the run retried.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins crash hang ok
t_start

run_of() { # run_of EVENT_ID FUNCTION
    get "/v1/events/$1/runs"
    jq -r ".data[] | select(.function_id == \"$2\") | .run_id" <<<"$BODY_OUT"
}

post '{"name":"test/crash","data":{"mode":"segv"}}'
SEGV=$(jq -r '.ids[0]' <<<"$BODY_OUT")
post '{"name":"test/crash","data":{"mode":"abort"}}'
ABRT=$(jq -r '.ids[0]' <<<"$BODY_OUT")
post '{"name":"test/hang","data":{}}'
HANG=$(jq -r '.ids[0]' <<<"$BODY_OUT")
# The host keeps serving while workers die and are replaced.
post '{"name":"test/echo","data":{"during":"crashes"}}'
t_is "$HTTP_CODE" 200 "the host accepts events while workers crash"

wait_until 20 runs_in completed 4
t_is "$(sql "select count(*) from runs where status = 'completed'")" 4 \
    "every run completes after its retry"

R=$(run_of "$SEGV" crash)
get "/v1/runs/$R"
t_is "$(jq -r '.data.attempts[0].error' <<<"$BODY_OUT")" \
    "worker killed by signal 11 (Segmentation fault)" \
    "a segfault is recorded as a failed attempt with its signal"
t_is "$(jq -r '.data.output.survived_attempt' <<<"$BODY_OUT")" 1 \
    "and the second attempt succeeds"
R=$(run_of "$ABRT" crash)
get "/v1/runs/$R"
t_is "$(jq -r '.data.attempts[0].error' <<<"$BODY_OUT")" \
    "worker killed by signal 6 (Aborted)" "so is an abort()"
R=$(run_of "$HANG" hang)
get "/v1/runs/$R"
t_is "$(jq -r '.data.attempts[0].error' <<<"$BODY_OUT")" "timed out after 1s" \
    "a handler past its timeout is killed and recorded"
t_is "$(jq -r '.data.status' <<<"$BODY_OUT")" Completed \
    "and retried to completion"
t_has "$(cat "$LOG")" "died running crash" \
    "the log names the dead worker and the function it was running"
get /health
t_is "$HTTP_CODE" 200 "the host is healthy afterwards"
t_stop

# Broken plugins are refused one by one, each with one line saying why;
# the good ones load.
rm -f "$PLUGINS"/*.so
t_plugins ok bad_magic abi_major abi_newer_minor no_entry dup_id dup_other \
    load_fails ctor_crash bad_trigger no_functions abi_older_minor
# Plugins load in name order: the first to declare an id keeps it.
mv "$PLUGINS/dup_other.so" "$PLUGINS/zz_dup_other.so"
printf 'this is not an ELF file\n' >"$PLUGINS/not_elf.so"
install -m 666 "$BUILD/tests/plugins/fanout.so" "$PLUGINS/writable.so"
: >"$LOG"
STATE="$T_DIR/state2"
t_start
L=$(cat "$LOG")
t_has "$L" "bad_magic.so: bad magic 0xdeadbeef" "bad magic is refused"
t_has "$L" "abi_major.so: built for ABI 2.0, host has $HOST_ABI" \
    "another ABI major is refused with both versions"
t_has "$L" "no_entry.so: no fh_plugin_entry symbol" "a .so without the entry is refused"
t_has "$L" "dup_id.so: duplicate function id \"same-id\"" \
    "a plugin repeating a function id is refused"
t_has "$L" "zz_dup_other.so: duplicate function id \"echo\": plugin ok declares it already" \
    "a function id taken by another plugin is refused"
t_has "$L" "load_fails.so: load() failed: cannot reach the payments api" \
    "a failing load() is refused with its reason"
t_has "$L" "ctor_crash.so: crashed while loading (killed by signal 11)" \
    "a crashing constructor is refused, the host lives"
t_has "$L" "bad_trigger.so: function" "a bad trigger pattern is refused"
t_has "$L" "not_elf.so: not a loadable shared object" "a file that is not ELF is refused"
t_has "$L" "writable.so: refused: the file is writable by others" \
    "a world-writable plugin is refused"
t_has "$L" "generation 1: 4 plugins, 4 functions" \
    "ok, no_functions, abi_older_minor (ABI 1.0) and abi_newer_minor load"
t_is "$(grep -c 'error \[loader\]' "$LOG")" 10 "one log line per refused plugin"
post '{"name":"test/echo","data":{}}'
post '{"name":"test/abi-older-minor","data":{}}'
wait_until 10 runs_in completed 2
t_is "$(sql "select count(*) from runs where status='completed' and function_id='echo'")" 1 \
    "the good plugin serves events"
t_is "$(sql "select output from runs where function_id='abi-older-minor'")" '"built for 1.0"' \
    "and so does the plugin built for ABI 1.0"
t_stop

# fnhost check prints a descriptor or the reason, with the exit status.
OUT=$("$FNHOST" check "$BUILD/tests/plugins/ok.so")
t_ok $? "fnhost check ok.so exits 0"
t_has "$OUT" "plugin ok 1.0.0 (ABI $HOST_ABI)" "and prints the descriptor"
t_has "$OUT" 'function echo' "with its functions"
OUT=$("$FNHOST" check "$BUILD/tests/plugins/abi_older_minor.so")
t_has "$OUT" "(ABI 1.0)" "a plugin built for an older ABI minor (1.0) is accepted"
OUT=$("$FNHOST" check "$BUILD/tests/plugins/abi_major.so" 2>&1)
t_is "$?" 1 "fnhost check of a bad plugin exits 1"
t_has "$OUT" "built for ABI 2.0, host has $HOST_ABI" "and says why"
OUT=$("$FNHOST" check "$BUILD/tests/plugins/ctor_crash.so" 2>&1)
t_is "$?" 1 "fnhost check of a plugin that crashes while loading exits 1"
t_has "$OUT" "crashed while loading" "and survives it to say so"
t_done
