/* lifecycle.c - the events of a cancelled run, made on the store's
 * writer thread from a copy of the generation's subscribers.
 * SPDX-License-Identifier: Apache-2.0 */
#include "lifecycle.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "log.h"
#include "registry.h"
#include "router.h"
#include "store.h"
#include "util.h"

/* A function that a lifecycle event starts. */
struct subscriber {
    char *function_id;
    int64_t start_timeout_ms;
    struct expr *if_expr; /* its own copy, or NULL */
    struct store_cancel_rule cancel_on[FH_CANCEL_ON_MAX]; /* copies */
    size_t ncancel_on;
};

static char *
dup_or_null(const char *s)
{
    return s != NULL ? xstrdup(s) : NULL;
}

/* The subscribers of one event name. */
struct subscribers {
    struct subscriber *v;
    size_t n;
};

enum { SUB_FINISHED, SUB_CANCELLED, NSUB };

static const char *const sub_names[NSUB] = {
    [SUB_FINISHED] = EVENT_FN_FINISHED,
    [SUB_CANCELLED] = EVENT_FN_CANCELLED,
};

struct lifecycle {
    struct subscribers subs[NSUB];
    int64_t window_ms;
};

int
lifecycle_is_event(const char *name)
{
    return name != NULL && (strcmp(name, EVENT_FN_FINISHED) == 0 ||
                            strcmp(name, EVENT_FN_FAILED) == 0 ||
                            strcmp(name, EVENT_FN_CANCELLED) == 0);
}

static void
subscriber_fini(struct subscriber *sub)
{
    free(sub->function_id);
    expr_free(sub->if_expr);
    for (size_t r = 0; r < sub->ncancel_on; r++) {
        free((char *)sub->cancel_on[r].event);
        free((char *)sub->cancel_on[r].match);
        free((char *)sub->cancel_on[r].if_expr);
    }
    memset(sub, 0, sizeof(*sub));
}

struct lifecycle *
lifecycle_new(const struct generation *g, int64_t window_ms)
{
    struct lifecycle *l;
    size_t *match, total = 0;

    if (g == NULL || g->nfns == 0)
        return NULL;
    l = xcalloc(1, sizeof(*l));
    l->window_ms = window_ms;
    match = xcalloc(g->nfns, sizeof(*match));
    for (int k = 0; k < NSUB; k++) {
        size_t n = router_lookup(g->router, sub_names[k], match);
        struct subscribers *s = &l->subs[k];

        s->v = xcalloc(n ? n : 1, sizeof(*s->v));
        for (size_t i = 0; i < n; i++) {
            const struct fn_info *f = &g->fns[match[i]];
            struct subscriber *sub = &s->v[s->n];
            char why[256];

            sub->function_id = xstrdup(f->id);
            sub->start_timeout_ms = f->timeout_start_ms;
            for (size_t r = 0; r < f->ncancel_on; r++) {
                struct store_cancel_rule *c = &sub->cancel_on[r];

                c->event = dup_or_null(f->cancel_on[r].event);
                c->match = dup_or_null(f->cancel_on[r].match);
                c->if_expr = dup_or_null(f->cancel_on[r].if_expr);
                c->timeout_ms = f->cancel_on[r].timeout_ms;
            }
            sub->ncancel_on = f->ncancel_on;
            /* It compiled once already; the copy is the writer's. */
            if (f->if_expr != NULL &&
                (sub->if_expr = expr_compile(expr_source(f->if_expr), why,
                                             sizeof(why))) == NULL) {
                log_error("lifecycle", "%s: its `if` does not compile"
                                       " again: %s", f->id, why);
                subscriber_fini(sub);
                continue;
            }
            s->n++;
        }
        total += s->n;
    }
    free(match);
    if (total == 0) {
        lifecycle_free(l);
        return NULL;
    }
    return l;
}

void
lifecycle_free(struct lifecycle *l)
{
    if (l == NULL)
        return;
    for (int k = 0; k < NSUB; k++) {
        for (size_t i = 0; i < l->subs[k].n; i++)
            subscriber_fini(&l->subs[k].v[i]);
        free(l->subs[k].v);
    }
    free(l);
}

int64_t
lifecycle_window(const struct lifecycle *l)
{
    return l != NULL ? l->window_ms : 0;
}

/* Event NAME about run RUN_ID of FUNCTION_ID, triggered by TRIGGER
 * (borrowed), with Inngest's data for a cancelled run. */
static struct json_object *
cancelled_event(const char *name, const char *run_id,
                const char *function_id, struct json_object *trigger,
                int64_t now)
{
    struct json_object *ev = json_object_new_object();
    struct json_object *data = json_object_new_object();
    struct json_object *list = json_object_new_array();
    struct json_object *err = json_object_new_object();

    json_object_object_add(data, "function_id",
                           json_object_new_string(function_id));
    json_object_object_add(data, "run_id", json_object_new_string(run_id));
    json_object_object_add(data, "event", json_object_get(trigger));
    json_object_array_add(list, json_object_get(trigger));
    json_object_object_add(data, "events", list);
    /* Inngest's words, whatever cancelled it: the reason is the run's. */
    json_object_object_add(err, "name", json_object_new_string("Error"));
    json_object_object_add(err, "message",
                           json_object_new_string("function cancelled"));
    json_object_object_add(data, "error", err);
    json_object_object_add(ev, "name", json_object_new_string(name));
    json_object_object_add(ev, "data", data);
    /* Inngest's: one cancellation event per run, whatever resends it. */
    if (strcmp(name, EVENT_FN_CANCELLED) == 0)
        json_object_object_add(ev, "id", json_object_new_string(run_id));
    json_object_object_add(ev, "ts", json_object_new_int64(now));
    return ev;
}

void
lifecycle_cancelled(struct lifecycle *l, const char *run_id,
                    const char *function_id, const char *trigger_json,
                    int64_t now, struct store_new_event **evs, size_t *n,
                    struct text_buf *text)
{
    struct json_object *trigger;
    size_t at[NSUB];

    *evs = NULL;
    *n = 0;
    if (l == NULL)
        return;
    trigger = trigger_json != NULL ? json_parse(trigger_json) : NULL;
    if (lifecycle_is_event(json_object_get_string(
            json_object_object_get(trigger, "name")))) {
        json_object_put(trigger);
        return;
    }
    *evs = xcalloc(NSUB, sizeof(**evs));
    for (int k = 0; k < NSUB; k++) {
        struct subscribers *s = &l->subs[k];
        struct store_new_event *e = &(*evs)[*n];
        struct json_object *ev;

        if (s->n == 0)
            continue;
        ev = cancelled_event(sub_names[k], run_id, function_id, trigger, now);
        e->runs = xcalloc(s->n, sizeof(*e->runs));
        for (size_t i = 0; i < s->n; i++) {
            struct expr_vars vars = {ev, NULL};
            char why[256];

            /* As for any event: an `if` that fails to evaluate is
             * false. */
            if (s->v[i].if_expr != NULL &&
                expr_eval_bool(s->v[i].if_expr, &vars, why, sizeof(why)) !=
                    1)
                continue;
            ulid_new(e->runs[e->nruns].id, now);
            e->runs[e->nruns].function_id = s->v[i].function_id;
            e->runs[e->nruns].start_timeout_ms = s->v[i].start_timeout_ms;
            e->runs[e->nruns].cancel_on = s->v[i].cancel_on;
            e->runs[e->nruns].ncancel_on = s->v[i].ncancel_on;
            e->nruns++;
        }
        if (e->nruns == 0) {
            free(e->runs);
            e->runs = NULL;
            json_object_put(ev);
            continue;
        }
        ulid_new(e->id, now);
        e->name = sub_names[k];
        e->user_id = k == SUB_CANCELLED ? run_id : NULL;
        e->ts = now;
        at[*n] = text->len;
        json_append(text, ev);
        text_append(text, "", 1);
        json_object_put(ev);
        (*n)++;
    }
    /* The text has stopped moving. */
    for (size_t i = 0; i < *n; i++)
        (*evs)[i].json = text->s + at[i];
    json_object_put(trigger);
}

void
lifecycle_events_free(struct store_new_event *evs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(evs[i].runs);
        free(evs[i].cancels);
    }
    free(evs);
}
