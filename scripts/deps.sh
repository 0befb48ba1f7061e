#!/bin/sh
# deps.sh - installs the Debian packages fnhost needs, or says how to.
# SPDX-License-Identifier: Apache-2.0
#
#   scripts/deps.sh run     the compiler and libraries, for make run
#   scripts/deps.sh build   and the tools the tests use, with Node >= 20 for
#                           the Inngest client test (make test)
#   scripts/deps.sh bench   and wrk, for make bench
#   scripts/deps.sh fuzz    and clang with libFuzzer
#   scripts/deps.sh check   install nothing: name what `make` is missing
#
# As root it installs what is missing with apt-get (and npm, for a Node
# newer than Debian's); otherwise it prints the exact commands and fails,
# except for Node: without it the Inngest client test is skipped, and says
# so in the summary, so a user who is not root still runs the rest.
set -eu

# What building and running fnhost needs (make run); the tests add tools.
run_pkgs="gcc make pkg-config libevent-dev libjson-c-dev libsqlite3-dev \
libssl-dev libcurl4-openssl-dev libpcre2-dev"
test_pkgs="curl sqlite3 jq binutils procps clang libclang-rt-dev"
node=1
mode=${1:-build}
case "$mode" in
run) pkgs="$run_pkgs"; node=0 ;;
build) pkgs="$run_pkgs $test_pkgs" ;;
bench) pkgs="$run_pkgs $test_pkgs wrk" ;;
fuzz) pkgs="$run_pkgs $test_pkgs llvm"; node=0 ;;
check) pkgs="$run_pkgs"; node=0 ;;
*) echo "usage: scripts/deps.sh [run|build|bench|fuzz|check]" >&2; exit 2 ;;
esac

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null |
        grep -q 'install ok installed'
}

# The Inngest client test drives the real inngest JS SDK, which needs Node
# 20 or newer. Debian 12 has 18: then npm installs Node 22 (the npm
# registry's "node" package) into /usr/local.
node_major() {
    command -v node >/dev/null 2>&1 || { echo 0; return; }
    node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}
node_ok() {
    [ "$(node_major)" -ge 20 ] && command -v npm >/dev/null 2>&1
}

missing=""
for p in $pkgs; do
    installed "$p" || missing="$missing $p"
done
# Debian's node and npm, unless a node and npm are here already (e.g.
# NodeSource's nodejs, which brings its own npm).
if [ "$node" = 1 ] && ! command -v npm >/dev/null 2>&1; then
    for p in nodejs npm; do
        installed "$p" || missing="$missing $p"
    done
fi

if [ "$mode" = check ] && [ -n "$missing" ]; then
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run: make deps (as root), or: sudo apt-get install -y$missing" >&2
    exit 1
fi

if [ -n "$missing" ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: missing Debian packages:$missing" >&2
        echo "deps: run: sudo apt-get install -y$missing" >&2
        if [ "$node" = 1 ] && ! node_ok; then
            echo "deps: then: sudo npm install -g node@22" >&2
        fi
        exit 1
    fi
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ "$node" = 1 ] && ! node_ok; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "deps: the Inngest client test needs Node >= 20 and npm (have" \
            "$(node --version 2>/dev/null || echo none)): it will be" \
            "skipped" >&2
        command -v npm >/dev/null 2>&1 ||
            echo "deps: to run it: sudo apt-get install -y nodejs npm" >&2
        echo "deps: to run it: sudo npm install -g node@22" >&2
        exit 0
    fi
    echo "deps: installing Node 22 from the npm registry (Debian has" \
        "$(node --version 2>/dev/null || echo none))" >&2
    npm install -g --no-fund --no-audit --loglevel=error node@22 >/dev/null
    hash -r 2>/dev/null || true
    if ! node_ok; then
        echo "deps: node in PATH is still $(node --version 2>/dev/null)" \
            "after npm install -g node@22 (npm's prefix: $(npm prefix -g))" >&2
        exit 1
    fi
fi
exit 0
