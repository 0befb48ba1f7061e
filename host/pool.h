/* pool.h - the worker processes: start, feed, time out, replace.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_POOL_H
#define FNHOST_POOL_H

#include <stdint.h>

#include "executor.h"

struct event_base;
struct generation;
struct json_object;
struct pool;
struct job;

/* A pool of N workers, started once a generation is set. PLUGIN_CONFIG
 * (borrowed for the pool's life) is sent to each worker. Results go to
 * the callbacks that pool_executor()'s bind sets. */
struct pool *pool_new(struct event_base *base, int n,
                      struct json_object *plugin_config);

/* The pool as the scheduler's executor (see executor.h). */
struct executor pool_executor(struct pool *p);

/* Starts workers on generation G (each holds a reference). Workers of an
 * earlier generation finish the invocation they hold and exit, dropping
 * theirs: the last one gone frees that generation. */
void pool_set_generation(struct pool *p, struct generation *g);

/* Sends JOB to an idle worker with its stored steps (STEPS, borrowed; NULL
 * for none) and a time limit per step. Returns 0, or -1 if no worker is
 * idle. */
int pool_dispatch(struct pool *p, struct job *job, const char *event_id,
                  const char *event_json, const struct step_memo *steps,
                  unsigned max_attempts, int64_t timeout_ms);

/* Tells the worker running JOB that its checkpoint is durable. A job whose
 * worker died meanwhile is ignored. */
void pool_ack(struct pool *p, struct job *job);

/* Kills the worker running JOB; its attempt fails with WHY. */
void pool_kill(struct pool *p, struct job *job, const char *why);

int pool_idle(const struct pool *p);
int pool_busy(const struct pool *p);
/* Workers that ended before they were ready (a plugin's load() failed,
 * crashed or hung), since the pool began. */
uint64_t pool_start_failures(const struct pool *p);

/* Workers running an invocation now, and workers ready for one. */
void pool_workers(const struct pool *p, int *busy, int *idle);

/* Stops every worker: idle ones at once, busy ones after their current
 * invocation. DONE runs once all are gone. */
void pool_stop(struct pool *p, void (*done)(void *arg), void *arg);

/* Kills what is left (SIGKILL) and frees the pool. */
void pool_free(struct pool *p);

#endif
