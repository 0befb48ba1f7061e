/* bad_throttle.c - fixture: a throttle over Inngest's longest period
 * (7d), which refuses the plugin at load.
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
    {.id = "th-bad", .run = nothing, .triggers = FH_EVENTS("test/th"),
     .opts = FH_OPTS(.throttle = {.limit = 1, .period = "8d"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-throttle", .version = "1.0.0",
          .functions = functions);
