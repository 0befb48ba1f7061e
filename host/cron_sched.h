/* cron_sched.h - cron triggers: each function's schedules, ticking on
 * the loop, each tick a run through the pipeline.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each schedule of a loaded function of the current generation has a
 * timer. A tick submits an inngest/scheduled.timer event for that
 * function alone (pipeline_cron()), which the store keeps only with the
 * tick's claim on the schedule's last tick (store.h: cron_ticks), so a
 * tick runs once, across kill -9. When a generation becomes current the
 * store keeps the schedules it declares and drops the others, and each
 * schedule starts from its last tick: one that was missed (the host was
 * down, or the plugin refused) fires once, now, however many were. */
#ifndef FNHOST_CRON_SCHED_H
#define FNHOST_CRON_SCHED_H

#include <stdint.h>

struct event_base;
struct fn_info;
struct generation;
struct json_object;
struct pipeline;
struct store;

struct cron_sched;

struct cron_sched *cron_sched_new(struct event_base *base, struct store *st,
                                  struct pipeline *p);

/* G became current (borrowed; a reference is taken): its schedules
 * replace the last generation's. */
void cron_sched_set(struct cron_sched *cs, struct generation *g);

/* No more ticks (the server stops); the store is left as it is. */
void cron_sched_stop(struct cron_sched *cs);

/* After store_close(): its last callbacks may still come here. */
void cron_sched_free(struct cron_sched *cs);

/* The time cron schedules see, in seconds since the epoch: the wall
 * clock, moved by FNHOST_TEST_CRON_OFFSET seconds (for tests only: it
 * lets a test be at 02:59:58 or three days later). */
int64_t cron_clock_now(void);

/* F's schedules for GET /v1/functions (new): [{"cron", "next"}], next
 * the next tick (RFC 3339 UTC, on cron_clock_now()'s clock), or null. */
struct json_object *cron_sched_json(const struct fn_info *f);

#endif
