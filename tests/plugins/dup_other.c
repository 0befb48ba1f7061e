/* dup_other.c - test plugin: reuses the id of ok.so's "echo" function.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Function ids are unique in the host, not per plugin: runs and their
 * checkpoints are stored under the id alone.
 */
#include <fnhost.h>

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "echo", .triggers = FH_EVENTS("test/dup-other"), .run = noop},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "dup-other", .version = "1.0.0", .functions = functions);
