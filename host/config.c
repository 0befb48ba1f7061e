/* config.c - settings from defaults, an INI file, FNHOST_* and flags.
 * SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "duration.h"
#include "util.h"

void
config_init(struct config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->listen = xstrdup("127.0.0.1:8288");
    cfg->state_dir = xstrdup(".fnhost");
    cfg->timeout_ms = 30000;
    cfg->load_timeout_ms = 10000;
    cfg->backoff_scale = 1.0;
    cfg->retries = 4;
    cfg->max_body = 4u << 20;
    cfg->dedup_window_ms = 24LL * 3600 * 1000;
    cfg->event_keys = xcalloc(1, sizeof(char *));
    cfg->synchronous = xstrdup("full");
    cfg->log_level = xstrdup("info");
    cfg->plugin_config = json_object_new_object();
}

void
config_free(struct config *cfg)
{
    free(cfg->listen);
    free(cfg->plugins_dir);
    free(cfg->state_dir);
    free(cfg->config_file);
    for (char **k = cfg->event_keys; k != NULL && *k != NULL; k++)
        free(*k);
    free(cfg->event_keys);
    free(cfg->api_key);
    free(cfg->synchronous);
    free(cfg->log_level);
    json_object_put(cfg->plugin_config);
    for (size_t i = 0; i < cfg->nfunctions; i++)
        free(cfg->functions[i].id);
    free(cfg->functions);
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        struct config_webhook *w = &cfg->webhooks[i];

        free(w->name);
        free(w->secrets);
        free(w->scheme);
        free(w->transform);
        free(w->prefix);
        free(w->type_field);
    }
    free(cfg->webhooks);
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

static int
parse_scale(const char *s, double *out)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 1000))
        return -1;
    *out = v;
    return 0;
}

static int
parse_timeout(const char *v, int64_t *out, char *err, size_t errlen)
{
    char derr[160];
    int64_t ms;

    if (duration_parse(v, &ms, derr, sizeof(derr)) != 0) {
        snprintf(err, errlen, "timeout: %s", derr);
        return -1;
    }
    if (ms < 1) {
        snprintf(err, errlen, "timeout: must be at least 1ms, got \"%s\"",
                 v);
        return -1;
    }
    *out = ms;
    return 0;
}

static void
set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static void
set_keys(struct config *cfg, const char *v)
{
    char *copy = xstrdup(v), *save = NULL;
    size_t n = 0;

    for (char **k = cfg->event_keys; *k != NULL; k++)
        free(*k);
    cfg->event_keys[0] = NULL;
    for (char *t = strtok_r(copy, ", ", &save); t != NULL;
         t = strtok_r(NULL, ", ", &save)) {
        cfg->event_keys = xrealloc(cfg->event_keys, (n + 2) * sizeof(char *));
        cfg->event_keys[n++] = xstrdup(t);
        cfg->event_keys[n] = NULL;
    }
    free(copy);
}

int
config_set(struct config *cfg, const char *key, const char *v, char *err,
           size_t errlen)
{
    long n;
    char derr[160];

    if (strcmp(key, "listen") == 0) {
        if (strchr(v, ':') == NULL)
            goto bad_listen;
        set_str(&cfg->listen, v);
    } else if (strcmp(key, "plugins") == 0) {
        set_str(&cfg->plugins_dir, v);
    } else if (strcmp(key, "state") == 0) {
        set_str(&cfg->state_dir, v);
    } else if (strcmp(key, "workers") == 0) {
        if (parse_int(v, 1, 256, &n) != 0) {
            snprintf(err, errlen, "workers: expected a number from 1 to 256,"
                                  " got \"%s\"", v);
            return -1;
        }
        cfg->workers = (int)n;
    } else if (strcmp(key, "retries") == 0) {
        if (parse_int(v, 0, 20, &n) != 0) {
            snprintf(err, errlen, "retries: expected 0 to 20, got \"%s\"", v);
            return -1;
        }
        cfg->retries = (int)n;
    } else if (strcmp(key, "timeout") == 0) {
        if (parse_timeout(v, &cfg->timeout_ms, err, errlen) != 0)
            return -1;
    } else if (strcmp(key, "load_timeout") == 0) {
        if (parse_timeout(v, &cfg->load_timeout_ms, err, errlen) != 0)
            return -1;
    } else if (strcmp(key, "watch") == 0) {
        cfg->watch = strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0 ||
                     strcasecmp(v, "true") == 0 || strcasecmp(v, "on") == 0;
    } else if (strcmp(key, "dedup_window") == 0) {
        if (duration_parse(v, &cfg->dedup_window_ms, derr, sizeof(derr)) !=
            0) {
            snprintf(err, errlen, "dedup_window: %s", derr);
            return -1;
        }
    } else if (strcmp(key, "backoff_scale") == 0) {
        if (parse_scale(v, &cfg->backoff_scale) != 0) {
            snprintf(err, errlen, "backoff_scale: expected a number from 0 to"
                                  " 1000, got \"%s\"", v);
            return -1;
        }
    } else if (strcmp(key, "max_body") == 0) {
        size_t sz;

        if (config_parse_size(v, &sz) != 0 || sz < 1024) {
            snprintf(err, errlen, "max_body: expected a size of at least 1KiB"
                                  " such as 4MiB, got \"%s\"", v);
            return -1;
        }
        cfg->max_body = sz;
    } else if (strcmp(key, "event_keys") == 0 ||
               strcmp(key, "event_key") == 0) {
        set_keys(cfg, v);
    } else if (strcmp(key, "api_key") == 0) {
        set_str(&cfg->api_key, v);
    } else if (strcmp(key, "synchronous") == 0) {
        if (strcasecmp(v, "full") != 0 && strcasecmp(v, "normal") != 0) {
            snprintf(err, errlen, "synchronous: expected full or normal,"
                                  " got \"%s\"", v);
            return -1;
        }
        set_str(&cfg->synchronous, v);
    } else if (strcmp(key, "log_level") == 0) {
        if (strcasecmp(v, "error") && strcasecmp(v, "warn") &&
            strcasecmp(v, "info") && strcasecmp(v, "debug")) {
            snprintf(err, errlen, "log_level: expected error, warn, info or"
                                  " debug, got \"%s\"", v);
            return -1;
        }
        set_str(&cfg->log_level, v);
    } else if (strcmp(key, "config") == 0) {
        set_str(&cfg->config_file, v);
    } else {
        snprintf(err, errlen, "unknown setting \"%s\"", key);
        return -1;
    }
    return 0;

bad_listen:
    snprintf(err, errlen, "listen: expected ADDRESS:PORT, got \"%s\"", v);
    return -1;
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
    char derr[160];

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
        w->dedup_window_ms = 72LL * 3600 * 1000;
        w->tolerance_s = 300;
    }
    if (strcmp(key, "secret") == 0 || strcmp(key, "secrets") == 0) {
        /* One line per secret setting: a GitHub secret may hold spaces. */
        char *all = w->secrets ? xasprintf("%s\n%s", w->secrets, v)
                               : xstrdup(v);

        free(w->secrets);
        w->secrets = all;
    } else if (strcmp(key, "scheme") == 0) {
        set_str(&w->scheme, v);
    } else if (strcmp(key, "transform") == 0) {
        set_str(&w->transform, v);
    } else if (strcmp(key, "prefix") == 0) {
        set_str(&w->prefix, v);
    } else if (strcmp(key, "type_field") == 0) {
        set_str(&w->type_field, v);
    } else if (strcmp(key, "dedup_window") == 0) {
        if (duration_parse(v, &w->dedup_window_ms, derr, sizeof(derr)) != 0) {
            snprintf(err, errlen, "dedup_window: %s", derr);
            return -1;
        }
    } else if (strcmp(key, "tolerance") == 0) {
        int64_t ms;

        if (duration_parse(v, &ms, derr, sizeof(derr)) != 0 || ms < 1000) {
            snprintf(err, errlen, "tolerance: expected a duration of at least"
                                  " 1s, got \"%s\"", v);
            return -1;
        }
        w->tolerance_s = ms / 1000;
    } else {
        snprintf(err, errlen, "unknown webhook setting \"%s\"", key);
        return -1;
    }
    return 0;
}

struct ini_state {
    struct config *cfg;
    char *err;
    size_t errlen;
    int failed;
    FILE *f;
    int line;      /* the line inih is reading */
    int err_line;  /* the line of the first error */
};

/* inih reads one line per call into a buffer of NUM bytes: reading whole
 * lines here, and refusing a longer one rather than letting inih read its
 * rest as a line of its own, keeps our count and inih's the same (Debian's
 * inih has no INI_HANDLER_LINENO). fgets cannot tell a NUL from the end. */
static char *
line_reader(char *str, int num, void *arg)
{
    struct ini_state *st = arg;
    int c = EOF, n = 0;

    if (st->failed)
        return NULL;
    while ((c = getc(st->f)) != EOF && c != '\n') {
        if (c == '\0' || n == num - 2) {
            if (c == '\0')
                snprintf(st->err, st->errlen, "the line holds a NUL byte");
            else
                snprintf(st->err, st->errlen, "the line is longer than %d"
                                              " bytes", num - 2);
            st->failed = 1;
            st->err_line = st->line + 1;
            return NULL;
        }
        str[n++] = (char)c;
    }
    if (c == EOF && n == 0)
        return NULL;
    if (c == '\n')
        str[n++] = '\n';
    str[n] = '\0';
    st->line++;
    return str;
}

static int
set_function(struct config *cfg, const char *id, const char *key,
             const char *v, char *err, size_t errlen)
{
    return fnopt_set_config(&function_entry(cfg, id)->set, key, v, err,
                            errlen);
}

static int
ini_cb(void *arg, const char *section, const char *key, const char *value)
{
    struct ini_state *st = arg;
    char why[256];
    int rc = 0;

    if (st->failed)
        return 1;
    if (strcmp(section, "server") == 0) {
        rc = config_set(st->cfg, key, value, why, sizeof(why));
    } else if (strncmp(section, "plugin ", 7) == 0 && section[7] != '\0') {
        struct json_object *sec;
        const char *name = section + 7;

        if (!json_object_object_get_ex(st->cfg->plugin_config, name, &sec)) {
            sec = json_object_new_object();
            json_object_object_add(st->cfg->plugin_config, name, sec);
        }
        json_object_object_add(sec, key, json_object_new_string(value));
    } else if (strncmp(section, "function ", 9) == 0 && section[9] != '\0') {
        rc = set_function(st->cfg, section + 9, key, value, why,
                          sizeof(why));
    } else if (strncmp(section, "webhook ", 8) == 0 && section[8] != '\0') {
        rc = config_set_webhook(st->cfg, section + 8, key, value, why,
                                sizeof(why));
    } else {
        snprintf(why, sizeof(why), "unknown section [%s]", section);
        rc = -1;
    }
    if (rc != 0) {
        snprintf(st->err, st->errlen, "%s", why);
        st->failed = 1;
        st->err_line = st->line;
        return 0;
    }
    return 1;
}

int
config_load_file(struct config *cfg, const char *path, char *err,
                 size_t errlen)
{
    struct ini_state st;
    char why[300];
    int rc;

    memset(&st, 0, sizeof(st));
    why[0] = '\0';
    st.cfg = cfg;
    st.err = why;
    st.errlen = sizeof(why);
    st.f = fopen(path, "r");
    if (st.f == NULL) {
        snprintf(err, errlen, "config %s: %s", path, strerror(errno));
        return -1;
    }
    rc = ini_parse_stream(line_reader, &st, ini_cb, &st);
    fclose(st.f);
    /* inih returns the first failing line, a syntax error or ours. */
    if (rc > 0 && (!st.failed || rc < st.err_line)) {
        snprintf(err, errlen, "config %s: line %d: syntax error", path, rc);
        return -1;
    }
    if (st.failed) {
        snprintf(err, errlen, "config %s: line %d: %s", path, st.err_line,
                 why);
        return -1;
    }
    if (rc != 0) {
        snprintf(err, errlen, "config %s: cannot read it", path);
        return -1;
    }
    return 0;
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
config_load_env(struct config *cfg, char *err, size_t errlen)
{
    static const char *const keys[] = {
        "listen", "plugins", "state", "workers", "retries", "timeout",
        "load_timeout", "watch",
        "dedup_window", "backoff_scale", "max_body", "event_keys", "api_key",
        "synchronous", "log_level", NULL};
    char name[64], why[256];

    for (size_t i = 0; keys[i] != NULL; i++) {
        const char *v;
        size_t j;

        snprintf(name, sizeof(name), "FNHOST_%s", keys[i]);
        for (j = 7; name[j] != '\0'; j++)
            name[j] = (char)toupper((unsigned char)name[j]);
        v = getenv(name);
        if (v == NULL || *v == '\0')
            continue;
        if (config_set(cfg, keys[i], v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "%s: %s", name, why);
            return -1;
        }
    }
    return load_env_webhooks(cfg, err, errlen);
}
