/* invoker.c - fixture: steps that invoke other functions (fh_invoke).
 * SPDX-License-Identifier: Apache-2.0
 *
 * "caller" (test/call) invokes data.target with data.args and
 * data.timeout, then returns {"got": its output} or {"error": why}.
 * "double" returns {"n": 2 * data.n}; "slow" sleeps data.nap first;
 * "fails" fails without retry. None of the three has a trigger a test
 * sends: only invokes start them. */
#include <fnhost.h>

static int
caller(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *args = fh_json_get(ev->data, "args"), *copy = NULL;
    struct json_object *got = NULL, *out = json_object_new_object();
    int rc;

    if (args != NULL)
        json_object_deep_copy(args, &copy, NULL);
    rc = fh_invoke(ctx, "call",
                   FH_INVOKE_REQ(.function_id = fh_json_str(ev->data, "target"),
                                 .data = copy,
                                 .timeout = fh_json_str(ev->data, "timeout")),
                   &got);
    if (rc == FH_SUSPENDED) {
        json_object_put(out);
        return rc;
    }
    if (rc == FH_OK)
        json_object_object_add(out, "got", json_object_get(got));
    else
        json_object_object_add(out, "error",
                               json_object_new_string(fh_error(ctx)));
    fh_set_output(ctx, out);
    return FH_OK;
}

static int
twice(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();
    int64_t n = 0;

    fh_json_int(ev->data, "n", &n);
    json_object_object_add(out, "n", json_object_new_int64(2 * n));
    json_object_object_add(out, "event",
                           json_object_new_string(ev->name));
    fh_set_output(ctx, out);
    return FH_OK;
}

static int
slow(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *nap = fh_json_str(ev->data, "nap");

    FH_SLEEP(ctx, "nap", nap ? nap : "1s");
    fh_set_output(ctx, json_object_new_string("slept"));
    return FH_OK;
}

static int
fails(struct fh_ctx *ctx, const struct fh_event *ev)
{
    (void)ev;
    return fh_fail(ctx, FH_NO_RETRY, "no luck");
}

static const struct fh_function functions[] = {
    {.id = "caller", .run = caller, .triggers = FH_EVENTS("test/call")},
    {.id = "double", .run = twice, .triggers = FH_EVENTS("test/never-sent")},
    {.id = "slow", .run = slow, .triggers = FH_EVENTS("test/never-sent")},
    {.id = "fails", .run = fails, .triggers = FH_EVENTS("test/never-sent")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "invoker", .version = "1.0.0", .functions = functions);
