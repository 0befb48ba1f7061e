#!/usr/bin/env bash
# log_inject.sh - outside text cannot forge or garble the host's log:
# event ids with control characters and bad UTF-8 come out escaped, and
# what plugin code prints comes out as lines marked as the plugin's.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/../integration/lib.sh"
t_setup
t_plugins ok noisy
t_start

# An id with a newline, an escape sequence and a C1 control, sent twice:
# the line about the second names the id.
EV='{"name":"test/echo","id":"a\n2026-01-01T00:00:00.000Z error [sched] forged id\u001b[2J\u0085"}'
post "$EV"
t_is "$HTTP_CODE" 200 "an event with control characters in its id is taken"
post "$EV"
t_is "$HTTP_CODE" 200 "and its resend"
post '{"name":"test/noisy","data":{}}'
t_is "$HTTP_CODE" 200 "an event for the noisy plugin is taken"
wait_until 10 runs_in completed 2
t_ok $? "the echo and noisy runs completed"
wait_until 5 grep -q "forged on stdout" "$LOG"
t_stop

t_has "$(cat "$LOG")" 'forged id\x1b[2J\xc2\x85' \
    "the id's escape sequence and C1 character are written escaped"
t_is "$(tr -d '\n\t' <"$LOG" | LC_ALL=C grep -c '[[:cntrl:]]')" 0 \
    "the log holds no control character but its line ends"
t_is "$(LC_ALL=C grep -c '^[^ ]* [a-z]* *\[[a-z]*\] ' "$LOG")" \
    "$(wc -l <"$LOG")" "every line has the host's shape"
t_is "$(grep -c '^2026-01-01T00:00:00.000Z' "$LOG")" 0 \
    "no line starts as a forged one"
t_is "$(grep -c '\[plugin\] noisy: 2026-01-01T00:00:00.000Z error \[sched\] forged on stdout$' "$LOG")" \
    1 "what the plugin printed on stdout is marked as the plugin's"
t_is "$(grep -c '\[plugin\] noisy: 2026-01-01T00:00:00.000Z error \[sched\] forged on stderr$' "$LOG")" \
    1 "and what it printed on stderr"
N=$(grep -c '\[plugin\] noisy.so: 2026-01-01T00:00:00.000Z error \[main\] forged at load' "$LOG")
t_ok "$([ "$N" -ge 3 ]; echo $?)" \
    "what its load() printed, in describe and 2 workers, is marked with its file ($N)"
t_has "$(cat "$LOG")" '[plugin] noisy: \x1b[2Jcleared' \
    "an unfinished last line comes out too, escaped"
t_done
