#!/usr/bin/env bash
# disk_full.sh - the disk fills while runs are due: no new attempts start
# while outcomes cannot be recorded, the log says so once rather than once
# per outcome per second, a stop then drops nothing that the store does
# not have (no leak under ASan), and every run completes once space is
# back.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/../integration/lib.sh"
t_setup
if [ "$(id -u)" -ne 0 ]; then
    t_ok 0 "# skip a full disk needs a small tmpfs, which needs root"
    t_done
    exit
fi
mkdir -p "$STATE"
if ! mount -t tmpfs -o size=16m fnhost-test "$STATE" 2>/dev/null; then
    t_ok 0 "# skip cannot mount a tmpfs here"
    t_done
    exit
fi
trap 'kill -9 $T_PID 2>/dev/null; wait $T_PID 2>/dev/null; T_PID=""; umount "$STATE"; t_cleanup' EXIT
t_plugins hang
N=20

t_start
# Each run's first attempt hangs until its 1 s timeout; the second
# completes.
for i in $(seq 1 $N); do
    post '{"name":"test/hang","data":{}}'
    [ "$HTTP_CODE" = 200 ] || break
done
t_is "$i/$HTTP_CODE" "$N/200" "$N events are taken"

fill() { dd if=/dev/zero of="$STATE/filler" bs=64k 2>/dev/null; sync; }
fill
t_ok "$([ "$(df --output=avail "$STATE" | tail -1)" -eq 0 ]; echo $?)" \
    "the disk is full"
LINES0=$(grep -c "cannot record" "$LOG")
sleep 5
LINES=$(($(grep -c "cannot record" "$LOG") - LINES0))
t_ok "$([ "$LINES" -ge 1 ]; echo $?)" "the log says outcomes cannot be recorded"
t_ok "$([ "$LINES" -le 2 ]; echo $?)" \
    "once, not once per outcome per second ($LINES lines in 5 s)"

# Stopped while full: what is not recorded was never acknowledged; the
# store keeps the runs claimed and requeues them at the next start.
t_stop
rm -f "$STATE/filler"
t_start
wait_until 60 runs_in completed $N
t_ok $? "once space is back, all $N runs complete"
t_is "$(sql "select count(*) from runs")" $N "and there are $N runs, no more"
t_stop
t_done
