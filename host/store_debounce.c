/* store_debounce.c - debounce in the store: a pending run per function and
 * key, pushed back by each event of the key (store_debounce.h).
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
    ND
};

static const char *const debounce_sql[ND] = {
    /* The key's pending run: one that has not started since it was
     * parked (a cancelled one is not). */
    [D_GET] = "SELECT d.run_id, d.event_id, d.max_at FROM debounces d"
              " JOIN runs r ON r.id = d.run_id"
              " WHERE d.function_id = ? AND d.key = ?"
              " AND r.status = 'queued'"
              " AND r.wake_at = " STORE_DEBOUNCE_PARKED_SQL,
    [D_PUT] = "INSERT OR REPLACE INTO debounces(function_id, key, run_id,"
              " event_id, due_at, max_at, start_ms)"
              " VALUES (?, ?, ?, ?, ?, ?, ?)",
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

/* When R's run is due if its key's latest event came at NOW: its period
 * later, but not past MAX_AT (0: no timeout). */
static int64_t
due_time(const struct store_new_run *r, int64_t now, int64_t max_at)
{
    int64_t due = now + r->debounce_ms;

    return max_at > 0 && due > max_at ? max_at : due;
}

int
store_debounce_event(struct store_debounce *d,
                     const struct store_new_event *e,
                     struct store_new_run *r, int64_t now)
{
    sqlite3_stmt *g = d->stmt[D_GET], *s;
    char *old = NULL;
    int64_t max_at = 0, due;
    int rc;

    store_bind_text(g, 1, r->function_id);
    store_bind_text(g, 2, r->debounce_key);
    rc = sqlite3_step(g);
    if (rc == SQLITE_ROW) {
        snprintf(r->debounce_run, sizeof(r->debounce_run), "%s",
                 (const char *)sqlite3_column_text(g, 0));
        old = xstrdup((const char *)sqlite3_column_text(g, 1));
        max_at = sqlite3_column_int64(g, 2);
    }
    sqlite3_reset(g);
    sqlite3_clear_bindings(g);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? 0 : -1;
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

int
store_debounce_park(struct store_debounce *d,
                    const struct store_new_event *e,
                    struct store_new_run *r, int64_t now)
{
    sqlite3_stmt *s = d->stmt[D_PARK];
    int64_t max_at = r->debounce_timeout_ms > 0
                         ? now + r->debounce_timeout_ms
                         : 0;

    store_bind_text(s, 1, r->id);
    if (done(s) != 0)
        return -1;
    r->debounce_due = due_time(r, now, max_at);
    s = d->stmt[D_PUT];
    store_bind_text(s, 1, r->function_id);
    store_bind_text(s, 2, r->debounce_key);
    store_bind_text(s, 3, r->id);
    store_bind_text(s, 4, e->id);
    sqlite3_bind_int64(s, 5, r->debounce_due);
    if (max_at > 0)
        sqlite3_bind_int64(s, 6, max_at);
    else
        sqlite3_bind_null(s, 6);
    sqlite3_bind_int64(s, 7, r->start_timeout_ms);
    return done(s);
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
        sqlite3_stmt *f = d->stmt[D_FIRE], *x = d->stmt[D_DEL];

        sqlite3_bind_int64(f, 1, now);
        store_bind_text(f, 2, v[i].run_id);
        sqlite3_bind_int64(f, 3, v[i].start_ms);
        store_bind_text(x, 1, v[i].function_id);
        store_bind_text(x, 2, v[i].key);
        if (rc == 0 && (done(f) != 0 || done(x) != 0))
            rc = -1;
        sqlite3_reset(f);
        sqlite3_clear_bindings(f);
        sqlite3_reset(x);
        sqlite3_clear_bindings(x);
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
                           "SELECT key, due_at FROM debounces"
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
    }
    sqlite3_finalize(s);
    return o;
}
