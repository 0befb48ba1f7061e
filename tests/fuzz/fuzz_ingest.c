/* fuzz_ingest.c - libFuzzer target for event API bodies (ingest_parse).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Besides crashes and sanitizer reports, checks the contract in ingest.h:
 * success is an array of at most INGEST_MAX_EVENTS normalized events, and
 * failure leaves a reason. A normalized event is stored and served as
 * JSON text, so it must be valid JSON (no NaN, no "1.", UTF-8 strings),
 * and sent again on its own it must come back unchanged. The fast path,
 * ingest_scan(), must take nothing ingest_parse() refuses and write
 * exactly the text json_append() writes of what it takes. */
#include <json-c/json.h>
#include <math.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ingest.h"
#include "util.h"

/* Inside 1980..2100, so a defaulted ts survives a second ingest. */
#define NOW 1700000000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, struct json_object *ev)
{
    fprintf(stderr, "fuzz_ingest: %s: %s\n", what,
            ev != NULL ? json_object_to_json_string_ext(
                             ev, JSON_C_TO_STRING_PLAIN)
                       : "(null)");
    abort();
}

static void
check_event(struct json_object *ev)
{
    struct json_object *v;
    const char *name;
    size_t n;

    if (!json_object_is_type(ev, json_type_object))
        fail("an event is not an object", ev);
    if (!json_object_object_get_ex(ev, "name", &v) ||
        !json_object_is_type(v, json_type_string))
        fail("an event has no string \"name\"", ev);
    name = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n == 0 || n > INGEST_MAX_NAME || strlen(name) != n)
        fail("an event name is empty, too long or holds a NUL", ev);
    if (strncasecmp(name, "inngest/", 8) == 0)
        fail("a reserved event name was accepted", ev);
    if (!json_object_object_get_ex(ev, "data", &v) ||
        !json_object_is_type(v, json_type_object))
        fail("an event has no object \"data\"", ev);
    if (json_object_object_get_ex(v, "_inngest", NULL))
        fail("data._inngest was kept", ev);
    if (!json_object_object_get_ex(ev, "ts", &v) ||
        !json_object_is_type(v, json_type_int))
        fail("an event has no integer \"ts\"", ev);
    if (json_object_get_int64(v) < 315532800000LL ||
        json_object_get_int64(v) > 4102444800000LL)
        fail("an event ts is outside 1980..2100", ev);
    if (json_object_object_get_ex(ev, "id", &v) &&
        (!json_object_is_type(v, json_type_string) ||
         json_object_get_string_len(v) == 0 ||
         json_object_get_string_len(v) > INGEST_MAX_NAME))
        fail("an event id is not a non-empty string of at most 512 bytes",
             ev);
    if (json_object_object_get_ex(ev, "v", &v) &&
        !json_object_is_type(v, json_type_string))
        fail("an event v is not a string", ev);
}

/* The oracles below are written differently from the checks in
 * host/ingest.c on purpose: a copy would agree with its own bugs. */

/* Whether S is a number as RFC 8259 writes one: its grammar as a regex. */
static int
json_number_ok(const char *s)
{
    static regex_t re;
    static int ready;

    if (!ready) {
        if (regcomp(&re, "^-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE][+-]?[0-9]+)?$",
                    REG_EXTENDED | REG_NOSUB) != 0)
            abort();
        ready = 1;
    }
    return regexec(&re, s, 0, NULL, 0) == 0;
}

/* Whether S[0..N) is UTF-8, by RFC 3629's ABNF (section 4): each row of
 * its table as byte ranges, no code point arithmetic. */
static int
utf8_ok(const unsigned char *s, size_t n)
{
#define TAIL(b) ((b) >= 0x80 && (b) <= 0xbf)
#define IN(b, lo, hi) ((b) >= (lo) && (b) <= (hi))
    size_t i = 0;

    while (i < n) {
        unsigned char a = s[i];
        size_t left = n - i;

        if (a <= 0x7f) {
            i += 1;
        } else if (IN(a, 0xc2, 0xdf) && left >= 2 && TAIL(s[i + 1])) {
            i += 2;
        } else if (left >= 3 && TAIL(s[i + 2]) &&
                   ((a == 0xe0 && IN(s[i + 1], 0xa0, 0xbf)) ||
                    (IN(a, 0xe1, 0xec) && TAIL(s[i + 1])) ||
                    (a == 0xed && IN(s[i + 1], 0x80, 0x9f)) ||
                    (IN(a, 0xee, 0xef) && TAIL(s[i + 1])))) {
            i += 3;
        } else if (left >= 4 && TAIL(s[i + 2]) && TAIL(s[i + 3]) &&
                   ((a == 0xf0 && IN(s[i + 1], 0x90, 0xbf)) ||
                    (IN(a, 0xf1, 0xf3) && TAIL(s[i + 1])) ||
                    (a == 0xf4 && IN(s[i + 1], 0x80, 0x8f)))) {
            i += 4;
        } else {
            return 0;
        }
    }
    return 1;
#undef TAIL
#undef IN
}

/* Whether V would be written as valid JSON: json-c writes NaN, Infinity
 * and a double's original text ("1.") as they are, and strings as bytes. */
static const char *
json_bad(struct json_object *v)
{
    const char *why;

    switch (json_object_get_type(v)) {
    case json_type_double:
        if (!isfinite(json_object_get_double(v)))
            return "a number is NaN or infinite";
        if (!json_number_ok(json_object_to_json_string(v)))
            return "a number is not written as JSON";
        return NULL;
    case json_type_string:
        return utf8_ok((const unsigned char *)json_object_get_string(v),
                       (size_t)json_object_get_string_len(v))
                   ? NULL
                   : "a string is not UTF-8";
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if ((why = json_bad(json_object_array_get_idx(v, i))) != NULL)
                return why;
        return NULL;
    case json_type_object: {
        json_object_object_foreach(v, key, val) {
            if (!utf8_ok((const unsigned char *)key, strlen(key)))
                return "a key is not UTF-8";
            if ((why = json_bad(val)) != NULL)
                return why;
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

/* The text the store keeps (json_append's) is the text json-c prints. */
static void
check_text(struct json_object *ev)
{
    struct text_buf b = {0};
    size_t len;
    const char *s = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

    json_append(&b, ev);
    if (b.len != len || memcmp(b.s, s, len) != 0) {
        fprintf(stderr, "fuzz_ingest: json_append: %.*s\n", (int)b.len, b.s);
        fail("json_append does not print what json-c prints", ev);
    }
    free(b.s);
}

/* The event's text is valid JSON, and ingesting it again gives the same
 * event. */
static void
check_again(struct json_object *ev)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN, &len);
    char *copy = strdup(s), err[512] = "";
    const char *why = json_bad(ev);
    struct json_object *again;

    if (why != NULL) {
        fprintf(stderr, "fuzz_ingest: not valid JSON: %s\n", why);
        fail("a normalized event is not valid JSON", ev);
    }
    again = ingest_parse(copy, len, NOW, err, sizeof(err));
    if (again == NULL) {
        fprintf(stderr, "fuzz_ingest: refused the second time: %s\n", err);
        fail("a normalized event is refused when sent again", ev);
    }
    if (json_object_array_length(again) != 1 ||
        strcmp(json_object_to_json_string_ext(
                   json_object_array_get_idx(again, 0),
                   JSON_C_TO_STRING_PLAIN),
               s) != 0) {
        fprintf(stderr, "fuzz_ingest: second time: %s\n",
                json_object_to_json_string_ext(again,
                                               JSON_C_TO_STRING_PLAIN));
        fail("a normalized event changes when sent again", ev);
    }
    json_object_put(again);
    free(copy);
}

/* ingest_scan() agrees with ingest_parse()'s OUT (NULL: refused). */
static void
check_fast(const uint8_t *data, size_t size, struct json_object *out)
{
    struct ingest_batch b;

    if (!ingest_scan((const char *)data, size, NOW, &b))
        return;
    if (out == NULL)
        fail("ingest_scan took a body ingest_parse refuses", NULL);
    if (b.n != json_object_array_length(out))
        fail("ingest_scan read another number of events", out);
    for (size_t i = 0; i < b.n; i++) {
        struct json_object *ev = json_object_array_get_idx(out, i), *id;
        struct text_buf t = {0};

        json_append(&t, ev);
        if (t.len != strlen(b.evs[i].json) ||
            memcmp(t.s, b.evs[i].json, t.len) != 0) {
            fprintf(stderr, "fuzz_ingest: ingest_scan: %s\n", b.evs[i].json);
            fail("ingest_scan wrote other text than json_append", ev);
        }
        free(t.s);
        if (strcmp(b.evs[i].name, json_object_get_string(
                                      json_object_object_get(ev, "name"))) ||
            b.evs[i].ts != json_object_get_int64(
                               json_object_object_get(ev, "ts")))
            fail("ingest_scan read another name or ts", ev);
        id = json_object_object_get(ev, "id");
        if ((id == NULL) != (b.evs[i].id == NULL) ||
            (id != NULL && strcmp(b.evs[i].id, json_object_get_string(id))))
            fail("ingest_scan read another id", ev);
    }
    ingest_batch_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    struct json_object *out;
    size_t n;

    /* The body is not NUL-terminated: LEN alone bounds the read. */
    err[0] = '\0';
    out = ingest_parse((const char *)data, size, NOW, err, sizeof(err));
    check_fast(data, size, out);
    if (out == NULL) {
        if (err[0] == '\0')
            fail("refused without a reason", NULL);
        return 0;
    }
    if (!json_object_is_type(out, json_type_array))
        fail("the result is not an array", out);
    n = json_object_array_length(out);
    if (n > INGEST_MAX_EVENTS)
        fail("more than INGEST_MAX_EVENTS events", NULL);
    for (size_t i = 0; i < n; i++) {
        check_event(json_object_array_get_idx(out, i));
        check_text(json_object_array_get_idx(out, i));
        check_again(json_object_array_get_idx(out, i));
    }
    json_object_put(out);
    return 0;
}
