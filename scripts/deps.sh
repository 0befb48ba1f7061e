#!/bin/sh
# deps.sh - installs the Debian packages fnhost needs, or says how to.
# SPDX-License-Identifier: Apache-2.0
#
#   scripts/deps.sh build   compilers, libraries and the tools the tests use
#   scripts/deps.sh bench   and wrk, for make bench
#   scripts/deps.sh fuzz    and clang with libFuzzer
set -eu

pkgs="gcc make pkg-config libevent-dev libjson-c-dev libsqlite3-dev \
libinih-dev libssl-dev libcurl4-openssl-dev curl sqlite3 jq binutils procps \
clang libclang-rt-dev"
case "${1:-build}" in
build) ;;
bench) pkgs="$pkgs wrk" ;;
fuzz) pkgs="$pkgs clang libclang-rt-dev llvm" ;;
*) echo "usage: scripts/deps.sh [build|bench|fuzz]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
        grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    exit 0
fi
echo "deps: missing Debian packages:$missing" >&2
echo "deps: run: sudo apt-get install -y$missing" >&2
exit 1
