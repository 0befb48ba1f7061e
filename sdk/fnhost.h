/* fnhost.h - the plugin ABI of fnhost, and its manual.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A plugin is a shared object that includes only this header. It exports
 * exactly one symbol, fh_plugin_entry(), written by FH_PLUGIN(), which
 * returns a static descriptor: the plugin's name, version and a table of
 * functions, each with the events that trigger it. The host never links a
 * plugin against its own symbols; every service (logging, configuration,
 * memory, run output, errors) is reached through the API table that the host
 * hands to each call in its context.
 *
 * A minimal plugin:
 *
 *     #include <fnhost.h>
 *
 *     static int
 *     hello(struct fh_ctx *ctx, const struct fh_event *ev)
 *     {
 *         fh_log(ctx, FH_LOG_INFO, "hello from %s", ev->name);
 *         return FH_OK;
 *     }
 *
 *     static const struct fh_function functions[] = {
 *         { .id = "hello", .run = hello, .triggers = FH_EVENTS("app/hi") },
 *         FH_FUNCTIONS_END
 *     };
 *
 *     FH_PLUGIN(.name = "hello", .version = "1.0.0", .functions = functions);
 *
 * Memory: every pointer below is marked
 *   borrowed  valid until the call that handed it out returns; never free it,
 *   steals    the callee takes ownership, even when it fails,
 *   new       the caller owns the result and releases it as the comment says.
 *
 * ABI rules. FH_ABI_MAJOR changes for any incompatible change: the host
 * refuses plugins of another major version. FH_ABI_MINOR grows when
 * something is appended: a field of struct fh_plugin, struct
 * fh_function_opts or struct fh_api, a use for a spare slot, a constant.
 * Fields are never reordered, removed or retyped within a major version.
 * struct fh_function never grows (it is an array: its size is its stride);
 * a function's new options go into its struct fh_function_opts, which
 * carries its own size.
 *
 * Minor versions. A host loads a plugin of its major version built for any
 * minor, older or newer, as long as the plugin uses nothing the host does
 * not know:
 *   - older: what the plugin's header did not have reads as unset (an
 *     options struct is read only as far as its size; missing fields take
 *     the defaults);
 *   - newer: the host checks what it can see. Everything past what it
 *     knows must be zero: the descriptor past its own size, the spare
 *     slots, an options struct past its own size. A plugin that sets an
 *     option the host does not know is refused with "upgrade fnhost",
 *     naming the plugin and the function. API entries the host cannot
 *     check: a plugin built for 1.N that may run on an older host tests
 *     FH_API_HAS() before calling an entry added after that host's minor,
 *     and reads a field of struct fh_ctx added in 1.N only when
 *     ctx->api->abi_minor >= N. (Hosts before 1.2 refuse newer minors.)
 *
 *   1.0  descriptor, function table, log, fail, config, alloc, set_output,
 *        retry_after
 *   1.1  steps: step, sleep, sleep_until, state_dir; fh_ctx.step_id
 *   1.2  struct fh_function_opts (FH_OPTS()) in fh_function.opts; hosts
 *        load plugins built for a newer minor (above)
 *   1.3  the step toolbox: send_event, invoke, error, fetch (struct
 *        fh_fetch), wait_for_event (struct fh_wait);
 *        fh_function_opts.on_failure, timeouts
 *   1.4  parallel steps: parallel (struct fh_parallel, struct fh_branch);
 *        fh_function_opts.cancel_on (struct fh_cancel_on)
 *   1.5  fh_function_opts.if_expr (a trigger's `if`), idempotency
 *   1.6  fh_function_opts.rate_limit (struct fh_rate_limit), singleton
 *        (struct fh_singleton), debounce (struct fh_debounce),
 *        concurrency (struct fh_concurrency), cron, cron_jitter (cron
 *        triggers)
 *   1.7  fh_function_opts.throttle (struct fh_throttle), priority
 *        (Inngest's priority.run), batch (struct fh_batch);
 *        fh_ctx.events and nevents, fh_events(), fh_event_at()
 */
#ifndef FNHOST_H
#define FNHOST_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FH_ABI_MAGIC 0x31686e66u /* "fnh1" in memory on little-endian */
#define FH_ABI_MAJOR 1
#define FH_ABI_MINOR 7

#define FH_EXPORT       __attribute__((visibility("default")))
#define FH_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Return codes of handlers, load() and API calls: 0 is success. */
enum fh_rc {
    FH_OK = 0,
    FH_ERR = -1,      /* failed; the reason was given to fh_fail() or logged */
    FH_SUSPENDED = 1, /* from a step call: the run must stop here (a sleep,
                         a wait, a retry, or a cancel: the step ran and is
                         kept); return it from the handler at once.
                         FH_STEP(), FH_SLEEP() and FH_WAIT_FOR_EVENT() do
                         that for you */
};

/* How a failure is retried, for fh_fail(). */
enum fh_retry {
    FH_RETRY = 0,    /* retry with the function's backoff (the default) */
    FH_NO_RETRY = 1, /* fail now: retrying cannot help (bad input) */
};

/* Log levels for fh_log(). */
enum fh_log_level {
    FH_LOG_ERROR = 0,
    FH_LOG_WARN = 1,
    FH_LOG_INFO = 2,
    FH_LOG_DEBUG = 3,
};

struct fh_api;
struct fh_invoke;
struct fh_parallel;
struct fh_wait;

/* An HTTP request that the host makes for a handler (fh_fetch(), 1.3).
 * Size-stamped, as struct fh_function_opts: write it with FH_FETCH_REQ(),
 * which sets the size, so that fields can be appended; unset fields take
 * the defaults. Everything is borrowed for the call. */
struct fh_fetch {
    uint32_t size;              /* sizeof(struct fh_fetch): FH_FETCH_REQ()
                                   sets it */
    const char *method;         /* "GET", "POST", ... (upper case); NULL:
                                   GET, or POST when there is a body */
    const char *url;            /* http:// or https:// only */
    const char *const *headers; /* "Name: value" lines, NULL-terminated
                                   (FH_HEADERS()); NULL: none */
    const char *body;           /* UTF-8 text, or NULL for none */
    const char *timeout;        /* the whole exchange, a duration ("30s");
                                   NULL: 30 s; at most the function's
                                   timeout */
};

/* A request for fh_fetch(): FH_FETCH_REQ(.url = "https://...", ...). */
#define FH_FETCH_REQ(...)                                                   \
    (&(const struct fh_fetch){.size = sizeof(struct fh_fetch), __VA_ARGS__})

/* Header lines for struct fh_fetch: FH_HEADERS("Accept: text/plain"). */
#define FH_HEADERS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* An event as a handler sees it. Borrowed, with everything it points to,
 * for the duration of the handler call. */
struct fh_event {
    const char *name;         /* "clerk/user.created" */
    const char *id;           /* the sender's id, or NULL if none */
    const char *internal_id;  /* fnhost's ULID for the event */
    int64_t ts;               /* milliseconds since the epoch */
    struct json_object *data; /* the "data" object, never NULL */
    struct json_object *json; /* the whole event object */
};

/* The context of one call into the plugin: load(), unload() or a handler.
 * The host owns it; a plugin reads the fields and passes it back to the API.
 * Only this head is public; the host keeps its own data behind it. */
struct fh_ctx {
    const struct fh_api *api; /* borrowed: the host's services */
    void *state;              /* the plugin's own: set it in load() */
    const char *plugin;       /* borrowed: the plugin's name */
    const char *function_id;  /* borrowed: NULL in load() and unload() */
    const char *run_id;       /* borrowed: NULL in load() and unload() */
    unsigned attempt;         /* 0 on the first attempt of the step (or
                                 of the handler code between steps) that
                                 runs now; each step counts its own */
    unsigned max_attempts;    /* retries + 1 */
    const char *step_id;      /* 1.1, borrowed: inside a step function, its id
                                 ("name" or "name:n"); with run_id a good
                                 idempotency key for the step's effect.
                                 NULL elsewhere */
    /* 1.7: read them with fh_events() and fh_event_at() */
    const struct fh_event *events; /* borrowed: the run's events, in the
                                 order they came; events[0] is the
                                 handler's ev. NULL outside a handler */
    size_t nevents;           /* how many: a batch's size, else 1 */
};

/* A handler. Return FH_OK when the run is done, FH_SUSPENDED when a step
 * call said so, or the value of fh_fail(). Any other non-zero return is a
 * retryable failure. The event is borrowed. A handler runs again from the
 * top each time its run resumes (see "steps" below), and code outside
 * steps may run more than once (at-least-once): after a failure, or when
 * a worker or the host died during the attempt.
 *
 * A worker runs one handler at a time, on one thread: ctx->state needs no
 * locking against other handlers of the same process. */
typedef int (*fh_handler)(struct fh_ctx *ctx, const struct fh_event *ev);

/* A step's body, run by fh_step() when the step has no stored result. Set
 * *RESULT to a new json-c value (the host steals it; leave it NULL for
 * null) and return FH_OK, or return fh_fail(). ARG is what was passed to
 * fh_step(). Everything a step does before its result is stored may be
 * done again (at-least-once); once stored, the step never runs again. */
typedef int (*fh_step_fn)(struct fh_ctx *ctx, void *arg,
                          struct json_object **result);

/* A function's options (1.2). Size-stamped so that options can be
 * appended without shifting the function table: set them with FH_OPTS(),
 * which stamps the size, and leave the rest zero, which means "the host's
 * default". The host reads only the fields within the size a plugin
 * stamped, and refuses a size below 1.2's or past any it could know. Each
 * option can also be set, and overridden, in the [function ID] section of
 * the host's config.
 *
 *     { .id = "charge", .run = charge, .triggers = FH_EVENTS("shop/order"),
 *       .opts = FH_OPTS(.retries = 10, .timeout = "2m") },
 */
/* At most this many cron schedules per function. */
#define FH_CRON_MAX 5

/* At most this many cancel_on rules per function, as Inngest's. */
#define FH_CANCEL_ON_MAX 5

/* At most two concurrency limits per function, of 1..100000 runs each. */
#define FH_CONCURRENCY_LIMITS 2
#define FH_CONCURRENCY_MAX 100000

struct fh_function_opts {
    uint32_t size;       /* sizeof(struct fh_function_opts) at build time:
                            FH_OPTS() sets it */
    int32_t retries;     /* 0: the default (4); 1..20; or FH_RETRIES_NONE
                            for a single attempt */
    const char *timeout; /* per attempt, e.g. "30s" or "2m"; NULL: the
                            host's default */
    int32_t checkpoint_ahead; /* FH_CHECKPOINT_AHEAD: the handler goes on
                            while its steps' checkpoints commit; 0: each
                            step is durable before the next one starts */
    /* 1.3 */
    fh_handler on_failure; /* runs once a run of this function has failed
                            for good, as Inngest's onFailure: see "Failure
                            handlers" below. NULL: none */
    struct fh_timeouts {      /* Inngest's timeouts: exceeding one cancels
                                 the run (it shows Cancelled). Durations
                                 as .timeout; NULL: no limit */
        const char *start;    /* longest a run may wait, queued, before
                                 its first attempt starts, e.g. "10m" */
        const char *finish;   /* longest from its first start to its end,
                                 sleeps and retries included, e.g. "1d" */
    } timeouts;               /* 1.3: FH_OPTS(.timeouts = {.start = "10m",
                                 .finish = "1d"}) */
    /* 1.4 */
    struct fh_cancel_on {     /* Inngest's cancelOn: an event that cancels
                                 the run, as DELETE /v1/runs/{id} does */
        const char *event;    /* its name (required; not inngest/...) */
        const char *match;    /* a dotted path ("data.user_id") whose
                                 value is equal in the run's event and in
                                 this one, or NULL */
        const char *if_expr;  /* an expression over event (the run's) and
                                 async (this one), or NULL */
        const char *timeout;  /* how long after the run is created the
                                 rule applies ("3d"); NULL: a year, the
                                 most */
    } cancel_on[FH_CANCEL_ON_MAX]; /* unused entries zero: FH_OPTS(
                                 .cancel_on = {{.event = "user.deleted",
                                 .match = "data.id"}}) */
    /* 1.5 */
    const char *if_expr;      /* Inngest's trigger `if`: an expression
                                 over `event`, the event that would start
                                 a run, which must be true for it to (the
                                 README's "Expressions"): .if_expr =
                                 "event.data.plan == 'pro'". It applies to
                                 every trigger of the function; one that
                                 cannot be evaluated (a missing field) is
                                 false. NULL: every event starts a run */
    const char *idempotency;  /* Inngest's idempotency: an expression over
                                 `event` whose value is a key; one run per
                                 key per 24 hours, the events after the
                                 first start none ("event.data.user_id").
                                 An event it cannot be evaluated on starts
                                 its run. NULL: none */
    /* 1.6 */
    struct fh_rate_limit {    /* Inngest's rateLimit, lossy: at most LIMIT
                                 runs start per PERIOD per key; the events
                                 past it start no run of this function
                                 (they are stored, shown as skipped) */
        int32_t limit;        /* 1..100000; 0: no rate limit */
        const char *period;   /* "1h": 1s..24h, required with a limit */
        const char *key;      /* an expression over `event` whose value
                                 is the key ("event.data.user_id"); NULL:
                                 one limit for all events. Events it
                                 cannot be evaluated on share one key */
    } rate_limit;             /* FH_OPTS(.rate_limit = {.limit = 1,
                                 .period = "4h", .key = "event.data.id"}) */
    struct fh_singleton {     /* Inngest's singleton: one active (not
                                 ended) run per key */
        const char *key;      /* an expression over `event`, as
                                 rate_limit's; NULL: one for the function */
        const char *mode;     /* "skip": an event starts no run while one
                                 is active (it shows as skipped);
                                 "cancel": the active run is cancelled and
                                 the new one starts. NULL: no singleton */
    } singleton;              /* FH_OPTS(.singleton = {.mode = "skip"}) */
    struct fh_debounce {      /* Inngest's debounce: a run starts PERIOD
                                 after the last event of its key, with
                                 that event; the events before it start
                                 none (they show as skipped) */
        const char *period;   /* "5m": 1s..7d; NULL: no debounce */
        const char *key;      /* an expression over `event`, as
                                 rate_limit's; NULL: one for the function */
        const char *timeout;  /* the longest a run may wait from the first
                                 event of its key ("1h", 1s..7d); NULL:
                                 as long as events keep coming */
    } debounce;               /* FH_OPTS(.debounce = {.period = "5m",
                                 .key = "event.data.account_id"}) */
    struct fh_concurrency {   /* Inngest's concurrency: at most LIMIT runs
                                 execute code at once (sleeping, waiting,
                                 retrying and queued runs hold no slot);
                                 the others wait in line, per key */
        int32_t limit;        /* 1..FH_CONCURRENCY_MAX; 0: unused entry */
        const char *key;      /* an expression over `event` whose value
                                 names a queue of its own, made once when
                                 the run is created
                                 ("event.data.workspace_id"); NULL: one
                                 queue. An event it cannot be evaluated on
                                 goes in the queue of the empty key */
        const char *scope;    /* "fn" (NULL): the key's runs of this
                                 function; "env": of every function whose
                                 scope-env key has the same value (the
                                 key is required) */
    } concurrency[FH_CONCURRENCY_LIMITS]; /* FH_OPTS(.concurrency = {{
                                 .limit = 10,
                                 .key = "event.data.workspace_id"}}) */
    const char *cron[FH_CRON_MAX]; /* Inngest's cron triggers: each tick
                                 starts a run of this function (only)
                                 with an inngest/scheduled.timer event
                                 whose data.cron is the schedule. Five
                                 fields, "minute hour day-of-month month
                                 day-of-week", robfig/cron's grammar, an
                                 optional "TZ=Area/City " prefix (else
                                 UTC), at most 255 characters, no two
                                 alike: .cron = {"TZ=Europe/Paris 0 2 * *
                                 *"}. With a cron, .triggers may be NULL.
                                 Unused entries NULL. See "Cron" in the
                                 README */
    const char *cron_jitter;  /* a random delay of each tick's run, up to
                                 this duration, 1s..5m ("30s"); NULL:
                                 none */
    /* 1.7 */
    struct fh_throttle {      /* Inngest's throttle, lossless: at most
                                 LIMIT runs start per PERIOD per key, and
                                 BURST more at once when the key has not
                                 been used for a while (GCRA); the runs
                                 past it wait, queued in order, until
                                 their key has room. It counts first
                                 starts only: retries and resumes are not
                                 throttled */
        int32_t limit;        /* 1..100000; 0: no throttle */
        const char *period;   /* "1m": 1s..7d, required with a limit */
        int32_t burst;        /* 0..100000: runs on top of LIMIT that may
                                 start at once (Inngest's default is 1;
                                 here 0, as an unset field) */
        const char *key;      /* an expression over `event`, made once
                                 when the run is created, whose value is
                                 the key ("event.data.user_id"); NULL: one
                                 key. Events it cannot be evaluated on
                                 share one key */
    } throttle;               /* FH_OPTS(.throttle = {.limit = 1,
                                 .period = "5s", .burst = 2,
                                 .key = "event.data.user_id"}) */
    const char *priority;     /* Inngest's priority.run: an expression
                                 over `event` whose value is a number of
                                 seconds, -600..600 (clamped), evaluated
                                 once when the run is created. A run of
                                 priority P waits to start as if it had
                                 been due P seconds earlier: it goes
                                 ahead of the runs due less than P
                                 seconds before it; a negative P delays
                                 it by -P seconds. An error or a
                                 value that is not a number is 0. Only
                                 the first attempt's place in line:
                                 .priority = "event.data.plan == 'pro' ?
                                 120 : 0". NULL: 0 */
    struct fh_batch {         /* Inngest's batchEvents: the events of a
                                 key gather into one run, which starts
                                 once MAX_SIZE have come or TIMEOUT after
                                 the first; its handler reads them with
                                 fh_events() and fh_event_at() */
        int32_t max_size;     /* 1..FH_BATCH_MAX; 0: no batching */
        const char *timeout;  /* "5s": 1s..60s, required with max_size */
        const char *key;      /* an expression over `event`, as
                                 rate_limit's: a batch per value; NULL:
                                 one for the function */
        const char *if_expr;  /* an expression over `event`: only events
                                 it is true for are batched, the others
                                 start a run of their own (one it cannot
                                 be evaluated on is false); NULL: all */
    } batch;                  /* FH_OPTS(.batch = {.max_size = 100,
                                 .timeout = "5s"}); not with debounce,
                                 singleton, cancel_on, idempotency or
                                 rate_limit */
};

/* At most this many events in one batch (struct fh_batch). */
#define FH_BATCH_MAX 100

#define FH_RETRIES_NONE (-1)

/* Checkpointing ahead. By default a step's result is durable before
 * FH_STEP returns, so a step never runs before the one it follows is
 * stored. With .checkpoint_ahead = FH_CHECKPOINT_AHEAD, FH_STEP returns
 * as soon as the result is sent, and the checkpoints commit while the
 * handler goes on (what Inngest's SDK calls checkpointing): several steps
 * share one commit, so a run of short steps holds its worker for less.
 * What stays true: a step whose checkpoint was acknowledged never runs
 * again, and every checkpoint of an invocation is durable before the run
 * sleeps, retries or ends. What changes: if the worker or the host dies,
 * steps that ran after the last durable checkpoint run again, so a later
 * step's effects may come before an earlier step is recorded. A new run
 * may also start while its event is being stored (when no option of the
 * function decides at that commit whether it runs): if the event cannot
 * be stored, its sender is told so, and the steps that ran are recorded
 * nowhere. Use it for steps that are idempotent, or cheap to repeat. */
#define FH_CHECKPOINT_AHEAD 1

/* Failure handlers. A function with .opts = FH_OPTS(.on_failure = fn)
 * gets a second function, "ID-failure" (named "NAME (failure)"), whose
 * handler is fn and whose event is the inngest/function.failed event of
 * each run of ID that fails for good: ev->data holds "function_id",
 * "run_id", "event" (the failed run's event), "events" and "error"
 * ({"name", "message"}: fh_json_str(ev->data, "error.message")). It is a
 * function like any other, with steps, retries (1 by default) and its
 * own runs, and a [function ID-failure] config section. A plugin may not
 * also declare a function named "ID-failure". */

/* Cancel on events (1.4). A function with .opts = FH_OPTS(.cancel_on =
 * {{.event = "clerk/user.deleted", .match = "data.id"}}) has its runs
 * cancelled by such an event, as DELETE /v1/runs/{id} cancels them: a run
 * that sleeps, waits or is queued at once, one on a worker at its next
 * step boundary (the step it is in completes). .match: the value at that
 * dotted path is equal in the run's event and this one; .if_expr: an
 * expression over `event` (the run's) and `async` (this one) is true;
 * both: both. .timeout ("3d"; at most, and by default, a year) counts
 * from the run's creation; past it the rule no longer applies. The
 * cancel is stored in the event's own transaction. A rule that cannot be
 * refuses the plugin at load; an internal event (inngest/...) may not
 * cancel. Not settable in a [function ID] section. */

/* A pointer to static options for fh_function.opts, size stamped:
 * FH_OPTS(.retries = 3, .timeout = "1m"). Use it at file scope, in the
 * function table (a compound literal there lives as long as the plugin). */
#define FH_OPTS(...)                                                        \
    (&(const struct fh_function_opts){                                      \
        .size = sizeof(struct fh_function_opts), __VA_ARGS__})

/* One function of a plugin. Use designated initializers; unset options take
 * the host's defaults. */
struct fh_function {
    const char *id;                /* stable id, unique in the host: runs and
                                      their checkpoints are stored under it */
    const char *name;              /* display name; NULL: the id */
    const char *const *triggers;   /* event names, NULL-terminated: see
                                      FH_EVENTS(). A trailing "*" after "/" or
                                      "." matches the rest: "clerk/user.*".
                                      NULL when opts has a cron (1.6) */
    fh_handler run;                /* the handler */
    int retries;                   /* 1.0 place of opts->retries: either
                                      here or there, not both */
    const char *timeout;           /* 1.0 place of opts->timeout: either
                                      here or there, not both */
    const struct fh_function_opts *opts; /* 1.2, borrowed (static): the
                                      options, FH_OPTS(...); NULL: none */
    void *spare[3];                /* zero; room to grow within 1.x */
};

/* Triggers for struct fh_function: FH_EVENTS("a/b", "a/c.*"). */
#define FH_EVENTS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Ends a function table. */
#define FH_FUNCTIONS_END {.id = NULL, .run = NULL}

/* The descriptor a plugin exports through fh_plugin_entry(). */
struct fh_plugin {
    uint32_t magic;     /* FH_ABI_MAGIC: must stay the first field */
    uint16_t abi_major; /* FH_ABI_MAJOR at build time */
    uint16_t abi_minor; /* FH_ABI_MINOR at build time */
    uint32_t size;      /* sizeof(struct fh_plugin) at build time */
    const char *name;   /* unique among loaded plugins; names the
                           [plugin NAME] section of the config */
    const char *version;
    const struct fh_function *functions; /* ends with FH_FUNCTIONS_END */
    int (*load)(struct fh_ctx *ctx);     /* optional: once per process, before
                                            any handler; set ctx->state.
                                            Non-zero refuses the plugin */
    void (*unload)(struct fh_ctx *ctx);  /* optional: release ctx->state */
    void *spare[4];                      /* zero; room to grow within 1.x */
};

/* Writes the entry point. Use it once, at file scope, after the function
 * table: FH_PLUGIN(.name = "x", .version = "1.0.0", .functions = fns); */
#define FH_PLUGIN(...)                                                      \
    FH_EXPORT const struct fh_plugin *fh_plugin_entry(void);                \
    const struct fh_plugin *fh_plugin_entry(void)                           \
    {                                                                       \
        static const struct fh_plugin fh_descriptor_ = {                    \
            .magic = FH_ABI_MAGIC,                                          \
            .abi_major = FH_ABI_MAJOR,                                      \
            .abi_minor = FH_ABI_MINOR,                                      \
            .size = sizeof(struct fh_plugin),                               \
            __VA_ARGS__};                                                   \
        return &fh_descriptor_;                                             \
    }                                                                       \
    extern int fh_plugin_needs_a_semicolon_

/* The host's services. Append-only: an entry added in 1.N is marked so, and
 * a plugin built for 1.N that may run on an older host tests FH_API_HAS(). */
struct fh_api {
    uint32_t size; /* sizeof(struct fh_api) in the host */
    uint16_t abi_major;
    uint16_t abi_minor;

    /* 1.0: the basics */
    void (*log)(struct fh_ctx *ctx, int level, const char *fmt, ...)
        FH_PRINTF(3, 4);
    int (*fail)(struct fh_ctx *ctx, int retry, const char *fmt, ...)
        FH_PRINTF(3, 4);
    const char *(*config)(struct fh_ctx *ctx, const char *key);
    void *(*alloc)(struct fh_ctx *ctx, size_t n);
    int (*set_output)(struct fh_ctx *ctx, struct json_object *output);
    int (*retry_after)(struct fh_ctx *ctx, int64_t delay_ms);
    /* 1.1: durable steps and sleeps, the state folder */
    const char *(*state_dir)(struct fh_ctx *ctx);
    int (*step)(struct fh_ctx *ctx, const char *name, fh_step_fn fn,
                void *arg, struct json_object **result);
    int (*sleep)(struct fh_ctx *ctx, const char *name, const char *duration);
    int (*sleep_until)(struct fh_ctx *ctx, const char *name, int64_t at_ms);
    /* 1.3: the step toolbox */
    int (*send_event)(struct fh_ctx *ctx, const char *name,
                      struct json_object *events, struct json_object **ids);
    int (*invoke)(struct fh_ctx *ctx, const char *name,
                  const struct fh_invoke *req, struct json_object **result);
    const char *(*error)(struct fh_ctx *ctx);
    int (*fetch)(struct fh_ctx *ctx, const char *name,
                 const struct fh_fetch *req, struct json_object **response);
    int (*wait_for_event)(struct fh_ctx *ctx, const char *name,
                          const struct fh_wait *wait,
                          struct json_object **event);
    /* 1.4 */
    int (*parallel)(struct fh_ctx *ctx, const char *name,
                    const struct fh_parallel *req,
                    struct json_object **results, size_t *winner);
};

#define FH_API_HAS(api, fn)                                                 \
    ((api)->size >= offsetof(struct fh_api, fn) + sizeof((api)->fn) &&      \
     (api)->fn != NULL)

/* Writes a line to the host's log, prefixed with the plugin, the function
 * and the run. No trailing newline. */
#define fh_log(ctx, level, ...) ((ctx)->api->log((ctx), (level), __VA_ARGS__))

/* Records why the call failed and returns FH_ERR, so a handler ends with
 * `return fh_fail(ctx, FH_NO_RETRY, "payload has no %s", field);`. It may
 * also be called earlier, with `return FH_ERR;` after some cleanup.
 * FH_RETRY failures are retried with backoff until the function's retries
 * are used up; FH_NO_RETRY failures fail the run at once. The message is
 * stored with the attempt and shown by `fnhost run`. In load(), the message
 * is the reason the plugin is refused (pass FH_NO_RETRY there). */
#define fh_fail(ctx, retry, ...) ((ctx)->api->fail((ctx), (retry), __VA_ARGS__))

/* The value of KEY in the [plugin NAME] section of the host's config, or
 * NULL when unset. Borrowed for the life of the process. */
static inline const char *
fh_config(struct fh_ctx *ctx, const char *key)
{
    return ctx->api->config(ctx, key);
}

/* The value of KEY, or DEF when unset. */
static inline const char *
fh_config_or(struct fh_ctx *ctx, const char *key, const char *def)
{
    const char *v = ctx->api->config(ctx, key);

    return v != NULL ? v : def;
}

/* N bytes of zeroed memory from the call's arena: freed by the host when
 * the call returns (new, but never free it yourself). Never NULL. */
static inline void *
fh_alloc(struct fh_ctx *ctx, size_t n)
{
    return ctx->api->alloc(ctx, n);
}

/* Sets the run's output, shown by `fnhost run` and GET /v1/runs/{id}.
 * Steals OUTPUT (any json-c value, NULL for null). Returns FH_OK. */
static inline int
fh_set_output(struct fh_ctx *ctx, struct json_object *output)
{
    return ctx->api->set_output(ctx, output);
}

/* Asks that the next attempt wait DELAY_MS (clamped to 1 s .. 24 h) rather
 * than the backoff table's delay; use it with fh_fail(ctx, FH_RETRY, ...)
 * when a service answered "retry after". Returns FH_OK. */
static inline int
fh_retry_after(struct fh_ctx *ctx, int64_t delay_ms)
{
    return ctx->api->retry_after(ctx, delay_ms);
}

/* The host's state folder (absolute; borrowed for the life of the
 * process): a plugin keeps its own files here when its config names none,
 * as user-sync does with app.db. */
static inline const char *
fh_state_dir(struct fh_ctx *ctx)
{
    return ctx->api->state_dir(ctx);
}

/* ------------------------------------------------------------ steps
 *
 * A durable function is a handler that calls steps. The host runs the
 * handler again from the top whenever the run resumes (after a sleep, a
 * retry, a crash or a restart); a step whose result is stored returns it
 * at once without running. So between steps, the handler must do the same
 * thing every time: call the same steps, in the same order, with the same
 * names. Work with effects (email, payment, database writes) belongs in
 * steps; what is computed from the event and from step results may sit
 * between them.
 *
 * Step names are the contract with runs in flight: the n-th call of one
 * name in a run gets the id "name:n" (the first is "name"). Renaming or
 * reordering steps of a function that has runs sleeping changes which
 * stored results they find.
 *
 *     static int
 *     onboarding(struct fh_ctx *ctx, const struct fh_event *ev)
 *     {
 *         FH_STEP(ctx, "welcome-email", send_welcome, ev);
 *         FH_SLEEP(ctx, "wait-3-days", "3 days");
 *         FH_STEP(ctx, "trial-offer-email", send_trial_offer, ev);
 *         return FH_OK;
 *     }
 */

/* Why the last call that returned FH_ERR failed (a step's final error,
 * an invoke's: "invoke charge-card: card declined"), or NULL. Borrowed
 * until the next API call. Needs a 1.3 host: FH_API_HAS(ctx->api,
 * error). */
static inline const char *
fh_error(struct fh_ctx *ctx)
{
    return ctx->api->error(ctx);
}

/* Runs step NAME: returns its stored result, or runs FN(ctx, ARG, &r),
 * stores r durably and only then returns. *RESULT (if not NULL) gets the
 * result, borrowed until the handler returns. A result must nest at most
 * 64 levels and print as valid JSON, or the step fails for good.
 *   FH_OK         the step has its result
 *   FH_SUSPENDED  the step failed and will be retried after a backoff:
 *                 return FH_SUSPENDED from the handler
 *   FH_ERR        the step failed for good (no retry, or its last
 *                 attempt): handle it and go on, or return FH_ERR to fail
 *                 the run with the step's error */
static inline int
fh_step(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
        struct json_object **result)
{
    return ctx->api->step(ctx, name, fn, arg, result);
}

/* Sleeps DURATION ("3 days", "3d", "2.5h", "30 mins", "1h30m", a bare
 * number of ms; at most a year). The first time, it returns FH_SUSPENDED:
 * the run holds no worker while it sleeps, and resumes when the time has
 * come (at once after a restart, if the time passed meanwhile); then it
 * returns FH_OK. A duration that does not parse, or is longer than a year,
 * fails the step without retry: FH_ERR. */
static inline int
fh_sleep(struct fh_ctx *ctx, const char *name, const char *duration)
{
    return ctx->api->sleep(ctx, name, duration);
}

/* Sleeps until AT_MS (ms since the epoch); a time in the past does not
 * sleep. Returns as fh_sleep() does. */
static inline int
fh_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms)
{
    return ctx->api->sleep_until(ctx, name, at_ms);
}

/* ------------------------------------------------------------ waits (1.3)
 *
 * A step that waits for an event: the run holds no worker while it
 * waits, and resumes when a matching event is stored or the timeout
 * passes, whichever comes first (exactly one of them wins).
 *
 *     struct json_object *login;
 *
 *     FH_WAIT_FOR_EVENT(ctx, "wait-login", &login,
 *                       .event = "app/user.login", .match = "data.user_id",
 *                       .timeout = "1d", .lookback = "10m");
 *     if (login == NULL)
 *         FH_STEP(ctx, "nudge-email", send_nudge, ev);
 *
 * What a wait matches. An event named .event, stored after the wait
 * began, with .match: the value at that dotted path is equal in the run's
 * triggering event and the candidate (Inngest's
 * `event.data.user_id == async.data.user_id`; the path read as
 * fh_json_get() reads it, the values compared as JSON text, and a path
 * missing or null in the triggering event matches nothing); with .if_expr
 * an expression (the README's "Expressions", variables `event` and
 * `async`) that must be true; with both, both must hold. With .lookback
 * (beyond Inngest), the newest matching event received within that
 * window before the wait began (other than the run's triggering event)
 * also counts: the wait then resolves at once. */
struct fh_wait {
    uint32_t size;          /* sizeof(struct fh_wait) at build time, as
                               FH_WAIT() and FH_WAIT_FOR_EVENT() stamp
                               it; 0 reads as 1.3's layout */
    const char *event;      /* the event name to wait for (required) */
    const char *match;      /* a dotted path ("data.user_id"), or NULL */
    const char *if_expr;    /* an expression, or NULL */
    const char *timeout;    /* how long to wait ("1d"; the duration
                               grammar of fh_sleep()), at most a year */
    int64_t timeout_at;     /* or until when, in ms since the epoch: one
                               of the two is required */
    const char *lookback;   /* a duration ("10m"), or NULL for none; at
                               most a year */
};

/* A pointer to a size-stamped struct fh_wait, for fh_wait_for_event(). */
#define FH_WAIT(...)                                                        \
    (&(const struct fh_wait){.size = sizeof(struct fh_wait), __VA_ARGS__})

/* Waits, in step NAME, for the event WAIT describes. The first time it
 * returns FH_SUSPENDED (unless a look-back finds the event, in which case
 * it too suspends and resumes at once). Once the wait has ended it
 * returns FH_OK, and *EVENT (if not NULL) gets the event that matched, as
 * an object like struct fh_event.json (borrowed until the handler
 * returns), or NULL when the timeout passed first. A wait that cannot be
 * (no event name, a bad path, duration or expression, a timeout past a
 * year) fails the step without retry: FH_ERR. Check FH_API_HAS(api,
 * wait_for_event) in a plugin that may run on a host older than 1.3. */
static inline int
fh_wait_for_event(struct fh_ctx *ctx, const char *name,
                  const struct fh_wait *wait, struct json_object **event)
{
    return ctx->api->wait_for_event(ctx, name, wait, event);
}

/* What fh_invoke() invokes. Size-stamped so that it can grow: write it
 * with FH_INVOKE_REQ(.function_id = "charge-card", .data = d). */
struct fh_invoke {
    uint32_t size;             /* sizeof(struct fh_invoke) at build time */
    const char *function_id;   /* the function to run, by id */
    struct json_object *data;  /* its event's data (stolen, even when the
                                  call fails); NULL: {} */
    const char *timeout;       /* how long to wait for it ("1h"); NULL: a
                                  year, the longest */
};

#define FH_INVOKE_REQ(...)                                                  \
    (&(const struct fh_invoke){.size = sizeof(struct fh_invoke), __VA_ARGS__})

/* A step that runs another function and returns its output, as Inngest's
 * step.invoke: the function gets an inngest/function.invoked event whose
 * data is REQ->data, whatever triggers it declares, and this run sleeps,
 * holding no worker, until that run ends or REQ->timeout passes. *RESULT
 * (may be NULL) gets the invoked run's output, borrowed until the handler
 * returns. Returns FH_SUSPENDED (return it) while the run waits; then, on
 * the call that replays it, FH_OK, or FH_ERR with the reason when the
 * invoked run failed ("invoke charge-card: card declined"), timed out, or
 * there is no such function: as a step's final failure, the handler
 * decides. Memoized like any step: the invoked run starts once, in the
 * transaction that suspends this one. Needs a 1.3 host:
 * FH_API_HAS(ctx->api, invoke). */
static inline int
fh_invoke(struct fh_ctx *ctx, const char *name, const struct fh_invoke *req,
          struct json_object **result)
{
    return ctx->api->invoke(ctx, name, req, result);
}

/* A step that sends events: EVENTS (steals) is one event object or an
 * array of up to 5000, with the fields of the event API ("name", "data",
 * "id", "ts"). They go through the same way in as POST /e/: checked,
 * given ids, stored, deduplicated by "id", and each starts the functions
 * it triggers. The step is memoized like any other: the events, the
 * step's checkpoint and the runs they start commit in one transaction,
 * so once the step is stored they are sent exactly once, and a replay
 * sends nothing. *IDS (may be NULL) gets the events' ids, a JSON array of
 * strings in the order given (borrowed until the handler returns); the
 * step's stored result is {"ids": [...]}, as Inngest's step.sendEvent
 * returns. Returns FH_OK, FH_SUSPENDED (return it), or FH_ERR when an
 * event is bad (no name, a name under "inngest/", data not an object,
 * ...): the step fails for good with the reason, as a step body's
 * FH_NO_RETRY does. Needs a 1.3 host: FH_API_HAS(ctx->api, send_event). */
static inline int
fh_send_event(struct fh_ctx *ctx, const char *name,
              struct json_object *events, struct json_object **ids)
{
    return ctx->api->send_event(ctx, name, events, ids);
}

/* A step that makes an HTTP request, durably, from the host: the
 * plugin needs no HTTP client. The first time, the run suspends (it holds
 * no worker) while the host makes the request; the response is stored as
 * the step's result and the run resumes, so the handler replays and
 * fh_fetch() returns FH_OK with *RESPONSE (borrowed until the handler
 * returns; may be NULL):
 *
 *     {"status": 200, "headers": {"content-type": "..."}, "body": "..."}
 *
 * Header names are lower case; a repeated header's values are joined with
 * ", ". A body that is not UTF-8 (or holds a NUL) is base64, and the
 * response then has "encoding": "base64". Any status is a response: a 404
 * is FH_OK with "status": 404. Transport errors (no connection, a
 * timeout), 5xx and 429 are retried by the host with the function's
 * retries and backoff (a 429's or 503's Retry-After is honoured); after
 * the last attempt the step fails for good and fh_fetch() returns FH_ERR
 * with the reason, as fh_step() does. The request is stored before it is
 * made, so a host that dies meanwhile makes it again after a restart (at
 * least once); once the response is stored it is never made again.
 * Redirects are followed (up to 10); a response body over 4 MiB, or a bad
 * request (no URL, another scheme, a header that is not "Name: value"),
 * fails the step for good. Returns FH_SUSPENDED the first time: return
 * it (FH_FETCH() does). Needs a 1.3 host: FH_API_HAS(ctx->api, fetch). */
static inline int
fh_fetch(struct fh_ctx *ctx, const char *name, const struct fh_fetch *req,
         struct json_object **response)
{
    return ctx->api->fetch(ctx, name, req, response);
}

/* ------------------------------------------------- parallel steps (1.4)
 *
 * Steps that run at the same time, each in a worker of its own: the
 * handler plans them together, and goes on once all have ended (or, in
 * race mode, the first):
 *
 *     struct json_object *r[3];
 *
 *     FH_PARALLEL(ctx, "notify", r,
 *                 FH_BRANCH("email", send_email, ev),
 *                 FH_BRANCH("crm", update_crm, ev),
 *                 FH_BRANCH("slack", post_to_slack, ev));
 *     // r[0], r[1], r[2]: the three results
 *
 * How it runs. The first time the handler reaches the group, the run
 * suspends (it holds no worker) and each branch becomes a unit of work of
 * its own, queued at once. A worker runs a branch by calling the handler
 * again from the top with that branch as its target: the steps before the
 * group replay from the store, and at the group only the target's body
 * runs; its result is stored, with its own attempts and retries (the
 * function's retries and backoff), as any step's. Once every branch has
 * its outcome, the group's is stored and the run resumes: the handler
 * replays, and fh_parallel() returns the results. So code between steps
 * runs once more per branch (at-least-once, as always), and a branch's
 * body must not call steps itself. A branch is a step: its id is its
 * name ("name", then "name:1", ...), memoized like any other, and shown
 * with the run's steps. */

/* One branch of fh_parallel(): a step's name, body and argument, as
 * fh_step() takes them. */
struct fh_branch {
    const char *name;
    fh_step_fn fn;
    void *arg;
};

/* A branch for FH_PARALLEL() or a struct fh_branch array:
 * FH_BRANCH("email", send_email, ev). ARG may point to const data. */
#define FH_BRANCH(name, fn, arg)                                                {(name), (fn), (void *)(uintptr_t)(const void *)(arg)}

/* The most branches one group may have. */
#define FH_PARALLEL_MAX 100

/* Modes of struct fh_parallel. */
enum fh_parallel_mode {
    FH_PARALLEL_ALL = 0, /* go on once every branch has ended */
    FH_PARALLEL_RACE = 1, /* go on once the first has ended (its result
                             or its final failure); the others already
                             on a worker finish, their outcomes stored
                             but not returned, and those that had not
                             started are cancelled */
};

/* What fh_parallel() runs. Size-stamped so that it can grow: write it
 * with FH_PARALLEL_REQ(.branches = b, .n = 3). */
struct fh_parallel {
    uint32_t size;                   /* sizeof(struct fh_parallel) */
    const struct fh_branch *branches; /* borrowed for the call */
    size_t n;                        /* 1 .. FH_PARALLEL_MAX */
    int mode;                        /* enum fh_parallel_mode */
};

#define FH_PARALLEL_REQ(...)                                                \
    (&(const struct fh_parallel){.size = sizeof(struct fh_parallel),        \
                                 __VA_ARGS__})

/* Runs the branches of REQ in parallel as step group NAME. RESULTS (may
 * be NULL) is an array of REQ->n pointers: each gets its branch's result,
 * borrowed until the handler returns, or NULL when the branch failed (or,
 * in race mode, did not win). *WINNER (may be NULL) gets the index of the
 * branch that ended first in race mode, and 0 otherwise.
 *   FH_SUSPENDED  the group has begun: return it from the handler
 *   FH_OK         every branch (race: the winner) has its result
 *   FH_ERR        a branch (race: the winner) failed for good, or the
 *                 request is bad; fh_error() says which and why ("step
 *                 crm: ..."), and the other results are set: handle it
 *                 and go on, or return FH_ERR to fail the run
 * Needs a 1.4 host: FH_API_HAS(ctx->api, parallel). */
static inline int
fh_parallel(struct fh_ctx *ctx, const char *name,
            const struct fh_parallel *req, struct json_object **results,
            size_t *winner)
{
    return ctx->api->parallel(ctx, name, req, results, winner);
}

/* The forms to use in handlers: each returns from the handler when the
 * run must stop (a suspension, or a step's final failure). ARG may point
 * to const data: the step function gets it back as it was passed. */

/* fh_fetch() that returns from the handler when it must; RESPONSE may
 * be NULL:
 *
 *     struct json_object *resp;
 *     FH_FETCH(ctx, "get-customer",
 *              FH_FETCH_REQ(.url = url,
 *                           .headers = FH_HEADERS("Authorization: Bearer x")),
 *              &resp);
 */
#define FH_FETCH(ctx, name, req, response)                                  \
    do {                                                                    \
        int fh_rc_ = fh_fetch((ctx), (name), (req), (response));            \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

#define FH_STEP(ctx, name, fn, arg)                                         \
    do {                                                                    \
        int fh_rc_ = fh_step((ctx), (name), (fn),                           \
                             (void *)(uintptr_t)(const void *)(arg), NULL); \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* As FH_STEP, and *OUT gets the step's result (borrowed). */
#define FH_STEP_RESULT(ctx, name, fn, arg, out)                             \
    do {                                                                    \
        int fh_rc_ = fh_step((ctx), (name), (fn),                           \
                             (void *)(uintptr_t)(const void *)(arg), (out));\
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* fh_invoke() that returns from the handler when it must; *OUT gets the
 * invoked run's output (may be NULL). */
#define FH_INVOKE(ctx, name, req, out)                                      \
    do {                                                                    \
        int fh_rc_ = fh_invoke((ctx), (name), (req), (out));                \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* fh_send_event() that returns from the handler when it must; IDS may
 * be NULL. */
#define FH_SEND_EVENT(ctx, name, events, ids)                               \
    do {                                                                    \
        int fh_rc_ = fh_send_event((ctx), (name), (events), (ids));         \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* fh_parallel() of the branches listed, all of them, returning from the
 * handler when it must; RESULTS is an array with room for one result per
 * branch (or NULL): FH_PARALLEL(ctx, "notify", r, FH_BRANCH(...), ...). */
#define FH_PARALLEL(ctx, name, results, ...)                                \
    do {                                                                    \
        const struct fh_branch fh_b_[] = {__VA_ARGS__};                     \
        int fh_rc_ = fh_parallel(                                           \
            (ctx), (name),                                                  \
            FH_PARALLEL_REQ(.branches = fh_b_,                              \
                            .n = sizeof(fh_b_) / sizeof(fh_b_[0])),         \
            (results), NULL);                                               \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* The race mode of FH_PARALLEL: *RESULT gets the first branch's result
 * and *WINNER (a size_t) its index. */
#define FH_RACE(ctx, name, result, winner, ...)                             \
    do {                                                                    \
        const struct fh_branch fh_b_[] = {__VA_ARGS__};                     \
        struct json_object *fh_r_[sizeof(fh_b_) / sizeof(fh_b_[0])];        \
        int fh_rc_ = fh_parallel(                                           \
            (ctx), (name),                                                  \
            FH_PARALLEL_REQ(.branches = fh_b_,                              \
                            .n = sizeof(fh_b_) / sizeof(fh_b_[0]),          \
                            .mode = FH_PARALLEL_RACE),                      \
            fh_r_, (winner));                                               \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
        *(result) = fh_r_[*(winner)];                                       \
    } while (0)

#define FH_SLEEP(ctx, name, duration)                                       \
    do {                                                                    \
        int fh_rc_ = fh_sleep((ctx), (name), (duration));                   \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

#define FH_SLEEP_UNTIL(ctx, name, at_ms)                                    \
    do {                                                                    \
        int fh_rc_ = fh_sleep_until((ctx), (name), (at_ms));                \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* As fh_wait_for_event() with FH_WAIT(...), returning from the handler
 * when the run must stop: FH_WAIT_FOR_EVENT(ctx, "name", &event,
 * .event = "app/x", .timeout = "1h"). */
#define FH_WAIT_FOR_EVENT(ctx, name, out, ...)                              \
    do {                                                                    \
        int fh_rc_ = fh_wait_for_event((ctx), (name), FH_WAIT(__VA_ARGS__), \
                                       (out));                              \
        if (fh_rc_ != FH_OK)                                                \
            return fh_rc_;                                                  \
    } while (0)

/* Batches (1.7). A function with .opts = FH_OPTS(.batch = {...}) runs
 * once per batch of events; its handler's ev is the batch's first, and
 * it reads them all so:
 *
 *     for (size_t i = 0; i < fh_events(ctx); i++) {
 *         const struct fh_event *e = fh_event_at(ctx, i);
 *         ...
 *     }
 *
 * A run of any other function has one event, ev. */

/* How many events the run has: its batch's size, else 1; 0 outside a
 * handler (load(), unload()). A host before 1.7 has no batches: 1. */
static inline size_t
fh_events(const struct fh_ctx *ctx)
{
    return ctx->api->abi_minor >= 7 ? ctx->nevents : 1;
}

/* The run's event I (borrowed, as ev), 0 <= I < fh_events(ctx), in the
 * order they came; NULL past the end, and on a host before 1.7 (use the
 * handler's ev there). */
static inline const struct fh_event *
fh_event_at(const struct fh_ctx *ctx, size_t i)
{
    if (ctx->api->abi_minor < 7 || i >= ctx->nevents)
        return NULL;
    return &ctx->events[i];
}

/* The event's "data" object (borrowed). */
static inline struct json_object *
fh_event_data(const struct fh_event *ev)
{
    return ev->data;
}

/* Small readers for event payloads. PATH is dotted: "data.object.id".
 * A part that is a decimal number also indexes an array ("items.0.id"),
 * where the value there is an array; a key that itself holds a dot is
 * out of reach (use json_object_object_get_ex). Each returns what it
 * found, borrowed from OBJ, or says it found nothing: a missing part, a
 * JSON null and a value of another type are all "nothing". */

/* The value at PATH inside OBJ, or NULL. An empty PATH is OBJ. */
static inline struct json_object *
fh_json_get(struct json_object *obj, const char *path)
{
    char key[256];
    const char *p = path;
    struct json_object *cur = obj;

    while (cur != NULL && *p != '\0') {
        const char *dot = p;
        size_t n;

        while (*dot != '\0' && *dot != '.')
            dot++;
        n = (size_t)(dot - p);
        if (n >= sizeof(key))
            return NULL;
        for (size_t i = 0; i < n; i++)
            key[i] = p[i];
        key[n] = '\0';
        if (json_object_is_type(cur, json_type_array)) {
            size_t idx = 0, i;

            /* Digits only, no sign, no leading zero, below 10^9. */
            if (n == 0 || n > 9 || (n > 1 && key[0] == '0'))
                return NULL;
            for (i = 0; i < n; i++) {
                if (key[i] < '0' || key[i] > '9')
                    return NULL;
                idx = idx * 10 + (size_t)(key[i] - '0');
            }
            if (idx >= json_object_array_length(cur))
                return NULL;
            cur = json_object_array_get_idx(cur, idx);
        } else if (!json_object_object_get_ex(cur, key, &cur)) {
            return NULL;
        }
        if (*dot == '\0')
            break;
        p = dot + 1;
        if (*p == '\0') /* "a." names no key */
            return NULL;
    }
    return cur;
}

/* The string at PATH inside OBJ ("user.email"), or NULL when a part is
 * missing or the value is not a string. */
static inline const char *
fh_json_str(struct json_object *obj, const char *path)
{
    struct json_object *v = fh_json_get(obj, path);

    if (v == NULL || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* The integer at PATH into *OUT: 0, or -1 (and *OUT untouched) when it is
 * missing, not a number, has a fraction, or does not fit 64 bits. A
 * number written with a fraction of zero (3.0) counts, as JavaScript
 * senders have no other kind. */
static inline int
fh_json_int(struct json_object *obj, const char *path, int64_t *out)
{
    struct json_object *v = fh_json_get(obj, path);

    if (v == NULL)
        return -1;
    if (json_object_is_type(v, json_type_int)) {
        int64_t i = json_object_get_int64(v);

        /* json-c keeps integers above INT64_MAX as unsigned. */
        if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
            return -1;
        *out = i;
        return 0;
    }
    if (json_object_is_type(v, json_type_double)) {
        double d = json_object_get_double(v);

        /* 2^63 is the first double past INT64_MAX. */
        if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) ||
            d != (double)(int64_t)d)
            return -1;
        *out = (int64_t)d;
        return 0;
    }
    return -1;
}

/* The number at PATH into *OUT: 0, or -1 when it is missing or not a
 * number. An integer beyond 2^53 loses precision, as in JavaScript. */
static inline int
fh_json_number(struct json_object *obj, const char *path, double *out)
{
    struct json_object *v = fh_json_get(obj, path);

    if (v == NULL || (!json_object_is_type(v, json_type_int) &&
                      !json_object_is_type(v, json_type_double)))
        return -1;
    *out = json_object_get_double(v);
    return 0;
}

/* The boolean at PATH into *OUT (0 or 1): 0, or -1 when it is missing or
 * not true or false. Nothing else counts: not 0, 1, "true" or "". */
static inline int
fh_json_bool(struct json_object *obj, const char *path, int *out)
{
    struct json_object *v = fh_json_get(obj, path);

    if (v == NULL || !json_object_is_type(v, json_type_boolean))
        return -1;
    *out = json_object_get_boolean(v) ? 1 : 0;
    return 0;
}

#ifdef __cplusplus
}
#endif

#endif /* FNHOST_H */
