/* store.c - the durable state in SQLite: one writer thread, group commit.
 * SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fnhost.h"
#include "gcra.h"
#include "lifecycle.h"
#include "log.h"
#include "steprules.h"
#include "store_int.h"
#include "store_sql.h"
#include "store_debounce.h"
#include "store_wait.h"
#include "util.h"

/* ------------------------------------------------------------ write ops */

enum op_kind {
    OP_EVENTS,
    OP_START,
    OP_FINISH,
    OP_STEP,
    OP_REQUEUE,
    OP_FETCH,
    OP_EXPIRE,
    OP_CANCEL,
    OP_CONC_PARK,
    OP_CRON,
    OP_PRUNE,
    OP_LOG,
    OP_FORGET
};

struct op {
    enum op_kind kind;
    store_done_fn done;
    void *arg;
    int rc;
    char *err;
    struct op *next;
    union {
        struct {
            struct store_new_event *evs;
            size_t n;
            int64_t window;
        } ev;
        struct {
            char run_id[27];
            unsigned attempt;
            int64_t at;
            int64_t finish_ms; /* 0: none */
        } start;
        struct {
            struct store_attempt at;
            char *output;
            char *error;
            struct step_owned step;
            struct store_new_event *evs; /* lifecycle events, borrowed */
            size_t n;
            int64_t window;
        } fin;
        struct {
            char run_id[27];
            struct step_owned step;
            int update_run;
            struct store_new_event *evs; /* a send step's, borrowed */
            size_t n;
            int64_t window;
        } step;
        struct {
            int *requeued; /* out, read after the callback */
        } requeue;
        struct {
            struct store_fetch_end e; /* its strings: */
            char *step_id, *name, *result, *error;
            int *gone; /* out, set before the callback */
        } fetch;
        struct {
            int64_t now;
            int limit;
            int *n; /* out */
        } expire;
        struct {
            struct store_cancel *v;
            size_t n;
            char *reason;
            int64_t at;
        } cancel;
        struct {
            char run_id[27];
            char *key;
        } park;
        struct {
            char *pairs;
            int64_t now;
        } cron;
        struct {
            char run_id[27];
        } forget;
        struct {
            char run_id[27];
            unsigned attempt;
            int level;
            int64_t at;
            char *text;
        } log;
        struct {
            int64_t runs_before, events_before, now;
            struct store_pruned *out; /* set before the callback */
        } prune;
    } u;
};

struct store {
    sqlite3 *wdb; /* the writer thread's connection */
    sqlite3 *rdb; /* the loop's read connection */
    sqlite3_stmt *stmt[NSTMT];
    struct store_waits *waits; /* on WDB, the writer's */
    struct store_debounce *debounce; /* on WDB, the writer's */
    struct store_scan scan; /* on RDB, the loop's */

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct op *queue, **queue_tail; /* waiting for the next transaction */
    struct op *done, **done_tail;   /* committed or failed, for the loop */
    int stop;

    int efd;
    struct event *ev;
    uint64_t commits, ops; /* for the log at close */
    atomic_int damaged;    /* SQLite reported corruption: writes fail */
    char mode[64];         /* see store_mode() */
    /* FNHOST_FAULT_COMMIT_DELAY_MS, for tests: the writer waits this long
     * before each COMMIT, which widens the window in which an ack sent
     * too early would be seen (tests/integration/acks.sh). */
    long fault_delay_ms;

    /* Who subscribes to a cancelled run's events: the writer's, swapped
     * in from NEXT_LIFECYCLE (under LOCK) between transactions. */
    struct lifecycle *lifecycle, *next_lifecycle;
    int lifecycle_set; /* NEXT_LIFECYCLE is new (NULL too: none) */

    int (*loaded)(void *arg, const char *function_id);
    void *loaded_arg;

    /* Runs stored queued and sleeping, for /metrics: counted once at
     * open, then kept by the status triggers (store_sql.c). MOVED_* is
     * the open transaction's share (writer thread only), added to the
     * totals (under LOCK) when it commits, dropped when it rolls back. */
    int64_t nqueued, nsleeping, nwaiting;
    int64_t moved_queued, moved_sleeping, moved_waiting;
    /* Each group commit's time and size (under LOCK). */
    struct histogram commit_seconds, group_writes;

    /* Runs a checkpoint of which failed (writer thread only): their steps
     * and ends queued after it fail too, until the loop, told of the
     * failure, says it knows (store_forget_failed()). A function that
     * checkpoints ahead sends its end before its checkpoints commit; this
     * keeps the end from committing without them. */
    char (*failed)[27];
    size_t nfailed, capfailed;
};

/* ------------------------------------------------------------- helpers */

static int
exec_sql(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

#define bind_text store_bind_text

/* Runs a statement that returns no rows, then resets it. */
static int
step_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static sqlite3 *
open_db(const char *path, const char *sync, char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    char sql[192];

    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "open %s: %s", path,
                 db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, 10000);
    /* Before WAL, which writes the header of a new file. */
    snprintf(sql, sizeof(sql),
             "%s PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             " PRAGMA foreign_keys=OFF;",
             store_new_sql, sync);
    if (exec_sql(db, sql, err, errlen) != 0) {
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

static int
migrate(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int version = 0;
    char why[256];

    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "read schema version: %s", sqlite3_errmsg(db));
        return -1;
    }
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (version > store_nmigrations) {
        snprintf(err, errlen, "database schema version %d is newer than this"
                              " fnhost (%d): upgrade fnhost", version,
                 store_nmigrations);
        return -1;
    }
    for (int v = version; v < store_nmigrations; v++) {
        char sql[64];

        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
        if (exec_sql(db, "BEGIN IMMEDIATE", why, sizeof(why)) != 0 ||
            exec_sql(db, store_migrations[v], why, sizeof(why)) != 0 ||
            exec_sql(db, sql, why, sizeof(why)) != 0 ||
            exec_sql(db, "COMMIT", why, sizeof(why)) != 0) {
            exec_sql(db, "ROLLBACK", sql, sizeof(sql));
            snprintf(err, errlen, "migration %d: %s", v + 1, why);
            return -1;
        }
    }
    return 0;
}

/* --------------------------------------------------------- writer side */

/* How long an idempotency key holds its run: Inngest's 24 hours. */
#define IDEMPOTENCY_MS (24LL * 3600 * 1000)

/* One key a new run claims (a dedup key, an idempotency key, a rate
 * limit key), counted as Inngest counts rateLimit (GCRA): LIMIT runs per
 * PERIOD ms, at once or spread out. The key's row holds its theoretical
 * arrival time (TAT) in expires_at; with LIMIT 1 that is when the run
 * that claimed it stops holding it. */
struct key_claim {
    int get, put;       /* its statements */
    const char *key;
    int limit;          /* at least 1 */
    int64_t period;
    const char *reason; /* why a held key starts no run, or NULL */
    int64_t tat;        /* out of key_check(): what key_put() stores */
};

/* The time statement GET stores for KEY of FUNCTION_ID (a GCRA TAT or an
 * expiry) into *TAT, 0 when there is none: 0, or -1 on an error. */
static int
key_read(struct store *st, int get, const char *function_id,
         const char *key, int64_t *tat)
{
    sqlite3_stmt *g = st->stmt[get];
    int rc;

    *tat = 0;
    bind_text(g, 1, function_id);
    bind_text(g, 2, key);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW)
        *tat = sqlite3_column_int64(g, 0);
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Whether C's key of FUNCTION_ID has room for one more run at NOW: 0 (and
 * C->tat set), 1 when it is held, -1 on an error. */
static int
key_check(struct store *st, const char *function_id, struct key_claim *c,
          int64_t now)
{
    int64_t tat;

    if (key_read(st, c->get, function_id, c->key, &tat) != 0)
        return -1;
    /* Room for LIMIT runs at once, then for one every PERIOD / LIMIT
     * ms (a dedup or idempotency key: one per PERIOD). */
    return gcra_start(tat, now, c->period, c->limit, 0, &c->tat) > now;
}

/* Stores C's key of FUNCTION_ID, claimed by RUN_ID (key_check() said 0). */
static int
key_put(struct store *st, const char *function_id,
        const struct key_claim *c, const char *run_id)
{
    sqlite3_stmt *p = st->stmt[c->put];

    bind_text(p, 1, function_id);
    bind_text(p, 2, c->key);
    bind_text(p, 3, run_id);
    sqlite3_bind_int64(p, 4, c->tat);
    return step_done(p);
}

/* Whether R's function has an active (not ended) run of R's singleton
 * key: 1 if so, 0 if not, -1 on an error. With CANCEL, each one whose
 * cancel was not asked for yet gets it, for event E, and goes into
 * E->cancels. */
static int
singleton_active(struct store *st, struct store_new_event *e,
                 const struct store_new_run *r, int cancel, int64_t now)
{
    sqlite3_stmt *q = st->stmt[S_SINGLETON_ACTIVE];
    char **ids = NULL;
    size_t n = 0;
    int rc, found = 0;

    bind_text(q, 1, r->function_id);
    bind_text(q, 2, r->singleton_key);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        found = 1;
        if (cancel && sqlite3_column_int(q, 1)) {
            ids = xrealloc(ids, (n + 1) * sizeof(*ids));
            ids[n++] = xstrdup((const char *)sqlite3_column_text(q, 0));
        }
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_DONE)
        found = -1;
    for (size_t i = 0; i < n; i++) {
        sqlite3_stmt *c = st->stmt[S_CANCEL_FLAG];
        char *why = xasprintf("cancelled by event %s (%s): singleton",
                              e->name, e->id);

        /* As a cancelOn rule's: it ends once E commits, or at start. */
        sqlite3_bind_int64(c, 1, now);
        bind_text(c, 2, why);
        bind_text(c, 3, ids[i]);
        sqlite3_bind_int(c, 4, 0);
        if (found >= 0 && step_done(c) != 0)
            found = -1;
        if (found >= 0 && sqlite3_changes(st->wdb) > 0)
            store_waits_add_cancel(e, ids[i]);
        free(why);
        free(ids[i]);
    }
    free(ids);
    return found;
}

/* New run R of event E, just stored, takes its singleton key, after
 * cancelling the active run of the key with cancel mode: 0 or -1. */
static int
singleton_claim(struct store *st, struct store_new_event *e,
                const struct store_new_run *r, int64_t now)
{
    sqlite3_stmt *u = st->stmt[S_SET_SINGLETON];

    if (r->singleton_key == NULL)
        return 0;
    if (r->singleton_cancel && singleton_active(st, e, r, 1, now) < 0)
        return -1;
    bind_text(u, 1, r->singleton_key);
    bind_text(u, 2, r->id);
    return step_done(u);
}

/* Stores that option REASON started no run of R's function for event E. */
static int
put_skip(struct store *st, const struct store_new_event *e,
         const struct store_new_run *r, const char *reason, int64_t now)
{
    bind_text(st->stmt[S_INS_SKIP], 1, e->id);
    bind_text(st->stmt[S_INS_SKIP], 2, r->function_id);
    bind_text(st->stmt[S_INS_SKIP], 3, reason);
    sqlite3_bind_int64(st->stmt[S_INS_SKIP], 4, now);
    return step_done(st->stmt[S_INS_SKIP]);
}

/* The wake_at of a new run DUE at DUE (NOW or later) with priority.run
 * PRIORITY seconds: Inngest's score, the due time less the priority, so
 * that the due scan, which takes runs in wake_at order, and a
 * concurrency key's queue put it in line as if it had been due that
 * much earlier. Never earlier than due, though: a run due later than
 * NOW keeps its time (Inngest fudges none due more than 2 s ahead); a
 * negative priority delays it. Later wakes (sleeps, retries) set their
 * own time: only the first attempt has a priority, as Inngest's. */
static int64_t
run_wake(int64_t due, int64_t now, int priority)
{
    if (priority < 0 || due <= now)
        return due - 1000LL * priority;
    return due;
}

/* Claims the keys of new run R of event E: 0 when it may start (they are
 * stored), 1 when one is held or, with singleton skip, its key has an
 * active run (R->skipped says which option, stored with the event), -1
 * on an error. All are checked before any is stored, so a skipped run
 * uses up none. */
static int
claim_keys(struct store *st, struct store_new_event *e,
           struct store_new_run *r, int64_t window, int64_t now)
{
    struct key_claim c[3];
    size_t n = 0;

    if (e->user_id != NULL)
        c[n++] = (struct key_claim){S_GET_DEDUP, S_PUT_DEDUP, e->user_id, 1,
                                    window, NULL, 0};
    if (r->idempotency_key != NULL)
        c[n++] = (struct key_claim){S_GET_IDEM, S_PUT_IDEM,
                                    r->idempotency_key, 1, IDEMPOTENCY_MS,
                                    "idempotency", 0};
    if (r->rate_key != NULL)
        c[n++] = (struct key_claim){S_GET_RATE, S_PUT_RATE, r->rate_key,
                                    r->rate_limit, r->rate_period_ms,
                                    "rate_limit", 0};
    for (size_t k = 0; k < n; k++) {
        int rc = key_check(st, r->function_id, &c[k], now);

        if (rc == 0)
            continue;
        if (rc < 0)
            return -1;
        r->skipped = c[k].reason;
        if (r->skipped == NULL)
            return 1;
        return put_skip(st, e, r, r->skipped, now) != 0 ? -1 : 1;
    }
    if (r->singleton_key != NULL && !r->singleton_cancel) {
        int rc = singleton_active(st, e, r, 0, now);

        if (rc != 0) {
            r->skipped = "singleton";
            return rc < 0 || put_skip(st, e, r, r->skipped, now) != 0 ? -1
                                                                      : 1;
        }
    }
    for (size_t k = 0; k < n; k++)
        if (key_put(st, r->function_id, &c[k], r->id) != 0)
            return -1;
    return 0;
}

/* When new run R, due at DUE, may start under its function's throttle:
 * DUE, or a later turn of its key (then R->throttle_at), which it takes
 * now: runs of a key start in the order they are stored, and a run of
 * another key waits for none of them. 0, or -1 on an error. */
static int
throttle_take(struct store *st, struct store_new_run *r, int64_t due)
{
    sqlite3_stmt *p = st->stmt[S_PUT_THROTTLE];
    int64_t tat, start;

    r->throttle_at = 0;
    if (r->throttle_key == NULL)
        return 0;
    if (key_read(st, S_GET_THROTTLE, r->function_id, r->throttle_key,
                 &tat) != 0)
        return -1;
    start = gcra_start(tat, due, r->throttle_period_ms, r->throttle_limit,
                       r->throttle_burst, &tat);
    if (start > due)
        r->throttle_at = start;
    bind_text(p, 1, r->function_id);
    bind_text(p, 2, r->throttle_key);
    sqlite3_bind_int64(p, 3, tat);
    return step_done(p);
}

/* Inserts the N events EVS and the runs they start, deduplicating by the
 * sender's id over WINDOW ms. */
static int
apply_events(struct store *st, struct store_new_event *evs, size_t n,
             int64_t window, int64_t now)
{
    sqlite3_stmt **s = st->stmt;

    for (size_t i = 0; i < n; i++) {
        struct store_new_event *e = &evs[i];
        int64_t due;

        /* A cron tick commits once, with its event and run, or not. */
        if (e->cron != NULL && e->nruns > 0) {
            bind_text(s[S_CRON_CLAIM], 1, e->runs[0].function_id);
            bind_text(s[S_CRON_CLAIM], 2, e->cron);
            sqlite3_bind_int64(s[S_CRON_CLAIM], 3, e->cron_tick);
            if (step_done(s[S_CRON_CLAIM]) != 0)
                return -1;
            if (sqlite3_changes(st->wdb) == 0) {
                e->duplicate = 1;
                continue;
            }
        }
        bind_text(s[S_INS_EVENT], 1, e->id);
        bind_text(s[S_INS_EVENT], 2, e->name);
        bind_text(s[S_INS_EVENT], 3, e->user_id);
        sqlite3_bind_int64(s[S_INS_EVENT], 4, e->ts);
        sqlite3_bind_int64(s[S_INS_EVENT], 5, now);
        bind_text(s[S_INS_EVENT], 6, e->json);
        if (step_done(s[S_INS_EVENT]) != 0)
            return -1;
        e->duplicate = sqlite3_changes(st->wdb) == 0;
        e->resumed = 0;
        /* The waits it ends commit with it, or not at all. */
        if (!e->duplicate && store_waits_event(st->waits, e, now) != 0)
            return -1;
        for (size_t j = 0; j < e->nruns; j++) {
            struct store_new_run *r = &e->runs[j];
            int rc;

            r->created = !e->duplicate;
            if (e->duplicate)
                continue;
            r->skipped = NULL;
            r->debounce_run[0] = '\0';
            /* An event of a key whose run (debounced, or a batch) is
             * pending joins it. */
            rc = r->debounce_key != NULL
                     ? store_debounce_event(st->debounce, e, r, now)
                 : r->batch_key != NULL
                     ? store_batch_event(st->debounce, e, r, now)
                     : 0;
            if (rc != 0) {
                if (rc < 0)
                    return -1;
                r->created = 0;
                continue;
            }
            if ((rc = claim_keys(st, e, r, window, now)) != 0) {
                if (rc < 0)
                    return -1;
                r->created = 0;
                continue;
            }
            bind_text(s[S_INS_RUN], 1, r->id);
            bind_text(s[S_INS_RUN], 2, r->function_id);
            bind_text(s[S_INS_RUN], 3, e->id);
            /* A future "ts" schedules the run for that time; its
             * throttle, for its key's turn (a debounced run's time is
             * the debounce's). */
            due = e->ts > now ? e->ts : now;
            if (r->debounce_key == NULL && throttle_take(st, r, due) != 0)
                return -1;
            r->wake_at = run_wake(r->throttle_at > 0 ? r->throttle_at : due,
                                  now, r->priority);
            sqlite3_bind_int64(s[S_INS_RUN], 4, r->wake_at);
            sqlite3_bind_int64(s[S_INS_RUN], 5, now);
            sqlite3_bind_int64(s[S_INS_RUN], 6, now);
            bind_text(s[S_INS_RUN], 7, r->parent_run_id);
            bind_text(s[S_INS_RUN], 8, r->parent_step_id);
            /* timeouts.start counts from when the run is due (after
             * the delay of a negative priority). */
            if (r->start_timeout_ms > 0)
                sqlite3_bind_int64(s[S_INS_RUN], 9,
                                   due + r->start_timeout_ms -
                                       (r->priority < 0 ? 1000LL *
                                                              r->priority
                                                        : 0));
            else
                sqlite3_bind_null(s[S_INS_RUN], 9);
            bind_text(s[S_INS_RUN], 10, r->conc_keys[0]);
            bind_text(s[S_INS_RUN], 11, r->conc_keys[1]);
            bind_text(s[S_INS_RUN], 12,
                      r->throttle_at > 0 ? r->throttle_key : NULL);
            sqlite3_bind_int(s[S_INS_RUN], 13, r->priority);
            if (step_done(s[S_INS_RUN]) != 0 ||
                singleton_claim(st, e, r, now) != 0 ||
                (r->debounce_key != NULL &&
                 store_debounce_park(st->debounce, e, r, now) != 0) ||
                (r->batch_key != NULL &&
                 store_batch_park(st->debounce, e, r, now) != 0))
                return -1;
            /* Its cancelOn rules live while it does, from its start. */
            if (r->ncancel_on > 0 &&
                store_waits_cancel_on(st->waits, r->id, e->json,
                                      r->cancel_on, r->ncancel_on,
                                      now) != 0)
                return -1;
        }
    }
    return 0;
}

static const char *const outcome_status[] = {
    [RUN_COMPLETED] = "completed",
    [RUN_RETRY] = "queued",
    [RUN_FAILED] = "failed",
    [RUN_SLEEP] = "sleeping",
    [RUN_FETCH] = "fetching",
    [RUN_INVOKE] = "invoking",
    [RUN_WAIT] = "waiting",
    [RUN_CANCELLED] = "cancelled",
    [RUN_PARALLEL] = "parallel",
};

static int resolve_parent(struct store *st, const struct store_attempt *a,
                          const char *output, const char *error,
                          int64_t now);

static int apply_events(struct store *st, struct store_new_event *evs,
                        size_t n, int64_t window, int64_t now);

/* Stores the lifecycle events of RUN_ID, just cancelled, and the runs
 * they start, if any function subscribes. */
static int
cancelled_events(struct store *st, const char *run_id, int64_t now)
{
    sqlite3_stmt *q = st->stmt[S_RUN_TRIGGER];
    struct store_new_event *evs = NULL;
    struct text_buf text = {NULL, 0, 0};
    size_t n = 0;
    int rc;

    if (st->lifecycle == NULL)
        return 0; /* the common case: nobody subscribes */
    bind_text(q, 1, run_id);
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        lifecycle_cancelled(st->lifecycle, run_id,
                            (const char *)sqlite3_column_text(q, 0),
                            (const char *)sqlite3_column_text(q, 1), now,
                            &evs, &n, &text);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return -1;
    rc = apply_events(st, evs, n, lifecycle_window(st->lifecycle), now);
    lifecycle_events_free(evs, n);
    free(text.s);
    return rc;
}

/* RUN_ID was just cancelled: its fetches and waits are dropped, its
 * pending parallel branches cancelled, and if a step's invoke started it,
 * that step fails with "invoke F: cancelled" (a branch: its step fails
 * "cancelled"); its lifecycle events are stored; all in the same
 * transaction. */
static int
ended_cancelled(struct store *st, const char *run_id, int64_t now)
{
    struct store_attempt a;

    if (cancelled_events(st, run_id, now) != 0)
        return -1;
    bind_text(st->stmt[S_CANCEL_FETCHES], 1, run_id);
    if (step_done(st->stmt[S_CANCEL_FETCHES]) != 0)
        return -1;
    bind_text(st->stmt[S_CANCEL_PAUSES], 1, run_id);
    if (step_done(st->stmt[S_CANCEL_PAUSES]) != 0)
        return -1;
    sqlite3_bind_int64(st->stmt[S_CANCEL_BRANCHES], 1, now);
    bind_text(st->stmt[S_CANCEL_BRANCHES], 2, run_id);
    if (step_done(st->stmt[S_CANCEL_BRANCHES]) != 0)
        return -1;
    memset(&a, 0, sizeof(a));
    snprintf(a.run_id, sizeof(a.run_id), "%s", run_id);
    a.outcome = RUN_FAILED;
    a.ended_at = now;
    return resolve_parent(st, &a, NULL, "cancelled", now);
}

/* Ends RUN_ID cancelled if a cancel was asked for it (or at all, with
 * FORCE) and it has not ended otherwise. */
static int
cancel_pending(struct store *st, const char *run_id, int force, int64_t now)
{
    sqlite3_stmt *c = st->stmt[S_CANCEL_PENDING];

    sqlite3_bind_int64(c, 1, now);
    bind_text(c, 2, run_id);
    sqlite3_bind_int(c, 3, force);
    if (step_done(c) != 0)
        return -1;
    return sqlite3_changes(st->wdb) > 0 ? ended_cancelled(st, run_id, now)
                                        : 0;
}

static int
apply_cancel(struct store *st, struct op *op)
{
    for (size_t i = 0; i < op->u.cancel.n; i++) {
        struct store_cancel *c = &op->u.cancel.v[i];

        /* A run that waits ends now. One that turns out to be running
         * (its outcome could not be written yet) keeps the cancel for
         * when it is; so does one on a worker. */
        c->done = 0;
        for (int k = c->at_boundary; k < 2 && !c->done; k++) {
            sqlite3_stmt *s = st->stmt[k ? S_CANCEL_FLAG : S_CANCEL_NOW];

            sqlite3_bind_int64(s, 1, op->u.cancel.at);
            bind_text(s, 2, op->u.cancel.reason);
            bind_text(s, 3, c->run_id);
            if (k == 1)
                sqlite3_bind_int(s, 4, c->at_boundary);
            if (step_done(s) != 0)
                return -1;
            c->done = sqlite3_changes(st->wdb) > 0;
            if (c->done && k == 0 &&
                ended_cancelled(st, c->run_id, op->u.cancel.at) != 0)
                return -1;
        }
    }
    return 0;
}

static int
put_attempt(struct store *st, const char *run_id, const char *step_id,
            unsigned attempt, int64_t started, int64_t ended,
            const char *error)
{
    sqlite3_stmt *a = st->stmt[S_END_ATTEMPT];

    bind_text(a, 1, run_id);
    bind_text(a, 2, step_id);
    sqlite3_bind_int(a, 3, (int)attempt);
    sqlite3_bind_int64(a, 4, started);
    sqlite3_bind_int64(a, 5, ended);
    bind_text(a, 6, error);
    return step_done(a);
}

static int
put_step(struct store *st, const char *run_id, const struct step_record *p,
         int64_t now)
{
    sqlite3_stmt *s = st->stmt[S_PUT_STEP];

    bind_text(s, 1, run_id);
    bind_text(s, 2, p->step_id);
    bind_text(s, 3, p->name);
    bind_text(s, 4, p->kind);
    bind_text(s, 5, p->status);
    bind_text(s, 6, p->result);
    bind_text(s, 7, p->error);
    sqlite3_bind_int(s, 8, (int)p->attempt + 1);
    sqlite3_bind_int64(s, 9, p->started_at);
    if (strcmp(p->status, "sleeping") == 0 ||
        strcmp(p->status, "waiting") == 0)
        sqlite3_bind_null(s, 10);
    else
        sqlite3_bind_int64(s, 10, p->ended_at);
    if (p->wake_at > 0)
        sqlite3_bind_int64(s, 11, p->wake_at);
    else
        sqlite3_bind_null(s, 11);
    sqlite3_bind_int64(s, 12, now);
    return step_done(s);
}

/* Branch A of group GROUP of run PARENT, running step TARGET, ended
 * (A->outcome RUN_COMPLETED, or RUN_FAILED with ERROR when it ended
 * without its step's outcome: the step fails with it). The group ends if
 * that was its last pending branch (race: its first), and its run is due
 * now. */
static int
resolve_branch(struct store *st, const struct store_attempt *a,
               const char *parent, const char *group, const char *target,
               const char *error, int64_t now)
{
    sqlite3_stmt **s = st->stmt;

    if (a->outcome != RUN_COMPLETED) {
        bind_text(s[S_FAIL_BRANCH], 1, parent);
        bind_text(s[S_FAIL_BRANCH], 2, target);
        bind_text(s[S_FAIL_BRANCH], 3, group);
        bind_text(s[S_FAIL_BRANCH], 4, error ? error : "failed");
        sqlite3_bind_int64(s[S_FAIL_BRANCH], 5, a->ended_at);
        if (step_done(s[S_FAIL_BRANCH]) != 0)
            return -1;
    }
    bind_text(s[S_END_GROUP], 1, parent);
    bind_text(s[S_END_GROUP], 2, group);
    bind_text(s[S_END_GROUP], 3, target);
    sqlite3_bind_int64(s[S_END_GROUP], 4, now);
    if (step_done(s[S_END_GROUP]) != 0)
        return -1;
    if (sqlite3_changes(st->wdb) == 0)
        return 0; /* branches are pending, or it ended already */
    sqlite3_bind_int64(s[S_DROP_LOSERS], 1, now);
    bind_text(s[S_DROP_LOSERS], 2, parent);
    bind_text(s[S_DROP_LOSERS], 3, group);
    if (step_done(s[S_DROP_LOSERS]) != 0)
        return -1;
    sqlite3_bind_int64(s[S_WAKE_GROUP], 1, now);
    sqlite3_bind_int64(s[S_WAKE_GROUP], 2, now);
    bind_text(s[S_WAKE_GROUP], 3, parent);
    if (step_done(s[S_WAKE_GROUP]) != 0)
        return -1;
    if (sqlite3_changes(st->wdb) > 0 && a->woke != NULL)
        *a->woke = 1;
    return 0;
}

/* Run A ended: if a step's invoke started it, that step gets its output
 * or error, and the run waiting on it is due now; if it is a parallel
 * branch, its group may end (resolve_branch()). */
static int
resolve_parent(struct store *st, const struct store_attempt *a,
               const char *output, const char *error, int64_t now)
{
    sqlite3_stmt **s = st->stmt, *g = s[S_GET_PARENT];
    char *parent = NULL, *step = NULL, *msg = NULL, *target = NULL;
    int rc;

    bind_text(g, 1, a->run_id);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
        parent = xstrdup((const char *)sqlite3_column_text(g, 0));
        step = xstrdup((const char *)sqlite3_column_text(g, 1));
        if (sqlite3_column_type(g, 3) != SQLITE_NULL)
            target = xstrdup((const char *)sqlite3_column_text(g, 3));
        else if (a->outcome == RUN_FAILED)
            msg = xasprintf("invoke %s: %s", sqlite3_column_text(g, 2),
                            error ? error : "failed");
    }
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? 0 : -1;
        goto out;
    }
    if (target != NULL) {
        rc = resolve_branch(st, a, parent, step, target, error, now);
        goto out;
    }
    bind_text(s[S_RESOLVE_INVOKE], 1,
              a->outcome == RUN_COMPLETED ? "completed" : "failed");
    bind_text(s[S_RESOLVE_INVOKE], 2,
              a->outcome == RUN_COMPLETED ? (output ? output : "null") : NULL);
    bind_text(s[S_RESOLVE_INVOKE], 3, msg);
    sqlite3_bind_int64(s[S_RESOLVE_INVOKE], 4, now);
    bind_text(s[S_RESOLVE_INVOKE], 5, parent);
    bind_text(s[S_RESOLVE_INVOKE], 6, step);
    sqlite3_bind_int64(s[S_RESOLVE_INVOKE], 7, now);
    if ((rc = step_done(s[S_RESOLVE_INVOKE])) != 0 ||
        sqlite3_changes(st->wdb) == 0)
        goto out;
    sqlite3_bind_int64(s[S_WAKE_PARENT], 1, now);
    sqlite3_bind_int64(s[S_WAKE_PARENT], 2, now);
    bind_text(s[S_WAKE_PARENT], 3, parent);
    if ((rc = step_done(s[S_WAKE_PARENT])) == 0 &&
        sqlite3_changes(st->wdb) > 0 && a->woke != NULL)
        *a->woke = 1;
out:
    free(parent);
    free(step);
    free(msg);
    free(target);
    return rc;
}

/* Ends up to LIMIT invokes whose time ran out by NOW: each step fails,
 * its run is due. How many, or -1. */
static int
expire_invokes(struct store *st, int64_t now, int limit)
{
    sqlite3_stmt **s = st->stmt, *q = s[S_DUE_INVOKES];
    char (*ids)[27] = xcalloc((size_t)limit, sizeof(*ids));
    int n = 0, rc;

    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int(q, 2, limit);
    while (n < limit && (rc = sqlite3_step(q)) == SQLITE_ROW)
        snprintf(ids[n++], sizeof(ids[0]), "%s", sqlite3_column_text(q, 0));
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    for (int i = 0; i < n; i++) {
        sqlite3_bind_int64(s[S_TIMEOUT_INVOKES], 1, now);
        bind_text(s[S_TIMEOUT_INVOKES], 2, ids[i]);
        sqlite3_bind_int64(s[S_WAKE_PARENT], 1, now);
        sqlite3_bind_int64(s[S_WAKE_PARENT], 2, now);
        bind_text(s[S_WAKE_PARENT], 3, ids[i]);
        if (step_done(s[S_TIMEOUT_INVOKES]) != 0 ||
            step_done(s[S_WAKE_PARENT]) != 0) {
            n = -1;
            break;
        }
    }
    free(ids);
    return n;
}

/* Makes a run of each branch of group STEP of run RUN_ID (its plan,
 * lib/steprules.h, is STEP's result; proto checked it), due now. */
static int
begin_group(struct store *st, const char *run_id,
            const struct step_record *step, int64_t now)
{
    sqlite3_stmt *s = st->stmt[S_INS_BRANCH];
    struct json_object *plan = json_tokener_parse(step->result), *list;
    int rc = 0;

    if (!json_object_object_get_ex(plan, "branches", &list) ||
        !json_object_is_type(list, json_type_array)) {
        json_object_put(plan);
        return -1;
    }
    for (size_t i = 0; rc == 0 && i < json_object_array_length(list); i++) {
        struct json_object *b = json_object_array_get_idx(list, i);
        char id[27];

        ulid_new(id, now);
        bind_text(s, 1, id);
        bind_text(s, 2, run_id);
        bind_text(s, 3, step->step_id);
        bind_text(s, 4, fh_json_str(b, "id"));
        sqlite3_bind_int64(s, 5, now);
        rc = step_done(s);
    }
    json_object_put(plan);
    return rc;
}

/* Whether branch step STEP, completed, fits what run RUN_ID may keep
 * (STEPRULES_MAX_RUN_STATE, counted as step_memo_bytes() does, the
 * group's plan included): 1, 0 with why in OVER, or -1. Each branch's
 * worker was told what the run held when the group began, so branches
 * that each fit may not all: the writer, which sees them in turn,
 * decides. */
static int
branch_fits(struct store *st, const char *run_id,
            const struct step_record *step, char *over, size_t overlen)
{
    sqlite3_stmt *q;
    uint64_t held = 0, len;
    int rc;

    if (sqlite3_prepare_v2(st->wdb, "SELECT coalesce(sum(CASE WHEN"
                                    " coalesce(error, result, '') = ''"
                                    " THEN 4 ELSE length(CAST(coalesce("
                                    "error, result) AS BLOB)) END), 0)"
                                    " FROM steps WHERE run_id = ?"
                                    " AND step_id <> ?",
                           -1, &q, NULL) != SQLITE_OK)
        return -1;
    bind_text(q, 1, run_id);
    bind_text(q, 2, step->step_id);
    if ((rc = sqlite3_step(q)) == SQLITE_ROW)
        held = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (rc != SQLITE_ROW)
        return -1;
    len = step->result != NULL && *step->result != '\0'
              ? strlen(step->result)
              : 4;
    if (held <= STEPRULES_MAX_RUN_STATE &&
        len <= STEPRULES_MAX_RUN_STATE - held)
        return 1;
    snprintf(over, overlen, "step result of %llu bytes would take the"
                            " run's stored steps to %llu bytes, over the"
                            " %llu MiB a run may keep",
             (unsigned long long)len, (unsigned long long)(held + len),
             STEPRULES_MAX_RUN_STATE >> 20);
    return 0;
}

static int
apply_finish(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt *f = st->stmt[S_FINISH_RUN];
    struct store_attempt *a = &op->u.fin.at;
    const struct step_record *step =
        op->u.fin.step.s.step_id != NULL ? &op->u.fin.step.s : NULL;
    /* Whose steps and attempts these are: a branch's are its group's
     * run's. */
    const char *srun = a->group_run[0] != '\0' ? a->group_run : a->run_id;
    int64_t wake = 0;
    unsigned next = a->attempt;
    int waits = a->outcome == RUN_SLEEP || a->outcome == RUN_WAIT ||
                a->outcome == RUN_INVOKE || a->outcome == RUN_PARALLEL;
    struct step_record capped;
    char over[200];
    int fits;

    if (a->group_run[0] != '\0' && a->outcome == RUN_COMPLETED &&
        step != NULL && strcmp(step->status, "completed") == 0) {
        /* A branch's result that would take its run over what it may
         * keep fails its step for good instead, as steprules does. */
        if ((fits = branch_fits(st, srun, step, over, sizeof(over))) < 0)
            return -1;
        if (!fits) {
            capped = *step;
            capped.status = "failed";
            capped.result = NULL;
            capped.error = over;
            step = &capped;
        }
    }

    if (a->outcome == RUN_CANCELLED) {
        /* The worker stopped at a step boundary: nothing failed. */
        if (step != NULL && put_step(st, srun, step, now) != 0)
            return -1;
        return cancel_pending(st, a->run_id, 1, now);
    }
    if (waits) {
        /* Sleeping or waiting is no attempt of anything: only the step
         * is stored. */
        if (step == NULL || put_step(st, srun, step, now) != 0)
            return -1;
        wake = step->wake_at;
        next = 0;
    } else if (a->outcome == RUN_FETCH) {
        /* The request is durable before the host makes it; the step is
         * stored when its response is. */
        sqlite3_stmt *q = st->stmt[S_PUT_FETCH];

        if (step == NULL || step->result == NULL)
            return -1;
        bind_text(q, 1, a->run_id);
        bind_text(q, 2, step->step_id);
        bind_text(q, 3, step->name);
        bind_text(q, 4, step->result);
        sqlite3_bind_int64(q, 5, now);
        sqlite3_bind_int64(q, 6, step->started_at);
        if (step_done(q) != 0)
            return -1;
        next = 0;
    } else if (a->group_run[0] != '\0' && a->outcome == RUN_COMPLETED &&
               step == NULL) {
        /* A branch whose step had its outcome already: nothing ran. */
    } else if (put_attempt(st, srun, step ? step->step_id : NULL,
                           a->attempt, a->started_at, a->ended_at,
                           a->outcome != RUN_COMPLETED ? op->u.fin.error
                           : step != NULL ? step->error
                                          : NULL) != 0) {
        return -1;
    } else if (a->outcome == RUN_COMPLETED && step != NULL &&
               put_step(st, srun, step, now) != 0) {
        /* A branch's step, stored with the branch's end. */
        return -1;
    }
    if (a->outcome == RUN_RETRY) {
        wake = a->wake_at;
        next = a->attempt + 1;
    }
    bind_text(f, 1, outcome_status[a->outcome]);
    sqlite3_bind_int(f, 2, (int)next);
    sqlite3_bind_int64(f, 3, wake);
    bind_text(f, 4, op->u.fin.output);
    bind_text(f, 5,
              waits || a->outcome == RUN_FETCH ? NULL : op->u.fin.error);
    if (a->outcome == RUN_COMPLETED || a->outcome == RUN_FAILED)
        sqlite3_bind_int64(f, 6, a->ended_at);
    else
        sqlite3_bind_null(f, 6);
    sqlite3_bind_int64(f, 7, now);
    sqlite3_bind_int64(f, 8, a->started_at);
    bind_text(f, 9, a->run_id);
    if (step_done(f) != 0)
        return -1;
    if (a->outcome == RUN_COMPLETED || a->outcome == RUN_FAILED) {
        /* An ended run's cancelOn rules have nothing left to cancel. */
        bind_text(st->stmt[S_CANCEL_PAUSES], 1, a->run_id);
        if (step_done(st->stmt[S_CANCEL_PAUSES]) != 0)
            return -1;
        if (a->group_run[0] != '\0' && a->outcome == RUN_COMPLETED &&
            step == NULL) {
            /* A branch that ran nothing: its step has its outcome, or
             * (a worker that says so wrongly) never will. It fails then,
             * so that its group ends all the same. */
            struct store_attempt b = *a;

            b.outcome = RUN_FAILED;
            return resolve_parent(st, &b, NULL,
                                  "the branch ended without its step's"
                                  " outcome", now);
        }
        return resolve_parent(st, a, op->u.fin.output, op->u.fin.error, now);
    }
    if (a->outcome == RUN_WAIT) {
        /* The wait, and what a look-back finds, in the same commit as
         * the run's new status. */
        int resolved;

        if (store_waits_begin(st->waits, a->run_id, step, now, &resolved) !=
            0)
            return -1;
        if (a->resolved != NULL)
            *a->resolved = resolved;
    }
    /* Its branches in the same commit as the group: one is never
     * without the other. */
    if (a->outcome == RUN_PARALLEL && begin_group(st, a->run_id, step, now))
        return -1;
    /* A cancel asked for while it ran: the run stops here (and its
     * branches, just made, with it). */
    return cancel_pending(st, a->run_id, 0, now);
}

/* An attempt of a pending fetch ended: see store_fetch_attempt(). */
static int
apply_fetch(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt **s = st->stmt;
    struct store_fetch_end *e = &op->u.fetch.e;
    struct step_record step;

    if (e->final) {
        bind_text(s[S_DEL_FETCH], 1, e->run_id);
        bind_text(s[S_DEL_FETCH], 2, e->step_id);
    } else {
        sqlite3_bind_int(s[S_FETCH_RETRY], 1, (int)e->attempt + 1);
        sqlite3_bind_int64(s[S_FETCH_RETRY], 2, e->due_at);
        bind_text(s[S_FETCH_RETRY], 3, e->run_id);
        bind_text(s[S_FETCH_RETRY], 4, e->step_id);
    }
    if (step_done(s[e->final ? S_DEL_FETCH : S_FETCH_RETRY]) != 0)
        return -1;
    /* Not pending any more (a copy of it ended first): the step is
     * stored, and must not be stored again. */
    *op->u.fetch.gone = sqlite3_changes(st->wdb) == 0;
    if (*op->u.fetch.gone)
        return 0;
    if (put_attempt(st, e->run_id, e->step_id, e->attempt, e->attempt_started,
                    e->ended_at, e->result ? NULL : e->error) != 0)
        return -1;
    if (!e->final)
        return 0;
    memset(&step, 0, sizeof(step));
    step.step_id = e->step_id;
    step.name = e->name;
    step.kind = "fetch";
    step.status = e->result ? "completed" : "failed";
    step.result = e->result;
    step.error = e->result ? NULL : e->error;
    step.attempt = e->attempt;
    step.started_at = e->started_at;
    step.ended_at = e->ended_at;
    if (put_step(st, e->run_id, &step, now) != 0)
        return -1;
    sqlite3_bind_int64(s[S_FETCH_RUN], 1, now);
    sqlite3_bind_int64(s[S_FETCH_RUN], 2, now);
    bind_text(s[S_FETCH_RUN], 3, e->run_id);
    return step_done(s[S_FETCH_RUN]);
}

/* At start: runs left running are queued again, and those a cancel was
 * asked for end cancelled, as at a step boundary. */
static int
apply_requeue(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt *q = st->stmt[S_CANCEL_AT_START];
    char (*ids)[27] = NULL;
    size_t n = 0, cap = 0;
    int rc;

    /* No run holds a slot of a key now: the runs in a key's queue are
     * due again, and take their place by the rules below. */
    sqlite3_bind_int64(st->stmt[S_CONC_REQUEUE], 1, now);
    if (step_done(st->stmt[S_CONC_REQUEUE]) != 0)
        return -1;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = xrealloc(ids, cap * sizeof(*ids));
        }
        snprintf(ids[n++], sizeof(ids[0]), "%s", sqlite3_column_text(q, 0));
    }
    sqlite3_reset(q);
    if (rc != SQLITE_DONE) {
        free(ids);
        return -1;
    }
    sqlite3_bind_int64(st->stmt[S_REQUEUE], 1, now);
    rc = step_done(st->stmt[S_REQUEUE]);
    if (rc == 0)
        *op->u.requeue.requeued = sqlite3_changes(st->wdb);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = ended_cancelled(st, ids[i], now);
    free(ids);
    return rc;
}

/* Retention's batches: small, since each shares a group commit with
 * whatever else is being written. A batch looks at PRUNE_SCAN_* rows of
 * each table, wherever it is in its sweep, and deletes what of them may
 * go; keys go PRUNE_KEYS of a kind at a time. */
#define PRUNE_SCAN_RUNS 256
#define PRUNE_SCAN_EVENTS 512
#define PRUNE_KEYS 400
/* Freed pages given back to the file system per batch. */
#define PRUNE_VACUUM "PRAGMA incremental_vacuum(256)"

/* One batch of one table's sweep: looks at up to SCAN rows after AFTER
 * (the last one looked at; "" at the start, updated) whose keys are
 * before the ULID of BEFORE, and deletes, with the statements DEL (NDEL,
 * ?1 the id), those that statement PICK (?1 after, ?2 the last looked
 * at, ?3 BEFORE) names. Returns how many, or -1; *DONE once the sweep
 * has looked at every row. */
static int64_t
prune_rows(struct store *st, int end_stmt, int pick, int64_t before,
           int scan, char after[27], int *done, const int *del, size_t ndel)
{
    sqlite3_stmt *e = st->stmt[end_stmt], *p = st->stmt[pick];
    char bound[ULID_LEN + 1], last[27], (*ids)[27];
    uint8_t zero[10] = {0};
    int64_t n = 0;
    int rc;

    ulid_encode(bound, before, zero);
    bind_text(e, 1, after);
    bind_text(e, 2, bound);
    sqlite3_bind_int(e, 3, scan);
    rc = sqlite3_step(e);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(e);
        return -1;
    }
    if (sqlite3_column_type(e, 0) == SQLITE_NULL) {
        sqlite3_reset(e);
        *done = 1;
        return 0;
    }
    snprintf(last, sizeof(last), "%s", (const char *)sqlite3_column_text(e, 0));
    sqlite3_reset(e);
    ids = xcalloc((size_t)scan, sizeof(*ids));
    bind_text(p, 1, after);
    bind_text(p, 2, last);
    sqlite3_bind_int64(p, 3, before);
    while (n < scan && (rc = sqlite3_step(p)) == SQLITE_ROW)
        snprintf(ids[n++], 27, "%s", (const char *)sqlite3_column_text(p, 0));
    rc = n < scan ? rc : SQLITE_DONE;
    sqlite3_reset(p);
    if (rc != SQLITE_DONE) {
        free(ids);
        return -1;
    }
    for (int64_t i = 0; i < n; i++) {
        for (size_t k = 0; k < ndel; k++) {
            bind_text(st->stmt[del[k]], 1, ids[i]);
            if (step_done(st->stmt[del[k]]) != 0) {
                free(ids);
                return -1;
            }
        }
    }
    free(ids);
    memcpy(after, last, 27);
    return n;
}

/* One batch of retention (store_prune()). */
static int
apply_prune(struct store *st, struct op *op)
{
    static const int run_rows[] = {S_DEL_STEPS,      S_DEL_ATTEMPTS,
                                   S_DEL_FETCHES,    S_DEL_PAUSES,
                                   S_DEL_RUN_EVENTS, S_DEL_RUN_LOGS,
                                   S_DEL_RUN};
    static const int event_rows[] = {S_DEL_SKIPPED, S_DEL_EVENT};
    static const int keys[] = {S_PRUNE_DEDUP, S_PRUNE_IDEMPOTENCY,
                               S_PRUNE_RATE_LIMITS, S_PRUNE_THROTTLES};
    struct store_pruned *out = op->u.prune.out;
    int64_t n;

    out->runs = out->events = out->keys = 0;
    out->more = 0;
    if (op->u.prune.runs_before > 0 && !out->runs_done) {
        n = prune_rows(st, S_PRUNE_RUNS_END, S_PRUNE_RUNS,
                       op->u.prune.runs_before, PRUNE_SCAN_RUNS,
                       out->runs_after, &out->runs_done, run_rows,
                       sizeof(run_rows) / sizeof(*run_rows));
        if (n < 0)
            return -1;
        out->runs = n;
        out->more |= !out->runs_done;
    }
    /* Events after runs: a run deleted now frees its event for a later
     * batch of the same sweep or the next. */
    if (op->u.prune.events_before > 0 && !out->events_done) {
        n = prune_rows(st, S_PRUNE_EVENTS_END, S_PRUNE_EVENTS,
                       op->u.prune.events_before, PRUNE_SCAN_EVENTS,
                       out->events_after, &out->events_done, event_rows,
                       sizeof(event_rows) / sizeof(*event_rows));
        if (n < 0)
            return -1;
        out->events = n;
        out->more |= !out->events_done;
    }
    for (size_t k = 0; k < sizeof(keys) / sizeof(*keys); k++) {
        sqlite3_bind_int64(st->stmt[keys[k]], 1, op->u.prune.now);
        sqlite3_bind_int(st->stmt[keys[k]], 2, PRUNE_KEYS);
        if (step_done(st->stmt[keys[k]]) != 0)
            return -1;
        n = sqlite3_changes(st->wdb);
        out->keys += n;
        out->more |= n == PRUNE_KEYS;
    }
    /* A store made before retention reuses the free pages instead. */
    if (out->runs + out->events + out->keys > 0)
        sqlite3_exec(st->wdb, PRUNE_VACUUM, NULL, NULL, NULL);
    return 0;
}

static int
apply_op(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt **s = st->stmt;
    const struct step_record *p;

    switch (op->kind) {
    case OP_EVENTS:
        return apply_events(st, op->u.ev.evs, op->u.ev.n, op->u.ev.window,
                            now);
    case OP_START:
        sqlite3_bind_int(s[S_START_RUN], 1, (int)op->u.start.attempt);
        sqlite3_bind_int64(s[S_START_RUN], 2, op->u.start.at);
        sqlite3_bind_int64(s[S_START_RUN], 3, now);
        bind_text(s[S_START_RUN], 4, op->u.start.run_id);
        if (op->u.start.finish_ms > 0)
            sqlite3_bind_int64(s[S_START_RUN], 5, op->u.start.finish_ms);
        else
            sqlite3_bind_null(s[S_START_RUN], 5);
        if (step_done(s[S_START_RUN]) != 0)
            return -1;
        sqlite3_bind_int64(s[S_WAKE_STEPS], 1, op->u.start.at);
        bind_text(s[S_WAKE_STEPS], 2, op->u.start.run_id);
        sqlite3_bind_int64(s[S_WAKE_STEPS], 3, op->u.start.at);
        return step_done(s[S_WAKE_STEPS]);
    case OP_FINISH:
        /* A run's lifecycle events commit with its end: never one
         * without the other. */
        return apply_finish(st, op, now) != 0 ||
                       apply_events(st, op->u.fin.evs, op->u.fin.n,
                                    op->u.fin.window, now) != 0
                   ? -1
                   : 0;
    case OP_STEP:
        p = &op->u.step.step.s;
        /* A send step and its events commit together: once the step is
         * stored, its events are, and a replay sends nothing again. */
        if (put_step(st, op->u.step.run_id, p, now) != 0 ||
            put_attempt(st, op->u.step.run_id, p->step_id, p->attempt,
                        p->started_at, p->ended_at, p->error) != 0 ||
            apply_events(st, op->u.step.evs, op->u.step.n,
                         op->u.step.window, now) != 0)
            return -1;
        if (!op->u.step.update_run)
            return 0;
        sqlite3_bind_int64(s[S_STEP_RUN], 1, p->started_at);
        sqlite3_bind_int64(s[S_STEP_RUN], 2, now);
        bind_text(s[S_STEP_RUN], 3, op->u.step.run_id);
        return step_done(s[S_STEP_RUN]);
    case OP_REQUEUE:
        return apply_requeue(st, op, now);
    case OP_FETCH:
        return apply_fetch(st, op, now);
    case OP_EXPIRE: {
        int w = store_waits_expire(st->waits, op->u.expire.now,
                                   op->u.expire.limit);
        int i = w < 0 ? -1
                      : expire_invokes(st, op->u.expire.now,
                                       op->u.expire.limit);
        int d = w < 0 || i < 0 ? -1
                               : store_debounce_fire(st->debounce,
                                                     op->u.expire.now,
                                                     op->u.expire.limit);

        *op->u.expire.n = w < 0 || i < 0 || d < 0 ? -1 : w + i + d;
        return *op->u.expire.n < 0 ? -1 : 0;
    }
    case OP_CANCEL:
        return apply_cancel(st, op);
    case OP_CONC_PARK:
        bind_text(s[S_CONC_PARK], 1, op->u.park.run_id);
        bind_text(s[S_CONC_PARK], 2, op->u.park.key);
        sqlite3_bind_int64(s[S_CONC_PARK], 3, now);
        return step_done(s[S_CONC_PARK]);
    case OP_CRON:
        bind_text(s[S_CRON_KEEP], 1, op->u.cron.pairs);
        sqlite3_bind_int64(s[S_CRON_KEEP], 2, op->u.cron.now);
        bind_text(s[S_CRON_DROP], 1, op->u.cron.pairs);
        return step_done(s[S_CRON_KEEP]) != 0 ||
                       step_done(s[S_CRON_DROP]) != 0
                   ? -1
                   : 0;
    case OP_PRUNE:
        return apply_prune(st, op);
    case OP_LOG:
        bind_text(s[S_PUT_LOG], 1, op->u.log.run_id);
        sqlite3_bind_int64(s[S_PUT_LOG], 2, op->u.log.at);
        sqlite3_bind_int(s[S_PUT_LOG], 3, (int)op->u.log.attempt);
        bind_text(s[S_PUT_LOG], 4, log_level_name(op->u.log.level));
        bind_text(s[S_PUT_LOG], 5, op->u.log.text);
        sqlite3_bind_int(s[S_PUT_LOG], 6, STORE_RUN_LOGS);
        return step_done(s[S_PUT_LOG]);
    case OP_FORGET:
        return 0; /* commit_group()'s */
    }
    return -1;
}

/* fnhost_status_moved(OLD, NEW): a run's status changed (NULL: none). */
static void
status_moved_sql(sqlite3_context *c, int argc, sqlite3_value **v)
{
    struct store *st = sqlite3_user_data(c);

    for (int i = 0; i < 2; i++) {
        const char *s = (const char *)sqlite3_value_text(v[i]);
        int d = i == 0 ? -1 : 1;

        if (s == NULL)
            continue;
        if (strcmp(s, "queued") == 0)
            st->moved_queued += d;
        else if (strcmp(s, "sleeping") == 0)
            st->moved_sleeping += d;
        else if (strcmp(s, "waiting") == 0)
            st->moved_waiting += d;
    }
    sqlite3_result_null(c);
}

/* Counts pending runs and sets the triggers that keep the count. Before
 * the writer thread starts. */
static int
count_init(struct store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s;

    if (sqlite3_create_function(st->wdb, "fnhost_status_moved", 2,
                                SQLITE_UTF8, st, status_moved_sql, NULL,
                                NULL) != SQLITE_OK ||
        exec_sql(st->wdb, store_status_triggers, err, errlen) != 0 ||
        sqlite3_prepare_v2(st->wdb, store_pending_count, -1, &s, NULL) !=
            SQLITE_OK) {
        if (err[0] == '\0')
            snprintf(err, errlen, "count runs: %s", sqlite3_errmsg(st->wdb));
        return -1;
    }
    if (sqlite3_step(s) == SQLITE_ROW) {
        st->nqueued = sqlite3_column_int64(s, 0);
        st->nsleeping = sqlite3_column_int64(s, 1);
        st->nwaiting = sqlite3_column_int64(s, 2);
    }
    sqlite3_finalize(s);
    return 0;
}

/* The run whose step or end OP writes, or NULL. */
static const char *
op_run(const struct op *op)
{
    return op->kind == OP_STEP     ? op->u.step.run_id
           : op->kind == OP_FINISH ? op->u.fin.at.run_id
                                   : NULL;
}

/* The index of RUN_ID among the failed runs, or -1. */
static long
failed_index(const struct store *st, const char *run_id)
{
    for (size_t i = 0; i < st->nfailed; i++)
        if (strcmp(st->failed[i], run_id) == 0)
            return (long)i;
    return -1;
}

/* Marks RUN_ID failed: its later writes fail, until store_forget_failed(). */
static void
failed_mark(struct store *st, const char *run_id)
{
    if (failed_index(st, run_id) >= 0)
        return;
    if (st->nfailed == st->capfailed) {
        st->capfailed = st->capfailed ? 2 * st->capfailed : 8;
        st->failed = xrealloc(st->failed, st->capfailed * sizeof(*st->failed));
    }
    memcpy(st->failed[st->nfailed++], run_id, 27);
}

/* GROUP failed: the runs whose checkpoints it held, and those that
 * started before their events' commit (store_new_run.early), fail their
 * later writes too. */
static void
failed_add(struct store *st, const struct op *group)
{
    for (const struct op *op = group; op != NULL; op = op->next) {
        if (op->kind == OP_STEP)
            failed_mark(st, op->u.step.run_id);
        if (op->kind != OP_EVENTS)
            continue;
        for (size_t i = 0; i < op->u.ev.n; i++)
            for (size_t j = 0; j < op->u.ev.evs[i].nruns; j++)
                if (op->u.ev.evs[i].runs[j].early)
                    failed_mark(st, op->u.ev.evs[i].runs[j].id);
    }
}

/* Commits one group: every op queued while the last commit ran. */
static void
commit_group(struct store *st, struct op *group)
{
    int64_t now = now_ms();
    const char *why = NULL;
    struct op *op;

    st->moved_queued = st->moved_sleeping = st->moved_waiting = 0;
    if (atomic_load(&st->damaged)) {
        /* Nothing is acknowledged into a store that reported damage. */
        why = "the database is damaged; see the log";
        goto failed;
    }
    if (step_done(st->stmt[S_BEGIN]) != 0) {
        why = sqlite3_errmsg(st->wdb);
        goto failed;
    }
    for (op = group; op != NULL; op = op->next) {
        long k;

        if (op->kind == OP_FORGET) {
            if ((k = failed_index(st, op->u.forget.run_id)) >= 0)
                memcpy(st->failed[k], st->failed[--st->nfailed], 27);
            continue;
        }
        if (op->kind == OP_LOG && st->nfailed > 0 &&
            failed_index(st, op->u.log.run_id) >= 0)
            continue; /* a line of a run that is not stored: dropped */
        if (st->nfailed > 0 && op_run(op) != NULL &&
            failed_index(st, op_run(op)) >= 0) {
            op->rc = -1;
            op->err = xasprintf("store: an earlier write of run %s (a"
                                " checkpoint, or its event) was not stored",
                                op_run(op));
            continue;
        }
        if (apply_op(st, op, now) != 0) {
            why = sqlite3_errmsg(st->wdb);
            goto rollback;
        }
    }
    if (st->fault_delay_ms > 0)
        usleep((useconds_t)st->fault_delay_ms * 1000);
    if (step_done(st->stmt[S_COMMIT]) != 0) {
        why = sqlite3_errmsg(st->wdb);
        goto rollback;
    }
    pthread_mutex_lock(&st->lock);
    st->commits++;
    st->nqueued += st->moved_queued;
    st->nsleeping += st->moved_sleeping;
    st->nwaiting += st->moved_waiting;
    pthread_mutex_unlock(&st->lock);
    return;

rollback:
    /* One failure fails the whole group: nothing in it is acknowledged, so
     * nothing acknowledged is lost. */
    {
        char *copy = xstrdup(why);
        int code = sqlite3_errcode(st->wdb);

        if ((code == SQLITE_CORRUPT || code == SQLITE_NOTADB) &&
            !atomic_exchange(&st->damaged, 1))
            log_error("store", "%s is damaged (%s): no more writes are"
                               " acknowledged; stop fnhost, and restore"
                               " the file from a backup or recover it with"
                               " sqlite3 .recover",
                      sqlite3_db_filename(st->wdb, "main"), copy);

        step_done(st->stmt[S_ROLLBACK]);
        store_waits_forget(st->waits);
        for (op = group; op != NULL; op = op->next) {
            op->rc = -1;
            free(op->err);
            op->err = xasprintf("store: %s", copy);
        }
        free(copy);
        failed_add(st, group);
        return;
    }
failed:
    for (op = group; op != NULL; op = op->next) {
        op->rc = -1;
        free(op->err);
        op->err = xasprintf("store: %s", why);
    }
    failed_add(st, group);
}

static void *
writer_main(void *arg)
{
    struct store *st = arg;

    pthread_mutex_lock(&st->lock);
    for (;;) {
        struct op *group, *last;
        uint64_t one = 1, n;
        int64_t started, took;

        while (st->queue == NULL && !st->stop)
            pthread_cond_wait(&st->cond, &st->lock);
        if (st->queue == NULL && st->stop)
            break;
        group = st->queue;
        st->queue = NULL;
        st->queue_tail = &st->queue;
        if (st->lifecycle_set) {
            lifecycle_free(st->lifecycle);
            st->lifecycle = st->next_lifecycle;
            st->next_lifecycle = NULL;
            st->lifecycle_set = 0;
        }
        pthread_mutex_unlock(&st->lock);

        started = mono_us();
        commit_group(st, group);
        took = mono_us() - started;

        pthread_mutex_lock(&st->lock);
        for (n = 1, last = group; last->next != NULL; last = last->next)
            n++;
        st->ops += n;
        hist_observe(&st->commit_seconds, (double)took / 1e6);
        hist_observe(&st->group_writes, (double)n);
        *st->done_tail = group;
        st->done_tail = &last->next;
        (void)!write(st->efd, &one, sizeof(one));
    }
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

static void
enqueue(struct store *st, struct op *op)
{
    pthread_mutex_lock(&st->lock);
    *st->queue_tail = op;
    st->queue_tail = &op->next;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
}

/* C, a copy of FROM that the op owns; a step's name, kind and status
 * default to its id, "run" and "completed". The store keeps neither a
 * send's events nor an invoke's run in the step: they go to it as
 * events, borrowed, and are not copied. */
static void
step_copy_set(struct step_owned *c, const struct step_record *from)
{
    step_owned_set(c, from, 0);
    if (from == NULL)
        return;
    if (c->s.name == NULL)
        c->s.name = c->s.step_id;
    if (c->s.kind == NULL)
        c->s.kind = "run";
    if (c->s.status == NULL)
        c->s.status = "completed";
}

static void
free_op(struct op *op)
{
    if (op->kind == OP_FINISH) {
        free(op->u.fin.output);
        free(op->u.fin.error);
        step_owned_free(&op->u.fin.step);
    } else if (op->kind == OP_STEP) {
        step_owned_free(&op->u.step.step);
    } else if (op->kind == OP_FETCH) {
        free(op->u.fetch.step_id);
        free(op->u.fetch.name);
        free(op->u.fetch.result);
        free(op->u.fetch.error);
    } else if (op->kind == OP_CANCEL) {
        free(op->u.cancel.reason);
    } else if (op->kind == OP_CONC_PARK) {
        free(op->u.park.key);
    } else if (op->kind == OP_CRON) {
        free(op->u.cron.pairs);
    } else if (op->kind == OP_LOG) {
        free(op->u.log.text);
    }
    free(op->err);
    free(op);
}

/* Runs the callbacks of every finished op, on the loop's thread. */
static void
drain(struct store *st)
{
    struct op *op, *next;
    uint64_t n;

    (void)!read(st->efd, &n, sizeof(n));
    pthread_mutex_lock(&st->lock);
    op = st->done;
    st->done = NULL;
    st->done_tail = &st->done;
    pthread_mutex_unlock(&st->lock);
    for (; op != NULL; op = next) {
        next = op->next;
        if (op->rc != 0 && op->done == NULL)
            log_error("store", "%s", op->err);
        if (op->done != NULL)
            op->done(op->arg, op->rc, op->err);
        free_op(op);
    }
}

static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
    drain(arg);
}

/* ------------------------------------------------------------ public */

/* Frees what store_open() made, whatever it got to. */
static void
release(struct store *st)
{
    if (st->ev != NULL)
        event_free(st->ev);
    if (st->efd >= 0)
        close(st->efd);
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(st->stmt[i]);
    store_waits_free(st->waits);
    store_debounce_free(st->debounce);
    store_scan_clear(&st->scan);
    lifecycle_free(st->lifecycle);
    lifecycle_free(st->next_lifecycle);
    sqlite3_close(st->rdb);
    sqlite3_close(st->wdb);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st->failed);
    free(st);
}

static void read_mode(struct store *st);

struct store *
store_open(struct event_base *base, const char *path, const char *sync,
           char *err, size_t errlen)
{
    struct store *st = xcalloc(1, sizeof(*st));

    st->efd = -1;
    pthread_mutex_init(&st->lock, NULL);
    hist_init(&st->commit_seconds, metrics_seconds, metrics_nseconds);
    hist_init(&st->group_writes, metrics_counts, metrics_ncounts);
    pthread_cond_init(&st->cond, NULL);
    st->queue_tail = &st->queue;
    st->done_tail = &st->done;
    if ((st->wdb = open_db(path, sync, err, errlen)) == NULL)
        goto fail;
    if (migrate(st->wdb, err, errlen) != 0)
        goto fail;
    err[0] = '\0';
    if (count_init(st, err, errlen) != 0)
        goto fail;
    if ((st->rdb = open_db(path, sync, err, errlen)) == NULL)
        goto fail;
    /* Every write goes through the writer thread, in its group commit:
     * the read connection refuses any, so a write cannot slip past. */
    if (exec_sql(st->rdb, "PRAGMA query_only = ON", err, errlen) != 0)
        goto fail;
    if (store_query_init(st, st->rdb) != 0) {
        snprintf(err, errlen, "register SQL functions: %s",
                 sqlite3_errmsg(st->rdb));
        goto fail;
    }
    for (int i = 0; i < NSTMT; i++) {
        if (sqlite3_prepare_v3(st->wdb, store_stmt_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(st->wdb));
            goto fail;
        }
    }
    if ((st->waits = store_waits_new(st->wdb, err, errlen)) == NULL ||
        (st->debounce = store_debounce_new(st->wdb, err, errlen)) == NULL)
        goto fail;
    read_mode(st);
    {
        const char *d = getenv("FNHOST_FAULT_COMMIT_DELAY_MS");

        st->fault_delay_ms = d != NULL ? strtol(d, NULL, 10) : 0;
        if (st->fault_delay_ms > 0)
            log_warn("store", "FNHOST_FAULT_COMMIT_DELAY_MS: each commit"
                              " waits %ld ms first (a test setting)",
                     st->fault_delay_ms);
    }
    st->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (st->efd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        goto fail;
    }
    st->ev = event_new(base, st->efd, EV_READ | EV_PERSIST, drain_cb, st);
    event_add(st->ev, NULL);
    if (pthread_create(&st->thread, NULL, writer_main, st) != 0) {
        snprintf(err, errlen, "start the store writer thread failed");
        goto fail;
    }
    return st;

fail:
    /* Name the file: "file is not a database" alone does not say which. */
    if (strncmp(err, path, strlen(path)) != 0 &&
        strncmp(err, "open ", 5) != 0) {
        char *why = xstrdup(err);

        snprintf(err, errlen, "%s: %s", path, why);
        free(why);
    }
    release(st);
    return NULL;
}

int
store_check(struct store *st, char *err, size_t errlen)
{
    sqlite3_stmt *s;
    const char *path = sqlite3_db_filename(st->rdb, "main");
    int rc;

    if (sqlite3_prepare_v2(st->rdb, "PRAGMA quick_check(1)", -1, &s, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: quick_check: %s", path,
                 sqlite3_errmsg(st->rdb));
        return -1;
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW &&
        strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0) {
        sqlite3_finalize(s);
        return 0;
    }
    snprintf(err, errlen, "%s is damaged (%s); nothing is acknowledged into"
                          " it. Restore it from a backup, or recover what"
                          " it holds with: sqlite3 %s .recover",
             path,
             rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
                              : sqlite3_errmsg(st->rdb),
             path);
    sqlite3_finalize(s);
    return -1;
}

int
store_damaged(struct store *st)
{
    return atomic_load(&st->damaged);
}

const char *
store_mode(const struct store *st)
{
    return st->mode;
}

/* Reads the mode the writer's connection runs in into ST->mode. Before the
 * writer thread starts. */
static void
read_mode(struct store *st)
{
    sqlite3_stmt *s;
    const char *q[2] = {"PRAGMA journal_mode", "PRAGMA synchronous"};
    char v[2][16] = {"?", "?"};
    static const char *const sync_names[] = {"off", "normal", "full",
                                             "extra"};

    /* What SQLite says the writer runs in, not what was asked for. */
    for (int i = 0; i < 2; i++) {
        if (sqlite3_prepare_v2(st->wdb, q[i], -1, &s, NULL) != SQLITE_OK)
            continue;
        if (sqlite3_step(s) == SQLITE_ROW) {
            if (i == 0) {
                snprintf(v[0], sizeof(v[0]), "%s",
                         (const char *)sqlite3_column_text(s, 0));
            } else {
                int n = sqlite3_column_int(s, 0);

                snprintf(v[1], sizeof(v[1]), "%s",
                         n >= 0 && n < 4 ? sync_names[n] : "?");
            }
        }
        sqlite3_finalize(s);
    }
    snprintf(st->mode, sizeof(st->mode), "journal_mode=%s synchronous=%s",
             v[0], v[1]);
}

void
store_close(struct store *st)
{
    if (st == NULL)
        return;
    pthread_mutex_lock(&st->lock);
    st->stop = 1;
    pthread_cond_signal(&st->cond);
    pthread_mutex_unlock(&st->lock);
    pthread_join(st->thread, NULL);
    drain(st);
    log_debug("store", "closed after %llu ops in %llu commits",
              (unsigned long long)st->ops, (unsigned long long)st->commits);
    release(st);
}

/* A new write of KIND, whose commit DONE(ARG) hears of. */
static struct op *
op_new(enum op_kind kind, store_done_fn done, void *arg)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = kind;
    op->done = done;
    op->arg = arg;
    return op;
}

void
store_put_events(struct store *st, struct store_new_event *evs, size_t n,
                 int64_t window, store_done_fn done, void *arg)
{
    struct op *op = op_new(OP_EVENTS, done, arg);

    op->u.ev.evs = evs;
    op->u.ev.n = n;
    op->u.ev.window = window;
    enqueue(st, op);
}

void
store_cron_sync(struct store *st, const char *pairs, int64_t now,
                store_done_fn done, void *arg)
{
    struct op *op = op_new(OP_CRON, done, arg);

    op->u.cron.pairs = xstrdup(pairs);
    op->u.cron.now = now;
    enqueue(st, op);
}

void
store_put_log(struct store *st, const char *run_id, unsigned attempt,
              int level, int64_t at, const char *text)
{
    struct op *op = op_new(OP_LOG, NULL, NULL);

    snprintf(op->u.log.run_id, sizeof(op->u.log.run_id), "%s", run_id);
    op->u.log.attempt = attempt;
    op->u.log.level = level;
    op->u.log.at = at;
    op->u.log.text = xstrdup(text);
    enqueue(st, op);
}

void
store_prune(struct store *st, int64_t runs_before, int64_t events_before,
            int64_t now, struct store_pruned *out, store_done_fn done,
            void *arg)
{
    struct op *op = op_new(OP_PRUNE, done, arg);

    op->u.prune.runs_before = runs_before;
    op->u.prune.events_before = events_before;
    op->u.prune.now = now;
    op->u.prune.out = out;
    enqueue(st, op);
}

void
store_start_timed(struct store *st, const char *run_id, unsigned a,
                  int64_t started_at, int64_t finish_ms)
{
    struct op *op = op_new(OP_START, NULL, NULL);

    snprintf(op->u.start.run_id, sizeof(op->u.start.run_id), "%s", run_id);
    op->u.start.attempt = a;
    op->u.start.at = started_at;
    op->u.start.finish_ms = finish_ms;
    enqueue(st, op);
}

void
store_conc_park(struct store *st, const char *run_id, const char *key,
                store_done_fn done, void *arg)
{
    struct op *op = op_new(OP_CONC_PARK, done, arg);

    snprintf(op->u.park.run_id, sizeof(op->u.park.run_id), "%s", run_id);
    op->u.park.key = xstrdup(key);
    enqueue(st, op);
}

void
store_start_attempt(struct store *st, const char *run_id, unsigned a,
                    int64_t started_at)
{
    store_start_timed(st, run_id, a, started_at, 0);
}

void
store_cancel_runs(struct store *st, struct store_cancel *v, size_t n,
                  const char *reason, int64_t at, store_done_fn done,
                  void *arg)
{
    struct op *op = op_new(OP_CANCEL, done, arg);

    op->u.cancel.v = v;
    op->u.cancel.n = n;
    op->u.cancel.reason = xstrdup(reason);
    op->u.cancel.at = at;
    enqueue(st, op);
}

void
store_finish_attempt(struct store *st, const struct store_attempt *at,
                     store_done_fn done, void *arg)
{
    store_finish_attempt_events(st, at, NULL, 0, 0, done, arg);
}

void
store_finish_attempt_events(struct store *st, const struct store_attempt *at,
                            struct store_new_event *evs, size_t nevs,
                            int64_t dedup_window_ms, store_done_fn done,
                            void *arg)
{
    struct op *op = op_new(OP_FINISH, done, arg);

    op->u.fin.evs = evs;
    op->u.fin.n = nevs;
    op->u.fin.window = dedup_window_ms;
    op->u.fin.at = *at;
    op->u.fin.output = at->output ? xstrdup(at->output) : NULL;
    op->u.fin.error = at->error ? xstrdup(at->error) : NULL;
    op->u.fin.at.output = NULL;
    op->u.fin.at.error = NULL;
    op->u.fin.at.step = NULL;
    step_copy_set(&op->u.fin.step, at->step);
    enqueue(st, op);
}

void
store_forget_failed(struct store *st, const char *run_id)
{
    store_forget_failed_then(st, run_id, NULL, NULL);
}

void
store_forget_failed_then(struct store *st, const char *run_id,
                         store_done_fn done, void *arg)
{
    struct op *op = op_new(OP_FORGET, done, arg);

    snprintf(op->u.forget.run_id, sizeof(op->u.forget.run_id), "%s",
             run_id);
    enqueue(st, op);
}

void
store_put_step(struct store *st, const char *run_id,
               const struct step_record *step, int update_run,
               store_done_fn done, void *arg)
{
    store_put_step_events(st, run_id, step, update_run, NULL, 0, 0, done,
                          arg);
}

void
store_put_step_events(struct store *st, const char *run_id,
                      const struct step_record *step, int update_run,
                      struct store_new_event *evs, size_t nevs,
                      int64_t dedup_window_ms, store_done_fn done, void *arg)
{
    struct op *op = op_new(OP_STEP, done, arg);

    snprintf(op->u.step.run_id, sizeof(op->u.step.run_id), "%s", run_id);
    step_copy_set(&op->u.step.step, step);
    op->u.step.update_run = update_run;
    op->u.step.evs = evs;
    op->u.step.n = nevs;
    op->u.step.window = dedup_window_ms;
    enqueue(st, op);
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

void
store_fetch_attempt(struct store *st, struct store_fetch_end *e,
                    store_done_fn done, void *arg)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = OP_FETCH;
    op->done = done;
    op->arg = arg;
    op->u.fetch.e = *e;
    op->u.fetch.e.step_id = op->u.fetch.step_id = xstrdup(e->step_id);
    op->u.fetch.e.name = op->u.fetch.name = xstrdup(e->name);
    op->u.fetch.e.result = op->u.fetch.result = dup_or_null(e->result);
    op->u.fetch.e.error = op->u.fetch.error = dup_or_null(e->error);
    op->u.fetch.gone = &e->gone;
    e->gone = 0;
    enqueue(st, op);
}

void
store_expire_waits(struct store *st, int64_t now, int limit, int *n,
                   store_done_fn done, void *arg)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = OP_EXPIRE;
    op->done = done;
    op->arg = arg;
    op->u.expire.now = now;
    op->u.expire.limit = limit;
    op->u.expire.n = n;
    enqueue(st, op);
}

struct requeue_wait {
    int fired, rc;
    char err[256];
};

static void
requeued_cb(void *arg, int rc, const char *err)
{
    struct requeue_wait *w = arg;

    w->fired = 1;
    w->rc = rc;
    snprintf(w->err, sizeof(w->err), "%s", err ? err : "");
}

int
store_requeue_running(struct store *st, char *err, size_t errlen)
{
    struct op *op = xcalloc(1, sizeof(*op));
    struct requeue_wait w = {0, -1, ""};
    int requeued = 0;

    /* Through the writer like any write; before serving nothing else is
     * queued, so waiting here for its commit (the loop is not running
     * yet) runs no one else's callback early. */
    op->kind = OP_REQUEUE;
    op->done = requeued_cb;
    op->arg = &w;
    op->u.requeue.requeued = &requeued;
    enqueue(st, op);
    /* W lives on this stack until the callback has run: never return
     * before it, or the writer's completion would write into a dead
     * frame. A failing poll only costs a short sleep per turn. */
    while (!w.fired) {
        struct pollfd pfd = {st->efd, POLLIN, 0};

        if (poll(&pfd, 1, 100) < 0 && errno != EINTR) {
            log_warn("store", "poll while requeueing: %s", strerror(errno));
            usleep(10000);
        }
        drain(st);
    }
    if (w.rc != 0) {
        snprintf(err, errlen, "%s", w.err);
        return -1;
    }
    return requeued;
}

void
store_stats(struct store *st, uint64_t *ops, uint64_t *commits)
{
    pthread_mutex_lock(&st->lock);
    *ops = st->ops;
    *commits = st->commits;
    pthread_mutex_unlock(&st->lock);
}

sqlite3 *
store_reader(struct store *st)
{
    return st->rdb;
}

struct store_scan *
store_scan(struct store *st)
{
    return &st->scan;
}

void
store_run_gauges(struct store *st, int64_t *queued, int64_t *sleeping,
                 int64_t *waiting)
{
    pthread_mutex_lock(&st->lock);
    *queued = st->nqueued;
    *sleeping = st->nsleeping;
    *waiting = st->nwaiting;
    pthread_mutex_unlock(&st->lock);
}

void
store_commit_metrics(struct store *st, struct histogram *seconds,
                     struct histogram *writes)
{
    pthread_mutex_lock(&st->lock);
    *seconds = st->commit_seconds;
    *writes = st->group_writes;
    pthread_mutex_unlock(&st->lock);
}

void
store_set_loaded(struct store *st, int (*loaded)(void *, const char *),
                 void *arg)
{
    st->loaded = loaded;
    st->loaded_arg = arg;
}

void
store_set_lifecycle(struct store *st, struct lifecycle *l)
{
    pthread_mutex_lock(&st->lock);
    lifecycle_free(st->next_lifecycle); /* never the writer's */
    st->next_lifecycle = l;
    st->lifecycle_set = 1;
    pthread_mutex_unlock(&st->lock);
}

int
store_function_loaded(struct store *st, const char *function_id)
{
    return st->loaded == NULL || function_id == NULL ||
           st->loaded(st->loaded_arg, function_id);
}

int64_t
store_invokes_next_timeout(struct store *st, int64_t now)
{
    sqlite3 *db = store_reader(st);
    sqlite3_stmt *s;
    int64_t t = 0;
    int rc = SQLITE_ERROR;

    /* Through the runs_invoking index. */
    if (sqlite3_prepare_v3(db, "SELECT min(wake_at) FROM runs"
                               " WHERE status = 'invoking'",
                           -1, 0, &s, NULL) == SQLITE_OK) {
        if ((rc = sqlite3_step(s)) == SQLITE_ROW)
            t = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_ROW) {
        log_error("store", "cannot find the next timeout of an invoke: %s",
                  sqlite3_errmsg(db));
        t = now + 1000;
    }
    return t;
}
