/* main.c - the fnhost command line: serve, send, runs, run, check, ...
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include "backup.h"
#include "client.h"
#include "config.h"
#include "duration.h"
#include "fnhost.h"
#include "help.h"
#include "log.h"
#include "registry.h"
#include "server.h"
#include "newplugin.h"
#include "util.h"
#include "webhook.h"
#include "worker.h"

struct cli {
    struct config cfg;
    const char *url, *key, *data, *id, *function, *status, *limit;
    const char *from, *to, *cond;
    const char *webhook, *secret, *scheme, *timestamp;
    int json;
    char **args;
    int nargs;
    char **copies; /* of the secret options, whose argv bytes are wiped */
    size_t ncopies;
};

#define OPT(field) offsetof(struct cli, field)

/* The client commands' options; the settings' flags are in
 * config_settings. */
static const struct cli_option options[] = {
    {"url", "URL", OPT(url),
     "the host the CLI talks to (default: FNHOST_URL, else the address in"
     " STATE/fnhost.addr, else listen)"},
    {"key", "KEY", OPT(key),
     "the event key send uses (default: FNHOST_EVENT_KEY, else the first"
     " of event_keys, else dev)"},
    {"data", "JSON|@FILE", OPT(data), "the event's data, or a file of it"},
    {"id", "ID", OPT(id),
     "send: the event's id (a repeat starts nothing new); sign: the"
     " message id (default: a new one)"},
    {"function", "F", OPT(function), "only the runs of function F"},
    {"from", "TIME", OPT(from),
     "cancel: runs created at TIME or later (RFC 3339, or ms since the"
     " epoch; default: any)"},
    {"to", "TIME", OPT(to), "cancel: runs created before TIME (default: now)"},
    {"if", "EXPR", OPT(cond),
     "cancel: only runs whose triggering event makes EXPR true, e.g."
     " 'event.data.user_id == \"u1\"'"},
    {"status", "S", OPT(status),
     "only runs in status S: queued, running, sleeping, completed, failed,"
     " cancelled"},
    {"limit", "N", OPT(limit), "at most N runs (default 50)"},
    {"json", NULL, OPT(json), "print the API's JSON as is"},
    {"webhook", "NAME[=SECRET]", OPT(webhook),
     "sign: the [webhook NAME] source of --config to sign as; serve:"
     " NAME=SECRET adds a source"},
    {"secret", "S", OPT(secret), "sign with this secret, without a config"},
    {"scheme", "X", OPT(scheme),
     "with --secret: standard-webhooks (default), stripe or github"},
    {"timestamp", "UNIX_S", OPT(timestamp),
     "sign as of this time, in seconds since the epoch (default: now)"},
    {NULL, NULL, 0, NULL},
};

static int
die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
die(const char *fmt, ...)
{
    va_list ap;

    fputs("fnhost: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* getopt_long values: a setting's flag is OPT_SETTING + its row, a client
 * option OPT_CLIENT + its row. */
enum { OPT_SETTING = 1000, OPT_CLIENT = 2000 };

/* The long options of getopt_long, from both tables (new). */
static struct option *
long_options(void)
{
    struct option *lo = xcalloc(config_nsettings +
                                    sizeof(options) / sizeof(options[0]) + 1,
                                sizeof(*lo));
    size_t n = 0;

    for (size_t i = 0; i < config_nsettings; i++) {
        if (config_settings[i].flag == NULL)
            continue;
        lo[n].name = config_settings[i].flag + 2;
        lo[n].has_arg = config_settings[i].metavar ? required_argument
                                                   : no_argument;
        lo[n++].val = OPT_SETTING + (int)i;
    }
    for (size_t i = 0; options[i].name != NULL; i++) {
        lo[n].name = options[i].name;
        lo[n].has_arg = options[i].metavar ? required_argument : no_argument;
        lo[n++].val = OPT_CLIENT + (int)i;
    }
    lo[n].name = "help";
    lo[n].val = 'h';
    return lo;
}

/* Reads the options of fnhost CMD ...: the client options into C; the
 * settings from, in rising precedence, the defaults, the --config file,
 * FNHOST_* and the flags. Returns 0, or 1 after saying why not. */
static int
parse_args(struct cli *c, const struct cmd_entry *cmd, int argc, char **argv)
{
    struct {
        int opt;
        char *val; /* in argv */
    } flags[64];
    int nflags = 0, o, rc = 1;
    const char *config = getenv("FNHOST_CONFIG");
    struct option *lo = long_options();
    char err[512];

    config_init(&c->cfg);
    opterr = 0;
    optind = 2;
    while ((o = getopt_long(argc, argv, ":h", lo, NULL)) != -1) {
        if (o == 'h') {
            help_print_command(stdout, cmd, options);
            exit(0);
        } else if (o == ':') {
            die("option %s needs a value", argv[optind - 1]);
            goto out;
        } else if (o == '?') {
            die("unknown option %s (see fnhost help)", argv[optind - 1]);
            goto out;
        } else if (o >= OPT_CLIENT) {
            const struct cli_option *opt = &options[o - OPT_CLIENT];

            if (opt->metavar == NULL) {
                *(int *)((char *)c + opt->offset) = 1;
            } else if (opt->offset == OPT(key) ||
                       opt->offset == OPT(secret)) {
                /* A key: kept as a copy, wiped from ps. */
                c->copies = xrealloc(c->copies,
                                     (c->ncopies + 1) * sizeof(char *));
                c->copies[c->ncopies] = xstrdup(optarg);
                *(const char **)((char *)c + opt->offset) =
                    c->copies[c->ncopies++];
                config_wipe(optarg);
            } else {
                *(const char **)((char *)c + opt->offset) = optarg;
            }
            /* --webhook NAME=SECRET is a source, applied with the flags. */
            if (opt->offset != OPT(webhook))
                continue;
        } else if (config_settings[o - OPT_SETTING].offset ==
                   offsetof(struct config, config_file)) {
            config = optarg; /* it names the file: read first */
            continue;
        }
        if (nflags == 64) {
            die("too many options");
            goto out;
        }
        flags[nflags].opt = o;
        flags[nflags++].val = optarg;
    }
    c->args = argv + optind;
    c->nargs = argc - optind;
    if (config != NULL) {
        if (config_load_file(&c->cfg, config, err, sizeof(err)) != 0) {
            die("%s", err);
            goto out;
        }
        config_set(&c->cfg, "config", config, err, sizeof(err));
    }
    if (config_load_env(&c->cfg, err, sizeof(err)) != 0) {
        die("%s", err);
        goto out;
    }
    /* The values point into argv: secrets are wiped once applied, so
     * that ps and /proc/PID/cmdline no longer show them. */
    for (int i = 0; i < nflags; i++) {
        const char *v = flags[i].val ? flags[i].val : "1";

        if (flags[i].opt >= OPT_CLIENT) { /* --webhook */
            char *eq = strchr(flags[i].val, '='), name[80];

            if (eq == NULL)
                continue; /* just a name, for sign */
            snprintf(name, sizeof(name), "%.*s", (int)(eq - v), v);
            if (config_set_webhook(&c->cfg, name, "secret", eq + 1, err,
                                   sizeof(err)) != 0) {
                die("--webhook: %s", err);
                goto out;
            }
            config_wipe(eq + 1);
        } else {
            const struct config_setting *s =
                &config_settings[flags[i].opt - OPT_SETTING];

            if (config_set(&c->cfg, s->key, v, err, sizeof(err)) != 0) {
                die("--%s", err);
                goto out;
            }
            if (config_is_secret(s) && flags[i].val != NULL)
                config_wipe(flags[i].val);
        }
    }
    log_set_level_name(c->cfg.log_level);
    log_set_json(strcmp(c->cfg.log_format, "json") == 0);
    rc = 0;
out:
    free(lo);
    return rc;
}

/* The daemon's URL: --url, FNHOST_URL, STATE/fnhost.addr, or listen. */
static char *
base_url(const struct cli *c)
{
    const char *env = getenv("FNHOST_URL");
    char *path, *addr;

    if (c->url != NULL)
        return xstrdup(c->url);
    if (env != NULL && *env != '\0')
        return xstrdup(env);
    path = xasprintf("%s/fnhost.addr", c->cfg.state_dir);
    addr = file_read(path, NULL);
    free(path);
    if (addr != NULL) {
        char *url;

        addr[strcspn(addr, "\r\n")] = '\0';
        url = xasprintf("http://%s", addr);
        free(addr);
        return url;
    }
    if (strncmp(c->cfg.listen, "0.0.0.0:", 8) == 0)
        return xasprintf("http://127.0.0.1%s", c->cfg.listen + 7);
    return xasprintf("http://%s", c->cfg.listen);
}

/* METHOD PATH with BODY (NULL: none) and return the parsed answer (new),
 * printing errors. */
static struct json_object *
api_request(const struct cli *c, const char *method, const char *path,
            const char *body, int *status)
{
    char *url = base_url(c), *resp = NULL, err[512];
    struct json_object *o;

    *status = client_request(url, method, path, body, c->cfg.api_key, &resp,
                             err, sizeof(err));
    free(url);
    if (*status < 0) {
        die("%s", err);
        return NULL;
    }
    o = json_parse(resp); /* as deep as the host writes */
    if (o == NULL)
        die("the host answered %d with a body that is not JSON: %.200s",
            *status, resp);
    free(resp);
    return o;
}

/* GET PATH and return the parsed body (new), printing errors. */
static struct json_object *
api_get(const struct cli *c, const char *path, int *status)
{
    return api_request(c, "GET", path, NULL, status);
}

static const char *
jstr(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) || v == NULL)
        return "-";
    return json_object_get_string(v);
}

static void
print_json(struct json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* GET PATH from the v1 API: the whole answer (new), or NULL after printing
 * the error. With --json, prints the answer too. */
static struct json_object *
api_data(const struct cli *c, const char *path)
{
    struct json_object *o;
    int status;

    o = api_get(c, path, &status);
    if (o == NULL)
        return NULL;
    if (status != 200) {
        die("%s", jstr(o, "error"));
        json_object_put(o);
        return NULL;
    }
    if (c->json)
        print_json(o);
    return o;
}

static int
cmd_send(struct cli *c)
{
    struct json_object *ev, *data;
    char *url, *resp = NULL, *path, err[512], *file = NULL;
    const char *key = c->key ? c->key : getenv("FNHOST_EVENT_KEY");
    int status;

    if (c->nargs != 1)
        return die("usage: fnhost send NAME --data JSON|@FILE [--id ID]");
    if (c->data != NULL && c->data[0] == '@') {
        file = file_read(c->data + 1, NULL);
        if (file == NULL)
            return die("cannot read %s: %s", c->data + 1, strerror(errno));
    }
    data = json_parse(file ? file : c->data ? c->data : "{}");
    free(file);
    if (data == NULL || !json_object_is_type(data, json_type_object)) {
        json_object_put(data);
        return die("--data must be a JSON object (or @FILE holding one)");
    }
    ev = json_object_new_object();
    json_object_object_add(ev, "name", json_object_new_string(c->args[0]));
    json_object_object_add(ev, "data", data);
    if (c->id != NULL)
        json_object_object_add(ev, "id", json_object_new_string(c->id));
    if (key == NULL)
        key = c->cfg.event_keys[0] ? c->cfg.event_keys[0] : "dev";
    url = base_url(c);
    path = xasprintf("/e/%s", key);
    status = client_request(url, "POST", path,
                            json_object_to_json_string(ev), NULL, &resp, err,
                            sizeof(err));
    free(url);
    free(path);
    json_object_put(ev);
    if (status < 0)
        return die("%s", err);
    fputs(resp, status == 200 ? stdout : stderr);
    free(resp);
    return status == 200 ? 0 : 1;
}

static int
cmd_runs(struct cli *c)
{
    struct json_object *o, *data;
    char *path, *q;

    q = xasprintf("?limit=%s%s%s%s%s", c->limit ? c->limit : "50",
                  c->function ? "&function_id=" : "",
                  c->function ? c->function : "",
                  c->status ? "&status=" : "", c->status ? c->status : "");
    path = xasprintf("/v1/runs%s", q);
    free(q);
    o = api_data(c, path);
    free(path);
    if (o == NULL || c->json) {
        json_object_put(o);
        return o == NULL;
    }
    data = json_object_object_get(o, "data");
    /* RETRIES is the API's "attempt", 0 on the first attempt (Inngest
     * counts from 0 too): the same number, under a name that says so. */
    printf("%-26s  %-28s  %-9s  %-7s  %s\n", "RUN", "FUNCTION", "STATUS",
           "RETRIES", "CREATED");
    for (size_t i = 0; i < json_object_array_length(data); i++) {
        struct json_object *r = json_object_array_get_idx(data, i);

        struct json_object *why = json_object_object_get(r,
                                                         "queued_reason");
        struct json_object *d = json_object_object_get(r, "debouncing");

        printf("%-26s  %-28s  %-9s  %-7d  %s%s%s%s%s\n", jstr(r, "run_id"),
               jstr(r, "function_id"), jstr(r, "status"),
               json_object_get_int(json_object_object_get(r, "attempt")),
               jstr(r, "created_at"), why ? "  " : "",
               why ? json_object_get_string(why) : "",
               d ? "  debouncing until " : "", d ? jstr(d, "until") : "");
    }
    json_object_put(o);
    return 0;
}

static int
cmd_run(struct cli *c)
{
    struct json_object *o, *r, *at, *out, *steps, *w;
    char *path;

    if (c->nargs != 1)
        return die("usage: fnhost run ID");
    path = xasprintf("/v1/runs/%s", c->args[0]);
    o = api_data(c, path);
    free(path);
    if (o == NULL || c->json) {
        json_object_put(o);
        return o == NULL;
    }
    r = json_object_object_get(o, "data");
    printf("run       %s\n", jstr(r, "run_id"));
    printf("function  %s\n", jstr(r, "function_id"));
    printf("event     %s\n", jstr(r, "event_id"));
    printf("status    %s\n", jstr(r, "status"));
    printf("created   %s\n", jstr(r, "created_at"));
    printf("started   %s\n", jstr(r, "run_started_at"));
    printf("ended     %s\n", jstr(r, "ended_at"));
    if (json_object_object_get_ex(r, "next_attempt_at", NULL))
        printf("next try  %s\n", jstr(r, "next_attempt_at"));
    if (json_object_object_get_ex(r, "queued_reason", NULL))
        printf("queued    %s\n", jstr(r, "queued_reason"));
    if (json_object_get_int(json_object_object_get(r, "priority")) != 0)
        printf("priority  %s s\n", jstr(r, "priority"));
    if ((w = json_object_object_get(r, "debouncing")) != NULL)
        printf("debounce  key \"%s\", starts at %s unless another event"
               " of the key comes first\n", jstr(w, "key"), jstr(w, "until"));
    if ((w = json_object_object_get(r, "batching")) != NULL)
        printf("batch     key \"%s\", %d events, starts at %s unless it"
               " fills first\n", jstr(w, "key"),
               json_object_get_int(json_object_object_get(w, "size")),
               jstr(w, "until"));
    if ((w = json_object_object_get(r, "waiting_for")) != NULL)
        printf("waits for %s%s%s until %s\n", jstr(w, "event"),
               json_object_object_get(w, "match") ? " matching " : "",
               json_object_object_get(w, "match") ? jstr(w, "match") : "",
               jstr(w, "timeout_at"));
    out = json_object_object_get(r, "output");
    if (out != NULL)
        printf("output    %s\n",
               json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    if (json_object_object_get(r, "error") != NULL)
        printf("error     %s\n", jstr(r, "error"));
    steps = json_object_object_get(r, "steps");
    if (json_object_array_length(steps) > 0)
        printf("steps\n");
    for (size_t i = 0; i < json_object_array_length(steps); i++) {
        struct json_object *st = json_object_array_get_idx(steps, i);
        struct json_object *res = json_object_object_get(st, "result");
        const char *status = jstr(st, "status");

        printf("  step %-24s %-9s %d attempt%s  %s .. %s  ", jstr(st, "step_id"),
               status, json_object_get_int(json_object_object_get(st, "attempts")),
               json_object_get_int(json_object_object_get(st, "attempts")) == 1
                   ? "" : "s",
               jstr(st, "started_at"), jstr(st, "ended_at"));
        if (strcmp(status, "failed") == 0)
            printf("error: %s\n", jstr(st, "error"));
        else if (strcmp(status, "sleeping") == 0 ||
                 strcmp(status, "waiting") == 0)
            printf("until %s\n", jstr(st, "wake_at"));
        else
            printf("%s\n", json_object_to_json_string_ext(
                               res, JSON_C_TO_STRING_PLAIN |
                                        JSON_C_TO_STRING_NOSLASHESCAPE));
    }
    at = json_object_object_get(r, "attempts");
    if (json_object_array_length(at) > 0)
        printf("attempts\n");
    for (size_t i = 0; i < json_object_array_length(at); i++) {
        struct json_object *a = json_object_array_get_idx(at, i);
        const char *step = jstr(a, "step_id");

        printf("  %s%-24s attempt %d  %s .. %s  %s\n",
               strcmp(step, "-") ? "step " : "handler", strcmp(step, "-") ? step : "",
               json_object_get_int(json_object_object_get(a, "attempt")) + 1,
               jstr(a, "started_at"), jstr(a, "ended_at"),
               json_object_object_get(a, "error") ? jstr(a, "error") : "ok");
    }
    at = json_object_object_get(r, "logs");
    if (json_object_array_length(at) > 0)
        printf("logs\n");
    for (size_t i = 0; i < json_object_array_length(at); i++) {
        struct json_object *l = json_object_array_get_idx(at, i);

        printf("  %s %-5s attempt %d  %s\n", jstr(l, "at"),
               jstr(l, "level"),
               json_object_get_int(json_object_object_get(l, "attempt")) + 1,
               jstr(l, "message"));
    }
    json_object_put(o);
    return 0;
}

/* fnhost cancel RUN_ID, or --function F [--from T] [--to T] [--if E]. */
static int
cmd_cancel(struct cli *c)
{
    struct json_object *o, *body = NULL, *d;
    char *path;
    int status, bulk = c->function != NULL;

    if (bulk ? c->nargs != 0 : c->nargs != 1 || c->from || c->to || c->cond)
        return die("usage: fnhost cancel RUN_ID, or fnhost cancel --function"
                   " F [--from TIME] [--to TIME] [--if EXPR]");
    if (bulk) {
        body = json_object_new_object();
        json_object_object_add(body, "function_id",
                               json_object_new_string(c->function));
        if (c->from != NULL)
            json_object_object_add(body, "started_after",
                                   json_object_new_string(c->from));
        if (c->to != NULL)
            json_object_object_add(body, "started_before",
                                   json_object_new_string(c->to));
        if (c->cond != NULL)
            json_object_object_add(body, "if",
                                   json_object_new_string(c->cond));
        path = xstrdup("/v1/cancellations");
    } else {
        path = xasprintf("/v1/runs/%s", c->args[0]);
    }
    o = api_request(c, bulk ? "POST" : "DELETE", path,
                    body ? json_object_to_json_string(body) : NULL, &status);
    free(path);
    json_object_put(body);
    if (o == NULL)
        return 1;
    if (status != 200) {
        die("%s", jstr(o, "error"));
        json_object_put(o);
        return 1;
    }
    d = json_object_object_get(o, "data");
    if (c->json)
        print_json(o);
    else if (bulk)
        printf("cancellation %s: %lld run%s cancelled\n", jstr(d, "id"),
               (long long)json_object_get_int64(
                   json_object_object_get(d, "cancelled")),
               json_object_get_int64(json_object_object_get(d, "cancelled"))
                       == 1 ? "" : "s");
    else if (strcmp(jstr(d, "status"), "Cancelled") == 0)
        printf("run %s cancelled\n", jstr(d, "run_id"));
    else
        printf("run %s: cancel requested; it stops at its next step"
               " boundary\n", jstr(d, "run_id"));
    json_object_put(o);
    return 0;
}

/* A function's concurrency limits, from GET /v1/functions, a line
 * each. */
static void
print_concurrency(struct json_object *list)
{
    if (!json_object_is_type(list, json_type_array))
        return; /* none */
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *l = json_object_array_get_idx(list, i);
        struct json_object *key = json_object_object_get(l, "key");

        printf("    concurrency %d%s%s (scope %s)\n",
               json_object_get_int(json_object_object_get(l, "limit")),
               key ? " per " : "", key ? json_object_get_string(key) : "",
               jstr(l, "scope"));
    }
}

/* Function F's flow-control options from GET /v1/functions, a line each
 * under it: "    rate limit 10 per 1h, key event.data.user_id". */
static void
print_flow(struct json_object *f)
{
    struct json_object *v;
    char period[32];

    if (json_object_object_get_ex(f, "singleton", &v)) {
        printf("    singleton, mode %s", json_object_get_string(v));
        if (json_object_object_get_ex(f, "singleton_key", &v))
            printf(", key %s", json_object_get_string(v));
        printf("\n");
    }
    if (json_object_object_get_ex(f, "debounce_period_ms", &v) &&
        json_object_get_int64(v) > 0) {
        duration_format(json_object_get_int64(v), period, sizeof(period));
        printf("    debounce %s", period);
        v = json_object_object_get(f, "debounce_timeout_ms");
        if (json_object_get_int64(v) > 0) {
            duration_format(json_object_get_int64(v), period, sizeof(period));
            printf(", timeout %s", period);
        }
        if (json_object_object_get_ex(f, "debounce_key", &v))
            printf(", key %s", json_object_get_string(v));
        printf("\n");
    }
    if (json_object_object_get_ex(f, "throttle", &v) &&
        json_object_get_int(v) > 0) {
        duration_format(json_object_get_int64(json_object_object_get(
                            f, "throttle_period_ms")),
                        period, sizeof(period));
        printf("    throttle %d per %s, burst %d", json_object_get_int(v),
               period, json_object_get_int(json_object_object_get(
                           f, "throttle_burst")));
        if (json_object_object_get_ex(f, "throttle_key", &v))
            printf(", key %s", json_object_get_string(v));
        printf("\n");
    }
    if (json_object_object_get_ex(f, "batch_max_size", &v) &&
        json_object_get_int(v) > 0) {
        duration_format(json_object_get_int64(json_object_object_get(
                            f, "batch_timeout_ms")),
                        period, sizeof(period));
        printf("    batch of %d, timeout %s", json_object_get_int(v),
               period);
        if (json_object_object_get_ex(f, "batch_key", &v))
            printf(", key %s", json_object_get_string(v));
        if (json_object_object_get_ex(f, "batch_if", &v))
            printf(", if %s", json_object_get_string(v));
        printf("\n");
    }
    if (!json_object_object_get_ex(f, "rate_limit", &v) ||
        json_object_get_int(v) == 0)
        return;
    duration_format(json_object_get_int64(
                        json_object_object_get(f, "rate_limit_period_ms")),
                    period, sizeof(period));
    printf("    rate limit %d per %s", json_object_get_int(v), period);
    if (json_object_object_get_ex(f, "rate_limit_key", &v))
        printf(", key %s", json_object_get_string(v));
    printf("\n");
}

/* Function F's priority.run from GET /v1/functions, if it has one:
 * "    priority event.data.plan == 'pro' ? 120 : 0". */
static void
print_priority(struct json_object *f)
{
    struct json_object *v;

    if (json_object_object_get_ex(f, "priority", &v))
        printf("    priority %s\n", json_object_get_string(v));
}

static int
cmd_functions(struct cli *c)
{
    struct json_object *o, *g, *ps;

    o = api_data(c, "/v1/functions");
    if (o == NULL || c->json) {
        json_object_put(o);
        return o == NULL;
    }
    g = json_object_object_get(o, "data");
    printf("generation %s, loaded %s\n", jstr(g, "generation"),
           jstr(g, "loaded_at"));
    {
        struct json_object *lr = json_object_object_get(g, "last_reload");

        if (!json_object_get_boolean(json_object_object_get(lr, "ok")))
            printf("last reload %s FAILED, the generation above serves on:"
                   " %s\n", jstr(lr, "at"), jstr(lr, "error"));
    }
    ps = json_object_object_get(g, "plugins");
    for (size_t i = 0; i < json_object_array_length(ps); i++) {
        struct json_object *p = json_object_array_get_idx(ps, i);
        struct json_object *fs = json_object_object_get(p, "functions");

        printf("%s %s  (%s)\n", jstr(p, "name"), jstr(p, "version"),
               jstr(p, "file"));
        for (size_t j = 0; j < json_object_array_length(fs); j++) {
            struct json_object *f = json_object_array_get_idx(fs, j);
            struct json_object *cr = json_object_object_get(f, "cron");

            printf("  %-28s  %s\n", jstr(f, "id"),
                   json_object_to_json_string_ext(
                       json_object_object_get(f, "triggers"),
                       JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
            print_concurrency(json_object_object_get(f, "concurrency"));
            print_flow(f);
            print_priority(f);
            for (size_t k = 0;
                 cr != NULL && k < json_object_array_length(cr); k++) {
                struct json_object *one = json_object_array_get_idx(cr, k);

                printf("  %-28s  cron \"%s\", next %s\n", "",
                       jstr(one, "cron"), jstr(one, "next"));
            }
        }
    }
    json_object_put(o);
    return 0;
}

static int
cmd_sign(struct cli *c)
{
    struct webhooks hooks;
    const struct webhook_source *src = NULL;
    struct sig_secret secret;
    enum sig_scheme scheme = SIG_STANDARD;
    char err[512], out[1024], idbuf[40], *body = NULL, ulid[ULID_LEN + 1];
    const char *id = c->id;
    size_t len = 0;
    int64_t now = c->timestamp ? strtoll(c->timestamp, NULL, 10)
                               : now_ms() / 1000;
    int rc = 1;

    memset(&hooks, 0, sizeof(hooks));
    if (c->nargs == 1 && c->args[0][0] == '@')
        body = file_read(c->args[0] + 1, &len);
    else if (c->data != NULL && c->data[0] == '@')
        body = file_read(c->data + 1, &len);
    else if (c->data != NULL)
        body = xstrdup(c->data), len = strlen(body);
    if (body == NULL)
        return die("usage: fnhost sign [--webhook NAME | --secret S"
                   " [--scheme standard-webhooks|stripe|github]] [--id ID]"
                   " [--timestamp UNIX_S] @FILE");
    if (c->secret != NULL) {
        if (c->scheme != NULL && sig_scheme_parse(c->scheme, &scheme) != 0) {
            die("unknown scheme \"%s\"", c->scheme);
            goto out;
        }
        if (sig_secret_parse(scheme, c->secret, &secret, err,
                             sizeof(err)) != 0) {
            die("--secret: %s", err);
            goto out;
        }
    } else {
        char name[80];

        snprintf(name, sizeof(name), "%.*s",
                 (int)strcspn(c->webhook ? c->webhook : "", "="),
                 c->webhook ? c->webhook : "");
        if (webhooks_init(&hooks, &c->cfg, err, sizeof(err)) != 0) {
            die("%s", err);
            goto out;
        }
        src = webhooks_find(&hooks, name);
        if (src == NULL) {
            die("no webhook source \"%s\": give --webhook NAME of a"
                " [webhook NAME] in --config, or --secret", name);
            goto out;
        }
        scheme = src->scheme;
        secret = src->secrets[0];
    }
    if (id == NULL) {
        ulid_new(ulid, 0);
        snprintf(idbuf, sizeof(idbuf), "msg_%s", ulid);
        id = idbuf;
    }
    if (sig_sign(scheme, &secret, id, now, body, len, out, sizeof(out)) !=
        0) {
        die("cannot sign: the headers do not fit");
        goto out;
    }
    fputs(out, stdout);
    rc = 0;
out:
    memset(&secret, 0, sizeof(secret));
    webhooks_fini(&hooks);
    free(body);
    return rc;
}

/* fnhost reload: SIGHUP to the host that holds the state folder, then wait
 * for the build that includes this request (GET /v1/functions counts
 * requests and says which the last build covered). */
static int
cmd_reload(struct cli *c)
{
    char *path = xasprintf("%s/fnhost.lock", c->cfg.state_dir), text[32];
    struct json_object *before, *after = NULL, *lr;
    int fd, rc = 1, asked;
    ssize_t n;
    long pid = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) == 0) {
        /* Nobody holds the lock: the pid in it is stale. */
        close(fd);
        fd = -1;
    }
    if (fd >= 0) {
        n = read(fd, text, sizeof(text) - 1);
        text[n > 0 ? n : 0] = '\0';
        pid = strtol(text, NULL, 10);
        close(fd);
    }
    if (pid <= 0)
        return die("no fnhost is running on the state folder %s (see"
                   " --state)", c->cfg.state_dir);
    before = api_data(c, "/v1/functions");
    if (before == NULL)
        return 1;
    lr = json_object_object_get(json_object_object_get(before, "data"),
                                "last_reload");
    asked = json_object_get_int(json_object_object_get(lr, "requested")) + 1;
    json_object_put(before);
    if (kill((pid_t)pid, SIGHUP) != 0)
        return die("cannot signal fnhost (pid %ld): %s", pid,
                   strerror(errno));
    for (int i = 0; i < 600; i++) {
        usleep(i < 10 ? 20000 : 100000);
        after = api_data(c, "/v1/functions");
        if (after == NULL)
            return 1;
        lr = json_object_object_get(json_object_object_get(after, "data"),
                                    "last_reload");
        if (json_object_get_int(json_object_object_get(lr, "covered")) >=
            asked) {
            if (json_object_get_boolean(json_object_object_get(lr, "ok"))) {
                printf("reloaded: generation %s\n",
                       jstr(json_object_object_get(after, "data"),
                            "generation"));
                rc = 0;
            } else {
                fprintf(stderr, "fnhost: reload failed, the previous"
                                " generation keeps serving: %s\n",
                        jstr(lr, "error"));
            }
            json_object_put(after);
            return rc;
        }
        json_object_put(after);
    }
    return die("fnhost (pid %ld) did not finish the reload within a minute;"
               " see its log", pid);
}

/* "N events, M runs (K not ended), S": what a copy of the store holds. */
static void
print_copy(const struct backup_info *in)
{
    printf("%lld events, %lld runs (%lld not ended), %.1f MiB\n",
           (long long)in->events, (long long)in->runs, (long long)in->live,
           (double)in->bytes / (1024 * 1024));
}

/* fnhost backup FILE: a copy of the store, made while fnhost serves. */
static int
cmd_backup(struct cli *c)
{
    struct backup_info in;
    char err[1024];

    if (c->nargs != 1)
        return die("usage: fnhost backup FILE [--state DIR]");
    if (backup_store(c->cfg.state_dir, c->args[0], &in, err,
                     sizeof(err)) != 0)
        return die("backup: %s", err);
    printf("backed up %s/fnhost.db to %s: ", c->cfg.state_dir, c->args[0]);
    print_copy(&in);
    return 0;
}

/* fnhost restore FILE: FILE becomes the store of a stopped host. */
static int
cmd_restore(struct cli *c)
{
    struct backup_info in;
    char err[1024], *aside = NULL;

    if (c->nargs != 1)
        return die("usage: fnhost restore FILE [--state DIR]");
    if (restore_store(c->cfg.state_dir, c->args[0], &aside, &in, err,
                      sizeof(err)) != 0)
        return die("restore: %s", err);
    printf("restored %s into %s/fnhost.db: ", c->args[0], c->cfg.state_dir);
    print_copy(&in);
    if (aside != NULL)
        printf("the store it replaced is %s\n", aside);
    printf("start fnhost on %s: runs that had not ended go on from their"
           " last stored step\n", c->cfg.state_dir);
    free(aside);
    return 0;
}

/* fnhost check FILE.so: describes the plugin in a child, as a reload
 * would. Its load() sees fh_state_dir() as the state folder given with
 * --state (or FNHOST_STATE, or [server] state), created if missing, or
 * else as a new temporary folder removed afterwards: checking a plugin
 * leaves nothing in the current folder. */
static int
cmd_check(struct cli *c)
{
    struct json_object *d, *fns;
    const char *tmp = getenv("TMPDIR");
    char err[1024], *path, *state;
    int temp = !config_is_set(&c->cfg, "state"), rc = 1;

    if (c->nargs != 1)
        return die("usage: fnhost check FILE.so");
    if (access(c->args[0], R_OK) != 0)
        return die("%s: %s", c->args[0], strerror(errno));
    /* What serve would refuse, check refuses, in the same words. */
    if (registry_check_plugin(c->args[0], err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", c->args[0], err);
        return 1;
    }
    /* dlopen() looks a name without a '/' up in the library path. */
    path = path_absolute(c->args[0]);
    state = temp ? xasprintf("%s/fnhost-check-XXXXXX",
                             tmp != NULL && *tmp != '\0' ? tmp : "/tmp")
                 : path_absolute(c->cfg.state_dir);
    if (temp ? mkdtemp(state) == NULL : mkdir_p(state, 0700) != 0) {
        die("cannot create the state folder %s: %s", state, strerror(errno));
        goto out;
    }
    /* The describe process passes it on to fh_state_dir(); it runs the
     * plugin's load(), which has no business with our secrets. */
    setenv("FNHOST_STATE", state, 1);
    config_scrub_environment();
    d = registry_describe(path, c->cfg.plugin_config,
                          (int)c->cfg.load_timeout_ms, err, sizeof(err));
    if (d == NULL) {
        fprintf(stderr, "%s: %s\n", c->args[0], err);
        goto out;
    }
    rc = 0;
    if (c->json) {
        print_json(d);
        json_object_put(d);
        goto out;
    }
    printf("%s: plugin %s %s (ABI %s)\n", c->args[0], jstr(d, "name"),
           jstr(d, "version"), jstr(d, "abi"));
    fns = json_object_object_get(d, "functions");
    for (size_t i = 0; i < json_object_array_length(fns); i++) {
        struct json_object *f = json_object_array_get_idx(fns, i);

        printf("  function %-28s triggers %s", jstr(f, "id"),
               json_object_to_json_string_ext(
                   json_object_object_get(f, "triggers"),
                   JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (json_object_object_get(f, "cron") != NULL)
            printf(" cron %s",
                   json_object_to_json_string_ext(
                       json_object_object_get(f, "cron"),
                       JSON_C_TO_STRING_PLAIN |
                           JSON_C_TO_STRING_NOSLASHESCAPE));
        printf("\n");
    }
    json_object_put(d);
out:
    if (temp)
        rm_rf(state);
    free(state);
    free(path);
    return rc;
}

static int
cmd_serve(struct cli *c)
{
    if (c->nargs != 0)
        return die("serve takes no arguments");
    return server_main(&c->cfg);
}

static int
cmd_new_plugin(struct cli *c)
{
    if (c->nargs != 1 && c->nargs != 2)
        return die("usage: fnhost new-plugin NAME [DIR]");
    return newplugin_main(c->args[0], c->nargs == 2 ? c->args[1]
                                                    : c->args[0]);
}

static int
cmd_version(struct cli *c)
{
    printf("fnhost %s (plugin ABI %d.%d)\n", FNHOST_VERSION, FH_ABI_MAJOR,
           FH_ABI_MINOR);
    return 0;
}

static int cmd_help(struct cli *c);

/* Every command; fnhost help and the README's command table are written
 * from these rows. */
static const struct cmd_entry commands[] = {
    {"serve", "[OPTIONS]", "run the host (HTTP, store, workers)", "* webhook",
     cmd_serve, 0},
    {"send", "NAME --data JSON|@FILE [--id ID] [--key KEY]",
     "send an event to a running host", "data id key url state", cmd_send,
     0},
    {"runs", "[--function F] [--status S] [--limit N]",
     "list runs, newest first", "function status limit json url state"
     " api_key", cmd_runs, 0},
    {"run", "ID", "show one run, its steps and attempts",
     "json url state api_key", cmd_run, 0},
    {"cancel", "RUN_ID | --function F [--from T] [--to T] [--if EXPR]",
     "cancel a run, or a function's runs created in a time range",
     "function from to if json url state api_key", cmd_cancel, 0},
    {"functions", "", "show the loaded plugins and functions",
     "json url state api_key", cmd_functions, 0},
    {"reload", "", "reload the plugins (as SIGHUP does) and say how it went",
     "state url api_key", cmd_reload, 0},
    {"check", "FILE.so",
     "load a plugin in a child process and print its descriptor, or why it"
     " is refused", "json state config", cmd_check, 0},
    {"new-plugin", "NAME [DIR]", "write a ready-to-build plugin folder", "",
     cmd_new_plugin, 0},
    {"sign",
     "(--webhook NAME | --secret S) [OPTIONS] @FILE",
     "print the headers a sender would sign FILE with (for curl -H"
     " @headers)", "webhook secret scheme id timestamp config webhook-keys",
     cmd_sign, 0},
    {"backup", "FILE",
     "copy the store to FILE, also while fnhost serves (SQLite's online"
     " backup)", "state", cmd_backup, 0},
    {"restore", "FILE",
     "make FILE, a backup, the store of the state folder (fnhost must be"
     " stopped; the old store is kept beside it)", "state", cmd_restore, 0},
    {"help", "[COMMAND]", "every command and option, or one command's", "",
     cmd_help, CMD_RAW},
    {"version", "", "print the version", "", cmd_version, CMD_RAW},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct cmd_entry *
cmd_find(const char *name)
{
    for (const struct cmd_entry *c = commands; c->name != NULL; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* fnhost help [COMMAND]; fnhost help --markdown settings|webhook|commands
 * writes a table of the README (tests/integration/cli.sh compares). */
static int
cmd_help(struct cli *c)
{
    const struct cmd_entry *cmd;

    if (c->nargs == 0) {
        help_print_all(stdout, commands, options);
        return 0;
    }
    if (c->nargs == 2 && strcmp(c->args[0], "--markdown") == 0) {
        if (help_print_markdown(stdout, c->args[1], commands) != 0)
            return die("no table \"%s\" (settings, webhook or commands)",
                       c->args[1]);
        return 0;
    }
    cmd = c->nargs == 1 ? cmd_find(c->args[0]) : NULL;
    if (cmd == NULL)
        return die("usage: fnhost help [COMMAND]: no command \"%s\"",
                   c->args[0]);
    help_print_command(stdout, cmd, options);
    return 0;
}

int
main(int argc, char **argv)
{
    struct cli c;
    const char *name = argc > 1 ? argv[1] : "help";
    const struct cmd_entry *cmd;
    int rc;

    /* Internal commands: the master starts these; no options. */
    if (strcmp(name, "worker") == 0) {
        /* Exec'd as /proc/self/exe, it would show as "exe" in ps and top. */
        prctl(PR_SET_NAME, "fnhost-worker");
        log_set_level_name(getenv("FNHOST_LOG_LEVEL") ? getenv("FNHOST_LOG_LEVEL")
                                                      : "info");
        return worker_main(3, 4);
    }
    if (strcmp(name, "describe") == 0 && argc == 3)
        return describe_main(argv[2]);
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        name = "help";
    else if (strcmp(name, "--version") == 0)
        name = "version";
    cmd = cmd_find(name);
    if (cmd == NULL)
        return die("unknown command \"%s\" (see fnhost help)", name);
    memset(&c, 0, sizeof(c));
    if (cmd->flags & CMD_RAW) {
        c.args = argv + 2;
        c.nargs = argc > 2 ? argc - 2 : 0;
        return cmd->exec(&c);
    }
    if (parse_args(&c, cmd, argc, argv) != 0) {
        config_free(&c.cfg);
        for (size_t i = 0; i < c.ncopies; i++)
            free(c.copies[i]);
        free(c.copies);
        return 2;
    }
    rc = cmd->exec(&c);
    config_free(&c.cfg);
    for (size_t i = 0; i < c.ncopies; i++)
        free(c.copies[i]);
    free(c.copies);
    return rc;
}
