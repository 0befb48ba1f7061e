/* http_guard.c - keeps a flood of connections from spinning the master:
 * accepting pauses, with backoff, while the process is out of fds.
 * SPDX-License-Identifier: Apache-2.0
 *
 * At EMFILE libevent's listener reports the error and stays enabled; the
 * connection is still waiting, so the loop wakes at once for it, fails
 * again, and spins with a line per failure. nginx disables accepting for
 * a while instead (ngx_event_accept); so do we: the listener is off for
 * a pause that doubles while the failures go on, and one line per
 * interval says how many there were. */
#include "http_guard.h"

#include <errno.h>
#include <event2/event.h>
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

struct http_guard {
    struct evconnlistener *lev;
    struct event *resume;
    int64_t pause_ms;
    int64_t resumed_at;
    int64_t logged_at;
    uint64_t failures;     /* since the last line */
    struct http_guard *next;
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

struct http_guard *
http_guard_new(struct event_base *base, struct evconnlistener *lev)
{
    struct http_guard *g = xcalloc(1, sizeof(*g));

    g->lev = lev;
    g->resume = evtimer_new(base, resume_cb, g);
    g->next = guards;
    guards = g;
    evconnlistener_set_error_cb(lev, accept_error_cb);
    return g;
}

void
http_guard_free(struct http_guard *g)
{
    struct http_guard **p = &guards;

    if (g == NULL)
        return;
    while (*p != NULL && *p != g)
        p = &(*p)->next;
    if (*p == g)
        *p = g->next;
    event_free(g->resume);
    free(g);
}
