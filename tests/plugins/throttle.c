/* throttle.c - fixture: throttle (fh_function_opts.throttle, ABI 1.7).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The functions output {"n": data.n} of their event and end at once, so
 * a run that started is a run that completed. On test/th: "th-key", 1
 * run per hour per data.k, burst 1 (2 at once for a fresh key). On
 * test/th-fast: "th-fast", 1 run per second, no burst, one key. On
 * test/th-ini: "th-ini", no throttle of its own (a [function th-ini]
 * section gives it one). */
#include <fnhost.h>

static int
say_n(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object(), *n;

    if (json_object_object_get_ex(ev->data, "n", &n))
        json_object_object_add(out, "n", json_object_get(n));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "th-key", .run = say_n, .triggers = FH_EVENTS("test/th"),
     .opts = FH_OPTS(.throttle = {.limit = 1, .period = "1h", .burst = 1,
                                  .key = "event.data.k"})},
    {.id = "th-fast", .run = say_n, .triggers = FH_EVENTS("test/th-fast"),
     .opts = FH_OPTS(.throttle = {.limit = 1, .period = "1s"})},
    {.id = "th-ini", .run = say_n, .triggers = FH_EVENTS("test/th-ini")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "throttle", .version = "1.0.0", .functions = functions);
