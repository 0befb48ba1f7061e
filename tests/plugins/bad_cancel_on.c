/* bad_cancel_on.c - fixture: a cancelOn rule whose `if` does not compile,
 * which the host refuses at load, naming the plugin, the function, the
 * rule and the column.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "bad-rule", .triggers = FH_EVENTS("test/bad"), .run = noop,
     .opts = FH_OPTS(.cancel_on = {
                         {.event = "test/ok", .match = "data.id"},
                         {.event = "test/stop",
                          .if_expr = "async.data.id == (event.data.id"}})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-cancel-on", .version = "1.0.0",
          .functions = functions);
