/* http_guard.h - keeps hostile clients from wearing the HTTP server down:
 * accepting pauses while out of fds, and a request has a deadline.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_HTTP_GUARD_H
#define FNHOST_HTTP_GUARD_H

#include <stdint.h>

struct event_base;
struct evconnlistener;
struct evhttp;
struct evhttp_request;
struct http_guard;

/* Guards EVH and its listener LEV. On each accept error, accepting stops
 * for a pause (10 ms, doubling to 1 s while failures go on) and at most
 * one line per 10 s says so. A client that has not sent its whole
 * request REQUEST_TIMEOUT_MS after it connected, or after its previous
 * answer, loses its connection. Call before EVH accepts anything; free
 * after evhttp_free(EVH). */
struct http_guard *http_guard_new(struct event_base *base, struct evhttp *evh,
                                  struct evconnlistener *lev,
                                  int64_t request_timeout_ms);

/* For the request callback: REQ is read whole, its deadline is met. */
void http_guard_request_read(struct http_guard *g,
                             struct evhttp_request *req);

/* Before the listener goes away. */
void http_guard_stop_accepting(struct http_guard *g);
void http_guard_free(struct http_guard *g);

#endif
