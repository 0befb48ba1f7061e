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

static struct json_object *
parse(const char *buf, size_t len)
{
    struct json_tokener *tok = json_tokener_new_ex(JSON_PARSE_DEPTH);
    struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);

    if (o != NULL && tok->char_offset != (int)len) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    if (o != NULL && !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        o = NULL;
    }
    return o;
}

struct json_object *
proto_recv(int fd)
{
    uint32_t be, len;
    char *buf;
    struct json_object *o;

    if (read_all(fd, &be, sizeof(be)) != 0)
        return NULL;
    len = ntohl(be);
    if (len == 0 || len > PROTO_MAX_FRAME) {
        errno = EPROTO;
        return NULL;
    }
    buf = xmalloc(len);
    if (read_all(fd, buf, len) != 0) {
        free(buf);
        return NULL;
    }
    o = parse(buf, len);
    free(buf);
    if (o == NULL)
        errno = EPROTO;
    return o;
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
