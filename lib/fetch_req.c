/* fetch_req.c - the request of a fetch step: made in a worker, checked
 * again by the master.
 * SPDX-License-Identifier: Apache-2.0 */
#include "fetch_req.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "ctx.h"
#include "duration.h"
#include "json_check.h"
#include "steprules.h"

/* A header name's characters: RFC 9110's token. */
static int
is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
                                                          c) != NULL);
}

/* Why header line H is not "Name: value" (static), or NULL. A CR or LF
 * would let a value smuggle in another header. */
static const char *
header_why(const char *h)
{
    size_t n = strlen(h), i = 0;

    if (n > FETCH_REQ_MAX_HEADER)
        return "is longer than 8 KiB";
    while (i < n && is_tchar((unsigned char)h[i]))
        i++;
    if (i == 0 || h[i] != ':')
        return "is not \"Name: value\"";
    for (; i < n; i++)
        if (h[i] == '\r' || h[i] == '\n')
            return "holds a line break";
    if (!json_check_utf8(h, n))
        return "is not UTF-8";
    return NULL;
}

/* Why URL is not one the host fetches (static), or NULL. */
static const char *
url_why(const char *url)
{
    size_t n;

    if (url == NULL || *url == '\0')
        return "the request has no URL";
    n = strlen(url);
    if (n > FETCH_REQ_MAX_URL)
        return "the URL is longer than 8 KiB";
    if (strncasecmp(url, "http://", 7) != 0 &&
        strncasecmp(url, "https://", 8) != 0)
        return "the URL is not http:// or https://";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= ' ' || url[i] == 0x7f)
            return "the URL holds a space or a control character";
    if (!json_check_utf8(url, n))
        return "the URL is not UTF-8";
    return NULL;
}

static const char *
method_why(const char *m)
{
    size_t n = strlen(m);

    if (n == 0 || n > FETCH_REQ_MAX_METHOD)
        return "the method is empty or longer than 16 characters";
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return "the method is not an upper-case word (\"GET\")";
    return NULL;
}

char *
fetch_req_read(struct json_object *j, struct fetch_req *r)
{
    struct json_object *v;
    const char *why;
    size_t n;

    memset(r, 0, sizeof(*r));
    if (!json_object_is_type(j, json_type_object))
        return ctx_format("the request is not an object");
    if (json_object_object_get_ex(j, "method", &v) &&
        json_object_is_type(v, json_type_string))
        r->method = json_object_get_string(v);
    if (json_object_object_get_ex(j, "url", &v) &&
        json_object_is_type(v, json_type_string))
        r->url = json_object_get_string(v);
    if (r->method == NULL)
        return ctx_format("the request has no method");
    if ((why = method_why(r->method)) != NULL ||
        (why = url_why(r->url)) != NULL)
        return ctx_format("%s", why);
    if (!json_object_object_get_ex(j, "headers", &r->headers) ||
        !json_object_is_type(r->headers, json_type_array))
        return ctx_format("the request's headers are not a list");
    n = json_object_array_length(r->headers);
    if (n > FETCH_REQ_MAX_HEADERS)
        return ctx_format("the request has %zu headers, more than %d", n,
                          FETCH_REQ_MAX_HEADERS);
    for (size_t i = 0; i < n; i++) {
        v = json_object_array_get_idx(r->headers, i);
        if (!json_object_is_type(v, json_type_string))
            return ctx_format("header %zu is not a string", i + 1);
        if ((why = header_why(json_object_get_string(v))) != NULL)
            return ctx_format("header %zu %s", i + 1, why);
    }
    if (json_object_object_get_ex(j, "body", &v)) {
        if (!json_object_is_type(v, json_type_string))
            return ctx_format("the request's body is not a string");
        r->body = json_object_get_string(v);
        r->body_len = (size_t)json_object_get_string_len(v);
        if (memchr(r->body, '\0', r->body_len) != NULL ||
            !json_check_utf8(r->body, r->body_len))
            return ctx_format("the request's body is not UTF-8 text");
    }
    if (!json_object_object_get_ex(j, "timeout_ms", &v) ||
        !json_object_is_type(v, json_type_int) ||
        (r->timeout_ms = json_object_get_int64(v)) < 1 ||
        r->timeout_ms > FETCH_REQ_MAX_TIMEOUT_MS)
        return ctx_format("the request's timeout is not 1 ms to 1 day");
    if (!json_object_object_get_ex(j, "max_bytes", &v) ||
        !json_object_is_type(v, json_type_int) ||
        (r->max_bytes = json_object_get_int64(v)) < 1 ||
        r->max_bytes > STEPRULES_MAX_OUTPUT)
        return ctx_format("the request's max_bytes is not 1 to %d",
                          STEPRULES_MAX_OUTPUT);
    return NULL;
}

/* Steals V into O under KEY; aborts out of memory. */
static void
add(struct json_object *o, const char *key, struct json_object *v)
{
    if (v == NULL || json_object_object_add(o, key, v) != 0)
        ctx_abort_oom();
}

char *
fetch_req_build(const struct fh_fetch *in, int64_t max_bytes,
                struct json_object **out)
{
    struct fh_fetch req;
    struct json_object *o, *headers;
    struct fetch_req r;
    int64_t timeout = FETCH_REQ_TIMEOUT_MS;
    char err[256], *why;

    *out = NULL;
    if (in == NULL)
        return ctx_format("no request");
    if (in->size < sizeof(req))
        return ctx_format("the request's size is not set: write it with"
                          " FH_FETCH_REQ()");
    for (size_t i = sizeof(req); i < in->size; i++)
        if (((const unsigned char *)in)[i] != 0)
            return ctx_format("the request sets a field this host does not"
                              " know: upgrade fnhost");
    memcpy(&req, in, sizeof(req));
    if (max_bytes < 1)
        return ctx_format("the run's stored steps leave no room for a"
                          " response (%llu MiB a run may keep)",
                          STEPRULES_MAX_RUN_STATE >> 20);
    if (req.timeout != NULL) {
        if (duration_parse(req.timeout, &timeout, err, sizeof(err)) != 0)
            return ctx_format("timeout \"%s\": %s", req.timeout, err);
        if (timeout < 1 || timeout > FETCH_REQ_MAX_TIMEOUT_MS)
            return ctx_format("timeout \"%s\" is not 1 ms to 1 day",
                              req.timeout);
    }
    if (req.url != NULL && url_why(req.url) != NULL)
        return ctx_format("%s: %.200s", url_why(req.url), req.url);
    o = json_object_new_object();
    headers = json_object_new_array();
    if (o == NULL || headers == NULL)
        ctx_abort_oom();
    add(o, "method", json_object_new_string(
                         req.method ? req.method : req.body ? "POST" : "GET"));
    add(o, "url", json_object_new_string(req.url ? req.url : ""));
    for (size_t i = 0; req.headers != NULL && req.headers[i] != NULL; i++) {
        if (i >= FETCH_REQ_MAX_HEADERS) {
            json_object_put(headers);
            json_object_put(o);
            return ctx_format("the request has more than %d headers",
                              FETCH_REQ_MAX_HEADERS);
        }
        if (json_object_array_add(headers,
                                  json_object_new_string(req.headers[i])) !=
            0)
            ctx_abort_oom();
    }
    add(o, "headers", headers);
    if (req.body != NULL) {
        size_t n = strlen(req.body);

        /* The caller bounds the whole request's text. */
        if (n > STEPRULES_MAX_OUTPUT) {
            json_object_put(o);
            return ctx_format("the request's body is %zu bytes, more than"
                              " %d MiB", n, STEPRULES_MAX_OUTPUT >> 20);
        }
        add(o, "body", json_object_new_string_len(req.body, (int)n));
    }
    add(o, "timeout_ms", json_object_new_int64(timeout));
    if (max_bytes > STEPRULES_MAX_OUTPUT)
        max_bytes = STEPRULES_MAX_OUTPUT;
    add(o, "max_bytes", json_object_new_int64(max_bytes));
    if ((why = fetch_req_read(o, &r)) != NULL) {
        json_object_put(o);
        return why;
    }
    *out = o;
    return NULL;
}
