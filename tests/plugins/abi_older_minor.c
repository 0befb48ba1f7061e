/* abi_older_minor.c - test plugin: built for ABI 1.0, before steps; a 1.1
 * host must load and run it.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written by hand because FH_PLUGIN() always stamps this header's ABI. It
 * calls only 1.0 entries, as a plugin built against the 1.0 header would.
 */
#include <fnhost.h>

static int
older(struct fh_ctx *ctx, const struct fh_event *ev)
{
    fh_set_output(ctx, json_object_new_string("built for 1.0"));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "abi-older-minor",
     .triggers = FH_EVENTS("test/abi-older-minor"),
     .run = older},
    FH_FUNCTIONS_END};

FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);

const struct fh_plugin *
fh_plugin_entry(void)
{
    static const struct fh_plugin descriptor = {
        .magic = FH_ABI_MAGIC,
        .abi_major = 1,
        .abi_minor = 0,
        .size = sizeof(struct fh_plugin),
        .name = "abi-older-minor",
        .version = "1.0.0",
        .functions = functions,
    };

    return &descriptor;
}
