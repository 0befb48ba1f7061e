/* abi_v1_1.c - test plugin: built against the 1.1 header, with options
 * set the 1.1 way (fh_function.retries and .timeout); a 1.2 host must load
 * it and obey them.
 * SPDX-License-Identifier: Apache-2.0
 */
#include "abi/fnhost-1.1.h"

static int
fails(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fh_fail(ctx, FH_RETRY, "1.1 failure on attempt %u of %u",
                   ctx->attempt, ctx->max_attempts);
}

static const struct fh_function functions[] = {
    {.id = "v11-options",
     .triggers = FH_EVENTS("test/v11-options"),
     .run = fails,
     .retries = 1,
     .timeout = "7s"},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "abi-v1-1", .version = "1.1.0", .functions = functions);
