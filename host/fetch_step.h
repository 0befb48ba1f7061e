/* fetch_step.h - fetch steps (fh_fetch()): the master makes a run's HTTP
 * request, durably, and stores the response as the step's result.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A worker suspends its run with the request (the run is 'fetching' and
 * holds no worker); the scheduler hands the request here once it is
 * durable. Each attempt's end is recorded; a response (any status but 5xx
 * and 429), or the last failed attempt, becomes the step's outcome in the
 * transaction that makes the run due again, and the run replays with it.
 * After a restart every pending fetch is made again (at least once). */
#ifndef FNHOST_FETCH_STEP_H
#define FNHOST_FETCH_STEP_H

#include <stddef.h>
#include <stdint.h>

#include "step_record.h"

struct config;
struct event_base;
struct generation;
struct json_object;
struct sched;
struct store;
struct fetch_steps;

/* Fetch steps on BASE. GEN points at the current generation (borrowed,
 * read at each attempt: a function's retries, backoff and timeout); CFG
 * gives them for a function no generation declares now. NULL with why in
 * ERR when libcurl cannot start. */
struct fetch_steps *fetch_steps_new(struct event_base *base, struct store *st,
                                    struct sched *s,
                                    const struct generation *const *gen,
                                    const struct config *cfg, char *err,
                                    size_t errlen);
/* Makes every pending fetch of the store (after a restart), each when its
 * next attempt is due. 0, or -1 when they cannot be read (logged). */
int fetch_steps_resume(struct fetch_steps *fs);
/* Abandons the requests in flight and makes no new ones: they stay
 * pending in the store, for the next start. Before store_close(). */
void fetch_steps_stop(struct fetch_steps *fs);
/* After store_close(): its last callbacks may still come here. */
void fetch_steps_free(struct fetch_steps *fs);

/* The scheduler's struct sched_fetcher: makes the fetch of STEP (whose
 * result is the request) of run RUN_ID, now durable. */
void fetch_steps_start(void *impl, const char *run_id,
                       const char *function_id,
                       const struct step_record *step);

/* What an attempt's end means. */
enum fetch_verdict {
    FETCH_RESPONSE, /* the response is the step's result */
    FETCH_RETRY,    /* retried while attempts are left */
    FETCH_FATAL,    /* fails for good now */
};

/* Decides an attempt that ended with ERROR (no response; NULL if there
 * was one), TOO_BIG (its body passed the cap) or STATUS: transport errors,
 * 5xx and 429 are retried, a body over the cap is fatal, and any other
 * status is a response, as Inngest's step.fetch. */
enum fetch_verdict fetch_step_verdict(const char *error, int too_big,
                                      long status);

/* The step result of a response (new JSON text): {"status", "headers",
 * "body"}, with "encoding": "base64" when the body is not UTF-8 text or
 * holds a NUL. HEADERS is borrowed (NULL: none). */
char *fetch_step_response(long status, struct json_object *headers,
                          const char *body, size_t len);

#endif
