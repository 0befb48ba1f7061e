#!/usr/bin/env bash
# cli.sh - the command line: help written from the tables (and the README's
# tables, which must be the same).
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

t_done
