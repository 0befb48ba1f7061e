/* http_guard.h - keeps a flood of connections from spinning the master:
 * accepting pauses, with backoff, while the process is out of fds.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_HTTP_GUARD_H
#define FNHOST_HTTP_GUARD_H

struct event_base;
struct evconnlistener;
struct http_guard;

/* Watches LEV's accept errors: on each, accepting stops for a pause
 * (10 ms, doubling to 1 s while failures go on) and at most one line per
 * 10 s says so. The guard must be freed before the listener. */
struct http_guard *http_guard_new(struct event_base *base,
                                  struct evconnlistener *lev);
void http_guard_free(struct http_guard *g);

#endif
