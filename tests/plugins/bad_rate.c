/* bad_rate.c - fixture: a rate limit over Inngest's longest period (24h),
 * which refuses the plugin at load.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
nothing(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ctx;
    (void)ev;
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "rl-bad", .run = nothing, .triggers = FH_EVENTS("test/rl"),
     .opts = FH_OPTS(.rate_limit = {.limit = 1, .period = "48h"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-rate", .version = "1.0.0", .functions = functions);
