/* abi_newer_option.c - test plugin: built for a newer ABI minor, and sets
 * an option that minor appended to struct fh_function_opts. The host
 * cannot obey an option it does not know: refused, "upgrade fnhost".
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written by hand because FH_PLUGIN() and FH_OPTS() stamp this header's
 * ABI and sizes.
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

/* The options as the newer header has them: one field more. */
static const struct {
    struct fh_function_opts known;
    const char *concurrency_key;
} newer = {.known = {.size = sizeof(newer)}, .concurrency_key = "user.id"};

static const struct fh_function functions[] = {
    {.id = "abi-newer-option",
     .triggers = FH_EVENTS("test/abi-newer-option"),
     .run = noop,
     .opts = &newer.known},
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
        .name = "abi-newer-option",
        .version = "1.0.0",
        .functions = functions,
    };

    return &descriptor;
}
