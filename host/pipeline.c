/* pipeline.c - every event's way in: ids, routing, the store, the
 * scheduler.
 * SPDX-License-Identifier: Apache-2.0 */
#include "pipeline.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conc.h"
#include "event.h"
#include "expr.h"
#include "ingest.h"
#include "lifecycle.h"
#include "log.h"
#include "registry.h"
#include "router.h"
#include "sched.h"
#include "store.h"
#include "store_debounce.h"
#include "util.h"

struct pipeline {
    struct store *store;
    struct sched *sched;
    const struct generation *const *gen;
    size_t *match;  /* router_lookup's output, reused by every event */
    size_t nmatch;  /* its room */
    struct log_limit *unrouted; /* names said to trigger nothing lately */
    struct log_limit *priority_said; /* priorities said to be 0, once */
    int pending;
    struct pipeline_stats stats;
    int64_t step_window; /* the dedup window of events that steps send */
};

/* One submission waiting for its commit. */
struct submission {
    struct pipeline *p;
    struct json_object *events; /* owns the strings the store borrows */
    struct text_buf text; /* and the events' texts, each NUL-terminated */
    struct store_new_event *evs;
    size_t nevs;
    struct generation *gen; /* a reference: the runs' function ids are
                               its, and a reload may replace it before
                               the commit */
    const char *target; /* an invoke's function (borrowed until the
                           events are routed), or NULL: their triggers */
    pipeline_done_fn done;     /* a source's, or NULL for a step's: */
    store_done_fn step_done;
    void *arg;
};

struct pipeline *
pipeline_new(struct store *st, struct sched *s,
             const struct generation *const *gen, int64_t step_window_ms)
{
    struct pipeline *p = xcalloc(1, sizeof(*p));

    p->step_window = step_window_ms;
    p->store = st;
    p->sched = s;
    p->gen = gen;
    /* A client can send any number of names: remember a bounded few. */
    p->unrouted = log_limit_new(1024, 60 * 1000);
    p->priority_said = log_limit_new(256, INT64_MAX / 2);
    return p;
}

void
pipeline_free(struct pipeline *p)
{
    if (p == NULL)
        return;
    free(p->match);
    log_limit_free(p->unrouted);
    log_limit_free(p->priority_said);
    free(p);
}

int
pipeline_pending(const struct pipeline *p)
{
    return p->pending;
}

void
pipeline_stats(const struct pipeline *p, struct pipeline_stats *out)
{
    *out = p->stats;
}

static void
submission_free(struct submission *sub)
{
    for (size_t i = 0; i < sub->nevs; i++) {
        for (size_t j = 0; j < sub->evs[i].nruns; j++) {
            free(sub->evs[i].runs[j].idempotency_key);
            free(sub->evs[i].runs[j].rate_key);
            free(sub->evs[i].runs[j].singleton_key);
            free(sub->evs[i].runs[j].debounce_key);
            free(sub->evs[i].runs[j].throttle_key);
            free(sub->evs[i].runs[j].batch_key);
            for (int k = 0; k < FH_CONCURRENCY_LIMITS; k++)
                free(sub->evs[i].runs[j].conc_keys[k]);
        }
        free(sub->evs[i].runs);
        free(sub->evs[i].cancels);
    }
    free(sub->evs);
    generation_unref(sub->gen);
    json_object_put(sub->events);
    free(sub->text.s);
    free(sub);
}

/* An event no function wants is often a typo in a name or a plugin
 * that is not loaded: say so, once a minute per name. */
static void
note_unrouted(struct pipeline *p, const struct store_new_event *e)
{
    uint64_t held;

    p->stats.events_unrouted++;
    if (!log_limit_pass(p->unrouted, e->name, mono_ms(), &held))
        return;
    if (held > 0)
        log_info("pipeline", "event %s (%s) triggers no function; stored,"
                             " nothing runs (%llu more of that name since"
                             " the last line)", e->id, e->name,
                 (unsigned long long)held);
    else
        log_info("pipeline", "event %s (%s) triggers no function; stored,"
                             " nothing runs", e->id, e->name);
}

/* Why an option started no run, for the log, from its store_new_run's
 * skipped. */
static const char *
skip_reason(const char *skipped)
{
    if (strcmp(skipped, "rate_limit") == 0)
        return "reached its rate limit";
    if (strcmp(skipped, "singleton") == 0)
        return "has a run of its singleton key active";
    return "ran for its idempotency key already";
}

/* Hands the runs that the commit created, or made due, to the
 * scheduler. */
static void
schedule_runs(struct pipeline *p, const struct store_new_event *e)
{
    struct shared_str *ev = NULL;

    if (e->duplicate && e->cron != NULL) {
        log_info("cron", "%s: the tick of \"%s\" fired already; no new"
                         " run", e->runs[0].function_id, e->cron);
        return;
    }
    if (e->duplicate) {
        log_info("ingest", "event %s (%s) was stored already: a resend"
                           " with the same x-inngest-event-id-seed starts"
                           " nothing", e->id, e->name);
        return;
    }
    /* The runs whose waits it ended are due in the store. */
    if (e->resumed > 0)
        sched_poke(p->sched);
    /* Their cancel committed with the event: it now ends them as DELETE
     * does, at once or at their step boundary. */
    if (e->ncancels > 0) {
        char *why = xasprintf("cancelled by event %s (%s)", e->name, e->id);

        sched_cancel(p->sched, e->cancels, e->ncancels, why, NULL, NULL);
        free(why);
    }
    if (e->nruns == 0 && e->resumed == 0 && e->ncancels == 0)
        note_unrouted(p, e);
    for (size_t j = 0; j < e->nruns; j++) {
        if (!e->runs[j].created && e->runs[j].skipped != NULL) {
            log_info("ingest", "event %s (%s): %s %s; no new run", e->id,
                     e->name, e->runs[j].function_id,
                     skip_reason(e->runs[j].skipped));
            continue;
        }
        if (!e->runs[j].created && e->runs[j].debounce_run[0] != '\0' &&
            e->runs[j].batch_key != NULL) {
            log_info("ingest", "event %s (%s): joins the batch of %s run"
                               " %s", e->id, e->name,
                     e->runs[j].function_id, e->runs[j].debounce_run);
            sched_wake_at(p->sched, e->runs[j].debounce_due);
            continue;
        }
        if (!e->runs[j].created && e->runs[j].debounce_run[0] != '\0') {
            log_info("ingest", "event %s (%s): %s run %s is debounced"
                               " until %lld ms from now, with this event",
                     e->id, e->name, e->runs[j].function_id,
                     e->runs[j].debounce_run,
                     (long long)(e->runs[j].debounce_due - now_ms()));
            /* Maybe sooner than the time the scheduler waits for (a
             * shorter period after a reload): it looks then, and
             * store_expire_waits() makes the run due. */
            sched_wake_at(p->sched, e->runs[j].debounce_due);
            continue;
        }
        if (!e->runs[j].created) {
            log_info("ingest", "event %s (%s, id %s): %s ran for this id"
                               " already; no new run", e->id, e->name,
                     e->user_id, e->runs[j].function_id);
            continue;
        }
        /* Pending (a batch of one is not: it runs now). */
        if (e->runs[j].debounce_key != NULL ||
            (e->runs[j].batch_key != NULL && e->runs[j].batch_max > 1)) {
            sched_wake_at(p->sched, e->runs[j].debounce_due);
            continue;
        }
        if (e->runs[j].throttle_at > 0) {
            int64_t now = now_ms();

            log_debug("ingest", "event %s (%s): %s run %s is throttled"
                                " until %lld ms from now", e->id, e->name,
                      e->runs[j].function_id, e->runs[j].id,
                      (long long)(e->runs[j].throttle_at - now));
            /* Its timeouts.start counts from when it was due, before
             * its turn: the scheduler looks then. */
            if (e->runs[j].start_timeout_ms > 0)
                sched_wake_at(p->sched, (e->ts > now ? e->ts : now) +
                                            e->runs[j].start_timeout_ms);
        }
        /* Started early: the scheduler has it, unless it left the line
         * (a fuller queue evicted it, its function went away): then it
         * is submitted as any other. */
        if (e->runs[j].early && sched_claimed(p->sched, e->runs[j].id))
            continue;
        if (ev == NULL)
            ev = shared_str_new(e->json, strlen(e->json));
        sched_submit(p->sched, e->runs[j].id, e->runs[j].function_id, e->id,
                     ev, e->runs[j].wake_at,
                     (const char *const *)e->runs[j].conc_keys);
    }
    shared_str_unref(ev);
}

static void
stored_cb(void *arg, int rc, const char *err)
{
    struct submission *sub = arg;
    struct pipeline *p = sub->p;
    struct pipeline_result res;
    const char **ids;

    memset(&res, 0, sizeof(res));
    if (sub->step_done != NULL) {
        /* A send step: its events are durable with it, or neither is. */
        if (rc == 0) {
            p->stats.events_stored += sub->nevs;
            for (size_t i = 0; i < sub->nevs; i++)
                schedule_runs(p, &sub->evs[i]);
        }
        sub->step_done(sub->arg, rc, err);
        p->pending--;
        submission_free(sub);
        return;
    }
    if (rc != 0) {
        log_error("pipeline", "events not stored: %s", err);
        for (size_t i = 0; i < sub->nevs; i++)
            for (size_t j = 0; j < sub->evs[i].nruns; j++)
                if (sub->evs[i].runs[j].early)
                    sched_abandon(p->sched, sub->evs[i].runs[j].id);
        res.rc = -1;
        res.error = err;
        sub->done(sub->arg, &res);
        p->pending--;
        submission_free(sub);
        return;
    }
    p->stats.events_stored += sub->nevs;
    ids = xcalloc(sub->nevs ? sub->nevs : 1, sizeof(*ids));
    for (size_t i = 0; i < sub->nevs; i++) {
        ids[i] = sub->evs[i].id;
        schedule_runs(p, &sub->evs[i]);
    }
    res.ids = ids;
    res.nids = sub->nevs;
    if (sub->nevs > 0 && sub->evs[0].nruns > 0 && sub->evs[0].runs[0].created)
        res.run_id = sub->evs[0].runs[0].id;
    sub->done(sub->arg, &res);
    free(ids);
    p->pending--;
    submission_free(sub);
}

/* Keeps, of the N functions of G at MATCH that event EV triggers, those
 * whose `if` holds for it; returns how many. An `if` that cannot be
 * evaluated (a field it reads is missing) does not hold, as Inngest's. */
static size_t
filter_runs(const struct generation *g, struct json_object *ev,
            size_t *match, size_t n)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        const struct fn_info *f = &g->fns[match[i]];
        struct expr_vars vars = {ev, NULL};
        char why[256];

        if (f->if_expr != NULL &&
            (ev == NULL ||
             expr_eval_bool(f->if_expr, &vars, why, sizeof(why)) != 1))
            continue;
        match[kept++] = match[i];
    }
    return kept;
}

/* The key that expression KEY of function F, its option NAME, makes of
 * event EV (new), or NULL when KEY is NULL or cannot be evaluated on EV
 * (logged: what then happens is OR_ELSE). */
static char *
option_key(const struct fn_info *f, const struct expr *key, const char *name,
           struct json_object *ev, const char *or_else)
{
    struct expr_vars vars = {ev, NULL};
    char buf[1024], why[256];

    if (key == NULL || ev == NULL)
        return NULL;
    if (expr_eval_key(key, &vars, buf, sizeof(buf), why, sizeof(why)) < 0) {
        log_info("ingest", "%s: its %s key cannot be made for this event"
                           " (%s); %s", f->id, name, why, or_else);
        return NULL;
    }
    return xstrdup(buf);
}

/* The key of event EV (new) under option NAME of F, whose expression is
 * KEY: "" for all events when KEY is NULL, and for those it cannot be
 * evaluated on. */
static char *
group_key(const struct fn_info *f, const struct expr *key, const char *name,
          struct json_object *ev)
{
    char *k = option_key(f, key, name, ev, "it counts under the key \"\"");

    return k != NULL ? k : xstrdup("");
}

/* Whether event EV goes into a batch of F: its batch `if` holds (one
 * that cannot be evaluated does not, as a trigger's); else it runs
 * alone, as in Inngest. */
static int
batched(const struct fn_info *f, struct json_object *ev)
{
    struct expr_vars vars = {ev, NULL};
    char why[256];

    return f->batch_if == NULL ||
           (ev != NULL &&
            expr_eval_bool(f->batch_if, &vars, why, sizeof(why)) == 1);
}

/* Sets the keys of new run R of function F for event EV: its idempotency
 * key, its rate limit's, its singleton's, its debounce's, its
 * throttle's, its batch's. */
static void
run_keys(struct store_new_run *r, const struct fn_info *f,
         struct json_object *ev)
{
    r->idempotency_key = option_key(f, f->idempotency, "idempotency", ev,
                                    "the run starts without one");
    if (f->rate_limit > 0) {
        r->rate_limit = f->rate_limit;
        r->rate_period_ms = f->rate_period_ms;
        r->rate_key = group_key(f, f->rate_key, "rate_limit", ev);
    }
    if (f->singleton != SINGLETON_NONE) {
        r->singleton_cancel = f->singleton == SINGLETON_CANCEL;
        r->singleton_key = group_key(f, f->singleton_key, "singleton", ev);
    }
    if (f->debounce_ms > 0) {
        r->debounce_ms = f->debounce_ms;
        r->debounce_timeout_ms = f->debounce_timeout_ms;
        r->debounce_key = group_key(f, f->debounce_key, "debounce", ev);
    }
    if (f->throttle_limit > 0) {
        r->throttle_limit = f->throttle_limit;
        r->throttle_period_ms = f->throttle_period_ms;
        r->throttle_burst = f->throttle_burst;
        r->throttle_key = group_key(f, f->throttle_key, "throttle", ev);
    }
    if (f->batch_max > 0 && batched(f, ev)) {
        r->batch_max = f->batch_max;
        r->batch_timeout_ms = f->batch_timeout_ms;
        r->batch_key = group_key(f, f->batch_key, "batch", ev);
    }
}

/* Inngest's bounds of priority.run, in seconds. */
#define PRIORITY_MAX 600

/* The priority.run of a new run of F for event EV, in seconds: its
 * expression's value, a number, truncated and clamped to
 * -PRIORITY_MAX..PRIORITY_MAX. An error or another type is 0, as for
 * Inngest; said once per function and expression, since every event may
 * bring it. */
static int
run_priority(struct pipeline *p, const struct fn_info *f,
             struct json_object *ev)
{
    struct expr_vars vars = {ev, NULL};
    struct expr_value v;
    char why[256], key[512];
    double d = 0;
    uint64_t held;

    if (f->priority == NULL || ev == NULL)
        return 0;
    if (expr_eval(f->priority, &vars, &v, why, sizeof(why)) == 0) {
        why[0] = '\0';
        if (v.type == EXPR_INT)
            d = (double)v.u.i;
        else if (v.type == EXPR_DOUBLE && v.u.d == v.u.d)
            d = v.u.d;
        else
            snprintf(why, sizeof(why), "its value is a %s, not a number",
                     expr_type_name(v.type));
        expr_value_release(&v);
    }
    if (why[0] == '\0' && (d < -PRIORITY_MAX || d > PRIORITY_MAX))
        snprintf(why, sizeof(why), "%g is clamped to %d", d,
                 d < 0 ? -PRIORITY_MAX : PRIORITY_MAX);
    snprintf(key, sizeof(key), "%s\n%s", f->id, expr_source(f->priority));
    if (why[0] != '\0' && log_limit_pass(p->priority_said, key, mono_ms(),
                                         &held))
        log_warn("ingest", "%s: priority %s: %s (said once: runs it cannot"
                           " be evaluated for have priority 0)",
                 f->id, expr_source(f->priority), why);
    if (d < -PRIORITY_MAX)
        return -PRIORITY_MAX;
    return d > PRIORITY_MAX ? PRIORITY_MAX : (int)d;
}

/* The index in G of function ID, loaded or not, or -1. */
static long
function_index(const struct generation *g, const char *id)
{
    for (size_t i = 0; g != NULL && i < g->nfns; i++)
        if (strcmp(g->fns[i].id, id) == 0)
            return (long)i;
    return -1;
}

/* Whether a function of G at MATCH (N of them) reads the event itself
 * when it is routed (fn_info.reads_event). */
static int
needs_tree(const struct generation *g, const size_t *match, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (g->fns[match[i]].reads_event)
            return 1;
    return 0;
}

/* Gives event E (its name, id, ts and text set) its runs: one for each
 * function of G that it triggers, or for an invoke, SUB's target alone.
 * EV is its tree, or NULL: then it is read from E->json only if a
 * function's `if` or an option's key needs it (the event API's usual
 * event never becomes a tree). */
static void
event_route(struct pipeline *p, struct submission *sub,
            const struct generation *g, struct json_object *ev,
            struct store_new_event *e, int64_t now)
{
    long target = sub->target != NULL ? function_index(g, sub->target) : -1;
    struct json_object *parsed = NULL;

    if (sub->target != NULL) {
        /* An invoke runs the one function, whatever it declares. */
        e->nruns = target >= 0 ? 1 : 0;
        if (target >= 0)
            p->match[0] = (size_t)target;
        if (ev == NULL && e->nruns > 0 && needs_tree(g, p->match, e->nruns))
            ev = parsed = json_parse(e->json);
    } else {
        e->nruns = g == NULL ? 0
                             : router_lookup(g->router, e->name, p->match);
        if (ev == NULL && e->nruns > 0 &&
            needs_tree(g, p->match, e->nruns) &&
            (ev = parsed = json_parse(e->json)) == NULL)
            log_error("pipeline", "event %s (%s): its stored text does not"
                                  " parse; no `if` holds for it and it has"
                                  " no idempotency key", e->id, e->name);
        e->nruns = filter_runs(g, ev, p->match, e->nruns);
    }
    if (e->nruns > 0) {
        e->runs = xcalloc(e->nruns, sizeof(*e->runs));
        for (size_t r = 0; r < e->nruns; r++) {
            const struct fn_info *f = &g->fns[p->match[r]];

            ulid_new(e->runs[r].id, now);
            e->runs[r].function_id = f->id;
            e->runs[r].start_timeout_ms = f->timeout_start_ms;
            e->runs[r].cancel_on = f->cancel_on;
            e->runs[r].ncancel_on = f->ncancel_on;
            if (sub->target == NULL)
                run_keys(&e->runs[r], f, ev);
            /* Made once, stored with the run: its queue for good. */
            conc_run_keys(f, ev, e->runs[r].conc_keys);
            e->runs[r].priority = run_priority(p, f, ev);
        }
    }
    json_object_put(parsed);
}

/* A submission of N events routed by the current generation; each gets
 * its id: from IDS (an array of strings), else from SEED, else a new one.
 * The caller fills each event's name, id, ts and text, then calls
 * submission_route(). */
static struct submission *
submission_new(struct pipeline *p, size_t n, struct json_object *ids,
               const char *seed, const char *target, int64_t now)
{
    const struct generation *g = *p->gen;
    struct submission *sub = xcalloc(1, sizeof(*sub));

    sub->target = target;
    if (g != NULL && g->nfns > p->nmatch) {
        p->nmatch = g->nfns;
        p->match = xrealloc(p->match, p->nmatch * sizeof(*p->match));
    }
    sub->p = p;
    /* The count is the generation's own bookkeeping, not its contents:
     * the pointer is const so that the pipeline changes nothing else. */
    sub->gen = generation_ref((struct generation *)g);
    sub->nevs = n;
    sub->evs = xcalloc(n ? n : 1, sizeof(*sub->evs));
    for (size_t i = 0; i < n; i++) {
        struct store_new_event *e = &sub->evs[i];

        if (ids != NULL)
            snprintf(e->id, sizeof(e->id), "%s",
                     json_object_get_string(json_object_array_get_idx(ids, i)));
        /* An SDK retrying a send repeats its seed: same ids, and the
         * store recognizes the events it has already. */
        else if (seed == NULL || ingest_seeded_id(seed, i, e->id) != 0)
            ulid_new(e->id, now);
    }
    p->pending++;
    return sub;
}

/* A submission of EVENTS (stolen), read as trees: the text the store
 * keeps is made from each. */
static struct submission *
submission_of_tree(struct pipeline *p, struct json_object *events,
                   struct json_object *ids, const char *seed,
                   const char *target, int64_t now)
{
    size_t n = json_object_array_length(events);
    struct submission *sub = submission_new(p, n, ids, seed, target, now);
    struct json_object *v;

    sub->events = events;
    for (size_t i = 0; i < n; i++) {
        struct json_object *ev = json_object_array_get_idx(events, i);
        struct store_new_event *e = &sub->evs[i];

        e->name = json_object_get_string(json_object_object_get(ev, "name"));
        e->user_id = json_object_object_get_ex(ev, "id", &v)
                         ? json_object_get_string(v) : NULL;
        e->ts = json_object_get_int64(json_object_object_get(ev, "ts"));
        /* json-c's text, written by json_append: json-c's own printer
         * costs a call per piece into a buffer that grows from 32
         * bytes. */
        json_append(&sub->text, ev);
        text_append(&sub->text, "", 1);
    }
    /* The text has stopped moving. JSON text holds no NUL (a string's
     * is escaped), so each event's ends at the first. */
    for (size_t i = 0, at = 0; i < n; i++) {
        sub->evs[i].json = sub->text.s + at;
        at += strlen(sub->evs[i].json) + 1;
    }
    for (size_t i = 0; i < n; i++)
        event_route(p, sub, sub->gen, json_object_array_get_idx(events, i),
                    &sub->evs[i], now);
    return sub;
}

/* Hands the scheduler, before SUB's commit, the runs that may start
 * then (store_new_run.early): the event's commit and their first writes
 * can then share a group, which saves a run a commit's wait. Only a
 * source's events with ids of their own (no resend can make them
 * duplicates), no "id" (no dedup), due now, and runs of functions that
 * allow it (fn_info.starts_early): for those the commit creates the run
 * for certain, if it commits. SUB's write must be queued next. */
static void
start_early(struct pipeline *p, struct submission *sub, const char *seed,
            int64_t now)
{
    const struct generation *g = sub->gen;

    if (seed != NULL || sub->target != NULL || g == NULL)
        return;
    for (size_t i = 0; i < sub->nevs; i++) {
        struct store_new_event *e = &sub->evs[i];
        struct shared_str *ev = NULL;

        if (e->user_id != NULL || e->ts > now)
            continue;
        for (size_t j = 0; j < e->nruns; j++) {
            const struct fn_info *f =
                registry_find(g, e->runs[j].function_id);

            if (f == NULL || !f->starts_early)
                continue;
            if (ev == NULL)
                ev = shared_str_new(e->json, strlen(e->json));
            e->runs[j].early = sched_submit_early(p->sched, e->runs[j].id,
                                                  e->runs[j].function_id,
                                                  e->id, ev);
        }
        shared_str_unref(ev);
    }
}

void
pipeline_submit(struct pipeline *p, struct json_object *events,
                const struct pipeline_source *src, pipeline_done_fn done,
                void *arg)
{
    struct submission *sub =
        submission_of_tree(p, events, NULL, src->seed, NULL, src->now);

    sub->done = done;
    sub->arg = arg;
    start_early(p, sub, src->seed, src->now);
    store_put_events(p->store, sub->evs, sub->nevs, src->dedup_window_ms,
                     stored_cb, sub);
}

void
pipeline_submit_batch(struct pipeline *p, struct ingest_batch *batch,
                      const struct pipeline_source *src,
                      pipeline_done_fn done, void *arg)
{
    struct submission *sub =
        submission_new(p, batch->n, NULL, src->seed, NULL, src->now);

    for (size_t i = 0; i < batch->n; i++) {
        struct store_new_event *e = &sub->evs[i];

        e->name = batch->evs[i].name;
        e->user_id = batch->evs[i].id;
        e->ts = batch->evs[i].ts;
        e->json = batch->evs[i].json;
        event_route(p, sub, sub->gen, NULL, e, src->now);
    }
    /* The strings the store borrows stay the batch's. */
    sub->text.s = batch->text;
    sub->text.len = sub->text.cap = batch->text_len;
    batch->text = NULL;
    ingest_batch_free(batch);
    sub->done = done;
    sub->arg = arg;
    start_early(p, sub, src->seed, src->now);
    store_put_events(p->store, sub->evs, sub->nevs, src->dedup_window_ms,
                     stored_cb, sub);
}

/* The lifecycle events a run emits, as Inngest names them (a cancelled
 * run's are the store's: lifecycle.h). */
static const char ev_finished[] = EVENT_FN_FINISHED;
static const char ev_failed[] = EVENT_FN_FAILED;

/* Event NAME about run AT of FUNCTION_ID, triggered by TRIGGER (a parsed
 * event; borrowed), with Inngest's data; BATCH (borrowed, or NULL) is
 * its batch's events, as store_batch_events() gives them. */
static struct json_object *
lifecycle_event(const char *name, const struct store_attempt *at,
                const char *function_id, struct json_object *trigger,
                struct json_object *batch, int64_t now)
{
    struct json_object *ev = json_object_new_object();
    struct json_object *data = json_object_new_object(), *list;
    size_t n = batch != NULL ? json_object_array_length(batch) : 0;

    json_object_object_add(data, "function_id",
                           json_object_new_string(function_id));
    json_object_object_add(data, "run_id", json_object_new_string(at->run_id));
    json_object_object_add(data, "event", json_object_get(trigger));
    list = json_object_new_array();
    for (size_t i = 0; i < n; i++)
        json_object_array_add(
            list, json_object_get(json_object_object_get(
                      json_object_array_get_idx(batch, i), "event")));
    if (n == 0)
        json_object_array_add(list, json_object_get(trigger));
    json_object_object_add(data, "events", list);
    if (at->outcome == RUN_FAILED) {
        struct json_object *err = json_object_new_object();

        json_object_object_add(err, "name", json_object_new_string("Error"));
        json_object_object_add(err, "message",
                               json_object_new_string(at->error ? at->error
                                                                : ""));
        json_object_object_add(data, "error", err);
    } else {
        json_object_object_add(data, "result",
                               at->output ? json_tokener_parse(at->output)
                                          : NULL);
    }
    json_object_object_add(ev, "name", json_object_new_string(name));
    json_object_object_add(ev, "data", data);
    /* Inngest's: one failure event per run, whatever resends it. */
    if (strcmp(name, ev_failed) == 0)
        json_object_object_add(ev, "id", json_object_new_string(at->run_id));
    json_object_object_add(ev, "ts", json_object_new_int64(now));
    return ev;
}

/* Run AT suspends on an invoke (its step's target and event): the run
 * it invokes is stored with the suspension, or, when no function has
 * that id, the step fails at once and the run is due now. */
static void
finish_invoke(struct pipeline *p, struct store_attempt *at,
              store_done_fn done, void *arg, int64_t now)
{
    const struct step_record *step = at->step;
    struct json_object *sent, *events = NULL, *ev;
    struct step_record failed;
    struct submission *sub;
    char why[512];

    /* proto checked its shape: one event object. Its name is the host's
     * to give, whatever the worker wrote. */
    sent = json_tokener_parse(step->events);
    ev = json_object_array_get_idx(sent, 0);
    if (json_object_is_type(sent, json_type_array) &&
        json_object_is_type(ev, json_type_object)) {
        json_object_object_add(ev, "name",
                               json_object_new_string(EVENT_INVOKED));
        ev = event_normalize_internal(ev, "invoke", now, why, sizeof(why));
    } else {
        snprintf(why, sizeof(why), "it is not one event object");
        ev = NULL;
    }
    json_object_put(sent);
    if (ev != NULL && function_index(*p->gen, step->target) >= 0) {
        at->outcome = RUN_INVOKE;
        events = json_object_new_array();
        json_object_array_add(events, ev);
        sub = submission_of_tree(p, events, NULL, NULL, step->target, now);
        /* The strings are the scheduler's, kept until DONE has run. */
        sub->evs[0].runs[0].parent_run_id = at->run_id;
        sub->evs[0].runs[0].parent_step_id = step->step_id;
        sub->step_done = done;
        sub->arg = arg;
        store_finish_attempt_events(p->store, at, sub->evs, sub->nevs, 0,
                                    stored_cb, sub);
        return;
    }
    if (ev == NULL)
        log_error("pipeline", "run %s: step %s invokes with an event the"
                              " host refuses: %s", at->run_id, step->step_id,
                  why);
    else
        snprintf(why, sizeof(why), "no function \"%s\"", step->target);
    json_object_put(ev);
    failed = *step;
    failed.status = "failed";
    failed.result = failed.events = failed.target = NULL;
    failed.error = xasprintf("invoke %s: %s", step->target, why);
    failed.ended_at = failed.wake_at = now;
    /* A sleep that ends now, to see the step's failure. */
    at->outcome = RUN_SLEEP;
    at->wake_at = now;
    at->step = &failed;
    store_finish_attempt(p->store, at, done, arg);
    at->step = step;
    free((char *)failed.error);
}

/* The events of RUN_ID, a run of FUNCTION_ID in G, if that batches
 * (new; NULL for none, or when they cannot be read: the run's own event
 * stands for them then). */
static struct json_object *
batch_of(struct pipeline *p, const struct generation *g, const char *run_id,
         const char *function_id)
{
    long k = function_index(g, function_id);
    struct json_object *o;
    char *text;

    if (k < 0 || g->fns[k].batch_max == 0 ||
        store_batch_events(p->store, run_id, &text) != 0 || text == NULL)
        return NULL;
    o = json_tokener_parse(text);
    free(text);
    return o;
}

void
pipeline_finish(void *impl, struct store_attempt *at, const char *function_id,
                const char *trigger_json, store_done_fn done, void *arg)
{
    struct pipeline *p = impl;
    const struct generation *g = *p->gen;
    const char *names[2] = {ev_finished, ev_failed};
    struct json_object *trigger = NULL, *events = NULL, *ev, *batch = NULL;
    struct submission *sub;
    int64_t now = now_ms();

    /* By the step, not the outcome: a write again after a store error
     * (a full disk) finds the outcome this made of it. */
    if (at->step != NULL && at->step->status != NULL &&
        strcmp(at->step->status, "invoking") == 0) {
        finish_invoke(p, at, done, arg, now);
        return;
    }

    /* A parallel branch is a part of its run, not a run of its own: its
     * end is no function's finish or failure. */
    if (at->group_run[0] != '\0')
        g = NULL;
    if ((at->outcome == RUN_COMPLETED || at->outcome == RUN_FAILED) &&
        g != NULL && g->nfns > p->nmatch) {
        p->nmatch = g->nfns;
        p->match = xrealloc(p->match, p->nmatch * sizeof(*p->match));
    }
    for (int i = 0; i < 2 && g != NULL; i++) {
        /* Stored only when a function wants them: a run's end costs
         * nothing more when none does. */
        if ((at->outcome != RUN_COMPLETED && at->outcome != RUN_FAILED) ||
            (i == 1 && at->outcome != RUN_FAILED) ||
            router_lookup(g->router, names[i], p->match) == 0)
            continue;
        if (trigger == NULL) {
            trigger = trigger_json ? json_tokener_parse(trigger_json) : NULL;
            if (lifecycle_is_event(json_object_get_string(
                    json_object_object_get(trigger, "name"))))
                break;
            events = json_object_new_array();
            batch = batch_of(p, g, at->run_id, function_id);
        }
        ev = lifecycle_event(names[i], at, function_id, trigger, batch, now);
        /* Failure handlers subscribe to the failures of one function. */
        if (filter_runs(g, ev, p->match,
                        router_lookup(g->router, names[i], p->match)) > 0)
            json_object_array_add(events, ev);
        else
            json_object_put(ev);
    }
    json_object_put(trigger);
    json_object_put(batch);
    if (events == NULL || json_object_array_length(events) == 0) {
        json_object_put(events);
        store_finish_attempt(p->store, at, done, arg);
        return;
    }
    sub = submission_of_tree(p, events, NULL, NULL, NULL, now);
    sub->step_done = done;
    sub->arg = arg;
    store_finish_attempt_events(p->store, at, sub->evs, sub->nevs,
                                p->step_window, stored_cb, sub);
}

/* Whether S looks like one of fnhost's event ids: 26 characters of
 * Crockford's base32, the first at most 7 (a 48-bit time). */
static int
is_event_id(const char *s)
{
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    if (s == NULL || strlen(s) != EVENT_ID_LEN || s[0] > '7')
        return 0;
    for (size_t i = 0; i < EVENT_ID_LEN; i++)
        if (s[i] == '\0' || strchr(digits, s[i]) == NULL)
            return 0;
    return 1;
}

int
pipeline_submit_step(void *impl, const char *run_id,
                     const struct step_record *step, int update_run,
                     store_done_fn done, void *arg, char *err, size_t errlen)
{
    struct pipeline *p = impl;
    struct json_object *sent, *result, *ids = NULL, *events;
    struct submission *sub;
    size_t n;

    /* A worker runs plugin code: what it sends is checked again, as the
     * event API checks a body. */
    sent = ingest_parse_json(step->events, strlen(step->events), err, errlen);
    if (sent == NULL)
        return -1;
    events = ingest_events(sent, now_ms(), err, errlen);
    json_object_put(sent);
    if (events == NULL)
        return -1;
    n = json_object_array_length(events);
    result = json_tokener_parse(step->result);
    if (result == NULL || !json_object_object_get_ex(result, "ids", &ids) ||
        !json_object_is_type(ids, json_type_array) ||
        json_object_array_length(ids) != n) {
        snprintf(err, errlen, "its result is not {\"ids\": [...]} with one"
                              " id per event");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (!is_event_id(json_object_get_string(
                json_object_array_get_idx(ids, i)))) {
            snprintf(err, errlen, "ids[%zu] is not an event id", i);
            goto fail;
        }
    }
    sub = submission_of_tree(p, events, ids, NULL, NULL, now_ms());
    json_object_put(result);
    sub->step_done = done;
    sub->arg = arg;
    store_put_step_events(p->store, run_id, step, update_run, sub->evs,
                          sub->nevs, p->step_window, stored_cb, sub);
    return 0;

fail:
    json_object_put(result);
    json_object_put(events);
    return -1;
}

/* A submission of one event NAME the host makes, with DATA (stolen;
 * NULL: {}), for FUNCTION_ID alone, whatever it declares; DONE(ARG)
 * hears of its commit. */
static struct submission *
submission_for(struct pipeline *p, const char *function_id, const char *name,
               struct json_object *data, int64_t now, pipeline_done_fn done,
               void *arg)
{
    struct json_object *ev, *events;
    struct submission *sub;

    ev = json_object_new_object();
    json_object_object_add(ev, "name", json_object_new_string(name));
    json_object_object_add(ev, "data",
                           data != NULL ? data : json_object_new_object());
    json_object_object_add(ev, "ts", json_object_new_int64(now));
    events = json_object_new_array();
    json_object_array_add(events, ev);
    sub = submission_of_tree(p, events, NULL, NULL, function_id, now);
    sub->done = done;
    sub->arg = arg;
    return sub;
}

int
pipeline_invoke(struct pipeline *p, const char *function_id,
                struct json_object *data, int64_t now, pipeline_done_fn done,
                void *arg, char *err, size_t errlen)
{
    struct submission *sub;

    if (function_index(*p->gen, function_id) < 0) {
        snprintf(err, errlen, "no function \"%s\"", function_id);
        json_object_put(data);
        return -1;
    }
    sub = submission_for(p, function_id, EVENT_INVOKED, data, now, done,
                         arg);
    store_put_events(p->store, sub->evs, sub->nevs, 0, stored_cb, sub);
    return 0;
}

int
pipeline_cron(struct pipeline *p, const char *function_id, const char *cron,
              int64_t tick, int64_t now, pipeline_done_fn done, void *arg)
{
    struct json_object *data;
    struct submission *sub;

    if (function_index(*p->gen, function_id) < 0)
        return -1;
    data = json_object_new_object();
    json_object_object_add(data, "cron", json_object_new_string(cron));
    sub = submission_for(p, function_id, EVENT_CRON, data, now, done, arg);
    /* The event's copy: it lives as long as the submission. */
    sub->evs[0].cron = json_object_get_string(json_object_object_get(
        json_object_object_get(json_object_array_get_idx(sub->events, 0),
                               "data"),
        "cron"));
    sub->evs[0].cron_tick = tick;
    store_put_events(p->store, sub->evs, sub->nevs, 0, stored_cb, sub);
    return 0;
}
