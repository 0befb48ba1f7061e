/* fuzz_proto.c - libFuzzer target for worker frames (proto_take).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The master reads frames from workers that run plugin code, so a frame
 * may be anything. The input arrives in pieces (sizes picked from its
 * length) as from a socket; proto_take is called until it wants more or
 * refuses, as the master does. Every message taken must read back the
 * same after being framed again: a JSON object through proto_add, a step
 * checkpoint through proto_add_step (binary, decoded in place, so the
 * check also covers its bounds: ASan sees any read past the frame). */
#include <event2/buffer.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(struct json_object *msg)
{
    struct evbuffer *b = evbuffer_new();
    struct proto_msg m;
    const char *want;

    if (!json_object_is_type(msg, json_type_object)) {
        fprintf(stderr, "fuzz_proto: took a message that is not an object\n");
        abort();
    }
    want = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    proto_add(b, msg);
    if (proto_take(b, &m) != 1 || m.json == NULL ||
        evbuffer_get_length(b) != 0 ||
        strcmp(json_object_to_json_string_ext(m.json, JSON_C_TO_STRING_PLAIN),
               want) != 0) {
        fprintf(stderr, "fuzz_proto: %s does not read back after proto_add\n",
                want);
        abort();
    }
    json_object_put(m.json);
    evbuffer_free(b);
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

/* A step taken, framed again, must read back field for field. */
static void
check_step(const struct store_step *st)
{
    struct evbuffer *b = evbuffer_new();
    struct store_step want = *st;
    struct proto_msg m;
    char *s[6];

    /* proto_take reuses the buffer the strings point into. */
    want.step_id = s[0] = dup_or_null(st->step_id);
    want.name = s[1] = dup_or_null(st->name);
    want.kind = s[2] = dup_or_null(st->kind);
    want.status = s[3] = dup_or_null(st->status);
    want.result = s[4] = dup_or_null(st->result);
    want.error = s[5] = dup_or_null(st->error);
    proto_add_step(b, &want);
    if (proto_take(b, &m) != 1 || m.json != NULL ||
        evbuffer_get_length(b) != 0 || m.step.attempt != want.attempt ||
        m.step.started_at != want.started_at ||
        m.step.ended_at != want.ended_at || m.step.wake_at != want.wake_at ||
        !same(m.step.step_id, want.step_id) || !same(m.step.name, want.name) ||
        !same(m.step.kind, want.kind) || !same(m.step.status, want.status) ||
        !same(m.step.result, want.result) || !same(m.step.error, want.error)) {
        fprintf(stderr, "fuzz_proto: a step frame does not read back after"
                        " proto_add_step\n");
        abort();
    }
    for (int i = 0; i < 6; i++)
        free(s[i]);
    evbuffer_free(b);
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
            if (msg.json == NULL) {
                check_step(&msg.step);
                continue;
            }
            check_roundtrip(msg.json);
            json_object_put(msg.json);
        }
    }
    evbuffer_free(in);
    return 0;
}
