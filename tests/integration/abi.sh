#!/usr/bin/env bash
# abi.sh - plugins of every ABI 1 minor load, and the options they declare,
# wherever their minor puts them, rule their runs: retries and timeouts of
# a 1.1 plugin (fh_function fields), of a 1.2 one (FH_OPTS()), and of a
# plugin built for a newer minor; a [function ID] section overrides them.
# Options a host cannot honour refuse the plugin, saying why.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins abi_older_minor abi_v1_1 opts_v1_2 abi_newer_minor bad_opts_size \
    abi_newer_option cancel
t_start

L=$(cat "$LOG")
t_has "$L" "bad_opts_size.so: plugin bad-opts-size: function \"small-opts\": its options say they are 8 bytes, smaller than ABI 1.2's, the first: set them with FH_OPTS()" \
    "options smaller than 1.2's are refused, naming plugin and function"
t_has "$L" "abi_newer_option.so: plugin abi-newer-option: function \"abi-newer-option\" sets an option newer than this host's ABI $HOST_ABI knows" \
    "an option of a newer minor is refused"
grep -Eq "\(its options are [0-9]+ bytes, this host reads [0-9]+\): upgrade fnhost" <<<"$L"
t_ok $? "saying what to do, with both sizes"

# fn_json ID: the function's entry in GET /v1/functions.
fn_json() {
    get /v1/functions
    jq -c --arg id "$1" '.data.plugins[].functions[] | select(.id == $id)' \
        <<<"$BODY_OUT"
}
t_is "$(fn_json v11-options | jq -c '[.retries, .timeout_ms]')" '[1,7000]' \
    "a 1.1 plugin's .retries and .timeout are in GET /v1/functions"
t_is "$(fn_json v12-options | jq -c '[.retries, .timeout_ms]')" '[2,9000]' \
    "and so are a 1.2 plugin's FH_OPTS(.retries = 2, .timeout = \"9s\")"
t_is "$(fn_json v12-no-retries | jq -c '[.retries, .timeout_ms]')" '[0,30000]' \
    "FH_RETRIES_NONE is 0 retries; an unset timeout is the host's"
t_is "$(fn_json abi-older-minor | jq -c '[.retries, .timeout_ms]')" '[4,30000]' \
    "a 1.0 plugin without options gets the host's defaults"
t_is "$(fn_json abi-newer-minor | jq -r .retries)" 6 \
    "a plugin built for a newer minor loads, with the options it set"
t_is "$(fn_json v12-options |
    jq -c '[.retries, .timeouts_start_ms, .timeouts_finish_ms]')" '[2,0,0]' \
    "1.2 options, shorter than 1.3's, read as far as they go: no timeouts"
t_is "$(fn_json cancel-start |
    jq -c '[.timeouts_start_ms, .timeouts_finish_ms]')" '[1000,0]' \
    "FH_OPTS(.timeouts = {.start = \"1s\"})"

post '[{"name":"test/v11-options","data":{}},
       {"name":"test/v12-options","data":{}},
       {"name":"test/v12-no-retries","data":{}},
       {"name":"test/v12-hangs","data":{}},
       {"name":"test/abi-newer-minor","data":{}}]'
t_is "$HTTP_CODE" 200 "events for each are accepted"
wait_until 20 runs_in failed 4
wait_until 20 runs_in completed 1
attempts() {
    sql "select count(*) from attempts a join runs r on a.run_id = r.id
         where r.function_id = '$1'"
}
t_is "$(attempts v11-options)" 2 "the 1.1 plugin's run fails after 1 + 1 attempts"
t_is "$(attempts v12-options)" 3 "the 1.2 plugin's after 1 + 2"
t_is "$(attempts v12-no-retries)" 1 "FH_OPTS(.retries = FH_RETRIES_NONE) after one"
t_is "$(sql "select error from runs where function_id = 'v12-options'")" \
    "1.2 failure on attempt 2 of 3" "the handler saw max_attempts 3"
t_is "$(sql "select error from runs where function_id = 'v12-hangs'")" \
    "timed out after 300ms" "FH_OPTS(.timeout = \"300ms\") ends a handler"
t_is "$(sql "select output from runs where function_id = 'abi-newer-minor'")" \
    '{"max_attempts":7}' "the newer plugin's run saw its retries too"
t_stop

# The [function ID] section wins over the descriptor, option by option.
cat >"$T_DIR/fnhost.ini" <<'INI'
[function v12-options]
retries = 0
timeout = 3s

[function v11-options]
timeout = 2m

[function cancel-start]
timeouts.start = 0
timeouts.finish = 2h
INI
STATE="$T_DIR/state2"
t_start --config "$T_DIR/fnhost.ini"
t_is "$(fn_json v12-options | jq -c '[.retries, .timeout_ms]')" '[0,3000]' \
    "[function v12-options] overrides both of its FH_OPTS()"
t_is "$(fn_json v11-options | jq -c '[.retries, .timeout_ms]')" '[1,120000]' \
    "[function v11-options] overrides the timeout and keeps the plugin's retries"
t_is "$(fn_json cancel-start |
    jq -c '[.timeouts_start_ms, .timeouts_finish_ms]')" '[0,7200000]' \
    "[function cancel-start] turns timeouts.start off and sets timeouts.finish"
post '{"name":"test/v12-options","data":{}}'
wait_until 20 runs_in failed 1
t_is "$(attempts v12-options)" 1 "retries = 0 from the config makes one attempt"
t_stop
t_done
