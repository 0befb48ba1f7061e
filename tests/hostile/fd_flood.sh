#!/usr/bin/env bash
# fd_flood.sh - more connections than the master has fds: it pauses
# accepting rather than spinning, logs a line now and then rather than
# one per failure, and serves again once the connections close.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/../integration/lib.sh"
t_setup
t_plugins ok
# A low fd limit for the daemon alone: its fds at rest (store, worker
# pipes, the loop) leave room for a few connections, not 100.
ulimit -Sn 64
t_start
ulimit -Sn "$(ulimit -Hn)"
PORT=${URL##*:}

get /health
t_is "$HTTP_CODE" 200 "the host serves under a limit of 64 fds"

# Hold 100 connections open: the kernel completes them (within the listen
# backlog, so none waits for a SYN retry), the master cannot accept them
# all.
FDS=()
for i in $(seq 1 100); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || break
    FDS+=("$fd")
done
t_is "${#FDS[@]}" 100 "100 connections are open"

# CPU time (utime + stime, in clock ticks) the master spends while the
# connections wait, against the ticks that pass meanwhile: a spinning
# master uses them all.
cpu() { awk '{print $14 + $15}' "/proc/$T_PID/stat"; }
uptime_ticks() { awk -v hz="$(getconf CLK_TCK)" '{printf "%d", $1 * hz}' /proc/uptime; }
LINES0=$(wc -l <"$LOG")
C0=$(cpu) U0=$(uptime_ticks)
sleep 3
C1=$(cpu) U1=$(uptime_ticks)
LINES1=$(wc -l <"$LOG")
USED=$((C1 - C0)) PASSED=$((U1 - U0))
t_ok "$([ $((USED * 2)) -lt "$PASSED" ]; echo $?)" \
    "the master uses less than half a CPU meanwhile ($USED of $PASSED ticks)"
t_ok "$([ $((LINES1 - LINES0)) -le 5 ]; echo $?)" \
    "and logs no more than 5 lines ($((LINES1 - LINES0)))"
t_has "$(cat "$LOG")" "cannot accept connections: Too many open files" \
    "a line says why it is not accepting"

for fd in "${FDS[@]}"; do
    exec {fd}>&-
done
wait_until 20 curl -sf "$URL/health"
t_ok $? "once they close, the host serves again"
post '{"name":"test/echo","data":{}}'
t_is "$HTTP_CODE" 200 "and takes events"
wait_until 10 runs_in completed 1
t_ok $? "which run"
t_stop
t_done
