/* abi_newer_minor.c - test plugin: built for a newer ABI minor than the
 * host's, using nothing the host lacks. It loads and runs.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Written by hand because FH_PLUGIN() and FH_OPTS() stamp this header's
 * ABI and sizes. As a newer header would: its descriptor and its options
 * are longer than this host's, and what this host does not know is zero;
 * the options it does know (retries) take effect.
 */
#include <fnhost.h>

static int
newer(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "max_attempts",
                           json_object_new_int((int)ctx->max_attempts));
    return fh_set_output(ctx, out);
}

/* The options as the newer header has them: one field more, unset. */
static const struct {
    struct fh_function_opts known;
    const char *concurrency_key;
} opts = {.known = {.size = sizeof(opts), .retries = 6}};

static const struct fh_function functions[] = {
    {.id = "abi-newer-minor",
     .triggers = FH_EVENTS("test/abi-newer-minor"),
     .run = newer,
     .opts = &opts.known},
    FH_FUNCTIONS_END};

FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);

const struct fh_plugin *
fh_plugin_entry(void)
{
    /* The descriptor as the newer header has it: one field more, unset. */
    static const struct {
        struct fh_plugin known;
        void *(*newer_hook)(void);
    } descriptor = {
        .known = {
            .magic = FH_ABI_MAGIC,
            .abi_major = FH_ABI_MAJOR,
            .abi_minor = FH_ABI_MINOR + 1,
            .size = sizeof(descriptor),
            .name = "abi-newer-minor",
            .version = "1.0.0",
            .functions = functions,
        },
    };

    return &descriptor.known;
}
