/* config.h - settings from defaults, an INI file, FNHOST_* and flags.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_CONFIG_H
#define FNHOST_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "fnopt.h"

struct json_object;

/* Per-function overrides from a [function ID] section: any option of the
 * table in fnopt.h. */
struct config_function {
    char *id;
    struct fnopt_set set;
    char *cron; /* "cron": its schedules, separated by ';' ("": none);
                   NULL: the descriptor's */
    char *expr[FNOPT_NEXPRS]; /* fnopt_exprs' ("if", "rate_limit.key",
                                 ...): checked to compile ("": none);
                                 NULL: the descriptor's */
    char *singleton_mode; /* "skip", "cancel" or "" (none); NULL: the
                             descriptor's */
    char *conc_key;       /* "concurrency.key", the first limit's, as
                             EXPR */
};

/* A [webhook NAME] section: a source of signed webhooks. */
struct config_webhook {
    char *name;
    char *secrets;         /* one per line; a line of a Standard Webhooks
                              or Stripe source may hold several, separated
                              by spaces or commas */
    char *scheme;          /* NULL: by name (stripe, github), else
                              standard-webhooks */
    char *transform;       /* clerk, stripe, github, generic; NULL: by name */
    char *prefix;          /* generic: event name prefix (default NAME) */
    char *type_field;      /* generic: the payload field with the type */
    int64_t dedup_window_ms;
    int64_t tolerance_ms;
};

struct config {
    char *listen;          /* "127.0.0.1:8288" */
    char *plugins_dir;     /* NULL: ./plugins if it has plugins, else the
                              plugins folder beside the binary */
    char *state_dir;       /* ".fnhost" */
    char *config_file;     /* NULL: none */
    int workers;           /* 0: one per CPU, at least 2 */
    int64_t timeout_ms;    /* default time limit of one attempt */
    int64_t load_timeout_ms; /* for a plugin's load() when describing it */
    int watch;             /* reload when the plugin folder changes */
    double backoff_scale;  /* multiplies every retry delay */
    int retries;           /* default retries per function */
    size_t max_body;       /* bytes of one request body */
    int64_t request_timeout_ms; /* to send one whole request */
    int64_t dedup_window_ms;
    int64_t retain_runs_ms;   /* ended runs are deleted this long after
                                 their end; 0: kept for good */
    int64_t retain_events_ms; /* events no run needs, after this long */
    char **event_keys;     /* NULL-terminated; empty: any key on loopback */
    char *api_key;         /* bearer token for /v1; NULL: none */
    char *synchronous;     /* "full" or "normal" */
    char *store_check;     /* "quick" or "off" */
    char *log_level;
    char *log_format;      /* "text" or "json" */
    struct json_object *plugin_config; /* {"name": {"key": "value"}} */
    struct config_function *functions;
    size_t nfunctions;
    struct config_webhook *webhooks;
    size_t nwebhooks;
    uint32_t set;          /* bit I: config_settings[I] was set, not a
                              default */
    char *file_warning;    /* NULL, or why the config file's mode does not
                              suit the secrets it holds (serve logs it) */
};

/* What a setting's value is, and so how it is parsed and checked. */
enum config_type {
    CT_STRING,   /* char *, any text */
    CT_SECRET,   /* char *, a key: not empty, nor only spaces */
    CT_LINES,    /* char *, each value adds a line (webhook secrets); not
                    empty */
    CT_ADDRESS,  /* char *, ADDRESS:PORT */
    CT_CHOICE,   /* char *, one of CHOICES (any case) */
    CT_KEYS,     /* char **, NULL-terminated, from "k1, k2"; not empty */
    CT_INT,      /* int, LO to HI */
    CT_SCALE,    /* double, LO to HI */
    CT_DURATION, /* int64_t ms, "30s", at least LO */
    CT_SIZE,     /* size_t bytes, "4MiB", at least LO, at most HI (if
                    set) */
    CT_BOOL,     /* int: 1, yes, true or on; anything else is off */
};

/* One setting: a row of config_settings (the [server] keys, which are
 * also flags and FNHOST_* variables) or of config_webhook_settings (the
 * keys of [webhook NAME]). The table drives config_init, config_set,
 * config_load_env, the flags of the command line, `fnhost help` and the
 * README's tables (`fnhost help --markdown settings` writes them; the
 * tests compare), so a new setting is one row plus its behaviour. */
struct config_setting {
    const char *key;      /* the INI key */
    const char *flag;     /* "--listen"; NULL: no flag */
    const char *metavar;  /* the flag's value, "ADDR:PORT"; NULL: none */
    const char *env;      /* "FNHOST_LISTEN"; NULL: none */
    enum config_type type;
    size_t offset;        /* of the field in its struct */
    double lo, hi;        /* the range, as the type says */
    const char *choices;  /* CT_CHOICE: "full normal" */
    const char *expect;   /* errors say "KEY: expected EXPECT, got ..." */
    const char *def;      /* the default, as a value; NULL: none (0) */
    const char *def_doc;  /* the default in words; NULL: DEF */
    const char *help;     /* what it does, one phrase */
};

extern const struct config_setting config_settings[];
extern const size_t config_nsettings;
extern const struct config_setting config_webhook_settings[];
extern const size_t config_nwebhook_settings;

/* The [server] setting KEY (or its alias), or NULL. */
const struct config_setting *config_setting_find(const char *key);

/* Was KEY set by a file, the environment or a flag (not a default)? */
int config_is_set(const struct config *cfg, const char *key);

/* Fills CFG with the embedded defaults. */
void config_init(struct config *cfg);
void config_free(struct config *cfg);

/* Sets one [server] key from any source (a refused value changes
 * nothing). Returns 0, or -1 with the reason
 * in ERR ("workers: expected a number from 1 to 256"). */
int config_set(struct config *cfg, const char *key, const char *value,
               char *err, size_t errlen);

/* Sets KEY of the webhook source NAME (created if new). 0 or -1 with ERR.
 * "secret" adds to the secrets already set. */
int config_set_webhook(struct config *cfg, const char *name, const char *key,
                       const char *value, char *err, size_t errlen);

/* Loads PATH (INI: [server], [plugin NAME], [function ID], [webhook
 * NAME]; inih's syntax, lines of up to 64 KiB). Returns 0, or -1 with
 * "config PATH: line N: reason" in ERR; the first error stops the file.
 * A file that sets a secret but is readable by group or others gets a
 * cfg->file_warning. */
int config_load_file(struct config *cfg, const char *path, char *err,
                     size_t errlen);

/* Applies every FNHOST_<KEY> environment variable. 0 or -1 with ERR. */
int config_load_env(struct config *cfg, char *err, size_t errlen);

/* Whether S holds a secret (a key or a webhook secret): its value must
 * not show in ps nor in /proc/PID/environ. */
int config_is_secret(const struct config_setting *s);

/* Overwrites the string S in place ('x' for each byte): for argv and
 * environment strings, whose bytes /proc/PID/cmdline and environ show. */
void config_wipe(char *s);

/* Overwrites the value of every secret FNHOST_* variable in the
 * environment block, then removes it: neither workers (which inherit the
 * environment) nor plugin code reading /proc/<master>/environ see them.
 * Call it once the settings were read, before starting any process. */
void config_scrub_environment(void);

/* The overrides for function ID, or NULL. */
const struct config_function *config_function(const struct config *cfg,
                                              const char *id);

/* Parses "4MiB", "512KiB", "1MB" or a plain byte count. 0 or -1. */
int config_parse_size(const char *s, size_t *out);

#endif
