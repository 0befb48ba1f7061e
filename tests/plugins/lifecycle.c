/* lifecycle.c - fixture: functions that end, and functions triggered by
 * the lifecycle events of runs (inngest/function.finished, .failed,
 * .cancelled).
 * SPDX-License-Identifier: Apache-2.0
 *
 * "works" (test/works) returns {"ok": data.n}; "breaks" (test/breaks)
 * fails without retry. "on-finished" and "on-failed" return what their
 * event says: {"function_id", "run_id", "result", "error", "trigger"};
 * so does "on-cancelled". 
 * "guarded" (test/guarded) fails without retry too, and has a failure
 * handler (guarded-failure) that returns the same. */
#include <fnhost.h>

static int
works(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();
    int64_t n = 0;

    fh_json_int(ev->data, "n", &n);
    json_object_object_add(out, "ok", json_object_new_int64(n));
    fh_set_output(ctx, out);
    return FH_OK;
}

static int
breaks(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ev;
    return fh_fail(ctx, FH_NO_RETRY, "broken on purpose");
}

static struct json_object *
copy_at(struct json_object *data, const char *path)
{
    struct json_object *v = fh_json_get(data, path), *c = NULL;

    if (v != NULL)
        json_object_deep_copy(v, &c, NULL);
    return c;
}

static int
observe(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "function_id", copy_at(ev->data, "function_id"));
    json_object_object_add(out, "run_id", copy_at(ev->data, "run_id"));
    json_object_object_add(out, "result", copy_at(ev->data, "result"));
    json_object_object_add(out, "error", copy_at(ev->data, "error.message"));
    json_object_object_add(out, "error_name", copy_at(ev->data, "error.name"));
    json_object_object_add(out, "trigger", copy_at(ev->data, "event.name"));
    json_object_object_add(out, "events", copy_at(ev->data, "events"));
    fh_set_output(ctx, out);
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "guarded", .run = breaks, .triggers = FH_EVENTS("test/guarded"),
     .opts = FH_OPTS(.on_failure = observe)},
    {.id = "works", .run = works, .triggers = FH_EVENTS("test/works")},
    {.id = "breaks", .run = breaks, .triggers = FH_EVENTS("test/breaks")},
    {.id = "on-finished", .run = observe,
     .triggers = FH_EVENTS("inngest/function.finished")},
    {.id = "on-failed", .run = observe,
     .triggers = FH_EVENTS("inngest/function.failed")},
    {.id = "on-cancelled", .run = observe,
     .triggers = FH_EVENTS("inngest/function.cancelled")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "lifecycle", .version = "1.0.0", .functions = functions);
