/* hang.c - test plugin: never returns on the first attempt.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <unistd.h>

#include <fnhost.h>

static int
hang(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out;

    /* Sleeping, not spinning: the host must kill a worker that is idle
     * in a syscall as surely as a busy one. */
    while (ctx->attempt == 0)
        sleep(1);
    out = json_object_new_object();
    json_object_object_add(out, "attempt",
                           json_object_new_int64(ctx->attempt));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "hang",
     .triggers = FH_EVENTS("test/hang"),
     .run = hang,
     .timeout = "1s"},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "hang", .version = "1.0.0", .functions = functions);
