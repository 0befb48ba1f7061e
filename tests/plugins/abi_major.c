/* abi_major.c - test plugin: built for ABI 2.0, a major the host refuses.
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
    {.id = "abi-major", .triggers = FH_EVENTS("test/abi-major"), .run = noop},
    FH_FUNCTIONS_END};

FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);

const struct fh_plugin *
fh_plugin_entry(void)
{
    static const struct fh_plugin descriptor = {
        .magic = FH_ABI_MAGIC,
        .abi_major = 2,
        .abi_minor = 0,
        .size = sizeof(struct fh_plugin),
        .name = "abi-major",
        .version = "1.0.0",
        .functions = functions,
    };

    return &descriptor;
}
