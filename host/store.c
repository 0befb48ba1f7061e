/* store.c - the durable state in SQLite: one writer thread, group commit.
 * SPDX-License-Identifier: Apache-2.0 */
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* ---------------------------------------------------------------- schema */

/* Append a migration to change the schema; never edit a released one. The
 * database's user_version is the number of migrations applied. */
static const char *const migrations[] = {
    /* 1: events, runs, attempts, dedup keys */
    "CREATE TABLE events ("
    "  id TEXT PRIMARY KEY,"          /* fnhost's ULID */
    "  name TEXT NOT NULL,"
    "  user_id TEXT,"                 /* the sender's id */
    "  ts INTEGER NOT NULL,"          /* ms */
    "  received_at INTEGER NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE INDEX events_name ON events(name, received_at);"
    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY,"
    "  function_id TEXT NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"         /* queued running completed failed
                                         cancelled */
    "  attempt INTEGER NOT NULL DEFAULT 0," /* next or current, 0-based */
    "  wake_at INTEGER NOT NULL,"     /* when a queued run is due */
    "  output TEXT,"
    "  error TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  ended_at INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX runs_event ON runs(event_id);"
    "CREATE INDEX runs_function ON runs(function_id, created_at);"
    "CREATE INDEX runs_due ON runs(wake_at) WHERE status = 'queued';"
    "CREATE TABLE attempts ("
    "  run_id TEXT NOT NULL,"
    "  attempt INTEGER NOT NULL,"
    "  started_at INTEGER NOT NULL,"
    "  ended_at INTEGER,"
    "  error TEXT,"
    "  PRIMARY KEY (run_id, attempt)) WITHOUT ROWID;"
    "CREATE TABLE dedup ("
    "  function_id TEXT NOT NULL,"
    "  key TEXT NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (function_id, key)) WITHOUT ROWID;",
};

#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* ------------------------------------------------------------ write ops */

enum op_kind { OP_EVENTS, OP_START, OP_FINISH };

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
        } start;
        struct {
            struct store_attempt at;
            char *output;
            char *error;
        } fin;
    } u;
};

enum {
    S_INS_EVENT,
    S_INS_RUN,
    S_GET_DEDUP,
    S_PUT_DEDUP,
    S_START_RUN,
    S_START_ATTEMPT,
    S_END_ATTEMPT,
    S_FINISH_RUN,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    NSTMT
};

static const char *const stmt_sql[NSTMT] = {
    [S_INS_EVENT] = "INSERT INTO events(id, name, user_id, ts, received_at,"
                    " json) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT(id) DO NOTHING",
    [S_INS_RUN] = "INSERT INTO runs(id, function_id, event_id, status,"
                  " attempt, wake_at, created_at, updated_at)"
                  " VALUES (?, ?, ?, 'queued', 0, ?, ?, ?)",
    [S_GET_DEDUP] = "SELECT run_id FROM dedup WHERE function_id = ? AND"
                    " key = ? AND expires_at > ?",
    [S_PUT_DEDUP] = "INSERT OR REPLACE INTO dedup(function_id, key, run_id,"
                    " expires_at) VALUES (?, ?, ?, ?)",
    [S_START_RUN] = "UPDATE runs SET status = 'running', attempt = ?,"
                    " started_at = coalesce(started_at, ?), updated_at = ?"
                    " WHERE id = ? AND status = 'queued'",
    [S_START_ATTEMPT] = "INSERT OR REPLACE INTO attempts(run_id, attempt,"
                        " started_at) VALUES (?, ?, ?)",
    [S_END_ATTEMPT] = "INSERT OR REPLACE INTO attempts(run_id, attempt,"
                      " started_at, ended_at, error) VALUES (?, ?, ?, ?, ?)",
    [S_FINISH_RUN] = "UPDATE runs SET status = ?, attempt = ?, wake_at = ?,"
                     " output = ?, error = ?, ended_at = ?, updated_at = ?,"
                     " started_at = coalesce(started_at, ?) WHERE id = ?",
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
};

struct store {
    sqlite3 *wdb; /* the writer thread's connection */
    sqlite3 *rdb; /* the loop's read connection */
    sqlite3_stmt *stmt[NSTMT];

    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct op *queue, **queue_tail; /* waiting for the next transaction */
    struct op *done, **done_tail;   /* committed or failed, for the loop */
    int stop;

    int efd;
    struct event *ev;
    uint64_t commits, ops; /* for the log at close */
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

static void
bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

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
    char sql[128];

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
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s;"
             " PRAGMA foreign_keys=OFF;",
             sync);
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
    if (version > NMIGRATIONS) {
        snprintf(err, errlen, "database schema version %d is newer than this"
                              " fnhost (%d): upgrade fnhost", version,
                 NMIGRATIONS);
        return -1;
    }
    for (int v = version; v < NMIGRATIONS; v++) {
        char sql[64];

        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
        if (exec_sql(db, "BEGIN IMMEDIATE", why, sizeof(why)) != 0 ||
            exec_sql(db, migrations[v], why, sizeof(why)) != 0 ||
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

static int
apply_events(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt **s = st->stmt;

    for (size_t i = 0; i < op->u.ev.n; i++) {
        struct store_new_event *e = &op->u.ev.evs[i];

        bind_text(s[S_INS_EVENT], 1, e->id);
        bind_text(s[S_INS_EVENT], 2, e->name);
        bind_text(s[S_INS_EVENT], 3, e->user_id);
        sqlite3_bind_int64(s[S_INS_EVENT], 4, e->ts);
        sqlite3_bind_int64(s[S_INS_EVENT], 5, now);
        bind_text(s[S_INS_EVENT], 6, e->json);
        if (step_done(s[S_INS_EVENT]) != 0)
            return -1;
        e->duplicate = sqlite3_changes(st->wdb) == 0;
        for (size_t j = 0; j < e->nruns; j++) {
            struct store_new_run *r = &e->runs[j];

            r->created = !e->duplicate;
            if (e->duplicate)
                continue;
            if (e->user_id != NULL) {
                int rc;

                bind_text(s[S_GET_DEDUP], 1, r->function_id);
                bind_text(s[S_GET_DEDUP], 2, e->user_id);
                sqlite3_bind_int64(s[S_GET_DEDUP], 3, now);
                rc = sqlite3_step(s[S_GET_DEDUP]);
                sqlite3_reset(s[S_GET_DEDUP]);
                sqlite3_clear_bindings(s[S_GET_DEDUP]);
                if (rc == SQLITE_ROW) {
                    r->created = 0;
                    continue;
                }
                if (rc != SQLITE_DONE)
                    return -1;
                bind_text(s[S_PUT_DEDUP], 1, r->function_id);
                bind_text(s[S_PUT_DEDUP], 2, e->user_id);
                bind_text(s[S_PUT_DEDUP], 3, r->id);
                sqlite3_bind_int64(s[S_PUT_DEDUP], 4, now + op->u.ev.window);
                if (step_done(s[S_PUT_DEDUP]) != 0)
                    return -1;
            }
            bind_text(s[S_INS_RUN], 1, r->id);
            bind_text(s[S_INS_RUN], 2, r->function_id);
            bind_text(s[S_INS_RUN], 3, e->id);
            /* A future "ts" schedules the run for that time. */
            sqlite3_bind_int64(s[S_INS_RUN], 4, e->ts > now ? e->ts : now);
            sqlite3_bind_int64(s[S_INS_RUN], 5, now);
            sqlite3_bind_int64(s[S_INS_RUN], 6, now);
            if (step_done(s[S_INS_RUN]) != 0)
                return -1;
        }
    }
    return 0;
}

static const char *const outcome_status[] = {
    [RUN_COMPLETED] = "completed",
    [RUN_RETRY] = "queued",
    [RUN_FAILED] = "failed",
};

static int
apply_op(struct store *st, struct op *op, int64_t now)
{
    sqlite3_stmt **s = st->stmt;
    struct store_attempt *a;

    switch (op->kind) {
    case OP_EVENTS:
        return apply_events(st, op, now);
    case OP_START:
        sqlite3_bind_int(s[S_START_RUN], 1, (int)op->u.start.attempt);
        sqlite3_bind_int64(s[S_START_RUN], 2, op->u.start.at);
        sqlite3_bind_int64(s[S_START_RUN], 3, now);
        bind_text(s[S_START_RUN], 4, op->u.start.run_id);
        if (step_done(s[S_START_RUN]) != 0)
            return -1;
        bind_text(s[S_START_ATTEMPT], 1, op->u.start.run_id);
        sqlite3_bind_int(s[S_START_ATTEMPT], 2, (int)op->u.start.attempt);
        sqlite3_bind_int64(s[S_START_ATTEMPT], 3, op->u.start.at);
        return step_done(s[S_START_ATTEMPT]);
    case OP_FINISH:
        a = &op->u.fin.at;
        bind_text(s[S_END_ATTEMPT], 1, a->run_id);
        sqlite3_bind_int(s[S_END_ATTEMPT], 2, (int)a->attempt);
        sqlite3_bind_int64(s[S_END_ATTEMPT], 3, a->started_at);
        sqlite3_bind_int64(s[S_END_ATTEMPT], 4, a->ended_at);
        bind_text(s[S_END_ATTEMPT], 5,
                  a->outcome == RUN_COMPLETED ? NULL : op->u.fin.error);
        if (step_done(s[S_END_ATTEMPT]) != 0)
            return -1;
        bind_text(s[S_FINISH_RUN], 1, outcome_status[a->outcome]);
        sqlite3_bind_int(s[S_FINISH_RUN], 2,
                         (int)(a->attempt + (a->outcome == RUN_RETRY)));
        sqlite3_bind_int64(s[S_FINISH_RUN], 3,
                           a->outcome == RUN_RETRY ? a->wake_at : 0);
        bind_text(s[S_FINISH_RUN], 4, op->u.fin.output);
        bind_text(s[S_FINISH_RUN], 5, op->u.fin.error);
        if (a->outcome == RUN_RETRY)
            sqlite3_bind_null(s[S_FINISH_RUN], 6);
        else
            sqlite3_bind_int64(s[S_FINISH_RUN], 6, a->ended_at);
        sqlite3_bind_int64(s[S_FINISH_RUN], 7, now);
        sqlite3_bind_int64(s[S_FINISH_RUN], 8, a->started_at);
        bind_text(s[S_FINISH_RUN], 9, a->run_id);
        return step_done(s[S_FINISH_RUN]);
    }
    return -1;
}

/* Commits one group: every op queued while the last commit ran. */
static void
commit_group(struct store *st, struct op *group)
{
    int64_t now = now_ms();
    const char *why = NULL;
    struct op *op;

    if (step_done(st->stmt[S_BEGIN]) != 0) {
        why = sqlite3_errmsg(st->wdb);
        goto failed;
    }
    for (op = group; op != NULL; op = op->next) {
        if (apply_op(st, op, now) != 0) {
            why = sqlite3_errmsg(st->wdb);
            goto rollback;
        }
    }
    if (step_done(st->stmt[S_COMMIT]) != 0) {
        why = sqlite3_errmsg(st->wdb);
        goto rollback;
    }
    pthread_mutex_lock(&st->lock);
    st->commits++;
    pthread_mutex_unlock(&st->lock);
    return;

rollback:
    /* One failure fails the whole group: nothing in it is acknowledged, so
     * nothing acknowledged is lost. */
    {
        char *copy = xstrdup(why);

        step_done(st->stmt[S_ROLLBACK]);
        for (op = group; op != NULL; op = op->next) {
            op->rc = -1;
            op->err = xasprintf("store: %s", copy);
        }
        free(copy);
        return;
    }
failed:
    for (op = group; op != NULL; op = op->next) {
        op->rc = -1;
        op->err = xasprintf("store: %s", why);
    }
}

static void *
writer_main(void *arg)
{
    struct store *st = arg;

    pthread_mutex_lock(&st->lock);
    for (;;) {
        struct op *group, *last;
        uint64_t one = 1;

        while (st->queue == NULL && !st->stop)
            pthread_cond_wait(&st->cond, &st->lock);
        if (st->queue == NULL && st->stop)
            break;
        group = st->queue;
        st->queue = NULL;
        st->queue_tail = &st->queue;
        pthread_mutex_unlock(&st->lock);

        commit_group(st, group);

        pthread_mutex_lock(&st->lock);
        for (last = group; last->next != NULL; last = last->next)
            st->ops++;
        st->ops++;
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

static void
free_op(struct op *op)
{
    if (op->kind == OP_FINISH) {
        free(op->u.fin.output);
        free(op->u.fin.error);
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
    sqlite3_close(st->rdb);
    sqlite3_close(st->wdb);
    pthread_mutex_destroy(&st->lock);
    pthread_cond_destroy(&st->cond);
    free(st);
}

struct store *
store_open(struct event_base *base, const char *path, const char *sync,
           char *err, size_t errlen)
{
    struct store *st = xcalloc(1, sizeof(*st));

    st->efd = -1;
    pthread_mutex_init(&st->lock, NULL);
    pthread_cond_init(&st->cond, NULL);
    st->queue_tail = &st->queue;
    st->done_tail = &st->done;
    if ((st->wdb = open_db(path, sync, err, errlen)) == NULL)
        goto fail;
    if (migrate(st->wdb, err, errlen) != 0)
        goto fail;
    if ((st->rdb = open_db(path, sync, err, errlen)) == NULL)
        goto fail;
    for (int i = 0; i < NSTMT; i++) {
        if (sqlite3_prepare_v3(st->wdb, stmt_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(st->wdb));
            goto fail;
        }
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
    release(st);
    return NULL;
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

void
store_put_events(struct store *st, struct store_new_event *evs, size_t n,
                 int64_t window, store_done_fn done, void *arg)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = OP_EVENTS;
    op->done = done;
    op->arg = arg;
    op->u.ev.evs = evs;
    op->u.ev.n = n;
    op->u.ev.window = window;
    enqueue(st, op);
}

void
store_start_attempt(struct store *st, const char *run_id, unsigned a,
                    int64_t started_at)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = OP_START;
    snprintf(op->u.start.run_id, sizeof(op->u.start.run_id), "%s", run_id);
    op->u.start.attempt = a;
    op->u.start.at = started_at;
    enqueue(st, op);
}

void
store_finish_attempt(struct store *st, const struct store_attempt *at,
                     store_done_fn done, void *arg)
{
    struct op *op = xcalloc(1, sizeof(*op));

    op->kind = OP_FINISH;
    op->done = done;
    op->arg = arg;
    op->u.fin.at = *at;
    op->u.fin.output = at->output ? xstrdup(at->output) : NULL;
    op->u.fin.error = at->error ? xstrdup(at->error) : NULL;
    op->u.fin.at.output = NULL;
    op->u.fin.at.error = NULL;
    enqueue(st, op);
}

int
store_requeue_running(struct store *st, char *err, size_t errlen)
{
    char sql[160];

    /* The writer thread is idle before serving starts, so the loop may
     * write here directly. */
    snprintf(sql, sizeof(sql),
             "UPDATE runs SET status = 'queued', updated_at = %lld"
             " WHERE status = 'running'",
             (long long)now_ms());
    if (exec_sql(st->rdb, sql, err, errlen) != 0)
        return -1;
    return sqlite3_changes(st->rdb);
}

/* "?, ?, ?" for N function ids, into a new string. */
static char *
placeholders(const char *const *fns, int *n)
{
    char *p;
    int k = 0;

    while (fns[k] != NULL)
        k++;
    *n = k;
    p = xcalloc(1, (size_t)k * 3 + 1);
    for (int i = 0; i < k; i++)
        strcat(p, i ? ",?" : "?");
    return p;
}

int
store_due_runs(struct store *st, int64_t now, const char *const *fns,
               int limit, int (*skip)(void *, const char *),
               void (*fn)(void *, const struct store_due *), void *arg)
{
    sqlite3_stmt *s;
    int n = 0, nf, rc;
    char *ph = placeholders(fns, &nf), *sql;

    if (nf == 0) {
        free(ph);
        return 0;
    }
    sql = xasprintf("SELECT r.id, r.function_id, r.attempt, e.json, e.id"
                    " FROM runs r JOIN events e ON e.id = r.event_id"
                    " WHERE r.status = 'queued' AND r.wake_at <= ?"
                    " AND r.function_id IN (%s)"
                    " ORDER BY r.wake_at LIMIT ?", ph);
    free(ph);
    rc = sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL);
    free(sql);
    if (rc != SQLITE_OK) {
        log_error("store", "due runs: %s", sqlite3_errmsg(st->rdb));
        return -1;
    }
    sqlite3_bind_int64(s, 1, now);
    for (int i = 0; i < nf; i++)
        bind_text(s, i + 2, fns[i]);
    sqlite3_bind_int(s, nf + 2, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_due d;

        n++;
        d.run_id = (const char *)sqlite3_column_text(s, 0);
        if (skip != NULL && skip(arg, d.run_id))
            continue;
        d.function_id = (const char *)sqlite3_column_text(s, 1);
        d.attempt = (unsigned)sqlite3_column_int(s, 2);
        d.event_json = (const char *)sqlite3_column_text(s, 3);
        d.event_id = (const char *)sqlite3_column_text(s, 4);
        fn(arg, &d);
    }
    if (rc != SQLITE_DONE) {
        log_error("store", "due runs: %s", sqlite3_errmsg(st->rdb));
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

int64_t
store_next_wake(struct store *st, int64_t now, const char *const *fns)
{
    sqlite3_stmt *s;
    int64_t t = 0;
    int nf, rc;
    char *ph = placeholders(fns, &nf), *sql;

    if (nf == 0) {
        free(ph);
        return 0;
    }
    sql = xasprintf("SELECT min(wake_at) FROM runs WHERE status = 'queued'"
                    " AND wake_at > ? AND function_id IN (%s)", ph);
    free(ph);
    rc = sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL);
    free(sql);
    if (rc != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(s, 1, now);
    for (int i = 0; i < nf; i++)
        bind_text(s, i + 2, fns[i]);
    if (sqlite3_step(s) == SQLITE_ROW)
        t = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return t;
}

/* ------------------------------------------------------------- reads */

static void
add_time(struct json_object *o, const char *key, sqlite3_stmt *s, int col)
{
    char buf[32];

    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        json_object_object_add(o, key, NULL);
        return;
    }
    time_format(sqlite3_column_int64(s, col), buf, sizeof(buf));
    json_object_object_add(o, key, json_object_new_string(buf));
}

static void
add_text(struct json_object *o, const char *key, sqlite3_stmt *s, int col)
{
    const char *v = (const char *)sqlite3_column_text(s, col);

    json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static const char *
api_status(const char *status, int attempt)
{
    if (strcmp(status, "queued") == 0)
        return attempt > 0 ? "Running" : "Queued";
    if (strcmp(status, "running") == 0)
        return "Running";
    if (strcmp(status, "completed") == 0)
        return "Completed";
    if (strcmp(status, "failed") == 0)
        return "Failed";
    if (strcmp(status, "cancelled") == 0)
        return "Cancelled";
    return "Unknown";
}

#define RUN_COLUMNS                                                         \
    "id, function_id, event_id, status, attempt, wake_at, output, error,"   \
    " created_at, started_at, ended_at, updated_at"

/* A run row in Inngest's v1 shape, plus fnhost's own fields. */
static struct json_object *
run_json(sqlite3 *db, sqlite3_stmt *s, int with_attempts)
{
    struct json_object *o = json_object_new_object();
    const char *status = (const char *)sqlite3_column_text(s, 3);
    const char *output = (const char *)sqlite3_column_text(s, 6);
    int attempt = sqlite3_column_int(s, 4);

    add_text(o, "run_id", s, 0);
    add_text(o, "function_id", s, 1);
    add_text(o, "event_id", s, 2);
    json_object_object_add(o, "status",
                           json_object_new_string(api_status(status, attempt)));
    add_time(o, "run_started_at", s, 9);
    add_time(o, "ended_at", s, 10);
    json_object_object_add(o, "output",
                           output ? json_tokener_parse(output) : NULL);
    add_text(o, "error", s, 7);
    json_object_object_add(o, "attempt", json_object_new_int(attempt));
    add_time(o, "created_at", s, 8);
    add_time(o, "updated_at", s, 11);
    if (strcmp(status, "queued") == 0)
        add_time(o, "next_attempt_at", s, 5);
    if (with_attempts) {
        static const char sql[] = "SELECT attempt, started_at, ended_at,"
                                  " error FROM attempts WHERE run_id = ?"
                                  " ORDER BY attempt";
        struct json_object *arr = json_object_new_array();
        sqlite3_stmt *a;

        if (sqlite3_prepare_v2(db, sql, -1, &a, NULL) == SQLITE_OK) {
            sqlite3_bind_text(a, 1, (const char *)sqlite3_column_text(s, 0),
                              -1, SQLITE_TRANSIENT);
            while (sqlite3_step(a) == SQLITE_ROW) {
                struct json_object *at = json_object_new_object();

                json_object_object_add(
                    at, "attempt", json_object_new_int(sqlite3_column_int(a, 0)));
                add_time(at, "started_at", a, 1);
                add_time(at, "ended_at", a, 2);
                add_text(at, "error", a, 3);
                json_object_array_add(arr, at);
            }
            sqlite3_finalize(a);
        }
        json_object_object_add(o, "attempts", arr);
    }
    return o;
}

static struct json_object *
query_runs(struct store *st, const char *sql, const char *const *args,
           int nargs, int limit, int single)
{
    sqlite3_stmt *s;
    struct json_object *arr = NULL, *one = NULL;

    if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) != SQLITE_OK) {
        log_error("store", "query runs: %s", sqlite3_errmsg(st->rdb));
        return NULL;
    }
    for (int i = 0; i < nargs; i++)
        bind_text(s, i + 1, args[i]);
    if (limit > 0)
        sqlite3_bind_int(s, nargs + 1, limit);
    if (!single)
        arr = json_object_new_array();
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (single) {
            one = run_json(st->rdb, s, 1);
            break;
        }
        json_object_array_add(arr, run_json(st->rdb, s, 0));
    }
    sqlite3_finalize(s);
    return single ? one : arr;
}

struct json_object *
store_get_run(struct store *st, const char *run_id)
{
    const char *args[] = {run_id};

    return query_runs(st, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?",
                      args, 1, 0, 1);
}

struct json_object *
store_event_runs(struct store *st, const char *event_id)
{
    const char *args[] = {event_id};

    return query_runs(st, "SELECT " RUN_COLUMNS " FROM runs WHERE"
                          " event_id = ? ORDER BY id",
                      args, 1, 0, 0);
}

struct json_object *
store_list_runs(struct store *st, const char *function_id,
                const char *status, int limit)
{
    const char *args[2];
    char sql[320];
    int n = 0;

    snprintf(sql, sizeof(sql), "SELECT " RUN_COLUMNS " FROM runs WHERE 1%s%s"
                               " ORDER BY id DESC LIMIT ?",
             function_id ? " AND function_id = ?" : "",
             status ? " AND status = ?" : "");
    if (function_id)
        args[n++] = function_id;
    if (status)
        args[n++] = status;
    return query_runs(st, sql, args, n, limit > 0 ? limit : 100, 0);
}

struct json_object *
store_get_event(struct store *st, const char *event_id)
{
    static const char sql[] = "SELECT id, name, user_id, ts, received_at,"
                              " json FROM events WHERE id = ?";
    sqlite3_stmt *s;
    struct json_object *o = NULL;

    if (sqlite3_prepare_v2(st->rdb, sql, -1, &s, NULL) != SQLITE_OK)
        return NULL;
    bind_text(s, 1, event_id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(s, 5);
        struct json_object *ev = json_tokener_parse(json);

        o = json_object_new_object();
        add_text(o, "internal_id", s, 0);
        add_text(o, "name", s, 1);
        add_text(o, "id", s, 2);
        json_object_object_add(o, "ts",
                               json_object_new_int64(sqlite3_column_int64(s, 3)));
        add_time(o, "received_at", s, 4);
        if (ev != NULL) {
            struct json_object *data;

            if (json_object_object_get_ex(ev, "data", &data))
                json_object_object_add(o, "data", json_object_get(data));
            json_object_put(ev);
        }
    }
    sqlite3_finalize(s);
    return o;
}

void
store_stats(struct store *st, uint64_t *ops, uint64_t *commits)
{
    pthread_mutex_lock(&st->lock);
    *ops = st->ops;
    *commits = st->commits;
    pthread_mutex_unlock(&st->lock);
}

int64_t
store_count_runs(struct store *st, const char *status)
{
    sqlite3_stmt *s;
    int64_t n = -1;

    if (sqlite3_prepare_v2(st->rdb,
                           status ? "SELECT count(*) FROM runs WHERE status = ?"
                                  : "SELECT count(*) FROM runs",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (status)
        bind_text(s, 1, status);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}
