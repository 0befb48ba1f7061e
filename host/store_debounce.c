/* store_debounce.c - debounce and batches in the store: a pending run per
 * function and key, pushed back or filled by each event of the key
 * (store_debounce.h).
 * SPDX-License-Identifier: Apache-2.0 */
#include "store_debounce.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

enum {
    D_GET,
    D_PUT,
    D_PUSH,
    D_RUN_EVENT,
    D_PARK,
    D_SKIP,
    D_DUE,
    D_FIRE,
    D_DEL,
    B_ADD,
    B_SIZE,
    ND
};

static const char *const debounce_sql[ND] = {
    /* The key's pending run: one that has not started since it was
     * parked (a cancelled one is not). */
    [D_GET] = "SELECT d.run_id, d.event_id, d.max_at, d.size, d.due_at,"
              " d.start_ms FROM debounces d"
              " JOIN runs r ON r.id = d.run_id"
              " WHERE d.function_id = ? AND d.key = ?"
              " AND r.status = 'queued'"
              " AND r.wake_at = " STORE_DEBOUNCE_PARKED_SQL,
    /* A batch's size is ?8; a debounce leaves it NULL. */
    [D_PUT] = "INSERT OR REPLACE INTO debounces(function_id, key, run_id,"
              " event_id, due_at, max_at, start_ms, size)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    [D_PUSH] = "UPDATE debounces SET event_id = ?, due_at = ?"
               " WHERE function_id = ? AND key = ?",
    [D_RUN_EVENT] = "UPDATE runs SET event_id = ?, updated_at = ?"
                    " WHERE id = ?",
    /* Parked: no scan loads it, and timeouts.start waits too. */
    [D_PARK] = "UPDATE runs SET wake_at = " STORE_DEBOUNCE_PARKED_SQL ","
               " deadline = NULL WHERE id = ?",
    [D_SKIP] = "INSERT OR IGNORE INTO skipped(event_id, function_id, reason,"
               " at) VALUES (?, ?, 'debounce', ?)",
    [D_DUE] = "SELECT function_id, key, run_id, start_ms FROM debounces"
              " WHERE due_at <= ? ORDER BY due_at LIMIT ?",
    /* Due now, placed in line by its priority (store.c's run_wake());
     * its timeouts.start (?3 ms, 0: none) counts from then. */
    [D_FIRE] = "UPDATE runs SET wake_at = ?1 - 1000 * priority,"
               " updated_at = ?1, deadline = CASE WHEN ?3 > 0 THEN"
               " max(?1, ?1 - 1000 * priority) + ?3 END"
               " WHERE id = ?2 AND status = 'queued'"
               " AND wake_at = " STORE_DEBOUNCE_PARKED_SQL,
    [D_DEL] = "DELETE FROM debounces WHERE function_id = ? AND key = ?",
    [B_ADD] = "INSERT INTO run_events(run_id, seq, event_id)"
              " VALUES (?, ?, ?)",
    [B_SIZE] = "UPDATE debounces SET size = ? WHERE function_id = ?"
               " AND key = ?",
};

struct store_debounce {
    sqlite3 *db;
    sqlite3_stmt *stmt[ND];
};

struct store_debounce *
store_debounce_new(sqlite3 *db, char *err, size_t errlen)
{
    struct store_debounce *d = xcalloc(1, sizeof(*d));

    d->db = db;
    for (int i = 0; i < ND; i++) {
        if (sqlite3_prepare_v3(db, debounce_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &d->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(db));
            store_debounce_free(d);
            return NULL;
        }
    }
    return d;
}

void
store_debounce_free(struct store_debounce *d)
{
    if (d == NULL)
        return;
    for (int i = 0; i < ND; i++)
        sqlite3_finalize(d->stmt[i]);
    free(d);
}

/* Steps S, a write, and resets it: 0 or -1. */
static int
done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Makes RUN_ID, pending under KEY of FUNCTION_ID, due at NOW, its
 * timeouts.start of START_MS (0: none) counting from then, and drops its
 * row: 0 or -1. */
static int
fire_one(struct store_debounce *d, const char *function_id, const char *key,
         const char *run_id, int64_t start_ms, int64_t now)
{
    sqlite3_stmt *f = d->stmt[D_FIRE], *x = d->stmt[D_DEL];

    sqlite3_bind_int64(f, 1, now);
    store_bind_text(f, 2, run_id);
    sqlite3_bind_int64(f, 3, start_ms);
    if (done(f) != 0)
        return -1;
    store_bind_text(x, 1, function_id);
    store_bind_text(x, 2, key);
    return done(x);
}

/* The pending run RUN_ID of KEY is of the other kind (a debounce's when
 * a batch is looked for, or the reverse: the function's option changed
 * at a reload): it starts now, as it was (counted in E->resumed), and
 * the event begins a pending run of the new kind. Returns 0, or -1 on an
 * error. */
static int
other_kind(struct store_debounce *d, struct store_new_event *e,
           struct store_new_run *r, const char *key, int64_t start_ms,
           int64_t now)
{
    int rc = fire_one(d, r->function_id, key, r->debounce_run, start_ms,
                      now);

    r->debounce_run[0] = '\0';
    /* Due now: the pipeline pokes the scheduler, as for a wait's end. */
    e->resumed++;
    return rc;
}

/* When R's run is due if its key's latest event came at NOW: its period
 * later, but not past MAX_AT (0: no timeout). */
static int64_t
due_time(const struct store_new_run *r, int64_t now, int64_t max_at)
{
    int64_t due = now + r->debounce_ms;

    return max_at > 0 && due > max_at ? max_at : due;
}

int
store_debounce_event(struct store_debounce *d, struct store_new_event *e,
                     struct store_new_run *r, int64_t now)
{
    sqlite3_stmt *g = d->stmt[D_GET], *s;
    char *old = NULL;
    int64_t max_at = 0, due, start_ms = 0;
    int rc, batch = 0;

    store_bind_text(g, 1, r->function_id);
    store_bind_text(g, 2, r->debounce_key);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
        snprintf(r->debounce_run, sizeof(r->debounce_run), "%s",
                 (const char *)sqlite3_column_text(g, 0));
        old = xstrdup((const char *)sqlite3_column_text(g, 1));
        max_at = sqlite3_column_int64(g, 2);
        batch = sqlite3_column_type(g, 3) != SQLITE_NULL;
        start_ms = sqlite3_column_int64(g, 5);
    }
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
    if (batch) {
        free(old);
        return other_kind(d, e, r, r->debounce_key, start_ms, now);
    }
    due = due_time(r, now, max_at);
    s = d->stmt[D_PUSH];
    store_bind_text(s, 1, e->id);
    sqlite3_bind_int64(s, 2, due);
    store_bind_text(s, 3, r->function_id);
    store_bind_text(s, 4, r->debounce_key);
    rc = done(s);
    s = d->stmt[D_RUN_EVENT];
    store_bind_text(s, 1, e->id);
    sqlite3_bind_int64(s, 2, now);
    store_bind_text(s, 3, r->debounce_run);
    rc = rc != 0 ? rc : done(s);
    /* The event it had wins no more: the function skipped it. */
    s = d->stmt[D_SKIP];
    store_bind_text(s, 1, old);
    store_bind_text(s, 2, r->function_id);
    sqlite3_bind_int64(s, 3, now);
    rc = rc != 0 ? rc : done(s);
    free(old);
    r->debounce_due = due;
    return rc != 0 ? -1 : 1;
}

/* Parks R, just inserted for event E, as KEY's pending run, due at DUE,
 * at the latest MAX_AT (0: none); SIZE counts a batch's events (0: a
 * debounce): 0 or -1. */
static int
park(struct store_debounce *d, const struct store_new_event *e,
     const struct store_new_run *r, const char *key, int64_t due,
     int64_t max_at, int size)
{
    sqlite3_stmt *s = d->stmt[D_PARK];

    store_bind_text(s, 1, r->id);
    if (done(s) != 0)
        return -1;
    s = d->stmt[D_PUT];
    store_bind_text(s, 1, r->function_id);
    store_bind_text(s, 2, key);
    store_bind_text(s, 3, r->id);
    store_bind_text(s, 4, e->id);
    sqlite3_bind_int64(s, 5, due);
    if (max_at > 0)
        sqlite3_bind_int64(s, 6, max_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, r->start_timeout_ms);
    if (size > 0)
        sqlite3_bind_int(s, 8, size);
    else
        sqlite3_bind_null(s, 8);
    return done(s);
}

int
store_debounce_park(struct store_debounce *d,
                    const struct store_new_event *e,
                    struct store_new_run *r, int64_t now)
{
    int64_t max_at = r->debounce_timeout_ms > 0
                         ? now + r->debounce_timeout_ms
                         : 0;

    r->debounce_due = due_time(r, now, max_at);
    return park(d, e, r, r->debounce_key, r->debounce_due, max_at, 0);
}

int
store_debounce_fire(struct store_debounce *d, int64_t now, int limit)
{
    sqlite3_stmt *q = d->stmt[D_DUE];
    struct due {
        char *function_id, *key, *run_id;
        int64_t start_ms;
    } *v = NULL;
    int n = 0, rc;

    sqlite3_bind_int64(q, 1, now);
    sqlite3_bind_int(q, 2, limit);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        v = xrealloc(v, (size_t)(n + 1) * sizeof(*v));
        v[n].function_id = xstrdup((const char *)sqlite3_column_text(q, 0));
        v[n].key = xstrdup((const char *)sqlite3_column_text(q, 1));
        v[n].run_id = xstrdup((const char *)sqlite3_column_text(q, 2));
        v[n].start_ms = sqlite3_column_int64(q, 3);
        n++;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    rc = rc == SQLITE_DONE ? 0 : -1;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && fire_one(d, v[i].function_id, v[i].key, v[i].run_id,
                                v[i].start_ms, now) != 0)
            rc = -1;
        free(v[i].function_id);
        free(v[i].key);
        free(v[i].run_id);
    }
    free(v);
    return rc < 0 ? -1 : n;
}

int64_t
store_debounce_next(struct store *st, int64_t now)
{
    sqlite3 *db = store_reader(st);
    sqlite3_stmt *s;
    int64_t t = 0;
    int rc = SQLITE_ERROR;

    /* Through debounces_due. */
    if (sqlite3_prepare_v2(db, "SELECT min(due_at) FROM debounces", -1, &s,
                           NULL) == SQLITE_OK) {
        if ((rc = sqlite3_step(s)) == SQLITE_ROW)
            t = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_ROW) {
        log_error("store", "cannot find when the next debounced run is"
                           " due: %s", sqlite3_errmsg(db));
        t = now + 1000;
    }
    return t;
}

struct json_object *
store_debounce_of_run(struct store *st, const char *run_id)
{
    sqlite3_stmt *s;
    struct json_object *o = NULL;
    char at[32];

    if (sqlite3_prepare_v2(store_reader(st),
                           "SELECT key, due_at, size FROM debounces"
                           " WHERE run_id = ?",
                           -1, &s, NULL) != SQLITE_OK)
        return NULL;
    store_bind_text(s, 1, run_id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        o = json_object_new_object();
        json_object_object_add(
            o, "key",
            json_object_new_string((const char *)sqlite3_column_text(s, 0)));
        time_format(sqlite3_column_int64(s, 1), at, sizeof(at));
        json_object_object_add(o, "until", json_object_new_string(at));
        if (sqlite3_column_type(s, 2) != SQLITE_NULL)
            json_object_object_add(o, "size",
                                   json_object_new_int(
                                       sqlite3_column_int(s, 2)));
    }
    sqlite3_finalize(s);
    return o;
}

/* Adds event E to RUN_ID's events at SEQ: 0 or -1. */
static int
add_event(struct store_debounce *d, const char *run_id, int seq,
          const struct store_new_event *e)
{
    sqlite3_stmt *s = d->stmt[B_ADD];

    store_bind_text(s, 1, run_id);
    sqlite3_bind_int(s, 2, seq);
    store_bind_text(s, 3, e->id);
    return done(s);
}

int
store_batch_event(struct store_debounce *d, struct store_new_event *e,
                  struct store_new_run *r, int64_t now)
{
    sqlite3_stmt *g = d->stmt[D_GET], *s;
    int64_t due = 0, start_ms = 0;
    int size = 0, rc;

    store_bind_text(g, 1, r->function_id);
    store_bind_text(g, 2, r->batch_key);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
        snprintf(r->debounce_run, sizeof(r->debounce_run), "%s",
                 (const char *)sqlite3_column_text(g, 0));
        size = sqlite3_column_int(g, 3);
        due = sqlite3_column_int64(g, 4);
        start_ms = sqlite3_column_int64(g, 5);
    }
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
    if (size == 0)
        return other_kind(d, e, r, r->batch_key, start_ms, now);
    if (add_event(d, r->debounce_run, size, e) != 0)
        return -1;
    size++;
    /* Full: it starts now, and the key's next event begins a batch. */
    if (size >= r->batch_max) {
        r->debounce_due = now;
        return fire_one(d, r->function_id, r->batch_key, r->debounce_run,
                        start_ms, now) != 0 ? -1 : 1;
    }
    s = d->stmt[B_SIZE];
    sqlite3_bind_int(s, 1, size);
    store_bind_text(s, 2, r->function_id);
    store_bind_text(s, 3, r->batch_key);
    r->debounce_due = due;
    return done(s) != 0 ? -1 : 1;
}

int
store_batch_park(struct store_debounce *d, const struct store_new_event *e,
                 struct store_new_run *r, int64_t now)
{
    if (add_event(d, r->id, 0, e) != 0)
        return -1;
    r->debounce_due = now;
    /* A batch of one is full at once: the run starts as any other. */
    if (r->batch_max <= 1)
        return 0;
    r->debounce_due = now + r->batch_timeout_ms;
    return park(d, e, r, r->batch_key, r->debounce_due, r->debounce_due, 1);
}

int
store_batch_events(struct store *st, const char *run_id, char **out)
{
    sqlite3_stmt *s;
    struct json_object *list = NULL;
    int rc;

    *out = NULL;
    if (sqlite3_prepare_v2(store_reader(st),
                           "SELECT e.id, e.json FROM run_events b"
                           " JOIN events e ON e.id = b.event_id"
                           " WHERE b.run_id = ? ORDER BY b.seq",
                           -1, &s, NULL) != SQLITE_OK) {
        log_error("store", "cannot read the events of run %s: %s", run_id,
                  sqlite3_errmsg(store_reader(st)));
        return -1;
    }
    store_bind_text(s, 1, run_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *j = (const char *)sqlite3_column_text(s, 1);
        struct json_object *ev = json_object_new_object();

        json_object_object_add(
            ev, "internal_id",
            json_object_new_string((const char *)sqlite3_column_text(s, 0)));
        json_object_object_add(ev, "event",
                               json_tokener_parse(j != NULL ? j : "null"));
        if (list == NULL)
            list = json_object_new_array();
        json_object_array_add(list, ev);
    }
    if (rc != SQLITE_DONE) {
        log_error("store", "cannot read the events of run %s: %s", run_id,
                  sqlite3_errmsg(store_reader(st)));
        json_object_put(list);
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    if (list != NULL)
        *out = xstrdup(json_object_to_json_string_ext(
            list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(list);
    return 0;
}
