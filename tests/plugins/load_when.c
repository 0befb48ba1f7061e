/* load_when.c - test plugin: load() fails while a file exists.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The file is named by FNHOST_TEST_LOAD_FAILS_IF (in the environment the
 * host and its workers inherit). A worker started while the file exists
 * cannot load this plugin; one started after it is gone can: the cause of
 * a failed load() comes and goes, as a database that is down does. */
#include <stdlib.h>
#include <unistd.h>

#include <fnhost.h>

static int
load_when_load(struct fh_ctx *ctx)
{
    const char *f = getenv("FNHOST_TEST_LOAD_FAILS_IF");

    if (f != NULL && access(f, F_OK) == 0)
        return fh_fail(ctx, FH_RETRY, "the database is down (%s exists)", f);
    return FH_OK;
}

static int
hello(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fh_set_output(ctx, json_object_new_int((int)getpid()));
}

static const struct fh_function functions[] = {
    {.id = "load-when",
     .triggers = FH_EVENTS("test/load-when"),
     .run = hello,
     .opts = FH_OPTS(.retries = FH_RETRIES_NONE)},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "load-when", .version = "1.0.0", .functions = functions,
          .load = load_when_load);
