/* check.c - the checks a plugin's descriptor must pass, for the host's
 * loader and the SDK's test harness alike.
 * SPDX-License-Identifier: Apache-2.0 */
#include "check.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cron.h"
#include "duration.h"
#include "json_check.h"
#include "wait.h"

/* The smallest descriptor a 1.x plugin can have: 1.0's. */
#define PLUGIN_SIZE_1_0 (offsetof(struct fh_plugin, spare) + 4 * sizeof(void *))

/* The smallest options struct: 1.2's, the first. */
#define OPTS_SIZE_1_2                                                          \
    (offsetof(struct fh_function_opts, timeout) + sizeof(const char *))

/* A size stamped past this is garbage, not a newer minor: no 1.x struct
 * will grow that far, and the host reads that much of plugin memory. */
#define SIZE_MAX_1X 4096u

int
check_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int
check_trigger(const char *t, char *err, size_t errlen)
{
    size_t n = strlen(t);
    const char *star = strchr(t, '*');

    if (n == 0)
        return check_fail(err, errlen, "a trigger is empty");
    if (n > 255)
        return check_fail(err, errlen,
                          "trigger \"%.40s...\" is longer than 255"
                          " bytes",
                          t);
    for (const char *p = t; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return check_fail(err, errlen,
                              "trigger \"%s\" has a space or control"
                              " character",
                              t);
    /* Names, ids and triggers are shown by the API, which prints JSON. */
    if (!json_check_utf8(t, n))
        return check_fail(err, errlen, "a trigger is not UTF-8");
    if (star != NULL &&
        (star != t + n - 1 || n < 2 || (star[-1] != '/' && star[-1] != '.')))
        return check_fail(err, errlen,
                          "trigger \"%s\": a wildcard may only end"
                          " the name, right after '/' or '.'",
                          t);
    return 0;
}

/* Whether the N bytes at P are all zero. */
static int
is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

/* Whether the spare slots of a descriptor or function are all NULL. */
static int
spares_unset(void *const *spare, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (spare[i] != NULL)
            return 0;
    return 1;
}

int
check_read_options(const struct fh_plugin *p, const struct fh_function *f,
                   struct fh_function_opts *out, char *err, size_t errlen)
{
    const struct fh_function_opts *o = p->abi_minor >= 2 ? f->opts : NULL;

    memset(out, 0, sizeof(*out));
    if (o != NULL) {
        size_t n = o->size;

        if (n < OPTS_SIZE_1_2 || n > SIZE_MAX_1X ||
            n % _Alignof(struct fh_function_opts) != 0)
            return check_fail(
                err, errlen,
                "plugin %s: function \"%s\":"
                " its options say they are %zu bytes, %s:"
                " set them with FH_OPTS()",
                p->name, f->id, n,
                n < OPTS_SIZE_1_2 ? "smaller than ABI 1.2's, the first"
                : n > SIZE_MAX_1X ? "more than any ABI 1.x could have"
                                  : "not the size of a whole struct");
        if (n > sizeof(*out) &&
            !is_zero((const char *)o + sizeof(*out), n - sizeof(*out)))
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\""
                              " sets an option newer than this host's"
                              " ABI %u.%u knows (its options are %zu"
                              " bytes, this host reads %zu): upgrade"
                              " fnhost",
                              p->name, f->id, FH_ABI_MAJOR, FH_ABI_MINOR, n,
                              sizeof(*out));
        memcpy(out, o, n < sizeof(*out) ? n : sizeof(*out));
    }
    if (f->retries != 0 && out->retries != 0)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\" sets"
                          " retries both in the function and in its"
                          " options: set it in one place",
                          p->name, f->id);
    if (f->timeout != NULL && out->timeout != NULL)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\" sets"
                          " timeout both in the function and in its"
                          " options: set it in one place",
                          p->name, f->id);
    if (f->retries != 0)
        out->retries = f->retries;
    if (f->timeout != NULL)
        out->timeout = f->timeout;
    out->size = sizeof(*out);
    return 0;
}

int (*check_expr)(const char *src, char *err, size_t errlen);

int
check_option_expr(const struct fh_plugin *p, const struct fh_function *f,
                  const char *name, const char *src, char *err,
                  size_t errlen)
{
    char why[256];

    if (src == NULL)
        return 0;
    if (!json_check_utf8(src, strlen(src)))
        snprintf(why, sizeof(why), "not UTF-8");
    else if (check_expr == NULL || check_expr(src, why, sizeof(why)) == 0)
        return 0;
    return check_fail(err, errlen, "plugin %s: function \"%s\": %s: %s",
                      p->name, f->id, name, why);
}

/* Whether F's concurrency limits in O can be: 0, or -1 with the plugin,
 * the function, which limit and what is wrong in ERR. */
static int
check_concurrency(const struct fh_plugin *p, const struct fh_function *f,
                  const struct fh_function_opts *o, char *err, size_t errlen)
{
    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        const struct fh_concurrency *c = &o->concurrency[i];
        char name[32], why[256];
        int env;

        snprintf(name, sizeof(name), "concurrency[%d]", i);
        if (c->limit == 0 && c->key == NULL && c->scope == NULL)
            continue;
        if (i > 0 && o->concurrency[0].limit == 0)
            return check_fail(err, errlen, "plugin %s: function \"%s\": %s:"
                                           " set concurrency[0] first",
                              p->name, f->id, name);
        if (c->limit < 1 || c->limit > FH_CONCURRENCY_MAX)
            return check_fail(err, errlen, "plugin %s: function \"%s\": %s:"
                                           " limit %d is out of range (1..%d)",
                              p->name, f->id, name, (int)c->limit,
                              FH_CONCURRENCY_MAX);
        if (c->scope != NULL && strcmp(c->scope, "fn") != 0 &&
            strcmp(c->scope, "env") != 0)
            return check_fail(err, errlen, "plugin %s: function \"%s\": %s:"
                                           " scope \"%.32s\" is neither"
                                           " \"fn\" nor \"env\"",
                              p->name, f->id, name, c->scope);
        env = c->scope != NULL && strcmp(c->scope, "env") == 0;
        if (env && c->key == NULL)
            return check_fail(err, errlen, "plugin %s: function \"%s\": %s:"
                                           " scope \"env\" needs a key, which"
                                           " names the queue the functions"
                                           " share",
                              p->name, f->id, name);
        snprintf(why, sizeof(why), "%s.key", name);
        if (check_option_expr(p, f, why, c->key, err, errlen) != 0)
            return -1;
    }
    return 0;
}

/* F's cron schedules and jitter: each parses, no two alike, no gap in
 * the list; a jitter of 1s..5m, only with a schedule. */
static int
check_cron(const struct fh_plugin *p, const struct fh_function *f,
           const struct fh_function_opts *o, char *err, size_t errlen)
{
    char why[256];
    int64_t ms;
    int n = 0;

    for (int i = 0; i < FH_CRON_MAX; i++) {
        struct cron c;

        if (o->cron[i] == NULL)
            continue;
        if (i > n)
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\": cron[%d] follows"
                              " an unset entry: set them in order",
                              p->name, f->id, i);
        n++;
        if (cron_parse(o->cron[i], &c, why, sizeof(why)) != 0)
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\": cron \"%.255s\":"
                              " %s", p->name, f->id, o->cron[i], why);
        cron_clear(&c);
        for (int j = 0; j < i; j++)
            if (strcmp(o->cron[j], o->cron[i]) == 0)
                return check_fail(err, errlen,
                                  "plugin %s: function \"%s\": cron"
                                  " \"%s\" is there twice",
                                  p->name, f->id, o->cron[i]);
    }
    if (o->cron_jitter == NULL)
        return 0;
    if (n == 0)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": cron_jitter without"
                          " a cron", p->name, f->id);
    if (duration_parse(o->cron_jitter, &ms, why, sizeof(why)) != 0 ||
        ms < CHECK_CRON_JITTER_MIN_MS || ms > CHECK_CRON_JITTER_MAX_MS)
        return check_fail(err, errlen,
                          "plugin %s: function \"%s\": cron_jitter: must be"
                          " 1s to 5m, got \"%.64s\"", p->name, f->id,
                          o->cron_jitter);
    return 0;
}

int
check_cancel_rule(const struct fh_cancel_on *c, char *err, size_t errlen)
{
    char why[256];
    int64_t ms;

    if (c->event == NULL || c->event[0] == '\0')
        return check_fail(err, errlen, "event: expected an event name");
    if (!json_check_utf8(c->event, strlen(c->event)) ||
        strlen(c->event) > 255)
        return check_fail(err, errlen, "event: expected a UTF-8 name of at"
                                       " most 255 bytes");
    /* A lifecycle event cancels nothing: a run ended by one emits one. */
    if (strncmp(c->event, "inngest/", 8) == 0)
        return check_fail(err, errlen, "event: \"%s\" is an internal event"
                                       " (inngest/...), which cancels"
                                       " nothing", c->event);
    if (c->match != NULL && !wait_path_ok(c->match))
        return check_fail(err, errlen, "match: \"%s\" is not a dotted path"
                                       " (\"data.user_id\")", c->match);
    if (c->if_expr != NULL) {
        if (!json_check_utf8(c->if_expr, strlen(c->if_expr)))
            return check_fail(err, errlen, "if: not UTF-8");
        if (check_expr != NULL && check_expr(c->if_expr, why,
                                             sizeof(why)) != 0)
            return check_fail(err, errlen, "if: %s", why);
    }
    if (c->timeout != NULL) {
        if (duration_parse(c->timeout, &ms, why, sizeof(why)) != 0)
            return check_fail(err, errlen, "timeout: %s", why);
        if (ms <= 0 || ms > CANCEL_ON_MAX_MS)
            return check_fail(err, errlen, "timeout: must be more than 0"
                                           " and at most a year, got \"%s\"",
                              c->timeout);
    }
    return 0;
}

/* Whether every rule of F's cancel_on (in O) can be: see
 * check_cancel_rule(). Entries are used from the first up to the first
 * with no field set; one after that is refused too. */
static int
check_cancel_on(const struct fh_plugin *p, const struct fh_function *f,
                const struct fh_function_opts *o, char *err, size_t errlen)
{
    char why[512];
    int gap = -1;

    for (int i = 0; i < FH_CANCEL_ON_MAX; i++) {
        const struct fh_cancel_on *c = &o->cancel_on[i];

        if (c->event == NULL && c->match == NULL && c->if_expr == NULL &&
            c->timeout == NULL) {
            if (gap < 0)
                gap = i;
            continue;
        }
        if (gap >= 0)
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\": cancel_on[%d]"
                              " follows an empty cancel_on[%d]: rules"
                              " come first", p->name, f->id, i, gap);
        if (check_cancel_rule(c, why, sizeof(why)) != 0)
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\": cancel_on[%d]:"
                              " %s", p->name, f->id, i, why);
    }
    return 0;
}

/* Checks each function of P: id, handler, triggers, spare slots and
 * options. 0, or -1 with the reason in ERR. */
static int
check_functions(const struct fh_plugin *p, char *err, size_t errlen)
{
    const struct fh_function *f;

    for (f = p->functions; f->id != NULL || f->run != NULL; f++) {
        struct fh_function_opts o;
        char why[256];
        int64_t ms;

        if (f->id == NULL || *f->id == '\0')
            return check_fail(err, errlen, "function %d has no id",
                              (int)(f - p->functions));
        if (strlen(f->id) > 128 || strchr(f->id, ' ') != NULL)
            return check_fail(err, errlen,
                              "function \"%.40s\": an id is at most"
                              " 128 characters, without spaces",
                              f->id);
        if (!json_check_utf8(f->id, strlen(f->id)))
            return check_fail(err, errlen,
                              "function %d: its id is not UTF-8",
                              (int)(f - p->functions));
        if (f->run == NULL)
            return check_fail(err, errlen, "function \"%s\" has no handler",
                              f->id);
        for (const char *const *t = f->triggers; t != NULL && *t != NULL;
             t++) {
            if (t - f->triggers >= 10)
                return check_fail(err, errlen,
                                  "function \"%s\" has more than 10"
                                  " triggers",
                                  f->id);
            if (check_trigger(*t, why, sizeof(why)) != 0)
                return check_fail(err, errlen, "function \"%s\": %s", f->id,
                                  why);
        }
        if (p->abi_minor > FH_ABI_MINOR &&
            !spares_unset(f->spare, sizeof(f->spare) / sizeof(void *)))
            return check_fail(err, errlen,
                              "plugin %s: function \"%s\""
                              " uses a spare slot that ABI %u.%u gave"
                              " no meaning: upgrade fnhost",
                              p->name, f->id, FH_ABI_MAJOR, FH_ABI_MINOR);
        if (check_read_options(p, f, &o, err, errlen) != 0)
            return -1;
        if ((f->triggers == NULL || f->triggers[0] == NULL) &&
            o.cron[0] == NULL)
            return check_fail(err, errlen, "function \"%s\" has no trigger",
                              f->id);
        if (check_cron(p, f, &o, err, errlen) != 0)
            return -1;
        if (o.retries < FH_RETRIES_NONE || o.retries > CHECK_RETRIES_MAX)
            return check_fail(err, errlen,
                              "function \"%s\": retries %d"
                              " is out of range (0..%d, or"
                              " FH_RETRIES_NONE)",
                              f->id, (int)o.retries, CHECK_RETRIES_MAX);
        if (o.checkpoint_ahead != 0 &&
            o.checkpoint_ahead != FH_CHECKPOINT_AHEAD)
            return check_fail(
                err, errlen,
                "function \"%s\": checkpoint_ahead %d is neither 0"
                " nor FH_CHECKPOINT_AHEAD",
                f->id, (int)o.checkpoint_ahead);
        if (o.timeout != NULL &&
            duration_parse(o.timeout, &ms, why, sizeof(why)) != 0)
            return check_fail(err, errlen, "function \"%s\": timeout: %s",
                              f->id, why);
        if (o.timeout != NULL && ms < CHECK_TIMEOUT_MIN_MS)
            return check_fail(err, errlen,
                              "function \"%s\": timeout:"
                              " must be at least %dms, got \"%s\"",
                              f->id, CHECK_TIMEOUT_MIN_MS, o.timeout);
        for (int k = 0; k < 2; k++) {
            const char *t = k ? o.timeouts.finish : o.timeouts.start;

            if (t != NULL && duration_parse(t, &ms, why, sizeof(why)) != 0)
                return check_fail(err, errlen,
                                  "function \"%s\": timeouts.%s: %s", f->id,
                                  k ? "finish" : "start", why);
        }
        if (check_cancel_on(p, f, &o, err, errlen) != 0)
            return -1;
        if (check_option_expr(p, f, "if", o.if_expr, err, errlen) != 0 ||
            check_option_expr(p, f, "idempotency", o.idempotency, err,
                              errlen) != 0 ||
            check_option_expr(p, f, "priority", o.priority, err, errlen) !=
                0 ||
            check_concurrency(p, f, &o, err, errlen) != 0 ||
            check_flow_options(p, f, &o, err, errlen) != 0)
            return -1;
        for (const struct fh_function *g = p->functions; g < f; g++)
            if (strcmp(g->id, f->id) == 0)
                return check_fail(err, errlen, "duplicate function id \"%s\"",
                                  f->id);
    }
    /* A failure handler takes the id "X-failure": no function may. */
    for (f = p->functions; f->id != NULL; f++) {
        struct fh_function_opts o;
        size_t n = strlen(f->id);

        check_read_options(p, f, &o, err, errlen); /* passed above */
        if (o.on_failure == NULL)
            continue;
        for (const struct fh_function *g = p->functions; g->id != NULL; g++)
            if (strncmp(g->id, f->id, n) == 0 &&
                strcmp(g->id + n, CHECK_FAILURE_SUFFIX) == 0)
                return check_fail(err, errlen,
                                  "function \"%s\" has a failure handler,"
                                  " whose id is \"%s\", and a function has"
                                  " that id: rename it",
                                  f->id, g->id);
    }
    return 0;
}

int
check_has_failure_handler(const struct fh_plugin *p,
                          const struct fh_function *f)
{
    struct fh_function_opts o;
    char why[256];

    return check_read_options(p, f, &o, why, sizeof(why)) == 0 &&
           o.on_failure != NULL;
}

const struct fh_function *
check_find_function(const struct fh_plugin *p, const char *id,
                    fh_handler *run)
{
    const size_t ns = sizeof(CHECK_FAILURE_SUFFIX) - 1;
    size_t n = strlen(id);

    for (const struct fh_function *f = p->functions; f->id != NULL; f++) {
        if (strcmp(f->id, id) == 0) {
            *run = f->run;
            return f;
        }
    }
    if (n <= ns || strcmp(id + n - ns, CHECK_FAILURE_SUFFIX) != 0)
        return NULL;
    for (const struct fh_function *f = p->functions; f->id != NULL; f++) {
        struct fh_function_opts o;
        char why[256];

        if (strlen(f->id) == n - ns && strncmp(f->id, id, n - ns) == 0 &&
            check_read_options(p, f, &o, why, sizeof(why)) == 0 &&
            o.on_failure != NULL) {
            *run = o.on_failure;
            return f;
        }
    }
    return NULL;
}

int
check_plugin(const struct fh_plugin *p, char *err, size_t errlen)
{
    if (p == NULL)
        return check_fail(err, errlen, "fh_plugin_entry() returned NULL");
    if (p->magic != FH_ABI_MAGIC)
        return check_fail(err, errlen,
                          "bad magic 0x%08x: not an fnhost"
                          " plugin descriptor",
                          p->magic);
    /* Any minor of our major may load: see "Minor versions" in fnhost.h. */
    if (p->abi_major != FH_ABI_MAJOR)
        return check_fail(
            err, errlen, "built for ABI %u.%u, host has %u.%u%s", p->abi_major,
            p->abi_minor, FH_ABI_MAJOR, FH_ABI_MINOR,
            p->abi_major > FH_ABI_MAJOR ? ": upgrade fnhost"
                                        : ": rebuild the plugin against this"
                                          " fnhost");
    if (p->size < PLUGIN_SIZE_1_0)
        return check_fail(err, errlen,
                          "descriptor is %u bytes, smaller"
                          " than ABI 1.0's %zu",
                          p->size, PLUGIN_SIZE_1_0);
    if (p->size > SIZE_MAX_1X)
        return check_fail(err, errlen,
                          "descriptor says it is %u bytes,"
                          " more than any ABI 1.x could"
                          " have: build it with FH_PLUGIN()",
                          p->size);
    if (p->name == NULL || *p->name == '\0')
        return check_fail(err, errlen, "descriptor has no name");
    if (strlen(p->name) > 64 || strpbrk(p->name, " /[]") != NULL)
        return check_fail(err, errlen,
                          "plugin name \"%.64s\" must be at"
                          " most 64 characters without"
                          " spaces, '/' or brackets",
                          p->name);
    if (!json_check_utf8(p->name, strlen(p->name)))
        return check_fail(err, errlen, "the plugin's name is not UTF-8");
    if (p->version == NULL)
        return check_fail(err, errlen, "plugin %s has no version", p->name);
    if (!json_check_utf8(p->version, strlen(p->version)))
        return check_fail(err, errlen, "plugin %s: its version is not UTF-8",
                          p->name);
    if (p->functions == NULL)
        return check_fail(err, errlen, "plugin %s has no function table",
                          p->name);
    /* A newer minor may have given meaning to what this host sees as spare
     * or past the end: the plugin loads only if it left those unset. */
    if (p->abi_minor > FH_ABI_MINOR &&
        (!spares_unset(p->spare, sizeof(p->spare) / sizeof(void *)) ||
         (p->size > sizeof(*p) &&
          !is_zero((const char *)p + sizeof(*p), p->size - sizeof(*p)))))
        return check_fail(err, errlen,
                          "plugin %s is built for ABI %u.%u"
                          " and sets a descriptor field"
                          " this host's %u.%u does not know:"
                          " upgrade fnhost",
                          p->name, p->abi_major, p->abi_minor, FH_ABI_MAJOR,
                          FH_ABI_MINOR);
    return check_functions(p, err, errlen);
}
