/* steprules.h - the rules of durable steps, and what a handler's result
 * means: one copy for the host (host/steps.c and host/worker.c, in a
 * worker) and the SDK's test harness (sdk/fnhost_test.c), so a plugin's
 * unit tests see steps and runs behave exactly as fnhost runs them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases.
 * Plugins use fh_step() and fh_sleep().
 *
 * The rules: step ids ("name", then "name:1", "name:2", ... within one
 * handler call); a step with a stored outcome returns it without running;
 * a step's name is UTF-8; a new result must nest at most
 * STEPRULES_MAX_DEPTH levels, print as JSON that reads back (no NaN, no
 * Infinity, UTF-8 strings) and take at most STEPRULES_MAX_OUTPUT bytes,
 * as must a run's output; a
 * failed step is retried until its attempts run out or it says not to,
 * and its last error becomes its stored outcome; a sleep takes the
 * duration grammar (duration.h), at most a year, and fails for good
 * otherwise; once the run must stop (a retry, a sleep), every later step
 * call says so.
 *
 * Each side supplies the effects (struct steprules_ops): how a step's
 * function is called and how an outcome is kept. The host sends a
 * checkpoint to the master and waits until it is durable; the harness
 * writes it to its own memo. Both contexts start with the same core
 * (ctx.h), which holds the error a failed step leaves. */
#ifndef FNHOST_STEPRULES_H
#define FNHOST_STEPRULES_H

#include <stdint.h>

#include "fnhost.h"

/* At most one year, as `ms` counts it (365.25 days). */
#define STEPRULES_MAX_SLEEP_MS 31557600000LL
/* How deep a step result or a run's output may nest: what the store and
 * a replay can read back. */
#define STEPRULES_MAX_DEPTH 64
/* The most a run may keep in stored steps (results and errors, as JSON
 * text), as Inngest's 32 MB of run state: a resume carries all of it to a
 * worker in one message, which must fit PROTO_MAX_FRAME with the event.
 * The step that would cross it fails for good, and is not stored. */
#define STEPRULES_MAX_RUN_STATE (32ULL << 20)
/* The largest step result, and run output, as JSON text: Inngest's 4 MB
 * per step output. What a whole run keeps: STEPRULES_MAX_RUN_STATE. */
#define STEPRULES_MAX_OUTPUT (4 * 1024 * 1024)

/* How a step call ended, for the side to keep. */
struct step_outcome {
    const char *id; /* "name" or "name:n" */
    const char *name;
    const char *kind;           /* "run", "sleep", "send", "invoke",
                                   "fetch", "wait" or "parallel" */
    const char *status;         /* "completed", "failed", "sleeping",
                                   "invoking", "fetching", "waiting" or
                                   "parallel" */
    struct json_object *result; /* completed: the result (may be NULL);
                                   fetching: the request (fetch_req.h);
                                   parallel: the group's plan (below) */
    const char *result_text;    /* completed, fetching: RESULT as plain
                                   JSON text, checked to parse back */
    const char *error;          /* failed */
    int final;                  /* failed: no attempt is left; the error is
                                   the step's stored outcome */
    unsigned attempt;           /* 0-based */
    int64_t started_at, ended_at;
    int64_t wake_at;      /* sleeping; waiting: the timeout */
    const char *duration; /* a sleep as written, or NULL */
    const char *events;   /* completed "send": the events sent, as a JSON
                             array of checked and completed events, in
                             the order of RESULT's ids; "invoking": the
                             one event the invoked function gets */
    const char *target;   /* "invoking": the function it invokes */
    /* waiting: what for (lib/wait.h) */
    const char *wait_event, *wait_match, *wait_value, *wait_if;
    int64_t lookback_ms;
    int branch;           /* the target step of a branch's invocation:
                             its outcome (completed, or failed for good)
                             ends the invocation, and goes with its end */
};

/* A parallel group's plan, the result its "parallel" outcome carries
 * while the branches run: {"mode": "all" | "race", "branches": [{"id":
 * step id, "name": step name}, ...]}, 1 to FH_PARALLEL_MAX branches;
 * once they have ended the group's stored result is the plan with
 * "winner": the step id that ended first, in race mode. */

struct steprules_ops {
    /* Runs a step's function (the harness may run a mock instead). */
    int (*call)(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
                struct json_object **result);
    /* Step ID returned its stored outcome. May be NULL. */
    void (*replayed)(struct fh_ctx *ctx, const char *id);
    /* A step ended. Completed and final outcomes must be durable when
     * this returns; a failed attempt to retry and a sleep suspend the run
     * (read the context's retry-after delay here: the error is set, and
     * the delay cleared, next). */
    void (*record)(struct fh_ctx *ctx, const struct step_outcome *o);
    /* A sleep whose time had come: status "completed", nothing to keep
     * (a replay decides the same way). May be NULL. */
    void (*passed)(struct fh_ctx *ctx, const struct step_outcome *o);
    int64_t (*now_ms)(void);
    /* Writes a new event id (a ULID, EVENT_ID_LEN characters and a NUL)
     * for an event sent at NOW. */
    void (*new_id)(char *out, int64_t now);
    /* Checks a wait's `if` expression: 0, or -1 with the reason in ERR.
     * May be NULL (the SDK's harness does not evaluate expressions). */
    int (*check_expr)(const char *src, char *err, size_t errlen);
};

/* Whether a handler call may go on. */
enum steprules_state {
    STEPRULES_RUNNING,
    STEPRULES_RETRY, /* a step failed and will be retried */
    STEPRULES_SLEEP, /* a sleep has begun */
    STEPRULES_FETCH, /* a fetch has begun: the host makes the request */
    STEPRULES_WAIT,  /* a wait for an event has begun */
    STEPRULES_CANCELLED, /* the run was cancelled at a step boundary */
    STEPRULES_PARALLEL,  /* a parallel group has begun: its branches run */
    STEPRULES_BRANCH,    /* a branch's target step has its outcome (or
                            needs none): the branch's invocation ends */
    STEPRULES_STRAY,     /* a branch's invocation reached a step that is
                            not stored before its group: it fails */
};

/* One handler call's steps. */
struct steprules {
    const struct steprules_ops *ops;
    struct json_object *memo;  /* borrowed: id -> {"data": v} or
                                  {"error": "..."} */
    struct json_object *names; /* name -> times seen in this call */
    struct json_object *owned; /* results of steps run now (an array) */
    unsigned attempt;          /* of the unit running now */
    unsigned max_attempts;
    int64_t unit_started;           /* when the unit running now began */
    enum steprules_state suspended; /* whether the run must stop */
    uint64_t state_bytes;           /* stored by the run: the memo's
                                       results and errors (the caller sets
                                       it after steprules_init), and what
                                       this call stored since */
    int64_t retry_after_ms;         /* STEPRULES_RETRY: the step's delay */
    struct json_object *event;      /* borrowed: the run's triggering
                                       event, for a wait's match (the
                                       caller sets it after
                                       steprules_init) */
    const char *target;  /* borrowed: in a branch's invocation, the step
                            id of its target (the caller sets it after
                            steprules_init); NULL otherwise */
    int inline_parallel; /* run a parallel group's branches one after
                            the other in this call (the SDK's harness)
                            rather than suspending for the host to run
                            them */
    char *stray;         /* STEPRULES_STRAY: why (owned) */
    uint64_t share;      /* a branch's target: the most its result may
                            take (its share of what the run may keep);
                            0 otherwise */
};

/* Starts a handler call's steps: MEMO (borrowed) holds the stored
 * outcomes, ATTEMPT is the attempt of the unit running now (0-based) of
 * MAX_ATTEMPTS (0 counts as 1). */
void steprules_init(struct steprules *s, const struct steprules_ops *ops,
                    struct json_object *memo, unsigned attempt,
                    unsigned max_attempts);
void steprules_fini(struct steprules *s);

/* The run was cancelled: called by the side's record() once the step it
 * records is durable, it makes that step call return FH_SUSPENDED (its
 * outcome kept) and every later one too, so the handler stops at this
 * boundary. Nothing if the run must stop already (a sleep, a retry). */
void steprules_cancel(struct steprules *s);

/* fh_step(): S is NULL outside a handler. */
int steprules_run(struct steprules *s, struct fh_ctx *ctx, const char *name,
                  fh_step_fn fn, void *arg, struct json_object **result);

/* The most events one fh_send_event() sends: the event API's limit. */
#define STEPRULES_MAX_SEND 5000

/* fh_send_event(): EVENTS (stolen) is an event object or an array of
 * them, checked and completed as the event API does; the step's result is
 * {"ids": [...]}, and *IDS (may be NULL) gets its array, borrowed. A bad
 * event fails the step for good. S is NULL outside a handler. */
int steprules_send(struct steprules *s, struct fh_ctx *ctx, const char *name,
                   struct json_object *events, struct json_object **ids);

/* fh_invoke(): runs function REQ->function_id with REQ->data (stolen)
 * and suspends until it ends (the step's status "invoking", with a wake
 * time at REQ->timeout, at most a year; its result {"function_id",
 * "timeout"} until then); on replay its stored outcome is the invoked
 * run's output, or its error. S is NULL outside a handler. */
int steprules_invoke(struct steprules *s, struct fh_ctx *ctx,
                     const char *name, const struct fh_invoke *req,
                     struct json_object **result);

/* fh_fetch(): REQ (borrowed) is checked and becomes a "fetching"
 * outcome, which suspends the run while the host makes the request; the
 * response, once stored, is the step's result, and *RESPONSE (may be
 * NULL) gets it, borrowed. A bad request fails the step for good. S is
 * NULL outside a handler. */
int steprules_fetch(struct steprules *s, struct fh_ctx *ctx, const char *name,
                    const struct fh_fetch *req, struct json_object **response);

/* fh_sleep() and fh_sleep_until(): DURATION for the one, AT_MS for the
 * other (UNTIL set). S is NULL outside a handler. */
int steprules_sleep(struct steprules *s, struct fh_ctx *ctx, const char *name,
                    int until, const char *duration, int64_t at_ms);

/* fh_parallel(). In a run's invocation, the first call records the
 * group ("parallel", with its plan) and suspends; the replay once every
 * branch (race: the first) has ended returns their stored outcomes. In a
 * branch's invocation (S->target set) it runs the target's body alone,
 * if the target is one of its branches, and ends the invocation. S is
 * NULL outside a handler. */
int steprules_parallel(struct steprules *s, struct fh_ctx *ctx,
                       const char *name, const struct fh_parallel *req,
                       struct json_object **results, size_t *winner);

/* fh_wait_for_event(). S is NULL outside a handler. */
int steprules_wait(struct steprules *s, struct fh_ctx *ctx, const char *name,
                   const struct fh_wait *wait, struct json_object **event);

/* Why a run's OUTPUT (fh_set_output()) cannot be stored (new), or NULL
 * with its JSON text in *TEXT (borrowed from OUTPUT): the rules of a step
 * result, so that the store and the API can read it back. */
char *steprules_check_output(struct json_object *output, const char **text);

/* How a handler call ended. */
enum steprules_end {
    STEPRULES_END_COMPLETED,
    STEPRULES_END_SLEEP,  /* a sleep began: resume at its wake time */
    STEPRULES_END_FETCH,  /* a fetch began: resume with its response */
    STEPRULES_END_WAIT,   /* a wait began: resume on its event or its
                             timeout */
    STEPRULES_END_RETRY,  /* failed, with an attempt left */
    STEPRULES_END_FAILED, /* failed for good */
    STEPRULES_END_CANCELLED, /* stopped at a step boundary: cancelled */
    STEPRULES_END_PARALLEL,  /* a parallel group began: resume once its
                                branches have ended */
};

/* What a handler's result means. */
struct steprules_verdict {
    enum steprules_end end;
    const char *output;     /* COMPLETED: the output's JSON text, or
                               NULL without fh_set_output() (borrowed
                               from the context) */
    const char *error;      /* RETRY, FAILED: why; SLEEP: any error the
                               handler left (borrowed from the context,
                               or OWNED) */
    int no_retry;           /* FAILED: the handler said not to retry,
                               or its output cannot be stored */
    int64_t retry_after_ms; /* RETRY: the delay asked for, or 0 */
    int ignored_suspension; /* the handler returned something else
                               than FH_SUSPENDED after a step
                               suspended the run: it stops anyway */
    char *owned;            /* what ERROR points to when made here */
};

/* Decides what handler call CTX, whose steps are S, means now that its
 * handler returned RC: the suspension a step began (a sleep, a step's
 * retry) whatever RC says; else RC, the context's output, error, no-retry
 * flag and retry-after delay, and the attempts left. Free V with
 * steprules_verdict_free() once its strings are used. */
void steprules_decide(struct steprules *s, struct fh_ctx *ctx, int rc,
                      struct steprules_verdict *v);
void steprules_verdict_free(struct steprules_verdict *v);

#endif
