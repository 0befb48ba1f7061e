/* dup_cron.c - fixture: one cron schedule twice in a function: the
 * plugin is refused at load.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ctx, (void)ev;
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "cron-dup", .run = noop,
     .opts = FH_OPTS(.cron = {"0 1 * * *", "0 1 * * *"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "dup-cron", .version = "1.0.0", .functions = functions);
