/* abi_newer_minor.c - test plugin: built for a newer ABI minor than the host's.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written by hand because FH_PLUGIN() always sets this header's ABI. The
 * rest is valid, so the version is the only reason to refuse it.
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "abi-newer-minor",
     .triggers = FH_EVENTS("test/abi-newer-minor"),
     .run = noop},
    FH_FUNCTIONS_END};

FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);

const struct fh_plugin *
fh_plugin_entry(void)
{
    static const struct fh_plugin descriptor = {
        .magic = FH_ABI_MAGIC,
        .abi_major = FH_ABI_MAJOR,
        .abi_minor = FH_ABI_MINOR + 1,
        .size = sizeof(struct fh_plugin),
        .name = "abi-newer-minor",
        .version = "1.0.0",
        .functions = functions,
    };

    return &descriptor;
}
