/* fetch_req.h - the request of a fetch step (fh_fetch()), as a worker
 * makes it and the master reads it back: one copy of its rules for the
 * worker, the master and the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases.
 *
 * The stored form is a JSON object, the step's request until the host
 * has the response:
 *
 *     {"method": "POST", "url": "https://...", "headers": ["A: b"],
 *      "body": "...", "timeout_ms": 30000, "max_bytes": 4194304}
 *
 * "body" is absent without one; "max_bytes" bounds the response's JSON
 * text (what the step may store, given what the run keeps already). */
#ifndef FNHOST_FETCH_REQ_H
#define FNHOST_FETCH_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "fnhost.h"

struct json_object;

/* The defaults and bounds of a request. */
#define FETCH_REQ_TIMEOUT_MS 30000
#define FETCH_REQ_MAX_TIMEOUT_MS (24LL * 3600 * 1000)
#define FETCH_REQ_MAX_URL 8192
#define FETCH_REQ_MAX_HEADERS 100
#define FETCH_REQ_MAX_HEADER 8192
#define FETCH_REQ_MAX_METHOD 16
/* Redirects the host follows before it takes the last as the response. */
#define FETCH_REQ_MAX_REDIRECTS 10

/* A request read back: strings borrowed from the JSON object it came
 * from. */
struct fetch_req {
    const char *method;
    const char *url;
    struct json_object *headers; /* an array of "Name: value" strings */
    const char *body;            /* NULL: none */
    size_t body_len;
    int64_t timeout_ms;
    int64_t max_bytes;
};

/* The stored form of REQ (borrowed; its size-stamped fields) into *OUT
 * (new), with MAX_BYTES as its bound on the response: NULL, or why the
 * request cannot be made (new), worded for the step's error. */
char *fetch_req_build(const struct fh_fetch *req, int64_t max_bytes,
                      struct json_object **out);

/* Reads the stored form J into *R (borrowing from J), checking it as
 * fetch_req_build() does: the master reads what a worker, which runs
 * plugin code, wrote. NULL, or why not (new). */
char *fetch_req_read(struct json_object *j, struct fetch_req *r);

#endif
