/* store_sql.h - the store's schema and statements, as SQL text.
 * SPDX-License-Identifier: Apache-2.0
 *
 * In a file of their own, with no dependencies, so that bench/floor links
 * the very SQL fnhost runs rather than a copy of it. */
#ifndef FNHOST_STORE_SQL_H
#define FNHOST_STORE_SQL_H

/* A run that has not ended, for "status IN (" RUN_LIVE_SQL ")": every
 * status but completed, failed and cancelled. A new status goes here, and
 * in RUN_HELD_SQL unless it means the run is on a worker. */
#define RUN_HELD_SQL                                                        \
    "'queued', 'sleeping', 'fetching', 'waiting', 'invoking', 'parallel',"  \
    " 'concurrency'"
#define RUN_LIVE_SQL RUN_HELD_SQL ", 'running'"

/* The migrations, applied in order; a database's user_version is the
 * number applied. */
extern const char *const store_migrations[];
extern const int store_nmigrations;
extern const char store_new_sql[];

/* The writer's prepared statements. */
enum {
    S_INS_EVENT,
    S_INS_RUN,
    S_GET_DEDUP,
    S_PUT_DEDUP,
    S_GET_IDEM,
    S_PUT_IDEM,
    S_GET_RATE,
    S_PUT_RATE,
    S_GET_THROTTLE,
    S_PUT_THROTTLE,
    S_INS_SKIP,
    S_SINGLETON_ACTIVE,
    S_SET_SINGLETON,
    S_START_RUN,
    S_WAKE_STEPS,
    S_END_ATTEMPT,
    S_FINISH_RUN,
    S_REQUEUE,
    S_PUT_STEP,
    S_STEP_RUN,
    S_DUE_INVOKES,
    S_TIMEOUT_INVOKES,
    S_GET_PARENT,
    S_RESOLVE_INVOKE,
    S_WAKE_PARENT,
    S_INS_BRANCH,
    S_FAIL_BRANCH,
    S_END_GROUP,
    S_DROP_LOSERS,
    S_WAKE_GROUP,
    S_CANCEL_BRANCHES,
    S_PUT_FETCH,
    S_FETCH_RETRY,
    S_DEL_FETCH,
    S_FETCH_RUN,
    S_CANCEL_NOW,
    S_CANCEL_FLAG,
    S_CANCEL_PENDING,
    S_CANCEL_FETCHES,
    S_CANCEL_PAUSES,
    S_RUN_TRIGGER,
    S_CANCEL_AT_START,
    S_CONC_PARK,
    S_CONC_REQUEUE,
    S_CRON_CLAIM,
    S_CRON_KEEP,
    S_CRON_DROP,
    S_PRUNE_RUNS_END,
    S_PRUNE_RUNS,
    S_DEL_STEPS,
    S_DEL_ATTEMPTS,
    S_DEL_FETCHES,
    S_DEL_PAUSES,
    S_DEL_RUN_EVENTS,
    S_DEL_RUN,
    S_PRUNE_EVENTS_END,
    S_PRUNE_EVENTS,
    S_DEL_EVENT,
    S_DEL_SKIPPED,
    S_PRUNE_DEDUP,
    S_PRUNE_IDEMPOTENCY,
    S_PRUNE_RATE_LIMITS,
    S_PRUNE_THROTTLES,
    S_DEL_RUN_LOGS,
    S_PUT_LOG,
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    NSTMT
};

extern const char *const store_stmt_sql[NSTMT];

/* Temporary triggers on the writer's connection that report every change
 * of a run's status to the SQL function fnhost_status_moved(old, new),
 * and the count they start from. */
extern const char store_status_triggers[];
extern const char store_pending_count[];

#endif
