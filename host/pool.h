/* pool.h - the worker processes: start, feed, time out, replace.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_POOL_H
#define FNHOST_POOL_H

#include <stdint.h>

struct event_base;
struct generation;
struct json_object;
struct pool;
struct job;

/* How an invocation ended. */
struct pool_result {
    int ok;
    const char *output;   /* JSON text when ok */
    const char *error;    /* why it failed */
    int no_retry;
    int64_t retry_after_ms;
};

struct pool_callbacks {
    /* An invocation ended (also when its worker died or timed out). */
    void (*result)(void *arg, struct job *job, const struct pool_result *r);
    /* A worker became idle. */
    void (*idle)(void *arg);
    void *arg;
};

/* A pool of N workers, started once a generation is set. PLUGIN_CONFIG
 * (borrowed for the pool's life) is sent to each worker. */
struct pool *pool_new(struct event_base *base, int n,
                      struct json_object *plugin_config,
                      const struct pool_callbacks *cb);

/* Starts workers on generation G (borrowed until replaced). */
void pool_set_generation(struct pool *p, const struct generation *g);

/* Sends JOB to an idle worker with a time limit. Returns 0, or -1 if no
 * worker is idle. */
int pool_dispatch(struct pool *p, struct job *job, const char *event_id,
                  const char *event_json, unsigned max_attempts,
                  int64_t timeout_ms);

int pool_idle(const struct pool *p);
int pool_busy(const struct pool *p);

/* Stops every worker: idle ones at once, busy ones after their current
 * invocation. DONE runs once all are gone. */
void pool_stop(struct pool *p, void (*done)(void *arg), void *arg);

/* Kills what is left (SIGKILL) and frees the pool. */
void pool_free(struct pool *p);

#endif
