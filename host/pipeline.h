/* pipeline.h - every event's way in: ids, routing, the store, the
 * scheduler.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each source of events (the event API and webhooks; later steps that
 * send events, invokes, cron and replays) hands its events to
 * pipeline_submit(). It gives each event an id, routes it to the
 * functions of the current generation, stores the events and their runs
 * in one transaction, hands the new runs to the scheduler once that has
 * committed, and only then reports back: a source that acknowledges from
 * its callback never acknowledges anything that could be lost. */
#ifndef FNHOST_PIPELINE_H
#define FNHOST_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "step_record.h"
#include "store.h"

struct generation;
struct json_object;
struct pipeline;
struct sched;
struct store;

/* What a source says about its events. */
struct pipeline_source {
    const char *seed;        /* x-inngest-event-id-seed, or NULL: the
                                ids are derived from it (borrowed during
                                the call) */
    int64_t dedup_window_ms; /* an event "id" seen this recently starts
                                no new run */
    int64_t now;             /* when the events arrived, ms */
};

/* How a submission ended: RC 0 when the events and their runs committed
 * (IDS then holds the NIDS event ids, in the order given; borrowed until
 * the callback returns), or -1 when nothing was stored, with the reason
 * in ERROR. */
struct pipeline_result {
    int rc;
    const char *error;
    const char *const *ids;
    size_t nids;
    const char *run_id; /* pipeline_invoke(): the run it started */
};

typedef void (*pipeline_done_fn)(void *arg, const struct pipeline_result *r);

/* GEN points at the current generation (borrowed, read at each submit).
 * Events that steps send are deduplicated by their "id" over
 * STEP_WINDOW_MS, the event API's default window. */
struct pipeline *pipeline_new(struct store *st, struct sched *s,
                              const struct generation *const *gen,
                              int64_t step_window_ms);
/* After store_close(): the store's last callbacks finish submissions. */
void pipeline_free(struct pipeline *p);

/* Submits EVENTS (a json-c array of events that ingest_events() has
 * checked and normalized; stolen). DONE(ARG, result) runs once, on the
 * loop, after the commit or its failure; never before this returns. */
void pipeline_submit(struct pipeline *p, struct json_object *events,
                     const struct pipeline_source *src, pipeline_done_fn done,
                     void *arg);

/* pipeline_submit() of the events ingest_scan() read into BATCH (its
 * contents stolen; BATCH is left empty): no tree is made of an event
 * unless a function it triggers has an `if` or an idempotency key. */
struct ingest_batch;
void pipeline_submit_batch(struct pipeline *p, struct ingest_batch *batch,
                           const struct pipeline_source *src,
                           pipeline_done_fn done, void *arg);

/* Stores send step STEP of run RUN_ID (a completed "send" record: its
 * events and {"ids": [...]}) with its events and the runs they start, in
 * one transaction, as store_put_step_events() does; the runs go to the
 * scheduler after the commit, then DONE(ARG, rc, err) runs. Returns 0, or
 * -1 when the events or ids are not what the event API would take from a
 * client (nothing is stored; DONE is not called), with why in ERR. IMPL
 * is the pipeline: this is the scheduler's struct sched_sender. */
int pipeline_submit_step(void *impl, const char *run_id,
                         const struct step_record *step, int update_run,
                         store_done_fn done, void *arg, char *err,
                         size_t errlen);

/* Records how run attempt AT of FUNCTION_ID ended, as
 * store_finish_attempt() does, and when the run completed or failed,
 * stores in the same transaction its lifecycle events, as Inngest emits
 * them (inngest/function.finished, and inngest/function.failed with the
 * run id as its "id"; data: function_id, run_id, event, events, and
 * result or error), if any function is triggered by them; their runs go
 * to the scheduler after the commit, then DONE(ARG, rc, err) runs.
 * TRIGGER_JSON is the run's event (NULL if unknown): runs of lifecycle
 * events emit none. A run that suspends on an invoke (AT's step has a
 * target) stores the run it invokes with its suspension; with no such
 * function, the step fails instead and AT's wake time becomes now (the
 * run resumes at once, to see the failure). IMPL is the pipeline. */
void pipeline_finish(void *impl, struct store_attempt *at,
                     const char *function_id, const char *trigger_json,
                     store_done_fn done, void *arg);

/* Starts a run of FUNCTION_ID, whatever triggers it declares, with an
 * inngest/function.invoked event whose data is DATA (stolen; NULL: {}),
 * as Inngest's invoke does. DONE(ARG, result) runs after the commit, with
 * the run's id in run_id. Returns 0, or -1 with ERR ("no function \"x\"")
 * when the current generation has no such function, loaded or not. */
int pipeline_invoke(struct pipeline *p, const char *function_id,
                    struct json_object *data, int64_t now,
                    pipeline_done_fn done, void *arg, char *err,
                    size_t errlen);

/* Starts a run of FUNCTION_ID (only) for a tick of its schedule CRON,
 * with an inngest/scheduled.timer event whose data is {"cron": CRON}, as
 * Inngest's: stored only if TICK is later than the last tick the store
 * has for the schedule, which it becomes in the same transaction (else
 * nothing is stored: a tick runs once). DONE(ARG, result) runs after the
 * commit; result->run_id is NULL when the tick had fired already.
 * Returns 0, or -1 when the current generation has no such function. */
int pipeline_cron(struct pipeline *p, const char *function_id,
                  const char *cron, int64_t tick, int64_t now,
                  pipeline_done_fn done, void *arg);

/* Submissions waiting for their commit: the server drains them before it
 * exits, so that no committed event misses its acknowledgement. */
int pipeline_pending(const struct pipeline *p);

/* Counters for /metrics. */
struct pipeline_stats {
    uint64_t events_stored;   /* resends included */
    uint64_t events_unrouted; /* stored events that triggered no function */
};

void pipeline_stats(const struct pipeline *p, struct pipeline_stats *out);

#endif
