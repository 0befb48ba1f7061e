/* store.h - the durable state: events, runs, attempts, dedup keys.
 * SPDX-License-Identifier: Apache-2.0
 *
 * All SQL lives behind this interface. Writes go to one writer thread that
 * batches everything queued while the previous transaction committed into
 * the next one (group commit); each write's callback runs on the caller's
 * event loop only after its transaction committed, so an acknowledgement
 * sent from a callback never outruns the disk. Reads use a second
 * connection on the loop's thread and see committed state only. */
#ifndef FNHOST_STORE_H
#define FNHOST_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "step_record.h"

struct event_base;
struct json_object;
struct store;

/* A write's completion: RC is 0, or -1 with ERR saying what failed. */
typedef void (*store_done_fn)(void *arg, int rc, const char *err);

/* One run that an ingested event should start. */
/* A function's cancelOn rule (borrowed from its generation): the run is
 * cancelled by an event EVENT whose value at MATCH equals its trigger's
 * and for which IF_EXPR holds (either NULL: no condition), received
 * within TIMEOUT_MS of the run's creation. */
struct store_cancel_rule {
    const char *event;
    const char *match;
    const char *if_expr;
    int64_t timeout_ms;
};

struct store_new_run {
    char id[27];
    const char *function_id; /* borrowed until the callback */
    const char *parent_run_id;  /* an invoke's: the run waiting for it, */
    const char *parent_step_id; /* and its step (borrowed); else NULL */
    int64_t start_timeout_ms; /* its function's timeouts.start, or 0: the
                                 run is cancelled if it has not started
                                 that long after it is due */
    const struct store_cancel_rule *cancel_on; /* its function's, stored
                                                  with it as pauses */
    size_t ncancel_on;
    char *idempotency_key;   /* its function's idempotency key for the
                                event, or NULL: one run per key per 24 h
                                (owned by the caller) */
    char *conc_keys[2];      /* its concurrency keys (host/conc.h), or
                                NULL: stored with it (owned by the
                                caller) */
    char *rate_key;          /* its function's rateLimit key for the
                                event ("" for one key), or NULL: no rate
                                limit (owned by the caller) */
    int rate_limit;          /* with rate_key: runs per rate_period_ms */
    int64_t rate_period_ms;
    char *singleton_key;     /* its function's singleton key ("" for
                                one), or NULL: none (owned by the caller) */
    int singleton_cancel;    /* with singleton_key: 1 cancels the active
                                run of the key, 0 starts no run while one
                                is active */
    char *debounce_key;      /* its function's debounce key ("" for
                                one), or NULL: none (owned by the caller) */
    int64_t debounce_ms;     /* with debounce_key: the period */
    int64_t debounce_timeout_ms; /* the longest delay from the key's first
                                    event; 0: none */
    char *throttle_key;      /* its function's throttle key for the event
                                ("" for one key), or NULL: no throttle
                                (owned by the caller) */
    int throttle_limit;      /* with throttle_key: runs per
                                throttle_period_ms, throttle_burst more at
                                once */
    int64_t throttle_period_ms;
    int throttle_burst;
    int64_t throttle_at;     /* out: when the throttle lets it start, if
                                later than it is due; else 0 */
    int priority;            /* its priority.run, -600..600 s: see
                                store.c's run_wake() */
    int early;               /* it was handed to the scheduler before this
                                commit (sched_submit_early()): if the
                                commit fails, its writes fail until
                                store_forget_failed() */
    int64_t wake_at;         /* out: when it is due, as stored: its place
                                in line */
    char *batch_key;         /* its function's batch key ("" for one),
                                or NULL: the event is not batched (owned
                                by the caller) */
    int batch_max;           /* with batch_key: the size that starts it */
    int64_t batch_timeout_ms; /* and the longest wait from its first
                                 event */
    int64_t debounce_due;    /* out: when the debounced run (or batch) is
                                due */
    char debounce_run[27];   /* out, with created 0: the key's pending run
                                (debounced or batch), which took the event
                                ("" otherwise) */
    int created;             /* out: 0 when the dedup key had a run, or
                                skipped says why */
    const char *skipped;     /* out: why an option started no run for
                                the event ("idempotency", "rate_limit",
                                "singleton"),
                                stored with the event; else NULL */
};

/* One event of an ingest request, with the runs it triggers. */
struct store_new_event {
    char id[27];             /* internal ULID */
    const char *name;        /* borrowed until the callback */
    const char *user_id;     /* the sender's "id", or NULL */
    int64_t ts;
    const char *json;        /* the normalized event, borrowed */
    struct store_new_run *runs;
    size_t nruns;
    int duplicate;           /* out: an event with this id was stored
                                already; it starts no runs */
    size_t resumed;          /* out: waits it ended, whose runs are due
                                now (store_wait.h) */
    const char *cron;        /* a cron tick's schedule (borrowed), or
                                NULL: the event is stored, with its run
                                (runs[0]), only if CRON_TICK is later
                                than the last tick of the function's
                                schedule, which it becomes; else it is
                                a duplicate */
    int64_t cron_tick;
    struct store_cancel *cancels; /* out (new, free() it): the runs whose
                                     cancelOn it matched, their cancel
                                     stored; sched_cancel() ends them */
    size_t ncancels;
};

/* How an invocation ended, for store_finish_attempt(). */
enum run_outcome {
    RUN_COMPLETED, /* the handler returned FH_OK */
    RUN_RETRY,     /* an attempt failed; try again at wake_at */
    RUN_FAILED,    /* for good */
    RUN_SLEEP,     /* the handler sleeps until step->wake_at */
    RUN_FETCH,     /* the handler waits for the host to make fetch step
                      STEP's request (its result) */
    RUN_WAIT,      /* the handler waits for an event (step->wait_*), or
                      until step->wake_at */
    RUN_INVOKE,    /* the handler waits for the run its step invokes
                      (step->target), or until step->wake_at */
    RUN_CANCELLED, /* the handler stopped at a step boundary, cancelled */
    RUN_PARALLEL,  /* the handler began parallel group STEP (its result
                      the plan, lib/steprules.h): a run of each branch is
                      made, and it waits until they have ended */
};

struct store_attempt {
    char run_id[27];
    char group_run[27]; /* a parallel branch: the run its group is in,
                           whose steps and attempts it writes; "" for
                           other runs */
    unsigned attempt;   /* 0-based, of the step or handler code that ran */
    int64_t started_at;
    int64_t ended_at;
    enum run_outcome outcome;
    const char *output; /* JSON text for RUN_COMPLETED, borrowed */
    const char *error;  /* for RUN_RETRY and RUN_FAILED, borrowed */
    int64_t wake_at;    /* for RUN_RETRY */
    const struct step_record *step; /* the step the invocation ended in
                                      (a sleep, a failed step attempt), or
                                      NULL; borrowed */
    int *resolved;      /* RUN_WAIT, out (may be NULL): set before the
                           callback when a look-back ended the wait at
                           once, so the run is due now */
    int *woke;          /* RUN_COMPLETED, RUN_FAILED, out (may be NULL):
                           set before the callback when this run's end
                           ended the invoke a run waited on, which is due
                           now */
};

/* A fetch step the host has still to make, from store_pending_fetches().
 * Strings borrowed for the callback. */
struct store_fetch {
    const char *run_id;
    const char *function_id;
    const char *step_id;
    const char *name;
    const char *request; /* JSON text: lib/fetch_req.h */
    unsigned attempt;    /* the next, 0-based */
    int64_t due_at;      /* when it may start */
    int64_t started_at;  /* when the step began */
};

/* How an attempt of a pending fetch ended, for store_fetch_attempt(). */
struct store_fetch_end {
    char run_id[27];
    const char *step_id, *name; /* borrowed, as the strings below */
    unsigned attempt;
    int64_t started_at;      /* the step's start */
    int64_t attempt_started; /* this attempt's */
    int64_t ended_at;
    const char *result;  /* the response's JSON text: the step completed */
    const char *error;   /* the attempt failed with this */
    int final;           /* the step ends now (with RESULT or ERROR) and
                            the run is due; else the next attempt is due
                            at DUE_AT */
    int64_t due_at;
    int gone;            /* out: the fetch was no longer pending (its
                            step is stored already): nothing changed */
};

/* A run that is due, from store_due_runs(). */
struct store_due {
    const char *run_id;
    const char *function_id;
    const char *event_id;
    unsigned attempt; /* the attempt to make, 0-based */
    const char *event_json;
    const char *group_run; /* a parallel branch: the run its group is in
                              (its steps are that run's); else NULL */
    const char *target;    /* a parallel branch: the step it runs */
    const char *conc_keys[2]; /* its concurrency keys, or NULL */
    int64_t wake_at;          /* when it was due: its place in line */
};

/* Opens (creating and migrating) the database at PATH, starts the writer
 * thread and registers its completions with BASE. SYNCHRONOUS is "full" or
 * "normal". Returns NULL with the reason in ERR. */
struct store *store_open(struct event_base *base, const char *path,
                         const char *synchronous, char *err, size_t errlen);

/* PRAGMA quick_check: 0, or -1 with the file, what is wrong and what to
 * do in ERR. Before the host acknowledges anything into the store. */
int store_check(struct store *st, char *err, size_t errlen);

/* Whether SQLite has reported the file damaged: every write fails since. */
int store_damaged(struct store *st);

/* The mode the writer's connection runs in, as SQLite reported it when
 * the store opened: "journal_mode=wal synchronous=full". */
const char *store_mode(const struct store *st);


/* The earliest time an invoke runs out, or 0 for none; NOW + 1 s when it
 * cannot be read (logged). On the loop's connection. */
int64_t store_invokes_next_timeout(struct store *st, int64_t now);

/* Finishes queued writes (running their callbacks) and closes. */
void store_close(struct store *st);

/* Stores events and their new runs in one transaction; a dedup key
 * (function, user id) seen within DEDUP_WINDOW_MS creates no run and sets
 * created = 0, and an event whose id is stored already is a resend: it
 * sets duplicate and creates nothing. EVS must stay valid until DONE
 * runs. */
void store_put_events(struct store *st, struct store_new_event *evs,
                      size_t nevs, int64_t dedup_window_ms,
                      store_done_fn done, void *arg);

/* The most log lines kept with one run; later ones are dropped. */
#define STORE_RUN_LOGS 1000

/* Keeps a line (TEXT, UTF-8, copied) that RUN_ID's plugin logged at AT
 * in ATTEMPT, at LEVEL (enum log_level), in the next group commit: best
 * effort, no callback (a failure is logged), at most STORE_RUN_LOGS per
 * run. */
void store_put_log(struct store *st, const char *run_id, unsigned attempt,
                   int level, int64_t at, const char *text);

/* One sweep of retention, batch by batch: where it is (the caller zeroes
 * it to start one, and keeps it between batches), and what the last
 * batch deleted. */
struct store_pruned {
    char runs_after[27], events_after[27]; /* the last row looked at */
    int runs_done, events_done;            /* every row looked at */
    int64_t runs;   /* ended runs, with their steps, attempts and logs */
    int64_t events; /* events that no run had */
    int64_t keys;   /* expired dedup, idempotency and rate limit keys, and
                       throttles with all their room */
    int more;       /* the sweep is not over */
};

/* Deletes one small batch of OUT's sweep, in the next group commit: runs
 * that ended before RUNS_BEFORE (0: none), events received before
 * EVENTS_BEFORE (0: none) that no run has, and keys expired at NOW; OUT
 * (the caller's, until DONE) says what, and where the sweep is. Freed
 * pages go back to the file system in a store made since retention
 * exists. */
void store_prune(struct store *st, int64_t runs_before,
                 int64_t events_before, int64_t now, struct store_pruned *out,
                 store_done_fn done, void *arg);

/* Keeps the cron schedules PAIRS (a JSON array of [function_id, cron];
 * copied) and no others: a new one's last tick is NOW. */
void store_cron_sync(struct store *st, const char *pairs, int64_t now,
                     store_done_fn done, void *arg);

/* The loop knows a checkpoint of RUN_ID failed (its callback said so):
 * its steps and ends queued from now on are written again. Until then,
 * those queued after the failed one fail ("an earlier checkpoint of run
 * ... was not stored"), so that an end never commits without a
 * checkpoint sent before it. */
void store_forget_failed(struct store *st, const char *run_id);
/* The same, and DONE runs once every write queued before it has been
 * answered (its RC says nothing of the forget, which always holds). */
void store_forget_failed_then(struct store *st, const char *run_id,
                              store_done_fn done, void *arg);

/* Stores a step's checkpoint (a result, or a final failure) and its
 * attempt; the run's next unit starts at attempt 0. With UPDATE_RUN the
 * run is also marked running at attempt 0 (the first checkpoint of an
 * invocation; later ones find it so already). DONE runs after the
 * commit: only then may the handler go on. STEP is copied. */
void store_put_step(struct store *st, const char *run_id,
                    const struct step_record *step, int update_run,
                    store_done_fn done, void *arg);

/* As store_put_step, and in the same transaction stores the NEVS events
 * EVS that a send step sends, and their runs, as store_put_events does
 * (EVS is borrowed, and filled in, until DONE runs). */
void store_put_step_events(struct store *st, const char *run_id,
                           const struct step_record *step, int update_run,
                           struct store_new_event *evs, size_t nevs,
                           int64_t dedup_window_ms, store_done_fn done,
                           void *arg);

/* Marks a run running for attempt A, and a sleep it woke from complete
 * (not waited for: a crash before it commits leaves the run queued or
 * sleeping, which is what a restart wants anyway). */
void store_start_attempt(struct store *st, const char *run_id, unsigned a,
                         int64_t started_at);

/* store_start_attempt() for a run whose function has timeouts: on its
 * first start its timeouts.start deadline gives way to one FINISH_MS
 * later (timeouts.finish; 0: none). */
void store_start_timed(struct store *st, const char *run_id, unsigned a,
                       int64_t started_at, int64_t finish_ms);

/* A run to cancel, for store_cancel_runs(). */
struct store_cancel {
    char run_id[27];
    int at_boundary; /* 1: it is on a worker; keep the cancel until its
                        outcome is recorded. 0: cancel it now, if it
                        waits (queued, retrying, sleeping) */
    int done;        /* out: 1 if the run was found unfinished and is now
                        cancelled (or will be at its boundary) */
};

/* Cancels the N runs of V in one transaction, with REASON (the run's
 * error, copied) at AT. A run that ended already is left as it is
 * (done = 0). V must stay valid until DONE runs. */
void store_cancel_runs(struct store *st, struct store_cancel *v, size_t n,
                       const char *reason, int64_t at, store_done_fn done,
                       void *arg);

/* Records how an attempt ended and moves the run on. AT is copied. */
void store_finish_attempt(struct store *st, const struct store_attempt *at,
                          store_done_fn done, void *arg);

/* As store_finish_attempt, and in the same transaction stores the NEVS
 * events EVS (a run's lifecycle events) and their runs, as
 * store_put_events does (EVS is borrowed, and filled in, until DONE
 * runs). */
void store_finish_attempt_events(struct store *st,
                                 const struct store_attempt *at,
                                 struct store_new_event *evs, size_t nevs,
                                 int64_t dedup_window_ms, store_done_fn done,
                                 void *arg);
/* Ends the waits whose timeout is at or before NOW, up to LIMIT, each
 * in the same transaction as its step's null result and its run's
 * return to the queue; and so the invokes whose time ran out, their
 * steps failing ("invoke F: timed out after T"). *N (read in DONE) gets
 * how many. A wait that an event ended first, an invoke whose run ended
 * first, is not ended again. Debounced runs whose time came are made
 * due in the same write (store_debounce.h). */
void store_expire_waits(struct store *st, int64_t now, int limit, int *n,
                        store_done_fn done, void *arg);

/* Records attempt E of a pending fetch: the attempt, and when E is
 * final the step's outcome, the end of the pending fetch and the run
 * queued to resume now, in one transaction (so a response is stored
 * once, and never fetched again). E is copied but for GONE, which is set
 * before DONE runs: E must stay valid until then. */
void store_fetch_attempt(struct store *st, struct store_fetch_end *e,
                         store_done_fn done, void *arg);

/* Calls FN for every pending fetch (after a restart): 0, or -1 (logged)
 * when they cannot all be read. */
int store_pending_fetches(struct store *st,
                          void (*fn)(void *arg, const struct store_fetch *f),
                          void *arg);

/* Queues every run left running by a previous process again. Returns the
 * number of runs, or -1. Call before serving. */
int store_requeue_running(struct store *st, char *err, size_t errlen);

/* Moves RUN_ID, which is queued (or due from a sleep, or was taken from
 * a key's queue), into the queue of concurrency key KEY: the due scan no
 * longer finds it, store_conc_queue() does. Nothing changes if it ended
 * or its cancel was asked for meanwhile. DONE(ARG) once committed. */
void store_conc_park(struct store *st, const char *run_id, const char *key,
                     store_done_fn done, void *arg);

/* Calls FN for up to LIMIT runs in the queue of concurrency key KEY,
 * oldest first, through its index (never a scan), skipping those for
 * which SKIP returns non-zero. Returns the number of rows read, or -1
 * (logged). */
int store_conc_queue(struct store *st, const char *key, int limit,
                     int (*skip)(void *arg, const char *run_id),
                     void (*fn)(void *arg, const struct store_due *due),
                     void *arg);

/* Calls FN for up to LIMIT queued runs of the functions FNS (a
 * NULL-terminated list) due at NOW, oldest first, skipping those for which
 * SKIP returns non-zero. Returns the number of rows read, or -1. */
int store_due_runs(struct store *st, int64_t now, const char *const *fns,
                   int limit,
                   int (*skip)(void *arg, const char *run_id),
                   void (*fn)(void *arg, const struct store_due *due),
                   void *arg);

/* The earliest wake time after NOW of a queued run of FNS, or 0; NOW +
 * 1 s when the store cannot say (logged), so that it is asked again. */
int64_t store_next_wake(struct store *st, int64_t now,
                        const char *const *fns);

/* Calls FN for up to LIMIT runs, of any function, whose deadline (a
 * timeouts.start or timeouts.finish) is at NOW or before and whose cancel
 * is not asked for yet, earliest first; STARTED says which deadline it is
 * (0: the start one). Returns the number of rows, or -1 (logged). */
int store_overdue_runs(struct store *st, int64_t now, int limit,
                       void (*fn)(void *arg, const char *run_id,
                                  int started),
                       void *arg);

/* The earliest deadline after NOW, or 0; NOW + 1 s when the store cannot
 * say (logged). */
int64_t store_next_deadline(struct store *st, int64_t now);

/* A run found by store_runs_to_cancel(); strings borrowed for the call. */
struct store_found {
    const char *run_id;
    int64_t created_at;
    const char *event_json; /* its triggering event */
};

/* Calls FN for up to LIMIT unfinished runs of FUNCTION_ID created at FROM
 * or later and before TO (ms), whose cancel is not asked for yet, in the
 * order (created_at, run_id), starting after AFTER_AT, AFTER_ID (a
 * cursor: the last one found; "" for none). Returns the number of runs,
 * or -1 (logged). */
int store_runs_to_cancel(struct store *st, const char *function_id,
                         int64_t from, int64_t to, int64_t after_at,
                         const char *after_id, int limit,
                         void (*fn)(void *arg, const struct store_found *r),
                         void *arg);

/* The stored status of RUN_ID into STATUS ("queued", ..., "cancelled"):
 * 1, 0 when there is no such run, -1 when the store cannot say (logged). */
int store_run_status(struct store *st, const char *run_id, char *status,
                     size_t len);

/* The stored steps of a run, for a worker's replay, as their stored texts
 * (new, one block: release it with free()); a sleep whose time has come
 * counts as done. NULL (and an error in the log) when they cannot all be
 * read: the run must then wait, not replay without them. */
struct step_memo *store_run_steps(struct store *st, const char *run_id,
                                  int64_t now);

/* Reads for the API: new json-c objects (release with json_object_put), or
 * NULL when not found, or when the store cannot be read: then it is
 * logged, the lists are NULL, and *FAILED (if not NULL) is set, so that
 * a failure is not answered as "not found". */
struct json_object *store_get_run(struct store *st, const char *run_id,
                                  int *failed);
struct json_object *store_get_event(struct store *st, const char *event_id,
                                    int *failed);
/* The runs EVENT_ID started, each with its output (not its steps). */
struct json_object *store_event_runs(struct store *st, const char *event_id);
/* Summaries of runs, newest first: no output (a run's output is up to
 * STEPRULES_MAX_OUTPUT bytes; store_get_run() has it), so that a list
 * stays small. STATUS, if not NULL, is a word run_state_parse() knows:
 * the runs that show that status. */
struct json_object *store_list_runs(struct store *st, const char *function_id,
                                    const char *status, int limit);

/* Gives the writer L (stolen; NULL: none), the subscribers to the events
 * of a cancelled run (lifecycle.h), from its next transaction on: each
 * run that ends cancelled stores them with its end. */
struct lifecycle;
void store_set_lifecycle(struct store *st, struct lifecycle *l);

/* How the reads above learn whether a run's function is declared now
 * (LOADED(ARG, id) non-zero), which decides whether a pending run shows
 * as waiting (run_state.h). Until it is set, every function is. */
void store_set_loaded(struct store *st,
                      int (*loaded)(void *arg, const char *function_id),
                      void *arg);

/* Writes applied and transactions committed so far: a group commit
 * applies many writes per transaction. */
void store_stats(struct store *st, uint64_t *ops, uint64_t *commits);

/* Runs stored queued (new, or waiting for a retry; a new run counts until
 * its first checkpoint), sleeping and waiting for an event, as of the last
 * commit: kept as writes commit, so reading them costs no query. */
void store_run_gauges(struct store *st, int64_t *queued, int64_t *sleeping,
                      int64_t *waiting);

/* Copies of the histograms of the group commits: their time, and their
 * number of writes. */
void store_commit_metrics(struct store *st, struct histogram *seconds,
                          struct histogram *writes);

/* Counts for /health and tests: runs in STATUS (NULL: all). */
int64_t store_count_runs(struct store *st, const char *status);

#endif
