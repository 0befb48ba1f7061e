#!/usr/bin/env bash
# run.sh - builds the libFuzzer targets with clang and runs each a while.
# SPDX-License-Identifier: Apache-2.0
#
# Prints TAP: "ok N - fuzz_X: no crash in S s (K runs)", or "not ok" with
# the file that reproduces the crash (run build/fuzz/fuzz_X FILE to see it
# again). Exits 1 on a crash or a build failure; when clang or libFuzzer is
# missing, prints one "ok 1 # SKIP" and exits 0 (scripts/deps.sh fuzz
# installs them).
#
#   FUZZ_SECONDS=20       how long each target runs; 0 only replays the
#                         corpus (the seeds and what earlier runs kept)
#   FUZZ_TARGETS=a,b      only these targets (fuzz_ingest,fuzz_proto,...)
#   FUZZ_CC=clang         the compiler
#
# Each target runs on a copy of tests/fuzz/corpus/<target> in
# build/fuzz/corpus-<target>, which keeps what the fuzzer finds between
# runs without touching the seeds in the tree.
set -u
cd "$(dirname "$0")/../.." || exit 1

seconds="${FUZZ_SECONDS:-20}"
cc="${FUZZ_CC:-clang}"
out=build/fuzz

# The host sources each target links: only what it calls. Each links the
# core library (lib/, see build_core) as well.
declare -A sources=(
    [fuzz_ingest]="host/ingest.c host/util.c"
    [fuzz_seed]="host/ingest.c host/util.c"
    [fuzz_duration]=""
    [fuzz_proto]="host/proto.c host/util.c"
    [fuzz_config]="host/config.c host/fnopt.c host/util.c"
    [fuzz_signature]="host/signature.c"
    [fuzz_expr]=""
    [fuzz_cron]=""
)
targets="fuzz_ingest fuzz_seed fuzz_duration fuzz_proto fuzz_config
         fuzz_signature fuzz_expr fuzz_cron"

# "ok 1 # SKIP" rather than "1..0": tests/run.sh counts "ok" lines.
skip() {
    echo "fuzz: skipped: $1" >&2
    echo "ok 1 # SKIP fuzz: $1"
    echo "1..1"
    exit 0
}

command -v "$cc" >/dev/null 2>&1 ||
    skip "$cc not found (scripts/deps.sh fuzz installs it)"
pkgs="libevent json-c sqlite3 libcrypto libpcre2-8"
# shellcheck disable=SC2086
pkg_cflags=$(pkg-config --cflags $pkgs 2>/dev/null) ||
    skip "pkg-config cannot find $pkgs (scripts/deps.sh build)"
# shellcheck disable=SC2086
pkg_libs=$(pkg-config --libs $pkgs)

mkdir -p "$out"
# Debian's clang leaves libFuzzer to libclang-rt-N-dev, only recommended.
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);\n%s\n' \
    'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
    >"$out/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$out/probe" "$out/probe.c" \
    >"$out/probe.log" 2>&1 ||
    skip "$cc has no libFuzzer (Debian: libclang-rt-dev); see $out/probe.log"

# Readable stacks need llvm-symbolizer; Debian keeps it in llvm-N.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] &&
    ! command -v llvm-symbolizer >/dev/null 2>&1; then
    for s in /usr/lib/llvm-*/bin/llvm-symbolizer; do
        [ -x "$s" ] && export ASAN_SYMBOLIZER_PATH="$s"
    done
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer -std=c11 -D_GNU_SOURCE -Wall -Wextra
        -Wno-unused-parameter -Isdk -iquote lib -iquote host $pkg_cflags"
libs="$pkg_libs -lpthread -ldl -lm"

selected() {
    [ -z "${FUZZ_TARGETS:-}" ] && return 0
    case ",$FUZZ_TARGETS," in *",$1,"*) return 0 ;; esac
    return 1
}

# The core library, as the Makefile's libfnhost_core.a but built with the
# fuzzing flags: compiled once for every target, unless it is newer than
# everything it is made of.
core=$out/libfnhost_core.a
build_core() {
    local f

    if [ -f "$core" ]; then
        for f in lib/*.[ch] sdk/fnhost.h tests/fuzz/run.sh; do
            [ "$f" -nt "$core" ] && break
            f=""
        done
        [ -z "$f" ] && return 0
    fi
    rm -rf "$core" "$out/lib" && mkdir -p "$out/lib" || return 1
    for f in lib/*.c; do
        # shellcheck disable=SC2086
        "$cc" $cflags -c -o "$out/lib/$(basename "$f" .c).o" "$f" || return 1
    done >"$out/core.build.log" 2>&1
    ar rcs "$core" "$out"/lib/*.o
}

# Builds TARGET unless the binary is newer than everything it is made of.
build() {
    local t=$1 bin=$out/$1 f
    local deps="tests/fuzz/$t.c ${sources[$t]} $core tests/fuzz/run.sh"

    if [ -x "$bin" ]; then
        for f in $deps host/*.h lib/*.h sdk/*.h; do
            [ "$f" -nt "$bin" ] && break
            f=""
        done
        [ -z "$f" ] && return 0
    fi
    # shellcheck disable=SC2086
    "$cc" $cflags -o "$bin" "tests/fuzz/$t.c" ${sources[$t]} "$core" $libs \
        >"$out/$t.build.log" 2>&1
}

if ! build_core; then
    echo "not ok 1 - the core library does not build (see $out/core.build.log)"
    sed 's/^/#   /' "$out/core.build.log" | head -20
    echo "1..1"
    exit 1
fi
n=0 failed=0
for t in $targets; do
    selected "$t" || continue
    n=$((n + 1))
    log=$out/$t.log
    if ! build "$t"; then
        echo "not ok $n - $t: does not build (see $out/$t.build.log)"
        sed 's/^/#   /' "$out/$t.build.log" | head -20
        failed=$((failed + 1))
        continue
    fi
    corpus=$out/corpus-$t
    mkdir -p "$corpus" "$out/crashes-$t"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
    if [ "$seconds" -gt 0 ]; then
        how=-max_total_time=$seconds
    else
        how=-runs=0
    fi
    start=$(date +%s)
    "$out/$t" "$how" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes-$t/" "$corpus" >"$log" 2>&1
    rc=$?
    took=$(($(date +%s) - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ "$rc" -eq 0 ]; then
        echo "ok $n - $t: no crash in $took s (${runs:-?} runs)"
        continue
    fi
    failed=$((failed + 1))
    crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "not ok $n - $t: crashed after $took s: ${crash:-no crash file}"
    [ -n "$crash" ] && echo "#   again: $out/$t $crash (log $log)"
    # What failed, then the frames below libFuzzer's own.
    grep -a -E '^fuzz_|ERROR: |runtime error' "$log" | grep -v 'deadly signal' |
        head -4 | cut -c1-300 | sed 's/^/#   /'
    grep -a -E '^ +#[0-9]+ ' "$log" |
        grep -v -E 'fuzzer::|__sanitizer|libc\.so|libc_start|pthread_kill' |
        grep -v -E '(raise|abort)\.c| in (main|_start) ' |
        sed 's/ (BuildId: [0-9a-f]*)//' | head -8 | sed 's/^/#   /'
done
echo "1..$n"
[ "$failed" -eq 0 ]
