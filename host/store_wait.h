/* store_wait.h - waits for events in the store: the writer's side, for
 * store.c, and the reads about them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A wait is a row of the pauses table (kind 'wait'), its step a row of
 * steps with status 'waiting', and its run has status 'waiting' and no
 * worker. The writer functions run inside the caller's transaction on
 * the writer's connection. */
#ifndef FNHOST_STORE_WAIT_H
#define FNHOST_STORE_WAIT_H

#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

struct store_waits;

/* The writer's statements for waits, for tests/unit/test_waits.c, which
 * checks that none scans a table. */
extern const char *const store_waits_sql[];
extern const int store_waits_nsql;

/* The writer's statements for waits on DB, or NULL with the reason. */
struct store_waits *store_waits_new(sqlite3 *db, char *err, size_t errlen);
void store_waits_free(struct store_waits *w);

/* Forgets the compiled expressions; after a rollback, whose rows they may
 * have come from. */
void store_waits_forget(struct store_waits *w);

/* Records the wait STEP (kind "wait", status "waiting") of RUN_ID, whose
 * step row and run status the caller writes, then looks back: the newest
 * event it matches among those received since STEP->started_at -
 * STEP->lookback_ms, other than the run's trigger, ends it at once
 * (*RESOLVED = 1). 0, or -1 on a store error. */
int store_waits_begin(struct store_waits *w, const char *run_id,
                      const struct step_record *step, int64_t now,
                      int *resolved);

/* Ends every wait the event E (E->name, its stored JSON text E->json)
 * matches, found by name and by (name, path, value): the event becomes
 * each wait's step result and the runs are due at NOW; adds their count
 * to E->resumed. The cancelOn rules it matches, found the same way, ask
 * for their runs' cancel (E->cancels). 0, or -1 on a store error. */
int store_waits_event(struct store_waits *w, struct store_new_event *e,
                      int64_t now);

/* Adds RUN_ID, whose cancel event E's transaction stores, to E->cancels:
 * sched_cancel() ends it once E commits (a cancelOn rule, a singleton). */
void store_waits_add_cancel(struct store_new_event *e, const char *run_id);

/* Stores the N cancelOn rules RULES of the new run RUN_ID, triggered by
 * TRIGGER_JSON, as pauses of kind 'cancel': an event E that one matches
 * (store_waits_event()) stores the run's cancel and lists it in
 * E->cancels, until the rule's timeout or the run's end. 0, or -1. */
int store_waits_cancel_on(struct store_waits *w, const char *run_id,
                          const char *trigger_json,
                          const struct store_cancel_rule *rules, size_t n,
                          int64_t now);

/* Ends up to LIMIT waits whose timeout is at or before NOW, with a null
 * result; their runs are due at NOW. The count, or -1. */
int store_waits_expire(struct store_waits *w, int64_t now, int limit);

/* Reads, on the loop's connection. The earliest timeout of a wait, or 0
 * for none; NOW + 1 s when it cannot be read (logged). */
int64_t store_waits_next_timeout(struct store *st, int64_t now);

/* What run RUN_ID waits for, as the API shows it (new), or NULL. */
struct json_object *store_waits_of_run(struct store *st, const char *run_id);

#endif
