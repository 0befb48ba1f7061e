/* fanout.c - test plugin: a second plugin that one event also starts.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

/* Outputs {"fn": <the function's id>}, so a test can tell the runs of one
 * event apart. */
static int
say_id(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "fn",
                           json_object_new_string(ctx->function_id));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "fanout-two", .triggers = FH_EVENTS("test/fanout"), .run = say_id},
    {.id = "fanout-wild", .triggers = FH_EVENTS("test/*"), .run = say_id},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "fanout", .version = "1.0.0", .functions = functions);
