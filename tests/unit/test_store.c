/* test_store.c - unit tests for the durable store: events, runs, attempts.
 * SPDX-License-Identifier: Apache-2.0 */
#include <event2/event.h>
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run_state.h"
#include "store_sql.h"
#include "store.h"
#include "store_int.h"
#include "store_sql.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/fnhost-test-store-XXXXXX";
static char dbpath[256];
static struct event_base *base;

/* ------------------------------------------------------------- helpers */

/* A loaded predicate: every function but ARG. */
static int
loaded_but(void *arg, const char *function_id)
{
    return strcmp(function_id, arg) != 0;
}

struct waiter {
    int fired;
    int rc;
    char err[512];
};

static void
done_cb(void *arg, int rc, const char *err)
{
    struct waiter *w = arg;

    w->fired++;
    w->rc = rc;
    snprintf(w->err, sizeof(w->err), "%s", err ? err : "");
}

/* Runs the loop until W's callback fired, for at most 10 s. */
static int
wait_for(struct waiter *w)
{
    int64_t deadline = mono_ms() + 10000;

    while (!w->fired && mono_ms() < deadline) {
        struct timeval tv = {0, 100000};

        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return w->fired;
}

/* Waits until every write queued before now has committed: writes commit
 * in order, so an empty batch's callback is a barrier. */
static int
barrier(struct store *st)
{
    struct waiter w = {0};

    store_put_events(st, NULL, 0, 0, done_cb, &w);
    return wait_for(&w) && w.rc == 0;
}

/* An event with one run for each function in FNS (NULL-terminated). */
struct test_event {
    struct store_new_event ev;
    struct store_new_run runs[4];
    char json[256];
};

static void
make_event(struct test_event *t, const char *name, const char *user_id,
           int64_t ts, const char *const *fns)
{
    memset(t, 0, sizeof(*t));
    ulid_new(t->ev.id, 0);
    t->ev.name = name;
    t->ev.user_id = user_id;
    t->ev.ts = ts;
    snprintf(t->json, sizeof(t->json),
             "{\"name\":\"%s\",\"data\":{\"who\":\"%s\"},\"ts\":%lld}", name,
             user_id ? user_id : "-", (long long)ts);
    t->ev.json = t->json;
    t->ev.runs = t->runs;
    for (size_t i = 0; fns[i] != NULL && i < 4; i++) {
        ulid_new(t->runs[i].id, 0);
        t->runs[i].function_id = fns[i];
        t->runs[i].created = -1;
        t->ev.nruns++;
    }
}

/* Stores N events and waits for the commit; returns the callback's rc. */
static int
put(struct store *st, struct test_event *t, size_t n, int64_t window, char *err,
    size_t errlen)
{
    struct store_new_event evs[8];
    struct waiter w = {0};

    /* The copies share T's runs, where the store writes "created". */
    for (size_t i = 0; i < n; i++)
        evs[i] = t[i].ev;
    store_put_events(st, evs, n, window, done_cb, &w);
    if (!wait_for(&w))
        return -2;
    if (err != NULL)
        snprintf(err, errlen, "%s", w.err);
    return w.rc;
}

/* What store_due_runs handed over. */
struct due_list {
    int n;
    char run_id[16][27];
    char event_id[16][27];
    char function_id[16][64];
    unsigned attempt[16];
    char event_json[16][256];
    const char *skip; /* a run id to skip */
};

static void
due_fn(void *arg, const struct store_due *d)
{
    struct due_list *l = arg;

    if (l->n >= 16)
        return;
    snprintf(l->run_id[l->n], 27, "%s", d->run_id);
    snprintf(l->event_id[l->n], 27, "%s", d->event_id);
    snprintf(l->function_id[l->n], 64, "%s", d->function_id);
    snprintf(l->event_json[l->n], 256, "%s", d->event_json);
    l->attempt[l->n] = d->attempt;
    l->n++;
}

static int
skip_fn(void *arg, const char *run_id)
{
    struct due_list *l = arg;

    return l->skip != NULL && strcmp(l->skip, run_id) == 0;
}

static int
due(struct store *st, int64_t now, const char *const *fns, struct due_list *l)
{
    const char *skip = l->skip;

    memset(l, 0, sizeof(*l));
    l->skip = skip;
    return store_due_runs(st, now, fns, 100, skip_fn, due_fn, l);
}

/* The index of RUN_ID in L, or -1. */
static int
due_has(const struct due_list *l, const char *run_id)
{
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->run_id[i], run_id) == 0)
            return i;
    return -1;
}

static struct json_object *
get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *
str(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);

    return v != NULL && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static size_t
arrlen(struct json_object *a)
{
    return a != NULL && json_object_is_type(a, json_type_array)
               ? json_object_array_length(a)
               : (size_t)-1;
}

/* The value of a one-number query on the store at PATH, through a
 * connection of our own. */
static long long
query_int_at(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* The same on the test's store. */
static long long
query_int(const char *sql)
{
    return query_int_at(dbpath, sql);
}

static int
exec_other(const char *sql)
{
    sqlite3 *db = NULL;
    int rc;

    rc = sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static int
finish(struct store *st, const char *run_id, unsigned attempt,
       enum run_outcome outcome, const char *output, const char *error,
       int64_t wake_at)
{
    struct store_attempt at;
    struct waiter w = {0};

    memset(&at, 0, sizeof(at));
    snprintf(at.run_id, sizeof(at.run_id), "%s", run_id);
    at.attempt = attempt;
    at.started_at = now_ms() - 5;
    at.ended_at = now_ms();
    at.outcome = outcome;
    at.output = output;
    at.error = error;
    at.wake_at = wake_at;
    store_finish_attempt(st, &at, done_cb, &w);
    return wait_for(&w) ? w.rc : -2;
}

/* Whether the gauges for /metrics agree with the runs as stored. */
static void
gauges_match(struct store *st, const char *when)
{
    int64_t queued, sleeping, waiting;

    store_run_gauges(st, &queued, &sleeping, &waiting);
    is_int(queued, query_int("select count(*) from runs where status ="
                             " 'queued'"), "%s: the queued gauge is exact",
           when);
    is_int(sleeping, query_int("select count(*) from runs where status ="
                               " 'sleeping'"),
           "%s: the sleeping gauge is exact", when);
    is_int(waiting, query_int("select count(*) from runs where status ="
                              " 'waiting'"),
           "%s: the waiting gauge is exact", when);
}

/* --------------------------------------------------------------- tests */

static const char *const FN1[] = {"fn-1", NULL};

/* Writes queued while a transaction commits share the next one: 200
 * writes queued at once take far fewer than 200 commits, and each still
 * gets its own acknowledgement. */
static void
test_group_commit(struct store *st)
{
    static struct test_event evs[200];
    struct waiter w[200];
    uint64_t ops0, commits0, ops1, commits1;
    int acked = 0;

    memset(w, 0, sizeof(w));
    store_stats(st, &ops0, &commits0);
    for (int i = 0; i < 200; i++) {
        make_event(&evs[i], "app/group", NULL, 0, FN1);
        store_put_events(st, &evs[i].ev, 1, 0, done_cb, &w[i]);
    }
    for (int i = 0; i < 200; i++)
        acked += wait_for(&w[i]) && w[i].rc == 0;
    store_stats(st, &ops1, &commits1);
    is_int(acked, 200, "group commit: every write is acknowledged");
    is_int(ops1 - ops0, 200, "group commit: 200 writes applied");
    ok(commits1 - commits0 < 100,
       "group commit: 200 writes took %llu transactions",
       (unsigned long long)(commits1 - commits0));
}
static const char *const FN2[] = {"fn-2", NULL};
static const char *const FN12[] = {"fn-1", "fn-2", NULL};
static const char *const NOFN[] = {NULL};

static struct test_event first[2];

static void
test_put_and_due(struct store *st)
{
    struct due_list l;
    char err[512];
    int i0, i1;
    int64_t ts = 1700000000000LL;

    make_event(&first[0], "app/a", NULL, ts, FN12);
    make_event(&first[1], "app/b", NULL, ts, FN12);
    is_int(put(st, first, 2, 60000, err, sizeof(err)), 0,
           "2 events with 2 runs each are stored");
    ok(first[0].runs[0].created == 1 && first[0].runs[1].created == 1 &&
           first[1].runs[0].created == 1 && first[1].runs[1].created == 1,
       "every run is created");
    is_int(store_count_runs(st, NULL), 4, "4 runs in all");
    is_int(store_count_runs(st, "queued"), 4, "all queued");
    is_int(query_int("select count(*) from events"), 2, "2 events stored");

    l.skip = NULL;
    is_int(due(st, now_ms(), FN1, &l), 2, "2 runs of fn-1 are due");
    i0 = due_has(&l, first[0].runs[0].id);
    i1 = due_has(&l, first[1].runs[0].id);
    ok(i0 >= 0 && i1 >= 0, "they are the fn-1 runs of both events");
    if (i0 >= 0) {
        is_str(l.function_id[i0], "fn-1", "with their function");
        is_str(l.event_id[i0], first[0].ev.id, "their event's id");
        is_str(l.event_json[i0], first[0].json, "the event JSON as stored");
        is_int(l.attempt[i0], 0, "and attempt 0");
    }
    ok(due_has(&l, first[0].runs[1].id) < 0, "fn-2's runs are not listed");

    is_int(due(st, now_ms(), FN12, &l), 4, "both functions: all 4 runs");
    is_int(due(st, now_ms(), (const char *const[]){"nope", NULL}, &l), 0,
           "an unknown function has none");
    is_int(l.n, 0, "and nothing is handed over");
    is_int(due(st, now_ms(), NOFN, &l), 0, "an empty list has none");
    {
        struct due_list one;

        memset(&one, 0, sizeof(one));
        is_int(store_due_runs(st, now_ms(), FN12, 1, NULL, due_fn, &one), 1,
               "LIMIT bounds the rows read");
    }
    l.skip = first[0].runs[0].id;
    is_int(due(st, now_ms(), FN1, &l), 2, "skipped rows still count as read");
    is_int(l.n, 1, "but a skipped run is not handed over");
    ok(due_has(&l, first[0].runs[0].id) < 0, "the skipped one");
    l.skip = NULL;
    is_int(due(st, 1, FN1, &l), 0, "nothing is due before it was stored");
}

static void
test_future_ts(struct store *st)
{
    struct test_event t;
    struct due_list l;
    int64_t later = now_ms() + 3600 * 1000;
    static const char *const FUT[] = {"fn-future", NULL};

    make_event(&t, "app/later", NULL, later, FUT);
    is_int(put(st, &t, 1, 0, NULL, 0), 0, "an event with a future ts");
    l.skip = NULL;
    is_int(due(st, now_ms(), FUT, &l), 0, "its run is not due now");
    is_int(store_next_wake(st, now_ms(), FUT), later,
           "the next wake is its ts");
    is_int(due(st, later, FUT, &l), 1, "it is due at its ts");
    is_int(store_next_wake(st, later, FUT), 0, "no wake after that: 0");
}

/* A run's priority.run places it in line by its wake_at: due that many
 * seconds earlier, never before a future ts, and a negative one later,
 * with its timeouts.start counted from then. */
static void
test_priority(struct store *st)
{
    struct test_event t[3];
    int64_t later = now_ms() + 3600 * 1000, before = now_ms();
    static const char *const FP[] = {"fn-prio", NULL};
    char sql[256];

    make_event(&t[0], "app/prio", NULL, 0, FP);
    t[0].runs[0].priority = 120;
    make_event(&t[1], "app/prio", NULL, later, FP);
    t[1].runs[0].priority = 120;
    make_event(&t[2], "app/prio", NULL, 0, FP);
    t[2].runs[0].priority = -30;
    t[2].runs[0].start_timeout_ms = 1000;
    is_int(put(st, t, 3, 0, NULL, 0), 0, "runs with priorities are stored");
    ok(t[0].runs[0].wake_at >= before - 120000 &&
           t[0].runs[0].wake_at <= now_ms() - 120000,
       "priority 120: due 120 s before it was stored");
    is_int(t[1].runs[0].wake_at, later,
           "a run due later keeps its time: never earlier");
    snprintf(sql, sizeof(sql), "select wake_at - created_at from runs"
             " where id = '%s'", t[2].runs[0].id);
    is_int(query_int(sql), 30000, "priority -30: due 30 s later");
    snprintf(sql, sizeof(sql), "select deadline - wake_at from runs"
             " where id = '%s'", t[2].runs[0].id);
    is_int(query_int(sql), 1000, "its timeouts.start counts from then");
    snprintf(sql, sizeof(sql), "select priority from runs where id = '%s'",
             t[2].runs[0].id);
    is_int(query_int(sql), -30, "the priority is stored with the run");
}

/* A debounced run gets its place in line by its priority when its time
 * comes, as a new run does. */
static void
test_priority_debounced(struct store *st)
{
    struct test_event t;
    struct waiter w = {0};
    static const char *const FD[] = {"fn-prio-debounce", NULL};
    int64_t fire = now_ms() + 5000;
    char sql[256];
    char key[] = "";
    int n = 0;

    make_event(&t, "app/prio", NULL, 0, FD);
    t.runs[0].priority = 45;
    t.runs[0].debounce_key = key;
    t.runs[0].debounce_ms = 1000;
    is_int(put(st, &t, 1, 0, NULL, 0), 0, "a debounced run with a priority");
    store_expire_waits(st, fire, 1000, &n, done_cb, &w);
    ok(wait_for(&w) && w.rc == 0, "its time comes");
    snprintf(sql, sizeof(sql), "select %lld - wake_at from runs"
             " where id = '%s'", (long long)fire, t.runs[0].id);
    is_int(query_int(sql), 45000, "it is due 45 s before its time came");
}

static void
test_dedup(struct store *st)
{
    struct test_event a[2], b, c;
    static const char *const FN13[] = {"fn-1", "fn-3", NULL};
    static const char *const FND[] = {"fn-d", NULL};
    long long events_before;
    struct json_object *o;

    make_event(&a[0], "app/signup", "user-1", 1700000000000LL, FN12);
    is_int(put(st, a, 1, 60000, NULL, 0), 0, "an event with an id");
    ok(a[0].runs[0].created == 1 && a[0].runs[1].created == 1,
       "creates its runs");

    events_before = query_int("select count(*) from events");
    make_event(&b, "app/signup", "user-1", 1700000000000LL, FN13);
    is_int(put(st, &b, 1, 60000, NULL, 0), 0, "the same id again");
    is_int(b.runs[0].created, 0, "starts no second run of the same function");
    is_int(b.runs[1].created, 1, "but a function new to that id runs");
    is_int(query_int("select count(*) from events"), events_before + 1,
           "the repeated event is still stored");
    o = store_get_run(st, b.runs[0].id, NULL);
    ok(o == NULL, "the run that was not created cannot be found");
    json_object_put(o);
    o = store_get_run(st, b.runs[1].id, NULL);
    ok(o != NULL, "the one that was can");
    json_object_put(o);

    make_event(&c, "app/signup", "user-2", 1700000000000LL, FN1);
    is_int(put(st, &c, 1, 60000, NULL, 0), 0, "another id");
    is_int(c.runs[0].created, 1, "is not a duplicate");

    /* Twice in one request: the second is the duplicate. */
    make_event(&a[0], "app/x", "twice", 1700000000000LL, FND);
    make_event(&a[1], "app/x", "twice", 1700000000000LL, FND);
    is_int(put(st, a, 2, 60000, NULL, 0), 0, "one id twice in one batch");
    ok(a[0].runs[0].created == 1 && a[1].runs[0].created == 0, "runs once");

    /* After the window a new run starts. */
    make_event(&a[0], "app/x", "short", 1700000000000LL, FND);
    is_int(put(st, a, 1, 1, NULL, 0), 0, "an id with a 1 ms window");
    usleep(20000);
    make_event(&a[1], "app/x", "short", 1700000000000LL, FND);
    is_int(put(st, &a[1], 1, 1, NULL, 0), 0, "the same id 20 ms later");
    is_int(a[1].runs[0].created, 1, "runs again once the window passed");
}

static void
test_attempts(struct store *st)
{
    const char *r = first[0].runs[0].id;
    struct json_object *o, *out, *att;
    struct due_list l;
    int64_t wake;

    store_start_attempt(st, r, 0, now_ms());
    ok(barrier(st), "start attempt 0 committed");
    o = store_get_run(st, r, NULL);
    is_str(str(o, "status"), "Running", "a started run is Running");
    ok(str(o, "run_started_at") != NULL, "with its start time");
    json_object_put(o);
    is_int(store_count_runs(st, "running"), 1, "one run running");
    l.skip = NULL;
    due(st, now_ms(), FN1, &l);
    ok(due_has(&l, r) < 0, "a running run is not due");

    wake = now_ms() + 3600 * 1000;
    is_int(finish(st, r, 0, RUN_RETRY, NULL, "boom on attempt 0", wake), 0,
           "a retry is recorded");
    due(st, now_ms(), FN1, &l);
    ok(due_has(&l, r) < 0, "it is not due before its wake time");
    is_int(store_next_wake(st, now_ms(), FN1), wake,
           "store_next_wake gives its wake time");
    due(st, wake, FN1, &l);
    ok(due_has(&l, r) >= 0, "it is due at its wake time");
    if (due_has(&l, r) >= 0)
        is_int(l.attempt[due_has(&l, r)], 1, "for attempt 1");
    o = store_get_run(st, r, NULL);
    is_str(str(o, "error"), "boom on attempt 0", "the run shows the error");
    ok(str(o, "next_attempt_at") != NULL, "and when it tries again");
    is_int(json_object_get_int(get(o, "attempt")), 1, "attempt is now 1");
    json_object_put(o);

    store_start_attempt(st, r, 1, now_ms());
    is_int(finish(st, r, 1, RUN_COMPLETED, "{\"a\":1}", NULL, 0), 0,
           "completion is recorded");
    o = store_get_run(st, r, NULL);
    is_str(str(o, "status"), "Completed", "status Completed");
    is_str(str(o, "run_id"), r, "run_id");
    is_str(str(o, "function_id"), "fn-1", "function_id");
    is_str(str(o, "event_id"), first[0].ev.id, "event_id");
    out = get(o, "output");
    ok(json_object_is_type(out, json_type_object), "output is an object");
    is_int(json_object_get_int(get(out, "a")), 1, "output.a = 1");
    ok(get(o, "error") == NULL, "no error on a completed run");
    ok(str(o, "ended_at") != NULL, "an end time");
    ok(!json_object_object_get_ex(o, "next_attempt_at", NULL),
       "no next attempt");
    att = get(o, "attempts");
    is_int(arrlen(att), 2, "two attempts");
    if (arrlen(att) == 2) {
        struct json_object *a0 = json_object_array_get_idx(att, 0);
        struct json_object *a1 = json_object_array_get_idx(att, 1);

        is_int(json_object_get_int(get(a0, "attempt")), 0, "first is 0");
        is_str(str(a0, "error"), "boom on attempt 0", "with the retry error");
        ok(str(a0, "ended_at") != NULL, "and its end");
        is_int(json_object_get_int(get(a1, "attempt")), 1, "second is 1");
        ok(get(a1, "error") == NULL, "which has no error");
    }
    json_object_put(o);
    is_int(store_next_wake(st, now_ms(), FN1), 0,
           "a completed run has no wake time");
    due(st, wake + 1, FN1, &l);
    ok(due_has(&l, r) < 0, "and is never due again");
    is_int(store_count_runs(st, "completed"), 1, "one run completed");

    /* A failure that cannot be retried. */
    r = first[0].runs[1].id;
    store_start_attempt(st, r, 0, now_ms());
    is_int(finish(st, r, 0, RUN_FAILED, NULL, "fatal: no email", 0), 0,
           "a failure is recorded");
    o = store_get_run(st, r, NULL);
    is_str(str(o, "status"), "Failed", "status Failed");
    is_str(str(o, "error"), "fatal: no email", "with its error");
    ok(get(o, "output") == NULL, "and no output");
    is_int(arrlen(get(o, "attempts")), 1, "one attempt");
    is_str(str(json_object_array_get_idx(get(o, "attempts"), 0), "error"),
           "fatal: no email", "which has the error");
    json_object_put(o);
    due(st, wake + 1, FN12, &l);
    ok(due_has(&l, r) < 0, "a failed run is never due again");
}

static void
test_requeue(struct store *st)
{
    const char *r = first[1].runs[0].id;
    char err[256] = "";
    struct due_list l;
    struct json_object *o;
    uint64_t ops0, commits0, ops1, commits1;

    is_int(store_requeue_running(st, err, sizeof(err)), 0,
           "nothing running: nothing requeued");
    store_start_attempt(st, r, 0, now_ms());
    ok(barrier(st), "a run starts");
    l.skip = NULL;
    due(st, now_ms(), FN1, &l);
    ok(due_has(&l, r) < 0, "and is not due while running");
    /* The host dies here; on restart: */
    store_stats(st, &ops0, &commits0);
    is_int(store_requeue_running(st, err, sizeof(err)), 1,
           "store_requeue_running requeues the one running run");
    store_stats(st, &ops1, &commits1);
    ok(ops1 == ops0 + 1 && commits1 == commits0 + 1,
       "through the writer, in a commit of its own");
    ok(sqlite3_exec(store_reader(st),
                    "UPDATE runs SET status = 'queued' WHERE 0", NULL, NULL,
                    NULL) != SQLITE_OK,
       "the read connection refuses writes");
    due(st, now_ms(), FN1, &l);
    ok(due_has(&l, r) >= 0, "which is due again");
    if (due_has(&l, r) >= 0)
        is_int(l.attempt[due_has(&l, r)], 0, "for the same attempt");
    o = store_get_run(st, r, NULL);
    is_str(str(o, "status"), "Queued", "it shows as Queued");
    json_object_put(o);
    is_int(store_requeue_running(st, err, sizeof(err)), 0,
           "a second requeue finds nothing");
}

static void
test_reads(struct store *st)
{
    struct json_object *o, *e;
    struct test_event t;
    size_t n;

    o = store_list_runs(st, "fn-2", NULL, 0);
    n = arrlen(o);
    ok(n >= 3, "fn-2 has its runs listed");
    for (size_t i = 0; i < n; i++)
        if (strcmp(str(json_object_array_get_idx(o, i), "function_id"),
                   "fn-2") != 0)
            n = 0;
    ok(n >= 3, "and only fn-2's");
    json_object_put(o);

    o = store_list_runs(st, NULL, "completed", 0);
    is_int(arrlen(o), 1, "one completed run in all");
    is_str(str(json_object_array_get_idx(o, 0), "run_id"), first[0].runs[0].id,
           "the one that completed");
    json_object_put(o);
    o = store_list_runs(st, "fn-2", "failed", 0);
    is_int(arrlen(o), 1, "fn-2 has one failed run");
    json_object_put(o);
    o = store_list_runs(st, "fn-1", "failed", 0);
    is_int(arrlen(o), 0, "fn-1 has none");
    json_object_put(o);
    {
        /* Each status filter finds the runs that show that status (a run
         * waiting for a retry shows Running), and together they find
         * every run once. */
        static const char *const names[] = {"queued",    "running",
                                            "sleeping",  "waiting",
                                            "completed", "failed",
                                            "cancelled"};
        size_t all, seen = 0, wrong = 0, retrying = 0;

        /* test_requeue's run fails once and waits for its retry. */
        store_start_attempt(st, first[1].runs[0].id, 0, now_ms());
        is_int(finish(st, first[1].runs[0].id, 0, RUN_RETRY, NULL,
                      "try again", now_ms() + 3600000),
               0, "a run waits for its retry");
        o = store_list_runs(st, NULL, NULL, 1000);
        all = arrlen(o);
        for (size_t i = 0; i < all; i++) {
            struct json_object *run = json_object_array_get_idx(o, i);

            retrying += strcmp(str(run, "status"), "Running") == 0;
        }
        json_object_put(o);
        for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            o = store_list_runs(st, NULL, names[k], 1000);
            for (size_t i = 0; i < arrlen(o); i++)
                wrong += strcasecmp(str(json_object_array_get_idx(o, i),
                                        "status"),
                                    names[k]) != 0;
            seen += arrlen(o);
            json_object_put(o);
        }
        is_int(wrong, 0, "each status filter finds only runs showing it");
        is_int(seen, all, "and all of them, once");
        is_int(retrying, 1, "(the one waiting for its retry shows Running)");
        ok(run_state_parse("Sleeping") == RS_SLEEPING &&
               run_state_parse("asleep") < 0,
           "status names are known in any case, and only those");

        /* Its function gone from the current generation, the retrying
         * run waits for it: shown so, and found so. */
        store_set_loaded(st, loaded_but, (void *)first[1].runs[0].function_id);
        e = store_get_run(st, first[1].runs[0].id, NULL);
        is_str(str(e, "status"), "Waiting",
               "a retrying run of a removed function shows Waiting");
        ok(json_object_get_boolean(
               json_object_object_get(e, "waiting_for_function")),
           "waiting_for_function says why");
        json_object_put(e);
        o = store_list_runs(st, first[1].runs[0].function_id, "waiting", 10);
        ok(arrlen(o) >= 1, "status=waiting finds it");
        json_object_put(o);
        o = store_list_runs(st, first[1].runs[0].function_id, "running", 10);
        is_int(arrlen(o), 0, "status=running does not");
        json_object_put(o);
        store_set_loaded(st, NULL, NULL);
    }
    o = store_list_runs(st, NULL, NULL, 2);
    is_int(arrlen(o), 2, "a limit of 2 lists 2");
    if (arrlen(o) == 2)
        ok(strcmp(str(json_object_array_get_idx(o, 0), "run_id"),
                  str(json_object_array_get_idx(o, 1), "run_id")) > 0,
           "newest first");
    json_object_put(o);

    o = store_event_runs(st, first[0].ev.id);
    is_int(arrlen(o), 2, "the first event has its 2 runs");
    if (arrlen(o) == 2) {
        is_str(str(json_object_array_get_idx(o, 0), "run_id"),
               first[0].runs[0].id, "in id order, fn-1's first");
        is_str(str(json_object_array_get_idx(o, 1), "run_id"),
               first[0].runs[1].id, "then fn-2's");
    }
    json_object_put(o);
    o = store_event_runs(st, "01AAAAAAAAAAAAAAAAAAAAAAAA");
    is_int(arrlen(o), 0, "an unknown event has no runs");
    json_object_put(o);

    make_event(&t, "app/evt", "sender-id-9", 1690000000000LL, NOFN);
    is_int(put(st, &t, 1, 60000, NULL, 0), 0, "an event with no runs");
    e = store_get_event(st, t.ev.id, NULL);
    ok(e != NULL, "store_get_event finds it");
    is_str(str(e, "internal_id"), t.ev.id, "internal_id");
    is_str(str(e, "name"), "app/evt", "name");
    is_str(str(e, "id"), "sender-id-9", "the sender's id");
    is_int(json_object_get_int64(get(e, "ts")), 1690000000000LL, "ts");
    is_str(str(get(e, "data"), "who"), "sender-id-9", "data");
    ok(str(e, "received_at") != NULL, "received_at");
    json_object_put(e);
    o = store_event_runs(st, t.ev.id);
    is_int(arrlen(o), 0, "it started no runs");
    json_object_put(o);
    {
        int failed = -1;

        e = store_get_event(st, "01AAAAAAAAAAAAAAAAAAAAAAAA", &failed);
        is_int(failed, 0, "an unknown event is not a failed read");
        json_object_put(e);
        e = store_get_run(st, "01AAAAAAAAAAAAAAAAAAAAAAAA", &failed);
        is_int(failed, 0, "nor is an unknown run");
        json_object_put(e);
    }
    e = store_get_event(st, "01AAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    ok(e == NULL, "an unknown event is NULL");
    o = store_get_run(st, "01AAAAAAAAAAAAAAAAAAAAAAAA", NULL);
    ok(o == NULL, "an unknown run is NULL");
}

/* The gauges move with each write as it commits. */
static void
test_gauges(struct store *st)
{
    struct test_event t;
    int64_t q0, s0, q, sl, w0, wt;
    const char *r;

    store_run_gauges(st, &q0, &s0, &w0);
    make_event(&t, "app/gauge", NULL, 1700000000000LL, FN1);
    put(st, &t, 1, 0, NULL, 0);
    r = t.runs[0].id;
    store_run_gauges(st, &q, &sl, &wt);
    is_int(q - q0, 1, "a new run counts as queued");
    store_start_attempt(st, r, 0, now_ms());
    barrier(st);
    store_run_gauges(st, &q, &sl, &wt);
    is_int(q - q0, 0, "no longer once it starts");
    {
        struct store_attempt at;
        struct step_record nap;
        struct waiter w = {0};

        memset(&at, 0, sizeof(at));
        memset(&nap, 0, sizeof(nap));
        snprintf(at.run_id, sizeof(at.run_id), "%s", r);
        at.started_at = at.ended_at = now_ms();
        at.outcome = RUN_SLEEP;
        nap.step_id = nap.name = "nap";
        nap.kind = "sleep";
        nap.status = "sleeping";
        nap.wake_at = now_ms() + 3600000;
        at.step = &nap;
        store_finish_attempt(st, &at, done_cb, &w);
        wait_for(&w);
    }
    store_run_gauges(st, &q, &sl, &wt);
    is_int(sl - s0, 1, "a sleep counts as sleeping");
    store_start_attempt(st, r, 0, now_ms());
    barrier(st);
    finish(st, r, 0, RUN_RETRY, NULL, "again", now_ms() + 3600000);
    store_run_gauges(st, &q, &sl, &wt);
    ok(q - q0 == 1 && sl - s0 == 0, "a retry counts as queued, not sleeping");
    store_start_attempt(st, r, 1, now_ms());
    barrier(st);
    finish(st, r, 1, RUN_COMPLETED, "1", NULL, 0);
    store_run_gauges(st, &q, &sl, &wt);
    ok(q == q0 && sl == s0 && wt == w0, "a completed run counts as none");
    gauges_match(st, "after a run's life");
}


static void
test_write_failure(struct store *st)
{
    struct test_event t;
    char err[512] = "";
    long long events, runs;

    events = query_int("select count(*) from events");
    runs = query_int("select count(*) from runs");
    ok(exec_other("CREATE TRIGGER no_runs BEFORE INSERT ON runs BEGIN"
                  " SELECT RAISE(ABORT, 'simulated disk trouble'); END") == 0,
       "runs made unwritable from another connection");
    make_event(&t, "app/fails", NULL, 1700000000000LL, FN1);
    is_int(put(st, &t, 1, 60000, err, sizeof(err)), -1,
           "a write that fails reports -1 to its callback");
    has_str(err, "simulated disk trouble", "with the database's reason");
    has_str(err, "store:", "prefixed by the module");
    is_int(query_int("select count(*) from events"), events,
           "the event of the failed batch was rolled back");
    is_int(query_int("select count(*) from runs"), runs,
           "and so were its runs");
    gauges_match(st, "after a rolled-back write");
    ok(exec_other("DROP TRIGGER no_runs") == 0, "the trouble goes away");
    make_event(&t, "app/fails", NULL, 1700000000000LL, FN1);
    is_int(put(st, &t, 1, 60000, err, sizeof(err)), 0,
           "the next write succeeds");
    is_int(query_int("select count(*) from events"), events + 1,
           "and is stored");
}

static void
test_close_flushes(struct store **stp)
{
    struct test_event t;
    struct store_new_event ev;
    struct waiter w = {0};
    struct json_object *e;
    char err[512] = "";

    make_event(&t, "app/last", NULL, 1700000000000LL, FN2);
    ev = t.ev;
    store_put_events(*stp, &ev, 1, 60000, done_cb, &w);
    store_close(*stp);
    is_int(w.fired, 1, "store_close runs the callback of a queued write");
    is_int(w.rc, 0, "which succeeded");

    *stp = store_open(base, dbpath, "full", err, sizeof(err));
    ok(*stp != NULL, "the store reopens");
    if (*stp == NULL) {
        printf("#   error: %s\n", err);
        return;
    }
    e = store_get_event(*stp, t.ev.id, NULL);
    ok(e != NULL, "the write queued at close is there after reopening");
    json_object_put(e);
    is_int(query_int("pragma user_version"), store_nmigrations,
           "reopening does not migrate again: user_version stays the"
           " number of migrations");
    gauges_match(*stp, "counted at open");
    is_int(store_count_runs(*stp, "completed"), 1, "the completed run");
    is_int(store_count_runs(*stp, "failed"), 1, "the failed run");
    e = store_get_run(*stp, first[0].runs[0].id, NULL);
    is_int(json_object_get_int(get(get(e, "output"), "a")), 1,
           "the completed run's output survives");
    is_int(arrlen(get(e, "attempts")), 2, "and its attempts");
    json_object_put(e);
}

static void
test_open_errors(void)
{
    char err[512] = "", path[300], sql[64];
    struct store *st;

    snprintf(path, sizeof(path), "%s/no/such/dir/state.db", tmpdir);
    st = store_open(base, path, "full", err, sizeof(err));
    ok(st == NULL, "a database in a missing folder cannot be opened");
    has_str(err, path, "the error names the path");
    store_close(st);

    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
             store_nmigrations + 1);
    ok(exec_other(sql) == 0, "a newer schema");
    st = store_open(base, dbpath, "full", err, sizeof(err));
    ok(st == NULL, "is refused");
    has_str(err, "newer than this fnhost", "with a reason");
    snprintf(sql, sizeof(sql), "version %d", store_nmigrations + 1);
    has_str(err, sql, "naming its version");
    store_close(st);
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
             store_nmigrations);
    ok(exec_other(sql) == 0, "schema put back");

    st = store_open(base, dbpath, "normal", err, sizeof(err));
    ok(st != NULL, "synchronous=normal opens too");
    store_close(st);
}

/* A run's state from its stored status, attempt, and whether its function
 * is declared now. */
static void
test_run_state(void)
{
    static const struct {
        const char *status;
        int attempt, loaded;
        enum run_state want;
        const char *shown;
    } cases[] = {
        {"queued", 0, 1, RS_QUEUED, "Queued"},
        {"queued", 2, 1, RS_RETRYING, "Running"},
        {"queued", 0, 0, RS_WAITING, "Waiting"},
        {"queued", 3, 0, RS_WAITING, "Waiting"},
        {"sleeping", 0, 1, RS_SLEEPING, "Sleeping"},
        {"sleeping", 0, 0, RS_WAITING, "Waiting"},
        {"running", 0, 0, RS_RUNNING, "Running"},
        {"completed", 0, 0, RS_COMPLETED, "Completed"},
        {"failed", 4, 1, RS_FAILED, "Failed"},
        {"cancelled", 0, 1, RS_CANCELLED, "Cancelled"},
        {"exploded", 0, 1, RS_UNKNOWN, "Unknown"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum run_state st = run_state_decode(cases[i].status,
                                             cases[i].attempt,
                                             cases[i].loaded);

        is_int(st, cases[i].want, "stored %s at attempt %d, %s: state",
               cases[i].status, cases[i].attempt,
               cases[i].loaded ? "loaded" : "gone");
        is_str(run_state_shown(st), cases[i].shown, "shown %s",
               cases[i].shown);
    }
    ok(run_state_matches(RS_RUNNING, RS_RETRYING) &&
           !run_state_matches(RS_QUEUED, RS_RETRYING),
       "status=running finds retries, status=queued does not");
    is_str(run_state_filter_words(),
           "queued, running, sleeping, waiting, completed, failed,"
           " cancelled", "the filter's words, for its error message");
}

/* One batch of retention on ST (into OUT); its callback's rc. */
static int
prune_batch(struct store *st, int64_t runs_before, int64_t events_before,
            struct store_pruned *out)
{
    struct waiter w = {0};

    store_prune(st, runs_before, events_before, now_ms(), out, done_cb, &w);
    return wait_for(&w) ? w.rc : -2;
}

/* Retention's batches look at a bounded number of rows each, wherever
 * the sweep is: 300 old runs that must stay do not hide the ended ones
 * behind them, and cost each batch the same. */
static void
test_prune(void)
{
    static const char *const LIVE[] = {"p-live", NULL};
    static const char *const ENDED[] = {"p-ended", NULL};
    char path[300], err[256];
    struct store *st;
    struct store_pruned out;
    struct test_event t;
    int64_t t0 = now_ms(), cut = now_ms() + 1000, runs = 0, events = 0;
    int batches = 0;

    snprintf(path, sizeof(path), "%s/prune.db", tmpdir);
    st = store_open(base, path, "normal", err, sizeof(err));
    ok(st != NULL, "a store for retention opens: %s", st ? "" : err);
    if (st == NULL)
        return;
    is_int(query_int_at(path, "pragma auto_vacuum"), 2,
           "a new store gives freed pages back (auto_vacuum incremental)");
    for (int i = 0; i < 310; i++) {
        /* Ids in that order: the live runs' before the ended ones'. */
        make_event(&t, "app/p", NULL, t0, i < 300 ? LIVE : ENDED);
        ulid_new(t.ev.id, t0 - (i < 300 ? 10000 : 5000));
        ulid_new(t.runs[0].id, t0 - (i < 300 ? 10000 : 5000));
        put(st, &t, 1, 0, NULL, 0);
        if (i >= 300) {
            store_start_attempt(st, t.runs[0].id, 0, now_ms());
            finish(st, t.runs[0].id, 0, RUN_COMPLETED, "1", NULL, 0);
        }
    }
    memset(&out, 0, sizeof(out));
    is_int(prune_batch(st, cut, 0, &out), 0, "a batch commits");
    ok(out.runs == 0 && out.more && !out.runs_done,
       "the first looks at 256 live runs: none goes, and the sweep goes on");
    is_int(prune_batch(st, cut, 0, &out), 0, "the next batch commits");
    is_int(out.runs, 10, "the next reaches the ended runs behind them");
    while (out.more && batches++ < 10 && prune_batch(st, cut, 0, &out) == 0)
        ;
    ok(!out.more && out.runs_done, "then the sweep ends");
    is_int(query_int_at(path, "select count(*) from runs"), 300,
           "the live runs stay");
    memset(&out, 0, sizeof(out));
    batches = 0;
    do {
        if (prune_batch(st, cut, cut, &out) != 0)
            break;
        runs += out.runs;
        events += out.events;
    } while (out.more && batches++ < 10);
    ok(runs == 0 && events == 10,
       "a sweep of events deletes the ten the ended runs had, and no other");
    is_int(query_int_at(path, "select count(*) from events"), 300,
           "the live runs' events stay");
    store_close(st);
}

int
main(void)
{
    struct store *st;
    char err[512] = "";

    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(dbpath, sizeof(dbpath), "%s/state.db", tmpdir);
    base = event_base_new();
    st = store_open(base, dbpath, "full", err, sizeof(err));
    ok(st != NULL, "store_open creates a new database");
    if (st == NULL) {
        printf("#   error: %s\n", err);
        return done_testing();
    }
    is_int(query_int("pragma user_version"), store_nmigrations,
           "migrated to the last version");
    is_int(store_count_runs(st, NULL), 0, "no runs yet");

    test_run_state();
    test_put_and_due(st);
    test_future_ts(st);
    test_priority(st);
    test_priority_debounced(st);
    test_dedup(st);
    test_attempts(st);
    test_requeue(st);
    gauges_match(st, "after a requeue");
    test_reads(st);
    test_group_commit(st); /* last: its 200 runs crowd the due lists */
    test_write_failure(st);
    test_close_flushes(&st);
    if (st != NULL)
        test_gauges(st);
    store_close(st);
    test_open_errors();
    test_prune();

    event_base_free(base);
    rm_rf(tmpdir);
    return done_testing();
}
