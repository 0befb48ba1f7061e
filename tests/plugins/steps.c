/* steps.c - fixture: durable steps, repeats, sleeps, retries and failures.
 * SPDX-License-Identifier: Apache-2.0
 *
 * With [plugin steps] database = PATH, every step execution is recorded in
 * table execs(run_id, step_id, at) so tests can prove which steps ran. */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fnhost.h>

#include "execs_db.h"

struct step_arg {
    const struct fh_event *ev;
    const char *name;
    int value;
};

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
data_int(const struct fh_event *ev, const char *key, int def)
{
    struct json_object *v;

    if (!json_object_object_get_ex(ev->data, key, &v))
        return def;
    return json_object_get_int(v);
}

static const char *
data_str(const struct fh_event *ev, const char *key)
{
    return fh_json_str(ev->data, key);
}

static void
record(struct fh_ctx *ctx, const char *step)
{
    sqlite3 *db = ctx->state;
    sqlite3_stmt *s;

    if (db == NULL)
        return;
    if (sqlite3_prepare_v2(db, "INSERT INTO execs(run_id, step_id, at)"
                               " VALUES (?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(s, 1, ctx->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, step, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now_ms());
    sqlite3_step(s);
    sqlite3_finalize(s);
}

/* A step that records itself, sleeps data.step_ms and returns
 * {"step": name, "value": value}. */
static int
plain_step(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct step_arg *a = arg;
    int ms = data_int(a->ev, "step_ms", 0);

    record(ctx, ctx->step_id);
    if (ms > 0)
        usleep((useconds_t)ms * 1000);
    *result = json_object_new_object();
    json_object_object_add(*result, "step", json_object_new_string(a->name));
    json_object_object_add(*result, "value", json_object_new_int(a->value));
    return FH_OK;
}

static int
three_steps(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct step_arg a = {ev, "a", 1}, b = {ev, "b", 0}, c = {ev, "c", 3};
    struct json_object *ra, *rb, *rc, *out;
    const char *nap = data_str(ev, "sleep");
    int items = data_int(ev, "items", 0);

    FH_STEP_RESULT(ctx, "a", plain_step, &a, &ra);
    /* Code between steps may use earlier results: replays give the same. */
    b.value = json_object_get_int(json_object_object_get(ra, "value")) + 1;
    FH_STEP_RESULT(ctx, "b", plain_step, &b, &rb);
    if (nap != NULL)
        FH_SLEEP(ctx, "nap", nap);
    for (int i = 0; i < items; i++) {
        struct step_arg it = {ev, "item", i};

        FH_STEP(ctx, "item", plain_step, &it);
    }
    FH_STEP_RESULT(ctx, "c", plain_step, &c, &rc);
    out = json_object_new_object();
    json_object_object_add(out, "a", json_object_get(ra));
    json_object_object_add(out, "b", json_object_get(rb));
    json_object_object_add(out, "c", json_object_get(rc));
    fh_set_output(ctx, out);
    return FH_OK;
}

/* data.naps times a step ("item", returning its index) then a 1 ms
 * sleep: every wake replays all the steps stored before it, so the last
 * resume carries 2 * naps of them. The output is the sum of the results
 * the handler got back, and how many there were. */
static int
many_naps(struct fh_ctx *ctx, const struct fh_event *ev)
{
    int naps = data_int(ev, "naps", 0), sum = 0;
    struct json_object *out;

    for (int i = 0; i < naps; i++) {
        struct step_arg it = {ev, "item", i};
        struct json_object *r;

        FH_STEP_RESULT(ctx, "item", plain_step, &it, &r);
        sum += json_object_get_int(json_object_object_get(r, "value"));
        FH_SLEEP(ctx, "nap", "1ms");
    }
    out = json_object_new_object();
    json_object_object_add(out, "sum", json_object_new_int(sum));
    json_object_object_add(out, "n", json_object_new_int(naps));
    fh_set_output(ctx, out);
    return FH_OK;
}

/* Fails while ctx->attempt < data.fail_times, retryably. */
static int
flaky_step(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct step_arg *a = arg;

    record(ctx, ctx->step_id);
    if ((int)ctx->attempt < data_int(a->ev, "fail_times", 1))
        return fh_fail(ctx, FH_RETRY, "flaky step failed on attempt %u",
                       ctx->attempt);
    *result = json_object_new_int((int)ctx->attempt);
    return FH_OK;
}

static int
step_flaky(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct step_arg first = {ev, "first", 1}, last = {ev, "last", 2};
    struct json_object *r;

    FH_STEP(ctx, "first", plain_step, &first);
    FH_STEP_RESULT(ctx, "flaky", flaky_step, &first, &r);
    FH_STEP(ctx, "last", plain_step, &last);
    fh_set_output(ctx, json_object_get(r));
    return FH_OK;
}

static int
doomed_step(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct step_arg *a = arg;

    record(ctx, ctx->step_id);
    if (data_int(a->ev, "retryable", 0))
        return fh_fail(ctx, FH_RETRY, "doomed step: still broken");
    return fh_fail(ctx, FH_NO_RETRY, "doomed step: the card was declined");
}

static int
step_fatal(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct step_arg a = {ev, "doomed", 0}, after = {ev, "after", 9};
    int rc = fh_step(ctx, "doomed", doomed_step, &a, NULL);

    if (rc == FH_SUSPENDED)
        return rc;
    if (rc == FH_ERR && !data_int(ev, "handle", 0))
        return FH_ERR; /* the step's error fails the run */
    FH_STEP(ctx, "after", plain_step, &after);
    fh_set_output(ctx, json_object_new_string(rc == FH_ERR ? "handled"
                                                           : "no error"));
    return FH_OK;
}

static int
bad_sleep(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *d = data_str(ev, "duration");
    struct json_object *at;

    if (json_object_object_get_ex(ev->data, "until", &at))
        FH_SLEEP_UNTIL(ctx, "nap", json_object_get_int64(at));
    else
        FH_SLEEP(ctx, "nap", d ? d : "");
    fh_set_output(ctx, json_object_new_string("woke"));
    return FH_OK;
}

/* A value nesting DEPTH arrays deep: [[...[1]...]]. */
static struct json_object *
nested(int depth)
{
    struct json_object *o = json_object_new_int(1);

    for (int i = 0; i < depth; i++) {
        struct json_object *a = json_object_new_array();

        json_object_array_add(a, o);
        o = a;
    }
    return o;
}

/* {"n": NaN} or {"n": Infinity}, ... for data.nonfinite "nan", "inf" or
 * "-inf": json-c prints those as they are named, which is not JSON. */
static struct json_object *
nonfinite(const char *which)
{
    struct json_object *o = json_object_new_object();
    double d = strcmp(which, "nan") == 0 ? NAN
               : *which == '-'          ? -INFINITY
                                        : INFINITY;

    json_object_object_add(o, "n", json_object_new_double(d));
    return o;
}

/* A json-c serializer that fails. */
static int
unprintable(struct json_object *o, struct printbuf *pb, int level, int flags)
{
    (void)o, (void)pb, (void)level, (void)flags;
    return -1;
}

static int
deep_step(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    int bytes = data_int(ev, "bytes", 0);

    record(ctx, "deep");
    if (data_int(ev, "bad_json", 0)) {
        /* A custom serializer that writes text no parser reads back. */
        *result = json_object_new_double_s(1.0, "1}, \"x\": [oops");
    } else if (data_str(ev, "nonfinite") != NULL) {
        *result = nonfinite(data_str(ev, "nonfinite"));
    } else if (data_int(ev, "unprintable", 0)) {
        *result = json_object_new_object();
        json_object_set_serializer(*result, unprintable, NULL, NULL);
    } else if (bytes > 0) {
        char *s = malloc((size_t)bytes + 1);

        if (s == NULL)
            return fh_fail(ctx, FH_RETRY, "out of memory");
        memset(s, 'x', (size_t)bytes);
        s[bytes] = '\0';
        *result = json_object_new_string(s);
        free(s);
    } else {
        *result = nested(data_int(ev, "depth", 1));
    }
    return FH_OK;
}

/* data.depth levels of nesting in a step's result, or with data.output
 * set, in the run's output: more than 64 cannot be stored. data.bytes: a
 * result of a string that long instead; data.bad_json: one that is not
 * JSON; data.unprintable: one whose serializer fails; data.nonfinite
 * ("nan", "inf", "-inf"): one holding NaN or Infinity (with data.output,
 * the output holds it). The step runs twice (deep, deep:1) around a sleep
 * of data.nap ms, if given, so the result is replayed; the output is then
 * how deep the replayed result nests. */
static int
deep(struct fh_ctx *ctx, const struct fh_event *ev)
{
    if (data_int(ev, "output", 0)) {
        const char *nf = data_str(ev, "nonfinite");

        fh_set_output(ctx, nf != NULL ? nonfinite(nf)
                                      : nested(data_int(ev, "depth", 1)));
        return FH_OK;
    }
    struct json_object *res = NULL;
    int depth = 0;

    FH_STEP_RESULT(ctx, "deep", deep_step, (void *)ev, &res);
    if (data_int(ev, "nap", 0) > 0) {
        FH_SLEEP_UNTIL(ctx, "nap", ev->ts + data_int(ev, "nap", 0));
        /* Here the first result is the replayed one: how deep is it? */
        for (struct json_object *v = res;
             json_object_is_type(v, json_type_array);
             v = json_object_array_get_idx(v, 0))
            depth++;
        FH_STEP(ctx, "deep", deep_step, (void *)ev);
        fh_set_output(ctx, json_object_new_int(depth));
        return FH_OK;
    }
    fh_set_output(ctx, json_object_new_string("stored"));
    return FH_OK;
}

/* Logs in a run: a line, step "a", data.n numbered debug lines, a line
 * with a byte that is not UTF-8 and one of 5000 bytes, a sleep of
 * data.sleep (the lines before it are replayed after it), then a warning
 * and an error. */
static int
chatty(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct step_arg a = {ev, "a", 1};
    const char *nap = data_str(ev, "sleep");
    int n = data_int(ev, "n", 0);
    char big[5001];

    fh_log(ctx, FH_LOG_INFO, "starting");
    FH_STEP(ctx, "a", plain_step, &a);
    for (int i = 1; i <= n; i++)
        fh_log(ctx, FH_LOG_DEBUG, "line %d", i);
    fh_log(ctx, FH_LOG_INFO, "bad byte \xff here");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    fh_log(ctx, FH_LOG_INFO, "%s", big);
    if (nap != NULL)
        FH_SLEEP(ctx, "nap", nap);
    fh_log(ctx, FH_LOG_WARN, "woke");
    fh_log(ctx, FH_LOG_ERROR, "done");
    return FH_OK;
}

static int
steps_load(struct fh_ctx *ctx)
{
    return execs_load(ctx, "run_id TEXT, step_id TEXT, at INTEGER");
}

static const struct fh_function functions[] = {
    {.id = "three-steps", .run = three_steps,
     .triggers = FH_EVENTS("test/steps")},
    /* The same steps, checkpointed ahead. */
    {.id = "steps-ahead", .run = three_steps,
     .triggers = FH_EVENTS("test/steps-ahead"),
     .opts = FH_OPTS(.checkpoint_ahead = FH_CHECKPOINT_AHEAD)},
    {.id = "step-flaky", .run = step_flaky, .retries = 3,
     .triggers = FH_EVENTS("test/step-flaky")},
    {.id = "step-fatal", .run = step_fatal, .retries = 2,
     .triggers = FH_EVENTS("test/step-fatal")},
    {.id = "bad-sleep", .run = bad_sleep,
     .triggers = FH_EVENTS("test/sleep")},
    {.id = "deep", .run = deep, .triggers = FH_EVENTS("test/deep")},
    {.id = "many-naps", .run = many_naps,
     .triggers = FH_EVENTS("test/naps")},
    {.id = "chatty", .run = chatty, .triggers = FH_EVENTS("test/chatty")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "steps", .version = "1.0.0", .functions = functions,
          .load = steps_load, .unload = execs_unload);
