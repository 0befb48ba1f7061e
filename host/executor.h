/* executor.h - the narrow interface between the scheduler and what runs
 * invocations: the worker pool in the daemon, a fake in the unit tests.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The scheduler decides what runs, when, and what an outcome means
 * (retries, backoff, sleeps, failure); an executor only runs what it is
 * given and says how it ended. Keeping the boundary this small is what
 * lets tests/unit/test_sched.c drive the scheduler without processes. */
#ifndef FNHOST_EXECUTOR_H
#define FNHOST_EXECUTOR_H

#include <stdint.h>

#include "step_record.h"

struct generation;
struct job;
struct proto_log;

enum pool_suspend { SUSPEND_NONE, SUSPEND_SLEEP, SUSPEND_RETRY, SUSPEND_FETCH,
                    SUSPEND_WAIT, SUSPEND_PARALLEL, SUSPEND_BRANCH };

/* How an invocation ended. Strings are borrowed for the callback. */
struct pool_result {
    int ok;
    const char *output;   /* JSON text when ok */
    const char *error;    /* why it failed */
    int no_retry;
    int cancelled;        /* it stopped at a step boundary because its
                             job's cancel was set (the ack said so) */
    int64_t retry_after_ms;
    unsigned attempt;     /* of the unit (step or handler code) it ended in */
    int64_t unit_started_at;
    enum pool_suspend suspend;
    struct step_record step; /* the sleep, the fetch (its request as its
                                result), the wait, the parallel group (its
                                plan as its result), a branch's step, or
                                the step to retry */
};

/* What an executor reports back, on the loop's thread. */
struct pool_callbacks {
    /* An invocation ended (also when its worker died or timed out). */
    void (*result)(void *arg, struct job *job, const struct pool_result *r);
    /* A worker became idle. */
    void (*idle)(void *arg);
    /* A step checkpoint: store it, then ack the job. */
    void (*step)(void *arg, struct job *job, const struct step_record *step);
    /* A line the run's plugin logged: store it with the run. */
    void (*log)(void *arg, struct job *job, const struct proto_log *line);
    void *arg;
};

struct executor_ops {
    /* Where results go from now on (the scheduler calls it once). */
    void (*bind)(void *impl, const struct pool_callbacks *cb);
    /* New invocations run on G; the executor takes its own references. */
    void (*set_generation)(void *impl, struct generation *g);
    /* Starts JOB with its stored STEPS (borrowed; NULL for none) and a
     * time limit per step. 0, or -1 when it cannot (nothing idle, a
     * worker that just went away): the job is then still the caller's. */
    int (*dispatch)(void *impl, struct job *job,
                    const struct step_memo *steps, unsigned max_attempts,
                    int64_t timeout_ms);
    /* JOB's checkpoint is durable: let it go on, or, if job->cancel is
     * set, tell it to stop there (it ends with result.cancelled). */
    void (*ack)(void *impl, struct job *job);
    /* Ends JOB's invocation; it is reported failed with WHY. */
    void (*kill)(void *impl, struct job *job, const char *why);
    /* How many jobs dispatch could take now. */
    int (*idle)(void *impl);
    /* Runs nothing new; DONE runs once what is running has ended. */
    void (*stop)(void *impl, void (*done)(void *arg), void *arg);
};

struct executor {
    const struct executor_ops *ops;
    void *impl;
};

#endif
