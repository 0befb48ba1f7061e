/* fuzz_proto.c - libFuzzer target for worker frames (proto_take).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The master reads frames from workers that run plugin code, so a frame
 * may be anything. The input arrives in pieces (sizes picked from its
 * length) as from a pipe; proto_take is called until it wants more or
 * refuses, as the master does. Every message taken must read back the
 * same after being written again by the encoder a worker uses
 * (proto_put_ready, proto_put_step, proto_put_done, proto_put_log): the
 * frames are decoded in place, so the check also covers their bounds
 * (ASan sees any read past a frame). An input that is one JSON object also goes through
 * the worker's decoders of the master's messages, and what they read
 * must be written back the same by the master's encoders. */
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_proto: %s\n", what);
    abort();
}

static char *
dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static int
same(const char *a, const char *b)
{
    return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* A copy of ST whose strings are its own (S holds them), for proto_take
 * reuses the buffer the taken ones point into. */
static struct step_record
record_copy(const struct step_record *st, char *s[6])
{
    struct step_record c = *st;

    c.step_id = s[0] = dup_or_null(st->step_id);
    c.name = s[1] = dup_or_null(st->name);
    c.kind = s[2] = dup_or_null(st->kind);
    c.status = s[3] = dup_or_null(st->status);
    c.result = s[4] = dup_or_null(st->result);
    c.error = s[5] = dup_or_null(st->error);
    return c;
}

/* Whether A and B print the same: json_object_equal() would call a NaN,
 * which json-c reads, unequal to itself. */
static int
json_same(struct json_object *a, struct json_object *b)
{
    char *t = dup_or_null(json_object_to_json_string_ext(
        a, JSON_C_TO_STRING_PLAIN));
    int eq = same(t, json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));

    free(t);
    return eq;
}

static int
record_same(const struct step_record *a, const struct step_record *b)
{
    return a->attempt == b->attempt && a->started_at == b->started_at &&
           a->ended_at == b->ended_at && a->wake_at == b->wake_at &&
           same(a->step_id, b->step_id) && same(a->name, b->name) &&
           same(a->kind, b->kind) && same(a->status, b->status) &&
           same(a->result, b->result) && same(a->error, b->error);
}

/* Writes MSG again with the worker's encoder and takes it back. */
static void
check_roundtrip(const struct proto_msg *msg)
{
    struct evbuffer *b = evbuffer_new();
    struct proto_buf out = {0};
    struct proto_msg want = *msg, m;
    char *s[6] = {0}, *out_s = NULL, *err_s = NULL;
    int same_msg;

    switch (msg->type) {
    case PROTO_READY:
        proto_put_ready(&out, msg->plugins);
        break;
    case PROTO_STEP:
        want.step = record_copy(&msg->step, s);
        if (proto_put_step(&out, &want.step) != 0)
            fail("a step taken cannot be written again");
        break;
    case PROTO_LOG:
        want.log.text = out_s = dup_or_null(msg->log.text);
        if (proto_put_log(&out, &want.log) != 0)
            fail("a log line taken cannot be written again");
        break;
    case PROTO_DONE:
        want.done.output = out_s = dup_or_null(msg->done.output);
        want.done.error = err_s = dup_or_null(msg->done.error);
        want.done.step = record_copy(&msg->done.step, s);
        if (proto_put_done(&out, &want.done) != 0)
            fail("a done taken cannot be written again");
        break;
    default:
        fail("took a message of no type a worker sends");
    }
    evbuffer_add(b, out.data, out.len);
    if (proto_take(b, &m) != 1 || evbuffer_get_length(b) != 0 ||
        m.type != want.type)
        fail("a message does not read back after it was written again");
    switch (m.type) {
    case PROTO_READY:
        same_msg = m.plugins == want.plugins;
        break;
    case PROTO_STEP:
        same_msg = record_same(&m.step, &want.step);
        break;
    case PROTO_LOG:
        same_msg = m.log.level == want.log.level &&
                   m.log.at == want.log.at &&
                   same(m.log.text, want.log.text);
        break;
    default:
        same_msg = m.done.ok == want.done.ok &&
                   m.done.no_retry == want.done.no_retry &&
                   m.done.suspend == want.done.suspend &&
                   m.done.attempt == want.done.attempt &&
                   m.done.unit_started_at == want.done.unit_started_at &&
                   m.done.retry_after_ms == want.done.retry_after_ms &&
                   same(m.done.output, want.done.output) &&
                   same(m.done.error, want.done.error) &&
                   record_same(&m.done.step, &want.done.step);
    }
    if (!same_msg)
        fail("a message does not read back field for field");
    for (int i = 0; i < 6; i++)
        free(s[i]);
    free(out_s);
    free(err_s);
    proto_buf_free(&out);
    evbuffer_free(b);
}

/* The stored steps of STEPS (an invoke's, as a worker read them) that are
 * in the shape the master writes, {"id": {"data": v} | {"error": "s"}},
 * into *MEMO (free its v) with their texts printed from the objects; the
 * object they must read back as is *WANT (new). */
static void
memo_from(struct json_object *steps, struct step_memo *memo,
          struct json_object **want)
{
    size_t n = 0;

    *want = json_object_new_object();
    memo->v = calloc((size_t)json_object_object_length(steps) + 1,
                     sizeof(*memo->v));
    json_object_object_foreach(steps, id, e) {
        struct json_object *v, *w = json_object_new_object();

        if (!json_object_is_type(e, json_type_object) ||
            json_object_object_length(e) != 1) {
            json_object_put(w);
            continue;
        }
        if (json_object_object_get_ex(e, "error", &v) &&
            json_object_is_type(v, json_type_string)) {
            memo->v[n].error = json_object_get_string(v);
            json_object_object_add(w, "error",
                                   json_object_new_string(
                                       memo->v[n].error));
        } else if (json_object_object_get_ex(e, "data", &v)) {
            memo->v[n].result =
                v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
                  : NULL;
            json_object_object_add(w, "data", json_object_get(v));
        } else {
            json_object_put(w);
            continue;
        }
        memo->v[n++].step_id = id;
        json_object_object_add(*want, id, w);
    }
    memo->n = n;
}

/* The worker's side: what proto_read_* take from a JSON object must be
 * what the master's encoders write back. */
static void
check_master_msg(const uint8_t *data, size_t size)
{
    struct json_object *o = proto_parse((const char *)data, size), *back;
    struct proto_buf out = {0};
    struct proto_hello h, h2;
    struct proto_invoke inv, inv2;

    if (o == NULL)
        return;
    if (proto_read_hello(o, &h) == 0) {
        proto_put_hello(&out, &h);
        back = proto_parse((const char *)out.data + 4, out.len - 4);
        if (back == NULL || proto_read_hello(back, &h2) != 0 ||
            h2.nplugins != h.nplugins ||
            !json_same(h2.config, h.config) ||
            !same(h2.log_level, h.log_level))
            fail("a hello does not read back");
        for (size_t i = 0; i < h.nplugins; i++)
            if (strcmp(h.plugins[i], h2.plugins[i]) != 0)
                fail("a hello's plugins do not read back");
        free(h.plugins);
        free(h2.plugins);
        json_object_put(back);
        out.len = 0;
    }
    if (proto_read_invoke(o, &inv) == 0) {
        struct step_memo memo = {NULL, 0};
        struct json_object *want = NULL, *want_event;

        /* The master sends the event as the text it stored; the worker
         * must read what that text says. json-c does not print every
         * number it reads back as itself ("04e", a 100-digit integer), so
         * the text, not the first object, is what to compare with. */
        inv.event_json =
            json_object_to_json_string_ext(inv.event, JSON_C_TO_STRING_PLAIN);
        want_event = proto_parse(inv.event_json, strlen(inv.event_json));
        if (inv.steps != NULL) {
            memo_from(inv.steps, &memo, &want);
            inv.memo = &memo;
        }
        proto_put_invoke(&out, &inv);
        back = proto_parse((const char *)out.data + 4, out.len - 4);
        if (back == NULL || proto_read_invoke(back, &inv2) != 0 ||
            !same(inv2.run_id, inv.run_id) ||
            !same(inv2.function_id, inv.function_id) ||
            !same(inv2.event_id, inv.event_id) ||
            inv2.attempt != inv.attempt ||
            inv2.max_attempts != inv.max_attempts ||
            !json_same(inv2.event, want_event) ||
            !json_same(inv2.steps, want))
            fail("an invoke does not read back");
        json_object_put(back);
        json_object_put(want);
        json_object_put(want_event);
        free(memo.v);
    }
    proto_buf_free(&out);
    json_object_put(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct evbuffer *in = evbuffer_new();
    size_t off = 0, piece = 1 + size % 17;
    int rc = 0;

    while (off < size && rc >= 0) {
        size_t n = size - off < piece ? size - off : piece;

        evbuffer_add(in, data + off, n);
        off += n;
        piece = piece * 3 % 61 + 1;
        for (;;) {
            struct proto_msg msg;

            rc = proto_take(in, &msg);
            if (rc != 1)
                break;
            check_roundtrip(&msg);
        }
    }
    evbuffer_free(in);
    if (size > 0 && data[0] == '{')
        check_master_msg(data, size);
    return 0;
}
