/* run_state.h - what state a run is in, decoded in one place from what
 * the store holds, for the API, its status filter and the CLI.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The store keeps a run's status (queued, running, sleeping, waiting,
 * completed, failed, cancelled) and its attempt; the state a user sees also depends
 * on those together (queued at attempt > 0 is a retry waiting for its
 * backoff) and on the current generation (a pending run of a function no
 * plugin declares waits for it). */
#ifndef FNHOST_RUN_STATE_H
#define FNHOST_RUN_STATE_H

enum run_state {
    RS_QUEUED,    /* due, or due soon, for its first attempt */
    RS_RUNNING,   /* on a worker, or between checkpoints */
    RS_RETRYING,  /* an attempt failed; the next waits for its backoff */
    RS_SLEEPING,  /* in a sleep step */
    RS_WAITING,   /* pending, but no plugin declares its function now */
    RS_WAITING_EVENT, /* in a wait for an event (fh_wait_for_event()) */
    RS_CONCURRENCY, /* due, but in the queue of a concurrency key whose
                       runs fill its limit */
    RS_COMPLETED,
    RS_FAILED,
    RS_CANCELLED,
    RS_UNKNOWN,   /* a stored status this fnhost does not know */
};

/* The state of a run stored with STATUS and ATTEMPT, whose function the
 * current generation declares (LOADED) or not. A run on a worker is
 * running even if its function was removed since: it finishes on the
 * code it started on. */
enum run_state run_state_decode(const char *status, int attempt,
                                int loaded);

/* The word the API shows ("Queued"; Inngest's "Running" for a retry,
 * with next_attempt_at saying when), and the one its status filter and
 * the CLI's --status take ("queued"; "running" also finds retries, as
 * what is shown is what is found). */
const char *run_state_shown(enum run_state s);

/* Why a run in state S waits when what is shown does not say it
 * ("concurrency key full"), or NULL. */
const char *run_state_reason(enum run_state s);

/* Whether a run in state S is found by FILTER, a word run_state_parse()
 * took. */
int run_state_matches(enum run_state filter, enum run_state s);

/* The state named WORD (any case) for a status filter, or -1. */
int run_state_parse(const char *word);

/* "queued, running, ..." : the words a filter takes, for messages. */
const char *run_state_filter_words(void);

#endif
