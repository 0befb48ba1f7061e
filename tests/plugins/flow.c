/* flow.c - fixture: flow-control options (fh_function_opts, ABI 1.6).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The functions output {"fn": their id}. On test/rl: "rl-fn", at most 3
 * runs per hour, and "rl-free", no limit (a [function rl-free] section may
 * give it one). On test/rl-key: "rl-key", at most 2 runs a day per
 * data.ws. On test/sg: "sg-skip", a singleton per data.user that skips;
 * on test/sg-c: "sg-cancel", one that cancels; both sleep an hour, so
 * their runs stay active. "sg-watch" runs on inngest/function.cancelled,
 * so that the host stores those events. On test/db: "db-fn", debounced an
 * hour per data.ws (a [function db-fn] section may shorten it), with a
 * timeouts.start of an hour, which outputs {"n": data.n} of its event; "db-cap", debounced a week but at
 * most an hour from the first event. */
#include <fnhost.h>

static int
say_id(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();

    (void)ev;
    json_object_object_add(out, "fn",
                           json_object_new_string(ctx->function_id));
    return fh_set_output(ctx, out);
}

static int
nap(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_SLEEP(ctx, "nap", "1h");
    return say_id(ctx, ev);
}

static int
say_n(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object(), *n;

    if (json_object_object_get_ex(ev->data, "n", &n))
        json_object_object_add(out, "n", json_object_get(n));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "rl-fn", .run = say_id, .triggers = FH_EVENTS("test/rl"),
     .opts = FH_OPTS(.rate_limit = {.limit = 3, .period = "1h"})},
    {.id = "rl-free", .run = say_id, .triggers = FH_EVENTS("test/rl")},
    {.id = "rl-key", .run = say_id, .triggers = FH_EVENTS("test/rl-key"),
     .opts = FH_OPTS(.rate_limit = {.limit = 2, .period = "24h",
                                    .key = "event.data.ws"})},
    {.id = "sg-skip", .run = nap, .triggers = FH_EVENTS("test/sg"),
     .opts = FH_OPTS(.singleton = {.mode = "skip",
                                   .key = "event.data.user"})},
    {.id = "sg-cancel", .run = nap, .triggers = FH_EVENTS("test/sg-c"),
     .opts = FH_OPTS(.singleton = {.mode = "cancel",
                                   .key = "event.data.user"})},
    {.id = "sg-watch", .run = say_id,
     .triggers = FH_EVENTS("inngest/function.cancelled")},
    {.id = "db-fn", .run = say_n, .triggers = FH_EVENTS("test/db"),
     .opts = FH_OPTS(.debounce = {.period = "1h", .key = "event.data.ws"},
                     .timeouts = {.start = "1h"})},
    {.id = "db-cap", .run = say_n, .triggers = FH_EVENTS("test/db-cap"),
     .opts = FH_OPTS(.debounce = {.period = "7d", .timeout = "1h"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "flow", .version = "1.0.0", .functions = functions);
