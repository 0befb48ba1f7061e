/* cron_sched.c - cron triggers: each function's schedules, ticking on
 * the loop, each tick a run through the pipeline.
 * SPDX-License-Identifier: Apache-2.0 */
#include "cron_sched.h"

#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cron.h"
#include "log.h"
#include "pipeline.h"
#include "registry.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* One schedule of one function. */
struct tick {
    char *fn;              /* the function's id */
    char *spec;            /* the schedule as written */
    const struct cron *c;  /* parsed, the generation's */
    int64_t jitter_ms;
    int64_t claim;         /* the tick it fires next (cron clock, s): its
                              time, or for a catch-up, now; -1: never */
    int64_t fire_at;       /* wall ms at which it fires */
};

struct cron_sched {
    struct event_base *base;
    struct store *store;
    struct pipeline *pipeline;
    struct generation *gen; /* a reference */
    struct tick *ticks;
    size_t n;
    struct event *timer;
    unsigned epoch; /* each set: a sync of an older one is ignored */
    int stopped;
};

/* A sync's callback: which set it belongs to. */
struct sync_arg {
    struct cron_sched *cs;
    unsigned epoch;
};

/* FNHOST_TEST_CRON_OFFSET: set once, before any thread reads it. */
static int64_t clock_offset;

int64_t
cron_clock_now(void)
{
    return now_ms() / 1000 + clock_offset;
}

/* The wall ms at which cron second T comes. */
static int64_t
wall_ms(int64_t t)
{
    return (t - clock_offset) * 1000;
}

/* A random delay of up to MAX ms. */
static int64_t
jitter(int64_t max)
{
    uint64_t r;

    if (max <= 0)
        return 0;
    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint64_t)rand();
    return (int64_t)(r % (uint64_t)(max + 1));
}

/* Sets T to fire at tick CLAIM (-1: never). */
static void
tick_plan(struct tick *t, int64_t claim, int64_t now_wall)
{
    t->claim = claim;
    t->fire_at = claim < 0 ? -1 : wall_ms(claim) + jitter(t->jitter_ms);
    if (t->fire_at >= 0 && t->fire_at < now_wall)
        t->fire_at = now_wall;
}

static void
arm(struct cron_sched *cs)
{
    int64_t first = -1, now = now_ms(), delay;
    struct timeval tv;

    for (size_t i = 0; i < cs->n; i++)
        if (cs->ticks[i].fire_at >= 0 &&
            (first < 0 || cs->ticks[i].fire_at < first))
            first = cs->ticks[i].fire_at;
    event_del(cs->timer);
    if (first < 0 || cs->stopped)
        return;
    delay = first > now ? first - now : 0;
    /* Long waits are re-armed on the way: the wall clock may move. */
    if (delay > 60 * 1000)
        delay = 60 * 1000;
    tv.tv_sec = delay / 1000;
    tv.tv_usec = (delay % 1000) * 1000;
    event_add(cs->timer, &tv);
}

static void
fired_cb(void *arg, const struct pipeline_result *r)
{
    char *what = arg;

    if (r->rc != 0)
        log_error("cron", "%s: the tick's run was not stored: %s; it fires"
                          " at the next start", what, r->error);
    else if (r->run_id != NULL)
        log_info("cron", "%s: run %s", what, r->run_id);
    free(what);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct cron_sched *cs = arg;
    int64_t now = now_ms();

    (void)fd, (void)what;
    for (size_t i = 0; i < cs->n && !cs->stopped; i++) {
        struct tick *t = &cs->ticks[i];
        char *label;

        if (t->fire_at < 0 || t->fire_at > now)
            continue;
        label = xasprintf("function %s, cron \"%s\", tick %lld", t->fn,
                          t->spec, (long long)t->claim);
        log_info("cron", "%s fires", label);
        if (pipeline_cron(cs->pipeline, t->fn, t->spec, t->claim,
                          now, fired_cb, label) != 0)
            free(label);
        /* The machine may have slept past ticks (or the clock jumped):
         * those run once, not one by one. */
        tick_plan(t, cron_claim_after(t->c, t->claim, cron_clock_now()), now);
    }
    arm(cs);
}

static void
ticks_free(struct cron_sched *cs)
{
    for (size_t i = 0; i < cs->n; i++) {
        free(cs->ticks[i].fn);
        free(cs->ticks[i].spec);
    }
    free(cs->ticks);
    cs->ticks = NULL;
    cs->n = 0;
}

/* The last tick the store has for SPEC of FN, or -1. */
static int64_t
last_tick(struct cron_sched *cs, const char *fn, const char *spec)
{
    sqlite3 *db = store_reader(cs->store);
    sqlite3_stmt *s;
    int64_t last = -1;

    if (sqlite3_prepare_v2(db, "SELECT last_tick FROM cron_ticks WHERE"
                               " function_id = ? AND cron = ?",
                           -1, &s, NULL) != SQLITE_OK) {
        log_error("cron", "read the last ticks: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_text(s, 1, fn, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, spec, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        last = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return last;
}

/* The store keeps the schedules of the generation: each starts from
 * its last tick. */
static void
synced_cb(void *arg, int rc, const char *err)
{
    struct sync_arg *sa = arg;
    struct cron_sched *cs = sa->cs;
    const struct generation *g = cs->gen;
    int64_t now = cron_clock_now(), wall = now_ms();
    int missed = 0;

    if (sa->epoch != cs->epoch || cs->stopped || g == NULL) {
        free(sa);
        return;
    }
    free(sa);
    if (rc != 0) {
        /* Ticks without a stored schedule would claim nothing. */
        log_error("cron", "schedules not stored: %s; no cron ticks until"
                          " the next reload or start", err);
        return;
    }
    for (size_t i = 0; i < g->nfns; i++) {
        const struct fn_info *f = &g->fns[i];

        /* A refused plugin's ticks wait for it: one catch-up then. */
        if (f->unloaded)
            continue;
        for (size_t j = 0; j < f->ncrons; j++) {
            struct tick *t;
            int64_t last = last_tick(cs, f->id, f->crons[j].spec), next;

            cs->ticks = xrealloc(cs->ticks, (cs->n + 1) * sizeof(*t));
            t = &cs->ticks[cs->n++];
            t->fn = xstrdup(f->id);
            t->spec = xstrdup(f->crons[j].spec);
            t->c = &f->crons[j].c;
            t->jitter_ms = f->cron_jitter_ms;
            next = cron_claim_after(t->c, last, now);
            if (last >= 0 && next == now && cron_next(t->c, last) < now) {
                /* Missed while down: once, now, for all of them. */
                log_info("cron", "function %s, cron \"%s\": a tick was"
                                 " missed (the last ran at %lld); it runs"
                                 " once now", t->fn, t->spec,
                         (long long)last);
                missed++;
            }
            tick_plan(t, next, wall);
        }
    }
    if (cs->n > 0)
        log_info("cron", "generation %u: %zu schedule%s, %d catching up",
                 g->n, cs->n, cs->n == 1 ? "" : "s", missed);
    arm(cs);
}

struct cron_sched *
cron_sched_new(struct event_base *base, struct store *st, struct pipeline *p)
{
    struct cron_sched *cs = xcalloc(1, sizeof(*cs));
    const char *off = getenv("FNHOST_TEST_CRON_OFFSET");

    if (off != NULL && *off != '\0') {
        clock_offset = strtoll(off, NULL, 10);
        log_warn("cron", "FNHOST_TEST_CRON_OFFSET: cron schedules see the"
                         " clock %lld s off (a setting for tests)",
                 (long long)clock_offset);
    }
    cs->base = base;
    cs->store = st;
    cs->pipeline = p;
    cs->timer = evtimer_new(base, timer_cb, cs);
    return cs;
}

void
cron_sched_set(struct cron_sched *cs, struct generation *g)
{
    struct json_object *pairs = json_object_new_array();
    struct sync_arg *sa;

    if (cs == NULL || cs->stopped)
        return;
    cs->epoch++;
    event_del(cs->timer);
    ticks_free(cs);
    generation_unref(cs->gen);
    cs->gen = generation_ref(g);
    /* Refused plugins' schedules too: theirs are kept for their return. */
    for (size_t i = 0; g != NULL && i < g->nfns; i++) {
        for (size_t j = 0; j < g->fns[i].ncrons; j++) {
            struct json_object *pair = json_object_new_array();

            json_object_array_add(pair,
                                  json_object_new_string(g->fns[i].id));
            json_object_array_add(pair, json_object_new_string(
                                            g->fns[i].crons[j].spec));
            json_object_array_add(pairs, pair);
        }
    }
    sa = xcalloc(1, sizeof(*sa));
    sa->cs = cs;
    sa->epoch = cs->epoch;
    store_cron_sync(cs->store,
                    json_object_to_json_string_ext(pairs,
                                                   JSON_C_TO_STRING_PLAIN),
                    cron_clock_now(), synced_cb, sa);
    json_object_put(pairs);
}

void
cron_sched_stop(struct cron_sched *cs)
{
    if (cs == NULL)
        return;
    cs->stopped = 1;
    event_del(cs->timer);
}

void
cron_sched_free(struct cron_sched *cs)
{
    if (cs == NULL)
        return;
    event_free(cs->timer);
    ticks_free(cs);
    generation_unref(cs->gen);
    free(cs);
}

struct json_object *
cron_sched_json(const struct fn_info *f)
{
    struct json_object *list = json_object_new_array();
    int64_t now = cron_clock_now();

    for (size_t i = 0; i < f->ncrons; i++) {
        struct json_object *o = json_object_new_object();
        int64_t next = cron_next(&f->crons[i].c, now);
        char ts[32];

        json_object_object_add(o, "cron",
                               json_object_new_string(f->crons[i].spec));
        if (next >= 0) {
            time_format(next * 1000, ts, sizeof(ts));
            json_object_object_add(o, "next", json_object_new_string(ts));
        } else {
            json_object_object_add(o, "next", NULL);
        }
        json_object_array_add(list, o);
    }
    return list;
}
