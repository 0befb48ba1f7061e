/* ok.c - test plugin: functions that succeed and echo their input.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

/* Outputs {"data": <a copy of the event data>, "greeting": <the plugin's
 * "greeting" setting or null>}. A deep copy: the data is borrowed, and
 * output is stolen by the host. */
static int
echo(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object(), *copy = NULL;
    const char *greeting = fh_config(ctx, "greeting");

    if (json_object_deep_copy(fh_event_data(ev), &copy, NULL) != 0)
        return fh_fail(ctx, FH_RETRY, "copy event data: out of memory");
    json_object_object_add(out, "data", copy);
    json_object_object_add(out, "greeting",
                           greeting != NULL ? json_object_new_string(greeting)
                                            : NULL);
    return fh_set_output(ctx, out);
}

static int
count_ok(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "fn", json_object_new_string("count-ok"));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "echo",
     .triggers = FH_EVENTS("test/echo", "test/wild.*"),
     .run = echo},
    {.id = "count-ok", .triggers = FH_EVENTS("test/fanout"), .run = count_ok},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "ok", .version = "1.0.0", .functions = functions);
