/* trigger_if.c - fixture: a trigger's `if` (fh_function_opts.if_expr)
 * and an idempotency key (fh_function_opts.idempotency).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The functions output {"fn": their id}. On test/tif: "tif-pro" only for
 * events whose data.plan is "pro", "tif-all" for every one ("tif-bad", in
 * bad_if.c, has an `if` that does not compile). On test/idem: "idem", one
 * run per data.user_id. */
#include <fnhost.h>

static int
say_id(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "fn",
                           json_object_new_string(ctx->function_id));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "tif-pro", .run = say_id, .triggers = FH_EVENTS("test/tif"),
     .opts = FH_OPTS(.if_expr = "event.data.plan == \"pro\"")},
    {.id = "tif-all", .run = say_id, .triggers = FH_EVENTS("test/tif")},
    {.id = "idem", .run = say_id, .triggers = FH_EVENTS("test/idem"),
     .opts = FH_OPTS(.idempotency = "event.data.user_id")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "trigger-if", .version = "1.0.0", .functions = functions);
