/* bad_if.c - fixture: a trigger `if` that does not compile, which the
 * host refuses at load, naming the plugin, the function and the column.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "tif-bad", .run = noop, .triggers = FH_EVENTS("test/tif"),
     .opts = FH_OPTS(.if_expr = "event.data.plan == ")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-if", .version = "1.0.0", .functions = functions);
