/* sched.h - runs that are due: the ready queue, dispatch, retries, wakes.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Runs live in the store; the scheduler holds in memory only those it is
 * about to run or is running (bounded), and finds the rest by asking the
 * store for what is due, so a sleeping or retrying run costs no memory and
 * no timer of its own. */
#ifndef FNHOST_SCHED_H
#define FNHOST_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "executor.h"
#include "metrics.h"
#include "step_record.h"
#include "store.h"

struct config;
struct event_base;
struct generation;
struct sched;
struct store;
struct conc_slot;

/* A reference-counted string, shared by the runs of one event. */
struct shared_str {
    int refs;
    size_t len;
    char s[];
};

struct shared_str *shared_str_new(const char *s, size_t len);
void shared_str_unref(struct shared_str *s);

/* Where a job the scheduler holds is. */
enum job_where {
    JOB_QUEUED,    /* in the ready queue */
    JOB_RUNNING,   /* on a worker */
    JOB_FINISHING, /* its outcome is being written */
    JOB_PARKED,    /* out of the queue, its cancel being written */
    JOB_CONC_WAIT, /* out of the queue, its move into the queue of its
                      full concurrency key being written */
};

/* A run the scheduler holds: queued in memory or running on a worker. */
struct job {
    char run_id[27];
    char event_id[27];
    char *function_id;
    struct shared_str *event;
    unsigned attempt;   /* of the unit (step or handler code) to run */
    int64_t started_at; /* when that unit started */
    int fresh;          /* just ingested: it has no stored steps */
    int checkpointed;   /* a step was stored in this invocation */
    unsigned max_attempts; /* its function's, when it was dispatched */
    int checkpoint_ahead;  /* its function's: steps run on before their
                              checkpoints commit */
    double backoff_scale;
    uint64_t state_bytes; /* what its stored steps hold, as
                             step_memo_bytes() counts it */
    enum job_where where;
    int step_lost;        /* a checkpoint of its attempt was not stored:
                             the attempt failed, whatever it said */
    int unborn;           /* started before its event committed, and that
                             commit failed: it ends with nothing written
                             (sched_abandon()) */
    int cancel;           /* a cancel was asked for while it ran: it stops
                             at its next step boundary (the executor's
                             ack says so) */
    char group_run[27];   /* a parallel branch: the run its group is in,
                             whose steps it replays and writes; "" for
                             other runs */
    char *target;         /* a parallel branch: the step it runs */
    char *conc_keys[2];   /* its concurrency keys (conc.h), or NULL */
    char *events;         /* while it is dispatched: a batch's events, a
                             JSON array text (store_batch_events()); NULL:
                             its one event */
    struct conc_slot *held[2]; /* the slots it holds while it runs */
    struct conc_slot *taken;   /* the key whose queue it was taken from,
                                  until it is dispatched */
    int64_t score;     /* its place in the ready queue: when it was due
                          (for a new run, less its priority: store.c's
                          run_wake()); earlier goes first */
    int pinned;        /* put at the head out of that order (it was
                          first in line already) */
    struct job *next;  /* in the ready queue */
    struct job *hnext; /* in the claimed set */
};

/* A scheduler that runs its jobs on EX (the pool, or a test's fake),
 * which must outlive it; it binds EX's callbacks to itself. */
struct sched *sched_new(struct event_base *base, struct store *st,
                        const struct config *cfg, struct executor ex);
void sched_free(struct sched *s);

/* Makes G the generation that new invocations run on (taking a reference
 * and handing G on to the executor); runs of functions it declares again
 * (or anew) are looked for in the store. */
void sched_set_generation(struct sched *s, struct generation *g);

/* What stores the writes that make events: a step that sends them
 * (pipeline_submit_step()), and every attempt's end, with a run's
 * lifecycle events or the run an invoke starts (pipeline_finish()). The
 * pipeline, which routes them. */
struct sched_sender {
    int (*submit)(void *impl, const char *run_id,
                  const struct step_record *step, int update_run,
                  store_done_fn done, void *arg, char *err, size_t errlen);
    /* Records how an attempt ended, with the run's lifecycle events:
     * see pipeline_finish(). */
    void (*finish)(void *impl, struct store_attempt *at,
                   const char *function_id, const char *trigger_json,
                   store_done_fn done, void *arg);
    void *impl;
};

/* Sets who stores send steps and runs' ends. Without one, a worker that
 * sends events is stopped, and its attempt fails; runs emit no lifecycle
 * events. */
void sched_set_sender(struct sched *s, struct sched_sender sender);

/* How a run ended, for whoever watches it. Borrowed during the call. */
struct sched_end {
    const char *run_id;
    const char *status; /* "completed", "failed" or "cancelled" */
    const char *output; /* completed: the output's JSON text */
    const char *error;  /* failed, cancelled: why */
};

typedef void (*sched_watch_fn)(void *arg, const struct sched_end *end);
struct sched_watch;

/* Calls FN(ARG, end) once run RUN_ID has ended and its end is committed,
 * and forgets the watch. Returns the watch, for sched_unwatch(). A run
 * may have any number of watches; the cost of a run's end without any is
 * one comparison. */
struct sched_watch *sched_watch(struct sched *s, const char *run_id,
                                sched_watch_fn fn, void *arg);

/* Forgets W, whose function has not been called. */
void sched_unwatch(struct sched *s, struct sched_watch *w);

/* Who makes the fetch steps of runs (host/fetch_step.c): START runs once
 * a run's fetch request is durable (the run is 'fetching'); STEP's
 * result is the request, and everything is borrowed for the call. */
struct sched_fetcher {
    void (*start)(void *impl, const char *run_id, const char *function_id,
                  const struct step_record *step);
    void *impl;
};

/* Sets who makes fetch steps. Without one, a fetching run waits for a
 * restart (which makes its pending fetch: store_pending_fetches()). */
void sched_set_fetcher(struct sched *s, struct sched_fetcher fetcher);

/* Runs have become due in the store (a fetch's response was stored, an
 * event ended their waits): look for them soon. */
void sched_poke(struct sched *s);

/* Something in the store is due at AT (a debounced run): look then. */
void sched_wake_at(struct sched *s, int64_t at);

/* Finds due runs in the store (after a restart) and starts dispatching. */
void sched_start(struct sched *s);

/* Hands over a run that was just committed as queued, due at WAKE_AT,
 * with the concurrency keys it was stored with (CONC_KEYS[0..1], NULL:
 * none). */
void sched_submit(struct sched *s, const char *run_id,
                  const char *function_id, const char *event_id,
                  struct shared_str *event, int64_t wake_at,
                  const char *const *conc_keys);

/* Takes RUN_ID, a new run of FUNCTION_ID whose event (EVENT_ID, EVENT)
 * is about to be stored, before that commit: 1 when it is in line now,
 * 0 when it is not (shutting down, a full queue), and sched_submit()
 * must have it after the commit as usual. It may run, and its writes
 * reach the store, before the commit: they queue behind it. The caller
 * must queue the event's write before the loop runs again, and call
 * sched_abandon() if that write fails. */
int sched_submit_early(struct sched *s, const char *run_id,
                       const char *function_id, const char *event_id,
                       struct shared_str *event);

/* Whether RUN_ID is the scheduler's now: in line, running, or its end
 * being written. */
int sched_claimed(const struct sched *s, const char *run_id);

/* The commit that was to create RUN_ID, taken by sched_submit_early(),
 * failed: the run does not exist, and the store fails its writes. It
 * stops at once if it waits in line, else when its attempt ends, with
 * nothing recorded. */
void sched_abandon(struct sched *s, const char *run_id);

/* How a cancel of several runs went: RC 0 (V[i].done says which were
 * cancelled) or -1 with ERR when it could not be stored. */
typedef void (*sched_cancelled_fn)(void *arg, int rc, const char *err,
                                   const struct store_cancel *v, size_t n);

/* Cancels the runs V[0..N-1] (their run_id set; V is copied) with REASON,
 * durably: a run that waits (queued, retrying, sleeping) is cancelled at
 * once and never dispatched again; one on a worker at its next step
 * boundary (the step it runs is recorded, the next one never starts).
 * DONE runs once that is committed; a run that has ended is left as it
 * is (done = 0). */
void sched_cancel(struct sched *s, const struct store_cancel *v, size_t n,
                  const char *reason, sched_cancelled_fn done, void *arg);

/* Stops dispatching and stops the workers; DONE runs when they are gone. */
void sched_stop(struct sched *s, void (*done)(void *arg), void *arg);

/* For /health and /metrics. */
int sched_queued(const struct sched *s);
int sched_running(const struct sched *s);

/* What the scheduler measures, for /metrics (the loop's thread). */
enum { SCHED_COMPLETED, SCHED_FAILED, SCHED_RETRIED, SCHED_NOUTCOMES };
struct sched_metrics {
    struct histogram run_seconds;  /* a run's creation to its end */
    struct histogram step_seconds; /* a checkpointed step's own time */
    struct histogram queue_wait;   /* a run due to its dispatch */
    struct counter_set outcomes;   /* per function: SCHED_COMPLETED... */
};
const struct sched_metrics *sched_metrics(const struct sched *s);

/* How many runs of concurrency key KEY (conc.h's full name) are on a
 * worker now; and how many keys the scheduler counts. For tests. */
int sched_conc_running(const struct sched *s, const char *key);
size_t sched_conc_keys(const struct sched *s);

/* The retry delay after failed attempt A (0-based), before jitter and
 * scale: 15 s, 30 s, 1 m, 2 m, 5 m, 10 m, 20 m, 40 m, 1 h, then 2 h. */
int64_t sched_backoff_ms(unsigned a);

/* The delay before the retry of failed attempt ATTEMPT (0-based): the
 * function's RETRY_AFTER_MS as given, up to 24 h, when it set one (the
 * service said when; SCALE does not apply); else sched_backoff_ms(ATTEMPT)
 * plus DRAW % 30001 ms of jitter, times SCALE. DRAW is a uniform random
 * number (the scheduler takes it from getrandom), so a test can pick it. */
int64_t sched_retry_delay_ms(double scale, unsigned attempt,
                             int64_t retry_after_ms, uint32_t draw);

#endif
