#!/usr/bin/env bash
# install.sh - make install puts the binary, the SDK headers, the test
# harness library, fnhost.mk and fnhost.pc in place, and a plugin builds
# and is tested out of tree against them.
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
t_setup
DEST="$T_DIR/dest"
make -s -C "$ROOT" install BUILD="$BUILD" PREFIX=/usr/local DESTDIR="$DEST" \
    >"$T_DIR/install.log" 2>&1
t_ok $? "make install PREFIX=/usr/local DESTDIR=... succeeds"
for f in bin/fnhost include/fnhost.h include/fnhost_test.h \
    lib/libfnhost_test.a share/fnhost/fnhost.mk lib/pkgconfig/fnhost.pc \
    lib/fnhost/plugins/user-sync.so; do
    t_ok "$([ -f "$DEST/usr/local/$f" ]; echo $?)" "it installs $f"
done
# The code the host shares with the harness is inside the library.
t_is "$(cd "$DEST/usr/local/include" && echo *)" "fnhost.h fnhost_test.h" \
    "the only headers installed are fnhost.h and fnhost_test.h"
t_is "$(cd "$DEST/usr/local/share/fnhost" && echo *)" "fnhost.mk" \
    "no harness source is installed"
t_is "$(nm -g --defined-only "$DEST/usr/local/lib/libfnhost_test.a" |
    awk 'NF == 3 && $3 !~ /^fh_test_/' | wc -l)" 0 \
    "the harness library exports only fh_test_ names"
export PKG_CONFIG_PATH="$DEST/usr/local/lib/pkgconfig"
PCF=$(pkg-config --define-variable=prefix="$DEST/usr/local" --cflags fnhost)
t_has "$PCF" "-I$DEST/usr/local/include" "pkg-config --cflags fnhost names the header"
MK=$(pkg-config --define-variable=prefix="$DEST/usr/local" --variable=mkfile fnhost)
t_is "$MK" "$DEST/usr/local/share/fnhost/fnhost.mk" "and --variable=mkfile the make include"

# A three-line Makefile outside the tree builds a plugin the host loads.
mkdir -p "$T_DIR/hello"
cat >"$T_DIR/hello/hello.c" <<'C'
#include <fnhost.h>
static int
hello(struct fh_ctx *ctx, const struct fh_event *ev)
{
    fh_set_output(ctx, json_object_new_string("hello"));
    return FH_OK;
}
static const struct fh_function functions[] = {
    {.id = "hello", .run = hello, .triggers = FH_EVENTS("app/hello")},
    FH_FUNCTIONS_END};
FH_PLUGIN(.name = "hello", .version = "0.1.0", .functions = functions);
C
printf 'PLUGIN = hello\nSRCS = hello.c\ninclude %s\n' "$MK" >"$T_DIR/hello/Makefile"
make -s -C "$T_DIR/hello" FNHOST_INCLUDE="$PCF" >"$T_DIR/hello.log" 2>&1
t_ok $? "a plugin with a three-line Makefile builds against the installed SDK"
OUT=$("$DEST/usr/local/bin/fnhost" check "$T_DIR/hello/hello.so")
t_has "$OUT" "plugin hello 0.1.0" "and the installed fnhost accepts it"
# From outside: a new plugin from the template, built against the
# installed SDK (a real PREFIX, pkg-config only), tested with the harness,
# dropped into a running fnhost and reloaded, runs.
PREFIX="$T_DIR/usr"
make -s -C "$ROOT" install BUILD="$BUILD" PREFIX="$PREFIX" >"$T_DIR/install2.log" 2>&1
# The harness of a sanitizer build is instrumented: a test that links it
# links the sanitizers' runtimes too.
SAN_LDFLAGS=
nm "$PREFIX/lib/libfnhost_test.a" | grep -q ' U __asan_' &&
    SAN_LDFLAGS="-fsanitize=address,undefined"
cd "$T_DIR"
# Without PKG_CONFIG_PATH (and with no fnhost.pc that pkg-config could
# find), the Makefile new-plugin writes finds the SDK of the fnhost that
# wrote it; or says what to set.
unset PKG_CONFIG_PATH
mkdir -p "$T_DIR/nopc"
"$PREFIX/bin/fnhost" new-plugin bare >/dev/null
OUT=$(PKG_CONFIG_LIBDIR="$T_DIR/nopc" make -C bare 2>&1)
t_ok $? "a new plugin builds under a custom PREFIX without PKG_CONFIG_PATH"
t_ok "$([ -f bare/bare.so ]; echo $?)" "and makes bare.so"
OUT=$(PKG_CONFIG_LIBDIR="$T_DIR/nopc" make -s -C bare check \
    LDFLAGS="$SAN_LDFLAGS" 2>&1)
t_is "$(tail -n 1 <<<"$OUT")" "0 failed" "and its test runs on that SDK's harness"
mkdir -p "$T_DIR/loose"
cp "$PREFIX/bin/fnhost" "$T_DIR/loose/fnhost"
(cd "$T_DIR/loose" && ./fnhost new-plugin lost >/dev/null)
OUT=$(PKG_CONFIG_LIBDIR="$T_DIR/nopc" make -C "$T_DIR/loose/lost" 2>&1)
t_has "$OUT" "fnhost.mk not found: set PKG_CONFIG_PATH=PREFIX/lib/pkgconfig" \
    "an fnhost with no SDK beside it writes a Makefile that says what to set"
export PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig"
"$PREFIX/bin/fnhost" new-plugin greeter >"$T_DIR/new.log"
t_ok $? "fnhost new-plugin writes a plugin folder"
make -s -C greeter >"$T_DIR/greeter-build.log" 2>&1
t_ok $? "the template builds against the installed SDK with its 3-line Makefile"
OUT=$(make -s -C greeter check LDFLAGS="$SAN_LDFLAGS" 2>/dev/null)
t_is "$(tail -n 1 <<<"$OUT")" "0 failed" "its unit test passes on the installed harness"
t_start
install -m 644 greeter/greeter.so "$PLUGINS/"
OUT=$("$PREFIX/bin/fnhost" reload --state "$STATE")
t_has "$OUT" "reloaded" "dropped into a running fnhost, it loads on reload"
OUT=$("$PREFIX/bin/fnhost" send greeter/hello --state "$STATE" --data @greeter/event.json)
wait_until 10 runs_in completed 1
t_is "$(sql "select output from runs where function_id = 'greeter-hello'")" \
    '"hello, Ada"' "and its function runs on the sample event"
t_stop
t_done
