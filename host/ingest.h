/* ingest.h - reads an event API body into validated, normalized events.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_INGEST_H
#define FNHOST_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct json_object;

#define INGEST_MAX_EVENTS 5000
#define INGEST_MAX_NAME EVENT_MAX_NAME

/* Parses BODY (one event object or an array of them, Inngest's event API)
 * and returns a new array of normalized events, each {"name", "data",
 * "ts"} plus "id" and "v" when given; "data._inngest" is dropped and a
 * missing or zero "ts" becomes NOW. Returns NULL with the reason in ERR,
 * naming the event ("events[3]: \"name\" is required"). The request is
 * all or nothing: one bad event refuses them all. */
struct json_object *ingest_parse(const char *body, size_t len, int64_t now,
                                 char *err, size_t errlen);

/* ingest_parse() in its two halves. The first reads BODY strictly as one
 * JSON value (UTF-8, RFC 8259 numbers, nothing after it, at most
 * JSON_EVENT_DEPTH deep): the value (new), or NULL with the reason in ERR
 * ("request body is not valid JSON: ... at byte N"). The second checks
 * and normalizes the events of ROOT (borrowed). Webhooks use both: the
 * sender's payload is read strictly, and the event made from it is
 * checked like any other. */
struct json_object *ingest_parse_json(const char *body, size_t len,
                                      char *err, size_t errlen);
struct json_object *ingest_events(struct json_object *root, int64_t now,
                                  char *err, size_t errlen);

/* Events read by ingest_scan(): each one's strings point into TEXT. */
struct ingest_event {
    const char *name;  /* decoded, NUL-terminated */
    const char *id;    /* the sender's "id", decoded, or NULL */
    int64_t ts;
    const char *json;  /* the normalized event, NUL-terminated: the very
                          bytes json_append() writes for ingest_parse()'s */
};

struct ingest_batch {
    struct ingest_event *evs;
    size_t n;
    char *text;        /* owns every string of EVS */
    size_t text_len;
};

/* ingest_parse() without a tree, for the usual body: reads BODY straight
 * into the stored form. Returns 1 with the events in OUT (free it with
 * ingest_batch_free()), or 0 when it cannot be sure of doing exactly
 * what ingest_parse() does: then call that, which refuses with the
 * reason or accepts the rare form this leaves to it (duplicate keys,
 * "data._inngest", a non-integer "ts", a number json-c reads as
 * infinite, very deep nesting). It never accepts a body ingest_parse()
 * refuses, and what it accepts it normalizes to the same text
 * (tests/fuzz/fuzz_ingest.c checks both). */
int ingest_scan(const char *body, size_t len, int64_t now,
                struct ingest_batch *out);
void ingest_batch_free(struct ingest_batch *b);

/* Reads Inngest's x-inngest-event-id-seed header, "<ms>,<base64 of 10
 * bytes>", and writes the id of the event at INDEX of the request into
 * OUT (ULID_LEN + 1 bytes) the way Inngest does: the index is added to the
 * last four bytes. An SDK that retries a send reuses the seed, so the
 * retry carries the same ids and is recognized. Returns 0, or -1 for a
 * malformed header (then ids are random, as without one). */
int ingest_seeded_id(const char *seed, size_t index, char *out);

#endif
