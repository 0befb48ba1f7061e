#!/usr/bin/env bash
# trickle.sh - a client that sends its request a byte at a time loses its
# connection at request_timeout, though each byte comes well within the
# idle timeout; whole requests, also slow ones, are answered.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/../integration/lib.sh"
t_setup
t_plugins ok
t_start --request-timeout 2s
PORT=${URL##*:}

# trickle FD TEXT: sends TEXT a byte every 0.25 s while the host keeps the
# connection; sets SENT (bytes sent), ANSWERED (1: an answer came) and
# CLOSED (1: the host is done with the connection).
trickle() {
    local fd=$1 text=$2 i rc
    SENT=0 CLOSED=0 ANSWERED=0
    for ((i = 0; i < ${#text}; i++)); do
        printf '%s' "${text:i:1}" >&"$fd" 2>/dev/null || { CLOSED=1; return; }
        SENT=$((SENT + 1))
        read -r -t 0.25 -u "$fd" _
        rc=$?
        if [ "$rc" -le 128 ]; then
            [ "$rc" -eq 0 ] && ANSWERED=1
            CLOSED=1
            return
        fi
    done
}

REQ=$'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n'
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
trickle "$fd" "$REQ"
exec {fd}>&-
t_is "$CLOSED/$ANSWERED" 1/0 \
    "a request trickled a byte at a time is cut off, unanswered"
t_ok "$([ "$SENT" -lt "${#REQ}" ]; echo $?)" \
    "before it is whole ($SENT of ${#REQ} bytes)"

# Whole requests on one connection, 1.5 s apart: the last goes out about
# 4.5 s after the connection opened, past the 2 s deadline and its 1 s
# sweep, so each is answered only if the deadline starts again after an
# answer.
# (A connection cut early makes a write fail, not kill the script.)
trap '' PIPE
exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
for i in 1 2 3 4; do
    printf 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd" 2>/dev/null
    [ "$i" -lt 4 ] && sleep 1.5
done
ANSWERS=$(timeout 3 cat <&"$fd" | grep -o 'HTTP/1.1 200' | wc -l)
exec {fd}>&-
t_is "$ANSWERS" 4 "requests 1.5 s apart on one connection are each answered"

# Connections closed after each answer, one after another: each new one
# may get the fd of the one before; each is answered.
OK=0
for i in $(seq 1 100); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
    printf 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&"$fd"
    read -r -t 5 -u "$fd" line && case "$line" in "HTTP/1.1 200"*) OK=$((OK + 1)) ;; esac
    exec {fd}>&-
done
t_is "$OK" 100 "100 connections closed after their answer are each answered"

post '{"name":"test/echo","data":{}}'
t_is "$HTTP_CODE" 200 "events are taken meanwhile"
t_stop
t_done
