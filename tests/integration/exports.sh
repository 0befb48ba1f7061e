#!/usr/bin/env bash
# exports.sh - every plugin exports exactly one symbol, fh_plugin_entry, and
# links no host symbol (-z defs would have failed the build).
# SPDX-License-Identifier: Apache-2.0
. "$(dirname "$0")/lib.sh"
for so in "$BUILD"/plugins/*.so "$BUILD"/tests/plugins/ok.so; do
    syms=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' |
        sort | tr '\n' ' ')
    t_is "$syms" "fh_plugin_entry " "$(basename "$so") exports only fh_plugin_entry"
done
# The host exports nothing for plugins to bind to by accident.
t_is "$(nm -D --defined-only "$FNHOST" | grep -c ' T store_')" 0 \
    "the host does not export its own functions"
t_done
