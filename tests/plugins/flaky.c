/* flaky.c - test plugin: fails a set number of attempts, then succeeds.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>

#include <fnhost.h>

/* data.fail_times (default 1) retryable failures, then a fatal one if
 * data.fatal is true, else {"attempt": n}. */
static int
flaky(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *data = fh_event_data(ev), *v, *out;
    int64_t fail_times = 1;
    bool fatal = false;

    if (json_object_object_get_ex(data, "fail_times", &v))
        fail_times = json_object_get_int64(v);
    if (json_object_object_get_ex(data, "fatal", &v))
        fatal = json_object_get_boolean(v);
    if ((int64_t)ctx->attempt < fail_times)
        return fh_fail(ctx, FH_RETRY, "flaky failure on attempt %u",
                       ctx->attempt);
    if (fatal)
        return fh_fail(ctx, FH_NO_RETRY, "fatal: data.fatal is set");
    out = json_object_new_object();
    json_object_object_add(out, "attempt",
                           json_object_new_int64(ctx->attempt));
    return fh_set_output(ctx, out);
}

static int
always_fails(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fh_fail(ctx, FH_RETRY, "always fails");
}

/* Attempt 0 fails asking to be retried after data.after_ms; then
 * {"attempt": n}. */
static int
retry_after(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *v, *out;

    if (ctx->attempt == 0) {
        if (json_object_object_get_ex(fh_event_data(ev), "after_ms", &v))
            fh_retry_after(ctx, json_object_get_int64(v));
        return fh_fail(ctx, FH_RETRY, "the service said: retry later");
    }
    out = json_object_new_object();
    json_object_object_add(out, "attempt",
                           json_object_new_int64(ctx->attempt));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "flaky",
     .triggers = FH_EVENTS("test/flaky"),
     .run = flaky,
     .retries = 3},
    {.id = "flaky-no-retries",
     .triggers = FH_EVENTS("test/flaky-none"),
     .run = always_fails,
     .retries = FH_RETRIES_NONE},
    {.id = "retry-after",
     .triggers = FH_EVENTS("test/retry-after"),
     .run = retry_after},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "flaky", .version = "1.0.0", .functions = functions);
