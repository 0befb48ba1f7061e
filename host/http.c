/* http.c - the HTTP surface: the event API, /health, /metrics, /v1.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Events go to the pipeline; POST /e/{key} answers from its callback,
 * after the events and their runs committed, so a 200 means nothing in
 * it can be lost. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "cancel.h"
#include "config.h"
#include "duration.h"
#include "expr.h"
#include "http_guard.h"
#include "ingest.h"
#include "json_check.h"
#include "log.h"
#include "pipeline.h"
#include "retention.h"
#include "pool.h"
#include "registry.h"
#include "reload.h"
#include "run_state.h"
#include "sched.h"
#include "store.h"
#include "util.h"
#include "webhook.h"

struct http {
    struct event_base *base;
    struct evhttp *evh;
    struct evhttp_bound_socket *sock;
    struct http_guard *guard;
    struct http_deps d;
    uint64_t requests_refused;
    uint64_t requests_scanned; /* event bodies read without a tree */
    struct counter_set webhook_refused; /* by source, WEBHOOK_* below */
    struct invoking *invoking; /* invoke-and-wait requests waiting */
    int stopping;              /* http_stop_listening() was called */
};

/* One POST /e/ request waiting for its commit. */
struct ingest_req {
    struct http *h;
    struct evhttp_request *req; /* NULL once the client went away */
    struct json_object *events;
    struct store_new_event *evs;
    size_t nevs;
    char **fn_ids;
    size_t nfn_ids;
};

/* Sends the JSON text S (LEN bytes, without its final newline). */
static void
reply_text(struct evhttp_request *req, int code, const char *s, size_t len)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);

    /* Straight into the request's own buffer, which evhttp sends: no
     * buffer of ours to make, fill and move. */
    evbuffer_add(b, s, len);
    evbuffer_add(b, "\n", 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    evhttp_send_reply(req, code, code == 200 ? "OK" : NULL, NULL);
}

/* Sends O (stolen) as JSON. What enters the store is checked to print as
 * JSON, but a string json-c prints as it holds it could still carry
 * bytes that are not UTF-8 (a store written before those checks, a file
 * name in an error): they become U+FFFD, so that the answer is JSON. */
static void
reply_json(struct evhttp_request *req, int code, struct json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    char *fixed = json_check_utf8(s, len) ? NULL : json_check_repair_utf8(s);

    if (fixed != NULL)
        reply_text(req, code, fixed, strlen(fixed));
    else
        reply_text(req, code, s, len);
    free(fixed);
    json_object_put(o);
}

static void
reply_error(struct evhttp_request *req, int code, const char *msg)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "status", json_object_new_int(code));
    json_object_object_add(o, "error", json_object_new_string(msg));
    reply_json(req, code, o);
}

/* {"data": DATA, "metadata": {"fetched_at": ...}}: Inngest's v1 envelope. */
static void
reply_data_code(struct evhttp_request *req, int code, struct json_object *data)
{
    struct json_object *o = json_object_new_object();
    struct json_object *meta = json_object_new_object();
    char ts[32];

    time_format(now_ms(), ts, sizeof(ts));
    json_object_object_add(meta, "fetched_at", json_object_new_string(ts));
    json_object_object_add(o, "data", data);
    json_object_object_add(o, "metadata", meta);
    reply_json(req, code, o);
}

static void
reply_data(struct evhttp_request *req, struct json_object *data)
{
    reply_data_code(req, 200, data);
}

/* ------------------------------------------------------------ ingest */

/* An event request waiting for the pipeline's answer. */
struct reply_to {
    struct evhttp_request *req; /* NULL once the client went away */
};

static void
conn_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct reply_to *rt = arg;

    rt->req = NULL;
}

/* Takes REQ's reply out of the hands of its connection's close, which
 * clears RT->req if the client goes away first. */
static void
reply_later(struct evhttp_request *req, struct reply_to *rt)
{
    rt->req = req;
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  conn_closed_cb, rt);
}

/* Whether RT's client still waits for its answer (then it is its own
 * again). */
static int
reply_now(struct reply_to *rt)
{
    if (rt->req == NULL)
        return 0;
    evhttp_connection_set_closecb(evhttp_request_get_connection(rt->req),
                                  NULL, NULL);
    return 1;
}

static void
submitted_cb(void *arg, const struct pipeline_result *r)
{
    struct reply_to *rt = arg;
    char msg[512], *text, *p;

    if (!reply_now(rt))
        goto out;
    if (r->rc != 0) {
        snprintf(msg, sizeof(msg), "events not stored, send them again: %s",
                 r->error);
        reply_error(rt->req, 503, msg);
        goto out;
    }
    /* {"ids":[...],"status":200}, printed directly: this answers every
     * event request, and the ids are ULIDs (26 characters of Crockford
     * base32: nothing to escape). */
    p = text = r->nids <= 8 ? msg : xmalloc(32 + r->nids * (ULID_LEN + 3));
    p = stpcpy(p, "{\"ids\":[");
    for (size_t i = 0; i < r->nids; i++) {
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        p = stpcpy(p, r->ids[i]);
        *p++ = '"';
    }
    p = stpcpy(p, "],\"status\":200}");
    reply_text(rt->req, 200, text, (size_t)(p - text));
    if (text != msg)
        free(text);
out:
    free(rt);
}

/* Hands EVENTS (checked, stolen) to the pipeline; REQ is answered once
 * they committed. */
static void
submit(struct http *h, struct evhttp_request *req, struct json_object *events,
       const char *seed, int64_t window, int64_t now)
{
    struct reply_to *rt = xcalloc(1, sizeof(*rt));
    struct pipeline_source src = {seed, window, now};

    reply_later(req, rt);
    pipeline_submit(h->d.pipeline, events, &src, submitted_cb, rt);
}

/* A secret's SHA-256. Keys are compared by their digests, with
 * CRYPTO_memcmp: the time taken then says nothing of how much of a key a
 * guess got right, nor of the key's length. */
static void
secret_digest(const char *s, unsigned char out[SHA256_DIGEST_LENGTH])
{
    SHA256((const unsigned char *)s, strlen(s), out);
}

static int
secret_equal(const char *given, const char *secret)
{
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];

    secret_digest(given, a);
    secret_digest(secret, b);
    return CRYPTO_memcmp(a, b, sizeof(a)) == 0;
}

static int
key_ok(const struct config *cfg, const char *key)
{
    unsigned char given[SHA256_DIGEST_LENGTH], k[SHA256_DIGEST_LENGTH];
    int found = 0;

    if (cfg->event_keys[0] == NULL)
        return 1;
    secret_digest(key, given);
    /* Every key is compared, so which one matched does not show either. */
    for (char **kp = cfg->event_keys; *kp != NULL; kp++) {
        secret_digest(*kp, k);
        found |= CRYPTO_memcmp(given, k, sizeof(k)) == 0;
    }
    return found;
}

static void
refuse_events(struct http *h, struct evhttp_request *req, const char *err)
{
    struct json_object *o = json_object_new_object();

    h->requests_refused++;
    json_object_object_add(o, "ids", json_object_new_array());
    json_object_object_add(o, "status", json_object_new_int(400));
    json_object_object_add(o, "error", json_object_new_string(err));
    reply_json(req, 400, o);
}

/* Whether KEY (the rest of /e/KEY) lets REQ send events; if not, the 401
 * is sent. */
static int
event_key_ok(struct http *h, struct evhttp_request *req, const char *key)
{
    if (*key != '\0' && key_ok(h->d.cfg, key))
        return 1;
    h->requests_refused++;
    reply_error(req, 401, *key == '\0' ? "Event key is required"
                                       : "Event key not found");
    return 0;
}

/* POST /e/{key}, the key checked already. */
static void
handle_ingest(struct http *h, struct evhttp_request *req, const char *key)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body;
    struct json_object *events;
    struct ingest_batch batch;
    char err[512];
    int64_t now = now_ms();
    const char *seed;

    /* Made contiguous only for a request that may be stored. */
    body = (const char *)evbuffer_pullup(in, -1);
    seed = evhttp_find_header(evhttp_request_get_input_headers(req),
                              "x-inngest-event-id-seed");
    /* The usual body goes straight into the text the store keeps; the
     * tree reads the rest and says what is wrong. */
    if (body != NULL && ingest_scan(body, len, now, &batch)) {
        struct reply_to *rt = xcalloc(1, sizeof(*rt));
        struct pipeline_source src = {seed, h->d.cfg->dedup_window_ms, now};

        h->requests_scanned++;

        reply_later(req, rt);
        pipeline_submit_batch(h->d.pipeline, &batch, &src, submitted_cb, rt);
        return;
    }
    events = ingest_parse(body ? body : "", len, now, err, sizeof(err));
    if (events == NULL) {
        refuse_events(h, req, err);
        return;
    }
    submit(h, req, events, seed, h->d.cfg->dedup_window_ms, now);
}

/* ----------------------------------------------------------- webhooks */

static const char *
header_cb(void *arg, const char *name)
{
    return evhttp_find_header(evhttp_request_get_input_headers(arg), name);
}

/* Whether a source NAME is configured: an unknown one is a 404, like any
 * path that is not there. */
static int
webhook_exists(const struct http *h, const char *name, char *err,
               size_t errlen)
{
    if (webhooks_find(h->d.webhooks, name) != NULL)
        return 1;
    snprintf(err, errlen, "no webhook source \"%.64s\": configure"
                          " [webhook %.64s]", name, name);
    return 0;
}

/* The kinds of webhook refusals /metrics counts, by source. */
static const char *const refusals[] = {"signature", "timestamp", "payload",
                                       "event"};
#define NREFUSALS (sizeof(refusals) / sizeof(refusals[0]))

static unsigned
refusal_index(const char *why)
{
    for (unsigned i = 0; i < NREFUSALS; i++)
        if (strcmp(refusals[i], why) == 0)
            return i;
    return 0;
}

/* POST /webhooks/{name} of a configured source. */
static void
handle_webhook(struct http *h, struct evhttp_request *req, const char *name)
{
    const struct webhook_source *src = webhooks_find(h->d.webhooks, name);
    const char *why;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct json_object *ev, *events;
    char err[512];
    int64_t now = now_ms();
    int status;

    status = webhook_event(src, header_cb, req, body ? body : "", len, now,
                           &ev, &why, err, sizeof(err));
    if (status != 200) {
        h->requests_refused++;
        counter_add(&h->webhook_refused, src->name, refusal_index(why));
        char *peer = NULL;
        ev_uint16_t port = 0;

        evhttp_connection_get_peer(evhttp_request_get_connection(req), &peer,
                                   &port);
        log_warn("webhook", "%s (from %s)", err, peer ? peer : "?");
        reply_error(req, status, err);
        return;
    }
    /* The transformed event goes through the event API's own checks. */
    events = ingest_events(ev, now, err, sizeof(err));
    json_object_put(ev);
    if (events == NULL) {
        char msg[600];

        snprintf(msg, sizeof(msg), "webhook %s: %s", src->name, err);
        counter_add(&h->webhook_refused, src->name, refusal_index("event"));
        refuse_events(h, req, msg);
        return;
    }
    submit(h, req, events, NULL, src->dedup_window_ms, now);
}

/* -------------------------------------------------------------- reads */

/* Whether REQ carries the API key (when one is set); if not, the 401 is
 * sent. */
static int
api_auth_ok(struct http *h, struct evhttp_request *req)
{
    const char *auth;

    if (h->d.cfg->api_key == NULL)
        return 1;
    auth = evhttp_find_header(evhttp_request_get_input_headers(req),
                              "Authorization");
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
        secret_equal(auth + 7, h->d.cfg->api_key))
        return 1;
    reply_error(req, 401, "this API needs \"Authorization: Bearer <api_key>\"");
    return 0;
}

static void
handle_list_runs(struct http *h, struct evhttp_request *req, const char *rest)
{
    struct evkeyvalq q;
    const char *fn, *status, *limit;
    const char *uri = evhttp_request_get_uri(req);
    const char *qs = strchr(uri, '?');
    struct json_object *runs;
    char *end = NULL;
    long n;

    TAILQ_INIT(&q);
    if (qs != NULL)
        evhttp_parse_query_str(qs + 1, &q);
    fn = evhttp_find_header(&q, "function_id");
    status = evhttp_find_header(&q, "status");
    limit = evhttp_find_header(&q, "limit");
    if (status != NULL && run_state_parse(status) < 0) {
        char msg[160];

        snprintf(msg, sizeof(msg), "status must be one of %s",
                 run_state_filter_words());
        reply_error(req, 400, msg);
        evhttp_clear_headers(&q);
        return;
    }
    n = limit ? strtol(limit, &end, 10) : 100;
    if (limit != NULL && (*end != '\0' || n < 1 || n > 1000)) {
        reply_error(req, 400, "limit must be a number from 1 to 1000");
        evhttp_clear_headers(&q);
        return;
    }
    runs = store_list_runs(h->d.store, fn, status, (int)n);
    evhttp_clear_headers(&q);
    if (runs == NULL) {
        reply_error(req, 500, "cannot read runs from the store; the log"
                              " says why");
        return;
    }
    reply_data(req, runs);
}

/* A read that found nothing: 404, or 500 when the store failed to say. */
static void
store_failed_or_404(struct evhttp_request *req, int failed, const char *what,
                    const char *id)
{
    char msg[128];

    if (failed)
        snprintf(msg, sizeof(msg), "cannot read %s %.26s from the store; the"
                                   " log says why", what, id);
    else
        snprintf(msg, sizeof(msg), "%s %.26s not found", what, id);
    reply_error(req, failed ? 500 : 404, msg);
}

/* The id at the start of REST (up to a '/' or the end) into ID, and what
 * follows it into *AFTER. Returns 0, or -1 when no id of at most 63 bytes
 * starts REST: such paths name nothing. */
static int
api_id(const char *rest, char id[64], const char **after)
{
    size_t n = strcspn(rest, "/");

    if (n == 0 || n >= 64)
        return -1;
    memcpy(id, rest, n);
    id[n] = '\0';
    *after = rest + n;
    return 0;
}

static void
handle_no_api_path(struct http *h, struct evhttp_request *req,
                   const char *rest)
{
    reply_error(req, 404, "no such API path");
}

/* GET /v1/functions */
static void
handle_functions(struct http *h, struct evhttp_request *req, const char *rest)
{
    struct json_object *g = registry_json(*h->d.gen), *lr;
    char ts[32];

    lr = json_object_new_object();
    time_format(h->d.reload->at, ts, sizeof(ts));
    json_object_object_add(lr, "at", json_object_new_string(ts));
    json_object_object_add(lr, "ok", json_object_new_boolean(h->d.reload->ok));
    json_object_object_add(lr, "error",
                           h->d.reload->ok
                               ? NULL
                               : json_object_new_string(h->d.reload->error));
    json_object_object_add(lr, "requested",
                           json_object_new_int((int)h->d.reload->requested));
    json_object_object_add(lr, "covered",
                           json_object_new_int((int)h->d.reload->covered));
    json_object_object_add(lr, "building",
                           json_object_new_boolean(h->d.reload->building));
    json_object_object_add(g, "last_reload", lr);
    reply_data(req, g);
}

/* ------------------------------------------------- invoke and wait */

/* The longest and the default wait of POST /v1/functions/{id}/invoke. */
#define INVOKE_WAIT_MAX_MS (15 * 60 * 1000)
#define INVOKE_WAIT_DEFAULT_MS (30 * 1000)

/* One invoke request: waiting for its commit, then for its run's end. */
struct invoking {
    struct http *h;
    struct evhttp_request *req; /* NULL once the client went away */
    char function_id[256];
    char run_id[27];
    int64_t wait_ms;
    struct sched_watch *watch;
    struct event *timer;
    struct invoking *next; /* in h->invoking, once the run exists */
};

/* Forgets the request: no close callback may name IV any more. Returns
 * the request, or NULL if the client went away. */
static struct evhttp_request *
invoking_detach(struct invoking *iv)
{
    struct evhttp_request *req = iv->req;

    if (req != NULL)
        evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                      NULL, NULL);
    iv->req = NULL;
    return req;
}

static void
invoking_free(struct invoking *iv)
{
    struct invoking **p;

    for (p = &iv->h->invoking; *p != NULL; p = &(*p)->next) {
        if (*p == iv) {
            *p = iv->next;
            break;
        }
    }
    if (iv->watch != NULL)
        sched_unwatch(iv->h->d.sched, iv->watch);
    if (iv->timer != NULL)
        event_free(iv->timer);
    invoking_detach(iv);
    free(iv);
}

static void
invoking_closed_cb(struct evhttp_connection *evcon, void *arg)
{
    struct invoking *iv = arg;

    iv->req = NULL;
    if (iv->run_id[0] != '\0')
        invoking_free(iv); /* else the commit's callback frees it */
}

/* 202: the run goes on without the caller. */
static void
invoking_accepted(struct invoking *iv, const char *why)
{
    struct json_object *d = json_object_new_object();
    struct evhttp_request *req;

    json_object_object_add(d, "run_id", json_object_new_string(iv->run_id));
    json_object_object_add(d, "function_id",
                           json_object_new_string(iv->function_id));
    json_object_object_add(d, "message", json_object_new_string(why));
    if ((req = invoking_detach(iv)) != NULL)
        reply_data_code(req, 202, d);
    else
        json_object_put(d);
}

static void
invoking_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct invoking *iv = arg;
    char why[128], d[32];

    (void)fd;
    (void)what;
    duration_format(iv->wait_ms, d, sizeof(d));
    snprintf(why, sizeof(why), "the run has not ended after %s; it goes on:"
                               " GET /v1/runs/%s", d, iv->run_id);
    invoking_accepted(iv, why);
    invoking_free(iv);
}

/* The run ended: its outcome is the answer. */
static void
invoking_ended_cb(void *arg, const struct sched_end *end)
{
    struct invoking *iv = arg;
    struct json_object *d = json_object_new_object();
    struct evhttp_request *req;

    iv->watch = NULL; /* told: the scheduler forgets it */
    json_object_object_add(d, "run_id", json_object_new_string(iv->run_id));
    json_object_object_add(d, "function_id",
                           json_object_new_string(iv->function_id));
    json_object_object_add(
        d, "status",
        json_object_new_string(run_state_shown(run_state_decode(end->status, 0, 1))));
    if (end->output != NULL)
        json_object_object_add(d, "output", json_tokener_parse(end->output));
    if (end->error != NULL)
        json_object_object_add(d, "error", json_object_new_string(end->error));
    if ((req = invoking_detach(iv)) != NULL)
        reply_data(req, d);
    else
        json_object_put(d);
    invoking_free(iv);
}

static void
invoke_submitted_cb(void *arg, const struct pipeline_result *r)
{
    struct invoking *iv = arg;
    struct http *h = iv->h;
    struct evhttp_request *req;
    struct timeval tv;
    char msg[512];

    if (r->rc != 0 || r->run_id == NULL) {
        snprintf(msg, sizeof(msg), "the run was not started, try again: %s",
                 r->rc != 0 ? r->error : "no run was made");
        if ((req = invoking_detach(iv)) != NULL)
            reply_error(req, 503, msg);
        free(iv);
        return;
    }
    snprintf(iv->run_id, sizeof(iv->run_id), "%s", r->run_id);
    if (iv->req == NULL) {
        /* The caller left before the commit; the run goes on. */
        free(iv);
        return;
    }
    if (h->stopping) {
        /* Nothing waits for runs any more: the caller gets the id now,
         * rather than a connection closed with no answer. */
        invoking_accepted(iv, "fnhost is stopping; the run goes on when it"
                              " starts again");
        free(iv);
        return;
    }
    /* The run cannot have ended yet: it was only now handed to the
     * scheduler, and its end comes back through this loop. */
    iv->watch = sched_watch(h->d.sched, iv->run_id, invoking_ended_cb, iv);
    iv->timer = evtimer_new(h->base, invoking_timeout_cb, iv);
    tv.tv_sec = iv->wait_ms / 1000;
    tv.tv_usec = (iv->wait_ms % 1000) * 1000;
    evtimer_add(iv->timer, &tv);
    iv->next = h->invoking;
    h->invoking = iv;
}

/* Whether REST (after /v1/functions/) is "{id}/invoke": the one path
 * under a function; anything else is a 404 whatever the method. */
static int
invoke_path_exists(const struct http *h, const char *rest, char *err,
                   size_t errlen)
{
    const char *slash = strchr(rest, '/');

    (void)h;
    if (slash != NULL && slash != rest && strcmp(slash, "/invoke") == 0 &&
        (size_t)(slash - rest) < sizeof(((struct invoking *)0)->function_id))
        return 1;
    snprintf(err, errlen, "no such API path");
    return 0;
}

/* POST /v1/functions/{id}/invoke[?wait=DURATION]: starts a run of the
 * function with {"data": ...} and answers with its outcome, or 202 with
 * its id once WAIT has passed. */
static void
handle_invoke(struct http *h, struct evhttp_request *req, const char *rest)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
    struct evkeyvalq params;
    struct json_object *body = NULL, *data = NULL;
    struct invoking *iv;
    const char *w;
    char err[512], *id;

    iv = xcalloc(1, sizeof(*iv));
    iv->h = h;
    iv->req = req;
    iv->wait_ms = INVOKE_WAIT_DEFAULT_MS;
    id = evhttp_uridecode(rest, 0, NULL);
    snprintf(iv->function_id, sizeof(iv->function_id), "%.*s",
             (int)(strcspn(id, "/")), id);
    free(id);
    TAILQ_INIT(&params);
    if (q != NULL && evhttp_parse_query_str(q, &params) == 0 &&
        (w = evhttp_find_header(&params, "wait")) != NULL &&
        (duration_parse(w, &iv->wait_ms, err, sizeof(err)) != 0 ||
         iv->wait_ms > INVOKE_WAIT_MAX_MS)) {
        char msg[600];

        snprintf(msg, sizeof(msg), "wait: %s",
                 iv->wait_ms > INVOKE_WAIT_MAX_MS ? "at most 15m" : err);
        evhttp_clear_headers(&params);
        free(iv);
        reply_error(req, 400, msg);
        return;
    }
    evhttp_clear_headers(&params);
    if (len > 0) {
        body = ingest_parse_json((const char *)evbuffer_pullup(in, -1), len,
                                 err, sizeof(err));
        if (body == NULL || !json_object_is_type(body, json_type_object) ||
            (json_object_object_get_ex(body, "data", &data) && data != NULL &&
             !json_object_is_type(data, json_type_object))) {
            if (body != NULL)
                snprintf(err, sizeof(err), "the body must be an object,"
                                           " with \"data\" an object");
            json_object_put(body);
            reply_error(req, 400, err);
            free(iv);
            return;
        }
        data = json_object_get(data);
        json_object_put(body);
    }
    evhttp_connection_set_closecb(evhttp_request_get_connection(req),
                                  invoking_closed_cb, iv);
    if (pipeline_invoke(h->d.pipeline, iv->function_id, data, now_ms(),
                        invoke_submitted_cb, iv, err, sizeof(err)) != 0) {
        invoking_detach(iv);
        reply_error(req, 404, err);
        free(iv);
    }
}

/* GET /v1/runs/{id} */
/* A cancel waiting for its commit. */
struct cancel_req {
    struct http *h;
    struct reply_to rt;
    char run_id[27];
};

/* The 409 for a run that has ended: as Inngest's, "already ...". */
static void
reply_ended(struct evhttp_request *req, const char *id, const char *status)
{
    char msg[160];

    snprintf(msg, sizeof(msg), "run %.26s has already %s: only a run that"
                               " has not ended can be cancelled", id,
             strcmp(status, "cancelled") == 0 ? "been cancelled"
             : strcmp(status, "failed") == 0  ? "failed"
                                              : "completed");
    reply_error(req, 409, msg);
}

static void
run_cancelled_cb(void *arg, int rc, const char *err,
                 const struct store_cancel *v, size_t n)
{
    struct cancel_req *c = arg;
    struct json_object *o;
    char msg[512], status[16] = "completed";
    int failed;

    if (!reply_now(&c->rt))
        goto out;
    if (rc != 0) {
        snprintf(msg, sizeof(msg), "cancel not stored, send it again: %s",
                 err);
        reply_error(c->rt.req, 503, msg);
        goto out;
    }
    if (!v[0].done) {
        /* It ended while the cancel was on its way. */
        store_run_status(c->h->d.store, c->run_id, status, sizeof(status));
        reply_ended(c->rt.req, c->run_id, status);
        goto out;
    }
    /* Committed: what the run looks like now (Cancelled, or Running
     * with cancel_requested_at until its next step boundary). */
    if ((o = store_get_run(c->h->d.store, c->run_id, &failed)) == NULL) {
        store_failed_or_404(c->rt.req, failed, "run", c->run_id);
        goto out;
    }
    reply_data(c->rt.req, o);
out:
    free(c);
}

/* DELETE /v1/runs/{id}: answered once the cancel is committed. */
static void
cancel_run(struct http *h, struct evhttp_request *req, const char *id)
{
    struct cancel_req *c;
    struct store_cancel v;
    char status[16];
    int rc = store_run_status(h->d.store, id, status, sizeof(status));

    if (rc <= 0) {
        store_failed_or_404(req, rc < 0, "run", id);
        return;
    }
    if (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
        strcmp(status, "cancelled") == 0) {
        reply_ended(req, id, status);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->h = h;
    snprintf(c->run_id, sizeof(c->run_id), "%.26s", id);
    memset(&v, 0, sizeof(v));
    snprintf(v.run_id, sizeof(v.run_id), "%.26s", id);
    reply_later(req, &c->rt);
    sched_cancel(h->d.sched, &v, 1, "cancelled by DELETE /v1/runs",
                 run_cancelled_cb, c);
}

/* GET /v1/runs/{id}, DELETE /v1/runs/{id} */
static void
handle_run(struct http *h, struct evhttp_request *req, const char *rest)
{
    char id[64];
    const char *after;
    struct json_object *o;
    int failed;

    if (api_id(rest, id, &after) != 0 || *after != '\0') {
        handle_no_api_path(h, req, rest);
        return;
    }
    if (evhttp_request_get_command(req) == EVHTTP_REQ_DELETE) {
        cancel_run(h, req, id);
        return;
    }
    if ((o = store_get_run(h->d.store, id, &failed)) == NULL) {
        store_failed_or_404(req, failed, "run", id);
        return;
    }
    reply_data(req, o);
}

/* A bulk cancellation waiting for its commits. */
struct bulk_req {
    struct reply_to rt;
    struct json_object *data; /* the answer, but for its count */
};

static void
bulk_cancelled_cb(void *arg, int rc, const char *err, int64_t count)
{
    struct bulk_req *b = arg;
    char msg[512];

    if (!reply_now(&b->rt)) {
        json_object_put(b->data);
    } else if (rc != 0) {
        snprintf(msg, sizeof(msg), "cancellation stopped after %lld run%s"
                                   " (they stay cancelled); send it again"
                                   " for the rest: %s",
                 (long long)count, count == 1 ? "" : "s", err);
        json_object_put(b->data);
        reply_error(b->rt.req, 503, msg);
    } else {
        json_object_object_add(b->data, "cancelled",
                               json_object_new_int64(count));
        reply_data(b->rt.req, b->data);
    }
    free(b);
}

/* POST /v1/cancellations: answered once every run it picks is cancelled
 * (committed), with how many. */
static void
handle_cancellations(struct http *h, struct evhttp_request *req,
                     const char *rest)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct cancel_filter f;
    struct bulk_req *b;
    char err[512], id[ULID_LEN + 1], ts[32];
    int64_t now = now_ms();

    if (cancel_filter_parse(body ? body : "", len, now, &f, err,
                            sizeof(err)) != 0) {
        cancel_filter_fini(&f);
        reply_error(req, 400, err);
        return;
    }
    ulid_new(id, now);
    b = xcalloc(1, sizeof(*b));
    b->data = json_object_new_object();
    json_object_object_add(b->data, "id", json_object_new_string(id));
    json_object_object_add(b->data, "function_id",
                           json_object_new_string(f.function_id));
    time_format(f.from, ts, sizeof(ts));
    json_object_object_add(b->data, "started_after",
                           json_object_new_string(ts));
    time_format(f.to, ts, sizeof(ts));
    json_object_object_add(b->data, "started_before",
                           json_object_new_string(ts));
    json_object_object_add(b->data, "if",
                           f.cond ? json_object_new_string(expr_source(f.cond))
                                  : NULL);
    reply_later(req, &b->rt);
    cancel_bulk(h->base, h->d.sched, h->d.store, &f, id, bulk_cancelled_cb,
                b);
}

/* GET /v1/events/{id} and /v1/events/{id}/runs */
static void
handle_event(struct http *h, struct evhttp_request *req, const char *rest)
{
    char id[64];
    const char *after;
    struct json_object *o;
    int failed;

    if (api_id(rest, id, &after) != 0 ||
        (*after != '\0' && strcmp(after, "/runs") != 0)) {
        handle_no_api_path(h, req, rest);
        return;
    }
    if ((o = store_get_event(h->d.store, id, &failed)) == NULL) {
        store_failed_or_404(req, failed, "event", id);
        return;
    }
    if (*after == '\0') {
        reply_data(req, o);
        return;
    }
    json_object_put(o);
    if ((o = store_event_runs(h->d.store, id)) == NULL) {
        reply_error(req, 500, "cannot read the event's runs from the"
                              " store; the log says why");
        return;
    }
    reply_data(req, o);
}

static void
handle_health(struct http *h, struct evhttp_request *req, const char *rest)
{
    const struct generation *g = *h->d.gen;
    struct json_object *o = json_object_new_object(), *refused;
    char *msg;

    if (store_damaged(h->d.store)) {
        json_object_object_add(o, "status", json_object_new_int(503));
        json_object_object_add(
            o, "message",
            json_object_new_string("the store is damaged: no event or step"
                                   " is acknowledged; the log says which"
                                   " file and what to do"));
        reply_json(req, 503, o);
        return;
    }
    if (g->refused == 0) {
        json_object_object_add(o, "status", json_object_new_int(200));
        json_object_object_add(o, "message", json_object_new_string("OK"));
        reply_json(req, 200, o);
        return;
    }
    /* Degraded: events are still taken, and those for a refused plugin's
     * functions wait for it, but a plugin in the folder does not run. */
    msg = xasprintf("degraded: %zu plugin%s refused: %s", g->refused,
                    g->refused == 1 ? "" : "s", g->first_error);
    refused = json_object_new_array();
    for (size_t i = 0; i < g->refused; i++) {
        struct json_object *r = json_object_new_object();

        json_object_object_add(r, "file",
                               json_object_new_string(g->refusals[i].file));
        json_object_object_add(r, "reason",
                               json_object_new_string(g->refusals[i].reason));
        json_object_array_add(refused, r);
    }
    json_object_object_add(o, "status", json_object_new_int(503));
    json_object_object_add(o, "message", json_object_new_string(msg));
    json_object_object_add(o, "refused", refused);
    free(msg);
    reply_json(req, 503, o);
}

/* The histograms, the per-function and per-source counters, and the
 * gauges of /metrics beyond its first block. */
static void
metrics_more(struct http *h, struct evbuffer *b, int64_t waiting)
{
    static const char *const outcomes[SCHED_NOUTCOMES] = {
        [SCHED_COMPLETED] = "completed", [SCHED_FAILED] = "failed",
        [SCHED_RETRIED] = "retried"};
    const struct sched_metrics *m = sched_metrics(h->d.sched);
    struct histogram commit, group;
    int busy, idle;

    store_commit_metrics(h->d.store, &commit, &group);
    pool_workers(h->d.pool, &busy, &idle);
    hist_print(b, "fnhost_run_duration_seconds", "From a run's creation"
               " to its end (completed or failed), sleeps and retries"
               " included.", "", &m->run_seconds, 1);
    hist_print(b, "fnhost_step_duration_seconds", "A checkpointed step's"
               " own time, as its worker measured it.", "",
               &m->step_seconds, 1);
    hist_print(b, "fnhost_queue_wait_seconds", "From when a run (or its"
               " next attempt, or its wake) was due to its dispatch.", "",
               &m->queue_wait, 1);
    hist_print(b, "fnhost_store_commit_seconds", "One group commit: its"
               " writes and the sync.", "", &commit, 1);
    hist_print(b, "fnhost_store_group_writes", "The writes of one group"
               " commit.", "", &group, 1);
    counter_set_print(b, "fnhost_runs_total", "Run ends by function and"
                      " outcome; retried counts attempts that failed and"
                      " were retried.", &m->outcomes, "function", "outcome",
                      outcomes, SCHED_NOUTCOMES);
    counter_set_print(b, "fnhost_webhook_refused_total", "Webhook"
                      " deliveries refused, by source and reason.",
                      &h->webhook_refused, "source", "reason", refusals,
                      NREFUSALS);
    evbuffer_add_printf(b,
        "# HELP fnhost_runs_waiting Runs waiting for an event.\n"
        "# TYPE fnhost_runs_waiting gauge\n"
        "fnhost_runs_waiting %lld\n"
        "# HELP fnhost_workers Worker processes, busy with an invocation"
        " or idle.\n"
        "# TYPE fnhost_workers gauge\n"
        "fnhost_workers{state=\"busy\"} %d\n"
        "fnhost_workers{state=\"idle\"} %d\n"
        "# HELP fnhost_reloads_total Plugin reloads (after the start), and"
        " those that kept the old generation.\n"
        "# TYPE fnhost_reloads_total counter\n"
        "fnhost_reloads_total{result=\"ok\"} %u\n"
        "fnhost_reloads_total{result=\"failed\"} %u\n",
        (long long)waiting, busy, idle,
        h->d.reload->reloads - h->d.reload->failed, h->d.reload->failed);
}

static void
handle_metrics(struct http *h, struct evhttp_request *req, const char *rest)
{
    struct evbuffer *b = evbuffer_new();
    uint64_t ops, commits;
    struct pipeline_stats ps;
    int64_t queued, sleeping, waiting;

    store_stats(h->d.store, &ops, &commits);
    pipeline_stats(h->d.pipeline, &ps);
    store_run_gauges(h->d.store, &queued, &sleeping, &waiting);
    evbuffer_add_printf(b,
        "# HELP fnhost_events_received_total Events stored.\n"
        "# TYPE fnhost_events_received_total counter\n"
        "fnhost_events_received_total %llu\n"
        "# HELP fnhost_events_unrouted_total Events stored that triggered"
        " no function.\n"
        "# TYPE fnhost_events_unrouted_total counter\n"
        "fnhost_events_unrouted_total %llu\n"
        "# HELP fnhost_requests_refused_total Event requests refused.\n"
        "# TYPE fnhost_requests_refused_total counter\n"
        "fnhost_requests_refused_total %llu\n"
        "# HELP fnhost_requests_scanned_total Event requests whose body was"
        " read by the fast path, without a JSON tree.\n"
        "# TYPE fnhost_requests_scanned_total counter\n"
        "fnhost_requests_scanned_total %llu\n"
        "# HELP fnhost_runs_ready Runs in the ready queue.\n"
        "# TYPE fnhost_runs_ready gauge\n"
        "fnhost_runs_ready %d\n"
        "# HELP fnhost_runs_running Runs on a worker now.\n"
        "# TYPE fnhost_runs_running gauge\n"
        "fnhost_runs_running %d\n"
        "# HELP fnhost_runs_queued Runs stored as queued: new, or waiting"
        " for a retry.\n"
        "# TYPE fnhost_runs_queued gauge\n"
        "fnhost_runs_queued %lld\n"
        "# HELP fnhost_runs_sleeping Runs in a sleep step.\n"
        "# TYPE fnhost_runs_sleeping gauge\n"
        "fnhost_runs_sleeping %lld\n"
        "# HELP fnhost_store_writes_total Writes committed to the store.\n"
        "# TYPE fnhost_store_writes_total counter\n"
        "fnhost_store_writes_total %llu\n"
        "# HELP fnhost_store_commits_total Transactions the writes took.\n"
        "# TYPE fnhost_store_commits_total counter\n"
        "fnhost_store_commits_total %llu\n"
        "# HELP fnhost_plugins_refused Plugin files of the folder that the"
        " current generation refused.\n"
        "# TYPE fnhost_plugins_refused gauge\n"
        "fnhost_plugins_refused %zu\n"
        "# HELP fnhost_worker_start_failures_total Workers that ended before"
        " they were ready: a plugin's load() failed, crashed or hung.\n"
        "# TYPE fnhost_worker_start_failures_total counter\n"
        "fnhost_worker_start_failures_total %llu\n",
        (unsigned long long)ps.events_stored,
        (unsigned long long)ps.events_unrouted,
        (unsigned long long)h->requests_refused,
        (unsigned long long)h->requests_scanned, sched_queued(h->d.sched),
        sched_running(h->d.sched), (long long)queued, (long long)sleeping,
        (unsigned long long)ops,
        (unsigned long long)commits, (*h->d.gen)->refused,
        (unsigned long long)pool_start_failures(h->d.pool));
    metrics_more(h, b, waiting);
    if (h->d.retention != NULL) {
        struct retention_stats rs = retention_stats(h->d.retention);

        evbuffer_add_printf(b,
            "# HELP fnhost_retention_deleted_total Rows retention deleted:"
            " ended runs (with their steps), events no run had, expired"
            " keys.\n"
            "# TYPE fnhost_retention_deleted_total counter\n"
            "fnhost_retention_deleted_total{what=\"runs\"} %llu\n"
            "fnhost_retention_deleted_total{what=\"events\"} %llu\n"
            "fnhost_retention_deleted_total{what=\"keys\"} %llu\n",
            (unsigned long long)rs.runs, (unsigned long long)rs.events,
            (unsigned long long)rs.keys);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* ------------------------------------------------------------ routes */

/* How a route checks who is asking. */
enum route_auth {
    AUTH_NONE,
    AUTH_API_KEY,   /* "Authorization: Bearer <api_key>" when one is set;
                       checked first, so that without it nothing of the API
                       shows, not even which paths exist */
    AUTH_EVENT_KEY, /* the rest of the path is an event key, checked once
                       the method is right */
    AUTH_SIGNED,    /* the source's signature over the raw body, verified
                       by the handler */
};

/* One entry of the HTTP surface (nginx's locations, tmux's cmd_entry). */
struct route {
    const char *path; /* the whole path, or with PREFIX its start */
    int prefix;       /* the handler gets what follows PATH as REST */
    int methods;      /* the EVHTTP_REQ_* accepted; 0: any */
    const char *use;  /* the 405's error for any other method */
    enum route_auth auth;
    /* Optional: whether REST names something that exists; if not, the
     * reason for the 404 goes into ERR. Asked before the method, as for
     * any path that is not there. */
    int (*exists)(const struct http *h, const char *rest, char *err,
                  size_t errlen);
    void (*handle)(struct http *h, struct evhttp_request *req,
                   const char *rest);
};

#define ONLY_GET "only GET is supported here"

/* The first entry that matches a path serves it. */
static const struct route routes[] = {
    {"/e/", 1, EVHTTP_REQ_POST, "use POST to send events", AUTH_EVENT_KEY,
     NULL, handle_ingest},
    /* No key at all: the key check answers 401 for any method. */
    {"/e", 0, 0, NULL, AUTH_EVENT_KEY, NULL, handle_ingest},
    {"/webhooks/", 1, EVHTTP_REQ_POST, "use POST to deliver webhooks",
     AUTH_SIGNED, webhook_exists, handle_webhook},
    {"/health", 0, 0, NULL, AUTH_NONE, NULL, handle_health},
    {"/metrics", 0, 0, NULL, AUTH_NONE, NULL, handle_metrics},
    {"/v1/runs", 0, EVHTTP_REQ_GET, ONLY_GET, AUTH_API_KEY, NULL,
     handle_list_runs},
    {"/v1/runs/", 1, EVHTTP_REQ_GET | EVHTTP_REQ_DELETE,
     "use GET to read a run, DELETE to cancel it", AUTH_API_KEY, NULL,
     handle_run},
    {"/v1/cancellations", 0, EVHTTP_REQ_POST,
     "use POST to cancel runs in bulk", AUTH_API_KEY, NULL,
     handle_cancellations},
    {"/v1/events/", 1, EVHTTP_REQ_GET, ONLY_GET, AUTH_API_KEY, NULL,
     handle_event},
    {"/v1/functions", 0, EVHTTP_REQ_GET, ONLY_GET, AUTH_API_KEY, NULL,
     handle_functions},
    {"/v1/functions/", 1, EVHTTP_REQ_POST, "use POST to invoke a function",
     AUTH_API_KEY, invoke_path_exists, handle_invoke},
    {"/v1/", 1, EVHTTP_REQ_GET, ONLY_GET, AUTH_API_KEY, NULL,
     handle_no_api_path},
};

static const struct route *
route_find(const char *path, const char **rest)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        size_t n = strlen(r->path);

        if (r->prefix ? strncmp(path, r->path, n) == 0
                      : strcmp(path, r->path) == 0) {
            *rest = path + (r->prefix ? n : strlen(path));
            return r;
        }
    }
    return NULL;
}

/* Checks in a fixed order: the API key, that the path names something,
 * the method, the event key; then the handler. */
static void
request_cb(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    const struct route *r;
    const char *rest;
    char err[512];

    http_guard_request_read(h->guard, req);
    if (path == NULL) {
        reply_error(req, 400, "bad request URI");
        return;
    }
    if ((r = route_find(path, &rest)) == NULL) {
        reply_error(req, 404, "not found: fnhost serves /e/{key},"
                              " /webhooks/{source}, /health, /metrics and"
                              " /v1/");
        return;
    }
    if (r->auth == AUTH_API_KEY && !api_auth_ok(h, req))
        return;
    if (r->exists != NULL && !r->exists(h, rest, err, sizeof(err))) {
        reply_error(req, 404, err);
        return;
    }
    if (r->methods != 0 &&
        (evhttp_request_get_command(req) & (unsigned)r->methods) == 0) {
        reply_error(req, 405, r->use);
        return;
    }
    if (r->auth == AUTH_EVENT_KEY && !event_key_ok(h, req, rest))
        return;
    r->handle(h, req, rest);
}

/* Whether the socket address SA is loopback: 127/8, ::1 or 127/8 mapped
 * into IPv6. The address bound, not the name asked for: "localhost" may
 * resolve to anything /etc/hosts says. */
static int
is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a6 =
            &((const struct sockaddr_in6 *)sa)->sin6_addr;

        return IN6_IS_ADDR_LOOPBACK(a6) ||
               (IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127);
    }
    return 0;
}

struct http *
http_start(struct event_base *base, const struct http_deps *deps, char *bound,
           size_t boundlen, char *err, size_t errlen)
{
    struct http *h;
    char addr[256];
    const char *colon = strrchr(deps->cfg->listen, ':');
    long port;
    char *end;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    if (colon == NULL || (size_t)(colon - deps->cfg->listen) >= sizeof(addr)) {
        snprintf(err, errlen, "listen: expected ADDRESS:PORT, got \"%s\"",
                 deps->cfg->listen);
        return NULL;
    }
    memcpy(addr, deps->cfg->listen, (size_t)(colon - deps->cfg->listen));
    addr[colon - deps->cfg->listen] = '\0';
    if (addr[0] == '[' && addr[strlen(addr) - 1] == ']') {
        memmove(addr, addr + 1, strlen(addr));
        addr[strlen(addr) - 1] = '\0';
    }
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || port < 0 || port > 65535) {
        snprintf(err, errlen, "listen: bad port in \"%s\"", deps->cfg->listen);
        return NULL;
    }
    h = xcalloc(1, sizeof(*h));
    h->base = base;
    h->d = *deps;
    h->evh = evhttp_new(base);
    evhttp_set_max_body_size(h->evh, (ev_ssize_t)deps->cfg->max_body);
    evhttp_set_max_headers_size(h->evh, 64 * 1024);
    evhttp_set_timeout(h->evh, 60);
    evhttp_set_allowed_methods(h->evh, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
                                           EVHTTP_REQ_PUT |
                                           EVHTTP_REQ_DELETE);
    evhttp_set_gencb(h->evh, request_cb, h);
    h->sock = evhttp_bind_socket_with_handle(h->evh, addr, (ev_uint16_t)port);
    if (h->sock == NULL) {
        snprintf(err, errlen, "cannot listen on %s: the address is in use or"
                              " not available here", deps->cfg->listen);
        evhttp_free(h->evh);
        free(h);
        return NULL;
    }
    h->guard = http_guard_new(base, h->evh,
                              evhttp_bound_socket_get_listener(h->sock),
                              deps->cfg->request_timeout_ms);
    if (getsockname(evhttp_bound_socket_get_fd(h->sock),
                    (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(err, errlen, "cannot read the address bound for %s: %s",
                 deps->cfg->listen, strerror(errno));
        goto fail;
    }
    if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(bound, boundlen, "[%s]:%u", host, ntohs(s6->sin6_port));
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(bound, boundlen, "%s:%u", host, ntohs(s4->sin_port));
    }
    /* Checked on the socket, before the loop accepts anything on it. */
    if (!is_loopback(&ss) &&
        (deps->cfg->event_keys[0] == NULL || deps->cfg->api_key == NULL)) {
        snprintf(err, errlen, "listening on %s (%s) needs event_keys and"
                              " api_key set ([server] in the config, or"
                              " FNHOST_EVENT_KEYS and FNHOST_API_KEY): without"
                              " them anyone who reaches the port could send"
                              " events and read runs; or listen on 127.0.0.1",
                 host, deps->cfg->listen);
        goto fail;
    }
    return h;

fail:
    evhttp_free(h->evh);
    free(h);
    return NULL;
}

void
http_stop_listening(struct http *h)
{
    /* Callers waiting for a run get its id: the run goes on at the next
     * start. */
    h->stopping = 1;
    while (h->invoking != NULL) {
        struct invoking *iv = h->invoking;

        invoking_accepted(iv, "fnhost is stopping; the run goes on when it"
                              " starts again");
        invoking_free(iv);
    }
    if (h->sock != NULL) {
        http_guard_stop_accepting(h->guard);
        evhttp_del_accept_socket(h->evh, h->sock);
        h->sock = NULL;
    }
}

void
http_free(struct http *h)
{
    if (h == NULL)
        return;
    while (h->invoking != NULL)
        invoking_free(h->invoking);
    evhttp_free(h->evh);
    http_guard_free(h->guard);
    counter_set_free(&h->webhook_refused);
    free(h);
}
