/* bad_cron.c - fixture: a cron schedule that cannot be (hour 25): the
 * plugin is refused at load, naming the plugin, the function and why.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ctx, (void)ev;
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "cron-bad", .run = noop, .opts = FH_OPTS(.cron = {"0 25 * * *"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-cron", .version = "1.0.0", .functions = functions);
