/* config.c - settings from defaults, an INI file, FNHOST_* and flags.
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cron.h"
#include "duration.h"
#include "expr.h"
#include "fnhost.h"
#include "util.h"

#define SERVER(field) offsetof(struct config, field)
#define WEBHOOK(field) offsetof(struct config_webhook, field)

/* The [server] settings; the README's configuration table is written from
 * these rows (fnhost help --markdown settings). */
const struct config_setting config_settings[] = {
    {"listen", "--listen", "ADDR:PORT", "FNHOST_LISTEN", CT_ADDRESS,
     SERVER(listen), 0, 0, NULL, "ADDRESS:PORT", "127.0.0.1:8288", NULL,
     "where HTTP listens; port 0 picks a free port"},
    {"plugins", "--plugins", "DIR", "FNHOST_PLUGINS", CT_STRING,
     SERVER(plugins_dir), 0, 0, NULL, NULL, NULL,
     "./plugins if it holds a .so, else the plugins folder beside the"
     " binary (build/plugins in a checkout)",
     "the plugin folder"},
    {"state", "--state", "DIR", "FNHOST_STATE", CT_STRING, SERVER(state_dir),
     0, 0, NULL, NULL, ".fnhost", "./.fnhost",
     "the state folder: the store, the lock, the address of a running"
     " host"},
    {"workers", "--workers", "N", "FNHOST_WORKERS", CT_INT, SERVER(workers),
     1, 256, NULL, "a number from 1 to 256", NULL,
     "16 per CPU, at most 64",
     "worker processes (a worker waits on each step's commit, so many"
     " keep the disk busy)"},
    {"timeout", "--timeout", "DURATION", "FNHOST_TIMEOUT", CT_DURATION,
     SERVER(timeout_ms), 1, 0, NULL, NULL, "30s", NULL,
     "time limit of one attempt"},
    {"retries", "--retries", "N", "FNHOST_RETRIES", CT_INT, SERVER(retries),
     0, 20, NULL, "0 to 20", "4", NULL,
     "retries of a function after its first attempt, 0 to 20"},
    {"backoff_scale", "--backoff-scale", "X", "FNHOST_BACKOFF_SCALE",
     CT_SCALE, SERVER(backoff_scale), 0, 1000, NULL,
     "a number from 0 to 1000", "1", NULL,
     "multiplies the backoff between retries, not a plugin's"
     " fh_retry_after (tests use 0.0001)"},
    {"max_body", "--max-body", "SIZE", "FNHOST_MAX_BODY", CT_SIZE,
     SERVER(max_body), 1024, 16 << 20, NULL,
     "a size from 1KiB to 16MiB such as 4MiB",
     "4MiB", NULL, "the largest request body, at most 16MiB"},
    {"request_timeout", "--request-timeout", "DURATION",
     "FNHOST_REQUEST_TIMEOUT", CT_DURATION, SERVER(request_timeout_ms), 100,
     0, NULL, "a duration of at least 100ms", "30s", NULL,
     "the most time a client has to send a whole request, headers and"
     " body, from when it connected or got its previous answer"},
    {"dedup_window", "--dedup-window", "DURATION", "FNHOST_DEDUP_WINDOW",
     CT_DURATION, SERVER(dedup_window_ms), 0, 0, NULL, NULL, "24h", NULL,
     "a repeated event id within it starts no new run"},
    {"retain_runs", "--retain-runs", "DURATION", "FNHOST_RETAIN_RUNS",
     CT_DURATION, SERVER(retain_runs_ms), 0, 0, NULL, NULL, "7d", NULL,
     "completed, failed and cancelled runs, with their steps, are deleted"
     " this long after they end (0: kept for good)"},
    {"retain_events", "--retain-events", "DURATION", "FNHOST_RETAIN_EVENTS",
     CT_DURATION, SERVER(retain_events_ms), 0, 0, NULL, NULL, "7d", NULL,
     "events that no run needs are deleted this long after they arrive"
     " (0: kept for good)"},
    {"event_keys", "--event-keys", "K1,K2", "FNHOST_EVENT_KEYS", CT_KEYS,
     SERVER(event_keys), 0, 0, NULL, NULL, NULL,
     "none: any non-empty key, on loopback only",
     "the keys POST /e/KEY accepts (also event_key)"},
    {"api_key", "--api-key", "KEY", "FNHOST_API_KEY", CT_SECRET,
     SERVER(api_key), 0, 0, NULL, NULL, NULL,
     "none: /v1 is open, on loopback only",
     "bearer token for /v1 (and for the CLI)"},
    {"synchronous", "--synchronous", "full|normal", "FNHOST_SYNCHRONOUS",
     CT_CHOICE, SERVER(synchronous), 0, 0, "full normal", "full or normal",
     "full", NULL,
     "SQLite durability; full: an acknowledged event survives power loss"},
    {"store_check", "--store-check", "quick|off", "FNHOST_STORE_CHECK",
     CT_CHOICE, SERVER(store_check), 0, 0, "quick off", "quick or off",
     "quick", NULL,
     "at start, SQLite's quick_check of the store; a damaged store is"
     " refused, naming the file (off: for a store too big to read at"
     " each start)"},
    {"log_level", "--log-level", "LEVEL", "FNHOST_LOG_LEVEL", CT_CHOICE,
     SERVER(log_level), 0, 0, "error warn info debug",
     "error, warn, info or debug", "info", NULL,
     "the least important lines logged: error, warn, info or debug"},
    {"log_format", "--log-format", "text|json", "FNHOST_LOG_FORMAT",
     CT_CHOICE, SERVER(log_format), 0, 0, "text json", "text or json",
     "text", NULL,
     "json: one object per line, with the run, function, plugin, attempt"
     " and trace (the event) of the lines about a run"},
    {"load_timeout", "--load-timeout", "DURATION", "FNHOST_LOAD_TIMEOUT",
     CT_DURATION, SERVER(load_timeout_ms), 1, 0, NULL, NULL, "10s", NULL,
     "how long a plugin's load() may take when it is described"},
    {"watch", "--watch", NULL, "FNHOST_WATCH", CT_BOOL, SERVER(watch), 0, 0,
     NULL, NULL, NULL, "off", "reload when the plugin folder changes"},
    /* Read first, by the command line: it names the file of the others. */
    {"config", "--config", "FILE", "FNHOST_CONFIG", CT_STRING,
     SERVER(config_file), 0, 0, NULL, NULL, NULL, "none",
     "an INI file: [server] (these keys), [plugin NAME], [function ID],"
     " [webhook NAME]"},
};
const size_t config_nsettings =
    sizeof(config_settings) / sizeof(config_settings[0]);
/* struct config's bit mask of the settings set. */
_Static_assert(sizeof(config_settings) / sizeof(config_settings[0]) <= 32,
               "more settings than bits in config.set");

/* The keys of a [webhook NAME] section. */
const struct config_setting config_webhook_settings[] = {
    {"secret", "--webhook", "NAME=SECRET", "FNHOST_WEBHOOK_<NAME>_SECRET",
     CT_LINES, WEBHOOK(secrets), 0, 0, NULL, NULL, NULL, "required",
     "a signing secret; several, space-separated, while you rotate it (any"
     " may match); each setting adds one (also secrets)"},
    {"scheme", NULL, NULL, NULL, CT_STRING, WEBHOOK(scheme), 0, 0, NULL,
     NULL, NULL, "the provider's, by name; else standard-webhooks",
     "how deliveries are signed: standard-webhooks (Svix), stripe or"
     " github"},
    {"transform", NULL, NULL, NULL, CT_STRING, WEBHOOK(transform), 0, 0,
     NULL, NULL, NULL, "the provider's, by name and scheme; else generic",
     "how a payload becomes an event: clerk, stripe, github or generic"},
    {"prefix", NULL, NULL, NULL, CT_STRING, WEBHOOK(prefix), 0, 0, NULL,
     NULL, NULL, "the provider's name, else the source's",
     "event names are PREFIX/TYPE"},
    {"type_field", NULL, NULL, NULL, CT_STRING, WEBHOOK(type_field), 0, 0,
     NULL, NULL, NULL, "type", "generic: the payload field holding the type"},
    {"dedup_window", NULL, NULL, NULL, CT_DURATION, WEBHOOK(dedup_window_ms),
     0, 0, NULL, NULL, "72h", NULL,
     "how long a message id starts nothing new"},
    {"tolerance", NULL, NULL, NULL, CT_DURATION, WEBHOOK(tolerance_ms), 1000,
     0, NULL, "a duration of at least 1s", "5m", NULL,
     "how far the signed timestamp may be from now"},
};
const size_t config_nwebhook_settings =
    sizeof(config_webhook_settings) / sizeof(config_webhook_settings[0]);

/* Older spellings that still work. */
static const struct {
    const char *alias, *key;
} setting_aliases[] = {{"event_key", "event_keys"}};

static const struct config_setting *
table_find(const struct config_setting *t, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].key, key) == 0)
            return &t[i];
    return NULL;
}

const struct config_setting *
config_setting_find(const char *key)
{
    for (size_t i = 0; i < sizeof(setting_aliases) /
                               sizeof(setting_aliases[0]); i++)
        if (strcmp(key, setting_aliases[i].alias) == 0)
            key = setting_aliases[i].key;
    return table_find(config_settings, config_nsettings, key);
}

static int setting_apply(const struct config_setting *s, void *base,
                         const char *v, char *err, size_t errlen);

/* Sets every field of the table T in BASE to its default. */
static void
table_init(const struct config_setting *t, size_t n, void *base)
{
    char err[256];

    for (size_t i = 0; i < n; i++) {
        const char *def = t[i].def;

        /* A list is an empty list, not NULL, when it has no default. */
        if (def == NULL && t[i].type == CT_KEYS) {
            *(char ***)((char *)base + t[i].offset) =
                xcalloc(1, sizeof(char *));
            continue;
        }
        /* A default the parser refuses is a bug in the table. */
        if (def != NULL && setting_apply(&t[i], base, def, err,
                                         sizeof(err)) != 0) {
            fprintf(stderr, "fnhost: the default of %s: %s\n", t[i].key,
                    err);
            abort();
        }
    }
}

/* Frees the fields of the table T in BASE. */
static void
table_free(const struct config_setting *t, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        void *p = (char *)base + t[i].offset;

        switch (t[i].type) {
        case CT_STRING:
        case CT_SECRET:
        case CT_LINES:
        case CT_ADDRESS:
        case CT_CHOICE:
            free(*(char **)p);
            break;
        case CT_KEYS:
            for (char **k = *(char ***)p; k != NULL && *k != NULL; k++)
                free(*k);
            free(*(char ***)p);
            break;
        default:
            break;
        }
    }
}

void
config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    table_init(config_settings, config_nsettings, cfg);
    cfg->plugin_config = json_object_new_object();
}

void
config_free(struct config *cfg)
{
    table_free(config_settings, config_nsettings, cfg);
    json_object_put(cfg->plugin_config);
    for (size_t i = 0; i < cfg->nfunctions; i++) {
        free(cfg->functions[i].id);
        free(cfg->functions[i].cron);
        for (size_t k = 0; k < FNOPT_NEXPRS; k++)
            free(cfg->functions[i].expr[k]);
        free(cfg->functions[i].singleton_mode);
        free(cfg->functions[i].conc_key);
    }
    free(cfg->functions);
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        free(cfg->webhooks[i].name);
        table_free(config_webhook_settings, config_nwebhook_settings,
                   &cfg->webhooks[i]);
    }
    free(cfg->webhooks);
    free(cfg->file_warning);
    memset(cfg, 0, sizeof(*cfg));
}

int
config_parse_size(const char *s, size_t *out)
{
    static const struct {
        const char *suffix;
        size_t mult;
    } suffixes[] = {{"", 1},          {"b", 1},          {"k", 1000},
                    {"kb", 1000},     {"kib", 1024},     {"m", 1000000},
                    {"mb", 1000000},  {"mib", 1u << 20}, {"g", 1000000000},
                    {"gb", 1000000000}, {"gib", 1u << 30}};
    char *end;
    unsigned long long v;

    errno = 0;
    if (!isdigit((unsigned char)*s))
        return -1;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        if (strcasecmp(end, suffixes[i].suffix) == 0) {
            if (v > SIZE_MAX / suffixes[i].mult)
                return -1;
            *out = (size_t)v * suffixes[i].mult;
            return 0;
        }
    }
    return -1;
}

static int
parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static void
set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

/* *KEYS (NULL-terminated, or NULL) becomes the list in V, "k1, k2". */
static void
set_keys(char ***keys, const char *v)
{
    char *copy = xstrdup(v), *save = NULL;
    size_t n = 0;

    for (char **k = *keys; k != NULL && *k != NULL; k++)
        free(*k);
    free(*keys);
    *keys = xcalloc(1, sizeof(char *));
    for (char *t = strtok_r(copy, ", ", &save); t != NULL;
         t = strtok_r(NULL, ", ", &save)) {
        *keys = xrealloc(*keys, (n + 2) * sizeof(char *));
        (*keys)[n++] = xstrdup(t);
        (*keys)[n] = NULL;
    }
    free(copy);
}

/* Whether V holds nothing but spaces and tabs: as a key it would let in
 * an "Authorization: Bearer" with an empty or folded value. */
static int
is_blank(const char *v)
{
    return v[strspn(v, " \t")] == '\0';
}

/* Is V one of the space-separated words of CHOICES, in any case? */
static int
is_choice(const char *choices, const char *v)
{
    size_t n = strlen(v);

    for (const char *c = choices; *c != '\0'; c += strcspn(c, " ")) {
        c += strspn(c, " ");
        if (n > 0 && strncasecmp(c, v, n) == 0 && (c[n] == ' ' ||
                                                   c[n] == '\0'))
            return 1;
    }
    return 0;
}

/* Parses V as S says and stores it in its field of BASE; 0, or -1 with
 * "KEY: reason" in ERR and the field unchanged. */
static int
setting_apply(const struct config_setting *s, void *base, const char *v,
              char *err, size_t errlen)
{
    void *p = (char *)base + s->offset;
    char derr[160];
    long n;

    switch (s->type) {
    case CT_STRING:
        set_str(p, v);
        return 0;
    case CT_SECRET:
        if (is_blank(v)) {
            snprintf(err, errlen, "%s: is empty; give a key, or leave it"
                                  " unset", s->key);
            return -1;
        }
        set_str(p, v);
        return 0;
    case CT_LINES: {
        /* One line per setting: a GitHub secret may hold spaces. */
        char **lines = p;
        char *all;

        if (is_blank(v)) {
            snprintf(err, errlen, "%s: is empty", s->key);
            return -1;
        }
        all = *lines ? xasprintf("%s\n%s", *lines, v) : xstrdup(v);
        free(*lines);
        *lines = all;
        return 0;
    }
    case CT_ADDRESS:
        if (strchr(v, ':') == NULL)
            break;
        set_str(p, v);
        return 0;
    case CT_CHOICE:
        if (!is_choice(s->choices, v))
            break;
        set_str(p, v);
        return 0;
    case CT_KEYS:
        /* An empty list would mean "any key": not what setting it says. */
        if (strspn(v, ", \t") == strlen(v)) {
            snprintf(err, errlen, "%s: is empty; give one or more keys, or"
                                  " leave it unset", s->key);
            return -1;
        }
        set_keys(p, v);
        return 0;
    case CT_INT:
        if (parse_int(v, (long)s->lo, (long)s->hi, &n) != 0)
            break;
        *(int *)p = (int)n;
        return 0;
    case CT_SCALE: {
        char *end;
        double d;

        errno = 0;
        d = strtod(v, &end);
        if (errno != 0 || end == v || *end != '\0' ||
            !(d >= s->lo && d <= s->hi))
            break;
        *(double *)p = d;
        return 0;
    }
    case CT_DURATION: {
        int64_t ms;

        if (s->expect != NULL &&
            (duration_parse(v, &ms, derr, sizeof(derr)) != 0 ||
             ms < (int64_t)s->lo))
            break;
        if (duration_parse(v, &ms, derr, sizeof(derr)) != 0) {
            snprintf(err, errlen, "%s: %s", s->key, derr);
            return -1;
        }
        if (ms < (int64_t)s->lo) {
            duration_format((int64_t)s->lo, derr, sizeof(derr));
            snprintf(err, errlen, "%s: must be at least %s, got \"%s\"",
                     s->key, derr, v);
            return -1;
        }
        *(int64_t *)p = ms;
        return 0;
    }
    case CT_SIZE: {
        size_t sz;

        if (config_parse_size(v, &sz) != 0 || sz < (size_t)s->lo ||
            (s->hi > 0 && sz > (size_t)s->hi))
            break;
        *(size_t *)p = sz;
        return 0;
    }
    case CT_BOOL:
        *(int *)p = strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
                    strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0;
        return 0;
    }
    snprintf(err, errlen, "%s: expected %s, got \"%s\"", s->key,
             s->expect ? s->expect : "another value", v);
    return -1;
}

int
config_set(struct config *cfg, const char *key, const char *v, char *err,
           size_t errlen)
{
    const struct config_setting *s = config_setting_find(key);

    if (s == NULL) {
        snprintf(err, errlen, "unknown setting \"%s\"", key);
        return -1;
    }
    if (setting_apply(s, cfg, v, err, errlen) != 0)
        return -1;
    cfg->set |= 1u << (s - config_settings);
    return 0;
}

int
config_is_set(const struct config *cfg, const char *key)
{
    const struct config_setting *s = config_setting_find(key);

    return s != NULL && (cfg->set & (1u << (s - config_settings))) != 0;
}

static struct config_function *
function_entry(struct config *cfg, const char *id)
{
    struct config_function *f;

    for (size_t i = 0; i < cfg->nfunctions; i++)
        if (strcmp(cfg->functions[i].id, id) == 0)
            return &cfg->functions[i];
    cfg->functions = xrealloc(cfg->functions,
                              (cfg->nfunctions + 1) * sizeof(*f));
    f = &cfg->functions[cfg->nfunctions++];
    memset(f, 0, sizeof(*f));
    f->id = xstrdup(id);
    return f;
}

const struct config_function *
config_function(const struct config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->nfunctions; i++)
        if (strcmp(cfg->functions[i].id, id) == 0)
            return &cfg->functions[i];
    return NULL;
}

int
config_set_webhook(struct config *cfg, const char *name, const char *key,
                   const char *v, char *err, size_t errlen)
{
    struct config_webhook *w = NULL;
    const struct config_setting *s;

    for (size_t i = 0; i < cfg->nwebhooks; i++)
        if (strcmp(cfg->webhooks[i].name, name) == 0)
            w = &cfg->webhooks[i];
    if (w == NULL) {
        if (*name == '\0' || strlen(name) > 64 || strpbrk(name, "/ ?#")) {
            snprintf(err, errlen, "webhook name \"%s\" must be 1 to 64"
                                  " characters without '/', spaces, '?' or"
                                  " '#'", name);
            return -1;
        }
        cfg->webhooks = xrealloc(cfg->webhooks,
                                 (cfg->nwebhooks + 1) * sizeof(*w));
        w = &cfg->webhooks[cfg->nwebhooks++];
        memset(w, 0, sizeof(*w));
        w->name = xstrdup(name);
        table_init(config_webhook_settings, config_nwebhook_settings, w);
    }
    /* "secrets" is the older spelling of "secret". */
    s = table_find(config_webhook_settings, config_nwebhook_settings,
                   strcmp(key, "secrets") == 0 ? "secret" : key);
    if (s == NULL) {
        snprintf(err, errlen, "unknown webhook setting \"%s\"", key);
        return -1;
    }
    return setting_apply(s, w, v, err, errlen);
}

/* The longest line of a config file: a JWT or a long list of keys fits;
 * a file that is no config file is refused early. */
#define CONFIG_MAX_LINE 65536

/* The parse of one file: where it is, and the first error. */
struct ini_state {
    struct config *cfg;
    FILE *f;
    char *section;   /* the current [section]'s name; "" before any */
    char *prev_name; /* the key an indented line continues; NULL: none */
    char why[300];   /* the first error */
    const char *secret; /* the key of a secret the file sets; NULL: none */
};

/* A [function ID] section's "cron": schedules separated by ';' (none:
 * an empty value), each checked as a descriptor's. */
static int
set_function_cron(struct config_function *f, const char *v, char *err,
                  size_t errlen)
{
    char *copy = xstrdup(v), *save = NULL, *one, *seen[FH_CRON_MAX];
    int n = 0;

    for (one = strtok_r(copy, ";", &save); one != NULL;
         one = strtok_r(NULL, ";", &save)) {
        struct cron c;
        char why[128];

        while (*one == ' ')
            one++;
        if (*one == '\0')
            continue;
        if (++n > FH_CRON_MAX || cron_parse(one, &c, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "cron: \"%.100s\": %s", one,
                     n > FH_CRON_MAX ? "more schedules than the most, 5"
                                     : why);
            free(copy);
            return -1;
        }
        cron_clear(&c);
        for (int i = 0; i < n - 1; i++) {
            if (strcmp(seen[i], one) == 0) {
                snprintf(err, errlen, "cron: \"%.100s\" is there twice",
                         one);
                free(copy);
                return -1;
            }
        }
        seen[n - 1] = one;
    }
    free(copy);
    free(f->cron);
    f->cron = xstrdup(v);
    return 0;
}

/* Replaces *AT with a copy of V, an expression option NAME: "" (none), or
 * one that compiles. 0, or -1 with ERR. */
static int
set_function_expr(char **at, const char *name, const char *v, char *err,
                  size_t errlen)
{
    char why[256];
    struct expr *e;

    if (*v != '\0') {
        if ((e = expr_compile(v, why, sizeof(why))) == NULL) {
            snprintf(err, errlen, "%s: %s", name, why);
            return -1;
        }
        expr_free(e);
    }
    free(*at);
    *at = xstrdup(v);
    return 0;
}

static int
set_function(struct config *cfg, const char *id, const char *key,
             const char *v, char *err, size_t errlen)
{
    struct config_function *f;
    const struct fnopt_expr *x = fnopt_expr_find(key);

    if (strcmp(key, "cron") == 0)
        return set_function_cron(function_entry(cfg, id), v, err, errlen);
    if (x != NULL) {
        f = function_entry(cfg, id);
        return set_function_expr(&f->expr[x - fnopt_exprs], key, v, err,
                                 errlen);
    }
    if (strcmp(key, "concurrency.key") == 0)
        return set_function_expr(&function_entry(cfg, id)->conc_key, key, v,
                                 err, errlen);
    if (strcmp(key, "singleton.mode") == 0) {
        if (*v != '\0' && strcmp(v, "skip") != 0 && strcmp(v, "cancel") != 0) {
            snprintf(err, errlen, "singleton.mode: expected skip, cancel or"
                                  " nothing, got \"%.64s\"", v);
            return -1;
        }
        f = function_entry(cfg, id);
        free(f->singleton_mode);
        f->singleton_mode = xstrdup(v);
        return 0;
    }
    return fnopt_set_config(&function_entry(cfg, id)->set, key, v, err,
                            errlen);
}

/* Applies KEY = VALUE of SECTION. 0, or -1 with the reason in ST. */
static int
ini_apply(struct ini_state *st, const char *section, const char *key,
          const char *value)
{
    char *why = st->why;
    size_t len = sizeof(st->why);

    if (strcmp(section, "server") == 0) {
        const struct config_setting *s = config_setting_find(key);

        if (s != NULL && config_is_secret(s))
            st->secret = s->key;
        return config_set(st->cfg, key, value, why, len);
    }
    if (strncmp(section, "plugin ", 7) == 0 && section[7] != '\0') {
        struct json_object *sec;
        const char *name = section + 7;

        if (!json_object_object_get_ex(st->cfg->plugin_config, name, &sec)) {
            sec = json_object_new_object();
            json_object_object_add(st->cfg->plugin_config, name, sec);
        }
        json_object_object_add(sec, key, json_object_new_string(value));
        return 0;
    }
    if (strncmp(section, "function ", 9) == 0 && section[9] != '\0')
        return set_function(st->cfg, section + 9, key, value, why, len);
    if (strncmp(section, "webhook ", 8) == 0 && section[8] != '\0') {
        if (strncmp(key, "secret", 6) == 0)
            st->secret = "a webhook secret";
        return config_set_webhook(st->cfg, section + 8, key, value, why,
                                  len);
    }
    snprintf(why, len, "unknown section [%s]", section);
    return -1;
}

static char *
ini_lskip(char *s)
{
    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    return s;
}

static char *
ini_rstrip(char *s)
{
    char *e = s + strlen(s);

    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* The first of CHARS (NULL: none) in S, or else the ';' that starts an
 * inline comment (after a space), or else S's end. */
static char *
ini_find(char *s, const char *chars)
{
    int was_space = 0;

    while (*s != '\0' && !(chars != NULL && strchr(chars, *s)) &&
           !(was_space && *s == ';')) {
        was_space = isspace((unsigned char)*s);
        s++;
    }
    return s;
}

/* Parses LINE (without its newline), line LINENO, and applies what it
 * sets. The syntax is inih's, with its defaults (the reader fnhost used
 * before; Debian builds it for lines of 200 bytes and names of 50, too
 * short for a JWT or a function id): ';' or '#' starts a comment line,
 * " ;" an inline one; "key = value" or "key: value"; an indented line
 * continues (sets again) the value of the key before it; a UTF-8 BOM is
 * skipped.
 * 0, or -1 with the reason in ST. */
static int
ini_line(struct ini_state *st, char *line, int lineno)
{
    char *start = line, *end, *value;

    if (lineno == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
        start += 3;
    start = ini_rstrip(ini_lskip(start));
    if (*start == '\0' || *start == ';' || *start == '#')
        return 0;
    /* As inih 55 did, this keeps an inline comment in the value; and
     * after "= value", with no key, an indented line is a line of its
     * own. */
    if (st->prev_name != NULL && *st->prev_name != '\0' && start > line)
        return ini_apply(st, st->section, st->prev_name, start);
    end = ini_find(start + (*start == '['), *start == '[' ? "]" : "=:");
    if (*end == '\0' || *end == ';') {
        snprintf(st->why, sizeof(st->why), "syntax error");
        return -1;
    }
    *end = '\0';
    free(st->prev_name);
    st->prev_name = NULL;
    if (*start == '[') {
        free(st->section);
        st->section = xstrdup(start + 1);
        return 0;
    }
    value = end + 1;
    *ini_find(value, NULL) = '\0';
    st->prev_name = xstrdup(ini_rstrip(start));
    return ini_apply(st, st->section, st->prev_name,
                     ini_rstrip(ini_lskip(value)));
}

/* Reads the next line of ST's file into *BUF (grown as needed, without
 * the newline). 1 if there is one, 0 at the end, -1 with the reason in
 * ST: a NUL byte, a line over CONFIG_MAX_LINE bytes, a read error. */
static int
ini_read_line(struct ini_state *st, char **buf, size_t *cap)
{
    size_t n = 0;
    int c;

    while ((c = getc(st->f)) != EOF && c != '\n') {
        if (c == '\0' || n == CONFIG_MAX_LINE) {
            snprintf(st->why, sizeof(st->why),
                     c == '\0' ? "the line holds a NUL byte"
                               : "the line is longer than %d bytes",
                     CONFIG_MAX_LINE);
            return -1;
        }
        if (n + 1 >= *cap) {
            *cap = *cap ? *cap * 2 : 256;
            *buf = xrealloc(*buf, *cap);
        }
        (*buf)[n++] = (char)c;
    }
    if (ferror(st->f)) {
        snprintf(st->why, sizeof(st->why), "cannot read it: %s",
                 strerror(errno));
        return -1;
    }
    if (c == EOF && n == 0)
        return 0;
    if (*buf == NULL)
        *buf = xcalloc(1, *cap = 256);
    (*buf)[n] = '\0';
    return 1;
}

int
config_load_file(struct config *cfg, const char *path, char *err,
                 size_t errlen)
{
    struct ini_state st;
    struct stat sb;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc;

    memset(&st, 0, sizeof(st));
    st.cfg = cfg;
    st.f = fopen(path, "r");
    if (st.f == NULL) {
        snprintf(err, errlen, "config %s: %s", path, strerror(errno));
        return -1;
    }
    st.section = xstrdup("");
    /* The first error stops the file: its line is the one named. */
    while ((rc = ini_read_line(&st, &line, &cap)) != 0) {
        lineno++;
        if (rc < 0 || ini_line(&st, line, lineno) != 0) {
            rc = -1;
            snprintf(err, errlen, "config %s: line %d: %s", path, lineno,
                     st.why);
            break;
        }
    }
    /* The file is the recommended home of secrets: only if no one else
     * can read it. */
    if (rc == 0 && st.secret != NULL && fstat(fileno(st.f), &sb) == 0 &&
        (sb.st_mode & (S_IRGRP | S_IROTH))) {
        free(cfg->file_warning);
        cfg->file_warning = xasprintf("config %s holds %s and is readable"
                                      " by %s (mode %03o); run chmod 600 on"
                                      " it", path, st.secret,
                                      sb.st_mode & S_IROTH ? "others"
                                                           : "its group",
                                      (unsigned)(sb.st_mode & 0777));
    }
    fclose(st.f);
    free(line);
    free(st.section);
    free(st.prev_name);
    return rc < 0 ? -1 : 0;
}

extern char **environ;

/* FNHOST_WEBHOOK_<NAME>_SECRET=... sets the secret of source <name>
 * (lower case; it creates the source if no [webhook name] section did):
 * secrets are better kept out of config files. */
static int
load_env_webhooks(struct config *cfg, char *err, size_t errlen)
{
    static const char pre[] = "FNHOST_WEBHOOK_", suf[] = "_SECRET=";

    for (char **e = environ; e != NULL && *e != NULL; e++) {
        const char *end = strstr(*e, suf);
        char name[80], why[256];
        size_t n;

        if (strncmp(*e, pre, sizeof(pre) - 1) != 0 || end == NULL)
            continue;
        n = (size_t)(end - *e) - (sizeof(pre) - 1);
        if (n == 0 || n >= sizeof(name) || end[sizeof(suf) - 1] == '\0')
            continue;
        for (size_t k = 0; k < n; k++)
            name[k] = (char)tolower((unsigned char)(*e)[sizeof(pre) - 1 + k]);
        name[n] = '\0';
        for (size_t k = 0; k < cfg->nwebhooks; k++) {
            if (strcmp(cfg->webhooks[k].name, name) == 0) {
                free(cfg->webhooks[k].secrets);
                cfg->webhooks[k].secrets = NULL;
            }
        }
        if (config_set_webhook(cfg, name, "secret", end + sizeof(suf) - 1,
                               why, sizeof(why)) != 0) {
            snprintf(err, errlen, "FNHOST_WEBHOOK_%s_SECRET: %s", name, why);
            return -1;
        }
    }
    return 0;
}

int
config_is_secret(const struct config_setting *s)
{
    return s->type == CT_SECRET || s->type == CT_KEYS || s->type == CT_LINES;
}

void
config_wipe(char *s)
{
    /* volatile: the bytes are read by the kernel, not by this program. */
    for (volatile char *p = s; *p != '\0'; p++)
        *p = 'x';
}

/* Whether the environment entry E ("NAME=VALUE") holds a secret: a
 * secret setting's variable, a webhook secret, or the CLI's event key. */
static int
env_is_secret(const char *e)
{
    const char *eq = strchr(e, '=');
    size_t n = eq != NULL ? (size_t)(eq - e) : 0;

    if (n == 0)
        return 0;
    if (strncmp(e, "FNHOST_WEBHOOK_", 15) == 0 && n > 15 + 7 &&
        strncmp(eq - 7, "_SECRET", 7) == 0)
        return 1;
    if (n == 16 && strncmp(e, "FNHOST_EVENT_KEY", 16) == 0)
        return 1;
    for (size_t i = 0; i < config_nsettings; i++)
        if (config_is_secret(&config_settings[i]) &&
            config_settings[i].env != NULL &&
            strlen(config_settings[i].env) == n &&
            strncmp(e, config_settings[i].env, n) == 0)
            return 1;
    return 0;
}

void
config_scrub_environment(void)
{
    char **names = NULL;
    size_t n = 0;

    for (char **e = environ; e != NULL && *e != NULL; e++) {
        if (!env_is_secret(*e))
            continue;
        names = xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = xasprintf("%.*s", (int)(strchr(*e, '=') - *e), *e);
        /* unsetenv only drops the pointer: the bytes stay in the block
         * the kernel shows as /proc/PID/environ. */
        config_wipe(strchr(*e, '=') + 1);
    }
    for (size_t i = 0; i < n; i++) {
        unsetenv(names[i]);
        free(names[i]);
    }
    free(names);
}

int
config_load_env(struct config *cfg, char *err, size_t errlen)
{
    char why[256];

    for (size_t i = 0; i < config_nsettings; i++) {
        const struct config_setting *s = &config_settings[i];
        const char *v;

        /* FNHOST_CONFIG names the file read before the environment. */
        if (s->offset == offsetof(struct config, config_file))
            continue;
        v = getenv(s->env);
        if (v == NULL || *v == '\0')
            continue;
        if (config_set(cfg, s->key, v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", s->env, why);
            return -1;
        }
    }
    return load_env_webhooks(cfg, err, errlen);
}
