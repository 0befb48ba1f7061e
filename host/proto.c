/* proto.c - every message between the master and its workers, both ways.
 * SPDX-License-Identifier: Apache-2.0 */
#include "proto.h"

#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "json_check.h"
#include "steprules.h"
#include "util.h"
#include "wait.h"

/* ------------------------------------------------------------ bytes */

static unsigned char *
put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return p + 4;
}

static unsigned char *
put64(unsigned char *p, int64_t v)
{
    return put32(put32(p, (uint32_t)((uint64_t)v >> 32)), (uint32_t)v);
}

static uint32_t
get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | p[3];
}

static int64_t
get64(const unsigned char *p)
{
    return (int64_t)((uint64_t)get32(p) << 32 | get32(p + 4));
}

/* Room for N more bytes at the end of B; returns where they go. */
static unsigned char *
buf_room(struct proto_buf *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 1024;

        while (cap - b->len < n)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

void
proto_buf_free(struct proto_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

static int
write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;

    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Room kept in a worker's buffer between messages: a big result's is
 * given back. */
#define BUF_KEEP 65536

int
proto_write(int fd, struct proto_buf *b)
{
    int rc = write_all(fd, b->data, b->len);

    b->len = 0;
    if (b->cap > BUF_KEEP)
        proto_buf_free(b);
    return rc;
}

/* ------------------------------------------------------- JSON frames */

/* Appends MSG as a JSON frame, its object's closing brace left off when
 * OPEN is set (the caller adds the rest); returns where the length goes. */
static size_t
put_json(struct proto_buf *b, struct json_object *msg, int open)
{
    size_t len, at = b->len;
    const char *s = json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN, &len);

    len -= open != 0;
    memcpy(buf_room(b, 4 + len) + 4, s, len);
    b->len += 4 + len;
    return at;
}

/* Writes the length of the frame that starts at AT. */
static void
end_frame(struct proto_buf *b, size_t at)
{
    put32(b->data + at, (uint32_t)(b->len - at - 4));
}

static void
put_text(struct proto_buf *b, const char *s, size_t n)
{
    memcpy(buf_room(b, n), s, n);
    b->len += n;
}

/* Appends S as a JSON string. */
static void
put_json_str(struct proto_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    char *o;

    /* The most one byte can take is "\u00XX", 6 bytes. */
    o = (char *)buf_room(b, n * 6 + 2);
    *o++ = '"';
    for (; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\') {
            *o++ = '\\';
            *o++ = (char)*p;
        } else if (*p < 0x20) {
            memcpy(o, "\\u00", 4);
            o[4] = hex[*p >> 4];
            o[5] = hex[*p & 15];
            o += 6;
        } else {
            *o++ = (char)*p;
        }
    }
    *o++ = '"';
    b->len = (size_t)((unsigned char *)o - b->data);
}

/* Appends ,"steps":{...} for MEMO: each result goes in as the JSON text it
 * was stored as, not parsed and printed again. */
static void
put_memo(struct proto_buf *b, const struct step_memo *memo)
{
    put_text(b, ",\"steps\":{", 10);
    for (size_t i = 0; i < memo->n; i++) {
        const struct step_memo_entry *e = &memo->v[i];

        if (i > 0)
            put_text(b, ",", 1);
        put_json_str(b, e->step_id);
        if (e->error != NULL) {
            put_text(b, ":{\"error\":", 10);
            put_json_str(b, e->error);
        } else {
            put_text(b, ":{\"data\":", 9);
            /* An empty text is no JSON: null, as for none. */
            if (e->result != NULL && *e->result != '\0')
                put_text(b, e->result, strlen(e->result));
            else
                put_text(b, "null", 4);
        }
        put_text(b, "}", 1);
    }
    put_text(b, "}", 1);
}

/* Adds KEY: S to M, unless S is NULL. */
static void
add_str(struct json_object *m, const char *key, const char *s)
{
    if (s != NULL)
        json_object_object_add(m, key, json_object_new_string(s));
}

void
proto_put_hello(struct proto_buf *b, const struct proto_hello *h)
{
    struct json_object *m = json_object_new_object();
    struct json_object *files = json_object_new_array();

    for (size_t i = 0; i < h->nplugins; i++)
        json_object_array_add(files, json_object_new_string(h->plugins[i]));
    json_object_object_add(m, "t", json_object_new_string("hello"));
    json_object_object_add(m, "plugins", files);
    json_object_object_add(m, "config", json_object_get(h->config));
    add_str(m, "log_level", h->log_level);
    if (h->log_json)
        json_object_object_add(m, "log_format",
                               json_object_new_string("json"));
    end_frame(b, put_json(b, m, 0));
    json_object_put(m);
}

void
proto_put_invoke(struct proto_buf *b, const struct proto_invoke *inv)
{
    struct json_object *m = json_object_new_object();
    const char *ev = inv->event_json;
    size_t at;

    json_object_object_add(m, "t", json_object_new_string("invoke"));
    add_str(m, "run_id", inv->run_id);
    add_str(m, "function_id", inv->function_id);
    json_object_object_add(m, "attempt", json_object_new_int64(inv->attempt));
    json_object_object_add(m, "max_attempts",
                           json_object_new_int64(inv->max_attempts));
    add_str(m, "event_id", inv->event_id);
    add_str(m, "target", inv->target);
    if (inv->checkpoint_ahead)
        json_object_object_add(m, "ahead", json_object_new_boolean(1));
    if (inv->memo != NULL)
        json_object_object_add(m, "state",
                               json_object_new_int64((int64_t)inv->state_bytes));
    /* The event goes in as the JSON text it is stored as (ingest wrote
     * it, an object), not as a string: no escaping here and no second
     * parse in the worker. Anything else goes as null, which the worker
     * refuses. */
    if (ev == NULL || *ev != '{')
        ev = "null";
    at = put_json(b, m, 1);
    if (inv->memo != NULL)
        put_memo(b, inv->memo);
    /* A batch's events, the text the store made of their stored ones. */
    if (inv->events_json != NULL && *inv->events_json == '[') {
        put_text(b, ",\"events\":", 10);
        put_text(b, inv->events_json, strlen(inv->events_json));
    }
    put_text(b, ",\"event\":", 9);
    put_text(b, ev, strlen(ev));
    put_text(b, "}", 1);
    end_frame(b, at);
    json_object_put(m);
}

/* Appends the frame of the N bytes at ACK. */
static void
put_ack(struct proto_buf *b, const char *ack, size_t n)
{
    unsigned char *p = buf_room(b, 4 + n);

    memcpy(put32(p, (uint32_t)n), ack, n);
    b->len += 4 + n;
}

void
proto_put_ack(struct proto_buf *b)
{
    put_ack(b, PROTO_ACK, sizeof(PROTO_ACK) - 1);
}

void
proto_put_ack_cancel(struct proto_buf *b)
{
    put_ack(b, PROTO_ACK_CANCEL, sizeof(PROTO_ACK_CANCEL) - 1);
}

/* One tokener, reset per message: a fresh one allocates and clears its
 * whole parse stack each time. Only one thread of a process reads
 * messages. */
static struct json_tokener *tokener;

struct json_object *
proto_parse(const char *buf, size_t len)
{
    struct json_object *o;
    char *mended;

    if (len > PROTO_MAX_FRAME)
        return NULL;
    if (tokener == NULL && (tokener = json_tokener_new_ex(JSON_PARSE_DEPTH)) ==
                               NULL)
        abort();
    /* json-c prints no escaped pair, but a plugin may write one. */
    if ((mended = json_check_mend_pairs(buf, len, &len)) != NULL)
        buf = mended;
    json_tokener_reset(tokener);
    o = json_tokener_parse_ex(tokener, buf, (int)len);
    free(mended);
    if (o == NULL) {
        /* A reset tokener keeps the high surrogate of a bad \u escape,
         * which the next message's first \u escape would turn into a
         * U+FFFD (json-c 0.16): a new one after a message it refused. */
        json_tokener_free(tokener);
        tokener = NULL;
        return NULL;
    }
    if (tokener->char_offset != (int)len) {
        json_object_put(o);
        o = NULL;
    }
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

static const char *
str_field(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

enum proto_type
proto_type_of(struct json_object *msg)
{
    static const struct {
        const char *name;
        enum proto_type type;
    } types[] = {{"hello", PROTO_HELLO},
                 {"invoke", PROTO_INVOKE},
                 {"ack", PROTO_ACK_MSG}};
    const char *t = str_field(msg, "t");

    for (size_t i = 0; t != NULL && i < sizeof(types) / sizeof(*types); i++)
        if (strcmp(t, types[i].name) == 0)
            return types[i].type;
    return PROTO_UNKNOWN;
}

int
proto_read_hello(struct json_object *msg, struct proto_hello *h)
{
    struct json_object *files;
    size_t n;

    memset(h, 0, sizeof(*h));
    if (proto_type_of(msg) != PROTO_HELLO ||
        !json_object_object_get_ex(msg, "plugins", &files) ||
        !json_object_is_type(files, json_type_array) ||
        !json_object_object_get_ex(msg, "config", &h->config))
        return -1;
    n = json_object_array_length(files);
    h->plugins = xcalloc(n ? n : 1, sizeof(*h->plugins));
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_array_get_idx(files, i);

        if (!json_object_is_type(f, json_type_string)) {
            free(h->plugins);
            memset(h, 0, sizeof(*h));
            return -1;
        }
        h->plugins[h->nplugins++] = json_object_get_string(f);
    }
    h->log_level = str_field(msg, "log_level");
    h->log_json = str_field(msg, "log_format") != NULL &&
                  strcmp(str_field(msg, "log_format"), "json") == 0;
    return 0;
}

static unsigned
uint_field(struct json_object *o, const char *key)
{
    int64_t v = json_object_get_int64(json_object_object_get(o, key));

    return v < 0 ? 0 : v > UINT32_MAX ? UINT32_MAX : (unsigned)v;
}

int
proto_read_invoke(struct json_object *msg, struct proto_invoke *inv)
{
    memset(inv, 0, sizeof(*inv));
    if (proto_type_of(msg) != PROTO_INVOKE)
        return -1;
    inv->run_id = str_field(msg, "run_id");
    inv->function_id = str_field(msg, "function_id");
    inv->event_id = str_field(msg, "event_id");
    inv->attempt = uint_field(msg, "attempt");
    inv->max_attempts = uint_field(msg, "max_attempts");
    inv->target = str_field(msg, "target");
    inv->checkpoint_ahead =
        json_object_get_boolean(json_object_object_get(msg, "ahead"));
    {
        int64_t st = json_object_get_int64(json_object_object_get(msg,
                                                                  "state"));

        inv->state_bytes = st > 0 ? (uint64_t)st : 0;
    }
    if (!json_object_object_get_ex(msg, "event", &inv->event) ||
        !json_object_is_type(inv->event, json_type_object))
        inv->event = NULL;
    if (!json_object_object_get_ex(msg, "events", &inv->events) ||
        !json_object_is_type(inv->events, json_type_array))
        inv->events = NULL;
    if (!json_object_object_get_ex(msg, "steps", &inv->steps) ||
        !json_object_is_type(inv->steps, json_type_object))
        inv->steps = NULL;
    return inv->run_id != NULL && inv->function_id != NULL &&
                   inv->event != NULL
               ? 0
               : -1;
}

/* ---------------------------------------------------- a worker reads */

static int
read_all(int fd, void *buf, size_t n)
{
    char *p = buf;

    while (n > 0) {
        ssize_t r = read(fd, p, n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = 0;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Bytes read ahead by proto_recv(): one read usually brings a whole frame
 * (and the worker reads a message in one system call, not two). */
static char rbuf[65536];
static size_t rhead, rtail;
static int rfd = -1; /* whose bytes they are */

/* Fills DST with N bytes, from the read-ahead first. */
static int
read_buffered(int fd, char *dst, size_t n)
{
    if (fd != rfd) {
        rfd = fd;
        rhead = rtail = 0;
    }
    while (n > 0) {
        size_t have = rtail - rhead;
        ssize_t r;

        if (have > 0) {
            size_t take = have < n ? have : n;

            memcpy(dst, rbuf + rhead, take);
            rhead += take, dst += take, n -= take;
            continue;
        }
        if (n >= sizeof(rbuf)) /* a big body: straight into place */
            return read_all(fd, dst, n);
        rhead = rtail = 0;
        r = read(fd, rbuf, sizeof(rbuf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0)
            errno = 0;
        if (r <= 0)
            return -1;
        rtail = (size_t)r;
    }
    return 0;
}

struct json_object *
proto_recv(int fd)
{
    unsigned char be[4];
    uint32_t len;
    char *buf;
    struct json_object *o;

    if (read_buffered(fd, (char *)be, sizeof(be)) != 0)
        return NULL;
    len = get32(be);
    if (len == 0 || len > PROTO_MAX_FRAME) {
        errno = EPROTO;
        return NULL;
    }
    buf = xmalloc(len);
    if (read_buffered(fd, buf, len) != 0) {
        free(buf);
        return NULL;
    }
    o = proto_parse(buf, len);
    free(buf);
    if (o == NULL)
        errno = EPROTO;
    return o;
}

int
proto_recv_ack(int fd)
{
    char buf[sizeof(PROTO_ACK_CANCEL)];
    unsigned char be[4];
    uint32_t len;

    if (read_buffered(fd, (char *)be, sizeof(be)) != 0)
        return -1;
    len = get32(be);
    if (len != sizeof(PROTO_ACK) - 1 && len != sizeof(PROTO_ACK_CANCEL) - 1) {
        errno = EPROTO;
        return 0;
    }
    if (read_buffered(fd, buf, len) != 0)
        return -1;
    if (len == sizeof(PROTO_ACK) - 1 && memcmp(buf, PROTO_ACK, len) == 0)
        return 1;
    if (len == sizeof(PROTO_ACK_CANCEL) - 1 &&
        memcmp(buf, PROTO_ACK_CANCEL, len) == 0)
        return 2;
    errno = EPROTO;
    return 0;
}

/* ----------------------------------------------------- binary frames */

#define NO_STRING 0xffffffffu
#define RECORD_FIXED (4 + 3 * 8) /* attempt, three times */
#define RECORD_NSTR 8
#define DONE_FIXED (1 + 1 + 4 + 2 * 8) /* flags, suspend, attempt, times */
#define DONE_OK 1u
#define DONE_NO_RETRY 2u
#define DONE_CANCELLED 4u

static size_t
str_size(const char *s)
{
    return 4 + (s != NULL ? strlen(s) + 1 : 0);
}

static unsigned char *
put_str(unsigned char *p, const char *s)
{
    size_t n;

    if (s == NULL)
        return put32(p, NO_STRING);
    n = strlen(s);
    p = put32(p, (uint32_t)n);
    memcpy(p, s, n + 1);
    return p + n + 1;
}

/* Reads a string at *P (before END) into *S: 0, or -1 if it runs past
 * END, lacks its NUL or holds another. */
static int
get_str(const unsigned char **p, const unsigned char *end, const char **s)
{
    uint32_t n;

    if (end - *p < 4)
        return -1;
    n = get32(*p);
    *p += 4;
    *s = NULL;
    if (n == NO_STRING)
        return 0;
    if ((size_t)(end - *p) <= n || (*p)[n] != '\0' || memchr(*p, 0, n))
        return -1;
    *s = (const char *)*p;
    *p += (size_t)n + 1;
    return 0;
}

static void
record_strings(const struct step_record *st, const char *v[RECORD_NSTR])
{
    v[0] = st->step_id;
    v[1] = st->name;
    v[2] = st->kind;
    v[3] = st->status;
    v[4] = st->result;
    v[5] = st->error;
    v[6] = st->events;
    v[7] = st->target;
}

static size_t
record_size(const struct step_record *st)
{
    const char *v[RECORD_NSTR];
    size_t n = RECORD_FIXED;

    record_strings(st, v);
    for (int i = 0; i < RECORD_NSTR; i++)
        n += str_size(v[i]);
    return n;
}

static unsigned char *
put_record(unsigned char *p, const struct step_record *st)
{
    const char *v[RECORD_NSTR];

    record_strings(st, v);
    p = put32(p, st->attempt);
    p = put64(p, st->started_at);
    p = put64(p, st->ended_at);
    p = put64(p, st->wake_at);
    for (int i = 0; i < RECORD_NSTR; i++)
        p = put_str(p, v[i]);
    return p;
}

/* Reads a record at *P (before END) into ST, whose strings then point
 * into the frame. */
static int
get_record(const unsigned char **p, const unsigned char *end,
           struct step_record *st)
{
    const char *v[RECORD_NSTR];

    if (end - *p < RECORD_FIXED)
        return -1;
    st->attempt = get32(*p);
    st->started_at = get64(*p + 4);
    st->ended_at = get64(*p + 12);
    st->wake_at = get64(*p + 20);
    *p += RECORD_FIXED;
    for (int i = 0; i < RECORD_NSTR; i++)
        if (get_str(p, end, &v[i]) != 0)
            return -1;
    st->step_id = v[0];
    st->name = v[1];
    st->kind = v[2];
    st->status = v[3];
    st->result = v[4];
    st->error = v[5];
    st->events = v[6];
    st->target = v[7];
    return 0;
}

#define WAIT_NSTR 4

static void
wait_strings(const struct step_record *st, const char *v[WAIT_NSTR])
{
    v[0] = st->wait_event;
    v[1] = st->wait_match;
    v[2] = st->wait_value;
    v[3] = st->wait_if;
}

/* What a wait adds to a done's record. */
static size_t
wait_size(const struct step_record *st)
{
    const char *v[WAIT_NSTR];
    size_t n = 8;

    wait_strings(st, v);
    for (int i = 0; i < WAIT_NSTR; i++)
        n += str_size(v[i]);
    return n;
}

static unsigned char *
put_wait(unsigned char *p, const struct step_record *st)
{
    const char *v[WAIT_NSTR];

    wait_strings(st, v);
    p = put64(p, st->lookback_ms);
    for (int i = 0; i < WAIT_NSTR; i++)
        p = put_str(p, v[i]);
    return p;
}

static int
get_wait(const unsigned char **p, const unsigned char *end,
         struct step_record *st)
{
    const char *v[WAIT_NSTR];

    if (end - *p < 8)
        return -1;
    st->lookback_ms = get64(*p);
    *p += 8;
    for (int i = 0; i < WAIT_NSTR; i++)
        if (get_str(p, end, &v[i]) != 0)
            return -1;
    st->wait_event = v[0];
    st->wait_match = v[1];
    st->wait_value = v[2];
    st->wait_if = v[3];
    return 0;
}

/* Room in B for a binary frame of body size N, its length written; NULL
 * (errno EMSGSIZE) when N is over the limit. */
static unsigned char *
begin_binary(struct proto_buf *b, size_t n)
{
    if (n > PROTO_MAX_FRAME) {
        errno = EMSGSIZE;
        return NULL;
    }
    return put32(buf_room(b, 4 + n), (uint32_t)n);
}

void
proto_put_ready(struct proto_buf *b, unsigned nplugins)
{
    unsigned char *p = begin_binary(b, 5);

    *p++ = 'R';
    put32(p, nplugins);
    b->len += 4 + 5;
}

int
proto_put_step(struct proto_buf *b, const struct step_record *st)
{
    size_t n = 1 + record_size(st);
    unsigned char *p = begin_binary(b, n);

    if (p == NULL)
        return -1;
    *p++ = 'S';
    put_record(p, st);
    b->len += 4 + n;
    return 0;
}

int
proto_put_log(struct proto_buf *b, const struct proto_log *l)
{
    size_t n = 1 + 1 + 8 + str_size(l->text);
    unsigned char *p = begin_binary(b, n);

    if (p == NULL)
        return -1;
    *p++ = 'L';
    *p++ = (unsigned char)l->level;
    p = put64(p, l->at);
    put_str(p, l->text);
    b->len += 4 + n;
    return 0;
}

int
proto_put_done(struct proto_buf *b, const struct proto_done *d)
{
    size_t n = 1 + DONE_FIXED + str_size(d->output) + str_size(d->error);
    unsigned char *p;

    if (d->suspend != PROTO_SUSPEND_NONE)
        n += record_size(&d->step);
    if (d->suspend == PROTO_SUSPEND_WAIT)
        n += wait_size(&d->step);
    if ((p = begin_binary(b, n)) == NULL)
        return -1;
    *p++ = 'D';
    *p++ = (unsigned char)((d->ok ? DONE_OK : 0) |
                           (d->no_retry ? DONE_NO_RETRY : 0) |
                           (d->cancelled ? DONE_CANCELLED : 0));
    *p++ = (unsigned char)d->suspend;
    p = put32(p, d->attempt);
    p = put64(p, d->unit_started_at);
    p = put64(p, d->retry_after_ms);
    p = put_str(p, d->output);
    p = put_str(p, d->error);
    if (d->suspend != PROTO_SUSPEND_NONE)
        p = put_record(p, &d->step);
    if (d->suspend == PROTO_SUSPEND_WAIT)
        put_wait(p, &d->step);
    b->len += 4 + n;
    return 0;
}

/* Times a worker sends are milliseconds since the epoch: past this (about
 * 35,000 years) or negative, they are nonsense, and the master's sums on
 * them could overflow. */
#define RECORD_MAX_MS ((int64_t)1 << 50)

static int
is(const char *s, const char *word)
{
    return s != NULL && strcmp(s, word) == 0;
}

/* Whether S (may be NULL) is text the API can print: UTF-8, and no
 * longer than anything a worker makes. */
static int
text_ok(const char *s)
{
    size_t n;

    return s == NULL || ((n = strlen(s)) <= STEPRULES_MAX_OUTPUT &&
                         json_check_utf8(s, n));
}

/* Whether S (may be NULL) is a result or an output the store may keep:
 * JSON as RFC 8259 writes it, within the size a step may return. A
 * worker checks its results first and says why; this is for one that
 * does not (a plugin writing to the master's pipe, a broken build), since
 * the API prints what the store holds. */
static int
json_text_ok(const char *s)
{
    size_t n, at;

    return s == NULL || ((n = strlen(s)) <= STEPRULES_MAX_OUTPUT &&
                         json_check_strict(s, n, JSON_PARSE_DEPTH, &at) ==
                             NULL);
}

/* Whether invoking step ST is what steprules_invoke() records: a
 * function id, one event object (the pipeline checks it as the event API
 * does, and names it inngest/function.invoked itself), and the result
 * {"function_id": that id, "timeout": "..."}, which the store reads if
 * the invoke times out. */
static int
invoke_ok(const struct step_record *st)
{
    struct json_object *ev = NULL, *res = NULL, *v;
    int ok;

    if (st->target == NULL || st->target[0] == '\0' || !text_ok(st->target) ||
        st->events == NULL || st->result == NULL || !is(st->kind, "invoke"))
        return 0;
    ev = json_tokener_parse(st->events);
    res = json_tokener_parse(st->result);
    ok = json_object_is_type(ev, json_type_array) &&
         json_object_array_length(ev) == 1 &&
         json_object_is_type(json_object_array_get_idx(ev, 0),
                             json_type_object) &&
         json_object_is_type(res, json_type_object) &&
         json_object_object_get_ex(res, "function_id", &v) &&
         json_object_is_type(v, json_type_string) &&
         strcmp(json_object_get_string(v), st->target) == 0 &&
         json_object_object_get_ex(res, "timeout", &v) &&
         json_object_is_type(v, json_type_string);
    json_object_put(ev);
    json_object_put(res);
    return ok;
}

/* Whether RESULT is the plan of parallel group GROUP (its step id) as
 * steprules.h describes it: the store makes a run of each branch. */
static int
plan_ok(const char *group, const char *result)
{
    struct json_object *plan = result ? json_tokener_parse(result) : NULL;
    struct json_object *list = NULL;
    const char *mode = fh_json_str(plan, "mode");
    size_t n = 0;
    int ok;

    ok = mode != NULL && (strcmp(mode, "all") == 0 ||
                          strcmp(mode, "race") == 0) &&
         json_object_object_get_ex(plan, "branches", &list) &&
         json_object_is_type(list, json_type_array) &&
         (n = json_object_array_length(list)) >= 1 && n <= FH_PARALLEL_MAX;
    for (size_t i = 0; ok && i < n; i++) {
        struct json_object *b = json_object_array_get_idx(list, i);
        const char *id = fh_json_str(b, "id"), *name = fh_json_str(b, "name");

        /* A branch that is the group's own step would overwrite it
         * with its outcome: the group could never end. */
        ok = id != NULL && *id != '\0' && text_ok(id) &&
             strcmp(id, group) != 0 && name != NULL && *name != '\0' &&
             text_ok(name);
        /* Each branch ends its own step: the ids are distinct. */
        for (size_t j = 0; ok && j < i; j++)
            ok = strcmp(id, fh_json_str(json_object_array_get_idx(list, j),
                                        "id")) != 0;
    }
    json_object_put(plan);
    return ok;
}

/* Why ST says something the store may not keep (NULL: it may), for a
 * record that comes
 * as a checkpoint (SUSPEND PROTO_SUSPEND_NONE) or with a done that
 * suspends. The master reads processes that run plugin code: a record is
 * never taken on trust, since a step stored as completed never runs
 * again. A checkpoint holds a result or a final failure; a sleep, a
 * sleeping step with its wake time; a wait, a waiting step with its
 * timeout and what it waits for; a retry, the failed attempt. */
static const char *
record_why(const struct step_record *st, enum proto_suspend suspend)
{
    int fits;

    if (st->step_id == NULL || st->step_id[0] == '\0' ||
        !(is(st->kind, "run") || is(st->kind, "sleep") ||
          is(st->kind, "send") || is(st->kind, "invoke") ||
          is(st->kind, "fetch") || is(st->kind, "wait") ||
          is(st->kind, "parallel")) ||
        st->started_at < 0 || st->started_at > RECORD_MAX_MS ||
        st->ended_at < 0 || st->ended_at > RECORD_MAX_MS ||
        st->wake_at < 0 || st->wake_at > RECORD_MAX_MS)
        return "a step record without an id, or with a bad kind or time";
    if (!text_ok(st->step_id) || !text_ok(st->name) || !text_ok(st->error))
        return "a step's id, name or error is not UTF-8, or over 4 MiB";
    if (!json_text_ok(st->result))
        return "a step result that is not strict JSON, or over 4 MiB";
    /* Events go only with a sent step's result; the pipeline checks
     * them as the event API does. */
    if (st->events != NULL &&
        !(((is(st->kind, "send") && is(st->status, "completed")) ||
           (is(st->kind, "invoke") && is(st->status, "invoking"))) &&
          st->result != NULL && json_text_ok(st->events)))
        return "events that are not strict JSON, or not with a completed"
               " send step or an invoke";
    if ((st->target != NULL) != is(st->status, "invoking"))
        return "a function to invoke on a step that is no waiting invoke,"
               " or an invoke without one";
    if (is(st->status, "invoking") && !invoke_ok(st))
        return "an invoke whose function, event or result is not what"
               " fh_invoke() sends";
    if (is(st->kind, "send") && is(st->status, "completed") &&
        st->events == NULL)
        return "a completed send step without its events";
    /* A fetch's response comes from the host, never from a worker: a
     * worker asks for it with its request, or fails it for good. */
    if (is(st->kind, "fetch") && !is(st->status, "failed") &&
        !(suspend == PROTO_SUSPEND_FETCH && st->result != NULL))
        return "a fetch step a worker may not record: it sends the request,"
               " the host the response";
    /* A group's outcome is the store's to write, once its branches
     * have ended: a worker only begins one. */
    if (is(st->kind, "parallel") != (suspend == PROTO_SUSPEND_PARALLEL))
        return "a parallel group a worker may not record: it begins one,"
               " and the host ends it";
    switch (suspend) {
    case PROTO_SUSPEND_NONE:
        fits = is(st->status, "completed") || is(st->status, "failed");
        break;
    case PROTO_SUSPEND_PARALLEL:
        fits = is(st->status, "parallel") && plan_ok(st->step_id, st->result);
        break;
    case PROTO_SUSPEND_BRANCH:
        fits = (is(st->status, "completed") || is(st->status, "failed")) &&
               is(st->kind, "run");
        break;
    case PROTO_SUSPEND_FETCH:
        fits = is(st->status, "fetching") && is(st->kind, "fetch");
        break;
    case PROTO_SUSPEND_SLEEP:
        fits = ((is(st->status, "sleeping") && is(st->kind, "sleep")) ||
                (is(st->status, "invoking") && is(st->kind, "invoke"))) &&
               st->wake_at > 0;
        break;
    case PROTO_SUSPEND_WAIT:
        fits = is(st->status, "waiting") && is(st->kind, "wait") &&
               st->wake_at > 0 && st->wait_event != NULL &&
               st->wait_event[0] != '\0' && text_ok(st->wait_event) &&
               (st->wait_match == NULL || wait_path_ok(st->wait_match)) &&
               (st->wait_value == NULL ||
                strlen(st->wait_value) <= WAIT_MAX_VALUE) &&
               json_text_ok(st->wait_value) && text_ok(st->wait_if) &&
               st->lookback_ms >= 0 &&
               st->lookback_ms <= STEPRULES_MAX_SLEEP_MS;
        break;
    default: /* PROTO_SUSPEND_RETRY */
        fits = is(st->status, "failed");
        break;
    }
    return fits ? NULL : "a step status that does not fit the message";
}

/* Reads a binary frame's body (LEN bytes at BODY) into MSG: 0, or -1 if
 * it is not exactly one well-formed message. */
static int
decode(const unsigned char *body, size_t len, struct proto_msg *msg)
{
    const unsigned char *p = body + 1, *end = body + len;
    struct proto_done *d = &msg->done;

    switch (body[0]) {
    case 'R':
        if (len != 5)
            return -1;
        msg->type = PROTO_READY;
        msg->plugins = get32(p);
        return 0;
    case 'S':
        msg->type = PROTO_STEP;
        if (get_record(&p, end, &msg->step) != 0 || p != end)
            return -1;
        msg->why = record_why(&msg->step, PROTO_SUSPEND_NONE);
        return msg->why == NULL ? 0 : -1;
    case 'L':
        if (len < 1 + 1 + 8 || p[0] > 3)
            return -1;
        msg->type = PROTO_LOG;
        msg->log.level = p[0];
        msg->log.at = get64(p + 1);
        p += 9;
        if (get_str(&p, end, &msg->log.text) != 0 || p != end)
            return -1;
        if (msg->log.text == NULL || strlen(msg->log.text) > PROTO_LOG_MAX ||
            !json_check_utf8(msg->log.text, strlen(msg->log.text))) {
            msg->why = "a log line that is not UTF-8 or is over 2 KiB";
            return -1;
        }
        return 0;
    case 'D':
        if (len < 1 + DONE_FIXED ||
            p[0] & ~(DONE_OK | DONE_NO_RETRY | DONE_CANCELLED) ||
            p[1] > PROTO_SUSPEND_BRANCH)
            return -1;
        msg->type = PROTO_DONE;
        d->ok = (p[0] & DONE_OK) != 0;
        d->no_retry = (p[0] & DONE_NO_RETRY) != 0;
        d->cancelled = (p[0] & DONE_CANCELLED) != 0;
        d->suspend = (enum proto_suspend)p[1];
        d->attempt = get32(p + 2);
        d->unit_started_at = get64(p + 6);
        d->retry_after_ms = get64(p + 14);
        p += DONE_FIXED;
        if (get_str(&p, end, &d->output) != 0 ||
            get_str(&p, end, &d->error) != 0)
            return -1;
        if (!json_text_ok(d->output) || !text_ok(d->error)) {
            msg->why = "a run output that is not strict JSON or over 4 MiB,"
                       " or an error that is not UTF-8";
            return -1;
        }
        if (d->suspend != PROTO_SUSPEND_NONE) {
            if (get_record(&p, end, &d->step) != 0)
                return -1;
            if (d->suspend == PROTO_SUSPEND_WAIT &&
                get_wait(&p, end, &d->step) != 0)
                return -1;
            if ((msg->why = record_why(&d->step, d->suspend)) != NULL)
                return -1;
        }
        return p == end ? 0 : -1;
    default:
        return -1;
    }
}

/* ---------------------------------------------------- the master reads */

/* The last frame taken, which its strings point into; room for BUF_KEEP
 * bytes stays between frames. */
static unsigned char *take_buf;
static size_t take_cap;

int
proto_take(struct evbuffer *in, struct proto_msg *msg)
{
    unsigned char be[4];
    uint32_t len;
    unsigned char *p;

    memset(msg, 0, sizeof(*msg));
    if (take_cap > BUF_KEEP) {
        /* The last frame was a big one: do not keep its room. */
        free(take_buf);
        take_buf = NULL;
        take_cap = 0;
    }
    if (evbuffer_get_length(in) < sizeof(be))
        return 0;
    evbuffer_copyout(in, be, sizeof(be));
    len = get32(be);
    if (len == 0 || len > PROTO_MAX_FRAME)
        return -1;
    if (evbuffer_get_length(in) < sizeof(be) + len)
        return 0;
    p = evbuffer_pullup(in, (ev_ssize_t)(sizeof(be) + len));
    if (len > take_cap) {
        free(take_buf);
        take_cap = len < 4096 ? 4096 : len;
        take_buf = xmalloc(take_cap);
    }
    memcpy(take_buf, p + sizeof(be), len);
    evbuffer_drain(in, sizeof(be) + len);
    if (decode(take_buf, len, msg) != 0) {
        const char *why = msg->why;

        memset(msg, 0, sizeof(*msg));
        msg->why = why;
        return -1;
    }
    return 1;
}
