#!/usr/bin/env bash
# store_damage.sh - the store runs in the mode the configuration says, and
# a damaged store is noticed, named and never acknowledged into.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
DB="$STATE/fnhost.db"

# The mode is what SQLite reports for the writer, not what was asked for.
t_start
t_has "$(cat "$LOG")" "journal_mode=wal synchronous=full" \
    "by default the store runs in WAL mode with synchronous=full"
post '{"name":"test/kept","data":{"n":1}}'
t_is "$HTTP_CODE" 200 "an event is stored"
t_stop
: >"$LOG"
t_start --synchronous normal
t_has "$(cat "$LOG")" "journal_mode=wal synchronous=normal" \
    "with --synchronous normal it runs in normal"
t_stop

# A damaged page: the events table's own. SQLite reads it only when it
# is used, so without a check the host would take events into this file.
ROOT=$(sql "select rootpage from sqlite_schema where name = 'events'")
PAGE=$(sql "pragma page_size")
cp "$DB" "$T_DIR/good.db"
head -c "$PAGE" /dev/zero | tr '\0' '\252' |
    dd of="$DB" bs="$PAGE" seek=$((ROOT - 1)) conv=notrunc status=none
: >"$LOG"
"$FNHOST" serve --listen 127.0.0.1:0 --state "$STATE" --plugins "$PLUGINS" \
    --workers 1 >>"$LOG" 2>&1
t_is "$?" 1 "fnhost refuses to start on a damaged store"
t_has "$(cat "$LOG")" "$DB is damaged" "naming the file"
t_has "$(cat "$LOG")" "sqlite3 $DB .recover" "and saying what to do"

# An operator may skip the check (a huge store); the damage is then met
# when a write touches it, and from then on nothing is acknowledged.
: >"$LOG"
t_start --store-check off
t_has "$(cat "$LOG")" "store_check = off: $DB is not checked" \
    "--store-check off skips the check, and says so"
post '{"name":"test/lost","data":{"n":2}}'
t_is "$HTTP_CODE" 503 "an event that meets the damage is refused, not acked"
post '{"name":"test/lost","data":{"n":3}}'
t_is "$HTTP_CODE" 503 "and so is every event after it"
t_has "$BODY_OUT" "damaged" "saying the store is damaged"
t_has "$(cat "$LOG")" "$DB is damaged" "the log names the file"
get /health
t_is "$HTTP_CODE" 503 "/health says the store is damaged"
t_stop

# A damaged header: the error names the file.
cp "$T_DIR/good.db" "$DB"
rm -f "$DB-wal" "$DB-shm"
printf 'this is no database' | dd of="$DB" conv=notrunc status=none
: >"$LOG"
"$FNHOST" serve --listen 127.0.0.1:0 --state "$STATE" --plugins "$PLUGINS" \
    --workers 1 >>"$LOG" 2>&1
t_is "$?" 1 "a store whose header is damaged is refused"
t_has "$(cat "$LOG")" "$DB: file is not a database" "naming the file"
t_done
