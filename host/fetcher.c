/* fetcher.c - HTTP requests with libcurl's multi interface on the master's
 * libevent loop (curl_multi_socket_action: libevent watches the sockets
 * and the one timer curl asks for).
 * SPDX-License-Identifier: Apache-2.0 */
#include "fetcher.h"

#include <ctype.h>
#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch_req.h"
#include "json_check.h"
#include "log.h"
#include "util.h"

/* Connections open at once, over all hosts: more requests wait in curl's
 * queue. */
#define MAX_CONNECTIONS 256

struct fetcher {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct fetch_call *calls; /* in flight */
    int active;
};

struct fetch_call {
    struct fetcher *f;
    CURL *easy;
    struct curl_slist *headers;
    fetcher_done_fn done;
    void *arg;
    struct json_object *resp_headers; /* of the latest response */
    char *body;
    size_t len, cap, max_body;
    int too_big;
    char errbuf[CURL_ERROR_SIZE];
    struct fetch_call *prev, *next;
};

/* A socket curl watches: its event. */
struct watch {
    struct event *ev;
};

static void check_done(struct fetcher *f);

static void
call_free(struct fetch_call *c)
{
    struct fetcher *f = c->f;

    curl_multi_remove_handle(f->multi, c->easy);
    curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    json_object_put(c->resp_headers);
    free(c->body);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        f->calls = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    f->active--;
    free(c);
}

/* libevent says a socket curl watches is ready. */
static void
socket_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fetcher *f = arg;
    int running, action = (what & EV_READ ? CURL_CSELECT_IN : 0) |
                          (what & EV_WRITE ? CURL_CSELECT_OUT : 0);

    curl_multi_socket_action(f->multi, fd, action, &running);
    check_done(f);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fetcher *f = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(f);
}

/* curl asks to watch socket S for WHAT (CURLMOPT_SOCKETFUNCTION). */
static int
watch_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct fetcher *f = userp;
    struct watch *w = socketp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (w != NULL) {
            event_free(w->ev);
            free(w);
            curl_multi_assign(f->multi, s, NULL);
        }
        return 0;
    }
    kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
           (what & CURL_POLL_OUT ? EV_WRITE : 0);
    if (w == NULL) {
        w = xcalloc(1, sizeof(*w));
        curl_multi_assign(f->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(f->base, s, kind, socket_cb, f);
    event_add(w->ev, NULL);
    return 0;
}

/* curl asks for its one timer (CURLMOPT_TIMERFUNCTION): -1 removes it. */
static int
timeout_cb(CURLM *multi, long ms, void *userp)
{
    struct fetcher *f = userp;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    (void)multi;
    if (ms < 0)
        evtimer_del(f->timer);
    else
        evtimer_add(f->timer, &tv); /* 0: on the next turn of the loop */
    return 0;
}

static size_t
body_cb(char *data, size_t size, size_t n, void *arg)
{
    struct fetch_call *c = arg;
    size_t add = size * n;

    if (add > c->max_body - c->len) {
        c->too_big = 1;
        return 0; /* ends the transfer: CURLE_WRITE_ERROR */
    }
    if (c->len + add + 1 > c->cap) {
        c->cap = (c->len + add + 1) * 2;
        if (c->cap > c->max_body + 1)
            c->cap = c->max_body + 1;
        c->body = xrealloc(c->body, c->cap);
    }
    memcpy(c->body + c->len, data, add);
    c->len += add;
    c->body[c->len] = '\0';
    return add;
}

/* One header line of a response. A status line starts a response (after a
 * redirect, or a 100 Continue): only the last one's headers count. */
static size_t
header_cb(char *data, size_t size, size_t n, void *arg)
{
    struct fetch_call *c = arg;
    size_t len = size * n, i = 0, end;
    struct json_object *old;
    char name[256], *value;

    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        json_object_put(c->resp_headers);
        c->resp_headers = json_object_new_object();
        return len;
    }
    while (i < len && i < sizeof(name) - 1 && data[i] != ':') {
        name[i] = (char)tolower((unsigned char)data[i]);
        i++;
    }
    if (i == 0 || i >= len || data[i] != ':' || c->resp_headers == NULL)
        return len; /* the blank line, or a line that says nothing */
    name[i++] = '\0';
    while (i < len && (data[i] == ' ' || data[i] == '\t'))
        i++;
    end = len;
    while (end > i && (data[end - 1] == '\r' || data[end - 1] == '\n' ||
                       data[end - 1] == ' ' || data[end - 1] == '\t'))
        end--;
    /* A value that is not UTF-8 could not be stored as JSON: left out. */
    if (!json_check_utf8(name, strlen(name)) ||
        !json_check_utf8(data + i, end - i) ||
        memchr(data + i, '\0', end - i) != NULL)
        return len;
    if (json_object_object_get_ex(c->resp_headers, name, &old)) {
        value = xasprintf("%s, %.*s", json_object_get_string(old),
                          (int)(end - i), data + i);
    } else {
        value = xmalloc(end - i + 1);
        memcpy(value, data + i, end - i);
        value[end - i] = '\0';
    }
    json_object_object_add(c->resp_headers, name,
                           json_object_new_string(value));
    free(value);
    return len;
}

/* Retry-After: seconds, or an HTTP date. */
static int64_t
retry_after_ms(struct json_object *headers)
{
    struct json_object *v;
    const char *s;
    char *end;
    long long secs;
    time_t at;

    if (!json_object_object_get_ex(headers, "retry-after", &v))
        return 0;
    s = json_object_get_string(v);
    secs = strtoll(s, &end, 10);
    if (end != s && *end == '\0')
        return secs > 0 ? (int64_t)secs * 1000 : 0;
    at = curl_getdate(s, NULL);
    if (at == -1)
        return 0;
    return (int64_t)at * 1000 > now_ms() ? (int64_t)at * 1000 - now_ms() : 0;
}

/* Ends the calls curl has finished. */
static void
check_done(struct fetcher *f)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
        struct fetch_call *c = NULL;
        struct fetch_result r;
        char why[CURL_ERROR_SIZE + 64];

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
        memset(&r, 0, sizeof(r));
        if (m->data.result != CURLE_OK) {
            snprintf(why, sizeof(why), "%s",
                     c->errbuf[0] ? c->errbuf
                                  : curl_easy_strerror(m->data.result));
            r.error = why;
            r.too_big = c->too_big;
        } else {
            curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &r.status);
            r.headers = c->resp_headers;
            r.body = c->body ? c->body : "";
            r.body_len = c->len;
            r.retry_after_ms = retry_after_ms(c->resp_headers);
        }
        c->done(c->arg, &r);
        call_free(c);
    }
}

struct fetcher *
fetcher_new(struct event_base *base, char *err, size_t errlen)
{
    struct fetcher *f;
    CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);

    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl: %s", curl_easy_strerror(rc));
        return NULL;
    }
    /* Without it, each name lookup would stop the master's loop. */
    if (!(curl_version_info(CURLVERSION_NOW)->features &
          CURL_VERSION_ASYNCHDNS))
        log_warn("fetch", "this libcurl resolves names synchronously: each"
                          " fetch step's lookup blocks the master");
    f = xcalloc(1, sizeof(*f));
    f->base = base;
    f->multi = curl_multi_init();
    if (f->multi == NULL) {
        snprintf(err, errlen, "libcurl: cannot make a multi handle");
        free(f);
        return NULL;
    }
    f->timer = evtimer_new(base, timer_cb, f);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, watch_cb);
    curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, timeout_cb);
    curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
    curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
                      (long)MAX_CONNECTIONS);
    return f;
}

void
fetcher_free(struct fetcher *f)
{
    if (f == NULL)
        return;
    while (f->calls != NULL)
        call_free(f->calls);
    curl_multi_cleanup(f->multi);
    event_free(f->timer);
    free(f);
    curl_global_cleanup();
}

/* Sets the method and body of REQ on EASY. */
static void
set_method(CURL *easy, const struct fetch_req *req)
{
    if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
        return;
    }
    if (req->body != NULL || strcmp(req->method, "POST") == 0) {
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS,
                         req->body != NULL ? req->body : "");
    }
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
    else if (strcmp(req->method, "GET") == 0 && req->body != NULL)
        curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "GET");
}

struct fetch_call *
fetcher_start(struct fetcher *f, const struct fetch_req *req,
              int64_t timeout_ms, size_t max_body, fetcher_done_fn done,
              void *arg)
{
    struct fetch_call *c = xcalloc(1, sizeof(*c));
    size_t n = json_object_array_length(req->headers);

    c->f = f;
    c->done = done;
    c->arg = arg;
    c->max_body = max_body;
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        abort(); /* out of memory */
    for (size_t i = 0; i < n; i++) {
        struct curl_slist *l = curl_slist_append(
            c->headers,
            json_object_get_string(json_object_array_get_idx(req->headers,
                                                             i)));

        if (l == NULL)
            abort();
        c->headers = l;
    }
    /* curl would ask for 100 Continue before a large body: one round
     * trip more, and servers that never answer it. */
    c->headers = curl_slist_append(c->headers, "Expect:");
    curl_easy_setopt(c->easy, CURLOPT_URL, req->url);
    curl_easy_setopt(c->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c->easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c->easy, CURLOPT_MAXREDIRS, (long)FETCH_REQ_MAX_REDIRECTS);
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(c->easy, CURLOPT_USERAGENT, "fnhost/" FNHOST_VERSION);
    curl_easy_setopt(c->easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c->easy, CURLOPT_HEADERDATA, c);
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
    set_method(c->easy, req);
    c->next = f->calls;
    if (f->calls != NULL)
        f->calls->prev = c;
    f->calls = c;
    f->active++;
    /* Never completes here: curl starts it from the timer it asks for. */
    curl_multi_add_handle(f->multi, c->easy);
    return c;
}

void
fetcher_cancel(struct fetch_call *c)
{
    if (c != NULL)
        call_free(c);
}

int
fetcher_active(const struct fetcher *f)
{
    return f->active;
}
