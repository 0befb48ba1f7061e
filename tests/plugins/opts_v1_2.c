/* opts_v1_2.c - test plugin: options set the 1.2 way, in a size-stamped
 * struct fh_function_opts (FH_OPTS()); the host must obey them.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <unistd.h>

#include "abi/fnhost-1.2.h" /* as 1.2 shipped: these stay 1.2 plugins */

static int
fails(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fh_fail(ctx, FH_RETRY, "1.2 failure on attempt %u of %u",
                   ctx->attempt, ctx->max_attempts);
}

/* Never returns: its timeout must end it. */
static int
hangs(struct fh_ctx *ctx, const struct fh_event *ev)
{
    while (ev != NULL)
        sleep(1);
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "v12-options",
     .triggers = FH_EVENTS("test/v12-options"),
     .run = fails,
     .opts = FH_OPTS(.retries = 2, .timeout = "9s")},
    {.id = "v12-no-retries",
     .triggers = FH_EVENTS("test/v12-no-retries"),
     .run = fails,
     .opts = FH_OPTS(.retries = FH_RETRIES_NONE)},
    {.id = "v12-hangs",
     .triggers = FH_EVENTS("test/v12-hangs"),
     .run = hangs,
     .opts = FH_OPTS(.retries = FH_RETRIES_NONE, .timeout = "300ms")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "opts-v1-2", .version = "1.2.0", .functions = functions);
