/* loader.c - dlopen a plugin, check its descriptor, and the host API.
 * SPDX-License-Identifier: Apache-2.0 */
#include "loader.h"

#include <dlfcn.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ctx.h"
#include "duration.h"
#include "expr.h"
#include "fnopt.h"
#include "log.h"
#include "steps.h"
#include "util.h"

int
loader_check_expr(const char *src, char *err, size_t errlen)
{
    struct expr *e = expr_compile(src, err, errlen);

    expr_free(e);
    return e != NULL ? 0 : -1;
}

int
loader_open(struct loaded_plugin *lp, const char *path, char *err,
            size_t errlen)
{
    const struct fh_plugin *(*entry)(void);
    const struct fh_plugin *p;
    void *sym;

    memset(lp, 0, sizeof(*lp));
    lp->path = xstrdup(path);
    lp->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lp->handle == NULL)
        return check_fail(err, errlen, "not a loadable shared object: %s",
                          dlerror());
    sym = dlsym(lp->handle, "fh_plugin_entry");
    if (sym == NULL)
        return check_fail(err, errlen,
                          "no fh_plugin_entry symbol: not an fnhost"
                          " plugin (build it with FH_PLUGIN())");
    memcpy(&entry, &sym, sizeof(entry)); /* clean under -Wpedantic */
    p = entry();
    check_expr = loader_check_expr;
    if (check_plugin(p, err, errlen) != 0)
        return -1;
    lp->desc = p;
    return 0;
}

/* The options function F of P declares, as JSON (new), or NULL with ERR. */
static struct json_object *
declared_options(const struct fh_plugin *p, const struct fh_function *f,
                 char *err, size_t errlen)
{
    struct fh_function_opts o;
    struct json_object *d;
    char why[256];

    if (check_read_options(p, f, &o, err, errlen) != 0)
        return NULL;
    if ((d = fnopt_declared(&o, why, sizeof(why))) == NULL)
        check_fail(err, errlen, "plugin %s: function \"%s\": %s", p->name,
                   f->id, why);
    return d;
}

int
loader_init(struct loaded_plugin *lp, struct json_object *config,
            const struct fh_api *api, char *err, size_t errlen)
{
    struct host_ctx c;
    struct json_object *sec;
    int rc;

    if (json_object_object_get_ex(config, lp->desc->name, &sec))
        lp->config = json_object_get(sec);
    else
        lp->config = json_object_new_object();
    if (lp->desc->load == NULL) {
        lp->loaded = 1;
        return 0;
    }
    memset(&c, 0, sizeof(c));
    c.core.pub.api = api;
    c.core.pub.plugin = lp->desc->name;
    c.lp = lp;
    rc = lp->desc->load(&c.core.pub);
    lp->state = c.core.pub.state;
    if (rc != FH_OK) {
        check_fail(err, errlen, "load() failed: %s",
             c.core.error ? c.core.error
                          : "it returned an error and gave no reason");
        host_ctx_reset(&c);
        return -1;
    }
    host_ctx_reset(&c);
    lp->loaded = 1;
    return 0;
}

void
loader_close(struct loaded_plugin *lp)
{
    if (lp->loaded && lp->desc->unload != NULL) {
        struct host_ctx c;

        memset(&c, 0, sizeof(c));
        c.core.pub.api = &loader_api;
        c.core.pub.plugin = lp->desc->name;
        c.core.pub.state = lp->state;
        c.lp = lp;
        lp->desc->unload(&c.core.pub);
        host_ctx_reset(&c);
    }
    /* dlclose may keep the object mapped, and sanitizer builds want the
     * symbols of a leaking plugin: we unmap only outside sanitizers. */
    if (lp->handle != NULL && getenv("FNHOST_KEEP_PLUGINS_MAPPED") == NULL)
        dlclose(lp->handle);
    json_object_put(lp->config);
    free(lp->path);
    memset(lp, 0, sizeof(*lp));
}

/* The function a failure handler of F is, as Inngest's SDKs register
 * it: "ID-failure", triggered by inngest/function.failed of F's runs,
 * with one retry. */
static struct json_object *
failure_function(const struct fh_function *f)
{
    static const char head[] = "event.data.function_id == \"";
    struct json_object *fo = json_object_new_object(), *tr, *opts;
    struct text_buf t = {0};
    char *s;

    s = xasprintf("%s" CHECK_FAILURE_SUFFIX, f->id);
    json_object_object_add(fo, "id", json_object_new_string(s));
    free(s);
    s = xasprintf("%s (failure)", f->name ? f->name : f->id);
    json_object_object_add(fo, "name", json_object_new_string(s));
    free(s);
    tr = json_object_new_array();
    json_object_array_add(tr, json_object_new_string(
                                  "inngest/function.failed"));
    json_object_object_add(fo, "triggers", tr);
    /* A CEL string literal of the id: quotes and backslashes escaped,
     * and bytes below a space as \x escapes (ids have no spaces, but
     * may have any other byte of UTF-8). */
    text_append(&t, head, sizeof(head) - 1);
    for (const char *c = f->id; *c != '\0'; c++) {
        char esc[8];

        if (*c == '"' || *c == '\\') {
            esc[0] = '\\', esc[1] = *c;
            text_append(&t, esc, 2);
        } else if ((unsigned char)*c < 0x20) {
            snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)*c);
            text_append(&t, esc, 4);
        } else {
            text_append(&t, c, 1);
        }
    }
    text_append(&t, "\"", 2);
    json_object_object_add(fo, "if", json_object_new_string(t.s));
    free(t.s);
    json_object_object_add(fo, "failure_of", json_object_new_string(f->id));
    opts = json_object_new_object();
    json_object_object_add(opts, "retries", json_object_new_int(1));
    json_object_object_add(fo, "options", opts);
    return fo;
}

/* F's cancel_on rules into FO as "cancel_on", if it has any: each
 * {"event", "match", "if", "timeout_ms"}, absent fields unset. They were
 * checked (check_plugin()). */
static void
add_cancel_on(const struct fh_plugin *p, const struct fh_function *f,
              struct json_object *fo)
{
    struct fh_function_opts o;
    struct json_object *list = NULL;
    char why[256];

    if (check_read_options(p, f, &o, why, sizeof(why)) != 0)
        return;
    for (int i = 0; i < FH_CANCEL_ON_MAX && o.cancel_on[i].event; i++) {
        const struct fh_cancel_on *c = &o.cancel_on[i];
        struct json_object *r = json_object_new_object();
        int64_t ms = CANCEL_ON_DEFAULT_MS;

        json_object_object_add(r, "event", json_object_new_string(c->event));
        if (c->match != NULL)
            json_object_object_add(r, "match",
                                   json_object_new_string(c->match));
        if (c->if_expr != NULL)
            json_object_object_add(r, "if",
                                   json_object_new_string(c->if_expr));
        if (c->timeout != NULL)
            duration_parse(c->timeout, &ms, why, sizeof(why));
        json_object_object_add(r, "timeout_ms", json_object_new_int64(ms));
        if (list == NULL)
            list = json_object_new_array();
        json_object_array_add(list, r);
    }
    if (list != NULL)
        json_object_object_add(fo, "cancel_on", list);
}

/* The concurrency limits of options O into FO as "concurrency", a list
 * of {"limit", "key" (absent: none), "scope"} with unused entries left
 * out (checked by check_plugin()); the first limit is also an option of
 * the table ("concurrency.limit"), which a [function ID] section may
 * override. */
static void
add_concurrency(const struct fh_function_opts *o, struct json_object *fo)
{
    struct json_object *list = NULL;

    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        const struct fh_concurrency *c = &o->concurrency[i];
        struct json_object *r;

        if (c->limit == 0)
            continue;
        r = json_object_new_object();
        json_object_object_add(r, "limit", json_object_new_int(c->limit));
        if (c->key != NULL)
            json_object_object_add(r, "key", json_object_new_string(c->key));
        json_object_object_add(r, "scope", json_object_new_string(
                                               c->scope ? c->scope : "fn"));
        if (list == NULL)
            list = json_object_new_array();
        json_object_array_add(list, r);
    }
    if (list != NULL)
        json_object_object_add(fo, "concurrency", list);
}

/* F's trigger `if`, idempotency key, rate limit key, singleton, debounce
 * and throttle keys, priority, batch key and `if` into FO as "if",
 * "idempotency", "rate_limit_key", "singleton" (its mode),
 * "singleton_key", "debounce_key", "throttle_key", "priority",
 * "batch_key" and "batch_if", if it has them (checked by
 * check_plugin()); the registry compiles the
 * expressions with the generation; its concurrency limits, and its cron
 * schedules as "cron". */
static void
add_if(const struct fh_plugin *p, const struct fh_function *f,
       struct json_object *fo)
{
    struct fh_function_opts o;
    char why[256];

    if (check_read_options(p, f, &o, why, sizeof(why)) != 0)
        return;
    /* The expressions, by fnopt.h's table. */
    for (size_t k = 0; k < FNOPT_NEXPRS; k++) {
        const char *src;

        memcpy(&src, (const char *)&o + fnopt_exprs[k].abi, sizeof(src));
        if (src != NULL)
            json_object_object_add(fo, fnopt_exprs[k].json,
                                   json_object_new_string(src));
    }
    if (o.singleton.mode != NULL)
        json_object_object_add(fo, "singleton",
                               json_object_new_string(o.singleton.mode));
    add_concurrency(&o, fo);
    if (o.cron[0] != NULL) {
        struct json_object *list = json_object_new_array();

        for (int i = 0; i < FH_CRON_MAX && o.cron[i] != NULL; i++)
            json_object_array_add(list, json_object_new_string(o.cron[i]));
        json_object_object_add(fo, "cron", list);
    }
}

struct json_object *
loader_describe(const struct loaded_plugin *lp)
{
    struct json_object *o = json_object_new_object(), *fns;
    const struct fh_plugin *p = lp->desc;
    char abi[32], why[256];

    json_object_object_add(o, "name", json_object_new_string(p->name));
    json_object_object_add(o, "version", json_object_new_string(p->version));
    snprintf(abi, sizeof(abi), "%u.%u", p->abi_major, p->abi_minor);
    json_object_object_add(o, "abi", json_object_new_string(abi));
    fns = json_object_new_array();
    for (const struct fh_function *f = p->functions; f->id != NULL; f++) {
        struct json_object *fo = json_object_new_object();
        struct json_object *tr = json_object_new_array();

        json_object_object_add(fo, "id", json_object_new_string(f->id));
        json_object_object_add(fo, "name",
                               json_object_new_string(f->name ? f->name
                                                              : f->id));
        for (const char *const *t = f->triggers; t != NULL && *t != NULL;
             t++)
            json_object_array_add(tr, json_object_new_string(*t));
        json_object_object_add(fo, "triggers", tr);
        /* loader_open() checked them: this cannot fail. */
        json_object_object_add(fo, "options",
                               declared_options(p, f, why, sizeof(why)));
        add_cancel_on(p, f, fo);
        add_if(p, f, fo);
        json_object_array_add(fns, fo);
        if (check_has_failure_handler(p, f))
            json_object_array_add(fns, failure_function(f));
    }
    json_object_object_add(o, "functions", fns);
    return o;
}

/* ------------------------------------------------------------ host API */

void
host_ctx_reset(struct host_ctx *c)
{
    ctx_reset(&c->core);
}

static void api_log(struct fh_ctx *ctx, int level, const char *fmt, ...)
    FH_PRINTF(3, 4);

/* The lines of one invocation that go to the master to be stored with
 * its run (the store keeps at most STORE_RUN_LOGS of a run); none while
 * it replays (invocation_replaying()). */
#define INVOCATION_LOGS 1000

static void
api_log(struct fh_ctx *ctx, int level, const char *fmt, ...)
{
    struct invocation *inv = ((struct host_ctx *)ctx)->inv;
    char module[256], text[8192];
    va_list ap;

    if (ctx->function_id != NULL)
        snprintf(module, sizeof(module), "plugin %s/%s run=%s", ctx->plugin,
                 ctx->function_id, ctx->run_id ? ctx->run_id : "-");
    else
        snprintf(module, sizeof(module), "plugin %s", ctx->plugin);
    if (level < FH_LOG_ERROR)
        level = FH_LOG_ERROR;
    if (level > FH_LOG_DEBUG)
        level = FH_LOG_DEBUG;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    log_msg(level, module, "%s", text);
    /* In a run, the line also goes with it: to the master with the
     * invocation's next frame (a checkpoint, or its end), printable and
     * cut to PROTO_LOG_MAX, to be stored with the run. */
    if (inv != NULL && inv->logged < INVOCATION_LOGS &&
        !invocation_replaying(inv)) {
        char line[PROTO_LOG_MAX + 1];
        struct proto_log l = {level, now_ms(), line};

        log_escape(line, sizeof(line), text, strlen(text));
        if (proto_put_log(inv->out, &l) == 0)
            inv->logged++;
    }
}

static const char *
api_config(struct fh_ctx *ctx, const char *key)
{
    struct host_ctx *c = (struct host_ctx *)ctx;
    struct json_object *v;

    if (c->lp == NULL || c->lp->config == NULL ||
        !json_object_object_get_ex(c->lp->config, key, &v))
        return NULL;
    return json_object_get_string(v);
}

/* Absolute, as fh_state_dir() promises, whatever folder a plugin later
 * changes to: serve and check pass FNHOST_STATE absolute; a relative one,
 * or none, is taken from the folder this process started in. */
static const char *
api_state_dir(struct fh_ctx *ctx)
{
    static char dir[4096];
    const char *s = getenv("FNHOST_STATE");
    char *abs = path_absolute(s != NULL && *s != '\0' ? s : ".fnhost");

    snprintf(dir, sizeof(dir), "%s", abs);
    free(abs);
    return dir;
}

const struct fh_api loader_api = {
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
    .step = steps_run,
    .sleep = steps_sleep,
    .sleep_until = steps_sleep_until,
    .send_event = steps_send,
    .invoke = steps_invoke,
    .error = ctx_error,
    .fetch = steps_fetch,
    .wait_for_event = steps_wait_for_event,
    .parallel = steps_parallel,
};
