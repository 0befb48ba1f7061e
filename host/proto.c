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

int
proto_take(struct evbuffer *in, struct json_object **msg)
{
    uint32_t be, len;
    unsigned char *p;

    if (evbuffer_get_length(in) < sizeof(be))
        return 0;
    evbuffer_copyout(in, &be, sizeof(be));
    len = ntohl(be);
    if (len == 0 || len > PROTO_MAX_FRAME)
        return -1;
    if (evbuffer_get_length(in) < sizeof(be) + len)
        return 0;
    p = evbuffer_pullup(in, (ev_ssize_t)(sizeof(be) + len));
    *msg = parse((const char *)p + sizeof(be), len);
    evbuffer_drain(in, sizeof(be) + len);
    return *msg != NULL ? 1 : -1;
}
