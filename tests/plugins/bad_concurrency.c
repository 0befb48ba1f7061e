/* bad_concurrency.c - fixture: a concurrency limit that cannot be (a
 * scope other than fn or env), which refuses the plugin at load.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
nothing(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "conc-bad", .run = nothing, .triggers = FH_EVENTS("test/conc"),
     .opts = FH_OPTS(.concurrency = {{.limit = 5},
                                     {.limit = 1, .key = "event.data.a",
                                      .scope = "account"}})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "bad-concurrency", .version = "1.0.0",
          .functions = functions);
