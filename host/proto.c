/* proto.c - framed JSON messages between the master and its workers.
 * SPDX-License-Identifier: Apache-2.0 */
#include "proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

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

int
proto_send(int fd, struct json_object *msg)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN, &len);
    uint32_t be = htonl((uint32_t)len);
    struct iovec iov[2];
    ssize_t w;

    if (len > PROTO_MAX_FRAME) {
        errno = EMSGSIZE;
        return -1;
    }
    /* One write for the whole frame: the master wakes once per message,
     * not once for the length and again for the body. */
    iov[0].iov_base = &be;
    iov[0].iov_len = sizeof(be);
    iov[1].iov_base = (void *)(uintptr_t)s;
    iov[1].iov_len = len;
    do
        w = writev(fd, iov, 2);
    while (w < 0 && errno == EINTR);
    if (w < 0)
        return -1;
    if ((size_t)w < sizeof(be))
        return write_all(fd, (char *)&be + w, sizeof(be) - (size_t)w) != 0 ||
                       write_all(fd, s, len) != 0
                   ? -1
                   : 0;
    return write_all(fd, s + ((size_t)w - sizeof(be)),
                     len - ((size_t)w - sizeof(be)));
}

/* One tokener, reset per message: a fresh one allocates and clears its
 * whole parse stack each time. Only one thread of a process (the loop, or
 * a worker) reads messages. */
static struct json_tokener *tokener;

static struct json_object *
parse(const char *buf, size_t len)
{
    struct json_object *o;

    if (tokener == NULL && (tokener = json_tokener_new_ex(JSON_PARSE_DEPTH)) ==
                               NULL)
        abort();
    json_tokener_reset(tokener);
    o = json_tokener_parse_ex(tokener, buf, (int)len);
    if (o != NULL && tokener->char_offset != (int)len) {
        json_object_put(o);
        o = NULL;
    }
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
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
    uint32_t be, len;
    char *buf;
    struct json_object *o;

    if (read_buffered(fd, (char *)&be, sizeof(be)) != 0)
        return NULL;
    len = ntohl(be);
    if (len == 0 || len > PROTO_MAX_FRAME) {
        errno = EPROTO;
        return NULL;
    }
    buf = xmalloc(len);
    if (read_buffered(fd, buf, len) != 0) {
        free(buf);
        return NULL;
    }
    o = parse(buf, len);
    free(buf);
    if (o == NULL)
        errno = EPROTO;
    return o;
}

int
proto_recv_ack(int fd)
{
    char buf[sizeof(PROTO_ACK)];
    uint32_t be, len;

    if (read_buffered(fd, (char *)&be, sizeof(be)) != 0)
        return -1;
    len = ntohl(be);
    if (len != sizeof(PROTO_ACK) - 1) {
        errno = EPROTO;
        return 0;
    }
    if (read_buffered(fd, buf, len) != 0)
        return -1;
    if (memcmp(buf, PROTO_ACK, len) != 0) {
        errno = EPROTO;
        return 0;
    }
    return 1;
}

/* ------------------------------------------------------- step frames */

#define STEP_FIXED (1 + 4 + 3 * 8) /* tag, attempt, three times */
#define STEP_NSTR 6
#define NO_STRING 0xffffffffu

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

static void
step_strings(const struct store_step *st, const char *v[STEP_NSTR])
{
    v[0] = st->step_id;
    v[1] = st->name;
    v[2] = st->kind;
    v[3] = st->status;
    v[4] = st->result;
    v[5] = st->error;
}

/* The length of ST's frame body, which is written to BUF if it fits in
 * CAP bytes. */
static size_t
step_encode(const struct store_step *st, unsigned char *buf, size_t cap)
{
    const char *v[STEP_NSTR];
    size_t len[STEP_NSTR], n = STEP_FIXED;
    unsigned char *p = buf;

    step_strings(st, v);
    for (int i = 0; i < STEP_NSTR; i++) {
        len[i] = v[i] != NULL ? strlen(v[i]) : 0;
        n += 4 + (v[i] != NULL ? len[i] + 1 : 0);
    }
    if (n > cap)
        return n;
    *p++ = PROTO_STEP_TAG;
    p = put32(p, st->attempt);
    p = put64(p, st->started_at);
    p = put64(p, st->ended_at);
    p = put64(p, st->wake_at);
    for (int i = 0; i < STEP_NSTR; i++) {
        if (v[i] == NULL) {
            p = put32(p, NO_STRING);
            continue;
        }
        p = put32(p, (uint32_t)len[i]);
        memcpy(p, v[i], len[i]);
        p[len[i]] = '\0';
        p += len[i] + 1;
    }
    return n;
}

/* Reads a step frame's body (LEN bytes at BODY) into ST, whose strings
 * then point into BODY: 0, or -1 if it is not exactly one well-formed
 * step. */
static int
step_decode(const unsigned char *body, size_t len, struct store_step *st)
{
    const unsigned char *p = body, *end = body + len;
    const char *v[STEP_NSTR];

    if (len < STEP_FIXED || body[0] != PROTO_STEP_TAG)
        return -1;
    memset(st, 0, sizeof(*st));
    st->attempt = get32(p + 1);
    st->started_at = get64(p + 5);
    st->ended_at = get64(p + 13);
    st->wake_at = get64(p + 21);
    p += STEP_FIXED;
    for (int i = 0; i < STEP_NSTR; i++) {
        uint32_t n;

        if (end - p < 4)
            return -1;
        n = get32(p);
        p += 4;
        v[i] = NULL;
        if (n == NO_STRING)
            continue;
        if ((size_t)(end - p) <= n || p[n] != '\0' || memchr(p, 0, n))
            return -1;
        v[i] = (const char *)p;
        p += (size_t)n + 1;
    }
    if (p != end)
        return -1;
    st->step_id = v[0];
    st->name = v[1];
    st->kind = v[2];
    st->status = v[3];
    st->result = v[4];
    st->error = v[5];
    return 0;
}

int
proto_send_step(int fd, const struct store_step *step)
{
    unsigned char small[1024], *buf = small;
    size_t n = step_encode(step, NULL, 0);
    int rc;

    if (n > PROTO_MAX_FRAME) {
        errno = EMSGSIZE;
        return -1;
    }
    if (4 + n > sizeof(small))
        buf = xmalloc(4 + n);
    put32(buf, (uint32_t)n);
    step_encode(step, buf + 4, n);
    /* One write: the master wakes once per checkpoint. */
    rc = write_all(fd, buf, 4 + n);
    if (buf != small)
        free(buf);
    return rc;
}

void
proto_add_step(struct evbuffer *out, const struct store_step *step)
{
    size_t n = step_encode(step, NULL, 0);
    unsigned char *buf = xmalloc(4 + n);

    put32(buf, (uint32_t)n);
    step_encode(step, buf + 4, n);
    evbuffer_add(out, buf, 4 + n);
    free(buf);
}

/* ------------------------------------------------------- master side */

void
proto_add(struct evbuffer *out, struct json_object *msg)
{
    size_t len;
    const char *s = json_object_to_json_string_length(
        msg, JSON_C_TO_STRING_PLAIN, &len);
    uint32_t be = htonl((uint32_t)len);

    evbuffer_add(out, &be, sizeof(be));
    evbuffer_add(out, s, len);
}

/* The last step frame taken, which its strings point into; room for
 * STEP_BUF_KEEP bytes stays between frames. */
#define STEP_BUF_KEEP 65536
static unsigned char *step_buf;
static size_t step_cap;

int
proto_take(struct evbuffer *in, struct proto_msg *msg)
{
    uint32_t be, len;
    unsigned char *p;

    memset(msg, 0, sizeof(*msg));
    if (step_cap > STEP_BUF_KEEP) {
        /* The last frame was a big one: do not keep its room. */
        free(step_buf);
        step_buf = NULL;
        step_cap = 0;
    }
    if (evbuffer_get_length(in) < sizeof(be))
        return 0;
    evbuffer_copyout(in, &be, sizeof(be));
    len = ntohl(be);
    if (len == 0 || len > PROTO_MAX_FRAME)
        return -1;
    if (evbuffer_get_length(in) < sizeof(be) + len)
        return 0;
    p = evbuffer_pullup(in, (ev_ssize_t)(sizeof(be) + len));
    if (p[sizeof(be)] == PROTO_STEP_TAG) {
        if (len > step_cap) {
            free(step_buf);
            step_cap = len < 4096 ? 4096 : len;
            step_buf = xmalloc(step_cap);
        }
        memcpy(step_buf, p + sizeof(be), len);
        evbuffer_drain(in, sizeof(be) + len);
        return step_decode(step_buf, len, &msg->step) == 0 ? 1 : -1;
    }
    msg->json = parse((const char *)p + sizeof(be), len);
    evbuffer_drain(in, sizeof(be) + len);
    return msg->json != NULL ? 1 : -1;
}
