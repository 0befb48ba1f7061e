/* test_steprules.c - unit tests for what a handler's result means
 * (steprules_decide), the one decision host/worker.c and the SDK's test
 * harness both take, over every way a handler call can end.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "ctx.h"
#include "steprules.h"
#include "tap.h"

/* The clock the rules read: fixed, so a sleep's wake time is known. */
#define NOW 1700000000000LL

static int64_t
fixed_now(void)
{
    return NOW;
}

static int
call(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
     struct json_object **result)
{
    (void)name;
    return fn(ctx, arg, result);
}

/* Outcomes are kept nowhere: the verdict is what is under test. */
static void
record(struct fh_ctx *ctx, const struct step_outcome *o)
{
    (void)ctx, (void)o;
}

static const struct steprules_ops ops = {
    .call = call,
    .record = record,
    .now_ms = fixed_now,
};

/* A step that fails, asking to be retried in 5 s. */
static int
flaky(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)arg, (void)result;
    ctx_retry_after(ctx, 5000);
    return ctx_fail(ctx, FH_RETRY, "the service said 503");
}

/* One handler call on attempt ATTEMPT of MAX. */
struct call {
    struct ctx_core core;
    struct steprules steps;
    struct json_object *memo;
    struct steprules_verdict v;
};

static void
begin(struct call *c, unsigned attempt, unsigned max)
{
    memset(c, 0, sizeof(*c));
    c->memo = json_object_new_object();
    steprules_init(&c->steps, &ops, c->memo, attempt, max);
}

static void
decide(struct call *c, int rc)
{
    steprules_decide(&c->steps, &c->core.pub, rc, &c->v);
}

static void
end(struct call *c)
{
    steprules_verdict_free(&c->v);
    steprules_fini(&c->steps);
    ctx_reset(&c->core);
    json_object_put(c->memo);
}

static void
test_completed(void)
{
    struct call c;

    begin(&c, 0, 3);
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_COMPLETED, "FH_OK completes the run");
    ok(c.v.output == NULL, "without fh_set_output() there is no output");
    ok(c.v.error == NULL, "and no error");
    end(&c);

    begin(&c, 0, 3);
    ctx_set_output(&c.core.pub, json_object_new_string("hi"));
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_COMPLETED, "FH_OK with an output completes");
    is_str(c.v.output, "\"hi\"", "the output is its JSON text");
    end(&c);

    /* A handler that failed, then set an output and returned FH_OK. */
    begin(&c, 0, 3);
    ctx_fail(&c.core.pub, FH_RETRY, "first try");
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_COMPLETED,
           "FH_OK wins over an earlier"
           " fh_fail()");
    end(&c);
}

static void
test_bad_output(void)
{
    struct call c;
    struct json_object *deep = json_object_new_array();

    begin(&c, 0, 3);
    ctx_set_output(&c.core.pub, json_object_new_double(NAN));
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_FAILED,
           "an output holding NaN fails the run");
    ok(c.v.no_retry, "for good: no attempt would store it");
    has_str(c.v.error, "the output is not valid JSON", "and says why");
    end(&c);

    for (int i = 0; i < STEPRULES_MAX_DEPTH; i++) {
        struct json_object *outer = json_object_new_array();

        json_object_array_add(outer, deep);
        deep = outer;
    }
    begin(&c, 0, 3);
    ctx_set_output(&c.core.pub, deep);
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_FAILED, "an output nesting too deep fails");
    has_str(c.v.error, "nests too deep", "and says so");
    end(&c);
}

static void
test_failed(void)
{
    struct call c;

    begin(&c, 0, 3);
    ctx_retry_after(&c.core.pub, 2000);
    ctx_fail(&c.core.pub, FH_RETRY, "upstream is down");
    decide(&c, FH_ERR);
    is_int(c.v.end, STEPRULES_END_RETRY,
           "a failure with attempts left is retried");
    is_str(c.v.error, "upstream is down", "with the handler's reason");
    ok(!c.v.no_retry, "not marked final");
    is_int(c.v.retry_after_ms, 2000, "after the delay it asked for");
    end(&c);

    begin(&c, 2, 3);
    ctx_retry_after(&c.core.pub, 2000);
    ctx_fail(&c.core.pub, FH_RETRY, "upstream is down");
    decide(&c, FH_ERR);
    is_int(c.v.end, STEPRULES_END_FAILED, "on the last attempt it fails");
    is_int(c.v.retry_after_ms, 0, "with no delay: nothing comes next");
    end(&c);

    begin(&c, 0, 3);
    ctx_fail(&c.core.pub, FH_NO_RETRY, "bad input");
    decide(&c, FH_ERR);
    is_int(c.v.end, STEPRULES_END_FAILED, "FH_NO_RETRY fails at once");
    ok(c.v.no_retry, "marked so");
    end(&c);

    begin(&c, 0, 3);
    decide(&c, 7);
    is_int(c.v.end, STEPRULES_END_RETRY,
           "an unknown code without a reason"
           " is a failure to retry");
    is_str(c.v.error, "handler returned 7 without a reason",
           "that says what the handler returned");
    end(&c);

    /* max_attempts 0 counts as one attempt. */
    begin(&c, 0, 0);
    decide(&c, FH_ERR);
    is_int(c.v.end, STEPRULES_END_FAILED,
           "a function with one attempt"
           " fails on its first");
    end(&c);
}

static void
test_suspended_without_step(void)
{
    struct call c;

    begin(&c, 0, 3);
    ctx_retry_after(&c.core.pub, 2000);
    ctx_fail(&c.core.pub, FH_NO_RETRY, "ignored");
    decide(&c, FH_SUSPENDED);
    is_int(c.v.end, STEPRULES_END_RETRY,
           "FH_SUSPENDED with no step suspended is a failure to retry");
    is_str(c.v.error,
           "the handler returned FH_SUSPENDED but no step"
           " suspended",
           "that says so");
    ok(!c.v.no_retry, "whatever fh_fail() said before");
    is_int(c.v.retry_after_ms, 0, "with the backoff's delay, not its own");
    end(&c);
}

static void
test_step_retry(void)
{
    struct call c;
    struct json_object *res;
    int rc;

    begin(&c, 0, 3);
    rc = steprules_run(&c.steps, &c.core.pub, "charge", flaky, NULL, &res);
    is_int(rc, FH_SUSPENDED, "a failing step with attempts left suspends");
    decide(&c, rc);
    is_int(c.v.end, STEPRULES_END_RETRY, "the run is retried");
    is_str(c.v.error, "the service said 503", "with the step's error");
    is_int(c.v.retry_after_ms, 5000, "after the step's own delay");
    ok(!c.v.ignored_suspension, "the handler passed FH_SUSPENDED on");
    end(&c);

    begin(&c, 0, 3);
    steprules_run(&c.steps, &c.core.pub, "charge", flaky, NULL, &res);
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_RETRY,
           "a handler that returns FH_OK after a step suspended is retried");
    ok(c.v.ignored_suspension, "and the verdict says it ignored the"
                               " suspension");
    end(&c);

    /* Out of attempts, a step's failure is the handler's to handle. */
    begin(&c, 0, 1);
    rc = steprules_run(&c.steps, &c.core.pub, "charge", flaky, NULL, &res);
    is_int(rc, FH_ERR, "on the last attempt the step returns FH_ERR");
    decide(&c, rc);
    is_int(c.v.end, STEPRULES_END_FAILED, "and passing it on fails the run");
    is_str(c.v.error, "the service said 503", "with the step's error");
    ok(c.v.no_retry, "for good");
    end(&c);
}

static void
test_sleep(void)
{
    struct call c;
    int rc;

    begin(&c, 0, 3);
    rc = steprules_sleep(&c.steps, &c.core.pub, "wait", 0, "1h", 0);
    is_int(rc, FH_SUSPENDED, "a sleep suspends");
    decide(&c, rc);
    is_int(c.v.end, STEPRULES_END_SLEEP, "the run sleeps");
    ok(c.v.error == NULL, "with no error");
    end(&c);

    begin(&c, 0, 3);
    rc = steprules_sleep(&c.steps, &c.core.pub, "wait", 1, NULL, NOW - 1);
    is_int(rc, FH_OK, "a sleep until a past time returns at once");
    decide(&c, FH_OK);
    is_int(c.v.end, STEPRULES_END_COMPLETED, "and the run may complete");
    end(&c);
}

int
main(void)
{
    test_completed();
    test_bad_output();
    test_failed();
    test_suspended_without_step();
    test_step_retry();
    test_sleep();
    return done_testing();
}
