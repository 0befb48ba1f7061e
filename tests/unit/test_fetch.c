/* test_fetch.c - fetch steps: the request's rules, what an attempt's end
 * means, the stored response, the store's pending fetches, and libcurl on
 * the loop (a server on the same loop answers: nothing blocks it).
 * SPDX-License-Identifier: Apache-2.0 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fetch_req.h"
#include "fetch_step.h"
#include "fetcher.h"
#include "store.h"
#include "tap.h"
#include "util.h"

static struct event_base *base;

/* ------------------------------------------------------------ requests */

static void
test_requests(void)
{
    struct json_object *o;
    struct fetch_req r;
    char *why;
    struct {
        struct fh_fetch f;
        char later[8]; /* a field a newer SDK appended */
    } newer;

    why = fetch_req_build(FH_FETCH_REQ(.url = "https://a.example/x"), 1000, &o);
    ok(why == NULL, "a URL is enough");
    is_str(fh_json_str(o, "method"), "GET", "GET by default");
    ok(json_object_array_length(json_object_object_get(o, "headers")) == 0,
       "no headers");
    ok(!json_object_object_get_ex(o, "body", NULL), "no body");
    is_int(json_object_get_int(json_object_object_get(o, "timeout_ms")),
           30000, "30 s by default");
    is_int(json_object_get_int(json_object_object_get(o, "max_bytes")), 1000,
           "the bound it was given");
    json_object_put(o);

    why = fetch_req_build(FH_FETCH_REQ(.url = "http://a/", .body = "x",
                                     .timeout = "2m",
                                     .headers = FH_HEADERS("A: 1", "B:2")),
                          1 << 30, &o);
    ok(why == NULL, "a request with a body, headers and a timeout");
    is_str(fh_json_str(o, "method"), "POST", "is a POST by default");
    is_int(json_object_get_int(json_object_object_get(o, "timeout_ms")),
           120000, "the timeout parsed");
    is_int(json_object_get_int(json_object_object_get(o, "max_bytes")),
           4 << 20, "max_bytes at most 4 MiB");
    ok(fetch_req_read(o, &r) == NULL && r.body_len == 1 &&
           strcmp(r.url, "http://a/") == 0,
       "reads back");
    json_object_put(o);

#define REFUSED(req, want, what)                                            \
    do {                                                                    \
        why = fetch_req_build(req, 1000, &o);                               \
        has_str(why, want, what);                                           \
        ok(o == NULL, "(nothing built)");                                   \
        free(why);                                                          \
    } while (0)
    REFUSED(FH_FETCH_REQ(.method = "GET"), "no URL", "a URL is needed");
    REFUSED(FH_FETCH_REQ(.url = "file:///etc/passwd"),
            "not http:// or https://", "file:// is refused");
    REFUSED(FH_FETCH_REQ(.url = "http://a/b c"), "a space",
            "a URL with a space");
    REFUSED(FH_FETCH_REQ(.url = "http://a/", .method = "get"), "upper-case",
            "a lower-case method");
    REFUSED(FH_FETCH_REQ(.url = "http://a/", .headers = FH_HEADERS("nocolon")),
            "header 1 is not \"Name: value\"", "a header without a colon");
    REFUSED(FH_FETCH_REQ(.url = "http://a/",
                         .headers = FH_HEADERS("A: 1\nB: 2")),
            "line break", "a header with a line break");
    REFUSED(FH_FETCH_REQ(.url = "http://a/", .timeout = "2 days"),
            "1 ms to 1 day",
            "a timeout over a day");
    REFUSED((&(const struct fh_fetch){.url = "http://a/"}), "FH_FETCH_REQ()",
            "a request without its size");
    memset(&newer, 0, sizeof(newer));
    newer.f.size = sizeof(newer);
    newer.f.url = "http://a/";
    why = fetch_req_build(&newer.f, 1000, &o);
    ok(why == NULL, "a newer request with its new fields zero is made");
    json_object_put(o);
    newer.later[3] = 1;
    REFUSED(&newer.f, "upgrade fnhost", "one that sets a field the host"
                                         " does not know is refused");
    why = fetch_req_build(FH_FETCH_REQ(.url = "http://a/"), 0, &o);
    has_str(why, "no room", "no room left in the run refuses it");
    free(why);

    /* The master reads what a worker wrote: checked again. */
    o = json_tokener_parse("{\"method\":\"GET\",\"url\":\"gopher://x\","
                           "\"headers\":[],\"timeout_ms\":1,\"max_bytes\":1}");
    why = fetch_req_read(o, &r);
    has_str(why, "not http", "a stored request is checked again");
    free(why);
    json_object_put(o);
    o = json_tokener_parse("{\"method\":\"GET\",\"url\":\"http://x\","
                           "\"headers\":[],\"timeout_ms\":1,"
                           "\"max_bytes\":99999999}");
    why = fetch_req_read(o, &r);
    has_str(why, "max_bytes", "max_bytes over 4 MiB is refused");
    free(why);
    json_object_put(o);
}

/* ------------------------------------------------------------ verdicts */

static void
test_verdicts(void)
{
    is_int(fetch_step_verdict(NULL, 0, 200), FETCH_RESPONSE,
           "200 is a response");
    is_int(fetch_step_verdict(NULL, 0, 404), FETCH_RESPONSE,
           "404 is a response, as Inngest's step.fetch");
    is_int(fetch_step_verdict(NULL, 0, 302), FETCH_RESPONSE,
           "a redirect left over is a response");
    is_int(fetch_step_verdict(NULL, 0, 500), FETCH_RETRY, "500 is retried");
    is_int(fetch_step_verdict(NULL, 0, 503), FETCH_RETRY, "503 is retried");
    is_int(fetch_step_verdict(NULL, 0, 429), FETCH_RETRY, "429 is retried");
    is_int(fetch_step_verdict("connection refused", 0, 0), FETCH_RETRY,
           "a transport error is retried");
    is_int(fetch_step_verdict("write error", 1, 0), FETCH_FATAL,
           "a body over the cap is not");
}

static void
test_response(void)
{
    struct json_object *h = json_object_new_object(), *o;
    char *text;
    static const char bin[] = {'a', '\0', 'b'};

    json_object_object_add(h, "x-a", json_object_new_string("1"));
    text = fetch_step_response(200, h, "h\xc3\xa9", 3);
    is_str(text, "{\"status\":200,\"headers\":{\"x-a\":\"1\"},\"body\":"
                 "\"h\xc3\xa9\"}",
           "a UTF-8 body is a string");
    free(text);
    text = fetch_step_response(200, NULL, "\xff\xfe", 2);
    o = json_tokener_parse(text);
    is_str(fh_json_str(o, "body"), "//4=", "other bytes are base64");
    is_str(fh_json_str(o, "encoding"), "base64", "and say so");
    json_object_put(o);
    free(text);
    text = fetch_step_response(200, NULL, bin, sizeof(bin));
    has_str(text, "\"encoding\":\"base64\"", "so is a body with a NUL");
    free(text);
    json_object_put(h);
}

/* ------------------------------------------------------------ the store */

struct waiter {
    int fired, rc;
};

static void
done_cb(void *arg, int rc, const char *err)
{
    struct waiter *w = arg;

    (void)err;
    w->fired++;
    w->rc = rc;
}

static int
wait_for(int *flag)
{
    int64_t deadline = mono_ms() + 10000;

    while (!*flag && mono_ms() < deadline) {
        struct timeval tv = {0, 50000};

        event_base_loopexit(base, &tv);
        event_base_loop(base, EVLOOP_ONCE);
    }
    return *flag;
}

struct pending_list {
    int n;
    char request[256];
    unsigned attempt;
};

static void
pending_fn(void *arg, const struct store_fetch *f)
{
    struct pending_list *l = arg;

    l->n++;
    snprintf(l->request, sizeof(l->request), "%s", f->request);
    l->attempt = f->attempt;
}

static void
test_store(const char *dir)
{
    char path[512], err[256];
    struct store *st;
    struct store_new_event ev;
    struct store_new_run run;
    struct store_attempt at;
    struct step_record step;
    struct store_fetch_end end;
    struct pending_list l;
    struct waiter w = {0};
    struct step_memo *memo;

    snprintf(path, sizeof(path), "%s/state.db", dir);
    st = store_open(base, path, "full", err, sizeof(err));
    ok(st != NULL, "a store");
    if (st == NULL)
        return;
    memset(&ev, 0, sizeof(ev));
    memset(&run, 0, sizeof(run));
    ulid_new(ev.id, 0);
    ev.name = "a/b";
    ev.json = "{\"name\":\"a/b\",\"data\":{}}";
    ev.ts = now_ms();
    ulid_new(run.id, 0);
    run.function_id = "f";
    ev.runs = &run;
    ev.nruns = 1;
    store_put_events(st, &ev, 1, 0, done_cb, &w);
    wait_for(&w.fired);

    /* The run suspends on a fetch: the request is pending. */
    memset(&step, 0, sizeof(step));
    step.step_id = "call";
    step.name = "call";
    step.kind = "fetch";
    step.status = "fetching";
    step.result = "{\"url\":\"http://x\"}";
    step.started_at = now_ms();
    memset(&at, 0, sizeof(at));
    snprintf(at.run_id, sizeof(at.run_id), "%s", run.id);
    at.outcome = RUN_FETCH;
    at.started_at = at.ended_at = now_ms();
    at.step = &step;
    w.fired = 0;
    store_finish_attempt(st, &at, done_cb, &w);
    ok(wait_for(&w.fired) && w.rc == 0, "a fetching run is stored");
    is_int(store_count_runs(st, "fetching"), 1, "as fetching");
    memset(&l, 0, sizeof(l));
    ok(store_pending_fetches(st, pending_fn, &l) == 0 && l.n == 1,
       "its fetch is pending");
    is_str(l.request, "{\"url\":\"http://x\"}", "with its request");
    memo = store_run_steps(st, run.id, now_ms());
    ok(memo != NULL && memo->n == 0, "and is no step a replay sees yet");
    free(memo);

    /* A failed attempt: pending still, at the next attempt. */
    memset(&end, 0, sizeof(end));
    snprintf(end.run_id, sizeof(end.run_id), "%s", run.id);
    end.step_id = "call";
    end.name = "call";
    end.error = "GET http://x: HTTP 500";
    end.due_at = now_ms();
    w.fired = 0;
    store_fetch_attempt(st, &end, done_cb, &w);
    ok(wait_for(&w.fired) && w.rc == 0 && !end.gone, "a failed attempt");
    memset(&l, 0, sizeof(l));
    store_pending_fetches(st, pending_fn, &l);
    is_int(l.attempt, 1, "leaves it pending at its next attempt");

    /* The response: the step, the run due, nothing pending. */
    end.attempt = 1;
    end.error = NULL;
    end.result = "{\"status\":200}";
    end.final = 1;
    w.fired = 0;
    store_fetch_attempt(st, &end, done_cb, &w);
    ok(wait_for(&w.fired) && w.rc == 0 && !end.gone, "the response");
    is_int(store_count_runs(st, "queued"), 1, "makes the run due");
    memset(&l, 0, sizeof(l));
    store_pending_fetches(st, pending_fn, &l);
    is_int(l.n, 0, "ends the pending fetch");
    memo = store_run_steps(st, run.id, now_ms());
    ok(memo != NULL && memo->n == 1 &&
           strcmp(memo->v[0].result, "{\"status\":200}") == 0,
       "and is the step's result a replay gets");
    free(memo);

    /* A second end of the same fetch (a copy made twice) changes nothing. */
    end.result = "{\"status\":201}";
    w.fired = 0;
    store_fetch_attempt(st, &end, done_cb, &w);
    ok(wait_for(&w.fired) && w.rc == 0 && end.gone,
       "an end of a fetch no longer pending is gone");
    memo = store_run_steps(st, run.id, now_ms());
    ok(memo != NULL && memo->n == 1 &&
           strcmp(memo->v[0].result, "{\"status\":200}") == 0,
       "and the stored response stays");
    free(memo);
    store_close(st);
}

/* ------------------------------------------------------ libcurl on the loop */

static void
origin_cb(struct evhttp_request *req, void *arg)
{
    struct evbuffer *b = evbuffer_new();

    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
                      "a=1");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
                      "b=2");
    evbuffer_add_printf(b, "%s",
                        evhttp_request_get_uri(req));
    evhttp_send_reply(req, strcmp(evhttp_request_get_uri(req), "/503") == 0
                               ? 503
                               : 200,
                      NULL, b);
    evbuffer_free(b);
}

struct got {
    int done;
    long status;
    char body[256];
    char cookie[64];
    char error[256];
    int too_big;
};

static void
got_cb(void *arg, const struct fetch_result *r)
{
    struct got *g = arg;
    struct json_object *v;

    g->done = 1;
    g->status = r->status;
    g->too_big = r->too_big;
    snprintf(g->error, sizeof(g->error), "%s", r->error ? r->error : "");
    if (r->body != NULL)
        snprintf(g->body, sizeof(g->body), "%.*s", (int)r->body_len, r->body);
    if (r->headers && json_object_object_get_ex(r->headers, "set-cookie", &v))
        snprintf(g->cookie, sizeof(g->cookie), "%s",
                 json_object_get_string(v));
}

static void
test_fetcher(void)
{
    struct evhttp *http = evhttp_new(base);
    struct evhttp_bound_socket *sock;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    struct fetcher *f;
    struct json_object *o;
    struct fetch_req r;
    struct got g[3];
    char url[64], err[256], *why;

    evhttp_set_gencb(http, origin_cb, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
    getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sa,
                &len);
    f = fetcher_new(base, err, sizeof(err));
    ok(f != NULL, "a fetcher");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hello",
             ntohs(sa.sin_port));
    memset(g, 0, sizeof(g));
    why = fetch_req_build(FH_FETCH_REQ(.url = url), 1000, &o);
    ok(why == NULL && fetch_req_read(o, &r) == NULL, "a request");
    fetcher_start(f, &r, 5000, 1000, got_cb, &g[0]);
    ok(!g[0].done, "a request never ends within fetcher_start()");
    fetcher_start(f, &r, 5000, 3, got_cb, &g[1]);
    is_int(fetcher_active(f), 2, "two in flight");
    /* The server runs on the same loop: only a loop that nothing blocks
     * gets these answered. */
    ok(wait_for(&g[0].done) && wait_for(&g[1].done), "both end");
    is_int(g[0].status, 200, "with the status");
    is_str(g[0].body, "/hello", "the body");
    is_str(g[0].cookie, "a=1, b=2", "and repeated headers joined");
    ok(g[1].too_big && g[1].error[0] != '\0',
       "a body over the cap ends the transfer");
    is_int(fetcher_active(f), 0, "nothing in flight");
    json_object_put(o);

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/503", ntohs(sa.sin_port));
    fetch_req_build(FH_FETCH_REQ(.url = url), 1000, &o);
    fetch_req_read(o, &r);
    fetcher_start(f, &r, 5000, 1000, got_cb, &g[2]);
    ok(wait_for(&g[2].done) && g[2].status == 503 && g[2].error[0] == '\0',
       "a 503 is a response to the fetcher (the step decides)");
    json_object_put(o);

    /* A cancelled call never calls back. */
    memset(g, 0, sizeof(g));
    fetch_req_build(FH_FETCH_REQ(.url = url), 1000, &o);
    fetch_req_read(o, &r);
    fetcher_cancel(fetcher_start(f, &r, 5000, 1000, got_cb, &g[0]));
    fetcher_start(f, &r, 5000, 1000, got_cb, &g[1]);
    wait_for(&g[1].done);
    ok(!g[0].done, "a cancelled request does not call back");
    json_object_put(o);
    fetcher_free(f);
    evhttp_free(http);
}

int
main(void)
{
    char dir[] = "/tmp/fnhost-test-fetch-XXXXXX";

    base = event_base_new();
    if (mkdtemp(dir) == NULL)
        return 1;
    test_requests();
    test_verdicts();
    test_response();
    test_store(dir);
    test_fetcher();
    event_base_free(base);
    {
        char cmd[600];

        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        (void)!system(cmd);
    }
    return done_testing();
}
