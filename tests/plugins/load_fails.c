/* load_fails.c - test plugin: load() refuses to start.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static int
load_fails_load(struct fh_ctx *ctx)
{
    return fh_fail(ctx, FH_NO_RETRY, "cannot reach the payments api");
}

static const struct fh_function functions[] = {
    {.id = "load-fails", .triggers = FH_EVENTS("test/load-fails"), .run = noop},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "load-fails", .version = "1.0.0", .functions = functions,
          .load = load_fails_load);
