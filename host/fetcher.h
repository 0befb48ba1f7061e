/* fetcher.h - HTTP requests made by the master, with libcurl's multi
 * interface driven by the master's libevent loop: nothing blocks.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Only the transfer: what a fetch step means (durability, retries, the
 * stored response) is fetch_step.c's. */
#ifndef FNHOST_FETCHER_H
#define FNHOST_FETCHER_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct fetch_req;
struct fetcher;
struct fetch_call;
struct json_object;

/* How a request ended; everything borrowed for the callback. */
struct fetch_result {
    const char *error;            /* no response (a transport error, a
                                     timeout, a body over the cap): why;
                                     NULL when there is a response */
    int too_big;                  /* the body passed MAX_BODY */
    long status;                  /* the last response's status */
    struct json_object *headers;  /* its headers: lower-case name ->
                                     value, repeats joined with ", " */
    const char *body;
    size_t body_len;
    int64_t retry_after_ms;       /* its Retry-After, or 0 */
};

typedef void (*fetcher_done_fn)(void *arg, const struct fetch_result *r);

/* A fetcher on BASE: NULL with why in ERR when libcurl cannot start. */
struct fetcher *fetcher_new(struct event_base *base, char *err,
                            size_t errlen);
/* Abandons every request in flight (their callbacks never run). */
void fetcher_free(struct fetcher *f);

/* Starts REQ (borrowed until DONE runs or the call is cancelled), with
 * TIMEOUT_MS for the whole exchange and at most MAX_BODY bytes of body
 * (more ends it, too_big). DONE(ARG, r) runs later on the loop, never
 * from within this call. */
struct fetch_call *fetcher_start(struct fetcher *f, const struct fetch_req *req,
                                 int64_t timeout_ms, size_t max_body,
                                 fetcher_done_fn done, void *arg);
/* Abandons C: its callback never runs. */
void fetcher_cancel(struct fetch_call *c);

/* Requests in flight. */
int fetcher_active(const struct fetcher *f);

#endif
