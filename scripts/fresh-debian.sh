#!/bin/sh
# fresh-debian.sh - the README's two commands on a Debian 12 that has never
# had fnhost's packages: a minimal root made with debootstrap, make and git
# installed in it, this repository cloned, then, in the README's order,
# `make run` until /health answers and `make test` once. CI runs it, so
# that a build that only works where the libraries are already installed
# cannot land.
# SPDX-License-Identifier: Apache-2.0
#
#   scripts/fresh-debian.sh          as root; clones HEAD (committed work)
#   FRESH_KEEP=1 scripts/fresh-debian.sh   keep the root afterwards
set -eu
cd "$(dirname "$0")/.."
repo=$PWD

[ "$(id -u)" -eq 0 ] || { echo "fresh: run as root (debootstrap, chroot)" >&2
    exit 2; }
# The checker's own tools, on this machine (not in the root).
for tool in debootstrap curl; do
    command -v "$tool" >/dev/null 2>&1 && continue
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" \
        >/dev/null 2>&1 || { apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" \
            >/dev/null; }
done

root=$(mktemp -d /var/tmp/fnhost-fresh.XXXXXX)
chmod 755 "$root" # apt inside downloads as _apt
log=$root.log
mounted=""
cleanup() {
    for m in $mounted; do umount -l "$root$m" 2>/dev/null || true; done
    if [ -z "${FRESH_KEEP:-}" ]; then rm -rf "$root" "$root.run.log"; else
        echo "fresh: kept $root" >&2; fi
}
trap cleanup EXIT
mnt() { # mnt TYPE-OR-BIND SOURCE DIR
    mkdir -p "$root$3"
    if [ "$1" = bind ]; then mount --bind "$2" "$root$3"
    else mount -t "$1" "$2" "$root$3"; fi
    mounted="$3 $mounted"
}

echo "fresh: debootstrap --variant=minbase bookworm (log: $log)" >&2
debootstrap --variant=minbase bookworm "$root" >"$log" 2>&1 || {
    tail -20 "$log" >&2; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The network is this machine's, so is whom it trusts: where the host's
# TLS goes through a proxy with its own CA (NODE_EXTRA_CA_CERTS, npm's
# cafile), npm inside must trust the same bundle.
ca=${NODE_EXTRA_CA_CERTS:-${SSL_CERT_FILE:-}}
caenv=""
if [ -n "$ca" ] && [ -f "$ca" ]; then
    cp "$ca" "$root/etc/host-ca.crt"
    caenv="NODE_EXTRA_CA_CERTS=/etc/host-ca.crt npm_config_cafile=/etc/host-ca.crt"
fi
mnt proc proc /proc
mnt bind /dev /dev
mnt devpts devpts /dev/pts
mnt tmpfs tmpfs /dev/shm
mnt bind "$repo" /mnt/fnhost

# What the README tells a newcomer to do, and nothing more: make and git,
# clone, `make run` (it installs the packages, builds and serves on the
# defaults), then `make test`. The check itself (curl, kill) runs from
# outside, with the host's tools, so it puts nothing into the root.
in_root() {
    # shellcheck disable=SC2086
    chroot "$root" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 $caenv \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        DEBIAN_FRONTEND=noninteractive /bin/sh -euc "$1"
}
in_root 'apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends make git >/dev/null
    git clone -q /mnt/fnhost /root/fnhost'

# The root shares this machine's network: what answers on 8288 must be the
# fnhost started in it, so nothing may answer there before.
health() { curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:8288/health; }
if health 2>/dev/null; then
    echo "fresh: something already answers on 127.0.0.1:8288; stop it" >&2
    exit 1
fi
# The processes whose root is the fresh root, whose command starts so.
in_root_pids() {
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] || continue
        case "$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null)" in
        "$1"*) echo "${p#/proc/}" ;;
        esac
    done
}

echo "fresh: make run" >&2
in_root 'cd /root/fnhost && exec make run' >"$root.run.log" 2>&1 &
run=$!
ok=1
# Installing the packages takes minutes; stop waiting if make gives up.
for i in $(seq 1 3000); do
    if health 2>/dev/null && [ -n "$(in_root_pids "build/fnhost serve")" ]
    then ok=0; break; fi
    kill -0 "$run" 2>/dev/null || break
    sleep 0.2
done
for pid in $(in_root_pids "build/fnhost serve"); do kill -INT "$pid"; done
wait "$run" || true
if [ "$ok" -ne 0 ]; then
    echo "fresh: make run did not answer /health:" >&2
    tail -30 "$root.run.log" >&2
    exit 1
fi
echo "fresh: make run answered /health" >&2

echo "fresh: make test" >&2
in_root 'cd /root/fnhost && make test'
