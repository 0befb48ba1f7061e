/* test_proto.c - unit tests for the messages between master and workers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every message goes through the encoder production uses (proto_put_*)
 * and the decoder of the side that reads it: proto_recv and
 * proto_read_* for a worker, proto_take for the master. */
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
#include "steprules.h"
#include "tap.h"

/* Writes a raw frame: a length header LEN and N bytes of BODY. */
static void
raw_frame(int fd, uint32_t len, const char *body, size_t n)
{
    uint32_t be = htonl(len);

    if (write(fd, &be, sizeof(be)) != sizeof(be) ||
        (n > 0 && write(fd, body, n) != (ssize_t)n))
        perror("write");
}

/* The master's messages, read back as a worker reads them. */
static void
test_worker_reads(void)
{
    struct proto_buf b = {0};
    struct json_object *config = json_tokener_parse("{\"p\":{\"k\":\"v\"}}");
    /* The stored steps go as their texts: a result as stored, a step id
     * and an error escaped as JSON strings. */
    struct step_memo_entry entries[] = {
        {"a", "[1,2.5,null,true]", NULL},
        {"b", NULL, "caf\u00e9 \"q\""},
        {"c\\\"\n\x01/\u00e9", "{\"k\":\"v\"}", NULL},
        {"d", NULL, NULL},
        {"e", "", NULL},
    };
    struct step_memo memo = {entries, 5};
    struct json_object *steps = json_tokener_parse(
        "{\"a\":{\"data\":[1,2.5,null,true]},"
        "\"b\":{\"error\":\"caf\\u00e9 \\\"q\\\"\"},"
        "\"c\\\\\\\"\\n\\u0001\\/\\u00e9\":{\"data\":{\"k\":\"v\"}},"
        "\"d\":{\"data\":null},\"e\":{\"data\":null}}");
    const char *paths[] = {"/s/gen/1/a.so", "/s/gen/1/b.so"};
    struct proto_hello h = {paths, 2, config, "debug", 1}, hr;
    struct proto_invoke inv = {
        .run_id = "01RUN", .function_id = "fn-a", .event_id = "01EV",
        .attempt = 3, .max_attempts = 5,
        .event_json = "{\"name\":\"a/b\",\"data\":{\"x\":1}}",
        .memo = &memo, .target = "b:1"};
    struct proto_invoke ir;

    inv.state_bytes = step_memo_bytes(&memo);
    struct json_object *got;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
    }
    proto_put_hello(&b, &h);
    proto_put_invoke(&b, &inv);
    is_int(proto_write(sv[0], &b), 0, "proto_write sends two frames");
    is_int(b.len, 0, "and empties the buffer");

    got = proto_recv(sv[1]);
    is_int(proto_type_of(got), PROTO_HELLO, "the first is a hello");
    is_int(proto_read_hello(got, &hr), 0, "which reads back");
    ok(hr.nplugins == 2 && strcmp(hr.plugins[0], paths[0]) == 0 &&
           strcmp(hr.plugins[1], paths[1]) == 0,
       "with its plugins in order");
    ok(json_object_equal(hr.config, config), "its config");
    is_str(hr.log_level, "debug", "and its log level");
    is_int(hr.log_json, 1, "and its log format");
    free(hr.plugins);
    json_object_put(got);

    got = proto_recv(sv[1]);
    is_int(proto_type_of(got), PROTO_INVOKE, "the second is an invoke");
    is_int(proto_read_invoke(got, &ir), 0, "which reads back");
    is_str(ir.run_id, "01RUN", "run_id");
    is_str(ir.function_id, "fn-a", "function_id");
    is_str(ir.event_id, "01EV", "event_id");
    is_str(ir.target, "b:1", "a branch's target step");
    ok(ir.attempt == 3 && ir.max_attempts == 5, "attempt and max_attempts");
    /* 17 + 9 + 9 + 4 + 4: texts as stored, "null" for none. */
    is_int((int)ir.state_bytes, 43, "what the stored steps hold, for the"
                                    " run's 32 MiB");
    is_str(json_object_to_json_string_ext(ir.event, JSON_C_TO_STRING_PLAIN |
                                                JSON_C_TO_STRING_NOSLASHESCAPE),
           inv.event_json, "the event, as an object, as it was stored");
    ok(steps != NULL && json_object_equal(ir.steps, steps),
       "the stored steps: results, errors, ids with quotes and control"
       " characters; none or an empty text as null");
    json_object_put(got);

    /* An event that is not an object goes as null: the worker refuses. */
    inv.event_json = "[1]";
    inv.memo = NULL;
    proto_put_invoke(&b, &inv);
    proto_write(sv[0], &b);
    got = proto_recv(sv[1]);
    is_int(proto_read_invoke(got, &ir), -1, "an invoke without an event is"
                                            " refused");
    json_object_put(got);
    inv.event_json = "{}";
    proto_put_invoke(&b, &inv);
    proto_write(sv[0], &b);
    got = proto_recv(sv[1]);
    is_int(proto_read_invoke(got, &ir), 0, "one without steps is fine");
    ok(ir.steps == NULL, "and has none");
    json_object_put(got);
    memo.n = 0;
    inv.memo = &memo;
    proto_put_invoke(&b, &inv);
    proto_write(sv[0], &b);
    got = proto_recv(sv[1]);
    ok(proto_read_invoke(got, &ir) == 0 && ir.steps != NULL &&
           json_object_object_length(ir.steps) == 0,
       "a resumed run with no stored steps has an empty object");
    ok(ir.events == NULL, "a run that is no batch's has no events");
    json_object_put(got);
    inv.events_json = "[{\"internal_id\":\"A\",\"event\":{\"n\":1}},"
                      "{\"internal_id\":\"B\",\"event\":{\"n\":2}}]";
    proto_put_invoke(&b, &inv);
    proto_write(sv[0], &b);
    got = proto_recv(sv[1]);
    ok(proto_read_invoke(got, &ir) == 0 && ir.events != NULL &&
           json_object_array_length(ir.events) == 2 &&
           strcmp(json_object_to_json_string_ext(
                      ir.events, JSON_C_TO_STRING_PLAIN),
                  inv.events_json) == 0,
       "a batch's events go as the text the store made");
    json_object_put(got);
    inv.events_json = "{}";
    proto_put_invoke(&b, &inv);
    proto_write(sv[0], &b);
    got = proto_recv(sv[1]);
    ok(proto_read_invoke(got, &ir) == 0 && ir.events == NULL,
       "events that are not an array do not go");
    json_object_put(got);
    inv.events_json = NULL;

    /* Messages of another kind, or missing what the worker needs. */
    got = json_tokener_parse("{\"t\":\"invoke\",\"run_id\":\"r\"}");
    is_int(proto_read_invoke(got, &ir), -1, "an invoke without a function"
                                            " is refused");
    is_int(proto_read_hello(got, &hr), -1, "an invoke is not a hello");
    json_object_put(got);
    got = json_tokener_parse("{\"t\":\"hello\",\"plugins\":[1],"
                             "\"config\":{}}");
    is_int(proto_read_hello(got, &hr), -1, "a plugin path that is not a"
                                           " string is refused");
    json_object_put(got);
    got = json_tokener_parse("{\"t\":\"nope\"}");
    is_int(proto_type_of(got), PROTO_UNKNOWN, "an unknown type is unknown");
    json_object_put(got);

    proto_buf_free(&b);
    json_object_put(config);
    json_object_put(steps);
    close(sv[0]);
    close(sv[1]);
}

/* proto_recv refuses frames that are not one JSON object. */
static void
test_recv_refuses(void)
{
    struct json_object *got;
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
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

    raw_frame(sv[0], 3, "{}x", 3);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "bytes after the object in a frame are refused");
    is_int(errno, EPROTO, "with EPROTO");

    /* The stream is still usable after a bad frame that was read whole. */
    raw_frame(sv[0], 7, "{\"n\":2}", 7);
    got = proto_recv(sv[1]);
    ok(got != NULL, "a good frame after bad ones is read");
    json_object_put(got);

    raw_frame(sv[0], PROTO_MAX_FRAME + 1, NULL, 0);
    errno = 0;
    got = proto_recv(sv[1]);
    ok(got == NULL, "a frame over PROTO_MAX_FRAME is refused");
    is_int(errno, EPROTO, "with EPROTO, without reading 64 MiB");
    close(sv[0]);
    close(sv[1]);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    raw_frame(sv[0], 7, "{\"n\":2}", 7);
    got = proto_recv(sv[1]);
    ok(got != NULL && json_object_get_int(json_object_object_get(got, "n")) ==
                          2,
       "a good frame reads fine");
    json_object_put(got);
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
}

/* An invoke bigger than a socket buffer, from a child. */
static void
test_big(void)
{
    size_t n = 1 << 20;
    char *ev = malloc(n + 32);
    struct proto_invoke inv = {.run_id = "r", .function_id = "f",
                               .event_id = "e", .event_json = ev}, ir;
    struct proto_buf b = {0};
    struct json_object *got, *v;
    int sv[2], status = -1;
    pid_t pid;

    strcpy(ev, "{\"big\":\"");
    memset(ev + 8, 'a', n);
    strcpy(ev + 8 + n, "\"}");
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        free(ev);
        return;
    }
    pid = fork();
    if (pid == 0) {
        close(sv[1]);
        proto_put_invoke(&b, &inv);
        _exit(proto_write(sv[0], &b) == 0 ? 0 : 1);
    }
    close(sv[0]);
    got = proto_recv(sv[1]);
    waitpid(pid, &status, 0);
    ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "proto_write sends a 1 MiB invoke");
    ok(got != NULL && proto_read_invoke(got, &ir) == 0 &&
           json_object_object_get_ex(ir.event, "big", &v) &&
           json_object_get_string_len(v) == (int)n,
       "proto_recv reads it back whole");
    json_object_put(got);
    close(sv[1]);
    free(ev);
}

/* The step acknowledgement is compared as bytes, not parsed. */
static void
test_ack(void)
{
    struct proto_buf b = {0};
    int sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        ok(0, "socketpair: %s", strerror(errno));
        return;
    }
    proto_put_ack(&b);
    proto_put_ack(&b);
    proto_write(sv[0], &b);
    is_int(proto_recv_ack(sv[1]), 1, "proto_recv_ack takes an acknowledgement");
    is_int(proto_recv_ack(sv[1]), 1, "sent twice, both are read");
    proto_put_ack_cancel(&b);
    proto_put_ack(&b);
    proto_write(sv[0], &b);
    is_int(proto_recv_ack(sv[1]), 2, "an ack that says cancel reads as 2");
    is_int(proto_recv_ack(sv[1]), 1, "and the plain one after it as 1");
    raw_frame(sv[0], 11, "{\"t\":\"bad\"}", 11);
    errno = 0;
    is_int(proto_recv_ack(sv[1]), 0, "another message of the same length is"
                                     " not one");
    is_int(errno, EPROTO, "it sets EPROTO");
    raw_frame(sv[0], 2, "{}", 2);
    is_int(proto_recv_ack(sv[1]), 0, "nor is a message of another length");
    close(sv[0]);
    /* The {} above was left unread (its length was wrong): drain it. */
    is_int(proto_recv_ack(sv[1]) <= 0, 1, "the rest is refused or EOF");
    close(sv[1]);
    proto_buf_free(&b);
}

/* Feeds B to IN a byte at a time, as a pipe may deliver it: proto_take's
 * last return, with *EARLY set if it took anything before the end. */
static int
trickle(struct proto_buf *b, struct evbuffer *in, struct proto_msg *m,
        int *early)
{
    int rc = 0;

    *early = 0;
    for (size_t i = 0; i < b->len; i++) {
        evbuffer_add(in, b->data + i, 1);
        rc = proto_take(in, m);
        if (rc != 0 && i + 1 < b->len)
            *early = 1;
    }
    b->len = 0;
    return rc;
}

static const struct step_record sample_step = {
    .step_id = "send:2", .name = "send", .kind = "run",
    .status = "completed", .result = "{\"id\":\"msg_1\",\"n\":[1,2]}",
    .error = NULL, .attempt = 3, .started_at = 1764403200123LL,
    .ended_at = 1764403200456LL, .wake_at = 0};

/* The worker's messages, read back as the master reads them. */
static void
test_master_reads(void)
{
    struct evbuffer *in = evbuffer_new();
    struct proto_buf b = {0};
    struct step_record st = sample_step;
    struct proto_done d;
    struct proto_msg m;
    int early;

    proto_put_ready(&b, 7);
    is_int(trickle(&b, in, &m, &early), 1, "a ready reads back");
    ok(!early, "only once it is whole");
    ok(m.type == PROTO_READY && m.plugins == 7, "with its plugin count");

    is_int(proto_put_step(&b, &st), 0, "proto_put_step writes a step");
    ok(b.len > 5 && b.data[4] == 'S', "as a frame tagged 'S'");
    is_int(trickle(&b, in, &m, &early), 1, "the complete frame gives 1");
    ok(!early, "a partial step frame gives 0 until it is complete");
    is_int(m.type, PROTO_STEP, "it is a step");
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

    /* A completed invocation. */
    memset(&d, 0, sizeof(d));
    d.ok = 1;
    d.attempt = 2;
    d.unit_started_at = -5;
    d.output = "{\"sent\":true}";
    is_int(proto_put_done(&b, &d), 0, "proto_put_done writes a done");
    is_int(trickle(&b, in, &m, &early), 1, "which reads back");
    ok(!early, "only once it is whole");
    ok(m.type == PROTO_DONE && m.done.ok && !m.done.no_retry &&
           m.done.suspend == PROTO_SUSPEND_NONE,
       "ok, without a suspension");
    ok(m.done.attempt == 2 && m.done.unit_started_at == -5,
       "attempt and unit_started_at");
    is_str(m.done.output, d.output, "its output");
    ok(m.done.error == NULL && m.done.step.step_id == NULL,
       "no error, no step");

    /* A retry: the step goes in the record a checkpoint has. */
    memset(&d, 0, sizeof(d));
    st.status = "failed";
    st.result = NULL;
    st.error = "smtp: 550 no such user";
    st.name = "";
    d.suspend = PROTO_SUSPEND_RETRY;
    d.no_retry = 1;
    d.retry_after_ms = 90000;
    d.error = "smtp: 550 no such user";
    d.step = st;
    proto_put_done(&b, &d);
    /* Two frames at once come out one by one. */
    proto_put_step(&b, &st);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), 1, "a done that suspends reads back");
    ok(!m.done.cancelled, "not cancelled");
    ok(m.type == PROTO_DONE && !m.done.ok && m.done.no_retry &&
           m.done.suspend == PROTO_SUSPEND_RETRY &&
           m.done.retry_after_ms == 90000,
       "as a retry, after 90 s");
    is_str(m.done.error, d.error, "with its error");
    is_str(m.done.step.step_id, "send:2", "and its step");
    is_str(m.done.step.name, "", "an empty string stays empty");
    is_str(m.done.step.error, st.error, "the step's error");
    ok(m.done.step.result == NULL && m.done.output == NULL,
       "no result, no output");
    is_int(proto_take(in, &m), 1, "then the step behind it");
    ok(m.type == PROTO_STEP && m.step.result == NULL &&
           strcmp(m.step.error, st.error) == 0,
       "a failed step, without a result");
    is_int(proto_take(in, &m), 0, "then nothing");

    /* A handler stopped at a cancel. */
    memset(&d, 0, sizeof(d));
    d.cancelled = 1;
    d.no_retry = 1;
    d.error = "cancelled at a step boundary";
    proto_put_done(&b, &d);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), 1, "a cancelled done reads back");
    ok(m.type == PROTO_DONE && m.done.cancelled && !m.done.ok &&
           m.done.suspend == PROTO_SUSPEND_NONE,
       "as cancelled, not ok, not suspended");

    proto_buf_free(&b);
    evbuffer_free(in);
}

/* What the master makes of the frame in B (freed). */
static int
take_frame(struct proto_buf *b)
{
    struct evbuffer *in = evbuffer_new();
    struct proto_msg m;
    int rc;

    evbuffer_add(in, b->data, b->len);
    rc = proto_take(in, &m);
    proto_buf_free(b);
    evbuffer_free(in);
    return rc;
}

/* Puts ST as a checkpoint (SUSPEND none) or in a done that suspends, and
 * says what the master makes of it. */
static int
take_record(const struct step_record *st, enum proto_suspend suspend)
{
    struct proto_buf b = {0};
    struct proto_done d;

    if (suspend == PROTO_SUSPEND_NONE) {
        proto_put_step(&b, st);
    } else {
        memset(&d, 0, sizeof(d));
        d.suspend = suspend;
        d.step = *st;
        proto_put_done(&b, &d);
    }
    return take_frame(&b);
}

/* A well-formed frame can still say what no worker of ours says; a step
 * stored as completed never runs again, so the master refuses it. */
static void
test_master_refuses_records(void)
{
    struct step_record st = sample_step, sl = sample_step;

    is_int(take_record(&st, PROTO_SUSPEND_NONE), 1,
           "a completed step is a checkpoint");
    st.status = "sleeping";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a checkpoint that says sleeping is refused");
    st.status = NULL;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "one without a status too");
    st = sample_step;
    st.kind = "dance";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1, "an unknown kind too");
    st = sample_step;
    st.step_id = NULL;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1, "a step without an id");
    st.step_id = "";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1, "or with an empty one");
    st = sample_step;
    st.ended_at = INT64_MAX;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a time past any real one");
    st.ended_at = -1;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1, "or before 1970");

    /* A fetch: the worker asks with its request; the host answers. */
    st = sample_step;
    st.kind = "fetch";
    st.status = "fetching";
    st.result = "{\"url\":\"http://x\"}";
    is_int(take_record(&st, PROTO_SUSPEND_FETCH), 1,
           "a fetch suspends with its request");
    st.result = NULL;
    is_int(take_record(&st, PROTO_SUSPEND_FETCH), -1, "but not without it");
    st.result = "{\"url\":\"http://x\"}";
    is_int(take_record(&st, PROTO_SUSPEND_SLEEP), -1,
           "nor in a done that says it sleeps");
    st.status = "completed";
    st.result = "{\"status\":200}";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a worker cannot store a fetch's response");
    st.status = "failed";
    st.result = NULL;
    st.error = "fetch \"x\": the request has no URL";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), 1,
           "it can fail a bad request for good");

    sl.kind = "sleep";
    sl.status = "sleeping";
    sl.result = NULL;
    sl.wake_at = sl.ended_at + 60000;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), 1,
           "a sleep suspends with its sleeping step");
    sl.status = NULL;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "a sleep whose step has no status is refused (it would be"
           " stored as completed)");
    sl.status = "completed";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "as is one whose step says completed");
    sl.status = "sleeping";
    sl.wake_at = 0;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "and one with no wake time");
    sl.wake_at = INT64_MAX;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "or a wake time no sum may take");
    st = sample_step;
    is_int(take_record(&st, PROTO_SUSPEND_RETRY), -1,
           "a retry whose step completed is refused");
    st.status = "failed";
    st.error = "boom";
    is_int(take_record(&st, PROTO_SUSPEND_RETRY), 1,
           "a retry carries the failed attempt");

    /* Sends and invokes: their events only where they belong. */
    st = sample_step;
    st.kind = "send";
    st.result = "{\"ids\":[\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]}";
    st.events = "[{\"name\":\"a\",\"data\":{},\"ts\":1}]";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), 1,
           "a completed send carries its events");
    st.events = NULL;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "one without its events is refused (it would send nothing)");
    st.events = "[{\"name\":\"a\"},";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "as is one whose events are not JSON");
    st = sample_step;
    st.events = "[]";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a step of kind run with events is refused");
    sl = sample_step;
    sl.kind = "invoke";
    sl.status = "invoking";
    sl.result = "{\"function_id\":\"f\",\"timeout\":\"1h\"}";
    sl.events = "[{\"name\":\"inngest/function.invoked\",\"data\":{}}]";
    sl.target = "f";
    sl.wake_at = sl.ended_at + 60000;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), 1,
           "an invoke suspends with its function and event");
    is_int(take_record(&sl, PROTO_SUSPEND_NONE), -1,
           "but is no checkpoint");
    sl.target = NULL;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "an invoke without its function is refused");
    sl.target = "";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1, "or an empty one");
    sl.target = "f";
    sl.events = NULL;
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "or one without its event");
    /* What a worker that is not ours could send: the master must not
     * take it, let alone crash on it. */
    sl.events = "null";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "an invoke whose event is null");
    sl.events = "{}";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "or an object, not a list of one");
    sl.events = "[{},{}]";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1, "or two events");
    sl.events = "[1]";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "or one that is no object");
    sl.events = "[{}]";
    sl.result = "{\"function_id\":\"g\",\"timeout\":\"1h\"}";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "an invoke whose result names another function");
    sl.result = "{\"function_id\":\"f\"}";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "or has no timeout (the store words a timeout with it)");
    sl.result = "{\"function_id\":\"f\",\"timeout\":\"1h\"}";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), 1, "the right shape passes");
    sl = sample_step;
    sl.kind = "sleep";
    sl.status = "sleeping";
    sl.result = NULL;
    sl.wake_at = sl.ended_at + 60000;
    sl.target = "f";
    is_int(take_record(&sl, PROTO_SUSPEND_SLEEP), -1,
           "a sleep that names a function to invoke is refused");
    st = sample_step;
    st.target = "f";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "as is a checkpoint that does");
}

/* A wait travels after its record in a done, and the master takes it
 * only when it says what it waits for, in a form the store can index. */
static void
test_wait_records(void)
{
    struct step_record w = sample_step;
    struct proto_buf b = {0};
    struct proto_done d;
    struct evbuffer *in = evbuffer_new();
    struct proto_msg m;

    w.kind = "wait";
    w.status = "waiting";
    w.result = NULL;
    w.wake_at = w.ended_at + 60000;
    w.wait_event = "app/user.login";
    w.wait_match = "data.user_id";
    w.wait_value = "\"u1\"";
    w.wait_if = "async.data.n > 1";
    w.lookback_ms = 600000;
    memset(&d, 0, sizeof(d));
    d.suspend = PROTO_SUSPEND_WAIT;
    d.step = w;
    proto_put_done(&b, &d);
    evbuffer_add(in, b.data, b.len);
    proto_buf_free(&b);
    is_int(proto_take(in, &m), 1, "a done that waits is taken");
    is_int(m.done.suspend, PROTO_SUSPEND_WAIT, "it waits");
    is_str(m.done.step.wait_event, "app/user.login", "for its event");
    is_str(m.done.step.wait_match, "data.user_id", "by its path");
    is_str(m.done.step.wait_value, "\"u1\"", "and value");
    is_str(m.done.step.wait_if, "async.data.n > 1", "with its if");
    is_int(m.done.step.lookback_ms, 600000, "and look-back");
    is_int(m.done.step.wake_at, w.wake_at, "until its timeout");
    evbuffer_free(in);

    w.wait_event = NULL;
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1, "a wait for no event is refused");
    w.wait_event = "app/x";
    w.wait_match = "data..id";
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1, "as is a bad path");
    w.wait_match = "data.id";
    w.wait_value = "{not json";
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1, "or a value that is not JSON");
    w.wait_value = NULL;
    w.lookback_ms = -1;
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1, "or a negative look-back");
    w.lookback_ms = 0;
    w.wake_at = 0;
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1, "or no timeout");
    w.wake_at = w.ended_at + 1;
    w.status = "completed";
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), -1,
           "a wait whose step says completed is refused");
    w.status = "waiting";
    is_int(take_record(&w, PROTO_SUSPEND_NONE), -1,
           "and a waiting step is no checkpoint");
    is_int(take_record(&w, PROTO_SUSPEND_WAIT), 1, "the fixed wait is taken");
}

/* A parallel group begins in a done with its plan, which the store
 * makes runs of; a branch ends in one with its step. Nothing else may
 * say "parallel": only the store ends a group. */
static void
test_parallel_records(void)
{
    struct step_record g = sample_step, br = sample_step;

    g.kind = "parallel";
    g.status = "parallel";
    g.result = "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\","
               "\"name\":\"a\"},{\"id\":\"a:1\",\"name\":\"a\"}]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), 1,
           "a group begins with its plan");
    is_int(take_record(&g, PROTO_SUSPEND_NONE), -1,
           "a group is no checkpoint");
    g.status = "completed";
    is_int(take_record(&g, PROTO_SUSPEND_NONE), -1,
           "nor may a worker say it completed");
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1,
           "a group must say it waits");
    g.status = "parallel";
    g.result = "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\","
               "\"name\":\"a\"},{\"id\":\"a\",\"name\":\"a\"}]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1,
           "two branches of one step are refused");
    g.result = "{\"mode\":\"all\",\"branches\":[{\"id\":\"a\","
               "\"name\":\"a\"},{\"id\":\"send:2\",\"name\":\"send\"}]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1,
           "as is a branch that is the group's own step");
    g.result = "{\"mode\":\"all\",\"branches\":[]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1, "as is no branch");
    g.result = "{\"mode\":\"some\",\"branches\":[{\"id\":\"a\","
               "\"name\":\"a\"}]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1, "or a mode unknown");
    g.result = "{\"mode\":\"race\",\"branches\":[{\"id\":\"a\"}]}";
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1,
           "or a branch without a name");
    g.result = NULL;
    is_int(take_record(&g, PROTO_SUSPEND_PARALLEL), -1, "or no plan");

    is_int(take_record(&br, PROTO_SUSPEND_BRANCH), 1,
           "a branch ends with its completed step");
    br.status = "failed";
    is_int(take_record(&br, PROTO_SUSPEND_BRANCH), 1, "or failed one");
    br.status = "sleeping";
    is_int(take_record(&br, PROTO_SUSPEND_BRANCH), -1,
           "but not a step that waits");
    br.status = "completed";
    br.kind = "send";
    is_int(take_record(&br, PROTO_SUSPEND_BRANCH), -1,
           "and only a step's body is a branch");
}

/* Puts a done with OUTPUT and ERROR, and says what the master makes of
 * it. */
static int
take_done(const char *output, const char *error)
{
    struct proto_buf b = {0};
    struct proto_done d;

    memset(&d, 0, sizeof(d));
    d.ok = 1;
    d.output = output;
    d.error = error;
    proto_put_done(&b, &d);
    return take_frame(&b);
}

/* The API prints what the store holds: a worker that does not check its
 * results (a plugin writing to the pipe) cannot store what is not JSON,
 * not UTF-8, or bigger than any step may return. */
static void
test_master_refuses_text(void)
{
    static const char *bad_json[] = {
        "NaN", "{\"n\":Infinity}", "[-Infinity]", "1.", "01",
        "\"\\ud800\"", "\"a\tb\"", "\"\xff\"",
        "12345678901234567890123456789", "{\"a\":1", "[1] 2",
    };
    struct step_record st = sample_step;
    char *big = malloc(STEPRULES_MAX_OUTPUT + 2);

    for (size_t i = 0; i < sizeof(bad_json) / sizeof(*bad_json); i++) {
        st.result = bad_json[i];
        is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
               "a step result that is not strict JSON is refused");
        is_int(take_done(bad_json[i], NULL), -1,
               "so is such an output");
    }
    st.result = "{\"s\":\"\\ud83d\\ude00 caf\xc3\xa9\",\"n\":-0.5e-3}";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), 1,
           "one that is, with a surrogate pair and UTF-8, is taken");
    st = sample_step;
    st.name = "st\xffp";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a step name that is not UTF-8 is refused");
    st = sample_step;
    st.status = "failed";
    st.result = NULL;
    st.error = "bad \xc0\xaf";
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "an error that is not UTF-8 is refused");
    is_int(take_done(NULL, "bad \xc0\xaf"), -1, "in a done too");

    memset(big, ' ', STEPRULES_MAX_OUTPUT + 1);
    big[0] = '1';
    big[STEPRULES_MAX_OUTPUT + 1] = '\0';
    st = sample_step;
    st.result = big;
    is_int(take_record(&st, PROTO_SUSPEND_NONE), -1,
           "a step result over STEPRULES_MAX_OUTPUT is refused");
    is_int(take_done(big, NULL), -1, "so is such an output");
    big[STEPRULES_MAX_OUTPUT] = '\0';
    is_int(take_done(big, NULL), 1, "one of STEPRULES_MAX_OUTPUT is taken");
    free(big);
}

/* Whatever a worker writes, the master takes whole messages or refuses. */
static void
test_master_refuses(void)
{
    struct evbuffer *in = evbuffer_new();
    struct proto_buf b = {0};
    struct step_record st = sample_step;
    struct proto_done d;
    struct proto_msg m;
    unsigned char good[256];
    size_t len;
    uint32_t be;

    be = htonl(PROTO_MAX_FRAME + 1);
    evbuffer_add(in, &be, 3);
    is_int(proto_take(in, &m), 0, "3 bytes of a header: need more");
    evbuffer_add(in, (char *)&be + 3, 1);
    is_int(proto_take(in, &m), -1,
           "a length over PROTO_MAX_FRAME is malformed at once");
    evbuffer_drain(in, evbuffer_get_length(in));

    be = 0;
    evbuffer_add(in, &be, 4);
    is_int(proto_take(in, &m), -1, "a zero length is malformed");
    evbuffer_drain(in, evbuffer_get_length(in));

    /* A worker speaks no JSON. */
    be = htonl(13);
    evbuffer_add(in, &be, 4);
    evbuffer_add(in, "{\"t\":\"ready\"}", 13);
    proto_put_ready(&b, 1);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), -1, "a JSON message from a worker is"
                                   " malformed");
    is_int(proto_take(in, &m), 1, "the bad frame was dropped whole");
    is_int(m.type, PROTO_READY, "so the next frame reads fine");

    st.error = "smtp: 550 no such user";
    proto_put_step(&b, &st);
    len = b.len;
    memcpy(good, b.data, len);
    b.len = 0;

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
    is_int(proto_take(in, &m), -1, "a string without its NUL is malformed");
    good[len - 1] = '\0';

    /* A NUL inside the error (its first byte). */
    good[len - 1 - strlen(st.error)] = '\0';
    evbuffer_add(in, good, len);
    is_int(proto_take(in, &m), -1, "a NUL inside a string is malformed");

    be = htonl(1);
    evbuffer_add(in, &be, 4);
    evbuffer_add(in, "S", 1);
    is_int(proto_take(in, &m), -1, "a bare tag is malformed");
    evbuffer_add(in, &be, 4);
    evbuffer_add(in, "X", 1);
    is_int(proto_take(in, &m), -1, "an unknown tag is malformed");

    /* A done whose suspension is out of range, or lacks its step. */
    memset(&d, 0, sizeof(d));
    d.suspend = PROTO_SUSPEND_SLEEP;
    d.step = sample_step;
    proto_put_done(&b, &d);
    b.data[6] = 9;
    evbuffer_add(in, b.data, b.len);
    is_int(proto_take(in, &m), -1, "a done with an unknown suspension is"
                                   " malformed");
    b.data[6] = PROTO_SUSPEND_NONE;
    evbuffer_add(in, b.data, b.len);
    is_int(proto_take(in, &m), -1, "one with a step it does not announce"
                                   " is malformed");
    b.len = 0;
    d.suspend = PROTO_SUSPEND_NONE;
    proto_put_done(&b, &d);
    b.data[6] = PROTO_SUSPEND_SLEEP;
    evbuffer_add(in, b.data, b.len);
    is_int(proto_take(in, &m), -1, "one that suspends without its step is"
                                   " malformed");
    b.len = 0;
    proto_put_done(&b, &d);
    b.data[5] = 0x80;
    evbuffer_add(in, b.data, b.len);
    is_int(proto_take(in, &m), -1, "one with unknown flags is malformed");
    b.len = 0;

    /* Over the limit, the worker's encoders write nothing. */
    {
        size_t n = PROTO_MAX_FRAME;
        char *big = malloc(n + 1);

        memset(big, 'x', n);
        big[n] = '\0';
        st = sample_step;
        st.result = big;
        errno = 0;
        is_int(proto_put_step(&b, &st), -1, "a step over PROTO_MAX_FRAME is"
                                            " refused");
        is_int(errno, EMSGSIZE, "with EMSGSIZE");
        d.output = big;
        is_int(proto_put_done(&b, &d), -1, "so is such a done");
        is_int(b.len, 0, "and neither is written");
        free(big);
    }

    proto_buf_free(&b);
    evbuffer_free(in);
}

/* A refused message leaves nothing behind for the next: json-c's reset
 * tokener kept a bad \u escape's high surrogate, and the next message's
 * \u escape gained a U+FFFD. */
static void
test_after_refusal(void)
{
    static const char bad[] = "{\"me\":\"y\\ud83d\\udeude00\"}";
    static const char good[] = "{\"s\":\"x\\ud799y\"}";
    struct json_object *o, *v = NULL;

    ok(proto_parse(bad, sizeof(bad) - 1) == NULL, "a broken pair is refused");
    o = proto_parse(good, sizeof(good) - 1);
    json_object_object_get_ex(o, "s", &v);
    is_str(json_object_get_string(v), "x\xed\x9e\x99y",
           "the next message's \\u escape is read as sent");
    json_object_put(o);
}

/* A message with an escaped pair json-c 0.16 misreads (U+1DA00) reads as
 * sent. */
static void
test_misread_pair(void)
{
    static const char msg[] = "{\"s\":\"\\ud836\\ude00\"}";
    struct json_object *o = proto_parse(msg, sizeof(msg) - 1), *v = NULL;

    json_object_object_get_ex(o, "s", &v);
    is_str(json_object_get_string(v), "\xf0\x9d\xa8\x80",
           "a worker's \\ud836\\ude00 is U+1DA00");
    json_object_put(o);
}

/* A run's log line: it reads back whole; text that is not UTF-8, too
 * long, or a level out of range is refused. */
static void
test_log(void)
{
    struct evbuffer *in = evbuffer_new();
    struct proto_buf b = {0};
    struct proto_msg m;
    struct proto_log l = {2, 1764403200123LL, "caf\xc3\xa9 ok"};
    char big[PROTO_LOG_MAX + 2];

    is_int(proto_put_log(&b, &l), 0, "a log line is written");
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), 1, "and taken");
    ok(m.type == PROTO_LOG && m.log.level == 2 &&
           m.log.at == 1764403200123LL &&
           strcmp(m.log.text, "caf\xc3\xa9 ok") == 0,
       "with its level, time and text");
    l.text = "bad \xff";
    proto_put_log(&b, &l);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), -1, "text that is not UTF-8 is refused");
    ok(m.why != NULL, "saying why");
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    l.text = big;
    proto_put_log(&b, &l);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), -1, "a line over PROTO_LOG_MAX is refused");
    l.text = "x";
    l.level = 9;
    proto_put_log(&b, &l);
    evbuffer_add(in, b.data, b.len);
    b.len = 0;
    is_int(proto_take(in, &m), -1, "so is a level out of range");
    proto_buf_free(&b);
    evbuffer_free(in);
}

int
main(void)
{
    test_log();
    test_after_refusal();
    test_misread_pair();
    test_worker_reads();
    test_recv_refuses();
    test_ack();
    test_big();
    test_master_reads();
    test_master_refuses();
    test_master_refuses_records();
    test_wait_records();
    test_parallel_records();
    test_master_refuses_text();
    return done_testing();
}
