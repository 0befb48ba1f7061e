/* plugin_steps.c - durable steps under the SDK's test harness: the steps
 * fixture (tests/plugins/steps.c), and a probe plugin defined here that
 * checks what the harness hands a plugin.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/steps.c, linked with the harness
 * library (build/libfnhost_test.a). */
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fnhost_test.h"
#include "tap.h"

/* The ABI this host is, "MAJOR.MINOR", as the refusals word it. */
#define ABI_STR_(x) #x
#define ABI_STR(x) ABI_STR_(x)
#define HOST_ABI ABI_STR(FH_ABI_MAJOR) "." ABI_STR(FH_ABI_MINOR)

const struct fh_plugin *fh_plugin_entry(void);

static char dir[256], execs_db[300];

static long long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The ids in R's ran list, joined with commas. */
static const char *
ran_ids(const struct fh_test_result *r)
{
    static char buf[512];
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < r->nran && off < sizeof(buf); i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
                                i ? "," : "", r->ran[i].id);
    return buf;
}

/* The step ids the fixture recorded for RUN, in order, joined. */
static const char *
execs(const char *run)
{
    static char buf[512];
    size_t off = 0;
    sqlite3 *db;
    sqlite3_stmt *q;

    buf[0] = '\0';
    if (sqlite3_open_v2(execs_db, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT step_id FROM execs WHERE run_id = ?"
                               " ORDER BY rowid", -1, &q, NULL) ==
            SQLITE_OK) {
        sqlite3_bind_text(q, 1, run, -1, SQLITE_STATIC);
        while (sqlite3_step(q) == SQLITE_ROW && off < sizeof(buf))
            off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
                                    off ? "," : "",
                                    (const char *)sqlite3_column_text(q, 0));
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return buf;
}

static struct fh_test *
steps_harness(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    if (t == NULL) {
        printf("Bail out! the harness refused the steps fixture\n");
        exit(1);
    }
    fh_test_log_level(t, -1);
    fh_test_config(t, "database", execs_db);
    return t;
}

static void
test_ids_and_results(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;
    const struct fh_test_step *s;

    is_int(fh_test_run_all(t, "three-steps",
                           "{\"name\":\"test/steps\",\"data\":{\"items\":3}}",
                           &r), 0, "three-steps runs");
    is_int(r.status, FH_TEST_COMPLETED, "and completes");
    is_str(ran_ids(&r), "a,b,item,item:1,item:2,c",
           "repeated names get ids name, name:1, name:2");
    is_str(execs(r.run_id), "a,b,item,item:1,item:2,c",
           "each step's body ran once, and saw its id in ctx->step_id");
    s = fh_test_ran(&r, "item:2");
    is_str(s ? s->name : NULL, "item", "item:2 is a step named item");
    is_str(s ? s->result : NULL, "{\"step\":\"item\",\"value\":2}",
           "with its result");
    is_str(r.output, "{\"a\":{\"step\":\"a\",\"value\":1},"
                     "\"b\":{\"step\":\"b\",\"value\":2},"
                     "\"c\":{\"step\":\"c\",\"value\":3}}",
           "later steps see earlier results");
    is_int(r.invocations, 1, "in one invocation");
    fh_test_result_free(&r);

    /* A canned result feeds the code between steps. */
    fh_test_step_result(t, "a", "{\"step\":\"a\",\"value\":10}");
    fh_test_run(t, "three-steps", "{\"name\":\"test/steps\"}", &r);
    is_str(ran_ids(&r), "b,c", "with a stored, a is replayed");
    ok(fh_test_replayed(&r, "a") && r.nreplayed == 1, "(replayed: a)");
    is_str(fh_test_ran(&r, "b")->result, "{\"step\":\"b\",\"value\":11}",
           "and b computes from its stored result");
    is_str(execs(r.run_id), "b,c", "a's body did not run");
    fh_test_result_free(&r);
    fh_test_free(t);
}

/* A cancel at a step boundary, as the host's ack says it: the step ran
 * and is kept, the handler stops there, and nothing after it runs. */
static void
test_cancel(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;

    is_int(fh_test_cancel_at(t, "item:1"), 0, "fh_test_cancel_at(item:1)");
    is_int(fh_test_run_all(t, "three-steps",
                           "{\"name\":\"test/steps\","
                           "\"data\":{\"items\":3}}",
                           &r), 0, "three-steps runs");
    is_int(r.status, FH_TEST_CANCELLED, "and ends cancelled");
    is_int(r.rc, FH_SUSPENDED, "its handler returned FH_SUSPENDED");
    is_str(ran_ids(&r), "a,b,item,item:1", "item:1 ran, nothing after it");
    is_str(execs(r.run_id), "a,b,item,item:1", "no body after it ran");
    is_str(fh_test_ran(&r, "item:1")->result,
           "{\"step\":\"item\",\"value\":1}", "item:1 kept its result");
    is_str(r.error, "cancelled at a step boundary", "the error says so");
    fh_test_result_free(&r);

    /* The next run is a new one, not cancelled. */
    fh_test_run_all(t, "three-steps", "{\"name\":\"test/steps\"}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a cancel is for its run only");
    fh_test_result_free(&r);
    is_int(fh_test_cancel_at(t, ""), -1, "an empty step id is refused");
    fh_test_free(t);
}

static void
test_sleep_resume(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;
    char run[27];

    fh_test_run(t, "three-steps",
                "{\"name\":\"test/steps\",\"data\":{\"sleep\":\"2s\"}}", &r);
    is_int(r.status, FH_TEST_SLEEPING, "a sleep suspends the run");
    is_str(ran_ids(&r), "a,b,nap", "after a and b");
    ok(r.sleep != NULL && r.sleep->kind == FH_TEST_SLEEP &&
           r.sleep->sleep_ms == 2000 && strcmp(r.sleep->duration, "2s") == 0,
       "nap sleeps 2 s");
    ok(r.sleep != NULL && r.sleep->wake_at > now_ms() + 1000,
       "and wakes in the future");
    memcpy(run, r.run_id, sizeof(run));
    fh_test_result_free(&r);

    /* Another function while this run sleeps is a mistake. */
    is_int(fh_test_run(t, "step-flaky", "{\"name\":\"test/step-flaky\"}", &r),
           -1, "a run of another function is refused while one sleeps");
    has_str(r.error, "has not ended", "and the error says why");
    fh_test_result_free(&r);

    fh_test_run(t, "three-steps",
                "{\"name\":\"test/steps\",\"data\":{\"sleep\":\"2s\"}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "the next invocation completes");
    is_str(r.run_id, run, "in the same run");
    is_str(ran_ids(&r), "c", "running only c");
    is_int(r.nreplayed, 3, "replaying a, b and nap");
    is_str(execs(run), "a,b,c", "nothing before the sleep ran again");
    fh_test_result_free(&r);

    fh_test_run(t, "step-flaky", "{\"name\":\"test/step-flaky\"}", &r);
    ok(strcmp(r.run_id, run) != 0, "after a run ends, the next is a new run");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_flaky(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;
    const char *ev = "{\"name\":\"test/step-flaky\",\"data\":{\"fail_times\":2}}";

    fh_test_run(t, "step-flaky", ev, &r);
    is_int(r.status, FH_TEST_RETRYING, "a flaky step's failure is retried");
    is_str(r.retry ? r.retry->id : NULL, "flaky", "the step flaky");
    is_str(r.error, "flaky step failed on attempt 0", "with its error");
    is_int(r.max_attempts, 4, "retries = 3 gives 4 attempts");
    fh_test_result_free(&r);
    fh_test_new_run(t);

    fh_test_run_all(t, "step-flaky", ev, &r);
    is_int(r.status, FH_TEST_COMPLETED, "run_all retries it until it works");
    is_str(r.output, "2", "on attempt 2");
    is_str(ran_ids(&r), "first,flaky,flaky,flaky,last",
           "first ran once, flaky three times");
    ok(r.nran == 5 && r.ran[1].attempt == 0 && r.ran[2].attempt == 1 &&
           r.ran[3].attempt == 2 && r.ran[3].error == NULL,
       "attempts 0, 1 and 2, the last without error");
    is_str(r.ran[2].error, "flaky step failed on attempt 1",
           "each failed attempt has its error");
    is_int(r.invocations, 3, "three invocations");
    is_str(execs(r.run_id), "first,flaky,flaky,flaky,last",
           "as the fixture recorded");
    fh_test_result_free(&r);

    fh_test_run_all(t, "step-flaky",
                    "{\"name\":\"test/step-flaky\",\"data\":{\"fail_times\":9}}",
                    &r);
    is_int(r.status, FH_TEST_FAILED, "a step that keeps failing fails the run");
    is_str(r.error, "flaky step failed on attempt 3", "after 4 attempts");
    is_int(r.nran, 5, "(first, then flaky four times)");
    is_int(r.ran[4].final, 1, "the last failure is final");
    is_int(r.no_retry, 1, "the step's final error is not retried");
    fh_test_result_free(&r);

    /* Attempts count per unit of work: a checkpoint starts the next at 0. */
    fh_test_attempt(t, 2);
    fh_test_run(t, "step-flaky", ev, &r);
    is_int(fh_test_ran(&r, "first")->attempt, 2,
           "an invocation at attempt 2 runs the first step on attempt 2");
    is_int(fh_test_ran(&r, "flaky")->attempt, 0,
           "and, after its checkpoint, the flaky step on attempt 0");
    is_int(r.status, FH_TEST_RETRYING, "which fails");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_step_result(t, "first", "{\"step\":\"first\",\"value\":1}");
    fh_test_attempt(t, 2);
    fh_test_run(t, "step-flaky", ev, &r);
    is_int(r.status, FH_TEST_COMPLETED,
           "with first stored, attempt 2 reaches the flaky step");
    is_int(fh_test_ran(&r, "flaky")->attempt, 2, "which works on attempt 2");
    is_str(r.output, "2", "and returns it");
    fh_test_result_free(&r);

    fh_test_max_attempts(t, 1);
    fh_test_run(t, "step-flaky", ev, &r);
    is_int(r.status, FH_TEST_FAILED, "with max_attempts 1 nothing is retried");
    is_int(r.max_attempts, 1, "ctx->max_attempts is 1");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_fatal(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;

    fh_test_run_all(t, "step-fatal", "{\"name\":\"test/step-fatal\"}", &r);
    is_int(r.status, FH_TEST_FAILED, "returning a step's final error fails the"
                                     " run");
    is_int(r.rc, FH_ERR, "the handler returned FH_ERR");
    is_str(r.error, "doomed step: the card was declined", "with its error");
    is_int(r.no_retry, 1, "at once");
    is_str(ran_ids(&r), "doomed", "doomed ran once");
    is_int(r.ran[0].final, 1, "and failed for good");
    fh_test_result_free(&r);

    fh_test_run_all(t, "step-fatal",
                    "{\"name\":\"test/step-fatal\",\"data\":{\"handle\":1}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a handler may handle the error");
    is_str(r.output, "\"handled\"", "and go on");
    is_str(ran_ids(&r), "doomed,after", "to the next step");
    is_str(r.error, NULL, "the run has no error");
    fh_test_result_free(&r);

    fh_test_run_all(t, "step-fatal",
                    "{\"name\":\"test/step-fatal\",\"data\":{\"retryable\":1}}",
                    &r);
    is_int(r.status, FH_TEST_FAILED, "a retryable step that never works fails");
    is_str(ran_ids(&r), "doomed,doomed,doomed",
           "after retries + 1 attempts (retries = 2)");
    is_str(r.error, "doomed step: still broken", "with its error");
    fh_test_result_free(&r);

    fh_test_step_error(t, "doomed", "canned decline");
    fh_test_run(t, "step-fatal",
                "{\"name\":\"test/step-fatal\",\"data\":{\"handle\":1}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a canned error is handled too");
    is_str(ran_ids(&r), "after", "without running doomed");
    ok(fh_test_replayed(&r, "doomed"), "which is replayed");
    is_str(execs(r.run_id), "after", "(the fixture agrees)");
    fh_test_result_free(&r);
    fh_test_free(t);
}

/* What the store could not read back fails for good, as in the host
 * (tests/integration/steps.sh runs the same cases on the daemon). */
static void
test_limits(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;

    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"depth\":64,\"nap\":3600000}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a result nesting 64 levels is fine");
    is_str(ran_ids(&r), "deep,nap,deep:1", "and replayed after a sleep");
    ok(fh_test_replayed(&r, "deep"), "as stored, not run again");
    is_str(r.output, "64", "the replayed result nests 64 levels, not null");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"depth\":65}}", &r);
    is_int(r.status, FH_TEST_FAILED, "one nesting 65 fails the run");
    is_str(r.error, "step result nests deeper than 64 levels", "saying why");
    ok(r.nran == 1 && r.ran[0].final, "the step ran once and failed for good");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"depth\":65,\"output\":1}}", &r);
    is_int(r.status, FH_TEST_FAILED, "an output nesting 65 levels fails");
    is_str(r.error, "the output nests too deep to store (more than 64"
                    " levels)", "saying why");
    is_int(r.no_retry, 1, "without a retry");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"bad_json\":1}}", &r);
    is_int(r.status, FH_TEST_FAILED, "a result that is not JSON fails");
    is_str(r.error, "step result is not valid JSON: 1}, \"x\": [oops",
           "saying why");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"unprintable\":1}}", &r);
    is_int(r.status, FH_TEST_FAILED, "a result that cannot be printed fails");
    is_str(r.error, "step result could not be serialized", "saying why");
    fh_test_result_free(&r);
    /* json-c prints NaN and Infinity as named, and reads them back. */
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"nonfinite\":\"nan\"}}", &r);
    is_int(r.status, FH_TEST_FAILED, "a result holding NaN fails");
    is_str(r.error, "step result is not valid JSON: NaN is not a number JSON"
                    " can hold", "saying why");
    ok(r.nran == 1 && r.ran[0].final, "the step ran once and failed for good");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"nonfinite\":\"-inf\"}}", &r);
    is_str(r.error, "step result is not valid JSON: -Infinity is not a"
                    " number JSON can hold", "so does one holding -Infinity");
    fh_test_result_free(&r);
    fh_test_run_all(t, "deep", "{\"name\":\"test/deep\",\"data\":"
                               "{\"nonfinite\":\"inf\",\"output\":1}}",
                    &r);
    is_int(r.status, FH_TEST_FAILED, "an output holding Infinity fails");
    is_str(r.error, "the output is not valid JSON: Infinity is not a number"
                    " JSON can hold", "saying why");
    is_int(r.no_retry, 1, "without a retry");
    ok(r.output == NULL, "and stores no output");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_sleeps(void)
{
    struct fh_test *t = steps_harness();
    struct fh_test_result r;
    char ev[256];
    long long at;

    fh_test_run_all(t, "bad-sleep",
                    "{\"name\":\"test/sleep\",\"data\":{\"duration\":\"3 dayz\"}}",
                    &r);
    is_int(r.status, FH_TEST_FAILED, "a duration that does not parse fails");
    is_str(r.error, "sleep \"nap\": invalid duration \"3 dayz\": unknown unit"
                    " \"dayz\"", "with the host's words");
    is_int(r.no_retry, 1, "without retry");
    is_int(r.invocations, 1, "in one invocation");
    ok(r.nran == 1 && r.ran[0].kind == FH_TEST_SLEEP && r.ran[0].final &&
           r.ran[0].sleep_ms == 0,
       "the sleep is recorded as failed");
    fh_test_result_free(&r);

    fh_test_run_all(t, "bad-sleep",
                    "{\"name\":\"test/sleep\",\"data\":{\"duration\":\"400 days\"}}",
                    &r);
    is_str(r.error, "sleep \"nap\": \"400 days\" is longer than a year",
           "a sleep over a year fails");
    fh_test_result_free(&r);
    fh_test_run_all(t, "bad-sleep", "{\"name\":\"test/sleep\"}", &r);
    is_str(r.error, "sleep \"nap\": invalid duration \"\": it is empty",
           "an empty duration fails");
    fh_test_result_free(&r);
    fh_test_run_all(t, "bad-sleep",
                    "{\"name\":\"test/sleep\",\"data\":{\"duration\":\"1 year\"}}",
                    &r);
    is_int(r.status, FH_TEST_COMPLETED, "a sleep of exactly a year is fine");
    is_int(r.ran[0].sleep_ms, 31557600000LL, "(365.25 days)");
    fh_test_result_free(&r);

    snprintf(ev, sizeof(ev), "{\"name\":\"test/sleep\",\"data\":{\"until\":%lld}}",
             now_ms() - 1000);
    fh_test_run(t, "bad-sleep", ev, &r);
    is_int(r.status, FH_TEST_COMPLETED, "sleep_until a past time does not sleep");
    is_str(r.output, "\"woke\"", "the handler goes on");
    ok(r.nran == 1 && r.ran[0].sleep_ms == 0 && r.ran[0].duration == NULL,
       "the sleep is listed, with no time to sleep");
    fh_test_result_free(&r);

    at = now_ms() + 3600000;
    snprintf(ev, sizeof(ev), "{\"name\":\"test/sleep\",\"data\":{\"until\":%lld}}",
             at);
    fh_test_run(t, "bad-sleep", ev, &r);
    is_int(r.status, FH_TEST_SLEEPING, "sleep_until a future time sleeps");
    ok(r.sleep != NULL && r.sleep->wake_at == at, "until that time");
    fh_test_result_free(&r);
    fh_test_new_run(t);

    snprintf(ev, sizeof(ev), "{\"name\":\"test/sleep\",\"data\":{\"until\":%lld}}",
             now_ms() + 2 * 31557600000LL);
    fh_test_run(t, "bad-sleep", ev, &r);
    is_str(r.error, "sleep \"nap\" is longer than a year",
           "sleep_until beyond a year fails");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_durations(void)
{
    static const struct {
        const char *s;
        long long ms;
    } good[] = {
        {"3 days", 259200000},  {"3d", 259200000}, {"1h30m", 5400000},
        {"2.5h", 9000000},      {"30 mins", 1800000}, {"1500", 1500},
        {"2h 45m 10s", 9910000}, {"1ns", 1},       {"1 YEAR", 31557600000LL},
    };
    static const struct {
        const char *s, *why;
    } bad[] = {
        {"3 dayz", "unknown unit \"dayz\""},
        {"-1s", "negative"},
        {"1h 30", "a number in a compound has no unit"},
        {"s", "expected a number"},
        {"101 years", "longer than 100 years"},
    };

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int64_t ms = -1;
        char err[256] = "";

        is_int(fh_test_duration(good[i].s, &ms, err, sizeof(err)), 0,
               "duration \"%s\" parses", good[i].s);
        is_int(ms, good[i].ms, "to %lld ms", good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = -1;
        char err[256] = "";

        is_int(fh_test_duration(bad[i].s, &ms, err, sizeof(err)), -1,
               "duration \"%s\" is refused", bad[i].s);
        has_str(err, bad[i].why, "because %s", bad[i].why);
    }
}

/* ------------------------------------------------- a probe plugin */

static int probe_loads;

static int
probe_load(struct fh_ctx *ctx)
{
    struct json_object *r = NULL;

    probe_loads++;
    if (fh_config(ctx, "fail_load") != NULL)
        return fh_fail(ctx, FH_NO_RETRY, "told to fail");
    /* Steps belong in handlers. */
    if (fh_step(ctx, "x", NULL, NULL, &r) != FH_ERR)
        return fh_fail(ctx, FH_NO_RETRY, "a step in load() did not fail");
    ctx->state = (void *)"probe state";
    return FH_OK;
}

/* Reports what it was handed as its output. */
static int
probe(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *o = json_object_new_object(), *v;
    char *mem = fh_alloc(ctx, 64);
    const char *state = fh_state_dir(ctx);
    struct stat st;
    int zero = 1;

    for (int i = 0; i < 64; i++)
        zero &= mem[i] == 0;
    snprintf(mem, 64, "arena");
    json_object_object_add(o, "name", json_object_new_string(ev->name));
    json_object_object_add(o, "id", ev->id ? json_object_new_string(ev->id)
                                           : NULL);
    json_object_object_add(o, "internal_id",
                           json_object_new_int((int)strlen(ev->internal_id)));
    json_object_object_add(o, "ts", json_object_new_int64(ev->ts));
    json_object_object_add(o, "data", json_object_get(ev->data));
    json_object_object_add(o, "json_has_data",
                           json_object_new_boolean(
                               json_object_object_get_ex(ev->json, "data",
                                                         &v) &&
                               v == ev->data));
    json_object_object_add(o, "plugin", json_object_new_string(ctx->plugin));
    json_object_object_add(o, "function",
                           json_object_new_string(ctx->function_id));
    json_object_object_add(o, "run", json_object_new_string(ctx->run_id));
    json_object_object_add(o, "attempt", json_object_new_int((int)ctx->attempt));
    json_object_object_add(o, "max", json_object_new_int((int)ctx->max_attempts));
    json_object_object_add(o, "state", json_object_new_string(ctx->state));
    json_object_object_add(o, "greeting",
                           json_object_new_string(fh_config_or(ctx, "greeting",
                                                               "none")));
    json_object_object_add(o, "alloc", json_object_new_string(
                                           zero ? mem : "not zeroed"));
    json_object_object_add(o, "state_dir", json_object_new_string(state));
    json_object_object_add(o, "state_dir_is_dir",
                           json_object_new_boolean(stat(state, &st) == 0 &&
                                                   S_ISDIR(st.st_mode)));
    json_object_object_add(o, "step_id_outside",
                           json_object_new_boolean(ctx->step_id == NULL));
    fh_log(ctx, FH_LOG_WARN, "probe ran\nfor %s", ev->name);
    fh_set_output(ctx, json_object_new_string("replaced")); /* freed */
    fh_set_output(ctx, o);
    return FH_OK;
}

/* Fails as data.how says. */
static int
failing(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *how = fh_json_str(ev->data, "how");

    if (how == NULL)
        return fh_fail(ctx, FH_RETRY, "plain failure");
    if (strcmp(how, "retry_after") == 0) {
        fh_retry_after(ctx, 500);
        return fh_fail(ctx, FH_RETRY, "busy");
    }
    if (strcmp(how, "suspended") == 0)
        return FH_SUSPENDED;
    if (strcmp(how, "silent") == 0)
        return 7;
    return FH_OK;
}

static const struct fh_function probe_functions[] = {
    {.id = "probe", .run = probe, .retries = FH_RETRIES_NONE,
     .triggers = FH_EVENTS("probe/*")},
    {.id = "failing", .run = failing,
     .opts = FH_OPTS(.retries = 20, .timeout = "2m"),
     .triggers = FH_EVENTS("probe/fail", "other.*")},
    FH_FUNCTIONS_END,
};

static const struct fh_plugin probe_plugin = {
    .magic = FH_ABI_MAGIC,
    .abi_major = FH_ABI_MAJOR,
    .abi_minor = FH_ABI_MINOR,
    .size = sizeof(struct fh_plugin),
    .name = "probe",
    .version = "0.1.0",
    .functions = probe_functions,
    .load = probe_load,
};

static void
test_probe(void)
{
    struct fh_test *t = fh_test_new(&probe_plugin);
    struct fh_test_result r;
    struct json_object *out = NULL;
    char state[512] = "";
    long long before = now_ms();

    fh_test_log_level(t, -1);
    fh_test_config(t, "greeting", "hi");
    is_int(fh_test_run(t, "probe",
                       "{\"name\":\"probe/x\",\"id\":\"abc\",\"ts\":1654012591835,"
                       "\"data\":{\"k\":[1,2],\"_inngest\":{\"x\":1}}}", &r),
           0, "the probe runs (load() ran first)");
    is_int(probe_loads, 1, "load() ran once");
    is_int(r.status, FH_TEST_COMPLETED, "it completes");
    if (r.output != NULL)
        out = json_tokener_parse(r.output);
#define FIELD(k)                                                            \
    json_object_to_json_string_ext(json_object_object_get(out, k),          \
                                   JSON_C_TO_STRING_PLAIN |                 \
                                       JSON_C_TO_STRING_NOSLASHESCAPE)
    is_str(FIELD("name"), "\"probe/x\"", "ev->name");
    is_str(FIELD("id"), "\"abc\"", "ev->id");
    is_str(FIELD("internal_id"), "26", "ev->internal_id is a ULID");
    is_str(FIELD("ts"), "1654012591835", "ev->ts");
    is_str(FIELD("data"), "{\"k\":[1,2]}", "ev->data, without _inngest");
    is_str(FIELD("json_has_data"), "true", "ev->json holds ev->data");
    is_str(FIELD("plugin"), "\"probe\"", "ctx->plugin");
    is_str(FIELD("function"), "\"probe\"", "ctx->function_id");
    ok(json_object_get_string(json_object_object_get(out, "run")) != NULL &&
           strcmp(json_object_get_string(json_object_object_get(out, "run")),
                  r.run_id) == 0,
       "ctx->run_id is the result's run_id");
    is_str(FIELD("attempt"), "0", "ctx->attempt");
    is_str(FIELD("max"), "1", "ctx->max_attempts is 1 for FH_RETRIES_NONE");
    is_str(FIELD("state"), "\"probe state\"", "ctx->state from load()");
    is_str(FIELD("greeting"), "\"hi\"", "fh_config");
    is_str(FIELD("alloc"), "\"arena\"", "fh_alloc gives zeroed memory");
    is_str(FIELD("state_dir_is_dir"), "true", "fh_state_dir is a folder");
    is_str(FIELD("step_id_outside"), "true", "ctx->step_id is NULL outside"
                                              " steps");
    snprintf(state, sizeof(state), "%s",
             json_object_get_string(json_object_object_get(out, "state_dir")));
    is_str(r.nlog == 1 ? r.log[0].text : NULL, "probe ran for probe/x",
           "fh_log is recorded on one line");
    is_int(r.nlog == 1 ? r.log[0].level : -1, FH_LOG_WARN, "with its level");
    json_object_put(out);
    fh_test_result_free(&r);

    fh_test_config(t, "greeting", NULL);
    fh_test_run(t, "probe", "{\"name\":\"probe/y\"}", &r);
    out = json_tokener_parse(r.output ? r.output : "null");
    is_str(FIELD("greeting"), "\"none\"", "an unset key is NULL");
    is_str(FIELD("id"), "null", "an event without id has ev->id NULL");
    ok(json_object_get_int64(json_object_object_get(out, "ts")) >= before,
       "and ts defaults to now");
    is_str(FIELD("data"), "{}", "and data to {}");
    json_object_put(out);
#undef FIELD
    fh_test_result_free(&r);

    fh_test_run(t, "failing", "{\"name\":\"other.thing\"}", &r);
    is_int(r.status, FH_TEST_RETRYING, "a retryable failure is retried");
    is_str(r.error, "plain failure", "with the handler's error");
    is_int(r.max_attempts, 21, "FH_OPTS(.retries = 20) is 21 attempts");
    fh_test_result_free(&r);
    fh_test_run(t, "failing", "{\"name\":\"other.thing\"}", &r);
    is_int(r.attempt, 1, "the next invocation is attempt 1");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "failing",
                "{\"name\":\"probe/fail\",\"data\":{\"how\":\"retry_after\"}}",
                &r);
    is_int(r.retry_after_ms, 1000, "fh_retry_after is clamped to 1 s");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "failing",
                "{\"name\":\"probe/fail\",\"data\":{\"how\":\"suspended\"}}", &r);
    is_str(r.error, "the handler returned FH_SUSPENDED but no step suspended",
           "FH_SUSPENDED without a step is an error");
    is_int(r.status, FH_TEST_RETRYING, "a retryable one");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "failing",
                "{\"name\":\"probe/fail\",\"data\":{\"how\":\"silent\"}}", &r);
    is_str(r.error, "handler returned 7 without a reason",
           "a failure without a reason says so");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_max_attempts(t, 5000);
    is_int(fh_test_run_all(t, "failing", "{\"name\":\"probe/fail\"}", &r), -1,
           "run_all gives up on a run that never ends");
    has_str(r.error, "has not ended after 1000 invocations", "and says so");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "probe", "{\"name\":\"inngest/x\"}", &r);
    has_str(r.error, "reserved", "inngest/ events are refused");
    fh_test_result_free(&r);
    {
        /* The host's limits, not a stricter copy: names up to 512 bytes. */
        char ev[700], name[520];

        memset(name, 'n', sizeof(name));
        memcpy(name, "probe/", 6);
        name[512] = '\0';
        snprintf(ev, sizeof(ev), "{\"name\":\"%s\"}", name);
        fh_test_new_run(t);
        fh_test_run(t, "probe", ev, &r);
        is_int(r.status, FH_TEST_COMPLETED, "a 512-byte event name is taken");
        fh_test_result_free(&r);
        name[512] = 'n';
        name[513] = '\0';
        snprintf(ev, sizeof(ev), "{\"name\":\"%s\"}", name);
        fh_test_new_run(t);
        fh_test_run(t, "probe", ev, &r);
        is_str(fh_test_error(t), "event: \"name\" is longer than 512 bytes",
               "a 513-byte one is refused, as the host says it");
        fh_test_result_free(&r);
    }
    fh_test_free(t);
    ok(state[0] != '\0' && access(state, F_OK) != 0,
       "the harness's own state folder is removed");

    t = fh_test_new(&probe_plugin);
    fh_test_log_level(t, -1);
    fh_test_config(t, "fail_load", "1");
    is_int(fh_test_load(t), -1, "a failing load() is reported");
    is_str(fh_test_error(t), "load() failed: told to fail", "with its reason");
    is_int(fh_test_load(t), -1, "and stays failed");
    fh_test_free(t);
}

static void
refused(const struct fh_plugin *p, const char *why)
{
    char err[512] = "";

    is_int(fh_test_check(p, err, sizeof(err)), -1, "refused: %s", why);
    has_str(err, why, "the reason says \"%s\"", why);
}

static void
test_descriptors(void)
{
    struct fh_plugin p;
    struct fh_function fns[3];
    char err[256] = "";

    is_int(fh_test_check(fh_plugin_entry(), err, sizeof(err)), 0,
           "the steps fixture passes the checks");
    is_int(fh_test_check(&probe_plugin, err, sizeof(err)), 0,
           "so does the probe");

    p = probe_plugin, p.magic = 0x12345678;
    refused(&p, "bad magic 0x12345678");
    p = probe_plugin, p.abi_major = 2, p.abi_minor = 0;
    refused(&p, "built for ABI 2.0, host has " HOST_ABI ": upgrade fnhost");
    p = probe_plugin, p.abi_minor = FH_ABI_MINOR + 1;
    is_int(fh_test_check(&p, err, sizeof(err)), 0,
           "a newer minor that uses nothing unknown passes");
    p.spare[0] = &p;
    refused(&p, "sets a descriptor field this host's " HOST_ABI " does not know:"
                " upgrade fnhost");
    p = probe_plugin, p.size = 8;
    refused(&p, "smaller than ABI 1.0's");
    p = probe_plugin, p.name = "a b";
    refused(&p, "must be at most 64 characters");
    p = probe_plugin, p.version = NULL;
    refused(&p, "has no version");
    ok(fh_test_new(&p) == NULL, "fh_test_new() refuses such a plugin");

    memcpy(fns, probe_functions, sizeof(fns));
    p = probe_plugin, p.functions = fns;
    fns[1].id = "probe";
    refused(&p, "duplicate function id \"probe\"");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[0].triggers = FH_EVENTS("probe*");
    refused(&p, "a wildcard may only end the name");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[0].retries = 21;
    refused(&p, "retries 21 is out of range");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[0].timeout = "soon";
    refused(&p, "function \"probe\": timeout: invalid duration \"soon\"");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[0].timeout = "0s";
    refused(&p, "function \"probe\": timeout: must be at least 1ms, got \"0s\"");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[1].retries = 3;
    refused(&p, "function \"failing\" sets retries both in the function and"
                " in its options");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[1].opts = FH_OPTS(.retries = 21);
    refused(&p, "function \"failing\": retries 21 is out of range");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[1].opts = &(const struct fh_function_opts){.size = 4};
    refused(&p, "its options say they are 4 bytes, smaller than ABI 1.2's");
    memcpy(fns, probe_functions, sizeof(fns));
    fns[0].triggers = NULL;
    refused(&p, "has no trigger");
}

int
main(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/plugin_steps.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(execs_db, sizeof(execs_db), "%s/execs.db", dir);

    test_ids_and_results();
    test_cancel();
    test_sleep_resume();
    test_flaky();
    test_fatal();
    test_sleeps();
    test_limits();
    test_durations();
    test_probe();
    test_descriptors();

    {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
    return done_testing();
}
