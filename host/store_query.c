/* store_query.c - the store's reads: due runs for the scheduler, runs,
 * steps and events for the API. They use the loop's read connection and
 * see committed state only.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json_check.h"
#include "log.h"
#include "run_state.h"
#include "store_debounce.h"
#include "store_int.h"
#include "store_sql.h"
#include "store_wait.h"
#include "util.h"

/* How many ids FNS holds, up to its NULL. */
static int
count_ids(const char *const *fns)
{
    int k = 0;

    while (fns[k] != NULL)
        k++;
    return k;
}

/* "?,?,?" for N function ids, into a new string. */
static char *
placeholders(int n)
{
    char *p = xcalloc(1, (size_t)n * 2 + 1);

    for (int i = 0; i < n; i++)
        strcat(p, i ? ",?" : "?");
    return p;
}

void
store_scan_clear(struct store_scan *sc)
{
    sqlite3_finalize(sc->due);
    sqlite3_finalize(sc->wake);
    sqlite3_finalize(sc->conc);
    sc->due = sc->wake = sc->conc = NULL;
    sc->nf = 0;
}

/* ST's scan statements for NF function ids: the cached ones, or new ones
 * when the count changed (a new generation). NULL, with the reason in
 * ERR, if they cannot be prepared; the next call tries again. */
static struct store_scan *
scan_prepare(struct store *st, int nf, char *err, size_t errlen)
{
    struct store_scan *sc = store_scan(st);
    sqlite3 *db = store_reader(st);
    char *ph, *sql;
    int rc;

    if (sc->due != NULL && sc->nf == nf)
        return sc;
    store_scan_clear(sc);
    ph = placeholders(nf);
    sql = xasprintf("SELECT r.id, r.function_id, r.attempt, e.json, e.id,"
                    " r.target_step, CASE WHEN r.target_step IS NOT NULL"
                    " THEN r.parent_run_id END, r.conc_key1, r.conc_key2,"
                    " r.wake_at FROM runs r JOIN events e"
                    " ON e.id = r.event_id"
                    " WHERE r.status IN ('queued', 'sleeping')"
                    " AND r.wake_at <= ?"
                    /* A cancel is pending only for a run that was on a
                     * worker when the host stopped: the start ends it. */
                    " AND r.cancel_at IS NULL"
                    /* "+" keeps SQLite on runs_due: with the function
                     * index it would read every sleeping run. */
                    " AND +r.function_id IN (%s)"
                    " ORDER BY r.wake_at LIMIT ?", ph);
    rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                            &sc->due, NULL);
    free(sql);
    if (rc == SQLITE_OK) {
        sql = xasprintf("SELECT min(wake_at) FROM runs"
                        " WHERE status IN ('queued', 'sleeping')"
                        " AND wake_at > ? AND +function_id IN (%s)", ph);
        rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &sc->wake, NULL);
        free(sql);
    }
    free(ph);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        store_scan_clear(sc);
        return NULL;
    }
    sc->nf = nf;
    return sc;
}

/* Binds NOW and the NF ids of FNS to S, from parameter 1 on. */
static void
scan_bind(sqlite3_stmt *s, int64_t now, const char *const *fns, int nf)
{
    sqlite3_bind_int64(s, 1, now);
    for (int i = 0; i < nf; i++)
        store_bind_text(s, i + 2, fns[i]);
}

/* Ends a use of S: it leaves its read transaction and forgets the ids,
 * which the generation owns. */
static void
scan_done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Calls FN for each row of S (the columns of the due scan), unless SKIP
 * says it is claimed. Returns the number of rows, or -1 logged as a read
 * of WHAT. */
static int
due_rows(struct store *st, sqlite3_stmt *s, int (*skip)(void *, const char *),
         void (*fn)(void *, const struct store_due *), void *arg,
         const char *what)
{
    int n = 0, rc;

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
        d.target = (const char *)sqlite3_column_text(s, 5);
        d.group_run = (const char *)sqlite3_column_text(s, 6);
        d.conc_keys[0] = (const char *)sqlite3_column_text(s, 7);
        d.conc_keys[1] = (const char *)sqlite3_column_text(s, 8);
        d.wake_at = sqlite3_column_int64(s, 9);
        fn(arg, &d);
    }
    if (rc != SQLITE_DONE) {
        log_error("store", "%s: %s", what, sqlite3_errmsg(store_reader(st)));
        n = -1;
    }
    return n;
}

int
store_due_runs(struct store *st, int64_t now, const char *const *fns,
               int limit, int (*skip)(void *, const char *),
               void (*fn)(void *, const struct store_due *), void *arg)
{
    struct store_scan *sc;
    sqlite3_stmt *s;
    char err[256];
    int n, nf = count_ids(fns);

    if (nf == 0)
        return 0;
    if ((sc = scan_prepare(st, nf, err, sizeof(err))) == NULL) {
        log_error("store", "due runs: %s", err);
        return -1;
    }
    s = sc->due;
    scan_bind(s, now, fns, nf);
    sqlite3_bind_int(s, nf + 2, limit);
    n = due_rows(st, s, skip, fn, arg, "due runs");
    scan_done(s);
    return n;
}

int
store_conc_queue(struct store *st, const char *key, int limit,
                 int (*skip)(void *, const char *),
                 void (*fn)(void *, const struct store_due *), void *arg)
{
    struct store_scan *sc = store_scan(st);
    int n;

    if (sc->conc == NULL &&
        sqlite3_prepare_v3(store_reader(st),
                           "SELECT r.id, r.function_id, r.attempt, e.json,"
                           " e.id, NULL, NULL, r.conc_key1, r.conc_key2,"
                           " r.wake_at FROM runs r"
                           " JOIN events e ON e.id = r.event_id"
                           /* Through runs_conc: this key's runs only. */
                           " WHERE r.status = 'concurrency'"
                           " AND r.conc_wait = ?"
                           " ORDER BY r.wake_at LIMIT ?", -1,
                           SQLITE_PREPARE_PERSISTENT, &sc->conc,
                           NULL) != SQLITE_OK) {
        log_error("store", "a concurrency key's queue: %s",
                  sqlite3_errmsg(store_reader(st)));
        sc->conc = NULL;
        return -1;
    }
    store_bind_text(sc->conc, 1, key);
    sqlite3_bind_int(sc->conc, 2, limit);
    n = due_rows(st, sc->conc, skip, fn, arg, "a concurrency key's queue");
    scan_done(sc->conc);
    return n;
}

int64_t
store_next_wake(struct store *st, int64_t now, const char *const *fns)
{
    struct store_scan *sc;
    int64_t t = 0;
    char err[256];
    int nf = count_ids(fns), rc;

    if (nf == 0)
        return 0;
    if ((sc = scan_prepare(st, nf, err, sizeof(err))) != NULL) {
        scan_bind(sc->wake, now, fns, nf);
        rc = sqlite3_step(sc->wake);
        if (rc == SQLITE_ROW)
            t = sqlite3_column_int64(sc->wake, 0);
        else if (rc != SQLITE_DONE)
            snprintf(err, sizeof(err), "%s",
                     sqlite3_errmsg(store_reader(st)));
        scan_done(sc->wake);
    } else {
        rc = SQLITE_ERROR;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        /* No answer is not "nothing sleeps": look again in a second. */
        log_error("store", "cannot find the next wake time: %s", err);
        t = now + 1000;
    }
    return t;
}

/* Prepares SQL on the read connection into *S: these reads are rare (a
 * deadline, a cancel), so each call prepares and finalizes its own.
 * Returns 0, or -1 logged as reading WHAT. */
static int
prepare_read(struct store *st, const char *sql, sqlite3_stmt **s,
             const char *what)
{
    if (sqlite3_prepare_v2(store_reader(st), sql, -1, s, NULL) == SQLITE_OK)
        return 0;
    log_error("store", "cannot read %s: %s", what,
              sqlite3_errmsg(store_reader(st)));
    return -1;
}

/* Ends a read of WHAT that stopped with RC: N, or -1 (logged) unless it
 * reached the end. */
static int
finish_read(struct store *st, sqlite3_stmt *s, int rc, int n,
            const char *what)
{
    if (rc != SQLITE_DONE) {
        log_error("store", "cannot read %s: %s", what,
                  sqlite3_errmsg(store_reader(st)));
        n = -1;
    }
    sqlite3_finalize(s);
    return n;
}

int
store_overdue_runs(struct store *st, int64_t now, int limit,
                   void (*fn)(void *, const char *, int), void *arg)
{
    /* Through runs_deadline, which holds unfinished runs only. */
    static const char sql[] = "SELECT id, started_at IS NOT NULL FROM runs"
                              " WHERE deadline <= ? AND cancel_at IS NULL"
                              " ORDER BY deadline LIMIT ?";
    sqlite3_stmt *s;
    int n = 0, rc;

    if (prepare_read(st, sql, &s, "overdue runs") != 0)
        return -1;
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        n++;
        fn(arg, (const char *)sqlite3_column_text(s, 0),
           sqlite3_column_int(s, 1));
    }
    return finish_read(st, s, rc, n, "overdue runs");
}

int64_t
store_next_deadline(struct store *st, int64_t now)
{
    static const char sql[] = "SELECT min(deadline) FROM runs"
                              " WHERE deadline > ? AND cancel_at IS NULL";
    sqlite3_stmt *s;
    int64_t t = 0;
    int rc;

    if (prepare_read(st, sql, &s, "the next deadline") != 0)
        return now + 1000;
    sqlite3_bind_int64(s, 1, now);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        t = sqlite3_column_int64(s, 0);
        rc = SQLITE_DONE;
    }
    if (finish_read(st, s, rc, 0, "the next deadline") < 0)
        t = now + 1000; /* no answer is not "no deadline" */
    return t;
}

int
store_runs_to_cancel(struct store *st, const char *function_id, int64_t from,
                     int64_t to, int64_t after_at, const char *after_id,
                     int limit, void (*fn)(void *, const struct store_found *),
                     void *arg)
{
    /* Through runs_function (function_id, created_at). */
    static const char sql[] = "SELECT r.id, r.created_at, e.json FROM runs r"
                              " JOIN events e ON e.id = r.event_id"
                              " WHERE r.function_id = ? AND r.created_at >= ?"
                              " AND r.created_at < ?"
                              /* Branches end with their runs. */
                              " AND r.target_step IS NULL"
                              " AND (r.created_at, r.id) > (?, ?)"
                              " AND r.status IN (" RUN_LIVE_SQL ")"
                              " AND r.cancel_at IS NULL"
                              " ORDER BY r.created_at, r.id LIMIT ?";
    sqlite3_stmt *s;
    int n = 0, rc;

    if (prepare_read(st, sql, &s, "runs to cancel") != 0)
        return -1;
    store_bind_text(s, 1, function_id);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    sqlite3_bind_int64(s, 4, after_at);
    store_bind_text(s, 5, after_id);
    sqlite3_bind_int(s, 6, limit);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_found f = {
            (const char *)sqlite3_column_text(s, 0),
            sqlite3_column_int64(s, 1),
            (const char *)sqlite3_column_text(s, 2)};

        n++;
        fn(arg, &f);
    }
    return finish_read(st, s, rc, n, "runs to cancel");
}

int
store_run_status(struct store *st, const char *run_id, char *status,
                 size_t len)
{
    sqlite3_stmt *s;
    int rc, found = 0;

    if (prepare_read(st, "SELECT status FROM runs WHERE id = ?", &s,
                     "a run's status") != 0)
        return -1;
    store_bind_text(s, 1, run_id);
    if ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        snprintf(status, len, "%s", (const char *)sqlite3_column_text(s, 0));
        found = 1;
        rc = SQLITE_DONE;
    }
    return finish_read(st, s, rc, found, "a run's status");
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

/* The stored JSON text S (may be NULL) as a value to serve, or NULL
 * (null) if it is not JSON as RFC 8259 has it: results and outputs are
 * checked before they are stored, but a store written before those
 * checks may hold NaN, and the API prints only JSON. */
static struct json_object *
stored_json(const char *s)
{
    size_t at;

    if (s == NULL ||
        json_check_strict(s, strlen(s), JSON_PARSE_DEPTH, &at) != NULL)
        return NULL;
    return json_parse(s);
}

/* run_state_is(FILTER, status, attempt, function_id): whether a row is
 * found by the status filter FILTER (an enum run_state), decided by the
 * same decoding that shows it. */
static void
run_state_is_sql(sqlite3_context *c, int argc, sqlite3_value **v)
{
    struct store *st = sqlite3_user_data(c);
    enum run_state s = run_state_decode(
        (const char *)sqlite3_value_text(v[1]), sqlite3_value_int(v[2]),
        store_function_loaded(st, (const char *)sqlite3_value_text(v[3])));

    sqlite3_result_int(c, run_state_matches(sqlite3_value_int(v[0]), s));
}

int
store_query_init(struct store *st, sqlite3 *db)
{
    return sqlite3_create_function(db, "run_state_is", 4,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, st,
                                   run_state_is_sql, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

/* Ends the row loop of Q over ARR (what RUN_ID's rows are): ARR, or NULL
 * (logged) if the rows stopped on an error rather than at their end. */
static struct json_object *
rows_end(sqlite3 *db, sqlite3_stmt *q, int rc, struct json_object *arr,
         const char *what, const char *run_id)
{
    if (rc != SQLITE_DONE) {
        log_error("store", "cannot read the %s of run %s: %s", what, run_id,
                  sqlite3_errmsg(db));
        json_object_put(arr);
        arr = NULL;
    }
    sqlite3_finalize(q);
    return arr;
}

/* Every step of a run, in the order they were stored; NULL if they
 * cannot be read. */
static struct json_object *
run_steps_json(sqlite3 *db, const char *run_id)
{
    static const char sql[] =
        "SELECT step_id, name, kind, status, attempts, started_at,"
        " ended_at, result, error, wake_at FROM steps WHERE run_id = ?"
        " ORDER BY rowid";
    struct json_object *arr = json_object_new_array();
    sqlite3_stmt *q;

    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return rows_end(db, NULL, SQLITE_ERROR, arr, "steps", run_id);
    sqlite3_bind_text(q, 1, run_id, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct json_object *o = json_object_new_object();
        const char *result = (const char *)sqlite3_column_text(q, 7);

        add_text(o, "step_id", q, 0);
        add_text(o, "name", q, 1);
        add_text(o, "kind", q, 2);
        add_text(o, "status", q, 3);
        json_object_object_add(o, "attempts",
                               json_object_new_int(sqlite3_column_int(q, 4)));
        add_time(o, "started_at", q, 5);
        add_time(o, "ended_at", q, 6);
        json_object_object_add(o, "result", stored_json(result));
        add_text(o, "error", q, 8);
        if (sqlite3_column_type(q, 9) != SQLITE_NULL)
            add_time(o, "wake_at", q, 9);
        json_object_array_add(arr, o);
    }
    return rows_end(db, q, rc, arr, "steps", run_id);
}

/* Every attempt of a run, oldest first; NULL if they cannot be read. */
static struct json_object *
run_attempts_json(sqlite3 *db, const char *run_id)
{
    static const char sql[] = "SELECT step_id, attempt, started_at,"
                              " ended_at, error FROM attempts"
                              " WHERE run_id = ? ORDER BY rowid";
    struct json_object *arr = json_object_new_array();
    sqlite3_stmt *q;

    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return rows_end(db, NULL, SQLITE_ERROR, arr, "attempts", run_id);
    sqlite3_bind_text(q, 1, run_id, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct json_object *at = json_object_new_object();

        add_text(at, "step_id", q, 0);
        json_object_object_add(at, "attempt",
                               json_object_new_int(sqlite3_column_int(q, 1)));
        add_time(at, "started_at", q, 2);
        add_time(at, "ended_at", q, 3);
        add_text(at, "error", q, 4);
        json_object_array_add(arr, at);
    }
    return rows_end(db, q, rc, arr, "attempts", run_id);
}

/* What a run's plugins logged (fh_log), in order; NULL if it cannot be
 * read. */
static struct json_object *
run_logs_json(sqlite3 *db, const char *run_id)
{
    static const char sql[] = "SELECT at, attempt, level, message FROM"
                              " run_logs WHERE run_id = ? ORDER BY seq";
    struct json_object *arr = json_object_new_array();
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return rows_end(db, NULL, SQLITE_ERROR, arr, "logs", run_id);
    sqlite3_bind_text(q, 1, run_id, -1, SQLITE_TRANSIENT);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct json_object *l = json_object_new_object();

        add_time(l, "at", q, 0);
        json_object_object_add(l, "attempt",
                               json_object_new_int(sqlite3_column_int(q, 1)));
        add_text(l, "level", q, 2);
        add_text(l, "message", q, 3);
        json_object_array_add(arr, l);
    }
    return rows_end(db, q, rc, arr, "logs", run_id);
}

/* Appends the NUL-terminated text S (or nothing, for NULL) to the text
 * *BUF of *LEN bytes (*CAP allocated); returns its offset, or SIZE_MAX
 * for NULL. */
static size_t
memo_text(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t at = *len, n;

    if (s == NULL)
        return SIZE_MAX;
    n = strlen(s) + 1;
    if (*cap - *len < n) {
        while (*cap - *len < n)
            *cap = *cap ? *cap * 2 : 4096;
        *buf = xrealloc(*buf, *cap);
    }
    memcpy(*buf + at, s, n);
    *len += n;
    return at;
}

/* The memo of N entries whose strings are at the offsets OFF (three per
 * entry, SIZE_MAX for NULL) in TEXT, in one new block. */
static struct step_memo *
memo_build(const size_t *off, size_t n, const char *text, size_t len)
{
    size_t head = sizeof(struct step_memo) + n * sizeof(struct step_memo_entry);
    struct step_memo *m = xmalloc(head + len);
    char *t = (char *)m + head;

    m->v = (struct step_memo_entry *)(m + 1);
    m->n = n;
    if (len > 0)
        memcpy(t, text, len);
    for (size_t i = 0; i < n; i++) {
        const size_t *o = off + 3 * i;

        m->v[i].step_id = t + o[0];
        m->v[i].result = o[1] == SIZE_MAX ? NULL : t + o[1];
        m->v[i].error = o[2] == SIZE_MAX ? NULL : t + o[2];
    }
    return m;
}

struct step_memo *
store_run_steps(struct store *st, const char *run_id, int64_t now)
{
    static const char sql[] = "SELECT step_id, status, result, error,"
                              " wake_at FROM steps WHERE run_id = ?";
    struct step_memo *memo = NULL;
    sqlite3_stmt *q;
    char *text = NULL;
    size_t *off = NULL, n = 0, nalloc = 0, len = 0, cap = 0;
    int rc;

    if (sqlite3_prepare_v2(store_reader(st), sql, -1, &q, NULL) != SQLITE_OK) {
        log_error("store", "cannot read the steps of run %s: %s", run_id,
                  sqlite3_errmsg(store_reader(st)));
        return NULL;
    }
    store_bind_text(q, 1, run_id);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *status = (const char *)sqlite3_column_text(q, 1);
        const char *result = NULL, *error = NULL;

        if (strcmp(status, "failed") == 0) {
            error = (const char *)sqlite3_column_text(q, 3) ?: "step failed";
        } else if (strcmp(status, "sleeping") == 0 &&
                   sqlite3_column_int64(q, 4) > now) {
            continue; /* still asleep: not done */
        } else if (strcmp(status, "waiting") == 0 ||
                   strcmp(status, "invoking") == 0 ||
                   strcmp(status, "parallel") == 0) {
            /* Only the writer ends them (an event, an invoked run's or
             * the last branch's end, or the timeout), before the run is
             * due. */
            continue;
        } else {
            result = (const char *)sqlite3_column_text(q, 2);
        }
        if (n == nalloc) {
            nalloc = nalloc ? nalloc * 2 : 16;
            off = xrealloc(off, nalloc * 3 * sizeof(*off));
        }
        off[3 * n] = memo_text(&text, &len, &cap,
                               (const char *)sqlite3_column_text(q, 0));
        off[3 * n + 1] = memo_text(&text, &len, &cap, result);
        off[3 * n + 2] = memo_text(&text, &len, &cap, error);
        n++;
    }
    if (rc == SQLITE_DONE) {
        memo = memo_build(off, n, text, len);
    } else {
        /* Half a memo would run stored steps again: none at all. */
        log_error("store", "cannot read the steps of run %s: %s", run_id,
                  sqlite3_errmsg(store_reader(st)));
    }
    sqlite3_finalize(q);
    free(off);
    free(text);
    return memo;
}

#define RUN_COLUMNS                                                         \
    "id, function_id, event_id, status, attempt, wake_at, output, error,"   \
    " created_at, started_at, ended_at, updated_at, cancel_at, deadline,"  \
    " throttle_key, priority"
/* The same columns for a list of run summaries: outputs (up to
 * STEPRULES_MAX_OUTPUT each) are not even read. */
#define RUN_SUMMARY_COLUMNS                                                 \
    "id, function_id, event_id, status, attempt, wake_at, NULL, error,"     \
    " created_at, started_at, ended_at, updated_at, cancel_at, deadline,"  \
    " throttle_key, priority"

/* What a run's JSON holds besides its summary. */
enum run_detail {
    RUN_SUMMARY = 0,
    RUN_OUTPUT = 1, /* its output */
    RUN_STEPS = 2,  /* its steps and attempts */
};

/* Adds to O, the JSON of run RUN_ID, its batch's events as "event_ids"
 * (their internal ids, in order), if it is a batch's run. */
static void
run_event_ids(sqlite3 *db, const char *run_id, struct json_object *o)
{
    sqlite3_stmt *s;
    struct json_object *ids = NULL;

    if (sqlite3_prepare_v2(db, "SELECT event_id FROM run_events"
                               " WHERE run_id = ? ORDER BY seq",
                           -1, &s, NULL) != SQLITE_OK)
        return;
    store_bind_text(s, 1, run_id);
    while (sqlite3_step(s) == SQLITE_ROW) {
        if (ids == NULL)
            ids = json_object_new_array();
        json_object_array_add(ids, json_object_new_string((const char *)
                                  sqlite3_column_text(s, 0)));
    }
    sqlite3_finalize(s);
    if (ids != NULL)
        json_object_object_add(o, "event_ids", ids);
}

/* A run row in Inngest's v1 shape, plus fnhost's own fields, with what
 * DETAIL (enum run_detail bits) asks for; NULL if its steps or attempts
 * cannot be read. */
static struct json_object *
run_json(struct store *st, sqlite3_stmt *s, int detail)
{
    sqlite3 *db = store_reader(st);
    struct json_object *o = json_object_new_object();
    const char *status = (const char *)sqlite3_column_text(s, 3);
    const char *output = (const char *)sqlite3_column_text(s, 6);
    int attempt = sqlite3_column_int(s, 4);
    enum run_state state = run_state_decode(
        status, attempt,
        store_function_loaded(st, (const char *)sqlite3_column_text(s, 1)));

    add_text(o, "run_id", s, 0);
    add_text(o, "function_id", s, 1);
    add_text(o, "event_id", s, 2);
    json_object_object_add(o, "status",
                           json_object_new_string(run_state_shown(state)));
    if (state == RS_WAITING)
        json_object_object_add(o, "waiting_for_function",
                               json_object_new_boolean(1));
    if (run_state_reason(state) != NULL)
        json_object_object_add(o, "queued_reason", json_object_new_string(
                                                       run_state_reason(
                                                           state)));
    else if (state == RS_QUEUED &&
             sqlite3_column_type(s, 14) != SQLITE_NULL &&
             sqlite3_column_int64(s, 5) > now_ms()) {
        /* Its throttle's key had no room when it was created: it starts
         * at its turn, next_attempt_at. */
        json_object_object_add(o, "queued_reason",
                               json_object_new_string("throttled"));
        add_text(o, "throttle_key", s, 14);
    }
    add_time(o, "run_started_at", s, 9);
    add_time(o, "ended_at", s, 10);
    if (detail & RUN_OUTPUT)
        json_object_object_add(o, "output", stored_json(output));
    add_text(o, "error", s, 7);
    json_object_object_add(o, "attempt", json_object_new_int(attempt));
    add_time(o, "created_at", s, 8);
    add_time(o, "updated_at", s, 11);
    if (strcmp(status, "queued") == 0 &&
        sqlite3_column_int64(s, 5) == STORE_DEBOUNCE_PARKED) {
        /* Parked: debounced or batching, waiting for its time. */
        struct json_object *d =
            store_debounce_of_run(st, (const char *)sqlite3_column_text(s, 0));

        /* A batch's row counts its events. */
        if (d != NULL && json_object_object_get_ex(d, "size", NULL)) {
            json_object_object_add(o, "queued_reason",
                                   json_object_new_string("batching"));
            json_object_object_add(o, "batching", d);
        } else if (d != NULL) {
            json_object_object_add(o, "debouncing", d);
        }
    } else if (strcmp(status, "queued") == 0) {
        add_time(o, "next_attempt_at", s, 5);
    }
    if (strcmp(status, "sleeping") == 0)
        add_time(o, "sleeping_until", s, 5);
    if (state == RS_WAITING_EVENT) {
        struct json_object *w =
            store_waits_of_run(st, (const char *)sqlite3_column_text(s, 0));

        if (w != NULL)
            json_object_object_add(o, "waiting_for", w);
    }
    /* A cancel asked for a run on a worker, due at its next step
     * boundary; and when its timeouts cancel it if it has not ended. */
    if (state != RS_CANCELLED && sqlite3_column_type(s, 12) != SQLITE_NULL)
        add_time(o, "cancel_requested_at", s, 12);
    if (sqlite3_column_type(s, 13) != SQLITE_NULL)
        add_time(o, "deadline", s, 13);
    /* priority.run, as evaluated when the run was made; only a run's
     * first attempt waits in line by it. */
    json_object_object_add(o, "priority",
                           json_object_new_int(sqlite3_column_int(s, 15)));
    if (detail & RUN_STEPS) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        struct json_object *steps = run_steps_json(db, id);
        struct json_object *attempts = steps ? run_attempts_json(db, id)
                                             : NULL;
        struct json_object *logs = attempts ? run_logs_json(db, id) : NULL;

        if (logs == NULL) {
            /* Shown without them, the run would look as if it had none. */
            json_object_put(steps);
            json_object_put(attempts);
            json_object_put(o);
            return NULL;
        }
        json_object_object_add(o, "steps", steps);
        json_object_object_add(o, "attempts", attempts);
        json_object_object_add(o, "logs", logs);
        run_event_ids(db, id, o);
    }
    return o;
}

/* The runs SQL finds (ARGS bound from 1 on, then LIMIT if positive), as
 * an array of what DETAIL asks for; with SINGLE, the first one alone,
 * with its steps and attempts. */
static struct json_object *
query_runs(struct store *st, const char *sql, const char *const *args,
           int nargs, int limit, int single, int detail, int *failed)
{
    sqlite3_stmt *s;
    struct json_object *arr = NULL, *one = NULL;
    int rc;

    if (failed != NULL)
        *failed = 0;
    if (sqlite3_prepare_v2(store_reader(st), sql, -1, &s, NULL) != SQLITE_OK) {
        log_error("store", "cannot read runs: %s",
                  sqlite3_errmsg(store_reader(st)));
        if (failed != NULL)
            *failed = 1;
        return NULL;
    }
    for (int i = 0; i < nargs; i++)
        store_bind_text(s, i + 1, args[i]);
    if (limit > 0)
        sqlite3_bind_int(s, nargs + 1, limit);
    if (!single)
        arr = json_object_new_array();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (single) {
            one = run_json(st, s, RUN_OUTPUT | RUN_STEPS);
            rc = one != NULL ? SQLITE_DONE : SQLITE_ABORT; /* logged */
            break;
        }
        json_object_array_add(arr, run_json(st, s, detail));
    }
    if (rc != SQLITE_DONE) {
        /* Not "no such run": a part of the answer is no answer. */
        if (rc != SQLITE_ABORT)
            log_error("store", "cannot read runs: %s",
                      sqlite3_errmsg(store_reader(st)));
        json_object_put(arr);
        json_object_put(one);
        arr = one = NULL;
        if (failed != NULL)
            *failed = 1;
    }
    sqlite3_finalize(s);
    return single ? one : arr;
}

struct json_object *
store_get_run(struct store *st, const char *run_id, int *failed)
{
    const char *args[] = {run_id};

    return query_runs(st, "SELECT " RUN_COLUMNS " FROM runs WHERE id = ?",
                      args, 1, 0, 1, RUN_OUTPUT | RUN_STEPS, failed);
}

struct json_object *
store_event_runs(struct store *st, const char *event_id)
{
    const char *args[] = {event_id};

    /* With their outputs, as Inngest's answer has them (a client polls
     * this for a run's result): one per function the event started, or
     * whose batch it joined. */
    return query_runs(st, "SELECT " RUN_COLUMNS " FROM runs WHERE"
                          " (event_id = ?1 OR id IN (SELECT run_id FROM"
                          " run_events WHERE event_id = ?1))"
                          " AND target_step IS NULL ORDER BY id",
                      args, 1, 0, 0, RUN_OUTPUT, NULL);
}

struct json_object *
store_list_runs(struct store *st, const char *function_id,
                const char *status, int limit)
{
    const char *args[2];
    char sql[512], filter[16];
    int n = 0, state = status ? run_state_parse(status) : -1;

    snprintf(sql, sizeof(sql), "SELECT " RUN_SUMMARY_COLUMNS " FROM runs"
                               " WHERE target_step IS NULL%s%s"
                               " ORDER BY id DESC LIMIT ?",
             function_id ? " AND function_id = ?" : "",
             state >= 0 ? " AND run_state_is(CAST(? AS INTEGER), status,"
                          " attempt, function_id)"
                        : "");
    if (function_id)
        args[n++] = function_id;
    if (state >= 0) {
        snprintf(filter, sizeof(filter), "%d", state);
        args[n++] = filter;
    }
    return query_runs(st, sql, args, n, limit > 0 ? limit : 100, 0,
                      RUN_SUMMARY, NULL);
}

/* Adds to O, event EVENT_ID's detail, the functions an option (a rate
 * limit, a singleton, a debounce, an idempotency key) did not start for
 * it: "skipped": [{"function_id", "reason"}], when there are any. */
static void
add_skipped(struct store *st, struct json_object *o, const char *event_id)
{
    static const char sql[] = "SELECT function_id, reason FROM skipped"
                              " WHERE event_id = ? ORDER BY function_id";
    struct json_object *list = NULL;
    sqlite3_stmt *s;

    if (sqlite3_prepare_v2(store_reader(st), sql, -1, &s, NULL) != SQLITE_OK)
        return;
    store_bind_text(s, 1, event_id);
    while (sqlite3_step(s) == SQLITE_ROW) {
        struct json_object *k = json_object_new_object();

        add_text(k, "function_id", s, 0);
        add_text(k, "reason", s, 1);
        if (list == NULL)
            list = json_object_new_array();
        json_object_array_add(list, k);
    }
    sqlite3_finalize(s);
    if (list != NULL)
        json_object_object_add(o, "skipped", list);
}

struct json_object *
store_get_event(struct store *st, const char *event_id, int *failed)
{
    static const char sql[] = "SELECT id, name, user_id, ts, received_at,"
                              " json FROM events WHERE id = ?";
    sqlite3_stmt *s;
    struct json_object *o = NULL;
    int rc;

    if (failed != NULL)
        *failed = 0;
    if (sqlite3_prepare_v2(store_reader(st), sql, -1, &s, NULL) != SQLITE_OK) {
        log_error("store", "cannot read event %s: %s", event_id,
                  sqlite3_errmsg(store_reader(st)));
        if (failed != NULL)
            *failed = 1;
        return NULL;
    }
    store_bind_text(s, 1, event_id);
    if ((rc = sqlite3_step(s)) != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("store", "cannot read event %s: %s", event_id,
                  sqlite3_errmsg(store_reader(st)));
        if (failed != NULL)
            *failed = 1;
    }
    if (rc == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(s, 5);
        struct json_object *ev = json_parse(json);

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
    if (o != NULL)
        add_skipped(st, o, event_id);
    return o;
}

int64_t
store_count_runs(struct store *st, const char *status)
{
    sqlite3_stmt *s;
    int64_t n = -1;

    if (sqlite3_prepare_v2(store_reader(st),
                           status ? "SELECT count(*) FROM runs WHERE status = ?"
                                  : "SELECT count(*) FROM runs",
                           -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (status)
        store_bind_text(s, 1, status);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

int
store_pending_fetches(struct store *st,
                      void (*fn)(void *arg, const struct store_fetch *f),
                      void *arg)
{
    static const char sql[] =
        "SELECT f.run_id, r.function_id, f.step_id, f.name, f.request,"
        " f.attempt, f.due_at, f.started_at FROM fetches f"
        " JOIN runs r ON r.id = f.run_id WHERE r.status = 'fetching'";
    sqlite3 *db = store_reader(st);
    sqlite3_stmt *q;
    int rc;

    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        log_error("store", "cannot read the pending fetches: %s",
                  sqlite3_errmsg(db));
        return -1;
    }
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct store_fetch f = {
            .run_id = (const char *)sqlite3_column_text(q, 0),
            .function_id = (const char *)sqlite3_column_text(q, 1),
            .step_id = (const char *)sqlite3_column_text(q, 2),
            .name = (const char *)sqlite3_column_text(q, 3),
            .request = (const char *)sqlite3_column_text(q, 4),
            .attempt = (unsigned)sqlite3_column_int(q, 5),
            .due_at = sqlite3_column_int64(q, 6),
            .started_at = sqlite3_column_int64(q, 7),
        };

        fn(arg, &f);
    }
    if (rc != SQLITE_DONE)
        log_error("store", "cannot read the pending fetches: %s",
                  sqlite3_errmsg(db));
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -1;
}
