/* bad_trigger.c - test plugin: a wildcard trigger not after "/" or ".".
 * SPDX-License-Identifier: Apache-2.0
 *
 * "app*" would match "apples/x" as well as "app/x"; the host refuses it
 * rather than guess what was meant.
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "bad-trigger", .triggers = FH_EVENTS("app*"), .run = noop},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-trigger", .version = "1.0.0", .functions = functions);
