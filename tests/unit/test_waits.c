/* test_waits.c - unit tests for waits in the store: recorded, found by
 * index, ended by one event or by the timeout (exactly one of them), and
 * the look-back window's edges.
 * SPDX-License-Identifier: Apache-2.0 */
#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_wait.h"
#include "tap.h"
#include "util.h"
#include "wait.h"

static char tmpdir[] = "/tmp/fnhost-test-waits-XXXXXX";
static char dbpath[256];
static struct event_base *base;
static struct store *st;

/* ------------------------------------------------------------- helpers */

struct waiter {
    int fired, rc;
};

static void
done_cb(void *arg, int rc, const char *err)
{
    struct waiter *w = arg;

    (void)err;
    w->fired++;
    w->rc = rc;
}

static int
wait_for(struct waiter *w)
{
    int64_t deadline = mono_ms() + 10000;

    while (!w->fired && mono_ms() < deadline) {
        struct timeval tv = {0, 100000};

        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return w->fired && w->rc == 0;
}

static long long
query_int(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The first column of the first row of the query FMT, or -1. */
static long long
query_int(const char *fmt, ...)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;
    va_list ap;
    char *sql;

    va_start(ap, fmt);
    if (vasprintf(&sql, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    free(sql);
    return v;
}

/* The text of the first column of the query, new, or NULL. */
static char *
query_text(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    char *v = NULL;

    if (sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
        v = xstrdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* An event with at most one run (of FUNCTION_ID, if not NULL). */
struct test_event {
    struct store_new_event ev;
    struct store_new_run run;
    char json[256];
};

static void
make_event(struct test_event *t, const char *name, const char *data,
           const char *function_id)
{
    memset(t, 0, sizeof(*t));
    ulid_new(t->ev.id, 0);
    t->ev.name = name;
    t->ev.ts = now_ms();
    snprintf(t->json, sizeof(t->json), "{\"name\":\"%s\",\"data\":%s}", name,
             data);
    t->ev.json = t->json;
    if (function_id != NULL) {
        ulid_new(t->run.id, 0);
        t->run.function_id = function_id;
        t->ev.runs = &t->run;
        t->ev.nruns = 1;
    }
}

/* Stores N events in one transaction; returns the waits they ended. */
static size_t
put(struct test_event *t, size_t n)
{
    struct store_new_event evs[8];
    struct waiter w = {0};
    size_t resumed = 0;

    for (size_t i = 0; i < n; i++)
        evs[i] = t[i].ev;
    store_put_events(st, evs, n, 0, done_cb, &w);
    if (!wait_for(&w))
        return (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        t[i].ev.resumed = evs[i].resumed;
        resumed += evs[i].resumed;
    }
    return resumed;
}

/* A run of function "f" triggered by t/start with DATA; RUN_ID gets its
 * id. */
static void
start_run(const char *data, char run_id[27])
{
    struct test_event t;

    make_event(&t, "t/start", data, "f");
    put(&t, 1);
    memcpy(run_id, t.run.id, 27);
}

struct wait_opts {
    const char *event, *match, *value, *if_expr;
    int64_t started_at, timeout_at, lookback_ms;
};

/* Run RUN_ID's invocation ends in a wait (its step "w"); returns whether
 * a look-back ended it at once, or -1 if the write failed. */
static int
begin_wait(const char *run_id, const struct wait_opts *o)
{
    struct step_record step = {
        .step_id = "w", .name = "w", .kind = "wait", .status = "waiting",
        .started_at = o->started_at ? o->started_at : now_ms(),
        .wake_at = o->timeout_at ? o->timeout_at : now_ms() + 3600000,
        .wait_event = o->event, .wait_match = o->match,
        .wait_value = o->value, .wait_if = o->if_expr,
        .lookback_ms = o->lookback_ms};
    struct store_attempt at = {
        .outcome = RUN_WAIT, .started_at = step.started_at,
        .ended_at = step.started_at, .wake_at = step.wake_at, .step = &step};
    struct waiter w = {0};
    int resolved = -1;

    snprintf(at.run_id, sizeof(at.run_id), "%s", run_id);
    step.ended_at = step.started_at;
    at.resolved = &resolved;
    store_finish_attempt(st, &at, done_cb, &w);
    return wait_for(&w) ? resolved : -1;
}

static char *
status_of(const char *run_id)
{
    char sql[128];

    snprintf(sql, sizeof(sql), "SELECT status FROM runs WHERE id = '%s'",
             run_id);
    return query_text(sql);
}

/* The stored result of RUN_ID's wait step: its text, "NULL" for none, or
 * "(waiting)" while it waits. New. */
static char *
result_of(const char *run_id)
{
    char sql[160], *s;

    snprintf(sql, sizeof(sql),
             "SELECT CASE status WHEN 'waiting' THEN '(waiting)' ELSE"
             " coalesce(result, 'NULL') END FROM steps"
             " WHERE run_id = '%s' AND step_id = 'w'", run_id);
    s = query_text(sql);
    return s != NULL ? s : xstrdup("(none)");
}

static int
has(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

static void
is_status(const char *run_id, const char *want, const char *what)
{
    char *s = status_of(run_id);

    is_str(s ? s : "(none)", want, "%s", what);
    free(s);
}

static int
expire(int64_t now)
{
    struct waiter w = {0};
    int n = -1;

    store_expire_waits(st, now, 1000, &n, done_cb, &w);
    return wait_for(&w) ? n : -2;
}

/* --------------------------------------------------------------- tests */

/* Every statement that finds waits uses an index: none scans a table,
 * and the lookup of a matched value seeks on the whole key. */
static void
test_plans(void)
{
    sqlite3 *db = NULL;
    int scans = 0, by_value = 0;

    ok(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
       "open for the query plans");
    for (int i = 0; i < store_waits_nsql; i++) {
        sqlite3_stmt *s;
        char *sql = xasprintf("EXPLAIN QUERY PLAN %s", store_waits_sql[i]);

        if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK) {
            printf("# cannot plan: %s\n", store_waits_sql[i]);
            scans++;
        } else {
            while (sqlite3_step(s) == SQLITE_ROW) {
                const char *d = (const char *)sqlite3_column_text(s, 3);

                if (strncmp(d, "SCAN ", 5) == 0) {
                    printf("# %s: %s\n", store_waits_sql[i], d);
                    scans++;
                }
                if (strstr(store_waits_sql[i], "match_value = ?") &&
                    strstr(d, "match_path=? AND match_value=?"))
                    by_value++;
            }
            sqlite3_finalize(s);
        }
        free(sql);
    }
    is_int(scans, 0, "no statement of waits scans a table (all indexed)");
    is_int(by_value, 1, "a match is found by (name, path, value)");
    sqlite3_close(db);
}

static void
test_match(void)
{
    char runs[50][27], value[32], *r;
    struct test_event ev[2];
    int64_t before;

    for (int i = 0; i < 50; i++) {
        char data[64];
        struct wait_opts o = {.event = "t/login", .match = "data.user"};

        snprintf(data, sizeof(data), "{\"user\":\"u%d\"}", i);
        start_run(data, runs[i]);
        snprintf(value, sizeof(value), "\"u%d\"", i);
        o.value = value;
        if (begin_wait(runs[i], &o) != 0)
            printf("# wait %d did not begin\n", i);
    }
    is_int(query_int("SELECT count(*) FROM runs WHERE status = 'waiting'"), 50,
           "50 runs wait, on distinct values");
    is_int(query_int("SELECT count(*) FROM pauses"), 50, "50 pauses");
    is_status(runs[7], "waiting", "a waiting run's status is 'waiting'");

    make_event(&ev[0], "t/login", "{\"user\":\"u999\"}", NULL);
    make_event(&ev[1], "t/other", "{\"user\":\"u7\"}", NULL);
    is_int((long long)put(ev, 2), 0,
           "another value, or another name, ends no wait");

    before = now_ms();
    make_event(&ev[0], "t/login", "{\"user\":\"u7\",\"n\":1}", NULL);
    is_int((long long)put(ev, 1), 1, "the matching event ends one wait");
    is_status(runs[7], "queued", "its run is due");
    is_int(query_int("SELECT wake_at >= %lld FROM runs WHERE id = '%s'",
                     (long long)before, runs[7]),
           1, "now");
    r = result_of(runs[7]);
    is_str(r, ev[0].json, "the wait's step result is the event");
    free(r);
    is_int(query_int("SELECT count(*) FROM pauses WHERE run_id = '%s'",
                     runs[7]),
           0, "its pause is gone");
    is_status(runs[8], "waiting", "the others still wait");

    make_event(&ev[0], "t/login", "{\"user\":\"u7\",\"n\":2}", NULL);
    is_int((long long)put(ev, 1), 0, "a second event finds the wait ended");
    r = result_of(runs[7]);
    ok(has(r, "\"n\":1"), "and the first event stays the result");
    free(r);

    /* Clean slate for the next tests: every wait times out. */
    is_int(expire(now_ms() + 2 * 3600000), 49, "the rest time out");
}

static void
test_many_and_if(void)
{
    char runs[6][27], *r;
    struct test_event ev;
    struct wait_opts o = {.event = "t/login", .match = "data.user",
                          .value = "\"same\""};
    struct wait_opts any = {.event = "t/ping"};
    struct wait_opts cond = {.event = "t/score",
                             .if_expr = "async.data.score > event.data.min"};
    struct wait_opts missing = {.event = "t/login", .match = "data.user"};

    for (int i = 0; i < 4; i++) {
        start_run("{\"user\":\"same\"}", runs[i]);
        begin_wait(runs[i], &o);
    }
    ev.ev.resumed = 0;
    make_event(&ev, "t/login", "{\"user\":\"same\"}", NULL);
    is_int((long long)put(&ev, 1), 4, "one event ends four waits");
    is_int(query_int("SELECT count(*) FROM runs WHERE status = 'queued'"
                     " AND id IN ('%s','%s','%s','%s')",
                     runs[0], runs[1], runs[2], runs[3]),
           4, "their four runs are due");

    start_run("{}", runs[4]);
    begin_wait(runs[4], &any);
    make_event(&ev, "t/ping", "{}", NULL);
    is_int((long long)put(&ev, 1), 1, "a wait on a name alone: any event");

    start_run("{\"min\":10}", runs[5]);
    begin_wait(runs[5], &cond);
    make_event(&ev, "t/score", "{\"score\":5}", NULL);
    is_int((long long)put(&ev, 1), 0, "an if that is false ends nothing");
    make_event(&ev, "t/score", "{\"score\":\"x\"}", NULL);
    is_int((long long)put(&ev, 1), 0, "nor one that fails to evaluate");
    make_event(&ev, "t/score", "{\"score\":11}", NULL);
    is_int((long long)put(&ev, 1), 1, "one that is true does");
    r = result_of(runs[5]);
    ok(has(r, "\"score\":11"), "with its event");
    free(r);

    /* The trigger has no value at the path: nothing matches. */
    start_run("{}", runs[0]);
    begin_wait(runs[0], &missing);
    make_event(&ev, "t/login", "{}", NULL);
    is_int((long long)put(&ev, 1), 0,
           "a wait whose trigger lacks the field matches no event");
    make_event(&ev, "t/login", "{\"user\":null}", NULL);
    is_int((long long)put(&ev, 1), 0, "not even one with null there");
    is_int(expire(now_ms() + 2 * 3600000), 1, "it ends by its timeout");
}

/* An event and the timeout: exactly one of them ends a wait. */
static void
test_exactly_once(void)
{
    char a[27], b[27], c[27], *r;
    struct test_event ev;
    struct wait_opts o = {.event = "t/x", .match = "data.k", .value = "1"};
    struct store_new_event evs[1];
    struct waiter w1 = {0}, w2 = {0};
    int n = -1;
    int64_t now = now_ms();

    o.timeout_at = now + 1000;
    start_run("{\"k\":1}", a);
    begin_wait(a, &o);
    make_event(&ev, "t/x", "{\"k\":1}", NULL);
    is_int((long long)put(&ev, 1), 1, "the event ends the wait first");
    is_int(expire(now + 5000), 0, "then its timeout ends nothing");
    r = result_of(a);
    ok(has(r, "\"k\":1"), "and the event stays its result");
    free(r);

    start_run("{\"k\":2}", b);
    /* Each case its own value: an event of an earlier one, received in
     * the millisecond this wait begins, is in its window. */
    o.value = "2";
    begin_wait(b, &o);
    is_int(expire(now + 5000), 1, "the timeout ends the wait first");
    r = result_of(b);
    is_str(r, "NULL", "with a null result");
    free(r);
    is_status(b, "queued", "and its run is due");
    make_event(&ev, "t/x", "{\"k\":2}", NULL);
    is_int((long long)put(&ev, 1), 0, "then the event ends nothing");
    r = result_of(b);
    is_str(r, "NULL", "and the result stays null");
    free(r);

    /* Both in one group commit, whichever the writer applies first. */
    start_run("{\"k\":3}", c);
    o.value = "3";
    begin_wait(c, &o);
    make_event(&ev, "t/x", "{\"k\":3}", NULL);
    evs[0] = ev.ev;
    store_put_events(st, evs, 1, 0, done_cb, &w1);
    store_expire_waits(st, now + 5000, 1000, &n, done_cb, &w2);
    ok(wait_for(&w1) && wait_for(&w2), "an event and a timeout, queued together");
    is_int((long long)evs[0].resumed + n, 1, "one of them ends the wait");
    r = result_of(c);
    ok(strcmp(r, "NULL") == 0 ? n == 1 : has(r, "\"k\":3") && n == 0,
       "and its result is the winner's");
    free(r);
}

/* Which events a look-back counts: received since began_at - lookback,
 * not the run's own trigger, newest first. */
static void
test_lookback(void)
{
    char run[27], *r;
    struct test_event ev[2];
    struct wait_opts o = {.event = "t/lb", .match = "data.u",
                          .value = "\"a\"", .lookback_ms = 60000};
    int64_t at;

    make_event(&ev[0], "t/lb", "{\"u\":\"a\",\"n\":1}", NULL);
    put(ev, 1);
    at = query_int("SELECT received_at FROM events WHERE id = '%s'",
                   ev[0].ev.id);

    start_run("{\"u\":\"a\"}", run);
    o.started_at = at + 60000 + 1;
    is_int(begin_wait(run, &o), 0,
           "an event 1 ms before the window does not count");
    is_status(run, "waiting", "the run waits");
    expire(now_ms() + 2 * 3600000);

    start_run("{\"u\":\"a\"}", run);
    o.started_at = at + 60000;
    is_int(begin_wait(run, &o), 1,
           "one at the window's first millisecond counts");
    is_status(run, "queued", "the run is due at once");
    r = result_of(run);
    ok(has(r, "\"n\":1"), "with that event");
    free(r);
    is_int(query_int("SELECT count(*) FROM pauses WHERE run_id = '%s'", run),
           0, "and no pause is left");

    /* No look-back: an event received after the step was called but
     * stored before the wait counts all the same. */
    o.lookback_ms = 0;
    start_run("{\"u\":\"a\"}", run);
    o.started_at = at;
    is_int(begin_wait(run, &o), 1,
           "without a look-back, an event since the wait began counts");
    start_run("{\"u\":\"a\"}", run);
    o.started_at = at + 1;
    is_int(begin_wait(run, &o), 0, "one before it does not");
    expire(now_ms() + 2 * 3600000);

    /* The newest of two, and never the trigger itself. */
    make_event(&ev[0], "t/lb", "{\"u\":\"b\",\"n\":1}", NULL);
    make_event(&ev[1], "t/lb", "{\"u\":\"b\",\"n\":2}", NULL);
    put(ev, 2);
    o.value = "\"b\"";
    o.lookback_ms = 3600000;
    o.started_at = now_ms();
    start_run("{\"u\":\"b\"}", run);
    is_int(begin_wait(run, &o), 1, "two events in the window");
    r = result_of(run);
    ok(has(r, "\"n\":2"), "the newer one ends the wait");
    free(r);

    {
        struct test_event t;

        make_event(&t, "t/self", "{\"u\":\"s\"}", "f");
        put(&t, 1);
        o.event = "t/self";
        o.value = "\"s\"";
        o.started_at = now_ms();
        is_int(begin_wait(t.run.id, &o), 0,
               "a run's own trigger is never what its wait finds");
        expire(now_ms() + 2 * 3600000);
    }
}

/* A wait's run does not replay the waiting step, and the wake scan
 * finds the timeout. */
static void
test_timeout_visible(void)
{
    char run[27];
    struct wait_opts o = {.event = "t/never"};
    struct step_memo *m;
    int64_t now = now_ms();

    o.timeout_at = now + 777;
    start_run("{}", run);
    begin_wait(run, &o);
    is_int(store_waits_next_timeout(st, now), now + 777,
           "the earliest timeout is a wake time");
    m = store_run_steps(st, run, now + 100000);
    is_int(m != NULL ? (long long)m->n : -1, 0,
           "a waiting step is not replayed as done");
    free(m);
    is_int(expire(now + 776), 0, "not ended before its time");
    is_int(expire(now + 777), 1, "ended at it");
    is_int(store_waits_next_timeout(st, now), 0, "none left");
}

int
main(void)
{
    char err[512] = "";

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
    base = event_base_new();
    st = store_open(base, dbpath, "full", err, sizeof(err));
    ok(st != NULL, "the store opens");
    if (st == NULL) {
        printf("# %s\n", err);
        return done_testing();
    }
    test_plans();
    test_match();
    test_many_and_if();
    test_exactly_once();
    test_lookback();
    test_timeout_visible();
    store_close(st);
    event_base_free(base);
    {
        char *cmd = xasprintf("rm -rf %s", tmpdir);

        (void)!system(cmd);
        free(cmd);
    }
    return done_testing();
}
