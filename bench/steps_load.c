/* steps_load.c - closed-loop load for durable step runs.
 * SPDX-License-Identifier: Apache-2.0 */

/*
 * steps_load -p PORT -d STATE_DB -e EVENT [-c OUTSTANDING] [-w WARMUP_S]
 *            [-t SECONDS] [-n RUNS] [-i POLL_US]
 *
 * Keeps OUTSTANDING (default 64) runs in flight on fnhost: one POST
 * /e/bench of {"name": EVENT, "data": {"i": n}} per free slot, and a new
 * one as soon as a run is seen to end. After WARMUP_S (default 2) it
 * measures for SECONDS (default 10) and prints, one "key value" a line:
 *
 *   runs, seconds, runs_per_s   runs whose runs.ended_at falls in the
 *                               measured window, and their rate
 *   p50_ms, p99_ms, max_ms      runs.ended_at - runs.created_at of those
 *                               runs: the host's own clock, from the
 *                               transaction that accepted the event to
 *                               the run's end (ms resolution)
 *   ack_p50_ms, ack_p99_ms  POST sent -> its reply (the event is durable)
 *   client_p50_ms, client_p99_ms  POST sent -> run seen ended by the poll
 *                               (adds HTTP, the first commit's wait and
 *                               up to one poll interval)
 *   failed, http_errors         runs that ended failed; refused POSTs
 *   commits, writes, group      fnhost_store_commits_total and
 *                               fnhost_store_writes_total from GET
 *                               /metrics over the window, and their ratio
 *                               (the mean group commit); "group unknown"
 *                               when /metrics does not have them
 *   load_cpu_s, polls           what this process cost the machine
 *
 * With -n RUNS it instead sends RUNS events, waits for all of their runs,
 * and measures them all (no warmup).
 *
 * How ends are seen: fnhost has no completion callback, so this polls the
 * daemon's SQLite database read-only, every POLL_US (default 1000 us):
 *
 *   SELECT rowid, status, event_id, created_at, ended_at, target_step
 *   IS NOT NULL FROM runs WHERE rowid >= ?lo
 *
 * lo is the oldest run of ours not yet seen ended, so each poll reads the
 * ~OUTSTANDING newest rows of the runs table by rowid: a read transaction
 * on the WAL (no lock the writer waits on) and one short b-tree range, a
 * few microseconds. GET /v1/runs would cost the host's loop a JSON reply
 * per poll instead. The poll interval adds at most POLL_US to a slot's
 * turnaround, which the closed loop feels; the latency figures come from
 * the store and do not.
 */

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>
#include <sqlite3.h>

#include "util.h"

#define MAXCONN 1024

struct pending {
    char event_id[ULID_LEN + 1]; /* "" until the POST's reply */
    int64_t sent_us;
    int used;
};

struct conn {
    struct evhttp_connection *c;
    int busy;
};

static struct event_base *base;
static const char *event_name;
static int port, outstanding = 64;
static long target; /* -n */
static int64_t warmup_ms = 2000, window_ms = 10000, poll_us = 1000;

static struct conn conns[MAXCONN];
static int nconns;
static struct pending *pend; /* OUTSTANDING * 4 entries */
static int npend;

static sqlite3 *db;
static sqlite3_stmt *q_poll;
static int64_t lo, base_rowid; /* rowids: lo = oldest not seen ended */
static uint8_t *seen;          /* by rowid - base_rowid */
static size_t seencap;

static long posted, ended, http_errors, failed, polls, seq;
static int stopping, draining;
static int64_t t0, t1;          /* window, wall ms */
static int64_t *lat, *clat;     /* ms; client-side in us */
static size_t nlat, nclat, latcap, clatcap;
static int64_t *alat;           /* POST sent -> its reply, us */
static size_t nalat, alatcap;
static int64_t max_lat;

static int have_m0, have_m1;
static double m0_commits, m0_writes, m1_commits, m1_writes;
static int metrics_missing;

static struct event *poll_ev, *deadline_ev;

/* Runs seen ended before their POST's reply came (their event ids). */
#define NORPHAN 256
static char orphan[NORPHAN][ULID_LEN + 1];
static unsigned norphan;

static int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
push(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *v = xrealloc(*v, *cap * sizeof(**v));
    }
    (*v)[(*n)++] = x;
}

/* ------------------------------------------------------------- HTTP */

static struct conn *
free_conn(void)
{
    for (int i = 0; i < nconns; i++)
        if (!conns[i].busy)
            return &conns[i];
    if (nconns == MAXCONN)
        return NULL;
    conns[nconns].c = evhttp_connection_base_new(base, NULL, "127.0.0.1",
                                                 (unsigned short)port);
    return &conns[nconns++];
}

struct post {
    struct conn *conn;
    struct pending *p;
};

static void refill(void);

static void
post_done(struct evhttp_request *req, void *arg)
{
    struct post *ps = arg;
    int code = req ? evhttp_request_get_response_code(req) : 0;

    ps->conn->busy = 0;
    if (code != 200) {
        http_errors++;
        if (http_errors <= 5)
            fprintf(stderr, "steps_load: POST answered %d\n", code);
        /* The run never existed: free its slot. */
        ps->p->used = 0;
        posted--;
    } else {
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(b);
        char *body = xmalloc(len + 1);
        struct json_object *o, *ids;
        int64_t now = mono_us();

        if (now_ms() >= t0 && now_ms() < t1)
            push(&alat, &nalat, &alatcap, now - ps->p->sent_us);

        evbuffer_copyout(b, body, len);
        body[len] = '\0';
        o = json_tokener_parse(body);
        if (o && json_object_object_get_ex(o, "ids", &ids) &&
            json_object_array_length(ids) == 1)
            snprintf(ps->p->event_id, sizeof(ps->p->event_id), "%s",
                     json_object_get_string(
                         json_object_array_get_idx(ids, 0)));
        json_object_put(o);
        free(body);
        for (unsigned i = 0; i < NORPHAN && ps->p->event_id[0]; i++) {
            if (strcmp(orphan[i], ps->p->event_id) == 0) {
                orphan[i][0] = '\0';
                ps->p->used = 0;
                break;
            }
        }
    }
    free(ps);
    if (code != 200)
        refill();
}

static void
post_one(void)
{
    struct conn *c = free_conn();
    struct evhttp_request *req;
    struct post *ps;
    struct pending *p = NULL;
    char body[160];

    if (c == NULL)
        return;
    for (int i = 0; i < npend; i++) {
        if (!pend[i].used) {
            p = &pend[i];
            break;
        }
    }
    if (p == NULL)
        return;
    memset(p, 0, sizeof(*p));
    p->used = 1;
    p->sent_us = mono_us();
    ps = xcalloc(1, sizeof(*ps));
    ps->conn = c;
    ps->p = p;
    req = evhttp_request_new(post_done, ps);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                      "127.0.0.1");
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                      "application/json");
    snprintf(body, sizeof(body), "{\"name\":\"%s\",\"data\":{\"i\":%ld}}",
             event_name, ++seq);
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    c->busy = 1;
    posted++;
    if (evhttp_make_request(c->c, req, EVHTTP_REQ_POST, "/e/bench") != 0) {
        c->busy = 0;
        posted--;
        p->used = 0;
        http_errors++;
        free(ps);
    }
}

static void
refill(void)
{
    while (!stopping && posted - ended < outstanding &&
           (target == 0 || posted < target)) {
        long before = posted;

        post_one();
        if (posted == before)
            break;
    }
}

/* ---------------------------------------------------------- metrics */

static double
metric(const char *body, const char *name)
{
    size_t n = strlen(name);
    const char *l = body;

    while (l != NULL && *l != '\0') {
        if (strncmp(l, name, n) == 0 && (l[n] == ' ' || l[n] == '\t'))
            return strtod(l + n + 1, NULL);
        l = strchr(l, '\n');
        if (l != NULL)
            l++;
    }
    return -1;
}

static void finish(void);

static void
metrics_done(struct evhttp_request *req, void *arg)
{
    int which = (int)(intptr_t)arg;
    double c = -1, w = -1;

    if (req && evhttp_request_get_response_code(req) == 200) {
        struct evbuffer *b = evhttp_request_get_input_buffer(req);
        size_t len = evbuffer_get_length(b);
        char *body = xmalloc(len + 1);

        evbuffer_copyout(b, body, len);
        body[len] = '\0';
        c = metric(body, "fnhost_store_commits_total");
        w = metric(body, "fnhost_store_writes_total");
        free(body);
    }
    if (c < 0 || w < 0)
        metrics_missing = 1;
    if (which == 0) {
        m0_commits = c, m0_writes = w, have_m0 = 1;
    } else {
        m1_commits = c, m1_writes = w, have_m1 = 1;
    }
}

static void
get_metrics(int which)
{
    static struct evhttp_connection *mc;
    struct evhttp_request *req;

    if (mc == NULL)
        mc = evhttp_connection_base_new(base, NULL, "127.0.0.1",
                                        (unsigned short)port);
    req = evhttp_request_new(metrics_done, (void *)(intptr_t)which);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                      "127.0.0.1");
    if (evhttp_make_request(mc, req, EVHTTP_REQ_GET, "/metrics") != 0)
        metrics_missing = 1;
}

/* ------------------------------------------------------------- poll */

static void
mark_seen(int64_t rowid)
{
    size_t i = (size_t)(rowid - base_rowid);

    if (i >= seencap) {
        size_t cap = seencap ? seencap : 65536;

        while (cap <= i)
            cap *= 2;
        seen = xrealloc(seen, cap);
        memset(seen + seencap, 0, cap - seencap);
        seencap = cap;
    }
    seen[i] = 1;
}

static int
was_seen(int64_t rowid)
{
    size_t i = (size_t)(rowid - base_rowid);

    return i < seencap && seen[i];
}

static void
on_end(const char *status, const char *event_id, int64_t created,
       int64_t end)
{
    int64_t now = mono_us();

    ended++;
    if (strcmp(status, "failed") == 0)
        failed++;
    /* Its POST slot is free now; the client latency if we know it. */
    for (int i = 0; i < npend; i++) {
        struct pending *p = &pend[i];

        if (p->used && event_id && strcmp(p->event_id, event_id) == 0) {
            if (end >= t0 && end < t1)
                push(&clat, &nclat, &clatcap, now - p->sent_us);
            p->used = 0;
            event_id = NULL;
            break;
        }
    }
    if (event_id != NULL)
        snprintf(orphan[norphan++ % NORPHAN], ULID_LEN + 1, "%s", event_id);
    if (end >= t0 && end < t1) {
        push(&lat, &nlat, &latcap, end - created);
        if (end - created > max_lat)
            max_lat = end - created;
    }
}

static void
poll_cb(evutil_socket_t fd, short what, void *arg)
{
    int rc;
    int64_t now = now_ms();

    polls++;
    sqlite3_bind_int64(q_poll, 1, lo);
    while ((rc = sqlite3_step(q_poll)) == SQLITE_ROW) {
        int64_t rowid = sqlite3_column_int64(q_poll, 0);
        const char *st = (const char *)sqlite3_column_text(q_poll, 1);

        if (was_seen(rowid))
            continue;
        if (sqlite3_column_int(q_poll, 5)) {
            mark_seen(rowid);
            continue;
        }
        if (strcmp(st, "completed") != 0 && strcmp(st, "failed") != 0)
            continue;
        mark_seen(rowid);
        on_end(st, (const char *)sqlite3_column_text(q_poll, 2),
               sqlite3_column_int64(q_poll, 3),
               sqlite3_column_int64(q_poll, 4));
    }
    sqlite3_reset(q_poll);
    if (rc != SQLITE_DONE && rc != SQLITE_BUSY) {
        fprintf(stderr, "steps_load: poll: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    while (was_seen(lo))
        lo++;

    if (target == 0) {
        if (!have_m0 && now >= t0 && !draining) {
            have_m0 = -1;
            get_metrics(0);
        }
        if (!stopping && now >= t1) {
            stopping = 1;
            have_m1 = -1;
            get_metrics(1);
        }
    }
    refill();
    /* Done when every run we started has ended (so each run that ended
     * inside the window has been seen) and the window's metrics came. */
    if (posted - ended == 0 &&
        (target ? ended >= target : stopping && have_m1 == 1))
        finish();
}

static void
deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    fprintf(stderr, "steps_load: %ld runs still outstanding at the"
                    " deadline\n", posted - ended);
    finish();
}

static int
cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

static double
pctl(int64_t *v, size_t n, double p)
{
    size_t i;

    if (n == 0)
        return 0;
    i = (size_t)(p * (double)n);
    if (i >= n)
        i = n - 1;
    return (double)v[i];
}

static void
finish(void)
{
    struct rusage ru;
    double secs;

    if (draining)
        return;
    draining = 1;
    if (target) {
        /* Everything counted: the window is what it took. */
        secs = (double)(now_ms() - t0) / 1000.0;
    } else {
        secs = (double)(t1 - t0) / 1000.0;
    }
    qsort(lat, nlat, sizeof(*lat), cmp64);
    qsort(clat, nclat, sizeof(*clat), cmp64);
    getrusage(RUSAGE_SELF, &ru);
    printf("runs %zu\nseconds %.3f\nruns_per_s %.1f\n", nlat, secs,
           secs > 0 ? (double)nlat / secs : 0.0);
    printf("p50_ms %.0f\np99_ms %.0f\nmax_ms %lld\n", pctl(lat, nlat, .50),
           pctl(lat, nlat, .99), (long long)max_lat);
    printf("client_p50_ms %.2f\nclient_p99_ms %.2f\n",
           pctl(clat, nclat, .50) / 1000.0, pctl(clat, nclat, .99) / 1000.0);
    qsort(alat, nalat, sizeof(*alat), cmp64);
    printf("ack_p50_ms %.2f\nack_p99_ms %.2f\n",
           pctl(alat, nalat, .50) / 1000.0, pctl(alat, nalat, .99) / 1000.0);
    printf("failed %ld\nhttp_errors %ld\nposted %ld\nended %ld\n", failed,
           http_errors, posted, ended);
    if (have_m0 == 1 && have_m1 == 1 && !metrics_missing &&
        m1_commits > m0_commits) {
        printf("commits %.0f\nwrites %.0f\ngroup %.1f\n",
               m1_commits - m0_commits, m1_writes - m0_writes,
               (m1_writes - m0_writes) / (m1_commits - m0_commits));
    } else {
        printf("group unknown\n");
    }
    printf("load_cpu_s %.2f\npolls %ld\n",
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           polls);
    fflush(stdout);
    event_base_loopexit(base, NULL);
}

static void
usage(void)
{
    fprintf(stderr, "usage: steps_load -p PORT -d STATE_DB -e EVENT"
                    " [-c OUTSTANDING] [-w WARMUP_S] [-t SECONDS]"
                    " [-n RUNS] [-i POLL_US]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    const char *path = NULL;
    struct timeval tv;
    int opt;

    while ((opt = getopt(argc, argv, "p:d:e:c:w:t:n:i:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'd': path = optarg; break;
        case 'e': event_name = optarg; break;
        case 'c': outstanding = atoi(optarg); break;
        case 'w': warmup_ms = (int64_t)(atof(optarg) * 1000); break;
        case 't': window_ms = (int64_t)(atof(optarg) * 1000); break;
        case 'n': target = atol(optarg); break;
        case 'i': poll_us = atol(optarg); break;
        default: usage();
        }
    }
    if (port <= 0 || path == NULL || event_name == NULL || outstanding < 1 ||
        outstanding > MAXCONN / 2 || poll_us < 1 || optind != argc)
        usage();
    npend = outstanding * 4;
    pend = xcalloc((size_t)npend, sizeof(*pend));

    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        fprintf(stderr, "steps_load: open %s: %s\n", path,
                sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_busy_timeout(db, 1000);
    {
        sqlite3_stmt *s;

        if (sqlite3_prepare_v2(db, "SELECT coalesce(max(rowid), 0) FROM runs",
                               -1, &s, NULL) != SQLITE_OK ||
            sqlite3_step(s) != SQLITE_ROW) {
            fprintf(stderr, "steps_load: %s: %s\n", path, sqlite3_errmsg(db));
            return 1;
        }
        lo = base_rowid = sqlite3_column_int64(s, 0) + 1;
        sqlite3_finalize(s);
    }
    /* A parallel branch (target_step set) is a part of its run: seen at
     * once, never counted. */
    if (sqlite3_prepare_v3(db, "SELECT rowid, status, event_id, created_at,"
                               " ended_at, target_step IS NOT NULL FROM runs"
                               " WHERE rowid >= ? ORDER BY rowid", -1,
                           SQLITE_PREPARE_PERSISTENT, &q_poll,
                           NULL) != SQLITE_OK) {
        fprintf(stderr, "steps_load: prepare: %s\n", sqlite3_errmsg(db));
        return 1;
    }

    {
        /* A 1 ms poll needs timers finer than epoll_wait's (timerfd). */
        struct event_config *cfg = event_config_new();

        event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
        base = event_base_new_with_config(cfg);
        event_config_free(cfg);
        if (base == NULL)
            base = event_base_new();
    }
    if (target) {
        t0 = now_ms();
        t1 = INT64_MAX;
    } else {
        t0 = now_ms() + warmup_ms;
        t1 = t0 + window_ms;
    }
    poll_ev = event_new(base, -1, EV_PERSIST, poll_cb, NULL);
    tv.tv_sec = poll_us / 1000000;
    tv.tv_usec = poll_us % 1000000;
    event_add(poll_ev, &tv);
    /* A bound on everything: the window plus 30 s to drain, or 120 s for
     * -n. */
    deadline_ev = evtimer_new(base, deadline_cb, NULL);
    tv.tv_sec = target ? 120 : (warmup_ms + window_ms) / 1000 + 30;
    tv.tv_usec = 0;
    event_add(deadline_ev, &tv);

    refill();
    event_base_dispatch(base);

    event_free(poll_ev);
    event_free(deadline_ev);
    for (int i = 0; i < nconns; i++)
        evhttp_connection_free(conns[i].c);
    sqlite3_finalize(q_poll);
    sqlite3_close(db);
    event_base_free(base);
    return draining && http_errors == 0 ? 0 : 1;
}
