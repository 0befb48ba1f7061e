/* ingest.c - reads an event API body into validated, normalized events.
 * SPDX-License-Identifier: Apache-2.0 */
#include "ingest.h"

#include <json-c/json.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "json_check.h"
#include "util.h"

/* One tokener, reset per body: a new one allocates and clears its whole
 * parse stack each time. Only the loop's thread parses request bodies.
 * It keeps the room of the longest string it read (a body at most). */
static struct json_tokener *tokener;

static struct json_object *
parse_json(const char *body, size_t len, char *err, size_t errlen)
{
    struct json_tokener *tok;
    struct json_object *root;
    const char *why;
    size_t i = 0;
    int off;

    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' ||
                       body[i] == '\t'))
        i++;
    if (i == len) {
        snprintf(err, errlen, "request body is empty: send an event object"
                              " or an array of event objects");
        return NULL;
    }
    if (len > (size_t)INT32_MAX) {
        snprintf(err, errlen, "request body is too large");
        return NULL;
    }
    if (!json_check_utf8(body, len)) {
        snprintf(err, errlen, "request body is not valid JSON: it is not"
                              " UTF-8");
        return NULL;
    }
    if (tokener == NULL) {
        tokener = json_tokener_new_ex(JSON_EVENT_DEPTH);
        if (tokener == NULL)
            abort();
        json_tokener_set_flags(tokener, JSON_TOKENER_STRICT |
                                            JSON_TOKENER_ALLOW_TRAILING_CHARS);
    }
    tok = tokener;
    json_tokener_reset(tok);
    root = json_tokener_parse_ex(tok, body, (int)len);
    off = (int)json_tokener_get_parse_end(tok);
    if (root == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
        /* A bare number or literal ends only at the end of input: say so
         * to json-c with a final NUL. */
        root = json_tokener_parse_ex(tok, "", 1);
    }
    if (root == NULL && json_tokener_get_error(tok) == json_tokener_success) {
        /* The body is a JSON null. */
        snprintf(err, errlen, "Request body must contain an event object or"
                              " an array of event objects");
        return NULL;
    }
    if (root == NULL) {
        enum json_tokener_error e = json_tokener_get_error(tok);

        snprintf(err, errlen, "request body is not valid JSON: %s at byte %d",
                 e == json_tokener_continue
                     ? "unexpected end of input"
                     : json_tokener_error_desc(e), off);
        /* json_tokener_reset() keeps a high surrogate that a bad \u
         * escape left (json-c 0.16): the next body's first \u escape
         * would gain a U+FFFD. A new tokener after each refusal. */
        json_tokener_free(tokener);
        tokener = NULL;
        return NULL;
    }
    if (json_check_numbers(root) != NULL) {
        snprintf(err, errlen, "request body is not valid JSON: NaN, Infinity"
                              " and numbers like \"1.\" or \"01.5\" are not"
                              " JSON");
        json_object_put(root);
        return NULL;
    }
    for (i = (size_t)off; i < len; i++) {
        if (body[i] != ' ' && body[i] != '\n' && body[i] != '\r' &&
            body[i] != '\t') {
            snprintf(err, errlen, "request body is not valid JSON: unexpected"
                                  " data after the value at byte %zu", i);
            json_object_put(root);
            return NULL;
        }
    }
    /* What json-c took but would store changed: a raw control character
     * in a string, a lone surrogate, an integer beyond 64 bits. */
    if ((why = json_check_strict(body, len, JSON_EVENT_DEPTH, &i)) != NULL) {
        snprintf(err, errlen, "request body is not valid JSON: %s (at byte"
                              " %zu)", why, i);
        json_object_put(root);
        return NULL;
    }
    return root;
}

struct json_object *
ingest_parse_json(const char *body, size_t len, char *err, size_t errlen)
{
    size_t n;
    char *mended = json_check_mend_pairs(body, len, &n);
    struct json_object *root;

    /* json-c would store U+FFFD for some escaped pairs: it reads a copy
     * with those written as UTF-8 (a refusal's byte offset is then in
     * the copy, 8 bytes less for each pair before it). */
    if (mended == NULL)
        return parse_json(body, len, err, errlen);
    root = parse_json(mended, n, err, errlen);
    free(mended);
    return root;
}

struct json_object *
ingest_events(struct json_object *root, int64_t now, char *err, size_t errlen)
{
    struct json_object *out = json_object_new_array();
    size_t i, n;

    if (json_object_is_type(root, json_type_object)) {
        struct json_object *ev =
            event_normalize(root, "event", now, err, errlen);

        if (ev == NULL)
            goto fail;
        json_object_array_add(out, ev);
    } else if (json_object_is_type(root, json_type_array)) {
        n = json_object_array_length(root);
        if (n > INGEST_MAX_EVENTS) {
            snprintf(err, errlen, "too many events: %zu in one request, at"
                                  " most %d", n, INGEST_MAX_EVENTS);
            goto fail;
        }
        for (i = 0; i < n; i++) {
            char where[32];
            struct json_object *ev;

            snprintf(where, sizeof(where), "events[%zu]", i);
            ev = event_normalize(json_object_array_get_idx(root, i), where,
                                 now, err, errlen);
            if (ev == NULL)
                goto fail;
            json_object_array_add(out, ev);
        }
    } else {
        snprintf(err, errlen, "Request body must contain an event object or"
                              " an array of event objects");
        goto fail;
    }
    return out;

fail:
    json_object_put(out);
    return NULL;
}

struct json_object *
ingest_parse(const char *body, size_t len, int64_t now, char *err,
             size_t errlen)
{
    struct json_object *root = ingest_parse_json(body, len, err, errlen);
    struct json_object *out;

    if (root == NULL)
        return NULL;
    out = ingest_events(root, now, err, errlen);
    json_object_put(root);
    return out;
}

int
ingest_seeded_id(const char *seed, size_t index, char *out)
{
    const char *comma = strchr(seed, ',');
    unsigned char raw[16];
    char *end;
    long long ms;
    size_t b64len;
    uint32_t tail;
    int n;

    if (comma == NULL)
        return -1;
    ms = strtoll(seed, &end, 10);
    if (end != comma || ms <= 0 || ms >= (1LL << 48))
        return -1;
    /* 10 bytes are 16 base64 characters with "==" padding. */
    b64len = strlen(comma + 1);
    if (b64len != 16)
        return -1;
    n = EVP_DecodeBlock(raw, (const unsigned char *)comma + 1, 16);
    if (n != 12 || comma[15] != '=' || comma[16] != '=')
        return -1;
    tail = (uint32_t)raw[6] << 24 | (uint32_t)raw[7] << 16 |
           (uint32_t)raw[8] << 8 | raw[9];
    tail += (uint32_t)index;
    raw[6] = (unsigned char)(tail >> 24);
    raw[7] = (unsigned char)(tail >> 16);
    raw[8] = (unsigned char)(tail >> 8);
    raw[9] = (unsigned char)tail;
    ulid_encode(out, ms, raw);
    return 0;
}

/* ------------------------------------------------------- the fast path */

/* ingest_scan() reads a body that json_check_strict() has passed, so
 * nothing below checks grammar again: every string ends with its quote
 * inside the body, every escape is complete, every container closes. */

/* Deeper than this (from the body's root), ingest_scan() declines:
 * json-c and json_check_strict() count nesting each its own way, and a
 * body this deep is no usual event. */
#define SCAN_DEPTH (JSON_EVENT_DEPTH - 8)

/* The (object, key) pairs of one body, as hashes: json-c keeps a
 * duplicate key's last value at its first key's place, which one pass
 * cannot write, so a key seen twice in an object (or a hash collision,
 * as rare) declines. Open addressing; 0 is an empty slot. */
struct keyset {
    uint64_t *h;
    size_t cap, n;
    uint64_t small[128];
};

static void
keyset_init(struct keyset *ks)
{
    memset(ks->small, 0, sizeof(ks->small));
    ks->h = ks->small;
    ks->cap = sizeof(ks->small) / sizeof(ks->small[0]);
    ks->n = 0;
}

static void
keyset_free(struct keyset *ks)
{
    if (ks->h != ks->small)
        free(ks->h);
}

static void
keyset_put(uint64_t *h, size_t cap, uint64_t v)
{
    size_t i = (size_t)v & (cap - 1);

    while (h[i] != 0)
        i = (i + 1) & (cap - 1);
    h[i] = v;
}

/* Adds key K[0..N) of object OBJ; -1 if it may be there already. */
static int
keyset_add(struct keyset *ks, uint32_t obj, const char *k, size_t n)
{
    uint64_t v = 0x9e3779b97f4a7c15ull ^ (uint64_t)obj << 32 ^ n, w;
    size_t i;

    /* Eight bytes at a time: most keys are a word or two. */
    for (; n >= 8; k += 8, n -= 8) {
        memcpy(&w, k, 8);
        v = (v ^ w) * 0xff51afd7ed558ccdull;
        v ^= v >> 29;
    }
    if (n > 0) {
        w = 0;
        memcpy(&w, k, n);
        v = (v ^ w) * 0xc4ceb9fe1a85ec53ull;
        v ^= v >> 29;
    }
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    v |= 1;
    if ((ks->n + 1) * 2 > ks->cap) {
        size_t cap = ks->cap * 2;
        uint64_t *h = xcalloc(cap, sizeof(*h));

        for (i = 0; i < ks->cap; i++)
            if (ks->h[i] != 0)
                keyset_put(h, cap, ks->h[i]);
        keyset_free(ks);
        ks->h = h;
        ks->cap = cap;
    }
    for (i = (size_t)v & (ks->cap - 1); ks->h[i] != 0;
         i = (i + 1) & (ks->cap - 1))
        if (ks->h[i] == v)
            return -1;
    ks->h[i] = v;
    ks->n++;
    return 0;
}

struct scan {
    const unsigned char *p, *end;
    struct text_buf *o;   /* where values are written: one of */
    struct text_buf out;  /* the batch's text */
    struct text_buf data, user; /* an event's, until its name is out */
    struct text_buf tmp;  /* a string with escapes, decoded */
    struct keyset keys;
    uint32_t objs;        /* objects begun: each one's keys are its own */
    int depth;
};

static void
scan_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' ||
                             *s->p == '\r' || *s->p == '\t'))
        s->p++;
}

static inline void
put(struct text_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n)
        text_room(b, n);
    memcpy(b->s + b->len, p, n);
    b->len += n;
}

static inline void
put1(struct text_buf *b, char c)
{
    if (b->cap == b->len)
        text_room(b, 1);
    b->s[b->len++] = c;
}

/* Writes string STR[0..N), read by scan_string(), as json_append()
 * does. A PLAIN one (no escape: STR is in the body, between its quotes)
 * is its own JSON text, quotes and all: the body passed
 * json_check_strict(), so it holds no control character and no quote,
 * and json_append() would escape nothing. */
static inline void
put_string(struct scan *s, const char *str, size_t n, int plain)
{
    if (plain)
        put(s->o, str - 1, n + 2);
    else
        json_append_string(s->o, str, n);
}

static unsigned
scan_hex4(const unsigned char *p)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];

        v = v << 4 | (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

#define ONES 0x0101010101010101ull

/* The first '"' or '\\' from Q on (there is one: the string ends), 8
 * bytes at a time while none is either (the exact zero-byte test). */
static inline const unsigned char *
scan_to_quote(const struct scan *s, const unsigned char *q)
{
    uint64_t w, a, b;

    while (s->end - q >= 8) {
        memcpy(&w, q, 8);
        a = w ^ ONES * '"';
        b = w ^ ONES * '\\';
        if (((a - ONES) & ~a & ONES * 0x80) | ((b - ONES) & ~b & ONES * 0x80))
            break;
        q += 8;
    }
    while (*q != '"' && *q != '\\')
        q++;
    return q;
}

/* Reads the string whose quote is at S->p into *STR, *N: its bytes in
 * the body when it has no escape (then it returns 1), else decoded into
 * S->tmp, valid until the next string (0). */
static int
scan_string(struct scan *s, const char **str, size_t *n)
{
    const unsigned char *p = s->p + 1, *q = p;
    unsigned char u[4];
    unsigned cp, lo;

    q = scan_to_quote(s, q);
    if (*q == '"') {
        *str = (const char *)p;
        *n = (size_t)(q - p);
        s->p = q + 1;
        return 1;
    }
    s->tmp.len = 0;
    for (;;) {
        text_append(&s->tmp, (const char *)p, (size_t)(q - p));
        if (*q == '"')
            break;
        switch (q[1]) {
        case 'b': put1(&s->tmp, '\b'); break;
        case 'f': put1(&s->tmp, '\f'); break;
        case 'n': put1(&s->tmp, '\n'); break;
        case 'r': put1(&s->tmp, '\r'); break;
        case 't': put1(&s->tmp, '\t'); break;
        case 'u':
            cp = scan_hex4(q + 2);
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* json_check_strict() saw its low half follow. */
                lo = scan_hex4(q + 8);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                q += 6;
            }
            if (cp < 0x80) {
                put1(&s->tmp, (char)cp);
            } else if (cp < 0x800) {
                u[0] = (unsigned char)(0xc0 | cp >> 6);
                u[1] = (unsigned char)(0x80 | (cp & 0x3f));
                put(&s->tmp, u, 2);
            } else if (cp < 0x10000) {
                u[0] = (unsigned char)(0xe0 | cp >> 12);
                u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
                u[2] = (unsigned char)(0x80 | (cp & 0x3f));
                put(&s->tmp, u, 3);
            } else {
                u[0] = (unsigned char)(0xf0 | cp >> 18);
                u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
                u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
                u[3] = (unsigned char)(0x80 | (cp & 0x3f));
                put(&s->tmp, u, 4);
            }
            q += 4;
            break;
        default: /* " \ / */
            put1(&s->tmp, (char)q[1]);
        }
        q += 2;
        p = q;
        q = scan_to_quote(s, q);
    }
    s->p = q + 1;
    *str = s->tmp.s != NULL ? s->tmp.s : "";
    *n = s->tmp.len;
    return 0;
}

static int scan_value(struct scan *s);

/* Writes the object at S->p as json_append() writes json-c's reading of
 * it; -1 declines. SKIP_INNGEST: it is an event's data, whose
 * "_inngest" normalize() drops (left to the slow path). */
static int
scan_object(struct scan *s, int skip_inngest)
{
    uint32_t obj = ++s->objs;
    const char *k;
    size_t n;
    int first = 1, plain;

    if (++s->depth > SCAN_DEPTH)
        return -1;
    put1(s->o, '{');
    s->p++;
    scan_ws(s);
    while (*s->p != '}') {
        if (!first) {
            s->p++; /* , */
            scan_ws(s);
            put1(s->o, ',');
        }
        first = 0;
        plain = scan_string(s, &k, &n);
        /* json-c keys are C strings: one with a NUL is cut short. */
        if ((!plain && memchr(k, '\0', n) != NULL) ||
            keyset_add(&s->keys, obj, k, n) ||
            (skip_inngest && n == 8 && memcmp(k, "_inngest", 8) == 0))
            return -1;
        put_string(s, k, n, plain);
        put1(s->o, ':');
        scan_ws(s);
        s->p++; /* : */
        scan_ws(s);
        if (scan_value(s) != 0)
            return -1;
        scan_ws(s);
    }
    s->p++;
    s->depth--;
    put1(s->o, '}');
    return 0;
}

/* Reads the number at S->p, writing it when WRITE; -1 declines. */
static int
scan_number(struct scan *s, int write)
{
    const unsigned char *q = s->p;
    int integer = 1;
    char buf[64];
    size_t n;

    while (q < s->end && ((*q >= '0' && *q <= '9') || *q == '-' ||
                          *q == '+' || *q == '.' || *q == 'e' || *q == 'E')) {
        if (*q == '.' || *q == 'e' || *q == 'E')
            integer = 0;
        q++;
    }
    n = (size_t)(q - s->p);
    if (!integer) {
        char *end;

        /* A double prints as its text, unless json-c reads it as
         * infinite (1e400), which json_check_numbers() refuses wherever
         * it is in the body. */
        if (n >= sizeof(buf))
            return -1;
        memcpy(buf, s->p, n);
        buf[n] = '\0';
        /* json-c reads it in the C locale: one whose decimal mark is not
         * '.' would stop short, and that declines too. */
        if (!isfinite(strtod(buf, &end)) || *end != '\0')
            return -1;
    }
    if (write) {
        /* json-c reads "-0" as the integer 0. */
        if (integer && n == 2 && s->p[0] == '-' && s->p[1] == '0')
            put1(s->o, '0');
        else
            put(s->o, s->p, n);
    }
    s->p = q;
    return 0;
}

static int
scan_value(struct scan *s)
{
    const char *str;
    size_t n;
    int first = 1, plain;

    switch (*s->p) {
    case '"':
        plain = scan_string(s, &str, &n);
        put_string(s, str, n, plain);
        return 0;
    case '{':
        return scan_object(s, 0);
    case '[':
        if (++s->depth > SCAN_DEPTH)
            return -1;
        put1(s->o, '[');
        s->p++;
        scan_ws(s);
        while (*s->p != ']') {
            if (!first) {
                s->p++; /* , */
                scan_ws(s);
                put1(s->o, ',');
            }
            first = 0;
            if (scan_value(s) != 0)
                return -1;
            scan_ws(s);
        }
        s->p++;
        s->depth--;
        put1(s->o, ']');
        return 0;
    case 't':
        put(s->o, "true", 4);
        s->p += 4;
        return 0;
    case 'f':
        put(s->o, "false", 5);
        s->p += 5;
        return 0;
    case 'n':
        put(s->o, "null", 4);
        s->p += 4;
        return 0;
    default:
        return scan_number(s, 1);
    }
}

/* Moves S->p past the value there, writing nothing; -1 declines (it
 * holds a number json-c reads as infinite, or nests deeper than
 * SCAN_DEPTH: json-c refuses depth in a member normalize() drops too). */
static int
scan_skip(struct scan *s)
{
    int depth = 0;

    do {
        switch (*s->p) {
        case '"':
            for (s->p++; *s->p != '"'; s->p++)
                if (*s->p == '\\')
                    s->p++;
            s->p++;
            break;
        case '{':
        case '[':
            if (s->depth + ++depth > SCAN_DEPTH)
                return -1;
            s->p++;
            break;
        case '}':
        case ']':
            depth--;
            s->p++;
            break;
        case 't':
        case 'n':
            s->p += 4;
            break;
        case 'f':
            s->p += 5;
            break;
        case ',':
        case ':':
        case ' ':
        case '\n':
        case '\r':
        case '\t':
            s->p++;
            break;
        default:
            if (scan_number(s, 0) != 0)
                return -1;
        }
    } while (depth > 0);
    return 0;
}

/* Where an event's scalar members are (their values' first bytes), or
 * NULL; which of data and user it wrote into S->data and S->user. */
struct scan_event {
    const unsigned char *name, *id, *ts, *v;
    int data, user;
};

/* Reads the event object at S->p into F, writing its data and user
 * objects as they come; -1 declines. */
static int
scan_event_members(struct scan *s, struct scan_event *f)
{
    uint32_t obj = ++s->objs;
    const char *k;
    size_t n;
    int first = 1, plain, rc;

    memset(f, 0, sizeof(*f));
    s->data.len = s->user.len = 0;
    s->p++;
    scan_ws(s);
    while (*s->p != '}') {
        if (!first) {
            s->p++;
            scan_ws(s);
        }
        first = 0;
        plain = scan_string(s, &k, &n);
        if ((!plain && memchr(k, '\0', n) != NULL) ||
            keyset_add(&s->keys, obj, k, n))
            return -1;
        scan_ws(s);
        s->p++; /* : */
        scan_ws(s);
        if (n == 4 && memcmp(k, "data", 4) == 0 && *s->p == '{') {
            s->o = &s->data;
            rc = scan_object(s, 1);
            f->data = 1;
        } else if (n == 4 && memcmp(k, "data", 4) == 0 && *s->p != 'n') {
            return -1; /* not an object: normalize() says so */
        } else if (n == 4 && memcmp(k, "user", 4) == 0 && *s->p == '{') {
            s->o = &s->user;
            rc = scan_object(s, 0);
            f->user = 1;
        } else {
            if (n == 4 && memcmp(k, "name", 4) == 0)
                f->name = s->p;
            else if (n == 2 && memcmp(k, "id", 2) == 0)
                f->id = s->p;
            else if (n == 2 && memcmp(k, "ts", 2) == 0)
                f->ts = s->p;
            else if (n == 1 && k[0] == 'v')
                f->v = s->p;
            rc = scan_skip(s);
        }
        s->o = &s->out;
        if (rc != 0)
            return -1;
        scan_ws(s);
    }
    s->p++;
    return 0;
}

/* Decodes the string at P into BUF (MAX + 1 bytes, NUL-terminated); its
 * length, or -1 if it is longer than MAX or holds a NUL. */
static long
scan_short_string(struct scan *s, const unsigned char *p, char *buf,
                  size_t max)
{
    const char *str;
    size_t n;

    s->p = p;
    scan_string(s, &str, &n);
    if (n > max || memchr(str, '\0', n) != NULL)
        return -1;
    memcpy(buf, str, n);
    buf[n] = '\0';
    return (long)n;
}

/* Where one event's strings are in the batch's text, until it stops
 * moving. */
struct scan_offsets {
    size_t json, name, id;
    int has_id;
    int64_t ts;
};

/* Writes the event at S->p as normalize() and json_append() would, then
 * its name and id, each NUL-terminated; -1 declines. */
static int
scan_event(struct scan *s, int64_t now, struct scan_offsets *o)
{
    char name[EVENT_MAX_NAME + 1], id[EVENT_MAX_NAME + 1], num[24];
    const unsigned char *after;
    struct scan_event f;
    long name_len, id_len = 0;
    int64_t ts = 0;
    int k;

    if (*s->p != '{' || ++s->depth > SCAN_DEPTH)
        return -1;
    if (scan_event_members(s, &f) != 0)
        return -1;
    after = s->p;
    if (f.name == NULL || *f.name != '"' ||
        (name_len = scan_short_string(s, f.name, name, EVENT_MAX_NAME)) <= 0 ||
        strncasecmp(name, "inngest/", 8) == 0)
        return -1;
    if (f.ts != NULL && *f.ts != 'n') {
        const unsigned char *q = f.ts + (*f.ts == '-');
        int digits = 0;

        if (*q < '0' || *q > '9') /* a string, true, {} ... */
            return -1;
        for (; *q >= '0' && *q <= '9'; q++) {
            ts = ts * 10 + (*q - '0');
            if (++digits > 15)
                return -1;
        }
        if (*q == '.' || *q == 'e' || *q == 'E')
            return -1;
        if (*f.ts == '-')
            ts = -ts;
        if (ts != 0 && (ts < 315532800000LL || ts > 4102444800000LL))
            return -1;
    }
    if (f.id != NULL && *f.id != 'n') {
        if (*f.id != '"' ||
            (id_len = scan_short_string(s, f.id, id, EVENT_MAX_NAME)) < 0)
            return -1;
    }

    o->json = s->out.len;
    o->ts = ts != 0 ? ts : now;
    put(&s->out, "{\"name\":", 8);
    json_append_string(&s->out, name, (size_t)name_len);
    put(&s->out, ",\"data\":", 8);
    if (f.data)
        put(&s->out, s->data.s, s->data.len);
    else
        put(&s->out, "{}", 2);
    if (id_len > 0) {
        put(&s->out, ",\"id\":", 6);
        json_append_string(&s->out, id, (size_t)id_len);
    }
    k = snprintf(num, sizeof(num), ",\"ts\":%lld", (long long)o->ts);
    put(&s->out, num, (size_t)k);
    if (f.v != NULL && *f.v == '"') {
        const char *str;
        size_t n;
        int plain;

        s->p = f.v;
        plain = scan_string(s, &str, &n);
        put(&s->out, ",\"v\":", 5);
        put_string(s, str, n, plain);
    }
    if (f.user) {
        put(&s->out, ",\"user\":", 8);
        put(&s->out, s->user.s, s->user.len);
    }
    put(&s->out, "}", 2); /* and its NUL */
    o->name = s->out.len;
    put(&s->out, name, (size_t)name_len + 1);
    o->has_id = id_len > 0;
    o->id = s->out.len;
    if (o->has_id)
        put(&s->out, id, (size_t)id_len + 1);
    s->p = after;
    s->depth--;
    return 0;
}

int
ingest_scan(const char *body, size_t len, int64_t now,
            struct ingest_batch *out)
{
    struct scan s;
    struct scan_offsets *offs = NULL;
    size_t n = 0, cap = 0, at;
    int ok = 0;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > (size_t)INT32_MAX ||
        json_check_strict(body, len, JSON_EVENT_DEPTH, &at) != NULL)
        return 0;
    memset(&s, 0, sizeof(s));
    keyset_init(&s.keys);
    s.p = (const unsigned char *)body;
    s.end = s.p + len;
    s.o = &s.out;
    /* An event's text is at most its body's, plus its name and id again
     * and the members normalize() adds: most bodies need one buffer. */
    text_room(&s.out, len + 1024);
    scan_ws(&s);
    if (*s.p == '[') {
        s.depth = 1;
        s.p++;
        scan_ws(&s);
        while (*s.p != ']') {
            if (n > 0) {
                s.p++; /* , */
                scan_ws(&s);
            }
            if (n == INGEST_MAX_EVENTS)
                goto done;
            if (n == cap) {
                cap = cap ? 2 * cap : 8;
                offs = xrealloc(offs, cap * sizeof(*offs));
            }
            if (scan_event(&s, now, &offs[n]) != 0)
                goto done;
            n++;
            scan_ws(&s);
        }
        if (n == 0)
            goto done;
    } else {
        offs = xmalloc(sizeof(*offs));
        if (scan_event(&s, now, &offs[0]) != 0)
            goto done;
        n = 1;
    }
    /* The text has stopped moving. */
    out->evs = xcalloc(n, sizeof(*out->evs));
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->evs[i].json = s.out.s + offs[i].json;
        out->evs[i].name = s.out.s + offs[i].name;
        out->evs[i].id = offs[i].has_id ? s.out.s + offs[i].id : NULL;
        out->evs[i].ts = offs[i].ts;
    }
    out->text = s.out.s;
    out->text_len = s.out.len;
    s.out.s = NULL;
    ok = 1;
done:
    free(offs);
    free(s.out.s);
    free(s.data.s);
    free(s.user.s);
    free(s.tmp.s);
    keyset_free(&s.keys);
    return ok;
}

void
ingest_batch_free(struct ingest_batch *b)
{
    if (b == NULL)
        return;
    free(b->evs);
    free(b->text);
    memset(b, 0, sizeof(*b));
}
