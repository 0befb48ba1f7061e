/* fnhost_steps.h - the rules of durable steps, one copy shared by the host
 * (host/steps.c, in a worker) and the SDK's test harness (fnhost_test.c),
 * so a plugin's unit tests see steps behave exactly as fnhost runs them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost and its SDK: everything here is static and may change
 * between releases. Plugins use fh_step() and fh_sleep().
 *
 * The rules: step ids ("name", then "name:1", "name:2", ... within one
 * handler call); a step with a stored outcome returns it without running;
 * a new result must nest at most FH_STEPS_MAX_DEPTH_ levels and print as
 * JSON that reads back (no NaN, no Infinity), as must a run's output; a
 * failed step is retried until its attempts run out or it says not to,
 * and its last error becomes its stored outcome; a sleep takes the duration grammar
 * (fnhost_duration.h), at most a year, and fails for good otherwise; once
 * the run must stop (a retry, a sleep), every later step call says so.
 *
 * Each side supplies the effects (struct fh_steps_ops_): how a step's
 * function is called and how an outcome is kept — the host sends a
 * checkpoint to the master and waits until it is durable, the harness
 * writes it to its own memo. Both contexts start with the same core
 * (fnhost_ctx.h), which holds the error a failed step leaves. */
#ifndef FNHOST_STEPS_H_
#define FNHOST_STEPS_H_

#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost.h"
#include "fnhost_ctx.h"
#include "fnhost_duration.h"
#include "fnhost_event.h"

/* At most one year, as `ms` counts it (365.25 days). */
#define FH_STEPS_MAX_SLEEP_MS_ 31557600000LL
/* How deep a step result or a run's output may nest: what the store and
 * a replay can read back. */
#define FH_STEPS_MAX_DEPTH_ 64

/* How a step call ended, for the side to keep. */
struct fh_step_outcome_ {
    const char *id;              /* "name" or "name:n" */
    const char *name;
    const char *kind;            /* "run" or "sleep" */
    const char *status;          /* "completed", "failed" or "sleeping" */
    struct json_object *result;  /* completed: the result (may be NULL) */
    const char *result_text;     /* completed: RESULT as plain JSON text,
                                    checked to parse back */
    const char *error;           /* failed */
    int final;                   /* failed: no attempt is left; the error is
                                    the step's stored outcome */
    unsigned attempt;            /* 0-based */
    int64_t started_at, ended_at;
    int64_t wake_at;             /* sleeping */
    const char *duration;        /* a sleep as written, or NULL */
};

struct fh_steps_ops_ {
    /* Runs a step's function (the harness may run a mock instead). */
    int (*call)(struct fh_ctx *ctx, const char *name, fh_step_fn fn,
                void *arg, struct json_object **result);
    /* Step ID returned its stored outcome. May be NULL. */
    void (*replayed)(struct fh_ctx *ctx, const char *id);
    /* A step ended. Completed and final outcomes must be durable when
     * this returns; a failed attempt to retry and a sleep suspend the run
     * (read the context's retry-after delay here: the error is set, and
     * the delay cleared, next). */
    void (*record)(struct fh_ctx *ctx, const struct fh_step_outcome_ *o);
    /* A sleep whose time had come: status "completed", nothing to keep
     * (a replay decides the same way). May be NULL. */
    void (*passed)(struct fh_ctx *ctx, const struct fh_step_outcome_ *o);
    int64_t (*now_ms)(void);
};

/* One handler call's steps. */
struct fh_steps_ {
    const struct fh_steps_ops_ *ops;
    struct json_object *memo;    /* borrowed: id -> {"data": v} or
                                    {"error": "..."} */
    struct json_object *names;   /* name -> times seen in this call */
    struct json_object *owned;   /* results of steps run now (an array) */
    unsigned attempt;            /* of the unit running now */
    unsigned max_attempts;
    int64_t unit_started;        /* when the unit running now began */
    int suspended;               /* the run must stop: a retry or sleep */
};

static char *fh_steps_printf_(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), unused));

static char *
fh_steps_printf_(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        fh_ctx_oom_();
    return s;
}

/* Why TEXT (LEN bytes, NUL-terminated), which WHAT ("step result")
 * printed as, would not read back as what it is (new), or NULL: it is
 * not one JSON value (a custom serializer wrote it), or it holds a number
 * JSON has not (NaN, Infinity), which json-c prints and parses back but
 * the API could then only print as text that is not JSON. The NUL is
 * parsed too, so a bare number ends in the same call (each call costs
 * json-c a locale switch). */
static __attribute__((unused)) char *
fh_json_check_(const char *what, const char *text, size_t len)
{
    static struct json_tokener *tok;
    struct json_object *o;
    const char *bad;
    char *why = NULL;

    if (tok == NULL && (tok = json_tokener_new_ex(2 * FH_STEPS_MAX_DEPTH_)) ==
                           NULL)
        fh_ctx_oom_();
    json_tokener_reset(tok);
    o = json_tokener_parse_ex(tok, text, (int)len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len)
        why = fh_steps_printf_("%s is not valid JSON: %.60s", what, text);
    else if ((bad = fh_json_bad_number_(o)) != NULL)
        why = fh_steps_printf_("%s is not valid JSON: %.40s is not a number"
                               " JSON can hold", what, bad);
    json_object_put(o);
    return why;
}

/* How deep O nests (0 for a scalar), counted no further than LIMIT + 1,
 * so that a pathological value cannot exhaust the stack. */
static __attribute__((unused)) int
fh_json_depth_(struct json_object *o, int limit)
{
    int max = 0;

    if (limit < 0)
        return 1;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            int d = fh_json_depth_(v, limit - 1);

            (void)k;
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            int d = fh_json_depth_(json_object_array_get_idx(o, i), limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* Why a run's OUTPUT (fh_set_output()) cannot be stored (new), or NULL
 * with its JSON text in *TEXT (borrowed from OUTPUT): the rules of a step
 * result, so that the store and the API can read it back. */
static __attribute__((unused)) char *
fh_steps_output_check_(struct json_object *output, const char **text)
{
    size_t len;

    *text = NULL;
    if (fh_json_depth_(output, FH_STEPS_MAX_DEPTH_) > FH_STEPS_MAX_DEPTH_)
        return fh_steps_printf_("the output nests too deep to store (more"
                                " than %d levels)", FH_STEPS_MAX_DEPTH_);
    *text = json_object_to_json_string_length(output, JSON_C_TO_STRING_PLAIN,
                                              &len);
    if (*text == NULL)
        return fh_steps_printf_("the output could not be serialized");
    return fh_json_check_("the output", *text, len);
}

static __attribute__((unused)) void
fh_steps_init_(struct fh_steps_ *s, const struct fh_steps_ops_ *ops,
               struct json_object *memo, unsigned attempt,
               unsigned max_attempts)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->memo = memo;
    s->names = json_object_new_object();
    s->owned = json_object_new_array();
    if (s->names == NULL || s->owned == NULL)
        fh_ctx_oom_();
    s->attempt = attempt;
    s->max_attempts = max_attempts ? max_attempts : 1;
    s->unit_started = ops->now_ms();
}

static __attribute__((unused)) void
fh_steps_fini_(struct fh_steps_ *s)
{
    json_object_put(s->names);
    json_object_put(s->owned);
    memset(s, 0, sizeof(*s));
}

/* The context's error: MSG (new, or NULL to clear). */
static __attribute__((unused)) void
fh_steps_error_(struct fh_ctx *ctx, char *msg, int no_retry)
{
    fh_core_set_error_(fh_core_(ctx), msg, no_retry);
}

/* A step API called outside a handler (in load(), or in a step). */
static __attribute__((unused)) int
fh_steps_outside_(struct fh_ctx *ctx)
{
    fh_steps_error_(ctx,
                    fh_steps_printf_("steps can only be used inside a"
                                     " handler"),
                    1);
    return FH_ERR;
}

/* "name" the first time in this call, then "name:1", "name:2", ... */
static __attribute__((unused)) char *
fh_steps_id_(struct fh_steps_ *s, const char *name)
{
    struct json_object *n;
    int seen = 0;

    if (json_object_object_get_ex(s->names, name, &n))
        seen = json_object_get_int(n);
    json_object_object_add(s->names, name, json_object_new_int(seen + 1));
    if (seen == 0) {
        char *id = strdup(name);

        if (id == NULL)
            fh_ctx_oom_();
        return id;
    }
    return fh_steps_printf_("%s:%d", name, seen);
}

/* Step ID's stored outcome: 1 (and *RESULT) for a result, -1 (and the
 * context's error) for a failure, 0 if it has none. */
static __attribute__((unused)) int
fh_steps_replay_(struct fh_steps_ *s, struct fh_ctx *ctx, const char *id,
                 struct json_object **result)
{
    struct json_object *e, *v;

    if (!json_object_object_get_ex(s->memo, id, &e))
        return 0;
    if (s->ops->replayed != NULL)
        s->ops->replayed(ctx, id);
    if (json_object_object_get_ex(e, "error", &v)) {
        fh_steps_error_(ctx, fh_steps_printf_("%s", json_object_get_string(v)),
                        1);
        return -1;
    }
    if (result != NULL)
        *result = json_object_object_get(e, "data");
    return 1;
}

/* After a stored outcome the next unit of work starts fresh. */
static __attribute__((unused)) void
fh_steps_stored_(struct fh_steps_ *s)
{
    s->attempt = 0;
    s->unit_started = s->ops->now_ms();
}

/* fh_step(): S is NULL outside a handler. */
static __attribute__((unused)) int
fh_steps_run_(struct fh_steps_ *s, struct fh_ctx *ctx, const char *name,
              fh_step_fn fn, void *arg, struct json_object **result)
{
    const struct fh_steps_ops_ *ops;
    struct fh_step_outcome_ o;
    struct json_object *res = NULL;
    const char *why;
    char *id, *err;
    int rc, no_retry = 0;

    if (result != NULL)
        *result = NULL;
    if (s == NULL)
        return fh_steps_outside_(ctx);
    ops = s->ops;
    if (s->suspended)
        return FH_SUSPENDED; /* the handler went on after a suspension */
    if (name == NULL || *name == '\0' || fn == NULL) {
        fh_steps_error_(ctx,
                        fh_steps_printf_("fh_step: a step needs a name"
                                         " and a function"),
                        1);
        return FH_ERR;
    }
    id = fh_steps_id_(s, name);
    rc = fh_steps_replay_(s, ctx, id, result);
    if (rc != 0) {
        free(id);
        return rc > 0 ? FH_OK : FH_ERR;
    }

    fh_steps_error_(ctx, NULL, 0);
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = "run";
    o.attempt = s->attempt;
    ctx->attempt = s->attempt;
    ctx->step_id = id;
    o.started_at = ops->now_ms();
    rc = ops->call(ctx, name, fn, arg, &res);
    o.ended_at = ops->now_ms();
    ctx->step_id = NULL;
    if (rc == FH_OK &&
        fh_json_depth_(res, FH_STEPS_MAX_DEPTH_) > FH_STEPS_MAX_DEPTH_) {
        /* The store and the replay could not read it back. */
        fh_steps_error_(ctx,
                        fh_steps_printf_("step result nests deeper than"
                                         " %d levels",
                                         FH_STEPS_MAX_DEPTH_),
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
            fh_steps_error_(ctx,
                            fh_steps_printf_("step result could not be"
                                             " serialized"),
                            1);
            rc = FH_ERR;
        } else if ((bad = fh_json_check_("step result", o.result_text,
                                         len)) != NULL) {
            /* A custom serializer (json_object_set_serializer(),
             * json_object_new_double_s()) wrote text a replay would
             * misread, or the result holds NaN or Infinity. */
            fh_steps_error_(ctx, bad, 1);
            o.result_text = NULL;
            rc = FH_ERR;
        }
    }
    if (rc == FH_OK) {
        o.status = "completed";
        o.result = res;
        ops->record(ctx, &o);
        fh_steps_stored_(s);
        if (res != NULL)
            json_object_array_add(s->owned, res);
        if (result != NULL)
            *result = res;
        ctx->attempt = 0;
        free(id);
        return FH_OK;
    }
    json_object_put(res);
    res = NULL;
    why = fh_core_(ctx)->error;
    no_retry = fh_core_(ctx)->no_retry;
    err = why != NULL
              ? fh_steps_printf_("%s", why)
              : fh_steps_printf_("step returned %d without a reason", rc);
    o.status = "failed";
    o.error = err;
    o.final = no_retry || s->attempt + 1 >= s->max_attempts;
    ops->record(ctx, &o);
    free(id);
    if (o.final) {
        /* Out of attempts: the failure is the step's outcome, stored like
         * a result, and the handler decides what it means. */
        fh_steps_stored_(s);
        fh_steps_error_(ctx, err, 1);
        ctx->attempt = 0;
        return FH_ERR;
    }
    s->suspended = 1;
    fh_steps_error_(ctx, err, 0);
    return FH_SUSPENDED;
}

/* A sleep until AT (ms), or one that fails with WHY (new) if not NULL;
 * DURATION is what the handler wrote, or NULL. NOW is the one reading of
 * the clock the call uses, so a sleep of N ms is recorded as N. */
static __attribute__((unused)) int
fh_steps_sleep_at_(struct fh_steps_ *s, struct fh_ctx *ctx, const char *name,
                   const char *duration, int64_t now, int64_t at, char *why)
{
    struct fh_step_outcome_ o;
    char *id;
    int rc;

    if (s->suspended) {
        free(why);
        return FH_SUSPENDED;
    }
    id = fh_steps_id_(s, name);
    rc = fh_steps_replay_(s, ctx, id, NULL);
    if (rc != 0) {
        free(id);
        free(why);
        return rc > 0 ? FH_OK : FH_ERR;
    }
    if (why == NULL && at - now > FH_STEPS_MAX_SLEEP_MS_)
        why = fh_steps_printf_("sleep \"%s\" is longer than a year", name);
    memset(&o, 0, sizeof(o));
    o.id = id;
    o.name = name;
    o.kind = "sleep";
    o.attempt = s->attempt;
    o.started_at = o.ended_at = now;
    o.duration = duration;
    if (why == NULL && at <= now) {
        /* Nothing to wait for; replays decide the same way. */
        o.status = "completed";
        o.wake_at = at;
        if (s->ops->passed != NULL)
            s->ops->passed(ctx, &o);
        free(id);
        return FH_OK;
    }
    if (why != NULL) {
        /* Retrying cannot fix a bad duration: the step fails for good. */
        o.status = "failed";
        o.error = why;
        o.final = 1;
        s->ops->record(ctx, &o);
        fh_steps_stored_(s);
        fh_steps_error_(ctx, why, 1);
        free(id);
        return FH_ERR;
    }
    o.status = "sleeping";
    o.wake_at = at;
    s->ops->record(ctx, &o);
    s->suspended = 1;
    free(id);
    return FH_SUSPENDED;
}

/* fh_sleep() and fh_sleep_until(): DURATION for the one, AT_MS for the
 * other (UNTIL set). S is NULL outside a handler. */
static __attribute__((unused)) int
fh_steps_sleep_(struct fh_steps_ *s, struct fh_ctx *ctx, const char *name,
                int until, const char *duration, int64_t at_ms)
{
    int64_t now, ms = 0;
    char err[256];

    if (s == NULL)
        return fh_steps_outside_(ctx);
    if (name == NULL || *name == '\0') {
        fh_steps_error_(ctx,
                        fh_steps_printf_("%s: a sleep needs a name",
                                         until ? "fh_sleep_until" : "fh_sleep"),
                        1);
        return FH_ERR;
    }
    now = s->ops->now_ms();
    if (until)
        return fh_steps_sleep_at_(s, ctx, name, NULL, now, at_ms, NULL);
    if (duration == NULL ||
        fh_duration_parse_(duration, &ms, err, sizeof(err)) != 0)
        return fh_steps_sleep_at_(
            s, ctx, name, duration, now, 0,
            fh_steps_printf_("sleep \"%s\": %s", name,
                             duration ? err : "no duration"));
    if (ms > FH_STEPS_MAX_SLEEP_MS_)
        return fh_steps_sleep_at_(
            s, ctx, name, duration, now, 0,
            fh_steps_printf_("sleep \"%s\": \"%s\" is longer than a year",
                             name, duration));
    return fh_steps_sleep_at_(s, ctx, name, duration, now, now + ms, NULL);
}

#endif
