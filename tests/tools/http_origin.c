/* http_origin.c - a tiny HTTP server for fetch tests: canned answers by
 * path, and a log of every request it got.
 * SPDX-License-Identifier: Apache-2.0 */

/*
 * http_origin PORTFILE LOGFILE
 *
 * Listens on 127.0.0.1 on an ephemeral port (libevent's evhttp) and writes
 * "PORT\n" to PORTFILE (tmp + rename) once listening. Each request
 * appends "METHOD URI\n" to LOGFILE, flushed before it is answered, so a
 * test counts requests per path with grep. Paths:
 *
 *   /echo/...         200 {"method", "uri", "headers": {name: value},
 *                     "body"} (header names lower case), with X-Origin: 1
 *   /status/N[/...]   status N, body "status N"
 *   /flaky/N/...      500 to the first N requests of the path, then 200
 *                     "ok after N"
 *   /slow-429/...     429 with Retry-After: 1 to the first, then 200
 *   /hold/...         the first request of the path is never answered
 *                     (held open); later ones get 200 "released"
 *   /delay/MS/...     200 "late" after MS ms (the loop goes on meanwhile)
 *   /big/N[/...]      200 with N bytes of "x"
 *   /binary/...       200 with the bytes 0..255
 *   /redirect/N/...   302 to /redirect/N-1/... until 0: 200 "landed"
 *   anything else     404
 *
 * One event loop, no threads. SIGTERM or SIGINT stop it.
 */
#include <ctype.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static FILE *reqlog;

/* How many requests each path got: a small list is enough for tests. */
struct seen {
    char *path;
    int n;
    struct seen *next;
};
static struct seen *seen;

static int
count(const char *path)
{
    struct seen *s;

    for (s = seen; s != NULL; s = s->next)
        if (strcmp(s->path, path) == 0)
            return ++s->n;
    s = calloc(1, sizeof(*s));
    s->path = strdup(path);
    s->n = 1;
    s->next = seen;
    seen = s;
    return 1;
}

static const char *
method_name(enum evhttp_cmd_type t)
{
    switch (t) {
    case EVHTTP_REQ_GET: return "GET";
    case EVHTTP_REQ_POST: return "POST";
    case EVHTTP_REQ_HEAD: return "HEAD";
    case EVHTTP_REQ_PUT: return "PUT";
    case EVHTTP_REQ_DELETE: return "DELETE";
    case EVHTTP_REQ_OPTIONS: return "OPTIONS";
    case EVHTTP_REQ_TRACE: return "TRACE";
    case EVHTTP_REQ_CONNECT: return "CONNECT";
    case EVHTTP_REQ_PATCH: return "PATCH";
    }
    return "?";
}

static void
reply(struct evhttp_request *req, int code, const char *body, size_t len)
{
    struct evbuffer *b = evbuffer_new();

    evbuffer_add(b, body, len);
    evhttp_send_reply(req, code, NULL, b);
    evbuffer_free(b);
}

static void
echo(struct evhttp_request *req, const char *method, const char *uri)
{
    struct json_object *o = json_object_new_object(), *h;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(body);
    char *text = malloc(n + 1);
    const char *out;

    h = json_object_new_object();
    for (struct evkeyval *kv = in->tqh_first; kv; kv = kv->next.tqe_next) {
        char name[256];
        size_t i;

        for (i = 0; kv->key[i] && i < sizeof(name) - 1; i++)
            name[i] = (char)tolower((unsigned char)kv->key[i]);
        name[i] = '\0';
        json_object_object_add(h, name, json_object_new_string(kv->value));
    }
    evbuffer_copyout(body, text, n);
    text[n] = '\0';
    json_object_object_add(o, "method", json_object_new_string(method));
    json_object_object_add(o, "uri", json_object_new_string(uri));
    json_object_object_add(o, "headers", h);
    json_object_object_add(o, "body", json_object_new_string_len(text, (int)n));
    out = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Origin", "1");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    reply(req, 200, out, strlen(out));
    json_object_put(o);
    free(text);
}

static void
late_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    reply(arg, 200, "late", 4);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
    const char *uri = evhttp_request_get_uri(req);
    const char *method = method_name(evhttp_request_get_command(req));
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    int n = count(uri), k;
    char buf[256];

    fprintf(reqlog, "%s %s\n", method, uri);
    fflush(reqlog);
    if (strncmp(uri, "/echo/", 6) == 0) {
        echo(req, method, uri);
    } else if (sscanf(uri, "/status/%d", &k) == 1) {
        snprintf(buf, sizeof(buf), "status %d", k);
        reply(req, k, buf, strlen(buf));
    } else if (sscanf(uri, "/flaky/%d/", &k) == 1) {
        if (n <= k) {
            reply(req, 500, "flaky", 5);
        } else {
            snprintf(buf, sizeof(buf), "ok after %d", k);
            reply(req, 200, buf, strlen(buf));
        }
    } else if (strncmp(uri, "/slow-429/", 10) == 0) {
        if (n == 1) {
            evhttp_add_header(out, "Retry-After", "1");
            reply(req, 429, "slow down", 9);
        } else {
            reply(req, 200, "ok", 2);
        }
    } else if (strncmp(uri, "/hold/", 6) == 0) {
        if (n > 1)
            reply(req, 200, "released", 8);
        /* else: held; the connection stays open with no answer */
    } else if (sscanf(uri, "/delay/%d/", &k) == 1 && k >= 0) {
        struct timeval tv = {k / 1000, (k % 1000) * 1000};

        event_base_once(arg, -1, EV_TIMEOUT, late_cb, req, &tv);
    } else if (sscanf(uri, "/big/%d", &k) == 1 && k >= 0) {
        char *b = malloc((size_t)k + 1);

        memset(b, 'x', (size_t)k);
        reply(req, 200, b, (size_t)k);
        free(b);
    } else if (strncmp(uri, "/binary/", 8) == 0) {
        unsigned char b[256];

        for (int i = 0; i < 256; i++)
            b[i] = (unsigned char)i;
        reply(req, 200, (const char *)b, sizeof(b));
    } else if (sscanf(uri, "/redirect/%d/", &k) == 1) {
        const char *rest = strchr(uri + 10, '/');

        if (k <= 0) {
            reply(req, 200, "landed", 6);
        } else {
            snprintf(buf, sizeof(buf), "/redirect/%d%s", k - 1,
                     rest ? rest : "/");
            evhttp_add_header(out, "Location", buf);
            reply(req, 302, "", 0);
        }
    } else {
        reply(req, 404, "not found", 9);
    }
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *sock;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct event *term, *intr;
    char tmp[4096];
    FILE *pf;

    if (argc != 3) {
        fprintf(stderr, "usage: http_origin PORTFILE LOGFILE\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    reqlog = fopen(argv[2], "a");
    base = event_base_new();
    http = evhttp_new(base);
    if (reqlog == NULL || base == NULL || http == NULL)
        return 1;
    evhttp_set_allowed_methods(
        http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
                  EVHTTP_REQ_OPTIONS);
    evhttp_set_gencb(http, request_cb, base);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    if (sock == NULL ||
        getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sa,
                    &len) != 0) {
        perror("http_origin: bind");
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]);
    pf = fopen(tmp, "w");
    if (pf == NULL)
        return 1;
    fprintf(pf, "%d\n", ntohs(sa.sin_port));
    fclose(pf);
    rename(tmp, argv[1]);
    term = evsignal_new(base, SIGTERM, stop_cb, base);
    intr = evsignal_new(base, SIGINT, stop_cb, base);
    evsignal_add(term, NULL);
    evsignal_add(intr, NULL);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evhttp_free(http);
    event_base_free(base);
    fclose(reqlog);
    while (seen != NULL) {
        struct seen *next = seen->next;

        free(seen->path);
        free(seen);
        seen = next;
    }
    return 0;
}
