/* step_record.h - a step as a worker reports it: the one record a step
 * travels in, from the worker to the store.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A worker fills one for each new step outcome (a result, a final
 * failure, a sleep, an attempt to retry), proto carries it in one binary
 * form (a checkpoint, or the end of an invocation that suspends), and the
 * master hands it to the store as it was decoded. It depends on nothing,
 * so that the worker's side need not know the store. */
#ifndef FNHOST_STEP_RECORD_H
#define FNHOST_STEP_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Strings are borrowed; each may be NULL. */
struct step_record {
    const char *step_id; /* "name" or "name:n" */
    const char *name;
    const char *kind;    /* "run", "sleep", "send", "invoke" or "wait" */
    const char *status;  /* "completed", "failed", "sleeping",
                            "invoking" or "waiting" */
    const char *result;  /* JSON text, for completed */
    const char *error;   /* for failed, or a failed attempt */
    unsigned attempt;    /* 0-based */
    int64_t started_at;
    int64_t ended_at;
    int64_t wake_at;     /* for sleeping; for waiting, its timeout */
    const char *events;  /* "send": the events it sends, a JSON array in
                            the order of the ids in RESULT ({"ids":
                            [...]}); stored as events, not in the step.
                            "invoke": the one event the invoked run gets */
    const char *target;  /* "invoke": the function it invokes */
    /* For waiting: what it waits for (lib/wait.h). */
    const char *wait_event;
    const char *wait_match; /* a dotted path, or NULL */
    const char *wait_value; /* the triggering event's value there, as
                               JSON text, or NULL */
    const char *wait_if;    /* an expression, or NULL */
    int64_t lookback_ms;    /* 0: none */
};

/* A step_record whose strings it owns: S's strings point into STR (or
 * elsewhere, never freed, when a user sets them so). */
#define STEP_OWNED_NSTR 12
struct step_owned {
    struct step_record s;
    char *str[STEP_OWNED_NSTR];
};

/* Copies FROM (NULL: an empty record, s.step_id NULL) into O, every
 * string duplicated; a send's events and an invoke's target only WITH_
 * EVENTS (else NULL). Free with step_owned_free(). */
void step_owned_set(struct step_owned *o, const struct step_record *from,
                    int with_events);
void step_owned_free(struct step_owned *o);

/* A stored step as a resumed invocation replays it: its result as the
 * JSON text it was stored as, or, when it failed, its error. */
struct step_memo_entry {
    const char *step_id;
    const char *result; /* JSON text; NULL for null */
    const char *error;  /* not NULL: the step failed, with this message */
};

/* The stored steps of a run, on their way from the store to a worker.
 * The master passes the texts on into the invoke message as they are: it
 * neither parses nor prints them (the worker that stored a result made
 * it from a JSON value, and the one that replays it parses it), so a
 * resume costs the size of its steps once, not a parse and a print of
 * each. */
struct step_memo {
    struct step_memo_entry *v;
    size_t n;
};

/* What the run keeps in MEMO (NULL: nothing), as steprules counts it
 * against STEPRULES_MAX_RUN_STATE: each result's or error's text. */
static inline uint64_t
step_memo_bytes(const struct step_memo *memo)
{
    uint64_t n = 0;

    for (size_t i = 0; memo != NULL && i < memo->n; i++) {
        const char *t = memo->v[i].error ? memo->v[i].error
                                         : memo->v[i].result;

        n += t != NULL && *t != '\0' ? strlen(t) : 4; /* "null" */
    }
    return n;
}

#endif
