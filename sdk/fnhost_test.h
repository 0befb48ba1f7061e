/* fnhost_test.h - runs a plugin's functions in a unit test, without the host.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The harness plays the host for one plugin, inside the test's process: it
 * checks the descriptor, calls load(), builds the event and the context,
 * hands the plugin an API table that behaves as the host's (fh_config,
 * fh_alloc, fh_set_output, fh_fail, fh_retry_after, fh_state_dir, fh_log,
 * steps, sleeps, sends, and fetches, which it answers from mocks), runs a
 * handler and tells what the host would do with the outcome. It is a library, libfnhost_test.a, that needs libc and
 * json-c; it runs the host's own code for what it shares with the host
 * (the descriptor checks, events, steps, what a result means) and exports
 * only the fh_test_ functions below.
 *
 * Link the test and the plugin's .c files with it into one program (`make
 * check` of fnhost.mk does); the plugin's fh_plugin_entry() is then an
 * ordinary function:
 *
 *     cc -std=c11 -I$PREFIX/include -o test_greet test_greet.c greet.c \
 *        $PREFIX/lib/libfnhost_test.a -ljson-c
 *
 *     const struct fh_plugin *fh_plugin_entry(void);
 *
 *     struct fh_test *t = fh_test_new(fh_plugin_entry());
 *     struct fh_test_result r;
 *
 *     fh_test_config(t, "greeting", "hi");
 *     fh_test_run_all(t, "greet", "{\"name\":\"app/hi\",\"data\":{}}", &r);
 *     assert(r.status == FH_TEST_COMPLETED);
 *     assert(strcmp(r.output, "\"hi\"") == 0);
 *     fh_test_result_free(&r);
 *     fh_test_free(t);
 *
 * Runs. A harness holds one run at a time, as the host's store does: its
 * id, its stored steps and the attempt its next invocation gets. Each
 * fh_test_run() is one invocation of the run: the handler is called once,
 * stored steps return their results without running ("replayed"), the
 * others run, and what the host would store is stored: a step's result, a
 * step's final failure, a sleep (as over by the next invocation: the
 * harness does not wait). fh_test_run_all() invokes again and again, as
 * the host would, until the run completes or fails. Canned steps
 * (fh_test_step_result(), fh_test_step_error()) are stored steps that you
 * write, to test a resumed run. When a run has ended, the next call that
 * runs or stores something starts a new run: new id, nothing stored.
 *
 * What differs from the host: the handler runs in this process, so a
 * crash ends the test and no timeout is enforced; sleeps and retry delays
 * are not waited for; the clock is the real one (a sleep's wake time is
 * computed from it). Two plugins in one program would both define
 * fh_plugin_entry(): compile one with -Dfh_plugin_entry=other_entry.
 *
 * Memory: as in fnhost.h, pointers are marked borrowed, new or steals.
 * The harness aborts when memory runs out. Calls on one harness are not
 * thread-safe; separate harnesses share only the plugin's globals. */
#ifndef FNHOST_TEST_H
#define FNHOST_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "fnhost.h"

#ifdef __cplusplus
extern "C" {
#endif

struct fh_test;

/* What the host would do after an invocation (struct fh_test_result). */
enum fh_test_status {
    FH_TEST_NOT_RUN = 0,  /* the harness refused: fh_test_error() says why */
    FH_TEST_COMPLETED,    /* the handler returned FH_OK: the run is done */
    FH_TEST_FAILED,       /* the run fails: FH_NO_RETRY, a step's final
                             error returned, or its last attempt failed */
    FH_TEST_RETRYING,     /* it would run again after a backoff: the
                             handler failed, or a step will be retried */
    FH_TEST_SLEEPING,     /* suspended on a sleep */
    FH_TEST_INVOKING,     /* suspended on fh_invoke(): R->sleep is the
                             step; a mock's outcome (fh_test_mock_invoke())
                             comes with the next invocation */
    FH_TEST_FETCHING,     /* suspended on a fetch: the mock's response
                             is stored for the next invocation */
    FH_TEST_WAITING,      /* suspended on a wait for an event: end it with
                             fh_test_send_event() or fh_test_wait_timeout() */
    FH_TEST_CANCELLED,    /* stopped at a step boundary by a cancel
                             (fh_test_cancel_at()): the run is done */
};

/* Kinds of struct fh_test_step. */
enum fh_test_step_kind {
    FH_TEST_STEP = 0,  /* fh_step() */
    FH_TEST_SLEEP = 1, /* fh_sleep() or fh_sleep_until() */
    FH_TEST_SEND = 2,  /* fh_send_event() */
    FH_TEST_INVOKE = 3, /* fh_invoke() */
    FH_TEST_FETCH = 4,  /* fh_fetch() */
    FH_TEST_WAIT = 5,   /* fh_wait_for_event() */
    FH_TEST_PARALLEL = 6, /* fh_parallel(): the group, listed after its
                             branches (each an FH_TEST_STEP); "result" is
                             its plan, with "winner" in race mode */
};

/* One step or sleep that ran for real (was not replayed). Owned by the
 * result that lists it. */
struct fh_test_step {
    char *id;            /* "name" the first time in an invocation, then
                            "name:1", "name:2", ... */
    char *name;
    int kind;            /* enum fh_test_step_kind */
    char *result;        /* a step that succeeded: its result as JSON text
                            ("null" when it set none); NULL otherwise */
    char *error;         /* a step or sleep that failed, NULL otherwise */
    int final;           /* with an error: 1 when it failed for good (it is
                            stored, the handler got FH_ERR), 0 when the
                            step will be retried (FH_SUSPENDED) */
    unsigned attempt;    /* the step's attempt (its ctx->attempt) */
    unsigned invocation; /* which invocation of the run: 0, 1, ... */
    char *duration;      /* a sleep: the duration as written; NULL from
                            fh_sleep_until() */
    int64_t sleep_ms;    /* a sleep: how long it sleeps; 0 when it did not
                            (a time in the past) or failed */
    int64_t wake_at;     /* a sleep: when it wakes, ms since the epoch;
                            a wait: its timeout */
    char *events;        /* a send that succeeded: the events as the host
                            would store them (a JSON array, checked and
                            completed as the event API does; "result"
                            holds their ids); the harness sends nothing.
                            An invoke: the event the invoked function
                            would get, in a JSON array */
    char *target;        /* an invoke: the function it invokes */
    char *request;       /* a fetch: the request as the host stores it,
                            JSON: {"method", "url", "headers": ["Name:
                            value", ...], "body" (if any), "timeout_ms",
                            "max_bytes"}; "result" or "error" holds what
                            its mock gave */
    char *wait_event;    /* a wait: the event name it waits for */
    char *wait_match;    /* a wait: its match path, or NULL */
    char *wait_if;       /* a wait: its expression, or NULL */
};

/* One line the plugin logged with fh_log(). */
struct fh_test_log {
    int level;  /* enum fh_log_level */
    char *text; /* the message as the host's log shows it: newlines
                   become spaces, and a line stops at 2 KiB */
};

/* The outcome of fh_test_run() (one invocation) or fh_test_run_all() (the
 * whole run: lists cover every invocation, the rest is the last one's).
 * Filled by the call, owned by the caller: release with
 * fh_test_result_free(). */
struct fh_test_result {
    int status;                      /* enum fh_test_status */
    char run_id[27];                 /* the run's id (ctx->run_id), a ULID */
    int rc;                          /* what the handler returned */
    char *output;                    /* COMPLETED: fh_set_output()'s value
                                        as JSON text; NULL if none set */
    char *error;                     /* FAILED or RETRYING: the run's
                                        error (a step's, for a step that
                                        failed); NOT_RUN: the reason */
    int no_retry;                    /* the failure is not retried */
    int64_t retry_after_ms;          /* fh_retry_after() for that retry */
    unsigned attempt;                /* the attempt the invocation ended
                                        in (the one a failure counts) */
    unsigned max_attempts;           /* the handler's ctx->max_attempts */
    unsigned invocations;            /* handler calls made */
    struct fh_test_step *ran;        /* steps and sleeps that ran, in
                                        order; failed attempts included */
    size_t nran;
    char **replayed;                 /* ids of stored steps and sleeps that
                                        returned without running, in order
                                        (the last invocation's) */
    size_t nreplayed;
    const struct fh_test_step *sleep; /* SLEEPING: the sleep, in ran;
                                         INVOKING: the invoke */
    const struct fh_test_step *retry; /* RETRYING for a step: it, in ran */
    struct fh_test_log *log;         /* what the plugin logged, in order */
    size_t nlog;
    const struct fh_test_step *fetch; /* FETCHING: the fetch, in ran */
    const struct fh_test_step *wait; /* WAITING: the wait, in ran */
};

/* Checks PLUGIN (borrowed; what fh_plugin_entry() returns) as the host
 * does before loading it: magic, ABI version, size, name, version, and
 * each function's id, handler, triggers and options. Returns 0,
 * or -1 with the reason in ERR, worded as `fnhost check` words it. */
int fh_test_check(const struct fh_plugin *plugin, char *err, size_t errlen);

/* A harness for PLUGIN (borrowed: it must outlive the harness). New:
 * release it with fh_test_free(). NULL when fh_test_check() refuses the
 * plugin; the reason is then printed on stderr. */
struct fh_test *fh_test_new(const struct fh_plugin *plugin);

/* Calls the plugin's unload() if load() succeeded, removes the state
 * folder if the harness made it, and frees T. NULL is allowed. */
void fh_test_free(struct fh_test *t);

/* Sets KEY of the [plugin NAME] section to VALUE (copied), or unsets it
 * when VALUE is NULL: what fh_config(ctx, KEY) returns. Set what load()
 * reads before it runs; handlers that call fh_config() see changes at
 * once. Strings handed to the plugin stay valid until fh_test_free().
 * Returns 0, or -1 for a NULL or empty KEY. */
int fh_test_config(struct fh_test *t, const char *key, const char *value);

/* What fh_state_dir() returns: PATH (copied; it must exist). Without it,
 * the harness makes a private folder under $TMPDIR (or /tmp) the first
 * time the plugin asks, and removes it, with what it holds, in
 * fh_test_free(). Call it before load(). Returns 0, or -1 for a NULL or
 * empty PATH. */
int fh_test_state_dir(struct fh_test *t, const char *path);

/* The most verbose fh_log() level written to stderr (FH_LOG_INFO by
 * default; -1 writes nothing). Results record every line regardless. */
void fh_test_log_level(struct fh_test *t, int level);

/* The attempt the next invocation starts with (ctx->attempt; 0 unless
 * set), as the host sends it for a retry. Runs then count on from it. */
void fh_test_attempt(struct fh_test *t, unsigned attempt);

/* ctx->max_attempts of the handlers, and when steps stop being retried.
 * 0 (the default) takes the function's: retries + 1, 5 for retries 0
 * (the host's default of 4 retries), 1 for FH_RETRIES_NONE. */
void fh_test_max_attempts(struct fh_test *t, unsigned n);

/* Calls the plugin's load() unless it ran already; fh_test_run() calls it
 * if you did not. Returns 0, or -1 when load() failed, with
 * "load() failed: REASON" in fh_test_error(); later runs are refused. */
int fh_test_load(struct fh_test *t);

/* Why the last call that returned -1 failed (borrowed until the next
 * call on T), or NULL. */
const char *fh_test_error(const struct fh_test *t);

/* Stores a result for step STEP_ID of the current run, as if it had run:
 * the step returns it without running (replayed). JSON is its text
 * (copied; NULL is null). For a sleep's id, any JSON marks the sleep as
 * over. Replaces what was stored for STEP_ID. Returns 0, or -1 when JSON
 * does not parse or STEP_ID is NULL or empty. */
int fh_test_step_result(struct fh_test *t, const char *step_id,
                        const char *json);

/* Stores a final failure for STEP_ID with ERROR (copied): the step or
 * sleep returns FH_ERR without running, and the run's error is ERROR if
 * the handler returns it. Returns 0, or -1 for a NULL or empty argument. */
int fh_test_step_error(struct fh_test *t, const char *step_id,
                       const char *error);

/* Runs FN(ctx, ARG, result) instead of the body of every step named NAME
 * (all its ids), from now on; FN NULL removes the mock. FN behaves as a
 * step body: set *result and return FH_OK, or return fh_fail(). ARG is
 * borrowed, and may point to const data as with FH_STEP(). Returns 0, or
 * -1 for a NULL or empty NAME. */
int fh_test_mock_step(struct fh_test *t, const char *name, fh_step_fn fn,
                      const void *arg);

/* What a run of FUNCTION_ID that a step invokes (fh_invoke()) ends with,
 * from now on: its output OUTPUT_JSON (copied; NULL is null), or, when
 * ERROR is not NULL, a failure with that error. The invoke's step gets it
 * as the host would give it, with the next invocation (fh_test_run_all()
 * goes on at once). Returns 0, or -1 for a NULL or empty FUNCTION_ID or
 * OUTPUT_JSON that does not parse. */
int fh_test_mock_invoke(struct fh_test *t, const char *function_id,
                        const char *output_json, const char *error);
/* Cancels the run at the step boundary after STEP_ID ("name", or
 * "name:1" for a repeat), as DELETE /v1/runs/{id} does to a run whose
 * step is running: once that step's outcome (a result, or a final
 * failure) is stored, its call returns FH_SUSPENDED instead, and so does
 * every later step call, so FH_STEP() returns from the handler; the run
 * ends FH_TEST_CANCELLED. The step itself ran and is kept. NULL clears
 * it. For the current run only (fh_test_new_run() clears it). Returns 0,
 * or -1 for an empty id. */
int fh_test_cancel_at(struct fh_test *t, const char *step_id);

/* A response for the fetch steps named MATCH, or else whose URL is
 * MATCH (exactly), from now on: RESPONSE_JSON (copied) is {"status":
 * 100..599, "headers": {...}, "body": "..."}; missing headers are {} and
 * a missing body "". The harness makes no requests: a fetch suspends the
 * run (FH_TEST_FETCHING) with the response stored, as the host stores
 * what it fetched, and the next invocation replays it. A fetch that has
 * no mock refuses the run: fh_test_run() returns -1, R->status is
 * FH_TEST_NOT_RUN and R->error names the fetch and its URL. Replaces an
 * earlier mock for MATCH; RESPONSE_JSON NULL removes it. Returns 0, or -1
 * for an empty MATCH or a response without a status. */
int fh_test_mock_fetch(struct fh_test *t, const char *match,
                       const char *response_json);

/* As fh_test_mock_fetch(), but the fetch fails for good with ERROR
 * (copied), as the host's does after its last attempt (a transport error,
 * a 5xx, a 429): fh_fetch() then returns FH_ERR with ERROR. */
int fh_test_mock_fetch_error(struct fh_test *t, const char *match,
                             const char *error);

/* Starts a new run now: a new run id, no stored or canned steps, attempt
 * 0. Mocks, config and load() are kept. */
void fh_test_new_run(struct fh_test *t);

/* One invocation of function FUNCTION_ID of the current run, with the
 * event EVENT_JSON ({"name": ..., "data": ..., "id": ..., "ts": ...},
 * checked and completed as the host's event API does; its name must
 * trigger the function). For a function with a batch, EVENT_JSON may
 * also be a JSON array of 1 to its batch.max_size such events: the
 * batch, which the handler reads with fh_events() and fh_event_at() (ev
 * is its first). Fills *R (any previous content is overwritten,
 * not freed). Returns 0 when the handler ran, whatever it returned: see
 * R->status. Returns -1 when the harness could not run it (no such
 * function, a bad event, load() failed, another function's run is in
 * progress): R->status is FH_TEST_NOT_RUN and R->error the reason. */
int fh_test_run(struct fh_test *t, const char *function_id,
                const char *event_json, struct fh_test_result *r);

/* Invokes as the host would until the run completes, fails or waits for
 * an event: sleeps are taken as over, retries follow at once with the
 * next attempt. R lists
 * every step that ran and every line logged; the rest tells the last
 * invocation. Returns as fh_test_run(); -1 too after 1000 invocations
 * (a handler that never ends). */
int fh_test_run_all(struct fh_test *t, const char *function_id,
                    const char *event_json, struct fh_test_result *r);

/* Waits. A run that waits (FH_TEST_WAITING) goes on at its next
 * invocation once its wait has ended, by one of these two:
 *
 * Sends EVENT_JSON (checked and completed as the host's event API does)
 * to the run's wait: if the event has the wait's name and, for a wait
 * with .match, the same value at that path as the run's triggering event,
 * it ends the wait (the wait's step returns it) and 1 is returned; else
 * 0, and the run still waits. The harness does not evaluate .if_expr:
 * an event sent to a wait with one is taken as matching. -1 when the run
 * does not wait or the event is bad (fh_test_error() says why). */
int fh_test_send_event(struct fh_test *t, const char *event_json);

/* Ends the run's wait by its timeout: the wait's step returns NULL.
 * Returns 0, or -1 when the run does not wait. */
int fh_test_wait_timeout(struct fh_test *t);

/* Frees what R holds and zeroes it. NULL is allowed. */
void fh_test_result_free(struct fh_test_result *r);

/* The last execution of STEP_ID in R (borrowed from R), or NULL. */
const struct fh_test_step *fh_test_ran(const struct fh_test_result *r,
                                       const char *step_id);

/* Whether STEP_ID was replayed in R's last invocation: 1 or 0. */
int fh_test_replayed(const struct fh_test_result *r, const char *step_id);

/* The first line R logged that contains NEEDLE (borrowed from R), or
 * NULL. */
const char *fh_test_logged(const struct fh_test_result *r,
                           const char *needle);

/* Parses a duration as the host does for fh_sleep(): "3 days", "3d",
 * "2.5h", "30 mins", "1h30m", a bare number of ms. Returns 0 and *MS, or
 * -1 with the reason in ERR (as the host words it). */
int fh_test_duration(const char *s, int64_t *ms, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif /* FNHOST_TEST_H */
