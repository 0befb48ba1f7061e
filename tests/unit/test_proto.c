/* test_proto.c - unit tests for framed messages between master and workers.
 * SPDX-License-Identifier: Apache-2.0 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto.h"
#include "tap.h"

static struct json_object *
sample(void)
{
    return json_tokener_parse("{\"type\":\"invoke\",\"run_id\":\"01ABC\","
                              "\"attempt\":3,\"event\":{\"name\":\"a/b\","
                              "\"data\":{\"list\":[1,2.5,null,true],"
                              "\"s\":\"caf\\u00e9 \\\"q\\\"\"}}}");
}

/* Writes a raw frame: a length header LEN and N bytes of BODY. */
static void
raw_frame(int fd, uint32_t len, const char *body, size_t n)
{
    uint32_t be = htonl(len);

    if (write(fd, &be, sizeof(be)) != sizeof(be) ||
        (n > 0 && write(fd, body, n) != (ssize_t)n))
        perror("write");
}

static void
test_socket(void)
{
    int sv[2];
    struct json_object *msg = sample(), *got;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
    }
    is_int(proto_send(sv[0], msg), 0, "proto_send writes a message");
    got = proto_recv(sv[1]);
    ok(got != NULL && json_object_equal(got, msg),
       "proto_recv gives the same message back");
    json_object_put(got);

    /* Back to back: one at a time, in order. */
    {
        struct json_object *a = json_tokener_parse("{\"n\":1}");
        struct json_object *b = json_tokener_parse("{\"n\":2}");

        proto_send(sv[0], a);
        proto_send(sv[0], b);
        got = proto_recv(sv[1]);
        ok(got != NULL && json_object_equal(got, a), "first of two");
        json_object_put(got);
        got = proto_recv(sv[1]);
        ok(got != NULL && json_object_equal(got, b), "then the second");
        json_object_put(got);
        json_object_put(a);
        json_object_put(b);
    }

    raw_frame(sv[0], 0, NULL, 0);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "a zero-length frame is refused");
    is_int(errno, EPROTO, "with EPROTO");

    raw_frame(sv[0], 5, "{abc}", 5);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "invalid JSON is refused");
    is_int(errno, EPROTO, "with EPROTO");

    raw_frame(sv[0], 5, "[1,2]", 5);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "JSON that is not an object is refused");
    is_int(errno, EPROTO, "with EPROTO");
    json_object_put(got);

    raw_frame(sv[0], 3, "{}x", 3);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "bytes after the object in a frame are refused");
    is_int(errno, EPROTO, "with EPROTO");
    json_object_put(got);

    /* The stream is still usable after a bad frame that was read whole. */
    proto_send(sv[0], msg);
    got = proto_recv(sv[1]);
    ok(got != NULL && json_object_equal(got, msg),
       "a good frame after bad ones is read");
    json_object_put(got);

    raw_frame(sv[0], PROTO_MAX_FRAME + 1, NULL, 0);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "a frame over PROTO_MAX_FRAME is refused");
    is_int(errno, EPROTO, "with EPROTO, without reading 64 MiB");

    /* A frame cut short by the peer going away. */
    raw_frame(sv[0], 100, "{\"a\":", 5);
    close(sv[0]);
    got = proto_recv(sv[1]);
    ok(got == NULL, "a truncated frame at EOF is NULL");
    errno = EPROTO;
    got = proto_recv(sv[1]);
    ok(got == NULL, "a clean EOF is NULL");
    is_int(errno, 0, "with errno 0");
    close(sv[1]);
    json_object_put(msg);
}

static void
test_big(void)
{
    size_t n = 1 << 20;
    char *s = malloc(n + 1);
    struct json_object *msg, *got, *v;
    int sv[2], status = -1;
    pid_t pid;

    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    msg = json_object_new_object();
    json_object_object_add(msg, "big", json_object_new_string(s));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
    }
    /* 1 MiB is more than a socket buffer holds: send from a child. */
    pid = fork();
    if (pid == 0) {
        close(sv[1]);
        _exit(proto_send(sv[0], msg) == 0 ? 0 : 1);
    }
    close(sv[0]);
    got = proto_recv(sv[1]);
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "proto_send writes a 1 MiB message");
    ok(got != NULL && json_object_object_get_ex(got, "big", &v) &&
           json_object_get_string_len(v) == (int)n &&
           memcmp(json_object_get_string(v), s, n) == 0,
       "proto_recv reads it back whole");
    json_object_put(got);
    json_object_put(msg);
    close(sv[1]);
    free(s);
}

/* proto_take for a JSON frame: its return, and the message in *GOT. */
static int
take(struct evbuffer *in, struct json_object **got)
{
    struct proto_msg m;
    int rc = proto_take(in, &m);

    *got = rc == 1 ? m.json : NULL;
    if (rc == 1 && m.json == NULL)
        return 99; /* a step frame where JSON was expected */
    return rc;
}

static void
test_evbuffer(void)
{
    struct evbuffer *in = evbuffer_new(), *frame = evbuffer_new();
    struct json_object *msg = sample(), *got = NULL;
    unsigned char *bytes;
    size_t len;
    int rc = 0, early = 0;

    proto_add(frame, msg);
    len = evbuffer_get_length(frame);
    bytes = malloc(len);
    evbuffer_copyout(frame, bytes, len);
    {
        const char *json =
            json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
        uint32_t be;

        memcpy(&be, bytes, 4);
        is_int(ntohl(be), strlen(json), "proto_add writes a big-endian length");
        is_int(len, 4 + strlen(json), "then the JSON");
    }

    /* A byte at a time: nothing until the last byte. */
    for (size_t i = 0; i < len; i++) {
        evbuffer_add(in, bytes + i, 1);
        rc = take(in, &got);
        if (rc != 0 && i + 1 < len)
            early = 1;
    }
    ok(!early, "a partial frame gives 0 until it is complete");
    is_int(rc, 1, "the complete frame gives 1");
    ok(got != NULL && json_object_equal(got, msg), "and the message");
    json_object_put(got);
    is_int(evbuffer_get_length(in), 0, "the frame was consumed");

    /* Two frames back to back come out one by one. */
    {
        struct json_object *a = json_tokener_parse("{\"n\":1}");
        struct json_object *b = json_tokener_parse("{\"n\":2}");

        proto_add(in, a);
        proto_add(in, b);
        got = NULL;
        is_int(take(in, &got), 1, "first of two frames");
        ok(got != NULL && json_object_equal(got, a), "is the first");
        json_object_put(got);
        got = NULL;
        is_int(take(in, &got), 1, "second of two frames");
        ok(got != NULL && json_object_equal(got, b), "is the second");
        json_object_put(got);
        is_int(take(in, &got), 0, "then nothing");
        json_object_put(a);
        json_object_put(b);
    }

    /* Bad frames. */
    {
        uint32_t be = htonl(PROTO_MAX_FRAME + 1);

        evbuffer_add(in, &be, 3);
        is_int(take(in, &got), 0, "3 bytes of a header: need more");
        evbuffer_add(in, (char *)&be + 3, 1);
        is_int(take(in, &got), -1,
               "a length over PROTO_MAX_FRAME is malformed at once");
        evbuffer_drain(in, evbuffer_get_length(in));

        be = 0;
        evbuffer_add(in, &be, 4);
        is_int(take(in, &got), -1, "a zero length is malformed");
        evbuffer_drain(in, evbuffer_get_length(in));

        be = htonl(6);
        evbuffer_add(in, &be, 4);
        evbuffer_add(in, "{oops}", 6);
        proto_add(in, msg);
        is_int(take(in, &got), -1, "invalid JSON is malformed");
        got = NULL;
        is_int(take(in, &got), 1, "the bad frame was dropped whole");
        ok(got != NULL && json_object_equal(got, msg),
           "so the next frame reads fine");
        json_object_put(got);
    }

    free(bytes);
    evbuffer_free(frame);
    evbuffer_free(in);
    json_object_put(msg);
}

/* Step checkpoints: written by a worker with proto_send_step, read by
 * the master with proto_take, field for field. */
static void
test_step(void)
{
    struct store_step st = {
        .step_id = "send:2", .name = "send", .kind = "run",
        .status = "completed", .result = "{\"id\":\"msg_1\",\"n\":[1,2]}",
        .error = NULL, .attempt = 3, .started_at = 1764403200123LL,
        .ended_at = 1764403200456LL, .wake_at = 0};
    struct evbuffer *in = evbuffer_new();
    struct proto_msg m;
    unsigned char bytes[512];
    ssize_t n;
    int fds[2], rc = 0, early = 0;

    if (pipe(fds) != 0) {
        ok(0, "pipe: %s", strerror(errno));
        return;
    }
    is_int(proto_send_step(fds[1], &st), 0, "proto_send_step writes a step");
    n = read(fds[0], bytes, sizeof(bytes));
    ok(n > 5 && bytes[4] == PROTO_STEP_TAG, "as a frame tagged 'S'");
    /* A byte at a time, as a pipe may deliver it. */
    for (ssize_t i = 0; i < n; i++) {
        evbuffer_add(in, bytes + i, 1);
        rc = proto_take(in, &m);
        if (rc != 0 && i + 1 < n)
            early = 1;
    }
    ok(!early, "a partial step frame gives 0 until it is complete");
    is_int(rc, 1, "the complete frame gives 1");
    ok(m.json == NULL, "and no JSON: it is a step");
    is_str(m.step.step_id, "send:2", "step_id");
    is_str(m.step.name, "send", "name");
    is_str(m.step.kind, "run", "kind");
    is_str(m.step.status, "completed", "status");
    is_str(m.step.result, st.result, "result, byte for byte");
    ok(m.step.error == NULL, "no error stays NULL, not \"\"");
    is_int(m.step.attempt, 3, "attempt");
    ok(m.step.started_at == st.started_at && m.step.ended_at == st.ended_at,
       "started_at and ended_at, all 64 bits");
    is_int(m.step.wake_at, 0, "wake_at");
    is_int(evbuffer_get_length(in), 0, "the frame was consumed");

    /* A failed step: an error, no result, an empty name. */
    st.status = "failed";
    st.result = NULL;
    st.error = "smtp: 550 no such user";
    st.name = "";
    proto_add_step(in, &st);
    is_int(proto_take(in, &m), 1, "a failed step reads back");
    ok(m.step.result == NULL, "without a result");
    is_str(m.step.error, "smtp: 550 no such user", "with its error");
    is_str(m.step.name, "", "an empty string stays empty");

    /* Malformed: every way a length can lie. */
    {
        unsigned char good[256];
        size_t len;
        uint32_t be;

        proto_add_step(in, &st);
        len = evbuffer_get_length(in);
        evbuffer_remove(in, good, len);

        /* One byte cut from the body, the length told to match. */
        be = htonl((uint32_t)(len - 5));
        evbuffer_add(in, &be, 4);
        evbuffer_add(in, good + 4, len - 5);
        is_int(proto_take(in, &m), -1, "a string cut short is malformed");
        is_int(evbuffer_get_length(in), 0, "and dropped whole");

        /* One byte too many. */
        be = htonl((uint32_t)(len - 3));
        evbuffer_add(in, &be, 4);
        evbuffer_add(in, good + 4, len - 4);
        evbuffer_add(in, "x", 1);
        is_int(proto_take(in, &m), -1, "a byte after the last string is"
                                       " malformed");

        /* The error's NUL replaced: it would run on past its end. */
        good[len - 1] = 'x';
        evbuffer_add(in, good, len);
        is_int(proto_take(in, &m), -1, "a string without its NUL is"
                                       " malformed");
        good[len - 1] = '\0';

        /* A NUL inside the error (its first byte). */
        good[len - 1 - strlen(st.error)] = '\0';
        evbuffer_add(in, good, len);
        is_int(proto_take(in, &m), -1, "a NUL inside a string is malformed");

        /* Only the tag. */
        be = htonl(1);
        evbuffer_add(in, &be, 4);
        evbuffer_add(in, "S", 1);
        is_int(proto_take(in, &m), -1, "a bare tag is malformed");
    }

    close(fds[0]);
    close(fds[1]);
    evbuffer_free(in);
}

/* The step acknowledgement is compared as bytes, not parsed. */
static void
test_ack(void)
{
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
    }
    raw_frame(sv[0], sizeof(PROTO_ACK) - 1, PROTO_ACK, sizeof(PROTO_ACK) - 1);
    is_int(proto_recv_ack(sv[1]), 1, "proto_recv_ack takes an acknowledgement");
    raw_frame(sv[0], 11, "{\"t\":\"ack\"}", 11);
    is_int(proto_recv_ack(sv[1]), 1, "sent twice, both are read");
    raw_frame(sv[0], 11, "{\"t\":\"bad\"}", 11);
    errno = 0;
    is_int(proto_recv_ack(sv[1]), 0, "another message of the same length is not one");
    is_int(errno, EPROTO, "it sets EPROTO");
    raw_frame(sv[0], 2, "{}", 2);
    is_int(proto_recv_ack(sv[1]), 0, "nor is a message of another length");
    close(sv[0]);
    /* The {} above was left unread (its length was wrong): drain it. */
    is_int(proto_recv_ack(sv[1]) <= 0, 1, "the rest is refused or EOF");
    close(sv[1]);
}

int
main(void)
{
    test_socket();
    test_ack();
    test_big();
    test_evbuffer();
    test_step();
    return done_testing();
}
