/* test_sched.c - the scheduler's retry, backoff, outcome and backlog
 * logic, driven through a fake executor on a real store.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The fake stands in for worker processes only: the test decides how each
 * invocation ends, and reads what the scheduler made of it from the store
 * (a temporary SQLite file), as the API would. */
#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conc.h"
#include "config.h"
#include "executor.h"
#include "expr.h"
#include "proto.h"
#include "registry.h"
#include "sched.h"
#include "steprules.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/fnhost-test-sched-XXXXXX";
static char *db_path;
static struct event_base *base;
static struct store *store;
static sqlite3 *peek; /* the test's own read connection */

/* ------------------------------------------------------ fake executor */

#define FAKE_MAX 16

struct fake {
    struct pool_callbacks cb;
    struct generation *gen;
    int slots;        /* jobs it can take now */
    int refuse;       /* dispatches to refuse although idle */
    int calls;        /* dispatch calls, refused ones included */
    struct job *jobs[FAKE_MAX]; /* dispatched, not yet ended */
    char steps[FAKE_MAX][512];  /* the steps each was sent with */
    unsigned max[FAKE_MAX];
    int64_t timeout[FAKE_MAX];
    int njobs;
    int acks, kills;
    int cancel_acks;  /* acks of jobs whose cancel was set */
    int stopped;
};

static struct fake fake;

static void
fake_bind(void *impl, const struct pool_callbacks *cb)
{
    ((struct fake *)impl)->cb = *cb;
}

static void
fake_set_generation(void *impl, struct generation *g)
{
    struct fake *f = impl;

    generation_unref(f->gen);
    f->gen = generation_ref(g);
}

/* STEPS as a worker reads them from the invoke message, as JSON text
 * into OUT; "" for none. */
static void
steps_text(const struct step_memo *steps, char *out, size_t outlen)
{
    struct proto_buf b = {0};
    struct proto_invoke inv = {.run_id = "r", .function_id = "f",
                               .event_json = "{}", .memo = steps}, ir;
    struct json_object *msg;

    out[0] = '\0';
    if (steps == NULL)
        return;
    proto_put_invoke(&b, &inv);
    msg = proto_parse((const char *)b.data + 4, b.len - 4);
    if (msg != NULL && proto_read_invoke(msg, &ir) == 0 && ir.steps != NULL)
        snprintf(out, outlen, "%s",
                 json_object_to_json_string_ext(ir.steps,
                                                JSON_C_TO_STRING_PLAIN));
    json_object_put(msg);
    proto_buf_free(&b);
}

static int
fake_dispatch(void *impl, struct job *job, const struct step_memo *steps,
              unsigned max_attempts, int64_t timeout_ms)
{
    struct fake *f = impl;

    f->calls++;
    if (f->refuse > 0) {
        f->refuse--;
        return -1;
    }
    if (f->slots == 0 || f->njobs == FAKE_MAX)
        return -1;
    f->slots--;
    steps_text(steps, f->steps[f->njobs], sizeof(f->steps[0]));
    f->max[f->njobs] = max_attempts;
    f->timeout[f->njobs] = timeout_ms;
    f->jobs[f->njobs++] = job;
    return 0;
}

static void
fake_ack(void *impl, struct job *job)
{
    ((struct fake *)impl)->acks++;
    ((struct fake *)impl)->cancel_acks += job->cancel;
}

static void
fake_kill(void *impl, struct job *job, const char *why)
{
    ((struct fake *)impl)->kills++;
}

static int
fake_idle(void *impl)
{
    const struct fake *f = impl;

    /* A refusing fake still says it is idle: that is the failure. */
    return f->slots > 0 ? f->slots : f->refuse > 0;
}

static void
fake_stop(void *impl, void (*done)(void *), void *arg)
{
    ((struct fake *)impl)->stopped = 1;
    done(arg);
}

static const struct executor_ops fake_ops = {
    fake_bind, fake_set_generation,
    fake_dispatch, fake_ack, fake_kill, fake_idle, fake_stop,
};

/* The index of RUN_ID's running job in the fake, or -1. */
static int
fake_find(const char *run_id)
{
    for (int i = 0; i < fake.njobs; i++)
        if (strcmp(fake.jobs[i]->run_id, run_id) == 0)
            return i;
    return -1;
}

/* Ends RUN_ID's invocation with R, as a worker would report it, and
 * frees its slot. */
static void
fake_end(const char *run_id, struct pool_result *r)
{
    int i = fake_find(run_id);
    struct job *job;

    if (i < 0)
        return;
    job = fake.jobs[i];
    fake.jobs[i] = fake.jobs[--fake.njobs];
    memmove(fake.steps[i], fake.steps[fake.njobs], sizeof(fake.steps[0]));
    fake.max[i] = fake.max[fake.njobs];
    fake.timeout[i] = fake.timeout[fake.njobs];
    fake.slots++;
    if (r->attempt == 0 && r->unit_started_at == 0)
        r->attempt = job->attempt;
    fake.cb.result(fake.cb.arg, job, r);
    fake.cb.idle(fake.cb.arg);
}

static void
end_ok(const char *run_id, const char *output)
{
    struct pool_result r;

    memset(&r, 0, sizeof(r));
    r.ok = 1;
    r.output = output;
    fake_end(run_id, &r);
}

static void
end_failed(const char *run_id, const char *why, int no_retry,
           int64_t retry_after_ms)
{
    struct pool_result r;

    memset(&r, 0, sizeof(r));
    r.error = why;
    r.no_retry = no_retry;
    r.retry_after_ms = retry_after_ms;
    fake_end(run_id, &r);
}

/* Ends RUN_ID's attempt in a sleep of MS. */
static void
end_sleep(const char *run_id, int64_t ms)
{
    struct pool_result r;

    memset(&r, 0, sizeof(r));
    r.suspend = SUSPEND_SLEEP;
    r.step.step_id = "nap";
    r.step.name = "nap";
    r.step.kind = "sleep";
    r.step.status = "sleeping";
    r.step.started_at = now_ms();
    r.step.wake_at = now_ms() + ms;
    fake_end(run_id, &r);
}

/* ------------------------------------------------------------ helpers */

/* Runs the loop until COND(ARG) holds, for at most MS. */
static int
loop_until(int (*cond)(const void *), const void *arg, int64_t ms)
{
    int64_t deadline = mono_ms() + ms;

    while (!cond(arg) && mono_ms() < deadline) {
        struct timeval tv = {0, 20000};

        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return cond(arg);
}

static int
is_running(const void *run_id)
{
    return fake_find(run_id) >= 0;
}

/* A column of RUN_ID's row, as text (static buffer). */
static const char *
run_col(const char *run_id, const char *col)
{
    static char buf[512];
    char sql[128];
    sqlite3_stmt *s;

    buf[0] = '\0';
    snprintf(sql, sizeof(sql), "SELECT %s FROM runs WHERE id = ?", col);
    if (sqlite3_prepare_v2(peek, sql, -1, &s, NULL) != SQLITE_OK)
        return buf;
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return buf;
}

struct want_status {
    const char *run_id;
    const char *status;
};

static int
has_status(const void *arg)
{
    const struct want_status *w = arg;

    return strcmp(run_col(w->run_id, "status"), w->status) == 0;
}

static int
reach(const char *run_id, const char *status)
{
    struct want_status w = {run_id, status};

    return loop_until(has_status, &w, 5000);
}

/* The delay the scheduler chose after RUN_ID's attempt A: its wake time
 * minus the end of that attempt, both as stored. */
static int64_t
retry_gap(const char *run_id, unsigned a)
{
    sqlite3_stmt *s;
    int64_t gap = -1;

    if (sqlite3_prepare_v2(peek, "SELECT r.wake_at - a.ended_at FROM runs r"
                                 " JOIN attempts a ON a.run_id = r.id"
                                 " WHERE r.id = ? AND a.attempt = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, (int)a);
    if (sqlite3_step(s) == SQLITE_ROW)
        gap = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return gap;
}

static int64_t
count(const char *sql, const char *run_id)
{
    sqlite3_stmt *s;
    int64_t n = -1;

    if (sqlite3_prepare_v2(peek, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

struct want_attempts {
    const char *run_id;
    int64_t n;
};

static int
has_attempts(const void *arg)
{
    const struct want_attempts *w = arg;

    return count("SELECT count(*) FROM attempts WHERE run_id = ?",
                 w->run_id) >= w->n;
}

/* Waits until RUN_ID's attempt N-1 is recorded: its outcome committed. */
static int
recorded(const char *run_id, int64_t n)
{
    struct want_attempts w = {run_id, n};

    return loop_until(has_attempts, &w, 5000);
}

struct committed {
    int fired, rc;
};

static void
committed_cb(void *arg, int rc, const char *err)
{
    struct committed *c = arg;

    c->fired = 1;
    c->rc = rc;
}

static int
fired(const void *arg)
{
    return ((const struct committed *)arg)->fired;
}

/* Ingests one event that starts a run of FN, and hands the run to S as
 * the event API does (unless S is NULL: then only the store has it, as
 * after a restart). RUN_ID gets its id. */
static void start_made(struct sched *s, const char *fn, const char *key,
                       int priority, char run_id[27]);

static void
start_run(struct sched *s, const char *fn, char run_id[27])
{
    start_made(s, fn, NULL, 0, run_id);
}

static void
start_keyed(struct sched *s, const char *fn, const char *key,
            char run_id[27])
{
    start_made(s, fn, key, 0, run_id);
}

/* As start_run(), for a run of priority.run PRIORITY (seconds). */
static void
start_prio(struct sched *s, const char *fn, int priority, char run_id[27])
{
    start_made(s, fn, NULL, priority, run_id);
}

/* As start_run(), for a run whose first concurrency key is KEY (NULL:
 * none) and whose priority is PRIORITY, as the pipeline stores it. */
static void
start_made(struct sched *s, const char *fn, const char *key, int priority,
           char run_id[27])
{
    struct store_new_event ev;
    struct store_new_run run;
    struct committed c = {0, -1};
    struct shared_str *json;
    static const char text[] = "{\"name\":\"test/e\",\"data\":{}}";

    memset(&ev, 0, sizeof(ev));
    memset(&run, 0, sizeof(run));
    ulid_new(ev.id, 0);
    ev.name = "test/e";
    ev.ts = now_ms();
    ev.json = text;
    ev.runs = &run;
    ev.nruns = 1;
    ulid_new(run.id, 0);
    run.function_id = fn;
    /* As the pipeline does, from the function's timeouts.start. */
    run.start_timeout_ms = strcmp(fn, "timed") == 0 ? 30 : 0;
    run.conc_keys[0] = (char *)key;
    run.priority = priority;
    store_put_events(store, &ev, 1, 0, committed_cb, &c);
    loop_until(fired, &c, 5000);
    if (s != NULL) {
        json = shared_str_new(text, sizeof(text) - 1);
        sched_submit(s, run.id, fn, ev.id, json, run.wake_at,
                     (const char *const *)run.conc_keys);
        shared_str_unref(json);
    }
    memcpy(run_id, run.id, 27);
}

/* A generation declaring functions by hand: ID, retries, scale. */
static struct generation *
make_generation(void)
{
    static const struct {
        const char *id;
        int retries;
        double scale;
    } fns[] = {
        {"ok", 4, 0.001},
        {"twice", 2, 0.01},
        {"once", 1, 0.001},
        {"patient", 4, 0.001},
        {"timed", 4, 0.001},
        {"limited", 4, 0.0001},
    };
    struct generation *g = xcalloc(1, sizeof(*g));

    g->refs = 1;
    g->n = 1;
    g->dir = xasprintf("%s/gen/1", tmpdir);
    g->nfns = sizeof(fns) / sizeof(fns[0]);
    g->fns = xcalloc(g->nfns, sizeof(*g->fns));
    for (size_t i = 0; i < g->nfns; i++) {
        g->fns[i].id = xstrdup(fns[i].id);
        g->fns[i].name = xstrdup(fns[i].id);
        g->fns[i].triggers = xcalloc(1, sizeof(char *));
        g->fns[i].retries = fns[i].retries;
        g->fns[i].timeout_ms = 5000;
        g->fns[i].backoff_scale = fns[i].scale;
    }
    g->fns[4].timeout_start_ms = 30;
    g->fns[5].concurrency[0].limit = 2;
    return g;
}

/* -------------------------------------------------------------- tests */

static void
test_backoff_table(void)
{
    static const int64_t want[] = {15000,   30000,   60000,   120000,
                                   300000,  600000,  1200000, 2400000,
                                   3600000, 7200000, 7200000, 7200000};

    for (unsigned a = 0; a < sizeof(want) / sizeof(want[0]); a++)
        is_int(sched_backoff_ms(a), want[a], "backoff after attempt %u", a);
    is_int(sched_backoff_ms(1000), 7200000, "and 2 h from then on");
}

/* The delay of each retry: the table grows, the jitter stays within 30 s,
 * the scale multiplies both, and fh_retry_after's delay is taken as is. */
static void
test_retry_delay(void)
{
    static const uint32_t draws[] = {1,     29999,  30000,     30001,
                                     60001, 123456, UINT32_MAX};
    int grows = 1, beats_jitter = 1, bounded = 1;

    for (unsigned a = 0; a < 9; a++) {
        grows &= sched_retry_delay_ms(1, a + 1, 0, 0) >
                 sched_retry_delay_ms(1, a, 0, 0);
        /* Two attempts on, the least delay exceeds the most before. */
        beats_jitter &= sched_retry_delay_ms(1, a + 2, 0, 0) >
                        sched_retry_delay_ms(1, a, 0, 30000);
    }
    ok(grows, "each retry waits longer than the one before, jitter aside");
    ok(beats_jitter, "and two retries on, longer whatever the jitter");
    is_int(sched_retry_delay_ms(1, 0, 0, 0), 15000,
           "the first retry waits 15 s at least");
    is_int(sched_retry_delay_ms(1, 9, 0, 0), 7200000, "the tenth 2 h");
    is_int(sched_retry_delay_ms(1, 4000000000u, 0, 0), 7200000,
           "and every one after it");

    for (unsigned a = 0; a < 12; a++)
        for (size_t i = 0; i < sizeof(draws) / sizeof(draws[0]); i++) {
            int64_t j = sched_retry_delay_ms(1, a, 0, draws[i]) -
                        sched_retry_delay_ms(1, a, 0, 0);

            bounded &= j >= 0 && j <= 30000 && j == draws[i] % 30001;
        }
    ok(bounded, "the jitter adds 0 to 30 s, the draw modulo 30001 ms");
    is_int(sched_retry_delay_ms(1, 2, 0, 30000), 90000,
           "at most 30 s: 1 min becomes 1 min 30 s");

    is_int(sched_retry_delay_ms(0.01, 0, 0, 12345), 273,
           "the scale multiplies table and jitter: (15 s + 12.345 s) / 100");
    is_int(sched_retry_delay_ms(0.0001, 9, 0, 30000), 723,
           "(2 h + 30 s) / 10000");
    is_int(sched_retry_delay_ms(10, 1, 0, 0), 300000, "30 s * 10");
    is_int(sched_retry_delay_ms(0, 5, 0, UINT32_MAX), 0, "a scale of 0: none");

    is_int(sched_retry_delay_ms(0.001, 3, 2000, UINT32_MAX), 2000,
           "a retry_after is the delay, unscaled and without jitter");
    is_int(sched_retry_delay_ms(1, 0, 1, 30000), 1,
           "however short");
    is_int(sched_retry_delay_ms(1, 0, 25LL * 3600 * 1000, 0),
           24LL * 3600 * 1000, "and at most 24 h");
    is_int(sched_retry_delay_ms(1, 1, 0, 0), 30000,
           "no retry_after (0): the table");
    is_int(sched_retry_delay_ms(1, 1, -5, 0), 30000, "nor a negative one");
}

static void
test_completed(struct sched *s)
{
    char id[27];
    int i;

    start_run(s, "ok", id);
    ok(loop_until(is_running, id, 5000), "a submitted run is dispatched");
    i = fake_find(id);
    is_int(i >= 0 ? fake.max[i] : 0, 5, "with its function's max attempts");
    is_int(i >= 0 ? fake.timeout[i] : 0, 5000, "and its time limit");
    is_int(i >= 0 ? fake.jobs[i]->attempt : 99, 0, "as attempt 0");
    ok(sched_running(s) == 1, "the scheduler counts it running");
    end_ok(id, "{\"n\":42}");
    ok(reach(id, "completed"), "an ok result completes the run");
    is_str(run_col(id, "output"), "{\"n\":42}", "with its output stored");
    is_int(sched_running(s), 0, "and it no longer counts as running");
}

/* A step checkpoint goes to the store, and only then is acknowledged. */
static void
test_step(struct sched *s)
{
    char id[27];
    struct step_record st;
    int acks = fake.acks;
    int64_t deadline;

    start_run(s, "ok", id);
    loop_until(is_running, id, 5000);
    memset(&st, 0, sizeof(st));
    st.step_id = "first";
    st.name = "first";
    st.kind = "run";
    st.status = "completed";
    st.result = "1";
    st.started_at = st.ended_at = now_ms();
    fake.cb.step(fake.cb.arg, fake.jobs[fake_find(id)], &st);
    is_int(fake.acks, acks, "a checkpoint is not acknowledged before it"
                            " commits");
    deadline = mono_ms() + 5000;
    while (fake.acks == acks && mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    is_int(fake.acks, acks + 1, "and is acknowledged once it has");
    is_int(count("SELECT count(*) FROM steps WHERE run_id = ?", id), 1,
           "the step is stored");
    is_str(run_col(id, "status"), "running", "and the run shows running");
    end_ok(id, "null");
    ok(reach(id, "completed"), "then it completes");
}

/* Starts a run of "ok" (into ID) whose first step stores a result of
 * N bytes, and waits until that checkpoint is acknowledged. */
static void
start_big(struct sched *s, char id[27], size_t n)
{
    struct step_record st;
    char *big = xmalloc(n + 1);
    int acks = fake.acks;
    int64_t deadline;

    start_run(s, "ok", id);
    loop_until(is_running, id, 5000);
    memset(big, '7', n);
    big[n] = '\0';
    memset(&st, 0, sizeof(st));
    st.step_id = st.name = "big";
    st.kind = "run";
    st.status = "completed";
    st.result = big;
    st.started_at = st.ended_at = now_ms();
    fake.cb.step(fake.cb.arg, fake.jobs[fake_find(id)], &st);
    deadline = mono_ms() + 10000;
    while (fake.acks == acks && mono_ms() < deadline)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    free(big);
}

/* A step that would take the run's stored steps over
 * STEPRULES_MAX_RUN_STATE is neither stored nor acknowledged, whatever the
 * worker says: no resume could carry the run to a worker. */
static void
test_state_limit(struct sched *s)
{
    char id[27];
    struct step_record st;
    int acks = fake.acks, kills = fake.kills;

    start_big(s, id, (size_t)(STEPRULES_MAX_RUN_STATE - 10));
    is_int(fake.acks, acks + 1, "a step just under the run's limit is"
                                " acknowledged");
    memset(&st, 0, sizeof(st));
    st.kind = "run";
    st.status = "completed";
    st.started_at = st.ended_at = now_ms();
    st.step_id = st.name = "over";
    st.result = "\"one hundred bytes and then some, which is more than the"
                " run has left to keep in its steps\"";
    fake.cb.step(fake.cb.arg, fake.jobs[fake_find(id)], &st);
    for (int i = 0; i < 50; i++)
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
    is_int(fake.acks, acks + 1, "the step that crosses it is not");
    is_int(fake.kills, kills + 1, "its worker is stopped instead");
    is_int(count("SELECT count(*) FROM steps WHERE run_id = ?", id), 1,
           "and it is not stored");
    end_failed(id, "its step would take the run's stored steps over the"
                   " limit", 1, 0);
    ok(reach(id, "failed"), "the run ends as its worker's kill says");
}

static void
test_retries(struct sched *s)
{
    char id[27];
    int64_t gap0, gap1;

    start_run(s, "twice", id);
    loop_until(is_running, id, 5000);
    end_failed(id, "boom 0", 0, 0);
    recorded(id, 1);
    is_str(run_col(id, "status"), "queued", "a failed attempt queues a"
                                            " retry");
    is_str(run_col(id, "attempt"), "1", "for attempt 1");
    gap0 = retry_gap(id, 0);
    /* 15 s plus up to 30 s of jitter, times 0.01. */
    ok(gap0 >= 150 && gap0 <= 450, "the first retry waits 15 s + jitter,"
                                   " scaled (%lld ms)", (long long)gap0);
    ok(loop_until(is_running, id, 5000), "and is dispatched when due");
    is_int(fake.jobs[fake_find(id)]->attempt, 1, "as attempt 1");
    end_failed(id, "boom 1", 0, 0);
    recorded(id, 2);
    is_str(run_col(id, "status"), "queued", "a second failure queues"
                                            " another");
    gap1 = retry_gap(id, 1);
    ok(gap1 >= 300 && gap1 <= 600, "which waits 30 s + jitter, scaled"
                                   " (%lld ms)", (long long)gap1);
    ok(loop_until(is_running, id, 5000), "and is dispatched");
    end_ok(id, "\"third time\"");
    ok(reach(id, "completed"), "the third attempt completes the run");
    is_int(count("SELECT count(*) FROM attempts WHERE run_id = ?", id), 3,
           "with three attempts recorded");
}

/* Jitter is drawn per retry, within 0-30 s (scaled): over several runs
 * the delays all fall in bounds and are not all the same. */
static void
test_jitter(struct sched *s)
{
    enum { N = 12 };
    char ids[N][27];
    int64_t gaps[N], lo = 1 << 30, hi = -1;

    fake.slots = N;
    for (int i = 0; i < N; i++)
        start_run(s, "patient", ids[i]);
    for (int i = 0; i < N; i++) {
        loop_until(is_running, ids[i], 5000);
        end_failed(ids[i], "again", 0, 0);
    }
    for (int i = 0; i < N; i++) {
        recorded(ids[i], 1);
        gaps[i] = retry_gap(ids[i], 0);
        lo = gaps[i] < lo ? gaps[i] : lo;
        hi = gaps[i] > hi ? gaps[i] : hi;
    }
    ok(lo >= 15 && hi <= 45, "%d retry delays all within 15-45 ms"
                             " (%lld-%lld)", N, (long long)lo, (long long)hi);
    ok(hi > lo, "and jittered, not all equal");
    for (int i = 0; i < N; i++) {
        loop_until(is_running, ids[i], 5000);
        end_ok(ids[i], "null");
        reach(ids[i], "completed");
    }
    fake.slots = 1;
}

static void
test_no_retry(struct sched *s)
{
    char id[27];

    start_run(s, "twice", id);
    loop_until(is_running, id, 5000);
    end_failed(id, "fatal", 1, 0);
    ok(reach(id, "failed"), "a no_retry failure fails the run at once");
    is_str(run_col(id, "error"), "fatal", "with its error");
    is_int(count("SELECT count(*) FROM attempts WHERE run_id = ?", id), 1,
           "after one attempt");
}

static void
test_max_attempts(struct sched *s)
{
    char id[27];

    start_run(s, "once", id);
    loop_until(is_running, id, 5000);
    end_failed(id, "first", 0, 0);
    recorded(id, 1);
    is_str(run_col(id, "attempt"), "1", "retries = 1: the first failure"
                                        " retries");
    ok(loop_until(is_running, id, 5000), "the retry is dispatched");
    end_failed(id, "second", 0, 0);
    ok(reach(id, "failed"), "the last attempt's failure fails the run");
    is_str(run_col(id, "error"), "second", "with the last error");
    is_int(count("SELECT count(*) FROM attempts WHERE run_id = ?", id), 2,
           "after retries + 1 attempts");
}

/* fh_retry_after's delay is the service's word: the backoff scale (0.001
 * here) does not shrink it. */
static void
test_retry_after(struct sched *s)
{
    char id[27];

    start_run(s, "twice", id);
    loop_until(is_running, id, 5000);
    /* Long enough that it never comes due while the tests run. */
    end_failed(id, "busy", 0, 600000);
    recorded(id, 1);
    is_str(run_col(id, "status"), "queued", "a retry_after failure queues a"
                                            " retry");
    is_int(retry_gap(id, 0), 600000, "at exactly the delay asked for,"
                                   " unscaled");
    ok(sched_running(s) == 0 && fake_find(id) < 0,
       "and nothing runs it before then");
}

static void
test_sleep(struct sched *s)
{
    char id[27];
    int i;

    start_run(s, "ok", id);
    loop_until(is_running, id, 5000);
    end_sleep(id, 100);
    ok(reach(id, "sleeping"), "a sleep suspends the run");
    ok(fake_find(id) < 0, "and frees its worker");
    ok(loop_until(is_running, id, 5000), "it is dispatched again when due");
    i = fake_find(id);
    has_str(i >= 0 ? fake.steps[i] : "", "\"nap\"",
            "with the finished sleep among its steps");
    end_ok(id, "null");
    ok(reach(id, "completed"), "and completes");
}

/* What the fetcher was handed, and what the store held then. */
static struct {
    int calls;
    char run_id[27], request[128];
    int pending; /* fetches rows of the run when it was handed over */
} fetched;

static void
fake_fetch_start(void *impl, const char *run_id, const char *function_id,
                 const struct step_record *step)
{
    sqlite3_stmt *q;

    (void)impl;
    (void)function_id;
    fetched.calls++;
    snprintf(fetched.run_id, sizeof(fetched.run_id), "%s", run_id);
    snprintf(fetched.request, sizeof(fetched.request), "%s", step->result);
    fetched.pending = -1;
    if (sqlite3_prepare_v2(peek, "SELECT count(*) FROM fetches WHERE"
                                 " run_id = ?", -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, run_id, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW)
            fetched.pending = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
}

/* A flag set by a callback on the loop. */
static int
stored(const void *arg)
{
    return *(const int *)arg;
}

static void
stored_cb(void *arg, int rc, const char *err)
{
    (void)err;
    *(int *)arg = rc == 0 ? 1 : -1;
}

/* A fetch suspends the run; the fetcher gets it once it is durable; its
 * response stored, a poke makes the run due with it. */
static void
test_fetch(struct sched *s)
{
    char id[27];
    struct pool_result r;
    struct store_fetch_end end;
    int i, done = 0;

    sched_set_fetcher(s, (struct sched_fetcher){fake_fetch_start, NULL});
    start_run(s, "ok", id);
    loop_until(is_running, id, 5000);
    memset(&r, 0, sizeof(r));
    r.suspend = SUSPEND_FETCH;
    r.step.step_id = "get";
    r.step.name = "get";
    r.step.kind = "fetch";
    r.step.status = "fetching";
    r.step.result = "{\"url\":\"http://x\"}";
    r.step.started_at = now_ms();
    fake_end(id, &r);
    ok(reach(id, "fetching"), "a fetch suspends the run");
    ok(fake_find(id) < 0, "and frees its worker");
    /* The store's callback comes on the loop after the commit shows. */
    loop_until(stored, &fetched.calls, 5000);
    is_int(fetched.calls, 1, "the fetcher gets the request");
    is_str(fetched.request, "{\"url\":\"http://x\"}", "as the worker sent it");
    is_int(fetched.pending, 1, "once it is stored as pending");
    memset(&end, 0, sizeof(end));
    snprintf(end.run_id, sizeof(end.run_id), "%s", id);
    end.step_id = end.name = "get";
    end.result = "{\"status\":200}";
    end.final = 1;
    store_fetch_attempt(store, &end, stored_cb, &done);
    loop_until(stored, &done, 5000);
    sched_poke(s);
    ok(loop_until(is_running, id, 5000), "its response stored, a poke"
                                         " dispatches the run again");
    i = fake_find(id);
    has_str(i >= 0 ? fake.steps[i] : "", "{\"status\":200}",
            "with the response among its steps");
    end_ok(id, "null");
    ok(reach(id, "completed"), "and it completes");
    sched_set_fetcher(s, (struct sched_fetcher){NULL, NULL});
}

/* One slot: runs wait in the ready queue and go out as it frees up. */
static void
test_backlog(struct sched *s)
{
    char ids[3][27];

    fake.slots = 1;
    for (int i = 0; i < 3; i++)
        start_run(s, "ok", ids[i]);
    loop_until(is_running, ids[0], 5000);
    is_int(fake.njobs, 1, "a full pool runs one");
    is_int(sched_queued(s), 2, "and two wait in the ready queue");
    end_ok(ids[0], "null");
    ok(loop_until(is_running, ids[1], 5000),
       "the next goes out when a worker frees up");
    is_int(sched_queued(s), 1, "one still waits");
    end_ok(ids[1], "null");
    ok(loop_until(is_running, ids[2], 5000), "then the last");
    end_ok(ids[2], "null");
    ok(reach(ids[2], "completed"), "and all complete");
}

/* A dispatch that fails although the executor said it was idle must not
 * lose the run: it is dispatched later without anything else happening. */
static void
test_failed_dispatch(struct sched *s)
{
    char id[27];
    int calls = fake.calls;

    fake.slots = 0;
    fake.refuse = 1;
    start_run(s, "ok", id);
    loop_until(is_running, id, 200);
    ok(fake.calls > calls && fake_find(id) < 0,
       "the executor refused the dispatch");
    fake.slots = 1;
    ok(loop_until(is_running, id, 5000),
       "the run is dispatched later, not dropped");
    end_ok(id, "null");
    ok(reach(id, "completed"), "and completes");
}

/* Runs the scheduler was never handed (stored before a restart) are
 * found in the store and dispatched. */
static void
test_found_in_store(struct sched *s)
{
    char ids[2][27];

    fake.slots = 2;
    start_run(NULL, "ok", ids[0]);
    start_run(NULL, "ok", ids[1]);
    loop_until(is_running, ids[0], 100);
    ok(fake_find(ids[0]) < 0, "a run only the store knows is not run yet");
    sched_start(s);
    ok(loop_until(is_running, ids[0], 5000) &&
           loop_until(is_running, ids[1], 5000),
       "a scan of the store finds both and dispatches them");
    end_ok(ids[0], "null");
    end_ok(ids[1], "null");
    ok(reach(ids[1], "completed"), "and they complete");
    fake.slots = 1;
}

struct cancel_seen {
    int fired, rc;
    int done[4];
};

static void
cancel_cb(void *arg, int rc, const char *err, const struct store_cancel *v,
          size_t n)
{
    struct cancel_seen *c = arg;

    c->fired = 1;
    c->rc = rc;
    for (size_t i = 0; i < n && i < 4; i++)
        c->done[i] = v[i].done;
}

static int
cancel_fired(const void *arg)
{
    return ((const struct cancel_seen *)arg)->fired;
}

/* Whether an ack with a cancel came since *ARG of them. */
static int
acked_more(const void *arg)
{
    return fake.cancel_acks > *(const int *)arg;
}

/* A running run is flagged: its next ack says cancel, and its outcome
 * ends it cancelled. A queued one leaves the ready queue at once and is
 * never dispatched. A finished one is left as it is. */
static void
test_cancel(struct sched *s)
{
    char ids[3][27];
    struct store_cancel v[3];
    struct cancel_seen c = {0, -1, {0}};
    struct step_record st;
    struct pool_result r;
    int cancel_acks = fake.cancel_acks;

    fake.slots = 1;
    start_run(s, "ok", ids[0]);
    start_run(s, "ok", ids[1]);
    start_run(s, "ok", ids[2]);
    loop_until(is_running, ids[0], 5000);
    end_ok(ids[0], "null");
    ok(reach(ids[0], "completed"), "the first run completes");
    loop_until(is_running, ids[1], 5000);
    is_int(sched_queued(s), 1, "the second runs, the third waits in line");
    memset(v, 0, sizeof(v));
    for (int i = 0; i < 3; i++)
        memcpy(v[i].run_id, ids[i], 27);
    sched_cancel(s, v, 3, "test cancel", cancel_cb, &c);
    is_int(sched_queued(s), 0, "the waiting one leaves the queue at once");
    ok(loop_until(cancel_fired, &c, 5000) && c.rc == 0, "the cancel commits");
    is_int(c.done[0], 0, "the completed run is left as it is");
    ok(c.done[1] && c.done[2], "the other two are cancelled");
    is_str(run_col(ids[2], "status"), "cancelled", "the queued one at once");
    is_str(run_col(ids[2], "error"), "test cancel", "with the reason");
    ok(run_col(ids[1], "cancel_at")[0] != '\0' &&
           strcmp(run_col(ids[1], "status"), "cancelled") != 0,
       "the running one at its next step boundary");

    memset(&st, 0, sizeof(st));
    st.step_id = st.name = "first";
    st.kind = "run";
    st.status = "completed";
    st.result = "1";
    st.started_at = st.ended_at = now_ms();
    fake.cb.step(fake.cb.arg, fake.jobs[fake_find(ids[1])], &st);
    loop_until(acked_more, &cancel_acks, 5000);
    is_int(fake.cancel_acks, cancel_acks + 1,
           "its checkpoint is acknowledged with the cancel");
    memset(&r, 0, sizeof(r));
    r.error = "cancelled at a step boundary";
    r.no_retry = 1;
    r.cancelled = 1;
    fake_end(ids[1], &r);
    ok(reach(ids[1], "cancelled"), "its outcome ends it cancelled");
    is_int(count("SELECT count(*) FROM steps WHERE run_id = ?", ids[1]), 1,
           "with its step stored");
    loop_until(is_running, ids[2], 200);
    ok(fake_find(ids[2]) < 0, "the cancelled queued run never runs");
}

static int
sched_queued_is_one(const void *arg)
{
    return sched_queued((struct sched *)arg) == 1;
}
/* ------------------------------------------------------ parallel steps */

/* A group of two branches, steps "a" and "b". */
#define PLAN_AB                                                           \
    "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\",\"name\":\"a\"},"    \
    "{\"id\":\"b\",\"name\":\"b\"}]}"

/* A group of one branch, step "a". */
#define PLAN_A "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\",\"name\":\"a\"}]}"

/* RUN_ID's branch running step TARGET, into BRANCH; 0 if there is one. */
static int
branch_of(const char *run_id, const char *target, char branch[27])
{
    sqlite3_stmt *s;
    int rc = -1;

    branch[0] = '\0';
    if (sqlite3_prepare_v2(peek, "SELECT id FROM runs WHERE"
                                 " parent_run_id = ? AND target_step = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, target, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW) {
        snprintf(branch, 27, "%s", sqlite3_column_text(s, 0));
        rc = 0;
    }
    sqlite3_finalize(s);
    return rc;
}

/* Ends RUN_ID's invocation beginning group "g" with PLAN; 0 once the
 * branches named in IDS (N of them) are stored, their ids in BR. */
static int
begin_group_of(const char *run_id, const char *plan, const char *const *ids,
               int n, char br[][27])
{
    struct pool_result r;

    memset(&r, 0, sizeof(r));
    r.suspend = SUSPEND_PARALLEL;
    r.step.step_id = r.step.name = "g";
    r.step.kind = "parallel";
    r.step.status = "parallel";
    r.step.result = plan;
    r.step.started_at = r.step.ended_at = now_ms();
    fake_end(run_id, &r);
    if (!reach(run_id, "parallel"))
        return -1;
    for (int i = 0; i < n; i++)
        if (branch_of(run_id, ids[i], br[i]) != 0)
            return -1;
    return 0;
}

/* Starts a run of FN (into ID) and ends its first invocation beginning
 * group PLAN, as begin_group_of(). */
static int
start_group(struct sched *s, const char *fn, const char *plan,
            const char *const *ids, int n, char id[27], char br[][27])
{
    start_run(s, fn, id);
    loop_until(is_running, id, 5000);
    return begin_group_of(id, plan, ids, n, br);
}

/* Ends branch BRANCH's invocation with step STEP_ID completed as RESULT,
 * as a worker says it (PROTO_SUSPEND_BRANCH). */
static void
end_branch(const char *branch, const char *step_id, const char *result)
{
    struct pool_result r;

    memset(&r, 0, sizeof(r));
    r.ok = 1;
    r.suspend = SUSPEND_BRANCH;
    r.step.step_id = r.step.name = step_id;
    r.step.kind = "run";
    r.step.status = "completed";
    r.step.result = result;
    r.step.started_at = r.step.ended_at = now_ms();
    fake_end(branch, &r);
}

/* A worker that ends a branch with some other step than the branch's
 * target (here the group's own step) must not leave the run waiting for
 * a group that can no longer end. */
static void
test_branch_other_step(struct sched *s)
{
    static const char *const ids[] = {"a", "b"};
    char id[27], br[2][27];

    fake.slots = 2;
    ok(start_group(s, "ok", PLAN_AB, ids, 2, id, br) == 0,
       "a group suspends its run with a branch per step");
    loop_until(is_running, br[0], 5000);
    loop_until(is_running, br[1], 5000);
    end_branch(br[0], "g", "\"not the group\"");
    end_branch(br[1], "b", "\"b\"");
    ok(reach(br[0], "completed") || reach(br[0], "failed"),
       "the rogue branch's end is recorded");
    ok(reach(br[1], "completed"), "the last branch's end is recorded");
    ok(strcmp(run_col(id, "status"), "parallel") != 0,
       "the last branch's end ends the group: its run is no longer"
       " waiting (status %s)", run_col(id, "status"));
    loop_until(is_running, id, 5000);
    if (fake_find(id) >= 0)
        end_ok(id, "null");
    fake.slots = 1;
}

/* A run cancelled while its group is pending: a branch waiting in line
 * for a worker must not start once the cancel is asked for, even if a
 * worker frees up before the cancel commits. */
static void
test_branch_cancel_race(struct sched *s)
{
    static const char *const ids[] = {"a", "b"};
    char id[27], br[2][27];
    struct store_cancel v;
    struct cancel_seen c = {0, -1, {0}};
    int first, second;

    fake.slots = 1;
    ok(start_group(s, "ok", PLAN_AB, ids, 2, id, br) == 0,
       "a group of two begins");
    ok(loop_until(sched_queued_is_one, s, 5000) &&
           (fake_find(br[0]) >= 0) != (fake_find(br[1]) >= 0),
       "one branch runs, the other waits in line");
    first = fake_find(br[0]) >= 0 ? 0 : 1;
    second = 1 - first;
    memset(&v, 0, sizeof(v));
    memcpy(v.run_id, id, 27);
    sched_cancel(s, &v, 1, "test cancel", cancel_cb, &c);
    /* The running branch ends before the cancel has committed: its
     * worker is free again. */
    end_branch(br[first], ids[first], "1");
    ok(fake_find(br[second]) < 0,
       "the branch in line does not start after its run's cancel was"
       " asked for");
    ok(loop_until(cancel_fired, &c, 5000) && c.rc == 0, "the cancel commits");
    is_str(run_col(id, "status"), "cancelled", "the run is cancelled");
    if (fake_find(br[second]) >= 0)
        end_branch(br[second], ids[second], "2");
    ok(reach(br[second], "cancelled"),
       "the branch that never started stays cancelled (status %s)",
       run_col(br[second], "status"));
}

/* The steps a run keeps stay within STEPRULES_MAX_RUN_STATE whatever
 * its workers say: each branch's worker is told what the run held when
 * the group began (steprules keeps an honest one to its share), so two
 * branches that each fit what they were told may not both be stored (a
 * run over it by megabytes could no longer be carried to a worker). */
static void
test_branch_state_limit(struct sched *s)
{
    static const char *const ids[] = {"a", "b"};
    char id[27], br[2][27], *big;
    size_t n = (size_t)(STEPRULES_MAX_RUN_STATE - 400);
    int i;

    fake.slots = 2;
    start_big(s, id, n);
    ok(begin_group_of(id, PLAN_AB, ids, 2, br) == 0,
       "a group of two begins with 400 bytes left to the run");
    loop_until(is_running, br[0], 5000);
    loop_until(is_running, br[1], 5000);
    i = fake_find(br[0]);
    ok(i >= 0 && fake.jobs[i]->state_bytes == n,
       "each branch is told what the run holds");
    /* 300 bytes each: each fits what it was told, both do not. */
    big = xmalloc(303);
    memset(big + 1, 'x', 300);
    big[0] = big[301] = '"';
    big[302] = '\0';
    end_branch(br[0], "a", big);
    end_branch(br[1], "b", big);
    free(big);
    ok(loop_until(is_running, id, 10000), "the group ends, its run resumes");
    is_int(count("SELECT count(*) FROM steps WHERE run_id = ? AND"
                 " step_id = 'b' AND status = 'failed' AND error LIKE"
                 " '%over the 32 MiB a run may keep'", id),
           1, "the branch whose result would take the run over its limit"
              " fails for good instead");
    i = fake_find(id);
    /* Over by its error at most (a branch's failure must be stored for
     * its group to end): nothing like a result's size. */
    ok(i >= 0 && fake.jobs[i]->state_bytes <= STEPRULES_MAX_RUN_STATE + 256,
       "the run's stored steps stay within its limit (%llu of %llu)",
       i >= 0 ? (unsigned long long)fake.jobs[i]->state_bytes : 0ULL,
       (unsigned long long)STEPRULES_MAX_RUN_STATE);
    if (i >= 0)
        end_ok(id, "null");
    fake.slots = 1;
}

/* kill -9 while a branch whose cancel was asked for is on a worker: the
 * restart ends that branch cancelled, and its group must still end. */
static void
test_branch_restart_cancelled(struct sched *s)
{
    static const char *const ids[] = {"a"};
    char id[27], br[1][27], err[256];
    struct store_cancel v;
    struct cancel_seen c = {0, -1, {0}};

    fake.slots = 1;
    ok(start_group(s, "ok", PLAN_A, ids, 1, id, br) == 0,
       "a group of one begins");
    ok(loop_until(is_running, br[0], 5000), "its branch is on a worker");
    memset(&v, 0, sizeof(v));
    memcpy(v.run_id, br[0], 27);
    sched_cancel(s, &v, 1, "test cancel", cancel_cb, &c);
    ok(loop_until(cancel_fired, &c, 5000) && c.rc == 0,
       "a cancel of the branch is flagged");
    /* The host dies here; at the next start: */
    ok(store_requeue_running(store, err, sizeof(err)) >= 0,
       "the restart's requeue runs");
    is_str(run_col(br[0], "status"), "cancelled",
           "the flagged branch ends cancelled");
    ok(strcmp(run_col(id, "status"), "parallel") != 0,
       "and its group ends: the run does not wait for ever (status %s)",
       run_col(id, "status"));
    /* The dead host's worker is gone: forget it. */
    end_branch(br[0], "a", "1");
    loop_until(is_running, id, 2000);
    if (fake_find(id) >= 0)
        end_ok(id, "null");
}

struct found_seen {
    char id[27];
    int found;
};

static void
found_cb(void *arg, const struct store_found *r)
{
    struct found_seen *o = arg;

    o->found += strcmp(r->run_id, o->id) == 0;
}

/* A bulk cancel (POST /v1/cancellations) finds a run whose group is
 * pending, as it finds one that sleeps or waits. */
static void
test_bulk_cancel_finds_group(struct sched *s)
{
    static const char *const ids[] = {"a"};
    char id[27], br[1][27];
    struct found_seen o;

    fake.slots = 1;
    ok(start_group(s, "ok", PLAN_A, ids, 1, id, br) == 0,
       "a run suspends for its group");
    memset(&o, 0, sizeof(o));
    snprintf(o.id, sizeof(o.id), "%s", id);
    store_runs_to_cancel(store, "ok", 0, INT64_MAX, 0, "", 1000000, found_cb,
                         &o);
    is_int(o.found, 1, "a bulk cancel finds it");
    loop_until(is_running, br[0], 5000);
    end_branch(br[0], "a", "1");
    loop_until(is_running, id, 5000);
    if (fake_find(id) >= 0)
        end_ok(id, "null");
}

/* A run that waits in line past its function's timeouts.start (30 ms
 * here) is cancelled by the scheduler's wake, with no timer of its own. */
static void
test_start_timeout(struct sched *s)
{
    char id[27];

    fake.slots = 0;
    start_run(s, "timed", id);
    ok(reach(id, "cancelled"), "a run queued past timeouts.start is"
                               " cancelled");
    ok(strstr(run_col(id, "error"), "timeouts.start") != NULL, "saying why");
    fake.slots = 1;
    loop_until(is_running, id, 200);
    ok(fake_find(id) < 0, "and never runs");
}

static void
stopped_cb(void *arg)
{
    *(int *)arg = 1;
}

/* ------------------------------------------------------- concurrency */

#define KEY_A "f:limited 0:a"
#define KEY_B "f:limited 0:b"

static int
in_key_queue(const void *run_id)
{
    return strcmp(run_col(run_id, "status"), "concurrency") == 0;
}

/* Whether the fake runs *N jobs. */
static int
has_jobs(const void *n)
{
    return fake.njobs == *(const int *)n;
}

/* Two functions' keys never meet: an id may hold ":", so "a" with the
 * value "0:x" and "a:0" with "x" must be two queues. */
static void
test_conc_key_names(void)
{
    char ida[] = "a", ida0[] = "a:0";
    struct fn_info a = {.id = ida}, a0 = {.id = ida0};
    struct json_object *ev1 = json_tokener_parse("{\"data\":{\"k\":\"0:x\"}}"),
                       *ev2 = json_tokener_parse("{\"data\":{\"k\":\"x\"}}");
    char *k1[FH_CONCURRENCY_LIMITS], *k2[FH_CONCURRENCY_LIMITS], why[256];

    a.concurrency[0].limit = a0.concurrency[0].limit = 1;
    a.concurrency[0].key = expr_compile("event.data.k", why, sizeof(why));
    a0.concurrency[0].key = expr_compile("event.data.k", why, sizeof(why));
    conc_run_keys(&a, ev1, k1);
    conc_run_keys(&a0, ev2, k2);
    ok(k1[0] != NULL && k2[0] != NULL && strcmp(k1[0], k2[0]) != 0,
       "function a's key \"0:x\" is not function a:0's key \"x\" (%s, %s)",
       k1[0], k2[0]);
    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        free(k1[i]);
        free(k2[i]);
    }
    conc_free(&a);
    conc_free(&a0);
    json_object_put(ev1);
    json_object_put(ev2);
}

/* A key with limit 2: two of its runs execute, the third waits in its
 * key's queue while another key's run goes by; a slot comes free when
 * an attempt ends, however it ends (completed, asleep, failed), and the
 * oldest waiting run takes it; the runs in a queue are due again after a
 * restart, with their keys, and the limit still holds. */
static void
test_concurrency(struct sched *s)
{
    char a[4][27], b[27], err[256];

    fake.slots = 8;
    for (int i = 0; i < 4; i++)
        start_keyed(s, "limited", KEY_A, a[i]);
    ok(loop_until(is_running, a[1], 5000) && is_running(a[0]),
       "two runs of a key with limit 2 execute");
    ok(loop_until(in_key_queue, a[2], 5000) &&
           loop_until(in_key_queue, a[3], 5000),
       "the other two wait in the key's queue, in the store");
    is_int(sched_conc_running(s, KEY_A), 2, "the key has 2 slots taken");
    start_keyed(s, "limited", KEY_B, b);
    ok(loop_until(is_running, b, 5000),
       "a run of another key executes meanwhile: no head-of-line blocking");
    ok(!is_running(a[2]) && !is_running(a[3]), "the full key's runs wait");

    end_ok(a[0], "1");
    ok(loop_until(is_running, a[2], 5000),
       "a completed attempt frees its slot: the oldest waiting run takes it");
    ok(!is_running(a[3]) && in_key_queue(a[3]), "and only that one");

    end_sleep(a[1], 60000);
    ok(loop_until(is_running, a[3], 5000),
       "a run that sleeps holds no slot: the next one takes it");
    ok(reach(a[1], "sleeping"), "(the first sleeps)");

    /* A failed attempt, or a dead worker (reported as one), frees its
     * slot; its retry then waits for one like any run of the key. */
    end_failed(a[2], "worker died", 0, 0);
    ok(loop_until(is_running, a[2], 5000),
       "a failed attempt frees its slot, and its retry takes one again");
    is_int(sched_conc_running(s, KEY_A), 2, "two slots taken, no more");

    /* A restart: what the key's queue holds is due again, keys and all,
     * and the limit holds over it. */
    start_keyed(s, "limited", KEY_A, a[0]);
    ok(loop_until(in_key_queue, a[0], 5000), "a new run of the full key waits");
    ok(store_requeue_running(store, err, sizeof(err)) >= 0,
       "the restart's requeue runs");
    is_str(run_col(a[0], "status"), "queued",
           "the runs in a key's queue are queued again at a restart");
    is_str(run_col(a[0], "conc_key1"), KEY_A, "with the key it was made with");
    sched_poke(s);
    ok(loop_until(in_key_queue, a[0], 5000) && !is_running(a[0]),
       "found due, it waits again: its key is still full");

    end_ok(a[2], "1");
    ok(loop_until(is_running, a[0], 5000), "and takes the next free slot");
    end_ok(a[3], "1");
    end_ok(a[0], "1");
    end_ok(b, "1");
    is_int(sched_conc_running(s, KEY_A) + sched_conc_running(s, KEY_B), 0,
           "once they end, no slot is taken");
    /* a[1] sleeps a minute: its key stays counted while it may wait. */
}

/* 2,000 runs of 2,000 keys, limit 2 each: none waits, since no key is
 * full; then a full key's 200 waiting runs do not hold up a run of
 * another key, and the keys the scheduler counts are only those in use. */
static void
test_concurrency_many_keys(struct sched *s)
{
    char id[27], hot[3][27], key[64];
    static char ids[2000][27];
    int queued = 0;

    fake.slots = 8;
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "f:limited 0:k%d", i);
        start_keyed(s, "limited", key, ids[i]);
        if (loop_until(is_running, ids[i], 5000))
            end_ok(ids[i], "1");
    }
    for (int i = 0; i < 2000; i++)
        queued += !reach(ids[i], "completed");
    is_int(queued, 0, "2,000 runs of 2,000 keys each complete, none waits");
    ok(sched_conc_keys(s) <= 2,
       "keys with nothing running are forgotten (%zu counted)",
       sched_conc_keys(s));

    for (int i = 0; i < 3; i++)
        start_keyed(s, "limited", "f:limited 0:hot", hot[i]);
    loop_until(in_key_queue, hot[2], 5000);
    for (int i = 0; i < 200; i++)
        start_keyed(s, "limited", "f:limited 0:hot", ids[i]);
    ok(loop_until(in_key_queue, ids[199], 5000), "200 more runs of a full key"
       " wait in its queue");
    start_keyed(s, "limited", "f:limited 0:cold", id);
    ok(loop_until(is_running, id, 5000),
       "a run of another key executes at once");
    is_int(sched_conc_running(s, "f:limited 0:hot"), 2,
           "the full key still has 2 running");
    end_ok(id, "1");
    /* Drain the hot key: each end lets exactly one more in. */
    for (int left = 203; left > 0; left--) {
        int want = left >= 2 ? 2 : left;

        if (!loop_until(has_jobs, &want, 5000) ||
            sched_conc_running(s, "f:limited 0:hot") > 2)
            break;
        end_ok(fake.jobs[0]->run_id, "1");
    }
    ok(sched_conc_running(s, "f:limited 0:hot") <= 2,
       "draining the key, never more than 2 run");
    while (fake.njobs > 0 && strcmp(fake.jobs[0]->function_id, "limited") == 0)
        end_ok(fake.jobs[0]->run_id, "1");
}

/* ---------------------------------------------------------- priority */

/* Lets the fake take N more jobs, as a pool whose workers came free. */
static void
fake_free_slots(int n)
{
    fake.slots += n;
    fake.cb.idle(fake.cb.arg);
}

static int
idle_now(const void *arg)
{
    if (fake.njobs > 0)
        end_ok(fake.jobs[0]->run_id, "null");
    return fake.njobs == 0 && sched_queued(arg) == 0;
}

/* Ends what the tests before left running or queued, so that the order
 * of what goes out next is a test's own runs'. */
static void
drain(struct sched *s)
{
    fake.slots = FAKE_MAX;
    loop_until(idle_now, s, 20000);
    fake.slots = 0;
}

/* Whether the fake's jobs from FIRST on are IDS[ORDER[0..N-1]], in that
 * order of dispatch. */
static int
dispatched_in_order(int first, char ids[][27], const int *order, int n)
{
    for (int i = 0; i < n; i++)
        if (first + i >= fake.njobs ||
            strcmp(fake.jobs[first + i]->run_id, ids[order[i]]) != 0)
            return 0;
    return 1;
}

/* Frees N slots of the fake, which has none busy, and checks that the
 * N runs IDS that wait are dispatched in the order WANT (indexes into
 * IDS), as WHAT says; then ends them. */
static void
go_in_order(char ids[][27], const int *want, int n, const char *what)
{
    fake_free_slots(n);
    loop_until(has_jobs, &n, 5000);
    ok(dispatched_in_order(0, ids, want, n), "they go out %s", what);
    for (int i = 0; i < n; i++)
        end_ok(ids[i], "null");
    ok(reach(ids[want[n - 1]], "completed"), "and complete");
}

/* Runs of a higher priority leave the ready queue first, equal ones in
 * the order they came: the fake takes none until all wait. */
static void
test_priority(struct sched *s)
{
    static const int prio[] = {0, 0, 100, 50, 100};
    static const int want[] = {2, 4, 3, 0, 1};
    char ids[5][27];

    drain(s);
    for (int i = 0; i < 5; i++)
        start_prio(s, "ok", prio[i], ids[i]);
    is_int(sched_queued(s), 5, "five runs wait, no worker free");
    is_str(run_col(ids[2], "priority"), "100", "a run's priority is stored");
    ok(atoll(run_col(ids[2], "wake_at")) <=
           atoll(run_col(ids[2], "created_at")) - 100000,
       "as its due time, 100 s before it was made");
    go_in_order(ids, want, 5, "highest priority first, equal ones in turn");
}

/* The due scan reads runs only the store has (as after a restart) in
 * the order of their priorities, and puts them in line so. */
static void
test_priority_found_in_store(struct sched *s)
{
    static const int prio[] = {0, 30, -0, 600, 30};
    static const int want[] = {3, 1, 4, 0, 2};
    char ids[5][27];
    int n = 5;

    drain(s);
    for (int i = 0; i < n; i++)
        start_prio(NULL, "ok", prio[i], ids[i]);
    sched_poke(s);
    loop_until(has_jobs, &n, 300);
    is_int(sched_queued(s), 5, "a scan finds the five in the store");
    go_in_order(ids, want, n, "highest priority first, from the store");
}

/* The ready queue holds at most 8,192 runs (sched.c's QUEUE_MAX): one
 * of a higher priority that comes when it is full takes the place of
 * the last, which the store keeps for a later scan. */
static void
test_priority_full_queue(struct sched *s)
{
    enum { FULL = 8192 };
    struct store_new_event ev;
    struct store_new_run *runs = xcalloc(FULL + 1, sizeof(*runs));
    struct store_cancel *v = xcalloc(FULL + 1, sizeof(*v));
    struct committed c = {0, -1};
    struct cancel_seen cs = {0, -1, {0}};
    struct shared_str *json;
    static const char text[] = "{\"name\":\"test/e\",\"data\":{}}";
    int one = 1;

    memset(&ev, 0, sizeof(ev));
    ulid_new(ev.id, 0);
    ev.name = "test/e";
    ev.ts = now_ms();
    ev.json = text;
    ev.runs = runs;
    ev.nruns = FULL + 1;
    for (int i = 0; i <= FULL; i++) {
        ulid_new(runs[i].id, 0);
        runs[i].function_id = "ok";
    }
    runs[FULL].priority = 60;
    drain(s);
    store_put_events(store, &ev, 1, 0, committed_cb, &c);
    loop_until(fired, &c, 20000);
    ok(c.rc == 0, "8,193 runs are stored");
    json = shared_str_new(text, sizeof(text) - 1);
    for (int i = 0; i <= FULL; i++)
        sched_submit(s, runs[i].id, "ok", ev.id, json, runs[i].wake_at,
                     NULL);
    shared_str_unref(json);
    is_int(sched_queued(s), FULL, "the ready queue is full");
    fake_free_slots(1);
    loop_until(has_jobs, &one, 5000);
    ok(fake.njobs == 1 && strcmp(fake.jobs[0]->run_id, runs[FULL].id) == 0,
       "the run of priority 60 took a place in it, and goes out first");
    end_ok(runs[FULL].id, "null");
    for (int i = 0; i <= FULL; i++)
        memcpy(v[i].run_id, runs[i].id, 27);
    fake.slots = 0;
    sched_cancel(s, v, FULL + 1, "test cancel", cancel_cb, &cs);
    ok(loop_until(cancel_fired, &cs, 20000) && cs.rc == 0,
       "the rest are cancelled");
    is_str(run_col(runs[FULL - 1].id, "status"), "cancelled",
           "the last, given back to the store, with them");
    is_int(sched_queued(s), 0, "none waits in the ready queue");
    fake.slots = 1;
    free(runs);
    free(v);
}


/* A run started before its event commits (sched_submit_early()), as the
 * pipeline does for a function that checkpoints ahead. */
struct early {
    struct store_new_event ev;
    struct store_new_run run;
    struct committed c;
    struct sched *s;
};

/* As the pipeline's: a failed commit abandons the run at once, before
 * the callbacks of the run's writes queued behind it. */
static void
early_cb(void *arg, int rc, const char *err)
{
    struct early *e = arg;

    committed_cb(&e->c, rc, err);
    if (rc != 0)
        sched_abandon(e->s, e->run.id);
}

/* Starts E's run of FN, for an event named NAME, and queues the event's
 * write after it; the test runs the loop. */
static void
start_early(struct sched *s, struct early *e, const char *fn,
            const char *name)
{
    static const char text[] = "{\"name\":\"test/e\",\"data\":{}}";
    struct shared_str *json = shared_str_new(text, sizeof(text) - 1);

    memset(e, 0, sizeof(*e));
    ulid_new(e->ev.id, 0);
    e->ev.name = name;
    e->ev.ts = now_ms();
    e->ev.json = text;
    e->ev.runs = &e->run;
    e->ev.nruns = 1;
    ulid_new(e->run.id, 0);
    e->run.function_id = fn;
    e->c.rc = -1;
    e->s = s;
    e->run.early = sched_submit_early(s, e->run.id, fn, e->ev.id, json);
    shared_str_unref(json);
    store_put_events(store, &e->ev, 1, 0, early_cb, e);
}

static struct sched *early_sched;

static int
unclaimed(const void *run_id)
{
    return !sched_claimed(early_sched, run_id);
}

static void
test_early(struct sched *s)
{
    struct early e;
    sqlite3 *rw;
    int calls, running = sched_running(s);

    start_early(s, &e, "ok", "test/e");
    ok(e.run.early, "a run may be taken before its event commits");
    ok(loop_until(is_running, e.run.id, 5000), "and is dispatched");
    end_ok(e.run.id, "1");
    ok(reach(e.run.id, "completed"), "its end commits after the event: it"
                                     " completes");
    ok(e.c.fired && e.c.rc == 0, "the event committed");

    /* The event's write fails, slowly enough that the run ends first. */
    sqlite3_open(db_path, &rw);
    sqlite3_exec(rw, "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN"
                     " NEW.name = 'test/refused' AND (WITH RECURSIVE c(x) AS"
                     " (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x <"
                     " 300000) SELECT count(*) FROM c) > 0 BEGIN"
                     " SELECT RAISE(ABORT, 'disk full'); END",
                 NULL, NULL, NULL);
    start_early(s, &e, "ok", "test/refused");
    ok(loop_until(is_running, e.run.id, 5000), "a run whose event will not"
                                               " commit runs");
    end_ok(e.run.id, "1");
    loop_until(fired, &e.c, 5000);
    ok(e.c.rc != 0, "its event's commit fails");
    ok(!loop_until(is_running, e.run.id, 300), "abandoned, it is not run"
                                                " again");
    is_int(count("SELECT count(*) FROM attempts WHERE run_id = ?",
                 e.run.id), 0, "and its end is not stored");
    is_str(run_col(e.run.id, "status"), "", "nor is it");
    is_int(sched_running(s), running, "the scheduler let go of it");
    ok(!sched_claimed(s, e.run.id), "all of it");

    /* Abandoned while it runs, a checkpoint of it on its way: its worker
     * is stopped at once, and the job goes only once the store has
     * answered that checkpoint (ASan sees a use after free if not). */
    early_sched = s;
    start_early(s, &e, "ok", "test/refused");
    ok(loop_until(is_running, e.run.id, 5000), "another such run runs");
    {
        struct step_record st;
        int kills = fake.kills;

        memset(&st, 0, sizeof(st));
        st.step_id = st.name = "first";
        st.kind = "run";
        st.status = "completed";
        st.result = "1";
        st.started_at = st.ended_at = now_ms();
        fake.cb.step(fake.cb.arg, fake.jobs[fake_find(e.run.id)], &st);
        loop_until(fired, &e.c, 5000);
        ok(fake.kills > kills, "its event fails: its worker is stopped");
    }
    end_failed(e.run.id, "killed", 0, 0);
    ok(loop_until(unclaimed, e.run.id, 5000), "and the job goes");
    is_int(count("SELECT count(*) FROM steps WHERE run_id = ?", e.run.id),
           0, "nothing of it is stored");

    /* Abandoned while it waits in line: it never runs. */
    fake.slots = 0;
    calls = fake.calls;
    start_early(s, &e, "ok", "test/refused");
    loop_until(fired, &e.c, 5000);
    fake.slots = 1;
    fake.cb.idle(fake.cb.arg);
    ok(!loop_until(is_running, e.run.id, 300) && fake.calls == calls,
       "one abandoned in line is never dispatched");
    sqlite3_exec(rw, "DROP TRIGGER refuse", NULL, NULL, NULL);
    sqlite3_close(rw);

    /* The store took the writes of neither as a reason to refuse others:
     * the next early run completes. */
    start_early(s, &e, "ok", "test/e");
    ok(loop_until(is_running, e.run.id, 5000), "the next one runs");
    end_ok(e.run.id, "2");
    ok(reach(e.run.id, "completed"), "and completes");
}

int
main(void)
{
    struct config cfg;
    struct executor ex = {&fake_ops, &fake};
    struct generation *g;
    struct sched *s;
    char err[256], *db;
    int stopped = 0;

    if (mkdtemp(tmpdir) == NULL)
        return 1;
    base = event_base_new();
    db = db_path = xasprintf("%s/fnhost.db", tmpdir);
    store = store_open(base, db, "normal", err, sizeof(err));
    ok(store != NULL, "store opens: %s", store ? "" : err);
    if (store == NULL)
        return 1;
    sqlite3_open_v2(db, &peek, SQLITE_OPEN_READONLY, NULL);
    sqlite3_busy_timeout(peek, 5000);
    config_init(&cfg);
    fake.slots = 1;
    s = sched_new(base, store, &cfg, ex);
    g = make_generation();
    sched_set_generation(s, g);
    ok(fake.gen == g, "the executor is handed the generation");
    sched_start(s);

    test_backoff_table();
    test_conc_key_names();
    test_retry_delay();
    test_completed(s);
    test_step(s);
    test_state_limit(s);
    test_retries(s);
    test_jitter(s);
    test_no_retry(s);
    test_max_attempts(s);
    test_retry_after(s);
    test_sleep(s);
    test_fetch(s);
    test_backlog(s);
    test_failed_dispatch(s);
    test_found_in_store(s);
    test_cancel(s);
    test_start_timeout(s);
    test_branch_other_step(s);
    test_branch_cancel_race(s);
    test_branch_state_limit(s);
    test_branch_restart_cancelled(s);
    test_bulk_cancel_finds_group(s);
    test_concurrency(s);
    test_concurrency_many_keys(s);

    test_priority(s);
    test_priority_found_in_store(s);
    test_priority_full_queue(s);
    test_early(s);

    sched_stop(s, stopped_cb, &stopped);
    ok(stopped && fake.stopped, "stopping stops the executor");
    store_close(store);
    sched_free(s);
    ok(g->refs == 2, "the scheduler let go of the generation");
    generation_unref(fake.gen);
    generation_unref(g);
    sqlite3_close(peek);
    config_free(&cfg);
    event_base_free(base);
    rm_rf(tmpdir);
    free(db);
    return done_testing();
}
