/* fnhost_test.c - runs a plugin's functions in a unit test, without the host.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Part of the SDK, installed as libfnhost_test.a: it links libc, json-c
 * and the host's internal library (lib/), never the rest of the host.
 * From lib/ it takes what the host runs itself: the context and the API
 * entries that only touch it (ctx.h: fh_fail, fh_alloc, fh_set_output,
 * fh_retry_after), the event checks (event.h), the rules of steps and
 * what a handler's result means (steprules.h), durations (duration.h) and
 * the descriptor checks (check.h). Where it plays the rest of the host, it
 * follows host/loader.c (log, config, state_dir) and host/sched.c (when a
 * retry comes); keep them in step. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fnhost_test.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "ctx.h"
#include "duration.h"
#include "event.h"
#include "json_check.h"
#include "steprules.h"
#include "wait.h"

/* fh_test_run_all() gives up after this many invocations. */
#define MAX_INVOCATIONS 1000
/* The host's default retries (4). */
#define DEFAULT_RETRIES 4

struct mock {
    char *name;
    fh_step_fn fn;
    void *arg;
};

/* fh_test_mock_invoke(): what an invoked function's run ends with. */
struct invoke_mock {
    char *function_id;
    struct json_object *output; /* or, with ERROR, nothing */
    char *error;
};

/* A canned fetch response (fh_test_mock_fetch()). */
struct fetch_mock {
    char *match;                 /* a step name or a URL */
    struct json_object *response; /* {"status", "headers", "body"}, or
                                    NULL for ERROR */
    char *error;
};

struct fh_test {
    const struct fh_plugin *plugin;
    struct json_object *config;  /* key -> string */
    struct json_object *retired; /* replaced config strings, kept alive */
    char *state_dir;
    int state_made;              /* we made state_dir: remove it */
    int log_level;
    unsigned max_attempts;       /* 0: the function's */
    int load_ran, loaded;
    char *load_error;            /* why load() failed */
    void *state;                 /* ctx->state as load() and handlers set it */
    char *error;
    struct mock *mocks;
    size_t nmocks;
    struct invoke_mock *invokes;
    size_t ninvokes;
    char *pending_invoke;        /* the step id of an invoke waiting */
    char *pending_target;        /* and its function */
    struct fetch_mock *fetches;
    size_t nfetches;

    /* The run. */
    char run_id[27];
    char event_id[27];
    char (*batch_ids)[27];       /* a batch's other events' ids, made as
                                    the run first needs them */
    size_t nbatch_ids;
    char *function_id;           /* NULL until its first invocation */
    struct json_object *memo;    /* stored steps: id -> {"data"} | {"error"} */
    unsigned attempt;            /* of its next invocation */
    unsigned invocations;
    int64_t started;             /* the default "ts" of its event */
    int ended;
    /* The wait it is in, if it waits: strings owned. */
    char *wait_id, *wait_event, *wait_match, *wait_value;
    char *cancel_at;             /* cancelled once this step is stored */
};

/* One invocation, as host/steps.h's struct invocation. */
struct inv {
    struct steprules steps;    /* the rules' state */
    size_t suspend_step;       /* the step that suspended, in r->ran */
    struct fh_test_result *r;
    char *unmocked;            /* a fetch without a mock: why the run is
                                  refused */
};

/* The context the API works on: the core the host shares
 * (lib/ctx.h: the public head, arena, output, error), then ours. */
struct tctx {
    struct ctx_core core;
    struct fh_test *t;
    struct inv *inv;             /* NULL outside handlers */
    struct fh_test_result *r;    /* where log lines go, or NULL */
};

/* ------------------------------------------------------------ helpers */

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fputs("fh_test: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *
xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        fputs("fh_test: out of memory\n", stderr);
        abort();
    }
    return p;
}

static void *
xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL) {
        fputs("fh_test: out of memory\n", stderr);
        abort();
    }
    return p;
}

static char *
xstrdup(const char *s)
{
    size_t n;
    char *d;

    if (s == NULL)
        return NULL;
    n = strlen(s) + 1;
    d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

#define xasprintf ctx_format

static int set_error(struct fh_test *t, const char *fmt, ...) FH_PRINTF(2, 3);

/* Sets the harness's error; returns -1. */
static int
set_error(struct fh_test *t, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    free(t->error);
    t->error = s != NULL ? s : xstrdup("out of memory");
    return -1;
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A ULID: 48 bits of ms, 80 bits of a mixed counter (unique per process,
 * which is all a test needs). */
static void
ulid(char out[27])
{
    static const char b32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    static uint64_t counter;
    uint64_t ms = (uint64_t)now_ms(), x, y;
    struct timespec ts;
    unsigned char b[16];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    x = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ ++counter;
    for (int half = 0; half < 2; half++) { /* splitmix64 */
        x += 0x9e3779b97f4a7c15ULL;
        y = x;
        y = (y ^ (y >> 30)) * 0xbf58476d1ce4e5b9ULL;
        y = (y ^ (y >> 27)) * 0x94d049bb133111ebULL;
        y ^= y >> 31;
        for (int i = 0; i < 5; i++)
            b[6 + half * 5 + i] = (unsigned char)(y >> (8 * i));
    }
    for (int i = 0; i < 6; i++)
        b[i] = (unsigned char)(ms >> (8 * (5 - i)));
    /* 128 bits as 26 base-32 digits, the first holding 3 bits. */
    for (int i = 0; i < 26; i++) {
        int bit = 128 - 5 * (26 - i), v = 0;

        for (int k = 0; k < 5; k++, bit++)
            v = v << 1 |
                (bit >= 0 ? (b[bit / 8] >> (7 - bit % 8)) & 1 : 0);
        out[i] = b32[v];
    }
    out[26] = '\0';
}

/* Parses all of TEXT as JSON into *OUT (new; NULL for null). */
static int
parse_json(const char *text, struct json_object **out, char *err,
           size_t errlen)
{
    /* As deep as the host reads stored JSON (its JSON_PARSE_DEPTH). */
    struct json_tokener *tok = json_tokener_new_ex(2 * STEPRULES_MAX_DEPTH);
    size_t len = strlen(text), off;
    enum json_tokener_error e;
    /* As the host reads it: json-c alone loses some escaped pairs. */
    char *mended = json_check_mend_pairs(text, len, &len);

    if (tok == NULL)
        abort();
    if (mended != NULL)
        text = mended;
    /* With its NUL, so that a bare number ("2") ends. */
    *out = json_tokener_parse_ex(tok, text, (int)len + 1);
    e = json_tokener_get_error(tok);
    off = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    while (e == json_tokener_success && off < len &&
           isspace((unsigned char)text[off]))
        off++;
    free(mended);
    if (e != json_tokener_success) {
        json_object_put(*out);
        *out = NULL;
        snprintf(err, errlen, "%s",
                 e == json_tokener_continue ? "unexpected end of JSON"
                                            : json_tokener_error_desc(e));
        return -1;
    }
    if (off < len) {
        json_object_put(*out);
        *out = NULL;
        snprintf(err, errlen, "unexpected text after the JSON value");
        return -1;
    }
    return 0;
}

static char *
json_text(struct json_object *o)
{
    return xstrdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A copy of O as the store gives it back: through its JSON text (new). */
static struct json_object *
stored_copy(struct json_object *o)
{
    struct json_object *c;
    char err[128];

    if (o == NULL)
        return NULL;
    if (parse_json(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
                   &c, err, sizeof(err)) != 0)
        return NULL;
    return c;
}

static int
remove_one(const char *path, const struct stat *sb, int flag,
           struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

/* ------------------------------------------------------------ durations */

int
fh_test_duration(const char *s, int64_t *out, char *err, size_t errlen)
{
    return duration_parse(s, out, err, errlen);
}

/* ------------------------------------------------------- the descriptor */

int
fh_test_check(const struct fh_plugin *p, char *err, size_t errlen)
{
    return check_plugin(p, err, errlen);
}

/* ------------------------------------------------------------ the API */

static const char *const level_names[] = {"error", "warn", "info", "debug"};

static void
tctx_reset(struct tctx *c)
{
    ctx_reset(&c->core);
}

static void
tctx_init(struct tctx *c, struct fh_test *t);

static void api_log(struct fh_ctx *ctx, int level, const char *fmt, ...)
    FH_PRINTF(3, 4);

/* As host/log.c writes it: time, level, [module], the message on one
 * line of at most 2048 bytes. */
static void
api_log(struct fh_ctx *ctx, int level, const char *fmt, ...)
{
    struct tctx *c = (struct tctx *)ctx;
    char line[2048], module[256], ts[40], tmp[32];
    int64_t now = now_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    va_list ap;
    int n, m;

    if (level < FH_LOG_ERROR)
        level = FH_LOG_ERROR;
    if (level > FH_LOG_DEBUG)
        level = FH_LOG_DEBUG;
    if (ctx->function_id != NULL)
        snprintf(module, sizeof(module), "plugin %s/%s run=%s", ctx->plugin,
                 ctx->function_id, ctx->run_id ? ctx->run_id : "-");
    else
        snprintf(module, sizeof(module), "plugin %s", ctx->plugin);
    gmtime_r(&secs, &tm);
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof(ts), "%s.%03dZ", tmp, (int)(now % 1000));
    n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts, level_names[level],
                 module);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    m += n;
    if ((size_t)m > sizeof(line) - 2)
        m = (int)sizeof(line) - 2;
    for (int i = 0; i < m; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    if (c->r != NULL) {
        struct fh_test_result *r = c->r;

        r->log = xrealloc(r->log, (r->nlog + 1) * sizeof(*r->log));
        r->log[r->nlog].level = level;
        r->log[r->nlog].text = xmalloc((size_t)(m - n) + 1);
        memcpy(r->log[r->nlog].text, line + n, (size_t)(m - n));
        r->log[r->nlog].text[m - n] = '\0';
        r->nlog++;
    }
    if (level <= c->t->log_level) {
        line[m++] = '\n';
        fwrite(line, 1, (size_t)m, stderr);
        fflush(stderr);
    }
}

static const char *
api_config(struct fh_ctx *ctx, const char *key)
{
    struct tctx *c = (struct tctx *)ctx;
    struct json_object *v;

    if (key == NULL || !json_object_object_get_ex(c->t->config, key, &v))
        return NULL;
    return json_object_get_string(v);
}

static const char *
api_state_dir(struct fh_ctx *ctx)
{
    struct fh_test *t = ((struct tctx *)ctx)->t;

    if (t->state_dir == NULL) {
        const char *tmp = getenv("TMPDIR");
        char *dir = xasprintf("%s/fnhost-test.XXXXXX",
                              tmp != NULL && *tmp != '\0' ? tmp : "/tmp");

        if (mkdtemp(dir) == NULL) {
            fprintf(stderr, "fh_test: cannot make a state folder %s: %s\n",
                    dir, strerror(errno));
            abort();
        }
        t->state_dir = dir;
        t->state_made = 1;
    }
    return t->state_dir;
}

/* ------------------------------------------------------------ steps */

static struct fh_test_step *
add_step(struct fh_test_result *r, const char *id, const char *name,
         int kind, unsigned attempt, unsigned invocation)
{
    struct fh_test_step *s;

    r->ran = xrealloc(r->ran, (r->nran + 1) * sizeof(*r->ran));
    s = &r->ran[r->nran++];
    memset(s, 0, sizeof(*s));
    s->id = xstrdup(id);
    s->name = xstrdup(name);
    s->kind = kind;
    s->attempt = attempt;
    s->invocation = invocation;
    return s;
}

static void
add_replayed(struct fh_test_result *r, const char *id)
{
    r->replayed = xrealloc(r->replayed,
                           (r->nreplayed + 1) * sizeof(*r->replayed));
    r->replayed[r->nreplayed++] = xstrdup(id);
}

/* Stores step ID as the host's checkpoint does: a result (DATA, copied
 * through JSON text) or an error. */
static void
store_step(struct fh_test *t, const char *id, struct json_object *data,
           const char *error)
{
    struct json_object *e = json_object_new_object();

    if (error != NULL)
        json_object_object_add(e, "error", json_object_new_string(error));
    else
        json_object_object_add(e, "data", stored_copy(data));
    json_object_object_add(t->memo, id, e);
}

/* What MEMO holds, counted as the host counts a run's stored steps
 * (step_memo_bytes()): each result's or error's JSON text. */
static uint64_t
memo_bytes(struct json_object *memo)
{
    uint64_t n = 0;

    json_object_object_foreach(memo, id, e)
    {
        struct json_object *v;
        size_t len = 4;

        (void)id;
        if (json_object_object_get_ex(e, "error", &v))
            len = (size_t)json_object_get_string_len(v);
        else if (json_object_object_get_ex(e, "data", &v) && v != NULL)
            json_object_to_json_string_length(v, JSON_C_TO_STRING_PLAIN,
                                              &len);
        n += len;
    }
    return n;
}

static const struct mock *
find_mock(const struct fh_test *t, const char *name)
{
    for (size_t i = 0; i < t->nmocks; i++)
        if (strcmp(t->mocks[i].name, name) == 0)
            return &t->mocks[i];
    return NULL;
}

/* A step's function, or the mock registered for its name. */
static int
steps_call(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
           struct json_object **result)
{
    const struct mock *mock = find_mock(((struct tctx *)ctx)->t, name);

    if (mock != NULL)
        return mock->fn(ctx, mock->arg, result);
    return fn(ctx, arg, result);
}

static void
steps_replayed(struct fh_ctx *ctx, const char *id)
{
    add_replayed(((struct tctx *)ctx)->inv->r, id);
}

/* An id for an event a step sends: a ULID, as the host's. */
static void
new_event_id(char *out, int64_t now)
{
    (void)now;
    ulid(out);
}

/* The mock for a fetch step NAME of REQUEST (its stored form): by the
 * step's name first, then by its URL. */
static const struct fetch_mock *
find_fetch_mock(const struct fh_test *t, const char *name,
                struct json_object *request)
{
    const char *url =
        json_object_get_string(json_object_object_get(request, "url"));

    for (size_t i = 0; i < t->nfetches; i++)
        if (strcmp(t->fetches[i].match, name) == 0)
            return &t->fetches[i];
    for (size_t i = 0; url != NULL && i < t->nfetches; i++)
        if (strcmp(t->fetches[i].match, url) == 0)
            return &t->fetches[i];
    return NULL;
}

/* Fetch outcome O (listed as REC): the mock's response, or its error,
 * stored as the host stores what it fetched, for the next invocation. */
static void
fetch_record(struct tctx *c, struct fh_test_step *rec,
             const struct step_outcome *o)
{
    const struct fetch_mock *m =
        find_fetch_mock(c->t, o->name, o->result);

    rec->request = xstrdup(o->result_text);
    c->inv->suspend_step = c->inv->r->nran - 1;
    if (m == NULL) {
        c->inv->unmocked = xasprintf(
            "fetch \"%s\" (%s %s) has no mock: the harness makes no"
            " requests; give it one with fh_test_mock_fetch()",
            o->name,
            json_object_get_string(json_object_object_get(o->result,
                                                          "method")),
            json_object_get_string(json_object_object_get(o->result, "url")));
        return;
    }
    if (m->response != NULL) {
        rec->result = json_text(m->response);
        store_step(c->t, o->id, m->response, NULL);
    } else {
        rec->error = xstrdup(m->error);
        rec->final = 1;
        store_step(c->t, o->id, NULL, m->error);
    }
}

/* Lists outcome O in the result's steps (what ran). */
static struct fh_test_step *
list_step(struct tctx *c, const struct step_outcome *o)
{
    int sleep = strcmp(o->kind, "sleep") == 0;
    int send = strcmp(o->kind, "send") == 0;
    int invoke = strcmp(o->kind, "invoke") == 0;
    int fetch = strcmp(o->kind, "fetch") == 0;
    int wait = strcmp(o->kind, "wait") == 0;
    int group = strcmp(o->kind, "parallel") == 0;
    struct fh_test_step *rec =
        add_step(c->inv->r, o->id, o->name,
                 sleep    ? FH_TEST_SLEEP
                 : send   ? FH_TEST_SEND
                 : invoke ? FH_TEST_INVOKE
                 : fetch  ? FH_TEST_FETCH
                 : wait   ? FH_TEST_WAIT
                 : group  ? FH_TEST_PARALLEL
                          : FH_TEST_STEP,
                 o->attempt, c->t->invocations);

    if (sleep) {
        rec->duration = o->duration ? xstrdup(o->duration) : NULL;
        rec->wake_at = o->wake_at;
    }
    if (wait) {
        rec->wake_at = o->wake_at;
        rec->wait_event = xstrdup(o->wait_event);
        rec->wait_match = xstrdup(o->wait_match);
        rec->wait_if = xstrdup(o->wait_if);
    }
    return rec;
}

static void
wait_clear(struct fh_test *t)
{
    free(t->wait_id);
    free(t->wait_event);
    free(t->wait_match);
    free(t->wait_value);
    t->wait_id = t->wait_event = t->wait_match = t->wait_value = NULL;
}

/* An outcome is listed and, if it is stored, goes to the memo the next
 * invocations replay. */
static void
steps_record(struct fh_ctx *ctx, const struct step_outcome *o)
{
    struct tctx *c = (struct tctx *)ctx;
    struct inv *inv = c->inv;
    struct fh_test_step *rec = list_step(c, o);

    if (strcmp(o->status, "completed") == 0) {
        rec->result = json_text(o->result);
        rec->events = o->events != NULL ? xstrdup(o->events) : NULL;
        store_step(c->t, o->id, o->result, NULL);
    } else if (strcmp(o->status, "sleeping") == 0) {
        rec->sleep_ms = o->wake_at - o->started_at;
        inv->suspend_step = inv->r->nran - 1;
    } else if (strcmp(o->status, "invoking") == 0) {
        rec->events = xstrdup(o->events);
        rec->target = xstrdup(o->target);
        rec->wake_at = o->wake_at;
        inv->suspend_step = inv->r->nran - 1;
    } else if (strcmp(o->status, "fetching") == 0) {
        fetch_record(c, rec, o);
    } else if (strcmp(o->status, "waiting") == 0) {
        /* As the store keeps it, until an event or its timeout ends it. */
        wait_clear(c->t);
        c->t->wait_id = xstrdup(o->id);
        c->t->wait_event = xstrdup(o->wait_event);
        c->t->wait_match = xstrdup(o->wait_match);
        c->t->wait_value = xstrdup(o->wait_value);
        inv->suspend_step = inv->r->nran - 1;
    } else {
        rec->error = xstrdup(o->error);
        rec->final = o->final;
        if (o->final) {
            store_step(c->t, o->id, NULL, o->error);
        } else {
            inv->suspend_step = inv->r->nran - 1;
        }
    }
    /* As the host's ack after a cancel: this step is stored, and the
     * handler stops here. */
    if (c->t->cancel_at != NULL && strcmp(o->id, c->t->cancel_at) == 0 &&
        (strcmp(o->status, "completed") == 0 || o->final))
        steprules_cancel(&inv->steps);
}

/* A sleep until a time that had passed is listed, with no time to sleep,
 * and not stored. */
static void
steps_passed(struct fh_ctx *ctx, const struct step_outcome *o)
{
    list_step((struct tctx *)ctx, o);
}

static const struct steprules_ops steps_ops = {
    .call = steps_call,
    .replayed = steps_replayed,
    .record = steps_record,
    .passed = steps_passed,
    .now_ms = now_ms,
    .new_id = new_event_id,
};

/* The handler call's steps, or NULL outside one. */
static struct steprules *
steps_of(struct fh_ctx *ctx)
{
    struct inv *inv = ((struct tctx *)ctx)->inv;

    return inv != NULL ? &inv->steps : NULL;
}

static int
api_step(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
         struct json_object **result)
{
    return steprules_run(steps_of(ctx), ctx, name, fn, arg, result);
}

static int
api_send_event(struct fh_ctx *ctx, const char *name,
               struct json_object *events, struct json_object **ids)
{
    return steprules_send(steps_of(ctx), ctx, name, events, ids);
}

static int
api_invoke(struct fh_ctx *ctx, const char *name, const struct fh_invoke *req,
           struct json_object **result)
{
    return steprules_invoke(steps_of(ctx), ctx, name, req, result);
}

static int
api_fetch(struct fh_ctx *ctx, const char *name, const struct fh_fetch *req,
          struct json_object **response)
{
    return steprules_fetch(steps_of(ctx), ctx, name, req, response);
}

static int
api_sleep(struct fh_ctx *ctx, const char *name, const char *duration)
{
    return steprules_sleep(steps_of(ctx), ctx, name, 0, duration, 0);
}

static int
api_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms)
{
    return steprules_sleep(steps_of(ctx), ctx, name, 1, NULL, at_ms);
}

static int
api_wait_for_event(struct fh_ctx *ctx, const char *name,
                   const struct fh_wait *wait, struct json_object **event)
{
    return steprules_wait(steps_of(ctx), ctx, name, wait, event);
}

/* The harness runs a group's branches one after the other, in the
 * handler call that reaches it (the host runs them at once, each in a
 * worker): the same results, steps and retries, in a fixed order. */
static int
api_parallel(struct fh_ctx *ctx, const char *name,
             const struct fh_parallel *req, struct json_object **results,
             size_t *winner)
{
    return steprules_parallel(steps_of(ctx), ctx, name, req, results,
                              winner);
}

static const struct fh_api test_api = {
    .size = sizeof(struct fh_api),
    .abi_major = FH_ABI_MAJOR,
    .abi_minor = FH_ABI_MINOR,
    .log = api_log,
    .fail = ctx_fail,
    .config = api_config,
    .alloc = ctx_alloc,
    .set_output = ctx_set_output,
    .retry_after = ctx_retry_after,
    .state_dir = api_state_dir,
    .step = api_step,
    .sleep = api_sleep,
    .sleep_until = api_sleep_until,
    .send_event = api_send_event,
    .invoke = api_invoke,
    .error = ctx_error,
    .fetch = api_fetch,
    .wait_for_event = api_wait_for_event,
    .parallel = api_parallel,
};

static void
tctx_init(struct tctx *c, struct fh_test *t)
{
    memset(c, 0, sizeof(*c));
    c->core.pub.api = &test_api;
    c->core.pub.plugin = t->plugin->name;
    c->core.pub.state = t->state;
    c->t = t;
}

/* ------------------------------------------------------------ the harness */

struct fh_test *
fh_test_new(const struct fh_plugin *plugin)
{
    struct fh_test *t;
    char err[512];

    if (fh_test_check(plugin, err, sizeof(err)) != 0) {
        fprintf(stderr, "fh_test: plugin %s refused: %s\n",
                plugin != NULL && plugin->magic == FH_ABI_MAGIC &&
                        plugin->name != NULL
                    ? plugin->name
                    : "?",
                err);
        return NULL;
    }
    t = xcalloc(1, sizeof(*t));
    t->plugin = plugin;
    t->config = json_object_new_object();
    t->retired = json_object_new_array();
    t->log_level = FH_LOG_INFO;
    t->memo = json_object_new_object();
    fh_test_new_run(t);
    return t;
}

void
fh_test_free(struct fh_test *t)
{
    if (t == NULL)
        return;
    if (t->loaded && t->plugin->unload != NULL) {
        struct tctx c;

        tctx_init(&c, t);
        t->plugin->unload(&c.core.pub);
        tctx_reset(&c);
    }
    if (t->state_made)
        nftw(t->state_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(t->state_dir);
    json_object_put(t->config);
    json_object_put(t->retired);
    json_object_put(t->memo);
    for (size_t i = 0; i < t->nmocks; i++)
        free(t->mocks[i].name);
    free(t->mocks);
    for (size_t i = 0; i < t->ninvokes; i++) {
        free(t->invokes[i].function_id);
        json_object_put(t->invokes[i].output);
        free(t->invokes[i].error);
    }
    free(t->invokes);
    free(t->pending_invoke);
    free(t->pending_target);
    free(t->batch_ids);
    for (size_t i = 0; i < t->nfetches; i++) {
        free(t->fetches[i].match);
        json_object_put(t->fetches[i].response);
        free(t->fetches[i].error);
    }
    free(t->fetches);
    free(t->function_id);
    free(t->cancel_at);
    free(t->load_error);
    free(t->error);
    wait_clear(t);
    free(t);
}

int
fh_test_config(struct fh_test *t, const char *key, const char *value)
{
    struct json_object *old;

    if (key == NULL || *key == '\0')
        return set_error(t, "fh_test_config: a key is needed");
    if (json_object_object_get_ex(t->config, key, &old))
        json_object_array_add(t->retired, json_object_get(old));
    if (value == NULL)
        json_object_object_del(t->config, key);
    else
        json_object_object_add(t->config, key,
                               json_object_new_string(value));
    return 0;
}

int
fh_test_state_dir(struct fh_test *t, const char *path)
{
    if (path == NULL || *path == '\0')
        return set_error(t, "fh_test_state_dir: a path is needed");
    if (t->state_made)
        nftw(t->state_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
    free(t->state_dir);
    t->state_dir = xstrdup(path);
    t->state_made = 0;
    return 0;
}

void
fh_test_log_level(struct fh_test *t, int level)
{
    t->log_level = level;
}

/* A run that has ended makes way for a new one before anything is
 * stored or run. */
static void
run_begin(struct fh_test *t)
{
    if (t->ended)
        fh_test_new_run(t);
}

void
fh_test_attempt(struct fh_test *t, unsigned attempt)
{
    run_begin(t);
    t->attempt = attempt;
}

void
fh_test_max_attempts(struct fh_test *t, unsigned n)
{
    t->max_attempts = n;
}

int
fh_test_load(struct fh_test *t)
{
    struct tctx c;
    int rc;

    if (t->loaded)
        return 0;
    if (t->load_ran)
        return set_error(t, "%s", t->load_error);
    t->load_ran = 1;
    if (t->plugin->load == NULL) {
        t->loaded = 1;
        return 0;
    }
    tctx_init(&c, t);
    rc = t->plugin->load(&c.core.pub);
    t->state = c.core.pub.state;
    if (rc != FH_OK) {
        set_error(t, "load() failed: %s",
                  c.core.error ? c.core.error
                          : "it returned an error and gave no reason");
        t->load_error = xstrdup(t->error);
        tctx_reset(&c);
        return -1;
    }
    tctx_reset(&c);
    t->loaded = 1;
    return 0;
}

const char *
fh_test_error(const struct fh_test *t)
{
    return t->error;
}

int
fh_test_step_result(struct fh_test *t, const char *step_id, const char *json)
{
    struct json_object *v = NULL, *e;
    char err[128];

    if (step_id == NULL || *step_id == '\0')
        return set_error(t, "fh_test_step_result: a step id is needed");
    if (json != NULL && parse_json(json, &v, err, sizeof(err)) != 0)
        return set_error(t, "fh_test_step_result: %s: the result is not"
                            " JSON: %s", step_id, err);
    run_begin(t);
    e = json_object_new_object();
    json_object_object_add(e, "data", v);
    json_object_object_add(t->memo, step_id, e);
    return 0;
}

int
fh_test_step_error(struct fh_test *t, const char *step_id, const char *error)
{
    if (step_id == NULL || *step_id == '\0' || error == NULL ||
        *error == '\0')
        return set_error(t, "fh_test_step_error: a step id and an error"
                            " are needed");
    run_begin(t);
    store_step(t, step_id, NULL, error);
    return 0;
}

int
fh_test_mock_step(struct fh_test *t, const char *name, fh_step_fn fn,
                  const void *arg)
{
    size_t i;

    if (name == NULL || *name == '\0')
        return set_error(t, "fh_test_mock_step: a step name is needed");
    for (i = 0; i < t->nmocks; i++)
        if (strcmp(t->mocks[i].name, name) == 0)
            break;
    if (fn == NULL) {
        if (i < t->nmocks) {
            free(t->mocks[i].name);
            t->mocks[i] = t->mocks[--t->nmocks];
        }
        return 0;
    }
    if (i == t->nmocks) {
        t->mocks = xrealloc(t->mocks, (t->nmocks + 1) * sizeof(*t->mocks));
        t->mocks[t->nmocks++].name = xstrdup(name);
    }
    t->mocks[i].fn = fn;
    t->mocks[i].arg = (void *)(uintptr_t)arg;
    return 0;
}

/* The fetch mock for MATCH, new or to be replaced. */
static struct fetch_mock *
fetch_mock_slot(struct fh_test *t, const char *match)
{
    struct fetch_mock *m;
    size_t i;

    for (i = 0; i < t->nfetches; i++)
        if (strcmp(t->fetches[i].match, match) == 0)
            break;
    if (i == t->nfetches) {
        t->fetches = xrealloc(t->fetches,
                              (t->nfetches + 1) * sizeof(*t->fetches));
        memset(&t->fetches[i], 0, sizeof(t->fetches[i]));
        t->fetches[t->nfetches++].match = xstrdup(match);
    }
    m = &t->fetches[i];
    json_object_put(m->response);
    free(m->error);
    m->response = NULL;
    m->error = NULL;
    return m;
}

int
fh_test_mock_fetch(struct fh_test *t, const char *match,
                   const char *response_json)
{
    struct json_object *in, *out, *v;
    int64_t status;
    char err[256];

    if (match == NULL || *match == '\0')
        return set_error(t, "fh_test_mock_fetch: a step name or URL is"
                            " needed");
    if (response_json == NULL) {
        for (size_t i = 0; i < t->nfetches; i++) {
            if (strcmp(t->fetches[i].match, match) == 0) {
                free(t->fetches[i].match);
                json_object_put(t->fetches[i].response);
                free(t->fetches[i].error);
                t->fetches[i] = t->fetches[--t->nfetches];
                break;
            }
        }
        return 0;
    }
    if (parse_json(response_json, &in, err, sizeof(err)) != 0)
        return set_error(t, "fh_test_mock_fetch: %s", err);
    if (!json_object_is_type(in, json_type_object) ||
        fh_json_int(in, "status", &status) != 0 || status < 100 ||
        status > 599) {
        json_object_put(in);
        return set_error(t, "fh_test_mock_fetch: the response needs a"
                            " \"status\" of 100 to 599");
    }
    /* As the host stores a response: every field there. */
    out = json_object_new_object();
    json_object_object_add(out, "status", json_object_new_int64(status));
    v = json_object_object_get(in, "headers");
    json_object_object_add(out, "headers",
                           v != NULL ? json_object_get(v)
                                     : json_object_new_object());
    v = json_object_object_get(in, "body");
    json_object_object_add(out, "body",
                           v != NULL ? json_object_get(v)
                                     : json_object_new_string(""));
    if (json_object_object_get_ex(in, "encoding", &v))
        json_object_object_add(out, "encoding", json_object_get(v));
    json_object_put(in);
    fetch_mock_slot(t, match)->response = out;
    return 0;
}

int
fh_test_mock_fetch_error(struct fh_test *t, const char *match,
                         const char *error)
{
    if (match == NULL || *match == '\0' || error == NULL || *error == '\0')
        return set_error(t, "fh_test_mock_fetch_error: a step name or URL,"
                            " and an error, are needed");
    fetch_mock_slot(t, match)->error = xstrdup(error);
    return 0;
}

void
fh_test_new_run(struct fh_test *t)
{
    free(t->pending_invoke);
    free(t->pending_target);
    t->pending_invoke = t->pending_target = NULL;
    ulid(t->run_id);
    ulid(t->event_id);
    t->nbatch_ids = 0;
    free(t->function_id);
    t->function_id = NULL;
    json_object_put(t->memo);
    t->memo = json_object_new_object();
    t->attempt = 0;
    t->invocations = 0;
    t->started = now_ms();
    t->ended = 0;
    wait_clear(t);
    free(t->cancel_at);
    t->cancel_at = NULL;
}

int
fh_test_cancel_at(struct fh_test *t, const char *step_id)
{
    if (step_id != NULL && *step_id == '\0')
        return set_error(t, "fh_test_cancel_at: an empty step id");
    run_begin(t);
    free(t->cancel_at);
    t->cancel_at = step_id != NULL ? xstrdup(step_id) : NULL;
    return 0;
}

/* ------------------------------------------------------------ running */

static int
triggers(const struct fh_plugin *pl, const struct fh_function *f,
         const char *name)
{
    struct fh_function_opts o;
    char why[256];

    /* A cron's ticks are inngest/scheduled.timer events. */
    if (strcmp(name, "inngest/scheduled.timer") == 0 &&
        check_read_options(pl, f, &o, why, sizeof(why)) == 0 &&
        o.cron[0] != NULL)
        return 1;
    for (const char *const *p = f->triggers; p != NULL && *p != NULL; p++) {
        size_t n = strlen(*p);

        if (n > 0 && (*p)[n - 1] == '*' ? strncmp(*p, name, n - 1) == 0
                                        : strcmp(*p, name) == 0)
            return 1;
    }
    return 0;
}

/* The event as the host's event API stores it (new), or NULL with the
 * reason in ERR: lib/event.h's rules, the host's own. */
static struct json_object *
make_event(const char *text, int64_t now, char *err, size_t errlen)
{
    struct json_object *in, *out;
    char why[128];

    if (text == NULL) {
        snprintf(err, errlen, "no event");
        return NULL;
    }
    if (parse_json(text, &in, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "the event is not JSON: %s", why);
        return NULL;
    }
    out = event_normalize_internal(in, "event", now, err, errlen);
    json_object_put(in);
    return out;
}

/* The events of TEXT for function F, as the host would hand them to its
 * handler, into *EVS (a new array of N new objects): one event, or, for a
 * function with a batch, a JSON array of 1 to its batch.max_size events.
 * 0, or -1 with the reason in ERR. */
static int
make_events(const struct fh_test *t, const struct fh_function *f,
            const char *text, struct json_object ***evs, size_t *n,
            char *err, size_t errlen)
{
    struct fh_function_opts o;
    struct json_object *list;
    char why[128];
    size_t i;

    while (text != NULL && (*text == ' ' || *text == '\n' || *text == '\t'))
        text++;
    if (text == NULL || *text != '[') {
        *n = 1;
        *evs = xcalloc(1, sizeof(**evs));
        (*evs)[0] = make_event(text, t->started, err, errlen);
        if ((*evs)[0] == NULL) {
            free(*evs);
            return -1;
        }
        return 0;
    }
    check_read_options(t->plugin, f, &o, why, sizeof(why));
    if (parse_json(text, &list, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "the events are not JSON: %s", why);
        return -1;
    }
    *n = json_object_array_length(list);
    if (o.batch.max_size == 0 || *n == 0 || *n > (size_t)o.batch.max_size) {
        snprintf(err, errlen, "function %s %s: a list of events is a batch"
                              " of 1 to its batch.max_size (%d)", f->id,
                 o.batch.max_size ? "takes batches" : "has no batch",
                 (int)o.batch.max_size);
        json_object_put(list);
        return -1;
    }
    *evs = xcalloc(*n, sizeof(**evs));
    for (i = 0; i < *n; i++) {
        (*evs)[i] = make_event(json_object_to_json_string(
                                   json_object_array_get_idx(list, i)),
                               t->started, err, errlen);
        if ((*evs)[i] == NULL)
            break;
    }
    json_object_put(list);
    if (i == *n)
        return 0;
    while (i-- > 0)
        json_object_put((*evs)[i]);
    free(*evs);
    return -1;
}

static unsigned
fn_max_attempts(const struct fh_test *t, const struct fh_function *f)
{
    struct fh_function_opts o;
    char why[256];

    if (t->max_attempts > 0)
        return t->max_attempts;
    /* fh_test_new() checked the descriptor: this cannot fail. */
    if (check_read_options(t->plugin, f, &o, why, sizeof(why)) != 0)
        return 1;
    if (o.retries == FH_RETRIES_NONE)
        return 1;
    return (unsigned)(o.retries == 0 ? DEFAULT_RETRIES : o.retries) + 1;
}

/* Clears what describes the last invocation, keeping the lists. */
static void
result_next(struct fh_test_result *r)
{
    free(r->output);
    free(r->error);
    for (size_t i = 0; i < r->nreplayed; i++)
        free(r->replayed[i]);
    free(r->replayed);
    r->output = r->error = NULL;
    r->replayed = NULL;
    r->nreplayed = 0;
    r->status = FH_TEST_NOT_RUN;
    r->rc = 0;
    r->no_retry = 0;
    r->retry_after_ms = 0;
    r->sleep = r->retry = r->fetch = r->wait = NULL;
}

static int
refuse(struct fh_test *t, struct fh_test_result *r)
{
    result_next(r);
    r->error = xstrdup(t->error);
    return -1;
}

/* What invoke() returns once the handler ran: -1 when the harness could
 * not play the host's part (a fetch without a mock). */
static int
invoked_rc(const struct fh_test_result *r)
{
    return r->status == FH_TEST_NOT_RUN ? -1 : 0;
}

static const struct invoke_mock *
find_invoke_mock(const struct fh_test *t, const char *function_id)
{
    for (size_t i = 0; function_id != NULL && i < t->ninvokes; i++)
        if (strcmp(t->invokes[i].function_id, function_id) == 0)
            return &t->invokes[i];
    return NULL;
}

static int
invoke_mocked(const struct fh_test *t)
{
    return find_invoke_mock(t, t->pending_target) != NULL;
}

/* The invoke the run waits on ends as its mock says, as the host stores
 * an invoked run's end in the waiting step. */
static void
invoke_resolve(struct fh_test *t)
{
    const struct invoke_mock *m = find_invoke_mock(t, t->pending_target);
    char *msg;

    if (t->pending_invoke == NULL || m == NULL)
        return;
    if (m->error != NULL) {
        msg = xasprintf("invoke %s: %s", m->function_id, m->error);
        store_step(t, t->pending_invoke, NULL, msg);
        free(msg);
    } else {
        store_step(t, t->pending_invoke, m->output, NULL);
    }
    free(t->pending_invoke);
    free(t->pending_target);
    t->pending_invoke = t->pending_target = NULL;
}

int
fh_test_mock_invoke(struct fh_test *t, const char *function_id,
                    const char *output_json, const char *error)
{
    struct json_object *out = NULL;
    struct invoke_mock *m;
    char why[128];

    if (function_id == NULL || *function_id == '\0')
        return -1;
    if (output_json != NULL && parse_json(output_json, &out, why,
                                          sizeof(why)) != 0)
        return -1;
    m = (struct invoke_mock *)find_invoke_mock(t, function_id);
    if (m == NULL) {
        t->invokes = xrealloc(t->invokes,
                              (t->ninvokes + 1) * sizeof(*t->invokes));
        m = &t->invokes[t->ninvokes++];
        m->function_id = xstrdup(function_id);
    } else {
        json_object_put(m->output);
        free(m->error);
    }
    m->output = out;
    m->error = error != NULL ? xstrdup(error) : NULL;
    return 0;
}

/* Frees the N events EVS and their FEVS of an invocation. */
static void
free_events(struct json_object **evs, size_t n, struct fh_event *fevs)
{
    for (size_t i = 0; i < n; i++)
        json_object_put(evs[i]);
    free(evs);
    free(fevs);
}

/* One invocation of the run, added to R. */
static int
invoke(struct fh_test *t, const char *function_id, const char *event_json,
       struct fh_test_result *r)
{
    const struct fh_function *fn;
    fh_handler run;
    struct json_object *ev, *v, **evs;
    struct fh_event *fevs;
    size_t nev;
    struct tctx c;
    int failure;
    struct inv inv;
    struct steprules_verdict vd;
    char err[512];
    int rc;

    if (function_id == NULL ||
        (fn = check_find_function(t->plugin, function_id, &run)) == NULL) {
        set_error(t, "plugin %s has no function \"%s\"", t->plugin->name,
                  function_id ? function_id : "(null)");
        return refuse(t, r);
    }
    if (fh_test_load(t) != 0)
        return refuse(t, r);
    run_begin(t);
    invoke_resolve(t);
    /* A failure handler, "X-failure": X's on_failure. */
    failure = strcmp(fn->id, function_id) != 0;
    if (t->function_id != NULL && strcmp(t->function_id, function_id) != 0) {
        set_error(t, "run %s of %s has not ended: call fh_test_new_run()"
                     " to start a run of %s",
                  t->run_id, t->function_id, function_id);
        return refuse(t, r);
    }
    if (make_events(t, fn, event_json, &evs, &nev, err, sizeof(err)) != 0) {
        set_error(t, "%s", err);
        return refuse(t, r);
    }
    ev = evs[0];
    fevs = xcalloc(nev, sizeof(*fevs));
    if (t->nbatch_ids < nev - 1) {
        t->batch_ids = xrealloc(t->batch_ids,
                                (nev - 1) * sizeof(*t->batch_ids));
        while (t->nbatch_ids < nev - 1)
            ulid(t->batch_ids[t->nbatch_ids++]);
    }
    for (size_t i = 0; i < nev; i++) {
        struct fh_event *fe = &fevs[i];

        fe->name = json_object_get_string(json_object_object_get(evs[i],
                                                                 "name"));
        if (failure ? strcmp(fe->name, "inngest/function.failed") != 0
                    : !triggers(t->plugin, fn, fe->name)) {
            set_error(t, "event %s does not trigger function %s", fe->name,
                      function_id);
            free_events(evs, nev, fevs);
            return refuse(t, r);
        }
        if (json_object_object_get_ex(evs[i], "id", &v))
            fe->id = json_object_get_string(v);
        fe->internal_id = i == 0 ? t->event_id : t->batch_ids[i - 1];
        fe->ts = json_object_get_int64(json_object_object_get(evs[i], "ts"));
        fe->data = json_object_object_get(evs[i], "data");
        fe->json = evs[i];
    }
    if (t->function_id == NULL)
        t->function_id = xstrdup(function_id);

    result_next(r);
    memcpy(r->run_id, t->run_id, sizeof(r->run_id));
    tctx_init(&c, t);
    c.core.pub.function_id = t->function_id;
    c.core.pub.run_id = t->run_id;
    c.core.pub.events = fevs;
    c.core.pub.nevents = nev;
    c.core.pub.attempt = t->attempt;
    /* A failure handler has one retry, as the host gives it. */
    c.core.pub.max_attempts = failure && t->max_attempts == 0
                                  ? 2
                                  : fn_max_attempts(t, fn);
    c.r = r;
    memset(&inv, 0, sizeof(inv));
    steprules_init(&inv.steps, &steps_ops, t->memo, t->attempt,
                   c.core.pub.max_attempts);
    inv.steps.state_bytes = memo_bytes(t->memo);
    inv.steps.event = ev;
    inv.steps.inline_parallel = 1;
    inv.r = r;
    c.inv = &inv;

    rc = run(&c.core.pub, &fevs[0]);

    t->state = c.core.pub.state; /* keep what the handler set */
    r->rc = rc;
    r->attempt = inv.steps.attempt;
    r->max_attempts = inv.steps.max_attempts;
    r->invocations++;
    /* What the run does next is host/sched.c's part: sleep, retry or
     * end. */
    steprules_decide(&inv.steps, &c.core.pub, rc, &vd);
    if (vd.ignored_suspension)
        fprintf(stderr, "fh_test: %s: the handler returned %d after a step"
                        " suspended the run; suspending anyway\n",
                fn->id, rc);
    r->error = vd.error != NULL && vd.end != STEPRULES_END_SLEEP &&
                       vd.end != STEPRULES_END_FETCH &&
                       vd.end != STEPRULES_END_WAIT
                   ? xstrdup(vd.error)
                   : NULL;
    r->no_retry = vd.no_retry;
    r->retry_after_ms = vd.retry_after_ms;
    switch (vd.end) {
    case STEPRULES_END_COMPLETED:
        r->status = FH_TEST_COMPLETED;
        if (c.core.has_output)
            r->output = json_text(c.core.output);
        t->ended = 1;
        break;
    case STEPRULES_END_SLEEP:
        r->sleep = &r->ran[inv.suspend_step];
        t->attempt = 0;
        if (r->sleep->kind == FH_TEST_INVOKE) {
            /* The invoked run's end, if mocked, comes next. */
            r->status = FH_TEST_INVOKING;
            free(t->pending_invoke);
            free(t->pending_target);
            t->pending_invoke = xstrdup(r->sleep->id);
            t->pending_target = xstrdup(r->sleep->target);
            break;
        }
        r->status = FH_TEST_SLEEPING;
        /* The next invocation comes when the sleep is over. */
        store_step(t, r->sleep->id, NULL, NULL);
        break;
    case STEPRULES_END_FETCH:
        if (inv.unmocked != NULL) {
            /* The host would make a request: the harness makes none. */
            r->status = FH_TEST_NOT_RUN;
            set_error(t, "%s", inv.unmocked);
            free(r->error);
            r->error = xstrdup(t->error);
            rc = -1;
            break;
        }
        r->status = FH_TEST_FETCHING;
        r->fetch = &r->ran[inv.suspend_step];
        /* The next invocation comes with the response stored. */
        t->attempt = 0;
        break;
    case STEPRULES_END_WAIT:
        r->status = FH_TEST_WAITING;
        r->wait = &r->ran[inv.suspend_step];
        t->attempt = 0;
        break;
    case STEPRULES_END_RETRY:
        r->status = FH_TEST_RETRYING;
        if (inv.steps.suspended == STEPRULES_RETRY)
            r->retry = &r->ran[inv.suspend_step];
        t->attempt = inv.steps.attempt + 1;
        break;
    case STEPRULES_END_FAILED:
        r->status = FH_TEST_FAILED;
        t->ended = 1;
        break;
    case STEPRULES_END_CANCELLED:
        r->status = FH_TEST_CANCELLED;
        t->ended = 1;
        break;
    case STEPRULES_END_PARALLEL: /* inline_parallel: never */
        r->status = FH_TEST_FAILED;
        t->ended = 1;
        break;
    }
    steprules_verdict_free(&vd);
    t->invocations++;
    tctx_reset(&c);
    steprules_fini(&inv.steps);
    free_events(evs, nev, fevs);
    free(inv.unmocked);
    return invoked_rc(r);
}

int
fh_test_run(struct fh_test *t, const char *function_id,
            const char *event_json, struct fh_test_result *r)
{
    memset(r, 0, sizeof(*r));
    return invoke(t, function_id, event_json, r);
}

int
fh_test_run_all(struct fh_test *t, const char *function_id,
                const char *event_json, struct fh_test_result *r)
{
    memset(r, 0, sizeof(*r));
    for (int i = 0; i < MAX_INVOCATIONS; i++) {
        if (invoke(t, function_id, event_json, r) != 0)
            return -1;
        if (r->status == FH_TEST_INVOKING && !invoke_mocked(t)) {
            set_error(t, "step %s invokes %s, and no fh_test_mock_invoke()"
                         " says how that run ends",
                      t->pending_invoke, t->pending_target);
            return -1;
        }
        if (r->status != FH_TEST_SLEEPING && r->status != FH_TEST_RETRYING &&
            r->status != FH_TEST_INVOKING && r->status != FH_TEST_FETCHING)
            return 0;
    }
    set_error(t, "run %s of %s has not ended after %d invocations",
              t->run_id, function_id, MAX_INVOCATIONS);
    refuse(t, r);
    return -1;
}

int
fh_test_send_event(struct fh_test *t, const char *event_json)
{
    struct json_object *ev;
    const char *name;
    char err[512];
    int match;

    if (t->wait_id == NULL)
        return set_error(t, "fh_test_send_event: run %s does not wait for"
                            " an event", t->run_id);
    if ((ev = make_event(event_json, now_ms(), err, sizeof(err))) == NULL)
        return set_error(t, "fh_test_send_event: %s", err);
    name = json_object_get_string(json_object_object_get(ev, "name"));
    /* As the store matches: the name, then the value at the path. */
    match = strcmp(name, t->wait_event) == 0 &&
            wait_value_matches(ev, t->wait_match, t->wait_value);
    if (match) {
        store_step(t, t->wait_id, ev, NULL);
        wait_clear(t);
    }
    json_object_put(ev);
    return match;
}

int
fh_test_wait_timeout(struct fh_test *t)
{
    if (t->wait_id == NULL)
        return set_error(t, "fh_test_wait_timeout: run %s does not wait for"
                            " an event", t->run_id);
    store_step(t, t->wait_id, NULL, NULL);
    wait_clear(t);
    return 0;
}

void
fh_test_result_free(struct fh_test_result *r)
{
    if (r == NULL)
        return;
    result_next(r);
    for (size_t i = 0; i < r->nran; i++) {
        free(r->ran[i].id);
        free(r->ran[i].name);
        free(r->ran[i].result);
        free(r->ran[i].error);
        free(r->ran[i].duration);
        free(r->ran[i].events);
        free(r->ran[i].target);
        free(r->ran[i].request);
        free(r->ran[i].wait_event);
        free(r->ran[i].wait_match);
        free(r->ran[i].wait_if);
    }
    free(r->ran);
    for (size_t i = 0; i < r->nlog; i++)
        free(r->log[i].text);
    free(r->log);
    memset(r, 0, sizeof(*r));
}

const struct fh_test_step *
fh_test_ran(const struct fh_test_result *r, const char *step_id)
{
    for (size_t i = r->nran; i-- > 0;)
        if (strcmp(r->ran[i].id, step_id) == 0)
            return &r->ran[i];
    return NULL;
}

int
fh_test_replayed(const struct fh_test_result *r, const char *step_id)
{
    for (size_t i = 0; i < r->nreplayed; i++)
        if (strcmp(r->replayed[i], step_id) == 0)
            return 1;
    return 0;
}

const char *
fh_test_logged(const struct fh_test_result *r, const char *needle)
{
    for (size_t i = 0; i < r->nlog; i++)
        if (strstr(r->log[i].text, needle) != NULL)
            return r->log[i].text;
    return NULL;
}
