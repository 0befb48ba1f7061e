/* fetch_step.c - fetch steps: the master makes a run's HTTP request,
 * durably, retries it, and stores the response as the step's result.
 * SPDX-License-Identifier: Apache-2.0 */
#include "fetch_step.h"

#include <event2/event.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "fetch_req.h"
#include "fetcher.h"
#include "json_check.h"
#include "log.h"
#include "registry.h"
#include "sched.h"
#include "steprules.h"
#include "store.h"
#include "util.h"

/* A store that could not record an attempt is asked again this often. */
#define REWRITE_MS 1000

struct fetch_steps {
    struct event_base *base;
    struct store *store;
    struct sched *sched;
    const struct generation *const *gen;
    const struct config *cfg;
    struct fetcher *fetcher;
    struct pending *head; /* every pending fetch this process makes */
    int npending;
    int stopping;
};

/* One pending fetch step. */
struct pending {
    struct fetch_steps *fs;
    char run_id[27];
    char *function_id, *step_id, *name;
    struct json_object *request; /* the stored form */
    struct fetch_req req;        /* read from it */
    char *bad;                   /* why the request cannot be made */
    unsigned attempt;            /* the one to make, 0-based */
    int64_t started_at;          /* the step's */
    int64_t attempt_started;
    struct event *timer;         /* the next attempt, or a write again */
    struct fetch_call *call;     /* in flight */
    int writing;                 /* an attempt's end is being stored */
    struct store_fetch_end end;  /* what is being stored: */
    char *result, *error;
    struct pending *prev, *next;
};

static void attempt_cb(evutil_socket_t fd, short what, void *arg);

static void
pending_free(struct pending *p)
{
    struct fetch_steps *fs = p->fs;

    if (p->prev != NULL)
        p->prev->next = p->next;
    else
        fs->head = p->next;
    if (p->next != NULL)
        p->next->prev = p->prev;
    fs->npending--;
    fetcher_cancel(p->call);
    event_free(p->timer);
    json_object_put(p->request);
    free(p->bad);
    free(p->function_id);
    free(p->step_id);
    free(p->name);
    free(p->result);
    free(p->error);
    free(p);
}

/* Runs P's next attempt at AT (ms since the epoch; now if past). */
static void
arm(struct pending *p, int64_t at)
{
    int64_t d = at - now_ms();
    struct timeval tv;

    if (d < 0)
        d = 0;
    tv.tv_sec = d / 1000;
    tv.tv_usec = (d % 1000) * 1000;
    evtimer_add(p->timer, &tv);
}

static struct pending *
pending_new(struct fetch_steps *fs, const char *run_id,
            const char *function_id, const char *step_id, const char *name,
            const char *request, unsigned attempt, int64_t started_at)
{
    struct pending *p = xcalloc(1, sizeof(*p));

    p->fs = fs;
    snprintf(p->run_id, sizeof(p->run_id), "%s", run_id);
    p->function_id = xstrdup(function_id);
    p->step_id = xstrdup(step_id);
    p->name = xstrdup(name ? name : step_id);
    p->attempt = attempt;
    p->started_at = started_at;
    p->timer = evtimer_new(fs->base, attempt_cb, p);
    /* The worker checked the request; a worker runs plugin code, so it
     * is checked again here, and a bad one fails the step for good. */
    p->request = request ? json_tokener_parse(request) : NULL;
    if (p->request == NULL)
        p->bad = xstrdup("the request is not JSON");
    else
        p->bad = fetch_req_read(p->request, &p->req);
    p->next = fs->head;
    if (fs->head != NULL)
        fs->head->prev = p;
    fs->head = p;
    fs->npending++;
    return p;
}

/* ------------------------------------------------------------ verdicts */

enum fetch_verdict
fetch_step_verdict(const char *error, int too_big, long status)
{
    if (too_big)
        return FETCH_FATAL;
    if (error != NULL || status >= 500 || status == 429 || status < 100)
        return FETCH_RETRY;
    return FETCH_RESPONSE;
}

char *
fetch_step_response(long status, struct json_object *headers,
                    const char *body, size_t len)
{
    struct json_object *o = json_object_new_object();
    struct json_object *h = NULL;
    char *text;

    json_object_object_add(o, "status", json_object_new_int64(status));
    if (headers != NULL)
        json_object_deep_copy(headers, &h, NULL);
    json_object_object_add(o, "headers", h ? h : json_object_new_object());
    if (memchr(body, '\0', len) == NULL && json_check_utf8(body, len)) {
        json_object_object_add(o, "body",
                               json_object_new_string_len(body, (int)len));
    } else {
        /* JSON holds text: other bytes go as base64, and say so. */
        char *b64 = xmalloc(4 * ((len + 2) / 3) + 1);

        EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)body,
                        (int)len);
        json_object_object_add(o, "body", json_object_new_string(b64));
        json_object_object_add(o, "encoding",
                               json_object_new_string("base64"));
        free(b64);
    }
    text = xstrdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    return text;
}

/* ------------------------------------------------------------ attempts */

/* The function's options now: its retries, backoff and time limit. */
static void
options(struct fetch_steps *fs, const char *function_id, unsigned *max,
        double *scale, int64_t *timeout_ms)
{
    const struct fn_info *fn =
        *fs->gen != NULL ? registry_find(*fs->gen, function_id) : NULL;

    *max = (unsigned)(fn ? fn->retries : fs->cfg->retries) + 1;
    *scale = fn ? fn->backoff_scale : fs->cfg->backoff_scale;
    *timeout_ms = fn ? fn->timeout_ms : fs->cfg->timeout_ms;
}

static void stored_cb(void *arg, int rc, const char *err);

/* Stores P->end (its strings P's). */
static void
write_end(struct pending *p)
{
    p->writing = 1;
    p->end.step_id = p->step_id;
    p->end.name = p->name;
    p->end.result = p->result;
    p->end.error = p->error;
    store_fetch_attempt(p->fs->store, &p->end, stored_cb, p);
}

static void
stored_cb(void *arg, int rc, const char *err)
{
    struct pending *p = arg;
    struct fetch_steps *fs = p->fs;

    p->writing = 0;
    if (fs->stopping) {
        pending_free(p);
        return;
    }
    if (rc != 0) {
        /* Nothing of it is recorded: store it again in a while (the
         * request is not made again for it). */
        log_error("fetch", "run %s: cannot record fetch %s: %s; trying"
                           " again", p->run_id, p->step_id, err);
        arm(p, now_ms() + REWRITE_MS);
        return;
    }
    if (p->end.gone || p->end.final) {
        if (!p->end.gone)
            sched_poke(fs->sched); /* the run is due: it replays */
        pending_free(p);
        return;
    }
    free(p->result);
    free(p->error);
    p->result = p->error = NULL;
    p->attempt++;
    arm(p, p->end.due_at);
}

/* Ends P's attempt: RESULT (new: the response) or ERROR (new), retried
 * when RETRY and attempts are left, after RETRY_AFTER_MS if it is set. */
static void
attempt_end(struct pending *p, char *result, char *error, int retry,
            int64_t retry_after_ms)
{
    struct fetch_steps *fs = p->fs;
    unsigned max;
    double scale;
    int64_t timeout;
    uint32_t draw = 0;

    options(fs, p->function_id, &max, &scale, &timeout);
    memset(&p->end, 0, sizeof(p->end));
    snprintf(p->end.run_id, sizeof(p->end.run_id), "%s", p->run_id);
    p->end.attempt = p->attempt;
    p->end.started_at = p->started_at;
    p->end.attempt_started = p->attempt_started;
    p->end.ended_at = now_ms();
    p->end.final = result != NULL || !retry || p->attempt + 1 >= max;
    if (!p->end.final) {
        if (getrandom(&draw, sizeof(draw), 0) != sizeof(draw))
            draw = (uint32_t)rand();
        p->end.due_at = p->end.ended_at +
                        sched_retry_delay_ms(scale, p->attempt,
                                             retry_after_ms, draw);
        log_info("fetch", "run %s: fetch %s attempt %u of %u failed: %s;"
                          " retrying", p->run_id, p->step_id,
                 p->attempt + 1, max, error);
    } else if (result == NULL) {
        log_warn("fetch", "run %s: fetch %s failed for good: %s", p->run_id,
                 p->step_id, error);
    }
    p->result = result;
    p->error = error;
    write_end(p);
}

static void
fetched_cb(void *arg, const struct fetch_result *r)
{
    struct pending *p = arg;
    enum fetch_verdict v = fetch_step_verdict(r->error, r->too_big, r->status);
    char *text;
    size_t len;

    p->call = NULL;
    if (v == FETCH_FATAL) {
        attempt_end(p, NULL,
                    xasprintf("%s %.200s: the response body is over %lld"
                              " bytes", p->req.method, p->req.url,
                              (long long)p->req.max_bytes),
                    0, 0);
        return;
    }
    if (v == FETCH_RETRY) {
        attempt_end(p, NULL,
                    r->error ? xasprintf("%s %.200s: %s", p->req.method,
                                         p->req.url, r->error)
                             : xasprintf("%s %.200s: HTTP %ld", p->req.method,
                                         p->req.url, r->status),
                    1, r->retry_after_ms);
        return;
    }
    text = fetch_step_response(r->status, r->headers, r->body, r->body_len);
    len = strlen(text);
    if ((int64_t)len > p->req.max_bytes) {
        /* Headers and escapes count too: what the step may store. */
        free(text);
        attempt_end(p, NULL,
                    xasprintf("%s %.200s: the response is %zu bytes as JSON,"
                              " more than the %lld the step may store",
                              p->req.method, p->req.url, len,
                              (long long)p->req.max_bytes),
                    0, 0);
        return;
    }
    attempt_end(p, text, NULL, 0, 0);
}

/* P's next attempt is due (or its end must be stored again). */
static void
attempt_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pending *p = arg;
    unsigned max;
    double scale;
    int64_t timeout;

    (void)fd;
    (void)what;
    if (p->fs->stopping)
        return;
    if (p->result != NULL || p->error != NULL) {
        write_end(p); /* the store failed it last time */
        return;
    }
    p->attempt_started = now_ms();
    if (p->bad != NULL) {
        attempt_end(p, NULL, xasprintf("fetch \"%s\": %s", p->name, p->bad),
                    0, 0);
        return;
    }
    options(p->fs, p->function_id, &max, &scale, &timeout);
    if (timeout <= 0 || timeout > p->req.timeout_ms)
        timeout = p->req.timeout_ms;
    /* The body alone may not pass what the step may store. */
    p->call = fetcher_start(p->fs->fetcher, &p->req, timeout,
                            (size_t)p->req.max_bytes, fetched_cb, p);
}

/* -------------------------------------------------------------- public */

struct fetch_steps *
fetch_steps_new(struct event_base *base, struct store *st, struct sched *s,
                const struct generation *const *gen,
                const struct config *cfg, char *err, size_t errlen)
{
    struct fetch_steps *fs = xcalloc(1, sizeof(*fs));

    fs->fetcher = fetcher_new(base, err, errlen);
    if (fs->fetcher == NULL) {
        free(fs);
        return NULL;
    }
    fs->base = base;
    fs->store = st;
    fs->sched = s;
    fs->gen = gen;
    fs->cfg = cfg;
    return fs;
}

void
fetch_steps_start(void *impl, const char *run_id, const char *function_id,
                  const struct step_record *step)
{
    struct fetch_steps *fs = impl;
    struct pending *p;

    if (fs->stopping)
        return; /* pending in the store: the next start makes it */
    p = pending_new(fs, run_id, function_id, step->step_id, step->name,
                    step->result, 0, step->started_at);
    arm(p, 0);
}

static void
resume_cb(void *arg, const struct store_fetch *f)
{
    struct fetch_steps *fs = arg;
    struct pending *p;

    p = pending_new(fs, f->run_id, f->function_id, f->step_id, f->name,
                    f->request, f->attempt, f->started_at);
    arm(p, f->due_at);
}

int
fetch_steps_resume(struct fetch_steps *fs)
{
    int n = fs->npending, rc = store_pending_fetches(fs->store, resume_cb, fs);

    if (fs->npending > n)
        log_info("fetch", "%d pending fetch%s made again", fs->npending - n,
                 fs->npending - n == 1 ? " is" : "es are");
    return rc;
}

void
fetch_steps_stop(struct fetch_steps *fs)
{
    struct pending *p, *next;

    fs->stopping = 1;
    for (p = fs->head; p != NULL; p = next) {
        next = p->next;
        if (!p->writing)
            pending_free(p);
    }
}

void
fetch_steps_free(struct fetch_steps *fs)
{
    if (fs == NULL)
        return;
    fs->stopping = 1;
    while (fs->head != NULL)
        pending_free(fs->head);
    fetcher_free(fs->fetcher);
    free(fs);
}
