/* fuzz_proto.c - libFuzzer target for worker frames (proto_take).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The master reads frames from workers that run plugin code, so a frame
 * may be anything. The input arrives in pieces (sizes picked from its
 * length) as from a socket; proto_take is called until it wants more or
 * refuses, as the master does. Every message taken must be a JSON object
 * that proto_add frames so that proto_take reads it back. */
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
    struct json_object *back = NULL;
    const char *want;

    if (!json_object_is_type(msg, json_type_object)) {
        fprintf(stderr, "fuzz_proto: took a message that is not an object\n");
        abort();
    }
    want = json_object_to_json_string_ext(msg, JSON_C_TO_STRING_PLAIN);
    proto_add(b, msg);
    if (proto_take(b, &back) != 1 || evbuffer_get_length(b) != 0 ||
        strcmp(json_object_to_json_string_ext(back, JSON_C_TO_STRING_PLAIN),
               want) != 0) {
        fprintf(stderr, "fuzz_proto: %s does not read back after proto_add\n",
                want);
        abort();
    }
    json_object_put(back);
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
            struct json_object *msg = NULL;

            rc = proto_take(in, &msg);
            if (rc != 1)
                break;
            check_roundtrip(msg);
            json_object_put(msg);
        }
    }
    evbuffer_free(in);
    return 0;
}
