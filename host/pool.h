/* pool.h - the worker processes: start, feed, time out, replace.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_POOL_H
#define FNHOST_POOL_H

#include <stdint.h>

#include "store.h"

struct event_base;
struct generation;
struct json_object;
struct pool;
struct job;

enum pool_suspend { SUSPEND_NONE, SUSPEND_SLEEP, SUSPEND_RETRY };

/* How an invocation ended. Strings are borrowed for the callback. */
struct pool_result {
    int ok;
    const char *output;   /* JSON text when ok */
    const char *error;    /* why it failed */
    int no_retry;
    int64_t retry_after_ms;
    unsigned attempt;     /* of the unit (step or handler code) it ended in */
    int64_t unit_started_at;
    enum pool_suspend suspend;
    struct store_step step; /* the sleep, or the step to retry */
};

struct pool_callbacks {
    /* An invocation ended (also when its worker died or timed out). */
    void (*result)(void *arg, struct job *job, const struct pool_result *r);
    /* A worker became idle. */
    void (*idle)(void *arg);
    /* A step checkpoint: store it, then pool_ack() the job. */
    void (*step)(void *arg, struct job *job, const struct store_step *step);
    /* The last worker of a generation other than the current one is gone:
     * the generation may be freed. */
    void (*released)(void *arg, struct generation *g);
    void *arg;
};

/* A pool of N workers, started once a generation is set. PLUGIN_CONFIG
 * (borrowed for the pool's life) is sent to each worker. */
struct pool *pool_new(struct event_base *base, int n,
                      struct json_object *plugin_config,
                      const struct pool_callbacks *cb);

/* Starts workers on generation G (borrowed until released). Workers of an
 * earlier generation finish the invocation they hold and exit; when the
 * last is gone, the released callback hands that generation back. */
void pool_set_generation(struct pool *p, struct generation *g);

/* Sends JOB to an idle worker with its stored steps (STEPS, borrowed; NULL
 * for none) and a time limit per step. Returns 0, or -1 if no worker is
 * idle. */
int pool_dispatch(struct pool *p, struct job *job, const char *event_id,
                  const char *event_json, struct json_object *steps,
                  unsigned max_attempts, int64_t timeout_ms);

/* Tells the worker running JOB that its checkpoint is durable. A job whose
 * worker died meanwhile is ignored. */
void pool_ack(struct pool *p, struct job *job);

/* Kills the worker running JOB; its attempt fails with WHY. */
void pool_kill(struct pool *p, struct job *job, const char *why);

int pool_idle(const struct pool *p);
int pool_busy(const struct pool *p);

/* Stops every worker: idle ones at once, busy ones after their current
 * invocation. DONE runs once all are gone. */
void pool_stop(struct pool *p, void (*done)(void *arg), void *arg);

/* Kills what is left (SIGKILL) and frees the pool. */
void pool_free(struct pool *p);

#endif
