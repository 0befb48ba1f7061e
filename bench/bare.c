/* bare.c - baseline for the ingest benchmark: fnhost's HTTP work, no store.
 * SPDX-License-Identifier: Apache-2.0 */

/*
 * bare ADDR PORT [scan]
 *
 * A single-threaded libevent evhttp server that answers POST /e/{key} the
 * way fnhost does, minus durability: it reads the body, parses it with
 * json-c, checks each event has a name, makes one ULID per event and
 * replies 200 {"ids":[...],"status":200}. Nothing is stored, so
 * fnhost's throughput divided by this one is the price of the store.
 *
 * That was fnhost's HTTP work when #10 set its goal against it; fnhost
 * now reads the usual body with ingest_scan() and no tree. With "scan"
 * this server reads it that way too (json-c for a body the scanner
 * leaves), so that fnhost against it is the price of the store alone.
 *
 * PORT 0 picks an ephemeral port. Once listening it prints "port N" on
 * stdout. SIGTERM or SIGINT stop it cleanly.
 */

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <json-c/json.h>

#include "ingest.h"
#include "util.h"

#define ULID_LEN 26
#define MAX_BODY (3 * 1024 * 1024) /* Inngest's AbsoluteMaxEventSize */
#define MAX_EVENTS 5000            /* Inngest's batch limit */

struct bare {
    struct event_base *base;
    struct evhttp *http;
    struct json_tokener *tok;   /* reused: one parse at a time */
    int scan;                   /* read bodies with ingest_scan() first */
    struct event *sigterm;
    struct event *sigint;
};

static void
bare_reply(struct evhttp_request *req, int code, const char *reason,
    struct evbuffer *body)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);

    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_send_reply(req, code, reason, body);
}

static void
bare_error(struct evhttp_request *req, int code, const char *reason,
    const char *msg)
{
    struct evbuffer *out = evbuffer_new();

    if (out == NULL)
        abort();
    evbuffer_add_printf(out, "{\"error\":\"%s\",\"status\":%d}", msg, code);
    bare_reply(req, code, reason, out);
    evbuffer_free(out);
}

/* An event must be an object with a non-empty string "name". */
static int
bare_event_ok(struct json_object *ev)
{
    struct json_object *name;

    if (!json_object_is_type(ev, json_type_object))
        return 0;
    if (!json_object_object_get_ex(ev, "name", &name) ||
        !json_object_is_type(name, json_type_string) ||
        json_object_get_string_len(name) == 0)
        return 0;
    return 1;
}

/* Parses the whole body in one call, as fnhost does. Returns the root
 * (new reference) or NULL if it is not exactly one JSON value. */
static struct json_object *
bare_parse(struct bare *b, const char *data, size_t len)
{
    struct json_object *root;
    size_t end;

    if (len == 0 || len > MAX_BODY)
        return NULL;
    json_tokener_reset(b->tok);
    root = json_tokener_parse_ex(b->tok, data, (int)len);
    if (root == NULL || json_tokener_get_error(b->tok) != json_tokener_success)
        goto bad;
    for (end = json_tokener_get_parse_end(b->tok); end < len; end++)
        if (data[end] != ' ' && data[end] != '\t' && data[end] != '\n' &&
            data[end] != '\r')
            goto bad;
    return root;
bad:
    json_object_put(root);
    return NULL;
}

/* Answers REQ if ingest_scan() reads its body, as fnhost then does. */
static int
bare_scan(struct evhttp_request *req, const char *data, size_t len)
{
    struct ingest_batch batch;
    struct evbuffer *out;

    if (!ingest_scan(data, len, 0, &batch))
        return 0;
    out = evbuffer_new();
    if (out == NULL)
        abort();
    evbuffer_add(out, "{\"ids\":[", 8);
    for (size_t i = 0; i < batch.n; i++) {
        char id[ULID_LEN + 1];

        ulid_new(id, 0);
        evbuffer_add_printf(out, "%s\"%s\"", i > 0 ? "," : "", id);
    }
    evbuffer_add(out, "],\"status\":200}", 15);
    ingest_batch_free(&batch);
    bare_reply(req, 200, "OK", out);
    evbuffer_free(out);
    return 1;
}

static void
bare_ingest(struct bare *b, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *data;
    struct json_object *root;
    struct evbuffer *out;
    size_t n;
    int is_array;

    data = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
    if (b->scan && bare_scan(req, data, len))
        return;
    root = bare_parse(b, data, len);
    if (root == NULL) {
        bare_error(req, 400, "Bad Request", "body is not valid json");
        return;
    }
    is_array = json_object_is_type(root, json_type_array);
    n = is_array ? json_object_array_length(root) : 1;
    if (n == 0 || n > MAX_EVENTS) {
        json_object_put(root);
        bare_error(req, 400, "Bad Request", "expected 1 to 5000 events");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *ev;

        ev = is_array ? json_object_array_get_idx(root, i) : root;
        if (!bare_event_ok(ev)) {
            json_object_put(root);
            bare_error(req, 400, "Bad Request", "event has no name");
            return;
        }
    }

    out = evbuffer_new();
    if (out == NULL)
        abort();
    evbuffer_add(out, "{\"ids\":[", 8);
    for (size_t i = 0; i < n; i++) {
        char id[ULID_LEN + 1];

        ulid_new(id, 0); /* host/util.c: both sides pay the same */
        evbuffer_add_printf(out, "%s\"%s\"", i > 0 ? "," : "", id);
    }
    evbuffer_add(out, "],\"status\":200}", 15);
    json_object_put(root);
    bare_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static void
bare_request_cb(struct evhttp_request *req, void *arg)
{
    struct bare *b = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

    if (path == NULL || strncmp(path, "/e/", 3) != 0 || path[3] == '\0' ||
        strchr(path + 3, '/') != NULL) {
        bare_error(req, 404, "Not Found", "not found");
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
            "POST");
        bare_error(req, 405, "Method Not Allowed", "use POST");
        return;
    }
    bare_ingest(b, req);
}

static void
bare_signal_cb(evutil_socket_t sig, short what, void *arg)
{
    struct bare *b = arg;

    (void)sig;
    (void)what;
    event_base_loopbreak(b->base);
}

/* Prints "port N" for the socket of HANDLE. 0 or -1. */
static int
bare_print_port(struct evhttp_bound_socket *handle)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    evutil_socket_t fd = evhttp_bound_socket_get_fd(handle);
    int port;

    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
        perror("bare: getsockname");
        return -1;
    }
    if (ss.ss_family == AF_INET)
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return -1;
    printf("port %d\n", port);
    fflush(stdout);
    return 0;
}

int
main(int argc, char **argv)
{
    struct bare b;
    struct evhttp_bound_socket *handle;
    char *end;
    long port;
    int rc = 1;

    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "scan") == 0)) {
        fprintf(stderr, "usage: bare ADDR PORT [scan]   (PORT 0:"
                        " ephemeral)\n");
        return 2;
    }
    errno = 0;
    port = strtol(argv[2], &end, 10);
    if (errno != 0 || *end != '\0' || end == argv[2] || port < 0 ||
        port > 65535) {
        fprintf(stderr, "bare: bad port '%s'\n", argv[2]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    memset(&b, 0, sizeof(b));
    b.base = event_base_new();
    b.tok = json_tokener_new();
    b.scan = argc == 4;
    if (b.base == NULL || b.tok == NULL)
        abort();
    b.http = evhttp_new(b.base);
    b.sigterm = evsignal_new(b.base, SIGTERM, bare_signal_cb, &b);
    b.sigint = evsignal_new(b.base, SIGINT, bare_signal_cb, &b);
    if (b.http == NULL || b.sigterm == NULL || b.sigint == NULL ||
        evsignal_add(b.sigterm, NULL) != 0 ||
        evsignal_add(b.sigint, NULL) != 0)
        abort();

    evhttp_set_max_body_size(b.http, MAX_BODY);
    evhttp_set_allowed_methods(b.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
        EVHTTP_REQ_HEAD);
    evhttp_set_gencb(b.http, bare_request_cb, &b);
    handle = evhttp_bind_socket_with_handle(b.http, argv[1],
        (ev_uint16_t)port);
    if (handle == NULL) {
        fprintf(stderr, "bare: cannot listen on %s:%ld: %s\n", argv[1], port,
            strerror(errno));
        goto out;
    }
    if (bare_print_port(handle) != 0)
        goto out;
    if (event_base_dispatch(b.base) < 0) {
        fprintf(stderr, "bare: event loop failed\n");
        goto out;
    }
    rc = 0;
out:
    evhttp_free(b.http);
    event_free(b.sigterm);
    event_free(b.sigint);
    json_tokener_free(b.tok);
    event_base_free(b.base);
    return rc;
}
