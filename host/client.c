/* client.c - the CLI's side of the HTTP API: send, runs, run, functions.
 * SPDX-License-Identifier: Apache-2.0 */
#include "client.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct reply {
    struct event_base *base;
    int status;
    char *body;
    int done;
};

static void
done_cb(struct evhttp_request *req, void *arg)
{
    struct reply *r = arg;
    struct evbuffer *b;
    size_t n;

    r->done = 1;
    /* The connection stays open (keep-alive): stop the loop now. */
    event_base_loopexit(r->base, NULL);
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        r->status = -1;
        return;
    }
    r->status = evhttp_request_get_response_code(req);
    b = evhttp_request_get_input_buffer(req);
    n = evbuffer_get_length(b);
    r->body = xmalloc(n + 1);
    evbuffer_remove(b, r->body, n);
    r->body[n] = '\0';
}

int
client_request(const char *base_url, const char *method, const char *path,
               const char *body, const char *auth, char **resp, char *err,
               size_t errlen)
{
    struct evhttp_uri *uri = evhttp_uri_parse(base_url);
    struct event_base *base = NULL;
    struct evhttp_connection *conn = NULL;
    struct evhttp_request *req;
    struct evkeyvalq *h;
    struct reply r = {NULL, 0, NULL, 0};
    enum evhttp_cmd_type cmd = EVHTTP_REQ_GET;
    const char *host;
    char hostport[300], *full = NULL;
    int port, rc = -1;

    if (uri == NULL || (host = evhttp_uri_get_host(uri)) == NULL) {
        snprintf(err, errlen, "bad URL \"%s\": expected http://HOST:PORT",
                 base_url);
        goto out;
    }
    port = evhttp_uri_get_port(uri);
    if (port < 0)
        port = 80;
    if (strcmp(method, "POST") == 0)
        cmd = EVHTTP_REQ_POST;
    else if (strcmp(method, "DELETE") == 0)
        cmd = EVHTTP_REQ_DELETE;
    base = event_base_new();
    r.base = base;
    conn = evhttp_connection_base_new(base, NULL, host, (ev_uint16_t)port);
    evhttp_connection_set_timeout(conn, 30);
    req = evhttp_request_new(done_cb, &r);
    h = evhttp_request_get_output_headers(req);
    snprintf(hostport, sizeof(hostport), "%s:%d", host, port);
    evhttp_add_header(h, "Host", hostport);
    evhttp_add_header(h, "User-Agent", "fnhost/" FNHOST_VERSION);
    if (auth != NULL) {
        char *bearer = xasprintf("Bearer %s", auth);

        evhttp_add_header(h, "Authorization", bearer);
        free(bearer);
    }
    if (body != NULL) {
        evhttp_add_header(h, "Content-Type", "application/json");
        evbuffer_add(evhttp_request_get_output_buffer(req), body,
                     strlen(body));
    }
    full = xasprintf("%s%s", strcmp(evhttp_uri_get_path(uri), "/") == 0
                                 ? "" : evhttp_uri_get_path(uri), path);
    if (evhttp_make_request(conn, req, cmd, full) != 0) {
        snprintf(err, errlen, "cannot send the request to %s", base_url);
        goto out;
    }
    event_base_dispatch(base);
    if (!r.done || r.status < 0) {
        snprintf(err, errlen, "no answer from fnhost at %s: is it running?"
                              " (start it with `fnhost serve`, or point"
                              " --url or FNHOST_URL at it)", base_url);
        goto out;
    }
    *resp = r.body;
    r.body = NULL;
    rc = r.status;

out:
    free(r.body);
    free(full);
    if (conn != NULL)
        evhttp_connection_free(conn);
    if (base != NULL)
        event_base_free(base);
    if (uri != NULL)
        evhttp_uri_free(uri);
    return rc;
}
