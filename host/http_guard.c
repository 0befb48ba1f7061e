/* http_guard.c - keeps hostile clients from wearing the HTTP server down:
 * accepting pauses while out of fds, and a request has a deadline.
 * SPDX-License-Identifier: Apache-2.0
 *
 * At EMFILE libevent's listener reports the error and stays enabled; the
 * connection is still waiting, so the loop wakes at once for it, fails
 * again, and spins with a line per failure. nginx disables accepting for
 * a while instead (ngx_event_accept); so do we: the listener is off for
 * a pause that doubles while the failures go on, and one line per
 * interval says how many there were.
 *
 * evhttp's timeout is an idle one, restarted by every byte: a client
 * sending a byte a second holds its connection forever. Each connection
 * gets a deadline for its whole request, headers and body (nginx's
 * client_header_timeout and client_body_timeout together). libevent 2.1
 * tells us of a connection before its first request only by creating
 * its bufferevent through our callback, and never of its end, so each
 * bufferevent is ours too (a reference) and a sweep once a second drops
 * those evhttp let go (it clears their callbacks when it frees them) and
 * cuts those past their deadline. A bufferevent evhttp let go keeps its
 * socket, and its events, until that sweep: had evhttp closed the socket
 * under them, a new connection could get the same fd while the old
 * events still claim it in the loop, and never be read. evhttp shuts the
 * socket down for writing as it lets go, so a client sees its end at
 * once all the same. */
#include "http_guard.h"

#include <errno.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define PAUSE_MIN_MS 10
#define PAUSE_MAX_MS 1000
/* Quiet this long after a pause, and the next pause starts short again. */
#define CALM_MS 10000
#define LOG_EVERY_MS 10000

/* A connection, as its bufferevent. */
struct conn {
    struct bufferevent *bev; /* a reference of ours */
    int64_t since;           /* mono ms its request began; 0: none pending */
    struct conn *next;
};

struct http_guard {
    struct evconnlistener *lev; /* NULL once it stopped accepting */
    struct event *resume;
    int64_t pause_ms;
    int64_t resumed_at;
    int64_t logged_at;
    uint64_t failures;     /* since the last line */
    struct http_guard *next;

    struct event_base *base;
    int64_t request_timeout_ms;
    struct conn *conns;
    struct event *sweep;
};

/* The listener's error callback gets the listener's argument, which is
 * evhttp's: the guard is found by its listener. One per server. */
static struct http_guard *guards;

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_guard *g = arg;

    g->resumed_at = mono_ms();
    evconnlistener_enable(g->lev);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
    int err = EVUTIL_SOCKET_ERROR();
    struct http_guard *g = guards;
    int64_t now = mono_ms();
    struct timeval tv;

    while (g != NULL && g->lev != lev)
        g = g->next;
    if (g == NULL)
        return;
    /* Whatever the error, the connection that caused it is still there
     * and would wake the loop again at once: pause in every case. */
    if (g->pause_ms == 0 || now - g->resumed_at > CALM_MS)
        g->pause_ms = PAUSE_MIN_MS;
    else if (g->pause_ms < PAUSE_MAX_MS)
        g->pause_ms *= 2;
    g->failures++;
    if (g->logged_at == 0 || now - g->logged_at >= LOG_EVERY_MS) {
        log_error("http", "cannot accept connections: %s%s; pausing %lld ms"
                          " (%llu failure%s since the last line)",
                  strerror(err),
                  err == EMFILE || err == ENFILE
                      ? " (raise the open file limit, ulimit -n)"
                      : "",
                  (long long)g->pause_ms, (unsigned long long)g->failures,
                  g->failures == 1 ? "" : "s");
        g->logged_at = now;
        g->failures = 0;
    }
    evconnlistener_disable(lev);
    tv.tv_sec = g->pause_ms / 1000;
    tv.tv_usec = (g->pause_ms % 1000) * 1000;
    evtimer_add(g->resume, &tv);
}

/* Drops the connections evhttp freed, and cuts those whose request is
 * late: to evhttp, a timeout, which frees the connection. */
static void
sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_guard *g = arg;
    int64_t now = mono_ms();

    for (struct conn **p = &g->conns, *c; (c = *p) != NULL;) {
        bufferevent_data_cb readcb;

        bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
        if (readcb != NULL && c->since != 0 &&
            now - c->since >= g->request_timeout_ms) {
            log_debug("http", "a client took over %lld ms to send its"
                              " request: closing its connection",
                      (long long)g->request_timeout_ms);
            c->since = 0;
            bufferevent_trigger_event(c->bev,
                                      BEV_EVENT_READING | BEV_EVENT_TIMEOUT,
                                      0);
            bufferevent_getcb(c->bev, &readcb, NULL, NULL, NULL);
        }
        if (readcb == NULL) {
            *p = c->next;
            bufferevent_decref(c->bev);
            free(c);
        } else {
            p = &c->next;
        }
    }
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
    struct http_guard *g = arg;
    struct conn *c = xcalloc(1, sizeof(*c));

    /* The socket is closed with the bufferevent, when our reference goes
     * (see the top of the file). */
    c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (c->bev == NULL) {
        free(c);
        return NULL;
    }
    bufferevent_incref(c->bev);
    c->since = mono_ms();
    c->next = g->conns;
    g->conns = c;
    return c->bev;
}

static struct conn *
conn_of(struct http_guard *g, struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;

    if (evcon == NULL)
        return NULL;
    bev = evhttp_connection_get_bufferevent(evcon);
    for (struct conn *c = g->conns; c != NULL; c = c->next)
        if (c->bev == bev)
            return c;
    return NULL;
}

/* The answer is out: the next request's time starts. */
static void
answered_cb(struct evhttp_request *req, void *arg)
{
    struct conn *c = conn_of(arg, req);

    if (c != NULL)
        c->since = mono_ms();
}

void
http_guard_request_read(struct http_guard *g, struct evhttp_request *req)
{
    struct conn *c = conn_of(g, req);

    if (c == NULL)
        return;
    c->since = 0;
    evhttp_request_set_on_complete_cb(req, answered_cb, g);
}

struct http_guard *
http_guard_new(struct event_base *base, struct evhttp *evh,
               struct evconnlistener *lev, int64_t request_timeout_ms)
{
    struct http_guard *g = xcalloc(1, sizeof(*g));
    struct timeval tv = {1, 0};

    g->base = base;
    g->lev = lev;
    g->resume = evtimer_new(base, resume_cb, g);
    g->next = guards;
    guards = g;
    evconnlistener_set_error_cb(lev, accept_error_cb);
    g->request_timeout_ms = request_timeout_ms;
    if (request_timeout_ms < 1000) {
        tv.tv_sec = 0;
        tv.tv_usec = (request_timeout_ms / 2) * 1000;
    }
    g->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, g);
    event_add(g->sweep, &tv);
    evhttp_set_bevcb(evh, bev_cb, g);
    return g;
}

void
http_guard_stop_accepting(struct http_guard *g)
{
    struct http_guard **p = &guards;

    if (g == NULL || g->lev == NULL)
        return;
    while (*p != NULL && *p != g)
        p = &(*p)->next;
    if (*p == g)
        *p = g->next;
    evtimer_del(g->resume);
    g->lev = NULL;
}

void
http_guard_free(struct http_guard *g)
{
    if (g == NULL)
        return;
    http_guard_stop_accepting(g);
    /* After evhttp_free(): evhttp let every connection go. */
    for (struct conn *c = g->conns, *next; c != NULL; c = next) {
        next = c->next;
        bufferevent_decref(c->bev);
        free(c);
    }
    event_free(g->sweep);
    event_free(g->resume);
    free(g);
}
