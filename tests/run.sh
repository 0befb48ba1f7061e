#!/usr/bin/env bash
# run.sh - runs every test: unit binaries, then integration, hostile and
# fuzz tests.
# SPDX-License-Identifier: Apache-2.0
#
# Each test prints TAP ("ok N - what", "not ok N - what", "ok N # skip
# why") and a plan ("1..N", first or last). The last line is "N passed, N
# failed, N skipped". A test fails on a "not ok", a non-zero exit, a
# "Bail out!", a missing or wrong plan (it stopped early), or running past
# its time.
#
#   FNHOST_BUILD=build     the build folder (build or build-san)
#   TESTS=name1,name2      only these (unit binary, integration or hostile
#                          script names, or fuzz); a name that is no test
#                          fails the run
#   TEST_TIMEOUT=300       seconds each test may take; then its process
#                          group (daemons and all) is stopped
set -u
cd "$(dirname "$0")/.." || exit 2
export FNHOST_BUILD="${FNHOST_BUILD:-build}"
export FNHOST_ROOT="$PWD"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Generous: chaos under ASan on a shared machine takes minutes; the limit
# is for a hang, not a slow test.
export TEST_TIMEOUT="${TEST_TIMEOUT:-300}"

passed=0 failed=0 skipped=0 failures=()
logdir="$FNHOST_BUILD/test-logs"
mkdir -p "$logdir"

case "$TEST_TIMEOUT" in
'' | *[!0-9]* | 0)
    echo "run.sh: TEST_TIMEOUT must be a whole number of seconds above 0" \
        "(got \"$TEST_TIMEOUT\")" >&2
    exit 2
    ;;
esac

# Every test there is, as "kind name path" lines.
tests_all() {
    local t
    for t in "$FNHOST_BUILD"/tests/unit/test_*; do
        [ -x "$t" ] && echo "unit $(basename "$t") $t"
    done
    for t in tests/integration/*.sh tests/hostile/*.sh; do
        [ -f "$t" ] || continue
        [ "$(basename "$t")" = lib.sh ] && continue
        echo "script $(basename "$t" .sh) $t"
    done
    echo "fuzz fuzz tests/fuzz/run.sh"
}

selected() {
    [ -z "${TESTS:-}" ] && return 0
    case ",$TESTS," in *",$1,"*) return 0 ;; esac
    return 1
}

# Checks the TAP in LOG: prints "P F S" (passed, failed, skipped) and, for
# each problem, a "not ok" line appended to LOG. RC is the exit status;
# TIMEDOUT 1 if the test ran out of time.
tap_count() {
    local log=$1 name=$2 rc=$3
    awk -v name="$name" -v rc="$rc" -v timedout="$4" '
        /^(not )?ok( |$)/ {
            if (plans && plan_after) late = 1
            n++
            if ($0 ~ /^not ok/) f++
            else if (tolower($0) ~ /^ok [0-9]*[^#]*# *skip/) s++
            else p++
            next
        }
        /^1\.\.[0-9]+/ {
            plans++
            want = substr($1, 4) + 0
            plan_after = n > 0
            if (want == 0 && tolower($0) ~ /# *skip/) planskip = 1
            next
        }
        /^Bail out!/ { bail = $0 }
        END {
            why = ""
            if (bail != "") why = "bailed out: " bail
            else if (timedout)
                why = "timed out (" ENVIRON["TEST_TIMEOUT"] " s, TEST_TIMEOUT)"
            else if (rc != 0 && f == 0)
                why = "exited with status " rc
            else if (plans == 0)
                why = "printed no plan (1..N): it stopped early"
            else if (plans > 1)
                why = "printed " plans " plans"
            else if (late)
                why = "printed its plan between tests"
            else if (want != n)
                why = "planned " want " tests but ran " n
            else if (n == 0 && !planskip)
                why = "ran no test"
            if (n == 0 && planskip && why == "") s = 1
            if (why != "") {
                print "not ok - " name " " why >>FILENAME
                f++
            }
            print p + 0, f + 0, s + 0
        }' "$log"
}

# The process group of the test running now, for a signal to the runner.
current=""
on_signal() {
    [ -n "$current" ] && kill -TERM -- "-$current" 2>/dev/null
    echo "run.sh: interrupted" >&2
    exit 130
}
trap on_signal INT TERM

# Runs one TAP-producing command under timeout, which gives it a process
# group of its own: at TEST_TIMEOUT the whole group gets SIGTERM, and
# SIGKILL 10 s later or once the test has exited, so a hung daemon does
# not outlive its test.
run_one() {
    local name=$1 log="$logdir/$1.log" start rc p f s late=0
    shift
    start=$(date +%s)
    timeout --kill-after=10 "$TEST_TIMEOUT" "$@" >"$log" 2>&1 </dev/null &
    current=$!
    wait "$current"
    rc=$?
    # 124: stopped by SIGTERM; 137 after the time: SIGKILL was needed.
    if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] &&
        [ $(($(date +%s) - start)) -ge "$TEST_TIMEOUT" ]; }; then
        late=1
        kill -KILL -- "-$current" 2>/dev/null
    fi
    current=""
    read -r p f s < <(tap_count "$log" "$name" "$rc" "$late")
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    printf '%-28s %3d passed, %d failed%s  (%ds)\n' "$name" "$p" "$f" \
        "$([ "$s" -gt 0 ] && echo ", $s skipped")" $(($(date +%s) - start))
    [ "$s" -gt 0 ] && grep -iE '^(ok [0-9]*[^#]*|1\.\.0 *)# *skip' "$log" |
        head -5 | sed 's/^/    /'
    if [ "$f" -ne 0 ]; then
        failures+=("$name")
        grep -B2 -A12 '^not ok' "$log" | head -60 | sed 's/^/    /'
    fi
}

all=$(tests_all)
# A name in TESTS that is no test is a typo: the run fails rather than
# passing with nothing run.
if [ -n "${TESTS:-}" ]; then
    names=$(tr ',' '\n' <<<"$TESTS" | sed '/^$/d')
    if [ -z "$names" ]; then
        echo "not ok - TESTS=\"$TESTS\" names no test"
        failed=$((failed + 1))
        failures+=("TESTS")
    fi
    for n in $names; do
        awk -v n="$n" '$2 == n { found = 1 } END { exit !found }' \
            <<<"$all" && continue
        echo "not ok - TESTS names \"$n\", which is no test here"
        failed=$((failed + 1))
        failures+=("$n")
    done
fi

while read -r kind name path; do
    selected "$name" || continue
    case $kind in
    unit) run_one "$name" "$path" ;;
    script) run_one "$name" bash "$path" ;;
    # A short run of every fuzz target (webhook signatures, event bodies,
    # ...) when clang's libFuzzer is here; tests/fuzz/run.sh says so if it
    # is not. FUZZ_SECONDS=0 only replays the corpus; make fuzz runs them
    # longer.
    fuzz) run_one fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-2}" "$path" ;;
    esac
done <<<"$all"

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
