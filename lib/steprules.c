/* steprules.c - the rules of durable steps, and what a handler's result
 * means, for the host (in a worker) and the SDK's test harness alike.
 * SPDX-License-Identifier: Apache-2.0 */
#include "steprules.h"

#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>

#include "ctx.h"
#include "duration.h"
#include "event.h"
#include "fetch_req.h"
#include "json_check.h"
#include "wait.h"

char *
steprules_check_output(struct json_object *output, const char **text)
{
    size_t len;
    char *why;

    *text = NULL;
    if (json_check_depth(output, STEPRULES_MAX_DEPTH) > STEPRULES_MAX_DEPTH)
        return ctx_format("the output nests too deep to store (more"
                          " than %d levels)",
                          STEPRULES_MAX_DEPTH);
    *text =
        json_object_to_json_string_length(output, JSON_C_TO_STRING_PLAIN, &len);
    if (*text == NULL)
        return ctx_format("the output could not be serialized");
    if (len > STEPRULES_MAX_OUTPUT)
        why = ctx_format("the output is %zu bytes, more than the %d MiB"
                         " a run may return",
                         len, STEPRULES_MAX_OUTPUT >> 20);
    else
        why = json_check_text("the output", *text, len);
    if (why != NULL)
        *text = NULL; /* nothing of it is sent to be stored */
    return why;
}

void
steprules_init(struct steprules *s, const struct steprules_ops *ops,
               struct json_object *memo, unsigned attempt,
               unsigned max_attempts)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->memo = memo;
    s->names = json_object_new_object();
    s->owned = json_object_new_array();
    if (s->names == NULL || s->owned == NULL)
        ctx_abort_oom();
    s->attempt = attempt;
    s->max_attempts = max_attempts ? max_attempts : 1;
    s->unit_started = ops->now_ms();
}

void
steprules_fini(struct steprules *s)
{
    json_object_put(s->names);
    json_object_put(s->owned);
    free(s->stray);
    memset(s, 0, sizeof(*s));
}

/* The context's error: MSG (new, or NULL to clear). */
static void
set_error(struct fh_ctx *ctx, char *msg, int no_retry)
{
    ctx_set_error(ctx_core(ctx), msg, no_retry);
}

/* A step API called outside a handler (in load(), or in a step). */
static int
outside(struct fh_ctx *ctx)
{
    set_error(ctx,
              ctx_format("steps can only be used inside a"
                         " handler"),
              1);
    return FH_ERR;
}

/* "name" the first time in this call, then "name:1", "name:2", ... */
static char *
step_id(struct steprules *s, const char *name)
{
    struct json_object *n;
    int seen = 0;

    if (json_object_object_get_ex(s->names, name, &n))
        seen = json_object_get_int(n);
    json_object_object_add(s->names, name, json_object_new_int(seen + 1));
    if (seen == 0) {
        char *id = strdup(name);

        if (id == NULL)
            ctx_abort_oom();
        return id;
    }
    return ctx_format("%s:%d", name, seen);
}

/* Step ID's stored outcome: 1 (and *RESULT) for a result, -1 (and the
 * context's error) for a failure, 0 if it has none. */
static int
replay(struct steprules *s, struct fh_ctx *ctx, const char *id,
       struct json_object **result)
{
    struct json_object *e, *v;

    if (!json_object_object_get_ex(s->memo, id, &e))
        return 0;
    if (s->ops->replayed != NULL)
        s->ops->replayed(ctx, id);
    if (json_object_object_get_ex(e, "error", &v)) {
        set_error(ctx, ctx_format("%s", json_object_get_string(v)), 1);
        return -1;
    }
    if (result != NULL)
        *result = json_object_object_get(e, "data");
    return 1;
}

/* Gives step NAME its id (*ID, new) and looks for its stored outcome:
 * 1 when it has one (*ID freed, *RC FH_OK with *RESULT, or FH_ERR with
 * the context's error), 0 when it must run. */
static int
memoized(struct steprules *s, struct fh_ctx *ctx, const char *name,
         struct json_object **result, char **id, int *rc)
{
    int r;

    *id = step_id(s, name);
    if ((r = replay(s, ctx, *id, result)) == 0)
        return 0;
    free(*id);
    *id = NULL;
    *rc = r > 0 ? FH_OK : FH_ERR;
    return 1;
}

/* In a branch's invocation, step ID (new: freed here) has no stored
 * outcome and is not the branch's target: the handler took another way
 * than the run did before its group. The branch fails for good; returns
 * what the step call returns. */
static int
stray(struct steprules *s, struct fh_ctx *ctx, char *id)
{
    free(s->stray);
    s->stray = ctx_format("parallel branch \"%s\": the handler reached"
                          " step \"%s\", which has no stored outcome,"
                          " before the branch's group: a handler must"
                          " call the same steps in the same order each"
                          " time it runs",
                          s->target, id);
    set_error(ctx, ctx_format("%s", s->stray), 1);
    s->suspended = STEPRULES_STRAY;
    free(id);
    return FH_SUSPENDED;
}

/* After a stored outcome the next unit of work starts fresh. */
static void
stored(struct steprules *s)
{
    s->attempt = 0;
    s->unit_started = s->ops->now_ms();
}

/* Step O (ID, new) fails for good with WHY (new): recorded and stored as
 * its outcome, the context's error; returns FH_ERR (FH_SUSPENDED if the
 * run was cancelled at this boundary). */
static int
fail_for_good(struct steprules *s, struct fh_ctx *ctx, struct step_outcome *o,
              char *why, char *id)
{
    o->status = "failed";
    o->error = why;
    o->final = 1;
    s->ops->record(ctx, o);
    stored(s);
    set_error(ctx, why, 1);
    free(id);
    return s->suspended == STEPRULES_CANCELLED ? FH_SUSPENDED : FH_ERR;
}

/* The start every step call shares: *OUT (may be NULL) cleared; 0 when
 * the call may go on, else 1 with what it returns in *RC: outside a
 * handler, after the run stopped (FH_SUSPENDED), or for a NAME that is
 * missing or not UTF-8 (the API shows step names), the error naming API. */
static int
step_start(struct steprules *s, struct fh_ctx *ctx, const char *api,
           const char *name, struct json_object **out, int *rc)
{
    if (out != NULL)
        *out = NULL;
    if (s == NULL)
        *rc = outside(ctx);
    else if (s->suspended)
        *rc = FH_SUSPENDED; /* the handler went on after a suspension */
    else if (name == NULL || *name == '\0')
        *rc = (set_error(ctx, ctx_format("%s: a step needs a name", api), 1),
               FH_ERR);
    else if (!json_check_utf8(name, strlen(name)))
        *rc = (set_error(ctx,
                         ctx_format("%s: a step's name must be UTF-8", api),
                         1),
               FH_ERR);
    else
        return 0;
    return 1;
}

/* What kind of step run_step() runs. */
struct step_kind {
    const char *api;  /* the API call, for errors: "fh_step" */
    const char *kind; /* the stored kind: "run" or "send" */
    int direct;       /* call FN itself, never ops->call (no mock) */
    const char *events; /* "send": set by FN, the events' JSON text */
    int branch;       /* the target of a branch's invocation: its
                         outcome ends the invocation */
};

static int run_body(struct steprules *s, struct fh_ctx *ctx, char *id,
                    const char *name, struct step_kind *k, fh_step_fn fn,
                    void *arg, struct json_object **result);

/* A step of kind K: its stored outcome if it has one, else FN(ARG) run
 * now and its outcome recorded (fh_step() and fh_send_event()). */
static int
run_step(struct steprules *s, struct fh_ctx *ctx, const char *name,
         struct step_kind *k, fh_step_fn fn, void *arg,
         struct json_object **result)
{
    char *id;
    int rc;

    if (step_start(s, ctx, k->api, name, result, &rc))
        return rc;
    if (fn == NULL) {
        set_error(ctx, ctx_format("%s: a step needs a function", k->api), 1);
        return FH_ERR;
    }
    if (memoized(s, ctx, name, result, &id, &rc))
        return rc;
    if (s->target != NULL)
        return stray(s, ctx, id);
    return run_body(s, ctx, id, name, k, fn, arg, result);
}

/* Runs step ID (new: freed here), NAME, of kind K: FN(ARG) now, its
 * outcome recorded. */
static int
run_body(struct steprules *s, struct fh_ctx *ctx, char *id, const char *name,
         struct step_kind *k, fh_step_fn fn, void *arg,
         struct json_object **result)
{
    const struct steprules_ops *ops = s->ops;
    struct step_outcome o;
    struct json_object *res = NULL;
    const char *why;
    char *err;
    int rc, no_retry = 0;

    set_error(ctx, NULL, 0);
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = k->kind;
    o.branch = k->branch;
    o.attempt = s->attempt;
    ctx->attempt = s->attempt;
    ctx->step_id = id;
    o.started_at = ops->now_ms();
    rc = k->direct ? fn(ctx, arg, &res) : ops->call(ctx, name, fn, arg, &res);
    o.ended_at = ops->now_ms();
    ctx->step_id = NULL;
    if (rc == FH_OK &&
        json_check_depth(res, STEPRULES_MAX_DEPTH) > STEPRULES_MAX_DEPTH) {
        /* The store and the replay could not read it back. */
        set_error(ctx,
                  ctx_format("step result nests deeper than"
                             " %d levels",
                             STEPRULES_MAX_DEPTH),
                  1);
        rc = FH_ERR;
    }
    if (rc == FH_OK) {
        size_t len;
        char *bad;

        o.result_text = json_object_to_json_string_length(
            res, JSON_C_TO_STRING_PLAIN, &len);
        if (o.result_text == NULL) {
            /* A custom serializer failed, or memory ran out. */
            set_error(ctx,
                      ctx_format("step result could not be"
                                 " serialized"),
                      1);
            rc = FH_ERR;
        } else if (len > STEPRULES_MAX_OUTPUT) {
            /* Retrying would return as much again. */
            set_error(ctx,
                      ctx_format("step result is %zu bytes, more than the"
                                 " %d MiB a step may return",
                                 len, STEPRULES_MAX_OUTPUT >> 20),
                      1);
            o.result_text = NULL;
            rc = FH_ERR;
        } else if ((bad = json_check_text("step result", o.result_text, len)) !=
                   NULL) {
            /* A custom serializer (json_object_set_serializer(),
             * json_object_new_double_s()) wrote text a replay would
             * misread, or the result holds NaN or Infinity. */
            set_error(ctx, bad, 1);
            o.result_text = NULL;
            rc = FH_ERR;
        } else if (s->state_bytes > STEPRULES_MAX_RUN_STATE ||
                   len > STEPRULES_MAX_RUN_STATE - s->state_bytes) {
            /* A resume could not carry it: refused before it is stored. */
            set_error(ctx,
                      ctx_format("step result of %zu bytes would take the"
                                 " run's stored steps to %llu bytes, over"
                                 " the %llu MiB a run may keep",
                                 len,
                                 (unsigned long long)(s->state_bytes + len),
                                 STEPRULES_MAX_RUN_STATE >> 20),
                      1);
            o.result_text = NULL;
            rc = FH_ERR;
        } else if (s->share > 0 && len > s->share) {
            /* Its group's other branches are stored without it seeing
             * them: each may take its share of what is left. */
            set_error(ctx,
                      ctx_format("parallel step result of %zu bytes is"
                                 " more than its share, %llu bytes, of"
                                 " what is left of the %llu MiB a run may"
                                 " keep (each of a group's branches may"
                                 " take an equal share)",
                                 len, (unsigned long long)s->share,
                                 STEPRULES_MAX_RUN_STATE >> 20),
                      1);
            o.result_text = NULL;
            rc = FH_ERR;
        } else {
            s->state_bytes += len;
        }
    }
    if (rc == FH_OK) {
        o.status = "completed";
        o.result = res;
        o.events = k->events;
        ops->record(ctx, &o);
        stored(s);
        if (res != NULL)
            json_object_array_add(s->owned, res);
        if (result != NULL)
            *result = res;
        ctx->attempt = 0;
        free(id);
        /* Stored, and cancelled there: the handler stops. */
        return s->suspended == STEPRULES_CANCELLED ? FH_SUSPENDED : FH_OK;
    }
    json_object_put(res);
    res = NULL;
    why = ctx_core(ctx)->error;
    no_retry = ctx_core(ctx)->no_retry;
    err = why != NULL ? ctx_format("%s", why)
                      : ctx_format("step returned %d without a reason", rc);
    o.status = "failed";
    o.error = err;
    o.final = no_retry || s->attempt + 1 >= s->max_attempts;
    ops->record(ctx, &o);
    free(id);
    if (o.final) {
        /* Out of attempts: the failure is the step's outcome, stored like
         * a result, and the handler decides what it means. */
        s->state_bytes += strlen(err);
        stored(s);
        set_error(ctx, err, 1);
        ctx->attempt = 0;
        return s->suspended == STEPRULES_CANCELLED ? FH_SUSPENDED : FH_ERR;
    }
    s->suspended = STEPRULES_RETRY;
    /* The delay the step asked for; the error set next clears it. */
    s->retry_after_ms = ctx_core(ctx)->retry_after_ms;
    set_error(ctx, err, 0);
    return FH_SUSPENDED;
}

int
steprules_run(struct steprules *s, struct fh_ctx *ctx, const char *name,
              fh_step_fn fn, void *arg, struct json_object **result)
{
    struct step_kind k = {"fh_step", "run", 0, NULL, 0};

    return run_step(s, ctx, name, &k, fn, arg, result);
}

/* fh_send_event()'s step body: checks and completes the events as the
 * event API does, gives each an id, and returns {"ids": [...]}. */
struct sending {
    struct steprules *s;
    struct json_object *events; /* as the handler gave them */
    struct json_object *normal; /* what is sent: an array */
    struct step_kind *k;
};

static int
send_body(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct sending *sd = arg;
    struct json_object *in = sd->events, *ids, *out;
    int many = json_object_is_type(in, json_type_array);
    size_t n = many ? json_object_array_length(in) : 1, len;
    int64_t now = sd->s->ops->now_ms();
    char err[512];

    if (in == NULL || (!many && !json_object_is_type(in, json_type_object)))
        return ctx_fail(ctx, FH_NO_RETRY, "send an event object or an array"
                                          " of event objects");
    if (n == 0 || n > STEPRULES_MAX_SEND)
        return ctx_fail(ctx, FH_NO_RETRY, "send 1 to %d events at once, not"
                                          " %zu", STEPRULES_MAX_SEND, n);
    sd->normal = json_object_new_array_ext((int)n);
    ids = json_object_new_array_ext((int)n);
    if (sd->normal == NULL || ids == NULL)
        ctx_abort_oom();
    for (size_t i = 0; i < n; i++) {
        struct json_object *ev;
        char where[32], id[EVENT_ID_LEN + 1];

        snprintf(where, sizeof(where), many ? "events[%zu]" : "event", i);
        ev = event_normalize(many ? json_object_array_get_idx(in, i) : in,
                             where, now, err, sizeof(err));
        if (ev == NULL) {
            json_object_put(ids);
            return ctx_fail(ctx, FH_NO_RETRY, "%s", err);
        }
        json_object_array_add(sd->normal, ev);
        sd->s->ops->new_id(id, now);
        json_object_array_add(ids, json_object_new_string(id));
    }
    sd->k->events = json_object_to_json_string_length(
        sd->normal, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
        &len);
    if (sd->k->events == NULL)
        ctx_abort_oom();
    if (len > STEPRULES_MAX_OUTPUT) {
        sd->k->events = NULL;
        json_object_put(ids);
        return ctx_fail(ctx, FH_NO_RETRY, "the events are %zu bytes as JSON,"
                                          " more than the %d MiB one step"
                                          " may send",
                        len, STEPRULES_MAX_OUTPUT >> 20);
    }
    if ((out = json_object_new_object()) == NULL)
        ctx_abort_oom();
    json_object_object_add(out, "ids", ids);
    *result = out;
    return FH_OK;
}

int
steprules_send(struct steprules *s, struct fh_ctx *ctx, const char *name,
               struct json_object *events, struct json_object **ids)
{
    struct step_kind k = {"fh_send_event", "send", 1, NULL, 0};
    struct sending sd = {s, events, NULL, &k};
    struct json_object *res = NULL;
    int rc;

    if (ids != NULL)
        *ids = NULL;
    rc = run_step(s, ctx, name, &k, send_body, &sd, &res);
    json_object_put(sd.normal);
    json_object_put(events);
    if (rc == FH_OK && ids != NULL)
        *ids = json_object_object_get(res, "ids");
    return rc;
}

int
steprules_invoke(struct steprules *s, struct fh_ctx *ctx, const char *name,
                 const struct fh_invoke *req, struct json_object **result)
{
    struct json_object *data = NULL, *ev, *list, *res;
    struct step_outcome o;
    const char *fn = NULL, *timeout = "1y", *text;
    int64_t now, ms = STEPRULES_MAX_SLEEP_MS;
    char err[256], *why = NULL, *id;
    size_t len;
    int rc;

    if (result != NULL)
        *result = NULL;
    /* Whatever happens, DATA is the host's now. */
    if (req != NULL && req->size >= offsetof(struct fh_invoke, data) +
                                        sizeof(req->data))
        data = req->data;
    if (step_start(s, ctx, "fh_invoke", name, result, &rc) ||
        memoized(s, ctx, name, result, &id, &rc)) {
        json_object_put(data);
        return rc;
    }
    if (s->target != NULL) {
        json_object_put(data);
        return stray(s, ctx, id);
    }
    if (req == NULL || req->size < offsetof(struct fh_invoke, timeout) ||
        req->size > 4096)
        why = ctx_format("fh_invoke: write the request with"
                         " FH_INVOKE_REQ()");
    else if ((fn = req->function_id) == NULL || *fn == '\0' ||
             !json_check_utf8(fn, strlen(fn)))
        why = ctx_format("fh_invoke \"%s\": no function id", name);
    else if (data != NULL && !json_object_is_type(data, json_type_object))
        why = ctx_format("fh_invoke \"%s\": data must be an object", name);
    if (why == NULL && req->size >= offsetof(struct fh_invoke, timeout) +
                                        sizeof(req->timeout) &&
        req->timeout != NULL) {
        timeout = req->timeout;
        if (duration_parse(timeout, &ms, err, sizeof(err)) != 0)
            why = ctx_format("fh_invoke \"%s\": timeout: %s", name, err);
        else if (ms > STEPRULES_MAX_SLEEP_MS || ms <= 0)
            why = ctx_format("fh_invoke \"%s\": timeout \"%s\" must be"
                             " more than 0 and at most a year",
                             name, timeout);
    }
    now = s->ops->now_ms();
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = "invoke";
    o.attempt = s->attempt;
    o.started_at = o.ended_at = now;
    ev = json_object_new_object();
    list = json_object_new_array();
    res = json_object_new_object();
    if (ev == NULL || list == NULL || res == NULL)
        ctx_abort_oom();
    json_object_object_add(ev, "name", json_object_new_string(EVENT_INVOKED));
    json_object_object_add(ev, "data",
                           data != NULL ? data : json_object_new_object());
    json_object_array_add(list, ev);
    if (why == NULL) {
        text = json_object_to_json_string_length(
            list, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
            &len);
        if (text == NULL)
            ctx_abort_oom();
        if (len > STEPRULES_MAX_OUTPUT)
            why = ctx_format("fh_invoke \"%s\": data is %zu bytes as JSON,"
                             " more than the %d MiB an event may hold",
                             name, len, STEPRULES_MAX_OUTPUT >> 20);
        else if ((why = json_check_text("fh_invoke data", text, len)) == NULL)
            o.events = text;
    }
    if (why != NULL) {
        /* Retrying cannot fix the request. */
        json_object_put(list);
        json_object_put(res);
        return fail_for_good(s, ctx, &o, why, id);
    }
    json_object_object_add(res, "function_id", json_object_new_string(fn));
    json_object_object_add(res, "timeout", json_object_new_string(timeout));
    o.status = "invoking";
    o.target = fn;
    o.wake_at = now + ms;
    o.result = res;
    o.result_text = json_object_to_json_string_ext(res, JSON_C_TO_STRING_PLAIN);
    s->ops->record(ctx, &o);
    s->suspended = STEPRULES_SLEEP; /* until the invoked run ends */
    json_object_put(list);
    json_object_put(res);
    free(id);
    return FH_SUSPENDED;
}

int
steprules_fetch(struct steprules *s, struct fh_ctx *ctx, const char *name,
                const struct fh_fetch *req, struct json_object **response)
{
    struct step_outcome o;
    struct json_object *request = NULL;
    int64_t room;
    size_t len = 0;
    char *id, *why;
    int rc;

    if (step_start(s, ctx, "fh_fetch", name, response, &rc) ||
        memoized(s, ctx, name, response, &id, &rc))
        return rc;
    if (s->target != NULL)
        return stray(s, ctx, id);
    /* The response is stored as the step's result: it must fit what the
     * run may keep, as a step's result must. */
    room = s->state_bytes >= STEPRULES_MAX_RUN_STATE
               ? 0
               : (int64_t)(STEPRULES_MAX_RUN_STATE - s->state_bytes);
    why = fetch_req_build(req, room, &request);
    memset(&o, 0, sizeof(o));
    if (why == NULL) {
        o.result_text = json_object_to_json_string_length(
            request, JSON_C_TO_STRING_PLAIN, &len);
        if (o.result_text == NULL)
            ctx_abort_oom();
        if (len > STEPRULES_MAX_OUTPUT)
            why = ctx_format("the request is %zu bytes as JSON, more than"
                             " the %d MiB a step may store",
                             len, STEPRULES_MAX_OUTPUT >> 20);
    }
    o.id = id;
    o.name = name;
    o.kind = "fetch";
    o.attempt = s->attempt;
    o.started_at = o.ended_at = s->ops->now_ms();
    if (why != NULL) {
        char *err = ctx_format("fetch \"%s\": %s", name, why);

        /* Retrying cannot fix a bad request: the step fails for good. */
        free(why);
        json_object_put(request);
        o.result_text = NULL;
        s->state_bytes += strlen(err);
        return fail_for_good(s, ctx, &o, err, id);
    }
    o.status = "fetching";
    o.result = request;
    s->ops->record(ctx, &o);
    s->suspended = STEPRULES_FETCH;
    json_object_put(request);
    free(id);
    return FH_SUSPENDED;
}

/* A sleep until AT (ms), or one that fails with WHY (new) if not NULL;
 * DURATION is what the handler wrote, or NULL. NOW is the one reading of
 * the clock the call uses, so a sleep of N ms is recorded as N. */
static int
sleep_at(struct steprules *s, struct fh_ctx *ctx, const char *name,
         const char *duration, int64_t now, int64_t at, char *why)
{
    struct step_outcome o;
    char *id;
    int rc;

    if (memoized(s, ctx, name, NULL, &id, &rc)) {
        free(why);
        return rc;
    }
    if (why == NULL && at - now > STEPRULES_MAX_SLEEP_MS)
        why = ctx_format("sleep \"%s\" is longer than a year", name);
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = "sleep";
    o.attempt = s->attempt;
    o.started_at = o.ended_at = now;
    o.duration = duration;
    if (s->target != NULL && (why != NULL || at > now)) {
        free(why);
        return stray(s, ctx, id);
    }
    if (why == NULL && at <= now) {
        /* Nothing to wait for; replays decide the same way. */
        o.status = "completed";
        o.wake_at = at;
        if (s->ops->passed != NULL)
            s->ops->passed(ctx, &o);
        free(id);
        return FH_OK;
    }
    if (why != NULL) /* retrying cannot fix a bad duration */
        return fail_for_good(s, ctx, &o, why, id);
    o.status = "sleeping";
    o.wake_at = at;
    s->ops->record(ctx, &o);
    s->suspended = STEPRULES_SLEEP;
    free(id);
    return FH_SUSPENDED;
}

int
steprules_sleep(struct steprules *s, struct fh_ctx *ctx, const char *name,
                int until, const char *duration, int64_t at_ms)
{
    int64_t now, ms = 0;
    char err[256];
    int rc;

    if (step_start(s, ctx, until ? "fh_sleep_until" : "fh_sleep", name, NULL,
                   &rc))
        return rc;
    now = s->ops->now_ms();
    if (until)
        return sleep_at(s, ctx, name, NULL, now, at_ms, NULL);
    if (duration == NULL ||
        duration_parse(duration, &ms, err, sizeof(err)) != 0)
        return sleep_at(s, ctx, name, duration, now, 0,
                        ctx_format("sleep \"%s\": %s", name,
                                   duration ? err : "no duration"));
    if (ms > STEPRULES_MAX_SLEEP_MS)
        return sleep_at(s, ctx, name, duration, now, 0,
                        ctx_format("sleep \"%s\": \"%s\" is longer than a year",
                                   name, duration));
    return sleep_at(s, ctx, name, duration, now, now + ms, NULL);
}

/* What a plugin's struct fh_wait says, read as far as its size: 0 is
 * 1.3's layout. NULL, or why it cannot be read (new). */
static char *
wait_read(const struct fh_wait *w, struct fh_wait *out)
{
    size_t n;

    memset(out, 0, sizeof(*out));
    if (w == NULL)
        return ctx_format("no wait given");
    n = w->size == 0 ? sizeof(*out) : w->size;
    if (n < offsetof(struct fh_wait, lookback) + sizeof(w->lookback))
        return ctx_format("its struct fh_wait says it is %zu bytes, smaller"
                          " than ABI 1.3's: set it with FH_WAIT()", n);
    if (n > 4096)
        return ctx_format("its struct fh_wait says it is %zu bytes: set it"
                          " with FH_WAIT()", n);
    for (size_t i = sizeof(*out); i < n; i++)
        if (((const unsigned char *)w)[i] != 0)
            return ctx_format("it sets a field of struct fh_wait newer than"
                              " this host's ABI %d.%d knows: upgrade fnhost",
                              FH_ABI_MAJOR, FH_ABI_MINOR);
    memcpy(out, w, n < sizeof(*out) ? n : sizeof(*out));
    return NULL;
}

/* Checks wait W of step NAME and fills O's wait fields, reading the clock
 * once as NOW: NULL, or why the wait cannot be (new). */
static char *
wait_check(struct steprules *s, const char *name, const struct fh_wait *w,
           int64_t now, struct step_outcome *o)
{
    char err[256];
    int64_t ms;

    if (w->event == NULL || *w->event == '\0' ||
        !json_check_utf8(w->event, strlen(w->event)))
        return ctx_format("wait \"%s\": .event, the name to wait for, is"
                          " needed, in UTF-8", name);
    if (w->match != NULL && !wait_path_ok(w->match))
        return ctx_format("wait \"%s\": .match \"%s\" is not a dotted path"
                          " like \"data.user_id\"", name, w->match);
    if (w->if_expr != NULL &&
        !json_check_utf8(w->if_expr, strlen(w->if_expr)))
        return ctx_format("wait \"%s\": .if_expr is not UTF-8", name);
    if (w->if_expr != NULL && s->ops->check_expr != NULL &&
        s->ops->check_expr(w->if_expr, err, sizeof(err)) != 0)
        return ctx_format("wait \"%s\": .if_expr: %s", name, err);
    if ((w->timeout == NULL) == (w->timeout_at == 0))
        return ctx_format("wait \"%s\": set one of .timeout and"
                          " .timeout_at", name);
    if (w->timeout != NULL) {
        if (duration_parse(w->timeout, &ms, err, sizeof(err)) != 0)
            return ctx_format("wait \"%s\": .timeout: %s", name, err);
        o->wake_at = now + ms;
    } else {
        o->wake_at = w->timeout_at;
    }
    if (o->wake_at - now > STEPRULES_MAX_SLEEP_MS)
        return ctx_format("wait \"%s\": its timeout is more than a year"
                          " away", name);
    /* A timeout that has passed still records the wait (a look-back may
     * find its event); the scheduler ends it at once. */
    if (o->wake_at <= now)
        o->wake_at = now + 1;
    if (w->lookback != NULL) {
        if (duration_parse(w->lookback, &ms, err, sizeof(err)) != 0)
            return ctx_format("wait \"%s\": .lookback: %s", name, err);
        if (ms > STEPRULES_MAX_SLEEP_MS)
            return ctx_format("wait \"%s\": .lookback is longer than a"
                              " year", name);
        o->lookback_ms = ms;
    }
    o->wait_event = w->event;
    o->wait_match = w->match;
    o->wait_if = w->if_expr;
    return NULL;
}

int
steprules_wait(struct steprules *s, struct fh_ctx *ctx, const char *name,
               const struct fh_wait *wait, struct json_object **event)
{
    struct step_outcome o;
    struct fh_wait w;
    char *id, *why, *value = NULL;
    int rc;

    if (step_start(s, ctx, "fh_wait_for_event", name, event, &rc) ||
        memoized(s, ctx, name, event, &id, &rc))
        return rc;
    if (s->target != NULL)
        return stray(s, ctx, id);
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = "wait";
    o.attempt = s->attempt;
    o.started_at = o.ended_at = s->ops->now_ms();
    if ((why = wait_read(wait, &w)) != NULL) {
        char *named = ctx_format("wait \"%s\": %s", name, why);

        free(why);
        why = named;
    } else {
        why = wait_check(s, name, &w, o.started_at, &o);
    }
    if (why != NULL) {
        /* Retrying cannot fix the wait: the step fails for good. */
        o.status = "failed";
        o.error = why;
        o.final = 1;
        o.wake_at = 0;
        s->ops->record(ctx, &o);
        stored(s);
        set_error(ctx, why, 1);
        free(id);
        return FH_ERR;
    }
    if (w.match != NULL)
        o.wait_value = value = wait_value_at(s->event, w.match);
    o.status = "waiting";
    s->ops->record(ctx, &o);
    s->suspended = STEPRULES_WAIT;
    free(value);
    free(id);
    return FH_SUSPENDED;
}

/* ------------------------------------------------------ parallel groups */

/* What a plugin's struct fh_parallel says, read as far as its size and
 * checked into OUT: NULL, or why it cannot be (new). */
static char *
parallel_read(const char *name, const struct fh_parallel *req,
              struct fh_parallel *out)
{
    memset(out, 0, sizeof(*out));
    if (req == NULL ||
        req->size < offsetof(struct fh_parallel, mode) + sizeof(req->mode) ||
        req->size > 4096)
        return ctx_format("fh_parallel \"%s\": write the request with"
                          " FH_PARALLEL_REQ()", name);
    for (size_t i = sizeof(*out); i < req->size; i++)
        if (((const unsigned char *)req)[i] != 0)
            return ctx_format("fh_parallel \"%s\": it sets a field of"
                              " struct fh_parallel newer than this host's"
                              " ABI %d.%d knows: upgrade fnhost",
                              name, FH_ABI_MAJOR, FH_ABI_MINOR);
    memcpy(out, req, req->size < sizeof(*out) ? req->size : sizeof(*out));
    if (out->n == 0 || out->n > FH_PARALLEL_MAX || out->branches == NULL)
        return ctx_format("fh_parallel \"%s\": %zu branches; a group has 1"
                          " to %d", name, out->branches ? out->n : 0,
                          FH_PARALLEL_MAX);
    if (out->mode != FH_PARALLEL_ALL && out->mode != FH_PARALLEL_RACE)
        return ctx_format("fh_parallel \"%s\": mode %d is neither"
                          " FH_PARALLEL_ALL nor FH_PARALLEL_RACE", name,
                          out->mode);
    for (size_t i = 0; i < out->n; i++) {
        const struct fh_branch *b = &out->branches[i];

        if (b->name == NULL || *b->name == '\0' ||
            !json_check_utf8(b->name, strlen(b->name)))
            return ctx_format("fh_parallel \"%s\": branch %zu needs a"
                              " name, in UTF-8", name, i);
        if (b->fn == NULL)
            return ctx_format("fh_parallel \"%s\": branch \"%s\" needs a"
                              " function", name, b->name);
    }
    return NULL;
}

/* Step ID's stored outcome, leaving the context alone: 1 and *DATA (its
 * result, borrowed), -1 and *ERR (borrowed), or 0 for none. */
static int
outcome_of(const struct steprules *s, const char *id, struct json_object **data,
           const char **err)
{
    struct json_object *e, *v;

    *data = NULL;
    *err = NULL;
    if (!json_object_object_get_ex(s->memo, id, &e))
        return 0;
    if (json_object_object_get_ex(e, "error", &v)) {
        *err = json_object_get_string(v);
        return -1;
    }
    *data = json_object_object_get(e, "data");
    return 1;
}

/* The index of ID among the N ids IDS, or -1. */
static long
index_of(char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] != NULL && strcmp(ids[i], id) == 0)
            return (long)i;
    return -1;
}

/* The results of group P, whose branches' ids are IDS and whose stored
 * plan is PLAN: every branch's, or in race mode the winner's. */
static int
group_results(struct steprules *s, struct fh_ctx *ctx,
              const struct fh_parallel *p, char *const *ids,
              struct json_object *plan, struct json_object **results,
              size_t *winner)
{
    const char *mode = fh_json_str(plan, "mode");
    int race = mode != NULL && strcmp(mode, "race") == 0;
    long w = 0;
    char *why = NULL;

    if (race) {
        const char *wid = fh_json_str(plan, "winner");

        w = wid != NULL ? index_of(ids, p->n, wid) : -1;
        if (w < 0) {
            set_error(ctx, ctx_format("parallel group: its winner \"%s\" is"
                                      " not one of its branches",
                                      wid ? wid : "(none)"),
                      1);
            return FH_ERR;
        }
        if (winner != NULL)
            *winner = (size_t)w;
    }
    for (size_t i = 0; i < p->n; i++) {
        struct json_object *data;
        const char *err;
        int r;

        if (race && (long)i != w)
            continue;
        r = outcome_of(s, ids[i], &data, &err);
        if (r != 0 && s->ops->replayed != NULL)
            s->ops->replayed(ctx, ids[i]);
        if (r > 0 && results != NULL)
            results[i] = data;
        else if (r < 0 && why == NULL)
            why = ctx_format("step %s: %s", ids[i], err);
        else if (r == 0 && why == NULL)
            why = ctx_format("step %s: it has no stored outcome", ids[i]);
    }
    if (why != NULL) {
        set_error(ctx, why, 1);
        return FH_ERR;
    }
    return FH_OK;
}

/* The plan of group P (new): see steprules.h. */
static struct json_object *
group_plan(const struct fh_parallel *p, char *const *ids)
{
    struct json_object *plan = json_object_new_object();
    struct json_object *list = json_object_new_array_ext((int)p->n);

    if (plan == NULL || list == NULL)
        ctx_abort_oom();
    json_object_object_add(plan, "mode",
                           json_object_new_string(
                               p->mode == FH_PARALLEL_RACE ? "race" : "all"));
    for (size_t i = 0; i < p->n; i++) {
        struct json_object *b = json_object_new_object();

        if (b == NULL)
            ctx_abort_oom();
        json_object_object_add(b, "id", json_object_new_string(ids[i]));
        json_object_object_add(b, "name",
                               json_object_new_string(p->branches[i].name));
        json_object_array_add(list, b);
    }
    json_object_object_add(plan, "branches", list);
    return plan;
}

/* Records group GID (NAME) with STATUS and PLAN (borrowed). */
static void
record_group(struct steprules *s, struct fh_ctx *ctx, const char *gid,
             const char *name, const char *status, struct json_object *plan)
{
    struct step_outcome o;

    memset(&o, 0, sizeof(o));
    o.id = gid;
    o.name = name;
    o.kind = "parallel";
    o.status = status;
    o.attempt = s->attempt;
    o.started_at = o.ended_at = s->ops->now_ms();
    o.result = plan;
    o.result_text = json_object_to_json_string_ext(plan,
                                                   JSON_C_TO_STRING_PLAIN);
    s->ops->record(ctx, &o);
}

/* Runs group P's branches one after the other, in this call, and stores
 * the group (the SDK's harness): in race mode the first to end wins and
 * the rest never run. */
static int
run_inline(struct steprules *s, struct fh_ctx *ctx, const char *name,
           const char *gid, const struct fh_parallel *p, char **ids,
           struct json_object **results, size_t *winner)
{
    struct json_object *plan;
    long w = -1;
    int rc;

    for (size_t i = 0; i < p->n && w < 0; i++) {
        struct step_kind k = {"fh_parallel", "run", 0, NULL, 0};
        struct json_object *data;
        const char *err;

        if (outcome_of(s, ids[i], &data, &err) == 0) {
            char *id = strdup(ids[i]);

            if (id == NULL)
                ctx_abort_oom();
            run_body(s, ctx, id, p->branches[i].name, &k,
                     p->branches[i].fn, p->branches[i].arg, NULL);
            if (s->suspended) /* a retry, or a cancel */
                return FH_SUSPENDED;
        }
        if (p->mode == FH_PARALLEL_RACE)
            w = (long)i;
    }
    plan = group_plan(p, ids);
    if (w >= 0)
        json_object_object_add(plan, "winner", json_object_new_string(ids[w]));
    record_group(s, ctx, gid, name, "completed", plan);
    stored(s);
    json_object_array_add(s->owned, plan);
    if (s->suspended == STEPRULES_CANCELLED)
        return FH_SUSPENDED;
    rc = group_results(s, ctx, p, ids, plan, results, winner);
    return rc;
}

int
steprules_parallel(struct steprules *s, struct fh_ctx *ctx, const char *name,
                   const struct fh_parallel *req, struct json_object **results,
                   size_t *winner)
{
    struct fh_parallel p;
    struct json_object *plan;
    const char *err;
    char *gid = NULL, **ids = NULL, *why;
    long t;
    int rc;

    if (winner != NULL)
        *winner = 0;
    if (results != NULL && req != NULL &&
        req->size >= offsetof(struct fh_parallel, n) + sizeof(req->n) &&
        req->n <= FH_PARALLEL_MAX)
        memset(results, 0, req->n * sizeof(*results));
    if (step_start(s, ctx, "fh_parallel", name, NULL, &rc))
        return rc;
    if ((why = parallel_read(name, req, &p)) != NULL) {
        set_error(ctx, why, 1);
        return FH_ERR;
    }
    gid = step_id(s, name);
    if ((ids = calloc(p.n, sizeof(*ids))) == NULL)
        ctx_abort_oom();
    for (size_t i = 0; i < p.n; i++)
        ids[i] = step_id(s, p.branches[i].name);
    t = s->target != NULL ? index_of(ids, p.n, s->target) : -1;

    if (outcome_of(s, gid, &plan, &err) != 0) {
        /* The group has ended. A branch of it that runs only now (it
         * lost a race, or is a copy) has nothing left to do. */
        if (s->ops->replayed != NULL)
            s->ops->replayed(ctx, gid);
        if (t >= 0) {
            s->suspended = STEPRULES_BRANCH;
            rc = FH_SUSPENDED;
        } else {
            rc = group_results(s, ctx, &p, ids, plan, results, winner);
        }
    } else if (s->target != NULL && t < 0) {
        rc = stray(s, ctx, gid);
        gid = NULL;
    } else if (s->target != NULL) {
        /* This invocation's branch: its body alone, unless it has its
         * outcome already; either way the invocation ends here. */
        struct step_kind k = {"fh_parallel", "run", 0, NULL, 1};
        struct json_object *data;

        if (outcome_of(s, ids[t], &data, &err) == 0) {
            uint64_t room = s->state_bytes < STEPRULES_MAX_RUN_STATE
                                ? STEPRULES_MAX_RUN_STATE - s->state_bytes
                                : 0;

            s->share = room / p.n > 0 ? room / p.n : 1;
            run_body(s, ctx, ids[t], p.branches[t].name, &k,
                     p.branches[t].fn, p.branches[t].arg, NULL);
            s->share = 0;
            ids[t] = NULL; /* run_body freed it */
        }
        if (s->suspended == STEPRULES_RUNNING)
            s->suspended = STEPRULES_BRANCH;
        rc = FH_SUSPENDED;
    } else if (s->inline_parallel) {
        rc = run_inline(s, ctx, name, gid, &p, ids, results, winner);
    } else {
        /* The group begins: its plan is stored, and each branch becomes
         * a unit of work of its own. */
        plan = group_plan(&p, ids);
        record_group(s, ctx, gid, name, "parallel", plan);
        s->suspended = STEPRULES_PARALLEL;
        json_object_put(plan);
        rc = FH_SUSPENDED;
    }
    for (size_t i = 0; i < p.n; i++)
        free(ids[i]);
    free(ids);
    free(gid);
    return rc;
}

void
steprules_cancel(struct steprules *s)
{
    if (s != NULL && s->suspended == STEPRULES_RUNNING)
        s->suspended = STEPRULES_CANCELLED;
}

void
steprules_decide(struct steprules *s, struct fh_ctx *ctx, int rc,
                 struct steprules_verdict *v)
{
    struct ctx_core *c = ctx_core(ctx);

    memset(v, 0, sizeof(*v));
    if (s->suspended == STEPRULES_STRAY) {
        v->end = STEPRULES_END_FAILED;
        v->error = s->stray;
        v->no_retry = 1;
        return;
    }
    if (s->suspended == STEPRULES_BRANCH) {
        /* The branch's target has its outcome: what the handler says
         * after that is not the run's. */
        v->end = STEPRULES_END_COMPLETED;
        return;
    }
    if (s->suspended == STEPRULES_PARALLEL) {
        v->end = STEPRULES_END_PARALLEL;
        v->ignored_suspension = rc != FH_SUSPENDED;
        return;
    }
    if (s->target != NULL && s->suspended == STEPRULES_RUNNING &&
        (rc == FH_OK || rc == FH_SUSPENDED)) {
        v->end = STEPRULES_END_FAILED;
        v->error = v->owned = ctx_format("parallel branch \"%s\": the"
                                         " handler ended without reaching"
                                         " its group", s->target);
        v->no_retry = 1;
        return;
    }
    if (s->suspended == STEPRULES_CANCELLED) {
        /* Whatever the handler returned after its step said stop. */
        v->end = STEPRULES_END_CANCELLED;
        v->error = "cancelled at a step boundary";
        v->no_retry = 1;
        v->ignored_suspension = rc != FH_SUSPENDED;
        return;
    }
    if (s->suspended != STEPRULES_RUNNING) {
        /* A sleep, a fetch, a wait or a step's retry stops the run,
         * whatever the handler returned after ignoring FH_SUSPENDED. */
        v->end = s->suspended == STEPRULES_SLEEP   ? STEPRULES_END_SLEEP
                 : s->suspended == STEPRULES_FETCH ? STEPRULES_END_FETCH
                 : s->suspended == STEPRULES_WAIT  ? STEPRULES_END_WAIT
                                                   : STEPRULES_END_RETRY;
        v->error = c->error;
        v->retry_after_ms = s->retry_after_ms;
        v->ignored_suspension = rc != FH_SUSPENDED;
        return;
    }
    if (rc == FH_OK && c->has_output &&
        (v->owned = steprules_check_output(c->output, &v->output)) != NULL) {
        /* The store could not read it back: no attempt would do better. */
        v->end = STEPRULES_END_FAILED;
        v->error = v->owned;
        v->no_retry = 1;
        return;
    }
    if (rc == FH_OK) {
        v->end = STEPRULES_END_COMPLETED;
        return;
    }
    if (rc == FH_SUSPENDED) {
        v->error = "the handler returned FH_SUSPENDED but no step suspended";
    } else {
        if (c->error != NULL)
            v->error = c->error;
        else
            v->error = v->owned =
                ctx_format("handler returned %d without a reason", rc);
        v->no_retry = c->no_retry;
        v->retry_after_ms = c->retry_after_ms;
    }
    if (v->no_retry || s->attempt + 1 >= s->max_attempts) {
        /* No attempt is left to delay. */
        v->end = STEPRULES_END_FAILED;
        v->retry_after_ms = 0;
    } else {
        v->end = STEPRULES_END_RETRY;
    }
}

void
steprules_verdict_free(struct steprules_verdict *v)
{
    free(v->owned);
    memset(v, 0, sizeof(*v));
}
