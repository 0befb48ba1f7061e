/* batch.c - fixture: batches (fh_function_opts.batch, ABI 1.7).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each function outputs what its run saw: {"n": [data.n of each event,
 * in order], "ids": [their internal ids], "count": fh_events(),
 * "first": whether fh_event_at(ctx, 0) is the handler's ev}. On
 * test/bt: "bt-size", batches of 3 per data.ws with a minute's timeout,
 * and events with data.solo (has(), so an event without it is batched)
 * run alone. On test/bt-time: "bt-time", batches of up to 100 that start
 * 2s after their first event. On test/bt-slow: "bt-slow", the same with
 * 8s, for a kill -9 before the timeout. On test/bt-nap: "bt-nap",
 * batches of 2 whose run counts its events in a step, sleeps a second,
 * and outputs what it saw after, with "before": that count. On
 * test/bt-fail: "bt-fail", batches of 2 that fail, whose failure handler
 * outputs {"n": [data.n of each of its data.events]}. On test/bt-plain:
 * "bt-plain", no options (a [function bt-plain] section gives it some). */
#include <fnhost.h>

#include <stdint.h>

static struct json_object *
seen(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();
    struct json_object *ns = json_object_new_array();
    struct json_object *ids = json_object_new_array();

    for (size_t i = 0; i < fh_events(ctx); i++) {
        const struct fh_event *e = fh_event_at(ctx, i);
        int64_t n = -1;

        fh_json_int(e->data, "n", &n);
        json_object_array_add(ns, json_object_new_int64(n));
        json_object_array_add(ids, json_object_new_string(
                                       e->internal_id ? e->internal_id
                                                      : "none"));
    }
    json_object_object_add(out, "n", ns);
    json_object_object_add(out, "ids", ids);
    json_object_object_add(out, "count",
                           json_object_new_int64((int64_t)fh_events(ctx)));
    json_object_object_add(out, "first",
                           json_object_new_boolean(fh_event_at(ctx, 0) ==
                                                   ev));
    return out;
}

static int
collect(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fh_set_output(ctx, seen(ctx, ev));
}

static int
count_events(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)arg;
    /* An object: the SDK's harness replays a bare number as null. */
    *result = json_object_new_object();
    json_object_object_add(*result, "count",
                           json_object_new_int64((int64_t)fh_events(ctx)));
    return FH_OK;
}

static int
nap(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *before, *out;

    FH_STEP_RESULT(ctx, "count", count_events, NULL, &before);
    FH_SLEEP(ctx, "nap", "1s");
    out = seen(ctx, ev);
    json_object_object_add(out, "before",
                           json_object_get(json_object_object_get(before,
                                                                  "count")));
    return fh_set_output(ctx, out);
}

static int
fail(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ev;
    return fh_fail(ctx, FH_NO_RETRY, "batch of %zu failed", fh_events(ctx));
}

/* The failure handler: {"n": data.n of each of data.events}. */
static int
failed(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();
    struct json_object *ns = json_object_new_array(), *list;

    list = fh_json_get(ev->data, "events");
    for (size_t i = 0; list != NULL && i < json_object_array_length(list);
         i++) {
        int64_t n = -1;

        fh_json_int(json_object_array_get_idx(list, i), "data.n", &n);
        json_object_array_add(ns, json_object_new_int64(n));
    }
    json_object_object_add(out, "n", ns);
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "bt-size", .run = collect, .triggers = FH_EVENTS("test/bt"),
     .opts = FH_OPTS(.batch = {.max_size = 3, .timeout = "60s",
                               .key = "event.data.ws",
                               .if_expr = "!has(event.data.solo)"})},
    {.id = "bt-time", .run = collect, .triggers = FH_EVENTS("test/bt-time"),
     .opts = FH_OPTS(.batch = {.max_size = 100, .timeout = "2s"})},
    {.id = "bt-slow", .run = collect, .triggers = FH_EVENTS("test/bt-slow"),
     .opts = FH_OPTS(.batch = {.max_size = 100, .timeout = "8s"})},
    {.id = "bt-nap", .run = nap, .triggers = FH_EVENTS("test/bt-nap"),
     .opts = FH_OPTS(.batch = {.max_size = 2, .timeout = "60s"})},
    {.id = "bt-fail", .run = fail, .triggers = FH_EVENTS("test/bt-fail"),
     .opts = FH_OPTS(.batch = {.max_size = 2, .timeout = "60s"},
                     .on_failure = failed)},
    {.id = "bt-plain", .run = collect,
     .triggers = FH_EVENTS("test/bt-plain")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "batch", .version = "1.0.0", .functions = functions);
