/* hang_load.c - fixture: a plugin whose load() never returns.
 * SPDX-License-Identifier: Apache-2.0 */
#include <unistd.h>

#include <fnhost.h>

static int
nothing(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static int
hang_load(struct fh_ctx *ctx)
{
    for (;;)
        pause();
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "never", .run = nothing, .triggers = FH_EVENTS("test/never")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "hang-load", .version = "1.0.0", .functions = functions,
          .load = hang_load);
