/* cancel.h - bulk cancellation: the runs of a function, in a time range,
 * that an expression picks.
 * SPDX-License-Identifier: Apache-2.0
 *
 * POST /v1/cancellations, as Inngest's: the request is parsed and its
 * `if` compiled here, then the runs are read a page at a time and handed
 * to sched_cancel(), each page committed before the next is read, so one
 * large cancellation shares the store writer with ingest instead of
 * holding it in one long transaction. A single run's cancel is
 * sched_cancel() itself. */
#ifndef FNHOST_CANCEL_H
#define FNHOST_CANCEL_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct expr;
struct json_object;
struct sched;
struct store;

/* What a bulk cancellation picks. */
struct cancel_filter {
    char *function_id;
    int64_t from, to; /* runs created at FROM or later, before TO (ms) */
    struct expr *cond; /* `if` over `event`, or NULL: every run */
};

/* Reads a POST /v1/cancellations body (LEN bytes at BODY, not
 * NUL-terminated) into F, as of NOW: {"function_id": s, "started_after"?:
 * t, "started_before"?: t, "if"?: s, "app_id"?: s}, a time being RFC 3339
 * or ms (a number or a string of digits); started_before defaults to
 * NOW. Returns 0, or -1 with ERR naming the field and what was expected
 * (for `if`, the column).
 * Release F with cancel_filter_fini() either way. */
int cancel_filter_parse(const char *body, size_t len, int64_t now,
                        struct cancel_filter *f, char *err, size_t errlen);
void cancel_filter_fini(struct cancel_filter *f);

/* How a bulk cancellation ended: RC 0 with COUNT runs cancelled (or to
 * be at their next step boundary), or -1 with ERR after COUNT of them. */
typedef void (*cancel_done_fn)(void *arg, int rc, const char *err,
                               int64_t count);

/* Cancels the runs F picks (F is taken over), as cancellation ID (its
 * reason names it), durably: DONE runs once every one is committed. */
void cancel_bulk(struct event_base *base, struct sched *s, struct store *st,
                 struct cancel_filter *f, const char *id, cancel_done_fn done,
                 void *arg);

#endif
