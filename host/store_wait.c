/* store_wait.c - waits for events in the store: recorded, resolved by the
 * event that matches in that event's own transaction, or timed out.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Everything here runs on the writer thread, inside the transaction of
 * the op that calls it, so a wait and what ends it commit together: an
 * event that resolves a wait stores itself, the wait's step result and
 * the run's new status at once, or none of them. Each way a wait ends
 * (an event, a look-back, its timeout) first deletes the pause row and
 * goes on only if it was there, so exactly one of them wins. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "log.h"
#include "store_sql.h"
#include "store_wait.h"
#include "util.h"
#include "wait.h"

enum {
    W_ANY,
    W_NEXT_PATH,
    W_BY_VALUE,
    W_BY_NAME,
    W_DEL,
    W_STEP_DONE,
    W_RUN_DUE,
    W_INSERT,
    W_LOOKBACK,
    W_TRIGGER,
    W_EXPIRED,
    W_INS_CANCEL,
    W_FLAG_CANCEL,
    W_DEL_CANCELS,
    W_EXPIRE_CANCELS,
    NW
};

const int store_waits_nsql = NW;

const char *const store_waits_sql[NW] = {
    [W_ANY] = "SELECT 1 FROM pauses WHERE event = ? LIMIT 1",
    /* One step of a loose index scan: the distinct paths waited on for a
     * name cost a seek each, however many waits share them. */
    [W_NEXT_PATH] = "SELECT match_path FROM pauses WHERE event = ?"
                    " AND match_path > ? ORDER BY match_path LIMIT 1",
    [W_BY_VALUE] = "SELECT id, kind, run_id, step_id, if_expr, timeout_at"
                   " FROM pauses"
                   " WHERE event = ? AND match_path = ? AND match_value = ?",
    [W_BY_NAME] = "SELECT id, kind, run_id, step_id, if_expr, timeout_at"
                  " FROM pauses WHERE event = ? AND match_path IS NULL",
    [W_DEL] = "DELETE FROM pauses WHERE id = ?",
    [W_STEP_DONE] = "UPDATE steps SET status = 'completed', result = ?,"
                    " ended_at = ? WHERE run_id = ? AND step_id = ?"
                    " AND status = 'waiting'",
    [W_RUN_DUE] = "UPDATE runs SET status = 'queued', attempt = 0,"
                  " wake_at = ?, updated_at = ?"
                  " WHERE id = ? AND status = 'waiting'",
    [W_INSERT] = "INSERT INTO pauses(kind, run_id, step_id, event,"
                 " match_path, match_value, if_expr, began_at, lookback_ms,"
                 " timeout_at, created_at)"
                 " VALUES ('wait', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    /* Newest first, through events_name; never the run's own trigger. */
    [W_LOOKBACK] = "SELECT e.json FROM events e WHERE e.name = ?"
                   " AND e.received_at >= ? AND e.id IS NOT ("
                   "  SELECT r.event_id FROM runs r WHERE r.id = ?)"
                   " ORDER BY e.received_at DESC, e.rowid DESC LIMIT ?",
    [W_TRIGGER] = "SELECT e.json FROM runs r JOIN events e"
                  " ON e.id = r.event_id WHERE r.id = ?",
    [W_EXPIRED] = "SELECT id, kind, run_id, step_id FROM pauses"
                  " WHERE timeout_at <= ? AND kind = 'wait'"
                  " ORDER BY timeout_at LIMIT ?",
    /* cancelOn: a rule of a run, stored with the run. */
    [W_INS_CANCEL] = "INSERT INTO pauses(kind, run_id, event, match_path,"
                     " match_value, if_expr, began_at, timeout_at,"
                     " created_at) VALUES ('cancel', ?1, ?2, ?3, ?4, ?5,"
                     " ?6, ?7, ?6)",
    /* The event's part of a cancel: the decision, durable with it. The
     * scheduler ends the run after the commit, as DELETE does (a run it
     * holds may be on a worker), or the next start does. */
    [W_FLAG_CANCEL] = "UPDATE runs SET cancel_at = coalesce(cancel_at, ?1),"
                      " cancel_reason = coalesce(cancel_reason, ?2),"
                      " updated_at = ?1 WHERE id = ?3"
                      " AND status IN (" RUN_LIVE_SQL ")",
    [W_DEL_CANCELS] = "DELETE FROM pauses WHERE run_id = ?"
                      " AND kind = 'cancel'",
    /* Rules past their timeout match nothing (store_waits_event() checks
     * the time); this only tidies them away. */
    [W_EXPIRE_CANCELS] = "DELETE FROM pauses WHERE id IN (SELECT id"
                         " FROM pauses WHERE timeout_at <= ?"
                         " AND kind = 'cancel' ORDER BY timeout_at"
                         " LIMIT ?)",
};

/* An `if` wait's compiled expression and its run's triggering event,
 * kept while the wait lives: compiled once, however many events of its
 * name come. */
struct cached {
    int64_t id;
    struct expr *expr;         /* NULL: it did not compile */
    struct json_object *event; /* the run's trigger */
    struct cached *next;
};

#define CACHE_BUCKETS 4096
#define CACHE_MAX 65536

struct store_waits {
    sqlite3 *db;
    sqlite3_stmt *stmt[NW];
    struct cached *cache[CACHE_BUCKETS];
    size_t ncached;
};

/* A pause found for an event. */
struct found {
    int64_t id;
    int cancel; /* kind 'cancel': a cancelOn rule; else a wait */
    int64_t timeout_at;
    char *run_id, *step_id, *if_expr;
};

struct found_list {
    struct found *v;
    size_t n, cap;
};

static void
reset(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static int
run_done(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static char *
col_dup(sqlite3_stmt *s, int i)
{
    const char *v = (const char *)sqlite3_column_text(s, i);

    return v != NULL ? xstrdup(v) : NULL;
}

struct store_waits *
store_waits_new(sqlite3 *db, char *err, size_t errlen)
{
    struct store_waits *w = xcalloc(1, sizeof(*w));

    w->db = db;
    for (int i = 0; i < NW; i++) {
        if (sqlite3_prepare_v3(db, store_waits_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                               &w->stmt[i], NULL) != SQLITE_OK) {
            snprintf(err, errlen, "prepare: %s", sqlite3_errmsg(db));
            store_waits_free(w);
            return NULL;
        }
    }
    return w;
}

static void
cached_free(struct cached *c)
{
    expr_free(c->expr);
    json_object_put(c->event);
    free(c);
}

void
store_waits_forget(struct store_waits *w)
{
    for (size_t b = 0; b < CACHE_BUCKETS; b++) {
        struct cached *c = w->cache[b], *next;

        for (; c != NULL; c = next) {
            next = c->next;
            cached_free(c);
        }
        w->cache[b] = NULL;
    }
    w->ncached = 0;
}

void
store_waits_free(struct store_waits *w)
{
    if (w == NULL)
        return;
    store_waits_forget(w);
    for (int i = 0; i < NW; i++)
        sqlite3_finalize(w->stmt[i]);
    free(w);
}

static void
cache_drop(struct store_waits *w, int64_t id)
{
    struct cached **pc = &w->cache[(uint64_t)id % CACHE_BUCKETS];

    for (; *pc != NULL; pc = &(*pc)->next) {
        if ((*pc)->id == id) {
            struct cached *c = *pc;

            *pc = c->next;
            cached_free(c);
            w->ncached--;
            return;
        }
    }
}

/* The stored JSON text S as an object (new), or NULL. */
static struct json_object *
parse(const char *s)
{
    return s != NULL ? json_parse(s) : NULL;
}

/* Pause ID's compiled `if` (SRC) and its run's (RUN_ID) trigger. */
static struct cached *
cache_get(struct store_waits *w, int64_t id, const char *src,
          const char *run_id)
{
    struct cached **head = &w->cache[(uint64_t)id % CACHE_BUCKETS], *c;
    sqlite3_stmt *t = w->stmt[W_TRIGGER];
    char err[256];

    for (c = *head; c != NULL; c = c->next)
        if (c->id == id)
            return c;
    if (w->ncached >= CACHE_MAX)
        store_waits_forget(w); /* a bound, not a policy: all compile again */
    c = xcalloc(1, sizeof(*c));
    c->id = id;
    if ((c->expr = expr_compile(src, err, sizeof(err))) == NULL)
        log_warn("store", "run %s: the `if` of its wait does not compile"
                          " (%s): it matches no event", run_id, err);
    store_bind_text(t, 1, run_id);
    if (sqlite3_step(t) == SQLITE_ROW)
        c->event = parse((const char *)sqlite3_column_text(t, 0));
    reset(t);
    c->next = w->cache[(uint64_t)id % CACHE_BUCKETS];
    w->cache[(uint64_t)id % CACHE_BUCKETS] = c;
    w->ncached++;
    return c;
}

/* Whether pause ID's `if` (SRC, of run RUN_ID) holds for CANDIDATE. An
 * expression that fails to evaluate is false, as in Inngest. */
static int
if_holds(struct store_waits *w, int64_t id, const char *src,
         const char *run_id, struct json_object *candidate)
{
    struct cached *c;
    struct expr_vars vars;
    char err[256];

    if (src == NULL)
        return 1;
    c = cache_get(w, id, src, run_id);
    if (c->expr == NULL)
        return 0;
    vars.event = c->event;
    vars.async = candidate;
    return expr_eval_bool(c->expr, &vars, err, sizeof(err)) == 1;
}

/* Ends pause ID (of RUN_ID's step STEP_ID) with RESULT (JSON text, NULL
 * for null): 1, 0 if something else ended it first, -1 on an error. */
static int
resolve(struct store_waits *w, int64_t id, const char *run_id,
        const char *step_id, const char *result, int64_t now)
{
    sqlite3_stmt **s = w->stmt;

    sqlite3_bind_int64(s[W_DEL], 1, id);
    if (run_done(s[W_DEL]) != 0)
        return -1;
    if (sqlite3_changes(w->db) == 0)
        return 0;
    cache_drop(w, id);
    store_bind_text(s[W_STEP_DONE], 1, result);
    sqlite3_bind_int64(s[W_STEP_DONE], 2, now);
    store_bind_text(s[W_STEP_DONE], 3, run_id);
    store_bind_text(s[W_STEP_DONE], 4, step_id);
    if (run_done(s[W_STEP_DONE]) != 0)
        return -1;
    sqlite3_bind_int64(s[W_RUN_DUE], 1, now);
    sqlite3_bind_int64(s[W_RUN_DUE], 2, now);
    store_bind_text(s[W_RUN_DUE], 3, run_id);
    return run_done(s[W_RUN_DUE]) == 0 ? 1 : -1;
}

/* Collects the wait pauses statement S finds (S reset after), and with
 * CANCELS its cancelOn rules too. Rows are read whole before any is
 * resolved: SQLite does not say what a running SELECT sees of rows
 * deleted under it. */
static int
collect(sqlite3_stmt *s, struct found_list *l, int cancels)
{
    int rc;

    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(s, 1);
        int cancel = kind != NULL && strcmp(kind, "cancel") == 0;
        struct found *f;

        if (kind == NULL || (strcmp(kind, "wait") != 0 &&
                             !(cancels && cancel)))
            continue; /* another kind of pause: not ours to end */
        if (l->n == l->cap) {
            l->cap = l->cap ? l->cap * 2 : 16;
            l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
        }
        f = &l->v[l->n++];
        f->id = sqlite3_column_int64(s, 0);
        f->run_id = col_dup(s, 2);
        f->step_id = col_dup(s, 3);
        f->if_expr = sqlite3_column_count(s) > 4 ? col_dup(s, 4) : NULL;
        f->cancel = cancel;
        f->timeout_at = sqlite3_column_count(s) > 5
                            ? sqlite3_column_int64(s, 5) : 0;
    }
    reset(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static void
found_free(struct found_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].run_id);
        free(l->v[i].step_id);
        free(l->v[i].if_expr);
    }
    free(l->v);
}

void
store_waits_add_cancel(struct store_new_event *e, const char *run_id)
{
    struct store_cancel *c;

    e->cancels = xrealloc(e->cancels, (e->ncancels + 1) * sizeof(*e->cancels));
    c = &e->cancels[e->ncancels++];
    memset(c, 0, sizeof(*c));
    snprintf(c->run_id, sizeof(c->run_id), "%s", run_id);
}

/* Asks for the cancel of RUN_ID, whose cancelOn rule event E (NAME, ID)
 * matched, and adds it to E->cancels if it has not ended: 0, or -1. */
static int
cancel_by(struct store_waits *w, struct store_new_event *e,
          const char *run_id, int64_t now)
{
    sqlite3_stmt **s = w->stmt;
    char *why = xasprintf("cancelled by event %s (%s)", e->name, e->id);
    int rc;

    sqlite3_bind_int64(s[W_FLAG_CANCEL], 1, now);
    store_bind_text(s[W_FLAG_CANCEL], 2, why);
    store_bind_text(s[W_FLAG_CANCEL], 3, run_id);
    rc = run_done(s[W_FLAG_CANCEL]);
    free(why);
    if (rc != 0)
        return -1;
    if (sqlite3_changes(w->db) > 0)
        store_waits_add_cancel(e, run_id);
    /* One match is enough: its other rules have nothing left to do. */
    store_bind_text(s[W_DEL_CANCELS], 1, run_id);
    return run_done(s[W_DEL_CANCELS]);
}

int
store_waits_event(struct store_waits *w, struct store_new_event *e,
                  int64_t now)
{
    sqlite3_stmt **s = w->stmt;
    struct found_list l = {0};
    struct json_object *ev;
    const char *name = e->name, *json = e->json;
    size_t *resumed = &e->resumed;
    char *path = xstrdup("");
    int rc = 0, any;

    store_bind_text(s[W_ANY], 1, name);
    any = sqlite3_step(s[W_ANY]);
    reset(s[W_ANY]);
    if (any == SQLITE_DONE) {
        free(path);
        return 0; /* the common case: nobody waits for this name */
    }
    if (any != SQLITE_ROW || (ev = parse(json)) == NULL) {
        free(path);
        return any != SQLITE_ROW ? -1 : 0;
    }
    /* Waits that match on a field: one indexed lookup per path. */
    for (;;) {
        char *value;

        store_bind_text(s[W_NEXT_PATH], 1, name);
        store_bind_text(s[W_NEXT_PATH], 2, path);
        rc = sqlite3_step(s[W_NEXT_PATH]);
        if (rc != SQLITE_ROW) {
            reset(s[W_NEXT_PATH]);
            rc = rc == SQLITE_DONE ? 0 : -1;
            break;
        }
        free(path);
        path = col_dup(s[W_NEXT_PATH], 0);
        reset(s[W_NEXT_PATH]);
        rc = 0;
        if ((value = wait_value_at(ev, path)) == NULL)
            continue; /* the candidate lacks the field: no match */
        store_bind_text(s[W_BY_VALUE], 1, name);
        store_bind_text(s[W_BY_VALUE], 2, path);
        store_bind_text(s[W_BY_VALUE], 3, value);
        rc = collect(s[W_BY_VALUE], &l, 1);
        free(value);
        if (rc != 0)
            break;
    }
    /* Waits on the name alone, or with an `if`. */
    if (rc == 0) {
        store_bind_text(s[W_BY_NAME], 1, name);
        rc = collect(s[W_BY_NAME], &l, 1);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        struct found *f = &l.v[i];
        int r;

        /* A rule past its timeout no longer applies. */
        if (f->cancel && f->timeout_at <= now)
            continue;
        if (!if_holds(w, f->id, f->if_expr, f->run_id, ev))
            continue;
        if (f->cancel) {
            if (cancel_by(w, e, f->run_id, now) != 0)
                rc = -1;
            continue;
        }
        if ((r = resolve(w, f->id, f->run_id, f->step_id, json, now)) < 0)
            rc = -1;
        else
            *resumed += (size_t)r;
    }
    found_free(&l);
    json_object_put(ev);
    free(path);
    return rc;
}

/* The newest event that wait pause ID (of RUN_ID, on STEP) would have
 * matched, received since SINCE, other than the run's trigger, as its
 * text (new), or NULL. */
static char *
look_back(struct store_waits *w, int64_t id, const char *run_id,
          const struct step_record *step, int64_t since, int *err)
{
    sqlite3_stmt *s = w->stmt[W_LOOKBACK];
    char *found = NULL;
    int rc;

    store_bind_text(s, 1, step->wait_event);
    sqlite3_bind_int64(s, 2, since);
    store_bind_text(s, 3, run_id);
    sqlite3_bind_int(s, 4, WAIT_LOOKBACK_SCAN);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *json = (const char *)sqlite3_column_text(s, 0);
        struct json_object *ev = parse(json);
        int ok = ev != NULL &&
                 wait_value_matches(ev, step->wait_match, step->wait_value) &&
                 if_holds(w, id, step->wait_if, run_id, ev);

        json_object_put(ev);
        if (ok) {
            found = xstrdup(json);
            rc = SQLITE_DONE;
            break;
        }
    }
    reset(s);
    *err = rc != SQLITE_DONE;
    return found;
}

int
store_waits_begin(struct store_waits *w, const char *run_id,
                  const struct step_record *step, int64_t now, int *resolved)
{
    sqlite3_stmt *s = w->stmt[W_INSERT];
    int64_t id;
    char *found;
    int err, rc;

    *resolved = 0;
    store_bind_text(s, 1, run_id);
    store_bind_text(s, 2, step->step_id);
    store_bind_text(s, 3, step->wait_event);
    store_bind_text(s, 4, step->wait_match);
    store_bind_text(s, 5, step->wait_value);
    store_bind_text(s, 6, step->wait_if);
    sqlite3_bind_int64(s, 7, step->started_at);
    sqlite3_bind_int64(s, 8, step->lookback_ms);
    sqlite3_bind_int64(s, 9, step->wake_at);
    sqlite3_bind_int64(s, 10, now);
    if (run_done(s) != 0)
        return -1;
    id = sqlite3_last_insert_rowid(w->db);
    /* Events stored since the step was called (before this commit) would
     * otherwise be missed: they count, and so does the look-back window
     * before it. */
    found = look_back(w, id, run_id, step, step->started_at - step->lookback_ms,
                      &err);
    if (err) {
        free(found);
        return -1;
    }
    if (found == NULL)
        return 0;
    rc = resolve(w, id, run_id, step->step_id, found, now);
    free(found);
    *resolved = rc > 0;
    return rc < 0 ? -1 : 0;
}

int
store_waits_cancel_on(struct store_waits *w, const char *run_id,
                      const char *trigger_json,
                      const struct store_cancel_rule *rules, size_t n,
                      int64_t now)
{
    sqlite3_stmt *s = w->stmt[W_INS_CANCEL];
    struct json_object *trigger = NULL;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct store_cancel_rule *c = &rules[i];
        char *value = NULL;

        if (c->match != NULL) {
            if (trigger == NULL && (trigger = parse(trigger_json)) == NULL)
                break;
            /* The run's event lacks the field: no event can match it. */
            if ((value = wait_value_at(trigger, c->match)) == NULL)
                continue;
        }
        store_bind_text(s, 1, run_id);
        store_bind_text(s, 2, c->event);
        store_bind_text(s, 3, c->match);
        store_bind_text(s, 4, value);
        store_bind_text(s, 5, c->if_expr);
        sqlite3_bind_int64(s, 6, now);
        sqlite3_bind_int64(s, 7, now + c->timeout_ms);
        rc = run_done(s);
        free(value);
    }
    json_object_put(trigger);
    return rc;
}

int
store_waits_expire(struct store_waits *w, int64_t now, int limit)
{
    sqlite3_stmt *s = w->stmt[W_EXPIRED];
    struct found_list l = {0};
    int n = 0, rc;

    sqlite3_bind_int64(w->stmt[W_EXPIRE_CANCELS], 1, now);
    sqlite3_bind_int(w->stmt[W_EXPIRE_CANCELS], 2, limit);
    if (run_done(w->stmt[W_EXPIRE_CANCELS]) != 0)
        return -1;

    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int(s, 2, limit);
    rc = collect(s, &l, 0);
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        int r = resolve(w, l.v[i].id, l.v[i].run_id, l.v[i].step_id, NULL,
                        now);

        if (r < 0)
            rc = -1;
        n += r > 0;
    }
    found_free(&l);
    return rc == 0 ? n : -1;
}

/* ------------------------------------------------------------- reads */

int64_t
store_waits_next_timeout(struct store *st, int64_t now)
{
    sqlite3 *db = store_reader(st);
    sqlite3_stmt *s;
    int64_t t = 0;
    int rc = SQLITE_ERROR;

    if (sqlite3_prepare_v3(db, "SELECT min(timeout_at) FROM pauses"
                               " WHERE kind = 'wait'",
                           -1, 0, &s, NULL) == SQLITE_OK) {
        if ((rc = sqlite3_step(s)) == SQLITE_ROW)
            t = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    if (rc != SQLITE_ROW) {
        log_error("store", "cannot find the next timeout of a wait: %s",
                  sqlite3_errmsg(db));
        t = now + 1000;
    }
    return t;
}

struct json_object *
store_waits_of_run(struct store *st, const char *run_id)
{
    sqlite3 *db = store_reader(st);
    sqlite3_stmt *s;
    struct json_object *o = NULL;

    if (sqlite3_prepare_v3(db, "SELECT step_id, event, match_path, if_expr,"
                               " timeout_at, lookback_ms FROM pauses"
                               " WHERE run_id = ? AND kind = 'wait'"
                               " ORDER BY id LIMIT 1",
                           -1, 0, &s, NULL) != SQLITE_OK)
        return NULL;
    store_bind_text(s, 1, run_id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        char buf[32];
        const char *v;

        o = json_object_new_object();
        json_object_object_add(o, "step_id", json_object_new_string(
                                   (const char *)sqlite3_column_text(s, 0)));
        json_object_object_add(o, "event", json_object_new_string(
                                   (const char *)sqlite3_column_text(s, 1)));
        v = (const char *)sqlite3_column_text(s, 2);
        json_object_object_add(o, "match",
                               v ? json_object_new_string(v) : NULL);
        v = (const char *)sqlite3_column_text(s, 3);
        json_object_object_add(o, "if", v ? json_object_new_string(v) : NULL);
        time_format(sqlite3_column_int64(s, 4), buf, sizeof(buf));
        json_object_object_add(o, "timeout_at", json_object_new_string(buf));
        json_object_object_add(o, "lookback_ms", json_object_new_int64(
                                   sqlite3_column_int64(s, 5)));
    }
    sqlite3_finalize(s);
    return o;
}
