/* cancel.c - bulk cancellation: the runs of a function, in a time range,
 * that an expression picks.
 * SPDX-License-Identifier: Apache-2.0 */
#include "cancel.h"

#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "expr.h"
#include "log.h"
#include "sched.h"
#include "store.h"
#include "util.h"

/* Runs read, and cancelled, per transaction. */
#define CANCEL_PAGE 500

/* A time field: RFC 3339 or ms, as a string or a number. */
static int
parse_time_field(struct json_object *v, const char *key, int64_t *out,
                 char *err, size_t errlen)
{
    char why[160];

    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        if (*out >= 0)
            return 0;
    } else if (json_object_is_type(v, json_type_string) &&
               duration_parse_time(json_object_get_string(v), out, why,
                                   sizeof(why)) == 0) {
        return 0;
    }
    snprintf(err, errlen, "%s: expected a time, RFC 3339 (as"
                          " \"2026-12-07T10:42:00Z\") or milliseconds since"
                          " the epoch", key);
    return -1;
}

int
cancel_filter_parse(const char *body, size_t len, int64_t now,
                    struct cancel_filter *f, char *err, size_t errlen)
{
    struct json_object *o = NULL, *v;
    char why[256], *text;
    int rc = -1;

    /* The request's bytes end where their length says, not at a NUL. */
    text = xmalloc(len + 1);
    memcpy(text, body, len);
    text[len] = '\0';
    if (len > 0 && strlen(text) == len)
        o = json_parse(text);
    free(text);

    memset(f, 0, sizeof(*f));
    f->to = now;
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        snprintf(err, errlen, "the body must be a JSON object:"
                              " {\"function_id\": ..., \"started_after\":"
                              " ..., \"started_before\": ..., \"if\": ...}");
        goto out;
    }
    json_object_object_foreach(o, key, val)
    {
        if (strcmp(key, "function_id") != 0 && strcmp(key, "app_id") != 0 &&
            strcmp(key, "started_after") != 0 &&
            strcmp(key, "started_before") != 0 && strcmp(key, "if") != 0) {
            snprintf(err, errlen, "unknown field \"%.64s\": expected"
                                  " function_id, started_after,"
                                  " started_before, if", key);
            goto out;
        }
        if (strcmp(key, "started_after") == 0 &&
            parse_time_field(val, key, &f->from, err, errlen) != 0)
            goto out;
        if (strcmp(key, "started_before") == 0 &&
            parse_time_field(val, key, &f->to, err, errlen) != 0)
            goto out;
    }
    if (!json_object_object_get_ex(o, "function_id", &v) ||
        !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0) {
        snprintf(err, errlen, "function_id: expected the id of a function"
                              " (a string)");
        goto out;
    }
    f->function_id = xstrdup(json_object_get_string(v));
    if (f->to <= f->from) {
        snprintf(err, errlen, "started_before: expected a time after"
                              " started_after");
        goto out;
    }
    if (json_object_object_get_ex(o, "if", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(err, errlen, "if: expected an expression (a string)");
            goto out;
        }
        f->cond = expr_compile(json_object_get_string(v), why, sizeof(why));
        if (f->cond == NULL) {
            snprintf(err, errlen, "if: %s", why);
            goto out;
        }
    }
    rc = 0;
out:
    json_object_put(o);
    return rc;
}

void
cancel_filter_fini(struct cancel_filter *f)
{
    free(f->function_id);
    expr_free(f->cond);
    memset(f, 0, sizeof(*f));
}

/* A bulk cancellation on its way, a page at a time. */
struct bulk {
    struct event_base *base;
    struct sched *sched;
    struct store *store;
    struct cancel_filter f;
    char *reason;
    int64_t after_at; /* the cursor: the last run read */
    char after_id[27];
    struct store_cancel page[CANCEL_PAGE];
    size_t n;         /* picked on this page */
    int64_t count;    /* cancelled so far */
    cancel_done_fn done;
    void *arg;
};

static void next_page(struct bulk *b);

static void
bulk_end(struct bulk *b, int rc, const char *err)
{
    b->done(b->arg, rc, err, b->count);
    cancel_filter_fini(&b->f);
    free(b->reason);
    free(b);
}

static void
found_cb(void *arg, const struct store_found *r)
{
    struct bulk *b = arg;
    struct expr_vars vars = {NULL, NULL};
    char err[256];
    int pick = 1;

    b->after_at = r->created_at;
    snprintf(b->after_id, sizeof(b->after_id), "%s", r->run_id);
    if (b->f.cond != NULL) {
        vars.event = json_parse(r->event_json);
        /* An expression that cannot be evaluated for a run (a field it
         * lacks) does not pick it, as a false one. */
        pick = expr_eval_bool(b->f.cond, &vars, err, sizeof(err)) == 1;
        json_object_put(vars.event);
    }
    if (pick) {
        memset(&b->page[b->n], 0, sizeof(b->page[b->n]));
        snprintf(b->page[b->n].run_id, sizeof(b->page[b->n].run_id), "%s",
                 r->run_id);
        b->n++;
    }
}

static void
page_done_cb(void *arg, int rc, const char *err, const struct store_cancel *v,
             size_t n)
{
    struct bulk *b = arg;

    if (rc != 0) {
        bulk_end(b, -1, err);
        return;
    }
    for (size_t i = 0; i < n; i++)
        b->count += v[i].done;
    next_page(b);
}

static void
next_page_cb(evutil_socket_t fd, short what, void *arg)
{
    next_page(arg);
}

/* Reads the next page and cancels what it picks; the page after it is
 * read once that committed, or on the next turn of the loop if it picked
 * nothing, so that the loop serves others between pages. */
static void
next_page(struct bulk *b)
{
    int got;

    b->n = 0;
    got = store_runs_to_cancel(b->store, b->f.function_id, b->f.from, b->f.to,
                               b->after_at, b->after_id, CANCEL_PAGE,
                               found_cb, b);
    if (got < 0) {
        bulk_end(b, -1, "cannot read the runs to cancel; the log says why");
        return;
    }
    if (b->n > 0) {
        sched_cancel(b->sched, b->page, b->n, b->reason, page_done_cb, b);
        return;
    }
    if (got < CANCEL_PAGE) {
        bulk_end(b, 0, NULL);
        return;
    }
    event_base_once(b->base, -1, EV_TIMEOUT, next_page_cb, b, NULL);
}

void
cancel_bulk(struct event_base *base, struct sched *s, struct store *st,
            struct cancel_filter *f, const char *id, cancel_done_fn done,
            void *arg)
{
    struct bulk *b = xcalloc(1, sizeof(*b));

    b->base = base;
    b->sched = s;
    b->store = st;
    b->f = *f;
    memset(f, 0, sizeof(*f));
    b->reason = xasprintf("cancelled by cancellation %s", id);
    /* Before every run: created_at >= 0, and any id sorts after "". */
    b->after_at = -1;
    b->done = done;
    b->arg = arg;
    log_info("cancel", "cancellation %s: runs of %s", id, b->f.function_id);
    next_page(b);
}
