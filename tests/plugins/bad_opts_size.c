/* bad_opts_size.c - test plugin: options whose size is smaller than the
 * first options struct's (1.2), as if set without FH_OPTS(). Refused.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function_opts small = {.size = 8, .retries = 3};

static const struct fh_function functions[] = {
    {.id = "small-opts",
     .triggers = FH_EVENTS("test/small-opts"),
     .run = noop,
     .opts = &small},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-opts-size", .version = "1.0.0", .functions = functions);
