/* registry.h - generations of plugins and the functions they declare.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A generation is one consistent set of plugins: each .so of the plugin
 * folder is copied into STATE/gen/<n>/ and described by a child process
 * (the master never maps plugin code); the master keeps what they declared. */
#ifndef FNHOST_REGISTRY_H
#define FNHOST_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "cron.h"
#include "fnhost.h"
#include "store.h"

struct config;
struct json_object;
struct router;

struct fn_info {
    char *id;
    char *name;
    const char *plugin; /* the plugin's name, owned by the plugin_info */
    char **triggers;    /* NULL-terminated */
    /* The effective options: see the table in fnopt.c. */
    int retries;
    int64_t timeout_ms;
    double backoff_scale;
    int checkpoint_ahead; /* 1: steps run on before their commit */
    int64_t timeout_start_ms;  /* timeouts.start: cancelled if not started
                                  this long after it is due; 0: never */
    int64_t timeout_finish_ms; /* timeouts.finish: cancelled if not ended
                                  this long after its first start */
    /* 1: declared by a plugin that is refused now, as it last loaded.
     * Routed, so its events get runs, which wait in the store until a
     * generation loads it; registry_find() does not see it. */
    int unloaded;
    /* A filter on the events its triggers match: the run starts only
     * when it holds for the event ("event.data.function_id == \"x\"").
     * NULL: none. Compiled when the generation is built. */
    struct expr *if_expr;
    /* Its idempotency key, over the event: one run per key per 24 h.
     * NULL: none. */
    struct expr *idempotency;
    /* rateLimit: at most rate_limit runs start per rate_period_ms per
     * value of rate_key (NULL: one key); 0: no limit. */
    int rate_limit;
    int64_t rate_period_ms;
    struct expr *rate_key;
    /* singleton: one active run per value of singleton_key (NULL: one
     * key); 0: none. */
    enum { SINGLETON_NONE, SINGLETON_SKIP, SINGLETON_CANCEL } singleton;
    struct expr *singleton_key;
    /* debounce: a run starts debounce_ms after the last event of its
     * debounce_key (NULL: one key), at most debounce_timeout_ms (0: no
     * cap) after the first; debounce_ms 0: none. */
    int64_t debounce_ms;
    int64_t debounce_timeout_ms;
    struct expr *debounce_key;
    /* throttle: at most throttle_limit runs start per throttle_period_ms
     * per value of throttle_key (NULL: one key), throttle_burst more at
     * once; the rest wait (store.c's throttle_start()). 0: none. */
    int throttle_limit;
    int64_t throttle_period_ms;
    int throttle_burst;
    struct expr *throttle_key;
    /* batch: the events of a batch_key (NULL: one key) that batch_if
     * (NULL: all) holds for gather into one run, which starts with
     * batch_max of them or batch_timeout_ms after the first; batch_max
     * 0: none. */
    int batch_max;
    int64_t batch_timeout_ms;
    struct expr *batch_key;
    struct expr *batch_if;
    /* Its concurrency limits (host/conc.c): limit 0 is an unused entry;
     * the first limit is an option of the table, the rest the
     * descriptor's "concurrency". KEY NULL: one queue. ENV: the queue is
     * shared with every function's scope-env key of the same value. */
    struct fn_concurrency {
        int limit;
        struct expr *key;
        int env;
    } concurrency[FH_CONCURRENCY_LIMITS];
    /* Its cron schedules (the [function ID] section's "cron", else its
     * descriptor's): as written, and parsed when the generation is
     * built. Ticks run through host/cron.c. */
    struct fn_cron {
        char *spec;
        struct cron c;
    } *crons;
    size_t ncrons;
    int64_t cron_jitter_ms; /* 0: none */
    /* priority.run: over the event, a number of seconds (-600..600) that
     * places a new run in line as if it were due that much earlier
     * (host/pipeline.c); NULL: 0. */
    struct expr *priority;
    char *failure_of; /* a failure handler: the function it serves */
    /* cancelOn: its rules, the strings its own */
    struct store_cancel_rule cancel_on[FH_CANCEL_ON_MAX];
    size_t ncancel_on;
    /* Worked out from the above once, when the generation is built
     * (registry.c's fn_settle()), for the event path: */
    int reads_event;  /* routing reads the event: an `if`, a priority or
                         an option's key is set */
    int starts_early; /* a run may start before its event commits
                         (pipeline.c): it checkpoints ahead, and no
                         option of its own is decided at the commit */
};

struct plugin_info {
    char *name;
    char *version;
    char *file; /* the file in the plugin folder */
    char *copy; /* its copy in the generation folder */
    char *abi;
    struct json_object *desc; /* what it declared */
};

/* A plugin file of the folder that this generation refused. */
struct refusal {
    char *file;   /* in the plugin folder */
    char *reason;
    /* What it declared the last time it loaded (STATE/declared.json), or
     * NULL if it never did: its functions are in fns, unloaded. */
    struct json_object *desc;
};

struct generation {
    unsigned n;
    char *dir;
    int64_t built_at;
    struct plugin_info *plugins;
    size_t nplugins;
    struct fn_info *fns;
    size_t nfns;
    struct refusal *refusals; /* the plugins that failed to load */
    size_t refused;
    char *first_error; /* "file: reason" of the first refused plugin */
    int refs;       /* see generation_ref() */
    struct router *router; /* the functions' triggers, indexed */
};

/* Builds generation N from the *.so files of PLUGINS_DIR into
 * STATE_DIR/gen/N. A plugin that fails any check is refused with one log
 * line naming the file and the reason; the rest load. Returns it with one
 * reference (the caller's), or NULL only if the folders themselves fail,
 * with the reason in ERR. */
struct generation *registry_build(const struct config *cfg,
                                  const char *plugins_dir,
                                  const char *state_dir, unsigned n,
                                  char *err, size_t errlen);

/* A generation lives as long as someone holds a reference: the current
 * generation pointer, the scheduler and pool that route to it, and each
 * worker process that has its plugins mapped. Whoever stores a pointer
 * takes a reference, and drops it when it lets go; the last unref removes
 * STATE/gen/<n> (no process maps its copies any more) and frees it. Both
 * are for the loop's thread only. generation_ref returns G; NULL is
 * ignored by both. */
struct generation *generation_ref(struct generation *g);
void generation_unref(struct generation *g);

/* Records what G's plugins declare in STATE_DIR/declared.json, for the
 * builds after it (and after a restart) to route the events of a plugin
 * they refuse: G's loaded plugins as they are, its refused ones as they
 * were remembered. Call when G becomes current. 0, or -1 (logged). */
int registry_remember(const struct generation *g, const char *state_dir);

/* The loaded function with ID, or NULL. */
const struct fn_info *registry_find(const struct generation *g,
                                    const char *id);

/* Set (from any thread) to make a registry_build() in progress give up:
 * its describe child is killed and the build fails. An atomic, since the
 * build runs on a thread of its own. */
void registry_cancel_builds(void);

/* The generation as JSON for GET /v1/functions (new). */
struct json_object *registry_json(const struct generation *g);

/* Whether fnhost would load the file at PATH as far as its permissions
 * go, by the rule serve applies: a regular file and its folder, owned by
 * this user or root, writable by no one else (a folder may be if it is
 * sticky, as /tmp). `fnhost check` uses it; serve checks the same on the
 * copy it loads. 0, or -1 with the reason in ERR. */
int registry_check_plugin(const char *path, char *err, size_t errlen);

/* Describes the plugin at PATH in a child process (`fnhost describe`)
 * with CONFIG (borrowed) as its plugin config. Returns the descriptor
 * JSON (new), or NULL with the reason in ERR. TIMEOUT_MS bounds load(). */
struct json_object *registry_describe(const char *path,
                                      struct json_object *config,
                                      int timeout_ms, char *err,
                                      size_t errlen);

#endif
