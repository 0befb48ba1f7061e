/* fnopt.c - per-function options: one table, from descriptor to run.
 * SPDX-License-Identifier: Apache-2.0 */
#include "fnopt.h"

#include <errno.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "config.h"
#include "duration.h"
#include "fnhost.h"
#include "registry.h"

/* The duration parser refuses more than 100 years. */
#define YEAR_MS (365.25 * 24 * 3600 * 1000)

/* Add a row here, and the field where its value lives (fn_info; and
 * fh_function_opts if plugins may set it), then the code that obeys it.
 * The range of an option a plugin may set is lib/check.h's, which the
 * descriptor checks of the host and the SDK's harness hold it to. */
const struct fnopt fnopt_table[] = {
    {.name = "retries", .type = FNOPT_COUNT, .lo = 0, .hi = CHECK_RETRIES_MAX,
     .abi = offsetof(struct fh_function_opts, retries),
     .cfg = offsetof(struct config, retries),
     .fn = offsetof(struct fn_info, retries), .json = "retries"},
    {.name = "timeout", .type = FNOPT_DURATION, .lo = CHECK_TIMEOUT_MIN_MS,
     .hi = 100 * YEAR_MS,
     .abi = offsetof(struct fh_function_opts, timeout),
     .cfg = offsetof(struct config, timeout_ms),
     .fn = offsetof(struct fn_info, timeout_ms), .json = "timeout_ms"},
    {.name = "backoff_scale", .type = FNOPT_SCALE, .lo = 0, .hi = 1000,
     .abi = FNOPT_NONE, .cfg = offsetof(struct config, backoff_scale),
     .fn = offsetof(struct fn_info, backoff_scale), .json = NULL},
    {.name = "checkpoint_ahead", .type = FNOPT_COUNT, .lo = 0, .hi = 1,
     .abi = offsetof(struct fh_function_opts, checkpoint_ahead),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, checkpoint_ahead),
     .json = "checkpoint_ahead"},
    /* 0 (a [function ID] setting of "0") is no limit. */
    {.name = "timeouts.start", .type = FNOPT_DURATION, .lo = 0,
     .hi = 100 * YEAR_MS,
     .abi = offsetof(struct fh_function_opts, timeouts.start),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, timeout_start_ms),
     .json = "timeouts_start_ms"},
    {.name = "timeouts.finish", .type = FNOPT_DURATION, .lo = 0,
     .hi = 100 * YEAR_MS,
     .abi = offsetof(struct fh_function_opts, timeouts.finish),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, timeout_finish_ms),
     .json = "timeouts_finish_ms"},
    /* rateLimit: a limit needs a period of at least 1s (lib/check_flow.c
     * for plugins; the registry for a [function ID] section, where 0 is
     * unset); limit 0 is none. */
    {.name = "rate_limit.limit", .type = FNOPT_COUNT, .lo = 0,
     .hi = CHECK_RATE_LIMIT_MAX,
     .abi = offsetof(struct fh_function_opts, rate_limit.limit),
     .cfg = FNOPT_NONE, .def = 0, .fn = offsetof(struct fn_info, rate_limit),
     .json = "rate_limit"},
    {.name = "rate_limit.period", .type = FNOPT_DURATION,
     .lo = 0, .hi = CHECK_RATE_PERIOD_MAX_MS,
     .abi = offsetof(struct fh_function_opts, rate_limit.period),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, rate_period_ms),
     .json = "rate_limit_period_ms"},
    /* debounce: 0 is none; under 1s from a [function ID] section, the
     * registry says so and leaves it off (lib/check_flow.c for plugins). */
    {.name = "debounce.period", .type = FNOPT_DURATION, .lo = 0,
     .hi = CHECK_DEBOUNCE_MAX_MS,
     .abi = offsetof(struct fh_function_opts, debounce.period),
     .cfg = FNOPT_NONE, .def = 0, .fn = offsetof(struct fn_info, debounce_ms),
     .json = "debounce_period_ms"},
    {.name = "debounce.timeout", .type = FNOPT_DURATION, .lo = 0,
     .hi = CHECK_DEBOUNCE_MAX_MS,
     .abi = offsetof(struct fh_function_opts, debounce.timeout),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, debounce_timeout_ms),
     .json = "debounce_timeout_ms"},
    /* The first concurrency limit (host/conc.c); its key and scope, and
     * the second limit, are the descriptor's "concurrency". 0: none. The
     * functions' JSON shows it there. */
    {.name = "concurrency.limit", .type = FNOPT_COUNT, .lo = 0,
     .hi = FH_CONCURRENCY_MAX,
     .abi = offsetof(struct fh_function_opts, concurrency[0].limit),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, concurrency[0].limit), .json = NULL},
    /* 1.6: 0 (a [function ID] setting of "0") is none; a plugin's is
     * 1s..5m (lib/check.c). */
    {.name = "cron_jitter", .type = FNOPT_DURATION, .lo = 0,
     .hi = CHECK_CRON_JITTER_MAX_MS,
     .abi = offsetof(struct fh_function_opts, cron_jitter),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, cron_jitter_ms),
     .json = "cron_jitter_ms"},
    /* throttle (1.7): a limit needs a period of at least 1s
     * (lib/check_flow.c for plugins; the registry for a [function ID]
     * section, where 0 is unset); limit 0 is none. */
    {.name = "throttle.limit", .type = FNOPT_COUNT, .lo = 0,
     .hi = CHECK_THROTTLE_LIMIT_MAX,
     .abi = offsetof(struct fh_function_opts, throttle.limit),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, throttle_limit), .json = "throttle"},
    {.name = "throttle.period", .type = FNOPT_DURATION, .lo = 0,
     .hi = CHECK_THROTTLE_PERIOD_MAX_MS,
     .abi = offsetof(struct fh_function_opts, throttle.period),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, throttle_period_ms),
     .json = "throttle_period_ms"},
    {.name = "throttle.burst", .type = FNOPT_COUNT, .lo = 0,
     .hi = CHECK_THROTTLE_BURST_MAX,
     .abi = offsetof(struct fh_function_opts, throttle.burst),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, throttle_burst),
     .json = "throttle_burst"},
    /* 1.7 batch: max_size 0 is none; a plugin's timeout is 1s..60s
     * (lib/check_flow.c), a [function ID] section's too (the registry
     * says so and leaves batching off). */
    {.name = "batch.max_size", .type = FNOPT_COUNT, .lo = 0,
     .hi = FH_BATCH_MAX,
     .abi = offsetof(struct fh_function_opts, batch.max_size),
     .cfg = FNOPT_NONE, .def = 0, .fn = offsetof(struct fn_info, batch_max),
     .json = "batch_max_size"},
    {.name = "batch.timeout", .type = FNOPT_DURATION, .lo = 0,
     .hi = CHECK_BATCH_TIMEOUT_MAX_MS,
     .abi = offsetof(struct fh_function_opts, batch.timeout),
     .cfg = FNOPT_NONE, .def = 0,
     .fn = offsetof(struct fn_info, batch_timeout_ms),
     .json = "batch_timeout_ms"},
};

const size_t fnopt_count = sizeof(fnopt_table) / sizeof(fnopt_table[0]);

#define FNOPT_EXPR(name, json, fn, abi)                                     \
    {name, json, offsetof(struct fn_info, fn),                              \
     offsetof(struct fh_function_opts, abi)}
const struct fnopt_expr fnopt_exprs[FNOPT_NEXPRS] = {
    FNOPT_EXPR("if", "if", if_expr, if_expr),
    FNOPT_EXPR("idempotency", "idempotency", idempotency, idempotency),
    FNOPT_EXPR("rate_limit.key", "rate_limit_key", rate_key, rate_limit.key),
    FNOPT_EXPR("singleton.key", "singleton_key", singleton_key,
               singleton.key),
    FNOPT_EXPR("debounce.key", "debounce_key", debounce_key, debounce.key),
    FNOPT_EXPR("throttle.key", "throttle_key", throttle_key, throttle.key),
    FNOPT_EXPR("priority", "priority", priority, priority),
    FNOPT_EXPR("batch.key", "batch_key", batch_key, batch.key),
    FNOPT_EXPR("batch.if", "batch_if", batch_if, batch.if_expr),
};

const struct fnopt_expr *
fnopt_expr_find(const char *name)
{
    for (size_t k = 0; k < FNOPT_NEXPRS; k++)
        if (strcmp(fnopt_exprs[k].name, name) == 0)
            return &fnopt_exprs[k];
    return NULL;
}

_Static_assert(sizeof(fnopt_table) / sizeof(fnopt_table[0]) <= FNOPT_MAX,
               "struct fnopt_set has a bit per option");

const struct fnopt *
fnopt_find(const char *name)
{
    for (size_t i = 0; i < fnopt_count; i++)
        if (strcmp(fnopt_table[i].name, name) == 0)
            return &fnopt_table[i];
    return NULL;
}

/* O's name in a descriptor's "options": its JSON name, which says the
 * unit ("timeout_ms"). */
static const char *
declared_key(const struct fnopt *o)
{
    return o->json != NULL ? o->json : o->name;
}

/* The row of the ABI whose declared_key() is KEY, or NULL. */
static const struct fnopt *
find_declared(const char *key)
{
    for (size_t i = 0; i < fnopt_count; i++)
        if (fnopt_table[i].abi != FNOPT_NONE &&
            strcmp(declared_key(&fnopt_table[i]), key) == 0)
            return &fnopt_table[i];
    return NULL;
}

/* Whether V is a value of O: in range, and whole unless a scale. */
static int
in_range(const struct fnopt *o, double v)
{
    return v >= o->lo && v <= o->hi &&
           (o->type == FNOPT_SCALE || v == floor(v));
}

/* V of O as a double, for range checks. */
static double
as_double(const struct fnopt *o, union fnopt_value v)
{
    return o->type == FNOPT_SCALE ? v.d : (double)v.i;
}

/* Why TEXT is not a value of O, in ERR, and -1. */
static int
out_of_range(const struct fnopt *o, const char *text, char *err,
             size_t errlen)
{
    char lo[32], hi[32];

    if (o->type == FNOPT_DURATION) {
        duration_format((int64_t)o->lo, lo, sizeof(lo));
        duration_format((int64_t)o->hi, hi, sizeof(hi));
        snprintf(err, errlen, "%s: must be at least %s and at most %s, got"
                              " \"%s\"", o->name, lo, hi, text);
    } else {
        snprintf(err, errlen, "%s: expected %s%g to %g, got \"%s\"",
                 o->name, o->type == FNOPT_SCALE ? "a number from " : "",
                 o->lo, o->hi, text);
    }
    return -1;
}

/* Parses TEXT, a value of O as people write it, into V. 0, or -1 with
 * ERR. */
static int
parse_value(const struct fnopt *o, const char *text, union fnopt_value *v,
            char *err, size_t errlen)
{
    char why[160], *end = NULL;

    errno = 0;
    if (o->type == FNOPT_DURATION) {
        if (duration_parse(text, &v->i, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", o->name, why);
            return -1;
        }
    } else if (o->type == FNOPT_COUNT) {
        v->i = strtoll(text, &end, 10);
    } else {
        v->d = strtod(text, &end);
    }
    if (end != NULL && (errno != 0 || end == text || *end != '\0'))
        return out_of_range(o, text, err, errlen);
    if (!in_range(o, as_double(o, *v)))
        return out_of_range(o, text, err, errlen);
    return 0;
}

/* The value at AT, stored in the C type of O's type (int, int64_t,
 * double): the fields of struct config and struct fn_info. */
static union fnopt_value
load_at(const struct fnopt *o, const void *at)
{
    union fnopt_value v = {.i = 0};
    int n;

    if (o->type == FNOPT_COUNT) {
        memcpy(&n, at, sizeof(n));
        v.i = n;
    } else if (o->type == FNOPT_DURATION) {
        memcpy(&v.i, at, sizeof(v.i));
    } else {
        memcpy(&v.d, at, sizeof(v.d));
    }
    return v;
}

/* Stores V at AT in the C type of O's type. */
static void
store_at(const struct fnopt *o, void *at, union fnopt_value v)
{
    int n = (int)v.i;

    if (o->type == FNOPT_COUNT)
        memcpy(at, &n, sizeof(n));
    else if (o->type == FNOPT_DURATION)
        memcpy(at, &v.i, sizeof(v.i));
    else
        memcpy(at, &v.d, sizeof(v.d));
}

/* V as JSON (new). */
static struct json_object *
value_json(const struct fnopt *o, union fnopt_value v)
{
    return o->type == FNOPT_SCALE ? json_object_new_double(v.d)
                                  : json_object_new_int64(v.i);
}

int
fnopt_set_config(struct fnopt_set *s, const char *key, const char *text,
                 char *err, size_t errlen)
{
    const struct fnopt *o = fnopt_find(key);
    union fnopt_value v;

    if (o == NULL) {
        snprintf(err, errlen, "unknown function setting \"%s\"", key);
        return -1;
    }
    if (parse_value(o, text, &v, err, errlen) != 0)
        return -1;
    s->v[o - fnopt_table] = v;
    s->mask |= 1u << (o - fnopt_table);
    return 0;
}

/* Reads O from the plugin's options OPTS into V, in its host form.
 * Returns 1 when set, 0 when unset, -1 with ERR when out of range. */
static int
read_declared(const struct fnopt *o, const struct fh_function_opts *opts,
              union fnopt_value *v, char *err, size_t errlen)
{
    const char *at = (const char *)opts + o->abi;
    const char *text;
    int32_t n;
    char num[32];

    if (o->type == FNOPT_COUNT) {
        memcpy(&n, at, sizeof(n));
        if (n == 0)
            return 0;
        v->i = n == -1 ? 0 : n;
        snprintf(num, sizeof(num), "%d", (int)n);
        text = num;
    } else if (o->type == FNOPT_DURATION) {
        memcpy(&text, at, sizeof(text));
        if (text == NULL)
            return 0;
        if (parse_value(o, text, v, err, errlen) != 0)
            return -1;
    } else {
        memcpy(&v->d, at, sizeof(v->d));
        if (v->d == 0)
            return 0;
        snprintf(num, sizeof(num), "%g", v->d);
        text = num;
    }
    if (!in_range(o, as_double(o, *v)))
        return out_of_range(o, text, err, errlen);
    return 1;
}

struct json_object *
fnopt_declared(const struct fh_function_opts *opts, char *err, size_t errlen)
{
    struct json_object *out = json_object_new_object();

    for (const struct fnopt *o = fnopt_table; o < fnopt_table + fnopt_count;
         o++) {
        union fnopt_value v;
        int rc;

        if (o->abi == FNOPT_NONE)
            continue;
        rc = read_declared(o, opts, &v, err, errlen);
        if (rc < 0) {
            json_object_put(out);
            return NULL;
        }
        if (rc > 0)
            json_object_object_add(out, declared_key(o), value_json(o, v));
    }
    return out;
}

int
fnopt_check_declared(struct json_object *declared, char *err, size_t errlen)
{
    if (!json_object_is_type(declared, json_type_object)) {
        snprintf(err, errlen, "options are not an object");
        return -1;
    }
    json_object_object_foreach(declared, key, val)
    {
        const struct fnopt *o = find_declared(key);
        int number = json_object_is_type(val, json_type_int) ||
                     (o != NULL && o->type == FNOPT_SCALE &&
                      json_object_is_type(val, json_type_double));

        if (o == NULL) {
            snprintf(err, errlen, "unknown option \"%.64s\"", key);
            return -1;
        }
        if (!number || !in_range(o, json_object_get_double(val))) {
            snprintf(err, errlen, "option %s is out of range", key);
            return -1;
        }
    }
    return 0;
}

void
fnopt_resolve(struct fn_info *f, const struct config *cfg,
              struct json_object *declared, const struct fnopt_set *over)
{
    for (size_t i = 0; i < fnopt_count; i++) {
        const struct fnopt *o = &fnopt_table[i];
        union fnopt_value v = {.i = (int64_t)o->def};
        struct json_object *d;

        if (o->type == FNOPT_SCALE)
            v.d = o->def;
        if (o->cfg != FNOPT_NONE)
            v = load_at(o, (const char *)cfg + o->cfg);
        if (over != NULL && (over->mask & (1u << i))) {
            v = over->v[i];
        } else if (declared != NULL &&
                   json_object_object_get_ex(declared, declared_key(o),
                                             &d)) {
            if (o->type == FNOPT_SCALE)
                v.d = json_object_get_double(d);
            else
                v.i = json_object_get_int64(d);
        }
        store_at(o, (char *)f + o->fn, v);
    }
}

void
fnopt_json(const struct fn_info *f, struct json_object *fo)
{
    for (const struct fnopt *o = fnopt_table; o < fnopt_table + fnopt_count;
         o++) {
        union fnopt_value v = load_at(o, (const char *)f + o->fn);

        if (o->json != NULL)
            json_object_object_add(fo, o->json, value_json(o, v));
    }
}
