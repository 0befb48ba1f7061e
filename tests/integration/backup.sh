#!/usr/bin/env bash
# backup.sh - fnhost backup while the host serves under load, and fnhost
# restore: every event acknowledged before the backup began is in it, and
# its runs complete from the restored store, a sleeping one too; restore
# keeps the store it replaces, and refuses a serving host and a bad file.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
t_plugins counter steps
cat >"$T_DIR/fnhost.ini" <<INI
[plugin counter]
database = $T_DIR/count.db
[plugin steps]
database = $T_DIR/execs.db
INI
t_start --config "$T_DIR/fnhost.ini"
mkdir -p "$T_DIR/backups"
BACKUP="$T_DIR/backups/fnhost.backup"

# A run that sleeps across the backup, the crash and the restore.
send_event test/steps '{"sleep":"6s"}'
SLEEPER=$EV
sleeping() { [ "$(sql "select status from runs where event_id = '$SLEEPER'")" = sleeping ]; }
wait_until 10 sleeping
t_ok $? "(a run sleeps)"

# Load: events one after another, each id written down once acknowledged.
ACKED="$T_DIR/acked"
: >"$ACKED"
(
    for i in $(seq 1 300); do
        out=$(curl -s -w '\n%{http_code}' -X POST --data-binary \
            "{\"name\":\"test/count\",\"data\":{\"n\":$i,\"sleep_ms\":20}}" \
            "$URL/e/test") || continue
        [ "${out##*$'\n'}" = 200 ] &&
            jq -r '.ids[0]' <<<"${out%$'\n'*}" >>"$ACKED"
    done
) &
POSTER=$!
acked_some() { [ "$(wc -l <"$ACKED")" -ge 60 ]; }
wait_until 30 acked_some
BEFORE=$(wc -l <"$ACKED")
OUT=$("$FNHOST" backup "$BACKUP" --state "$STATE" 2>&1)
t_is "$?" 0 "fnhost backup works while the host serves events"
t_has "$OUT" "events" "and says what the copy holds: $OUT"
wait "$POSTER"
TOTAL=$(wc -l <"$ACKED")
t_ok "$([ "$TOTAL" -gt "$BEFORE" ]; echo $?)" \
    "events went on being acknowledged ($BEFORE before the backup, $TOTAL in all)"
t_is "$(ls "$T_DIR/backups")" fnhost.backup "the backup is one file, no temporary left"
t_is "$(sqlite3 "$BACKUP" 'pragma journal_mode')" delete \
    "that opens alone (no WAL beside it)"

# The host dies. Its state folder gets the backup back.
t_kill9
OUT=$("$FNHOST" restore "$BACKUP" --state "$STATE" 2>&1)
t_is "$?" 0 "fnhost restore puts the backup in place: $OUT"
t_has "$OUT" "the store it replaced is $STATE/fnhost.db.before-restore-" \
    "and says where the store it replaced went"
ASIDE=$(sed -n 's/^the store it replaced is //p' <<<"$OUT")
t_is "$(sqlite3 -readonly "$ASIDE" "select count(*) from events
    where name = 'test/count'")" "$TOTAL" \
    "that store, its WAL beside it, still has every event ($TOTAL)"

t_start --config "$T_DIR/fnhost.ini"
MISSING=0
for id in $(head -n "$BEFORE" "$ACKED"); do
    [ "$(sql "select count(*) from events e join runs r on r.event_id = e.id
        where e.id = '$id'")" = 1 ] || MISSING=$((MISSING + 1))
done
t_is "$MISSING" 0 \
    "every event acknowledged before the backup began is restored with its run ($BEFORE)"
done_before() {
    [ "$(sql "select count(*) from runs where status != 'completed' and
        event_id in ($(head -n "$BEFORE" "$ACKED" | sed "s/.*/'&'/" |
        paste -sd,))")" = 0 ]
}
wait_until 60 done_before
t_ok $? "and all their runs complete from the restored store"
woke() { [ "$(sql "select status from runs where event_id = '$SLEEPER'")" = completed ]; }
wait_until 20 woke
t_ok $? "the run that slept in the backup wakes and completes"

# A serving host keeps its store.
N=$(sql "select count(*) from events")
OUT=$("$FNHOST" restore "$BACKUP" --state "$STATE" 2>&1)
t_is "$?" 1 "restore refuses a state folder that a host serves"
t_has "$OUT" "is serving the state folder $STATE: stop it first" "saying so"
t_is "$(sql "select count(*) from events")" "$N" "and changes nothing"
t_stop

# Bad input replaces nothing.
echo "not a store" >"$T_DIR/junk"
OUT=$("$FNHOST" restore "$T_DIR/junk" --state "$STATE" 2>&1)
t_is "$?" 1 "restore refuses a file that is not a database"
t_has "$OUT" "file is not a database" "saying so: $OUT"
t_is "$(sqlite3 -readonly "$STATE/fnhost.db" 'select count(*) from events')" \
    "$N" "the store is untouched"
sqlite3 "$T_DIR/other.db" "create table t(x)"
OUT=$("$FNHOST" restore "$T_DIR/other.db" --state "$STATE" 2>&1)
t_has "$OUT" "is not an fnhost store" "or a database that is not a store"
OUT=$("$FNHOST" backup "$T_DIR/x" --state "$T_DIR/nothing" 2>&1)
t_is "$?" 1 "backup without a store fails"
t_has "$OUT" "no store at $T_DIR/nothing/fnhost.db" "saying where it looked"
OUT=$("$FNHOST" backup "$T_DIR/no/such/dir/x" --state "$STATE" 2>&1)
t_has "$OUT" "backup: create $T_DIR/no/such/dir/x.tmp-" \
    "a folder that does not exist is named"
t_done
