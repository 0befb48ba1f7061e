/* http.h - the HTTP surface: the event API, /health, /metrics, /v1.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_HTTP_H
#define FNHOST_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct generation;
struct http;
struct pipeline;
struct pool;
struct reload_status;
struct sched;
struct store;
struct webhooks;

struct http_deps {
    const struct config *cfg;
    struct store *store;
    struct sched *sched;
    const struct pool *pool;             /* the workers, for /metrics */
    struct pipeline *pipeline;           /* where events go */
    const struct generation *const *gen; /* the current generation */
    const struct webhooks *webhooks;     /* the signed webhook sources */
    const struct reload_status *reload;
    const struct retention *retention;   /* what it deleted, for /metrics */
};

/* Listens on cfg->listen ("ADDR:PORT"; port 0 picks a free one) and writes
 * the bound "ADDR:PORT" into BOUND. Returns NULL with the reason in ERR. */
struct http *http_start(struct event_base *base, const struct http_deps *deps,
                        char *bound, size_t boundlen, char *err,
                        size_t errlen);

/* Stops accepting connections; requests in flight still get answers. */
void http_stop_listening(struct http *h);
void http_free(struct http *h);

#endif
