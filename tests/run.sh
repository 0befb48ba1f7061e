#!/usr/bin/env bash
# run.sh - runs every test: unit binaries, then integration and fault tests.
# SPDX-License-Identifier: Apache-2.0
#
# Each test prints TAP ("ok N - what", "not ok N - what", "ok N # skip
# why"). The last line is "N passed, N failed, N skipped". FNHOST_BUILD
# names the build folder (build or build-san); TESTS=name1,name2 runs only
# those (unit or integration).
set -u
cd "$(dirname "$0")/.."
export FNHOST_BUILD="${FNHOST_BUILD:-build}"
export FNHOST_ROOT="$PWD"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0 failed=0 skipped=0 failures=()
logdir="$FNHOST_BUILD/test-logs"
mkdir -p "$logdir"

selected() {
    [ -z "${TESTS:-}" ] && return 0
    case ",$TESTS," in *",$1,"*) return 0 ;; esac
    return 1
}

# Runs one TAP-producing command; counts its "ok", "not ok" and skipped
# ("ok N # skip ...") lines.
run_one() {
    local name=$1 log="$logdir/$1.log" start rc p f s
    shift
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    s=$(grep -ciE '^ok [0-9]*[^#]*# *skip' "$log")
    p=$(($(grep -c '^ok ' "$log") - s))
    f=$(grep -c '^not ok ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "not ok - $name exited with status $rc" >>"$log"
        f=1
    fi
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && [ "$s" -eq 0 ]; then
        echo "not ok - $name ran no test" >>"$log"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    skipped=$((skipped + s))
    printf '%-28s %3d passed, %d failed%s  (%ds)\n' "$name" "$p" "$f" \
        "$([ "$s" -gt 0 ] && echo ", $s skipped")" $(($(date +%s) - start))
    [ "$s" -gt 0 ] && grep -iE '^ok [0-9]*[^#]*# *skip' "$log" | head -5 |
        sed 's/^/    /'
    if [ "$f" -ne 0 ]; then
        failures+=("$name")
        grep -B2 -A12 '^not ok' "$log" | head -60 | sed 's/^/    /'
    fi
}

for t in "$FNHOST_BUILD"/tests/unit/test_*; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    selected "$name" && run_one "$name" "$t"
done
for t in tests/integration/*.sh; do
    name=$(basename "$t" .sh)
    [ "$name" = lib ] && continue
    selected "$name" && run_one "$name" bash "$t"
done

# A short run of every fuzz target (webhook signatures, event bodies, ...)
# when clang's libFuzzer is here; tests/fuzz/run.sh says so if it is not.
# FUZZ_SECONDS=0 only replays the corpus; make fuzz runs them longer.
if selected fuzz; then
    run_one fuzz env FUZZ_SECONDS="${FUZZ_SECONDS:-2}" tests/fuzz/run.sh
fi

echo
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]} (logs in $logdir)"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
