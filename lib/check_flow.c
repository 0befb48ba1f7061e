/* check_flow.c - the checks of a function's flow-control options (#13):
 * rate_limit, singleton, debounce, throttle, batch; shared by the host's
 * loader and the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "duration.h"

/* Whether duration TEXT of option NAME lies in LO..HI ms: 0, or -1 with
 * the plugin, the function, the option and why in ERR. */
static int
check_duration(const struct fh_plugin *p, const struct fh_function *f,
               const char *name, const char *text, int64_t lo, int64_t hi,
               char *err, size_t errlen)
{
    char why[160], los[32], his[32];
    int64_t ms;

    if (duration_parse(text, &ms, why, sizeof(why)) != 0)
        return check_fail(err, errlen, "plugin %s: function \"%s\": %s: %s",
                          p->name, f->id, name, why);
    if (ms >= lo && ms <= hi)
        return 0;
    duration_format(lo, los, sizeof(los));
    duration_format(hi, his, sizeof(his));
    return check_fail(err, errlen,
                      "plugin %s: function \"%s\": %s: must be at least %s"
                      " and at most %s, got \"%s\"",
                      p->name, f->id, name, los, his, text);
}

/* Option OPT's LIMIT (1..MAX) and its PERIOD (required, LO..HI ms), and
 * its KEY, an expression or NULL: 0, or -1 with why in ERR. */
static int
check_limit(const struct fh_plugin *p, const struct fh_function *f,
            const char *opt, int32_t limit, int max, const char *period,
            int64_t lo, int64_t hi, const char *key, char *err,
            size_t errlen)
{
    char name[32];

    if (limit < 1 || limit > max)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": %s.limit:"
                          " expected 1 to %d, got %d",
                          p->name, f->id, opt, max, (int)limit);
    if (period == NULL)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": %s.period:"
                          " required with a limit",
                          p->name, f->id, opt);
    snprintf(name, sizeof(name), "%s.period", opt);
    if (check_duration(p, f, name, period, lo, hi, err, errlen) != 0)
        return -1;
    snprintf(name, sizeof(name), "%s.key", opt);
    return check_option_expr(p, f, name, key, err, errlen);
}

/* Inngest's rateLimit: a limit and a period go together; a key needs
 * them. */
static int
check_rate_limit(const struct fh_plugin *p, const struct fh_function *f,
                 const struct fh_rate_limit *r, char *err, size_t errlen)
{
    if (r->limit == 0 && r->period == NULL && r->key == NULL)
        return 0;
    return check_limit(p, f, "rate_limit", r->limit, CHECK_RATE_LIMIT_MAX,
                       r->period, CHECK_RATE_PERIOD_MIN_MS,
                       CHECK_RATE_PERIOD_MAX_MS, r->key, err, errlen);
}

/* Inngest's singleton: a mode, "skip" or "cancel"; a key needs one. */
static int
check_singleton(const struct fh_plugin *p, const struct fh_function *f,
                const struct fh_singleton *g, char *err, size_t errlen)
{
    if (g->mode == NULL && g->key == NULL)
        return 0;
    if (g->mode == NULL || (strcmp(g->mode, "skip") != 0 &&
                            strcmp(g->mode, "cancel") != 0))
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": singleton.mode:"
                          " expected \"skip\" or \"cancel\", got %s%.32s%s",
                          p->name, f->id, g->mode ? "\"" : "",
                          g->mode ? g->mode : "none", g->mode ? "\"" : "");
    return check_option_expr(p, f, "singleton.key", g->key, err, errlen);
}

/* Inngest's debounce: a period of 1s..7d; a key or a timeout needs one. */
static int
check_debounce(const struct fh_plugin *p, const struct fh_function *f,
               const struct fh_debounce *d, char *err, size_t errlen)
{
    if (d->period == NULL && d->key == NULL && d->timeout == NULL)
        return 0;
    if (d->period == NULL)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": debounce.period:"
                          " required with a key or a timeout",
                          p->name, f->id);
    if (check_duration(p, f, "debounce.period", d->period,
                       CHECK_DEBOUNCE_MIN_MS, CHECK_DEBOUNCE_MAX_MS, err,
                       errlen) != 0 ||
        (d->timeout != NULL &&
         check_duration(p, f, "debounce.timeout", d->timeout,
                        CHECK_DEBOUNCE_MIN_MS, CHECK_DEBOUNCE_MAX_MS, err,
                        errlen) != 0))
        return -1;
    return check_option_expr(p, f, "debounce.key", d->key, err, errlen);
}

/* Inngest's throttle: a limit and a period (1s..7d) go together; a burst
 * or a key needs them. */
static int
check_throttle(const struct fh_plugin *p, const struct fh_function *f,
               const struct fh_throttle *t, char *err, size_t errlen)
{
    if (t->limit == 0 && t->period == NULL && t->burst == 0 &&
        t->key == NULL)
        return 0;
    if (t->burst < 0 || t->burst > CHECK_THROTTLE_BURST_MAX)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": throttle.burst:"
                          " expected 0 to %d, got %d",
                          p->name, f->id, CHECK_THROTTLE_BURST_MAX,
                          (int)t->burst);
    return check_limit(p, f, "throttle", t->limit, CHECK_THROTTLE_LIMIT_MAX,
                       t->period, CHECK_THROTTLE_PERIOD_MIN_MS,
                       CHECK_THROTTLE_PERIOD_MAX_MS, t->key, err, errlen);
}

/* Inngest's batchEvents: a size of 1..FH_BATCH_MAX and a timeout of
 * 1s..60s go together; a key or an `if` needs them. As Inngest, not with
 * a debounce, a singleton or cancel_on; nor, here, with an idempotency
 * key or a rate limit, which would count only a batch's first event. */
static int
check_batch(const struct fh_plugin *p, const struct fh_function *f,
            const struct fh_function_opts *o, char *err, size_t errlen)
{
    const struct fh_batch *b = &o->batch;
    const char *other = NULL;

    if (b->max_size == 0 && b->timeout == NULL && b->key == NULL &&
        b->if_expr == NULL)
        return 0;
    if (b->max_size < 1 || b->max_size > FH_BATCH_MAX)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": batch.max_size:"
                          " expected 1 to %d, got %d",
                          p->name, f->id, FH_BATCH_MAX, (int)b->max_size);
    if (b->timeout == NULL)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": batch.timeout:"
                          " required with a max_size",
                          p->name, f->id);
    if (check_duration(p, f, "batch.timeout", b->timeout,
                       CHECK_BATCH_TIMEOUT_MIN_MS,
                       CHECK_BATCH_TIMEOUT_MAX_MS, err, errlen) != 0 ||
        check_option_expr(p, f, "batch.key", b->key, err, errlen) != 0 ||
        check_option_expr(p, f, "batch.if_expr", b->if_expr, err,
                          errlen) != 0)
        return -1;
    if (o->debounce.period != NULL)
        other = "debounce";
    else if (o->singleton.mode != NULL)
        other = "singleton";
    else if (o->cancel_on[0].event != NULL)
        other = "cancel_on";
    else if (o->idempotency != NULL)
        other = "idempotency";
    else if (o->rate_limit.limit != 0)
        other = "rate_limit";
    if (other != NULL)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": batch cannot go"
                          " with %s: use one of the two",
                          p->name, f->id, other);
    return 0;
}

int
check_flow_options(const struct fh_plugin *p, const struct fh_function *f,
                   const struct fh_function_opts *o, char *err,
                   size_t errlen)
{
    if (check_rate_limit(p, f, &o->rate_limit, err, errlen) != 0)
        return -1;
    if (check_singleton(p, f, &o->singleton, err, errlen) != 0)
        return -1;
    if (check_debounce(p, f, &o->debounce, err, errlen) != 0)
        return -1;
    if (check_throttle(p, f, &o->throttle, err, errlen) != 0)
        return -1;
    return check_batch(p, f, o, err, errlen);
}
