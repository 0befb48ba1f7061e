/* bad_magic.c - test plugin: a descriptor whose magic is wrong.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written by hand because FH_PLUGIN() always sets the right magic. The rest
 * is valid, so the magic is the only reason to refuse it.
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "bad-magic", .triggers = FH_EVENTS("test/bad-magic"), .run = noop},
    FH_FUNCTIONS_END};

FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);

const struct fh_plugin *
fh_plugin_entry(void)
{
    static const struct fh_plugin descriptor = {
        .magic = 0xdeadbeefu,
        .abi_major = FH_ABI_MAJOR,
        .abi_minor = FH_ABI_MINOR,
        .size = sizeof(struct fh_plugin),
        .name = "bad-magic",
        .version = "1.0.0",
        .functions = functions,
    };

    return &descriptor;
}
