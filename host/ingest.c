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

struct json_object *
ingest_parse_json(const char *body, size_t len, char *err, size_t errlen)
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
