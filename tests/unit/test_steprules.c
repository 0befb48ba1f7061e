/* test_steprules.c - unit tests for what a handler's result means
 * (steprules_decide), the one decision host/worker.c and the SDK's test
 * harness both take, over every way a handler call can end.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
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

/* The last outcome a wait recorded. */
static struct {
    char status[16], value[64], error[256], id[32], kind[16], result[512];
    int64_t wake_at, lookback_ms;
    int n, branch;
} kept;

static void
keep(struct fh_ctx *ctx, const struct step_outcome *o)
{
    (void)ctx;
    kept.n++;
    snprintf(kept.status, sizeof(kept.status), "%s", o->status);
    snprintf(kept.value, sizeof(kept.value), "%s",
             o->wait_value ? o->wait_value : "(none)");
    snprintf(kept.error, sizeof(kept.error), "%s", o->error ? o->error : "");
    kept.wake_at = o->wake_at;
    kept.lookback_ms = o->lookback_ms;
    snprintf(kept.id, sizeof(kept.id), "%s", o->id);
    snprintf(kept.kind, sizeof(kept.kind), "%s", o->kind);
    snprintf(kept.result, sizeof(kept.result), "%s",
             o->result_text ? o->result_text : "");
    kept.branch = o->branch;
}

static const struct steprules_ops keep_ops = {
    .call = call,
    .record = keep,
    .now_ms = fixed_now,
};

/* Calls a wait W in a fresh handler call on EVENT: its return code. */
static int
wait_once(const struct fh_wait *w, struct json_object *event,
          struct json_object *memo, struct json_object **got)
{
    struct ctx_core core;
    struct steprules s;
    int rc;

    memset(&core, 0, sizeof(core));
    memset(&kept, 0, sizeof(kept));
    steprules_init(&s, &keep_ops, memo, 0, 3);
    s.event = event;
    rc = steprules_wait(&s, &core.pub, "w", w, got);
    steprules_fini(&s);
    ctx_reset(&core);
    return rc;
}

static void
test_wait(void)
{
    struct json_object *ev = json_tokener_parse(
        "{\"name\":\"a/start\",\"data\":{\"user\":\"u1\"}}");
    struct json_object *memo = json_object_new_object(), *got = NULL;
    struct {
        struct fh_wait known;
        const char *newer;
    } bigger = {.known = {.event = "a/b", .timeout = "1h"}, .newer = "x"};
    struct fh_wait w = {.event = "a/login", .match = "data.user",
                        .timeout = "1h", .lookback = "10m"};

    is_int(wait_once(&w, ev, memo, &got), FH_SUSPENDED,
           "a wait suspends (size 0 reads as 1.3's struct)");
    is_str(kept.status, "waiting", "its step is waiting");
    is_int(kept.wake_at, NOW + 3600000, "until its timeout");
    is_int(kept.lookback_ms, 600000, "with its look-back");
    is_str(kept.value, "\"u1\"", "and the trigger's value at the path");

    w.match = "data.nobody";
    wait_once(&w, ev, memo, &got);
    is_str(kept.value, "(none)", "a path the trigger lacks has no value");
    w.match = "data.user";

    w.timeout = NULL;
    w.timeout_at = NOW + 5000;
    wait_once(&w, ev, memo, &got);
    is_int(kept.wake_at, NOW + 5000, ".timeout_at is the timeout");
    w.timeout_at = NOW - 5000;
    wait_once(&w, ev, memo, &got);
    is_int(kept.wake_at, NOW + 1, "a past one still waits, for a look-back");

    w.timeout = "1h";
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "both timeouts: refused");
    is_str(kept.status, "failed", "the step fails for good");
    ok(strstr(kept.error, "one of .timeout and .timeout_at") != NULL,
       "saying why");
    w.timeout_at = 0;
    w.timeout = "2 years";
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "over a year: refused");
    w.timeout = "1h";
    w.lookback = "soon";
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "a bad look-back");
    w.lookback = NULL;
    w.match = "data.";
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "a bad path");
    w.match = NULL;
    w.event = "";
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "no event name");
    w.event = "a/login";
    w.size = 8;
    is_int(wait_once(&w, ev, memo, &got), FH_ERR, "a size below 1.3's");
    bigger.known.size = sizeof(bigger);
    is_int(wait_once(&bigger.known, ev, memo, &got), FH_ERR,
           "a newer field set: refused");
    ok(strstr(kept.error, "upgrade fnhost") != NULL, "saying what to do");
    bigger.newer = NULL;
    is_int(wait_once(&bigger.known, ev, memo, &got), FH_SUSPENDED,
           "a newer struct with its new fields unset waits");

    json_object_object_add(memo, "w",
                           json_tokener_parse("{\"data\":{\"name\":\"a/b\"}}"));
    w.size = 0;
    kept.n = 0;
    is_int(wait_once(&w, ev, memo, &got), FH_OK, "a stored wait returns");
    is_str(json_object_get_string(json_object_object_get(got, "name")), "a/b",
           "its event");
    is_int(kept.n, 0, "and records nothing");
    json_object_object_add(memo, "w", json_tokener_parse("{\"data\":null}"));
    is_int(wait_once(&w, ev, memo, &got), FH_OK, "a timed-out wait returns");
    ok(got == NULL, "NULL");
    json_object_put(memo);
    json_object_put(ev);
}

/* A branch body: its step id as its result. */
static int
named(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)arg;
    *result = json_object_new_string(ctx->step_id);
    return FH_OK;
}

/* A handler: step "before", then group "g" of branches "a", "b", "a"
 * (ids a, b, a:1) in MODE; the group's return code, with R and W. */
static int
grouped(struct fh_ctx *ctx, struct steprules *s, int mode,
        struct json_object **r, size_t *w)
{
    struct fh_branch b[] = {FH_BRANCH("a", named, NULL),
                            FH_BRANCH("b", named, NULL),
                            FH_BRANCH("a", named, NULL)};
    int rc = steprules_run(s, ctx, "before", named, NULL, NULL);

    if (rc != FH_OK)
        return rc;
    return steprules_parallel(s, ctx, "g",
                              FH_PARALLEL_REQ(.branches = b, .n = 3,
                                              .mode = mode),
                              r, w);
}

/* The memo of the last group_call(), which its results borrow from. */
static struct json_object *last_memo;
/* What the next group_call()'s stored steps hold (0: as the memo). */
static uint64_t call_state_bytes;

/* One handler call of grouped() on MEMO (a JSON text), with TARGET for a
 * branch's invocation: its return code, its verdict's end in *END and
 * its error (if any) in ERR. */
static int
group_call(const char *memo_text, const char *target, int mode,
           struct json_object **r, size_t *w, int *end, char *err,
           size_t errlen)
{
    struct ctx_core core;
    struct steprules s;
    struct steprules_verdict v;
    struct json_object *memo = json_tokener_parse(memo_text);
    int rc;

    json_object_put(last_memo);
    last_memo = memo;
    memset(&core, 0, sizeof(core));
    memset(&kept, 0, sizeof(kept));
    steprules_init(&s, &keep_ops, memo, 0, 3);
    s.target = target;
    s.state_bytes = call_state_bytes;
    rc = grouped(&core.pub, &s, mode, r, w);
    steprules_decide(&s, &core.pub, rc, &v);
    *end = v.end;
    snprintf(err, errlen, "%s", v.error ? v.error : "");
    if (rc == FH_ERR && core.error != NULL)
        snprintf(err, errlen, "%s", core.error);
    steprules_verdict_free(&v);
    steprules_fini(&s);
    ctx_reset(&core);
    return rc;
}

/* A parallel group: it begins with its plan and suspends; each branch's
 * invocation runs its target alone and ends; the replay once the group
 * has ended returns the stored results (race: the winner's). */
static void
test_parallel(void)
{
    struct json_object *r[3];
    char err[512];
    size_t w = 9;
    int end;

    is_int(group_call("{}", NULL, FH_PARALLEL_ALL, r, &w, &end, err,
                      sizeof(err)),
           FH_SUSPENDED, "a group suspends the run");
    is_int(end, STEPRULES_END_PARALLEL, "which waits for its branches");
    ok(strcmp(kept.kind, "parallel") == 0 &&
           strcmp(kept.status, "parallel") == 0 && strcmp(kept.id, "g") == 0,
       "the group is recorded as step g, parallel");
    is_str(kept.result,
           "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\",\"name\":"
           "\"a\"},{\"id\":\"b\",\"name\":\"b\"},{\"id\":\"a:1\","
           "\"name\":\"a\"}]}",
           "with its plan: each branch's step id, counted as steps'");

    is_int(group_call("{\"before\":{\"data\":1}}", "a:1", FH_PARALLEL_ALL,
                      r, &w, &end, err, sizeof(err)),
           FH_SUSPENDED, "a branch's invocation stops at its group");
    is_int(end, STEPRULES_END_COMPLETED, "and ends");
    ok(kept.n == 1 && strcmp(kept.id, "a:1") == 0 && kept.branch &&
           strcmp(kept.status, "completed") == 0,
       "having run its target alone, marked to go with the end");
    is_str(kept.result, "\"a:1\"", "whose result is stored");

    call_state_bytes = STEPRULES_MAX_RUN_STATE - 12;
    group_call("{\"before\":{\"data\":1}}", "a:1", FH_PARALLEL_ALL, r, &w,
               &end, err, sizeof(err));
    ok(strcmp(kept.status, "failed") == 0 && strstr(kept.error, "share") &&
           kept.branch,
       "a branch may take a third of the 12 bytes a run has left, no more");
    call_state_bytes = STEPRULES_MAX_RUN_STATE - 15;
    group_call("{\"before\":{\"data\":1}}", "a:1", FH_PARALLEL_ALL, r, &w,
               &end, err, sizeof(err));
    is_str(kept.status, "completed", "and five of 15 it may");
    call_state_bytes = 0;

    is_int(group_call("{\"before\":{\"data\":1},\"b\":{\"data\":2}}",
                      "b", FH_PARALLEL_ALL, r, &w, &end, err, sizeof(err)),
           FH_SUSPENDED, "a branch whose step is stored");
    ok(end == STEPRULES_END_COMPLETED && kept.n == 0,
       "ends without running it");

    is_int(group_call("{\"before\":{\"data\":1},\"g\":{\"data\":{}}}",
                      "a", FH_PARALLEL_ALL, r, &w, &end, err, sizeof(err)),
           FH_SUSPENDED, "a branch of a group that has ended");
    ok(end == STEPRULES_END_COMPLETED && kept.n == 0,
       "ends without running (a race's loser)");

    group_call("{}", "a", FH_PARALLEL_ALL, r, &w, &end, err, sizeof(err));
    is_int(end, STEPRULES_END_FAILED,
           "a branch that meets a step not stored before its group fails");
    ok(strstr(err, "reached step \"before\", which has no stored outcome") !=
           NULL,
       "saying which");
    is_int(kept.n, 0, "and runs nothing");

    group_call("{\"before\":{\"data\":1}}", "zz", FH_PARALLEL_ALL, r, &w,
               &end, err, sizeof(err));
    ok(end == STEPRULES_END_FAILED && strstr(err, "parallel branch \"zz\"") !=
                                           NULL,
       "as does one whose target is not in the group it reaches");

    is_int(group_call("{\"before\":{\"data\":1},\"g\":{\"data\":{\"mode\":"
                      "\"all\"}},\"a\":{\"data\":\"A\"},\"b\":{\"error\":"
                      "\"down\"},\"a:1\":{\"data\":\"A1\"}}",
                      NULL, FH_PARALLEL_ALL, r, &w, &end, err, sizeof(err)),
           FH_ERR, "the replay of an ended group with a failed branch: FH_ERR");
    ok(strcmp(json_object_get_string(r[0]), "A") == 0 && r[1] == NULL &&
           strcmp(json_object_get_string(r[2]), "A1") == 0,
       "the others' results are set, the failed one's NULL");
    is_str(err, "step b: down", "the error names the branch");

    is_int(group_call("{\"before\":{\"data\":1},\"g\":{\"data\":{\"mode\":"
                      "\"race\",\"winner\":\"a:1\"}},\"a\":{\"data\":\"A\"},"
                      "\"a:1\":{\"data\":\"A1\"}}",
                      NULL, FH_PARALLEL_RACE, r, &w, &end, err, sizeof(err)),
           FH_OK, "a race's replay returns its winner's outcome");
    ok(w == 2 && r[0] == NULL && strcmp(json_object_get_string(r[2]), "A1") == 0,
       "its index and result only, whoever else ended");
    json_object_put(last_memo);
    last_memo = NULL;
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
    test_wait();
    test_parallel();
    return done_testing();
}
