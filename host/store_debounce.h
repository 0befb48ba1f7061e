/* store_debounce.h - debounce and batches in the store: a pending run per
 * function and key, which each event of the key pushes back and takes as
 * its event (debounce), or joins (a batch).
 * SPDX-License-Identifier: Apache-2.0
 *
 * A debounced run is a queued run whose wake time is
 * STORE_DEBOUNCE_PARKED (no scan loads it) and a row of the debounces
 * table: the key, the last event, when
 * the run is due and the latest it may be (the timeout). An event of the
 * key updates the row and the run's event in the event's transaction;
 * when the row is due, the writer gives the run its wake time and drops
 * the row, in one transaction (store_expire_waits()). Both are writes,
 * so an event either pushes the run before it is due or finds no row and
 * starts a run of its own. The writer functions run inside the caller's
 * transaction on the writer's connection. */
#ifndef FNHOST_STORE_DEBOUNCE_H
#define FNHOST_STORE_DEBOUNCE_H

#include <stdint.h>

#include "store_int.h"

struct json_object;
struct store_debounce;

/* The wake time of a pending debounced run: 9999-12-31T23:59:59.999Z,
 * later than any due time (runs.wake_at cannot be NULL). */
#define STORE_DEBOUNCE_PARKED 253402300799999LL
#define STORE_DEBOUNCE_PARKED_SQL "253402300799999"

/* The writer's statements for debounces on DB, or NULL with the reason. */
struct store_debounce *store_debounce_new(sqlite3 *db, char *err,
                                          size_t errlen);
void store_debounce_free(struct store_debounce *d);

/* New run R of event E (R->debounce_key set) joins its key's pending run,
 * if there is one: the run takes E as its event and is due
 * R->debounce_ms from NOW (no later than its timeout allows), the event
 * it had is stored as skipped for the function. Returns 1 then (R is not
 * to be created; R->debounce_run says which run), 0 when the key has no
 * pending run, -1 on an error. A key's pending batch (the function's
 * option changed) starts now instead, counted in E->resumed, and 0. */
int store_debounce_event(struct store_debounce *d,
                         struct store_new_event *e,
                         struct store_new_run *r, int64_t now);

/* R, just inserted for event E, becomes its key's pending run, due
 * R->debounce_ms from NOW (R->debounce_due, out): 0 or -1. */
int store_debounce_park(struct store_debounce *d,
                        const struct store_new_event *e,
                        struct store_new_run *r, int64_t now);

/* Makes up to LIMIT pending runs due at NOW whose time came: how many, or
 * -1 on an error. */
int store_debounce_fire(struct store_debounce *d, int64_t now, int limit);

/* When the next pending run is due (read connection), or 0 for none. */
int64_t store_debounce_next(struct store *st, int64_t now);

/* RUN_ID's debounce, if it is pending, as new JSON {"key", "until"}, with
 * "size" (its events so far) for a batch; else NULL. */
struct json_object *store_debounce_of_run(struct store *st,
                                          const char *run_id);

/* A batch is the same pending run, parked the same way, whose row also
 * counts its events, which are the run's run_events. A full batch, or
 * one whose timeout came (store_debounce_fire()), starts; its row goes.
 * Both are writes, so an event either joins a pending batch or finds
 * none and begins one: no event is in two batches or none. */

/* New run R of event E (R->batch_key set) joins its key's pending batch,
 * if there is one: E becomes the batch's next event; when that makes it
 * R->batch_max, the run is due at NOW (R->debounce_due, out: when the
 * batch is due). Returns 1 then (R is not to be created; R->debounce_run
 * says which run), 0 when the key has no pending batch, -1 on an error.
 * A key's debounced run starts now instead, as store_debounce_event()
 * does a batch. */
int store_batch_event(struct store_debounce *d,
                      struct store_new_event *e,
                      struct store_new_run *r, int64_t now);

/* R, just inserted for event E, begins its key's batch with E, due
 * R->batch_timeout_ms from NOW (R->debounce_due, out); a batch of one is
 * due at once: 0 or -1. */
int store_batch_park(struct store_debounce *d,
                     const struct store_new_event *e,
                     struct store_new_run *r, int64_t now);

/* RUN_ID's events, in order, into *OUT as a new JSON array text of
 * {"internal_id", "event": stored event}, or NULL for a run that is no
 * batch's (its event is its own): 0, or -1 on an error (logged). Read
 * connection. */
int store_batch_events(struct store *st, const char *run_id, char **out);

#endif
