/* dup_id.c - test plugin: two functions with the same id.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "same-id", .triggers = FH_EVENTS("test/dup-a"), .run = noop},
    {.id = "same-id", .triggers = FH_EVENTS("test/dup-b"), .run = noop},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "dup", .version = "1.0.0", .functions = functions);
