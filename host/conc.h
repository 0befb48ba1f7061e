/* conc.h - concurrency limits: the option, the keys of runs, and the slots
 * of each key that the scheduler counts.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A function may have up to FH_CONCURRENCY_LIMITS limits, each on the
 * runs of a key (an expression over the event, made once when a run is
 * created and stored with it). A key's full name says whose queue it is:
 * "f:FUNCTION I:VALUE" for limit I of one function, "e:VALUE" for a key
 * of scope env, which every function shares. The scheduler holds a slot
 * of each key of a run while an attempt of it is on a worker; a run whose
 * key is full waits in that key's own queue in the store (status
 * 'concurrency', found by key, never by a scan), so it holds up no run of
 * another key. */
#ifndef FNHOST_CONC_H
#define FNHOST_CONC_H

#include <stddef.h>

#include "fnhost.h"

struct fn_info;
struct json_object;

/* Checks a described function's "concurrency" (LIST, NULL: none; see
 * loader.c) against its OPTIONS, as the plugin's own check does. 0, or -1
 * with ERR. */
int conc_check_declared(struct json_object *list, struct json_object *options,
                        char *err, size_t errlen);

/* Sets F's key expressions, scopes and second limit from LIST, a checked
 * "concurrency" (NULL: none); the first limit is fnopt_resolve()'s. */
void conc_resolve(struct fn_info *f, struct json_object *list);

/* Frees what conc_resolve() gave F. */
void conc_free(struct fn_info *f);

/* F's limits as GET /v1/functions shows them (new). */
struct json_object *conc_json(const struct fn_info *f);

/* Whether F has a limit. */
int conc_limited(const struct fn_info *f);

/* The keys of a run of F for event EV: KEYS[i] a new string for each
 * limit I of F, NULL for none. A key that cannot be evaluated on EV
 * (a missing field) is the empty value, logged. */
void conc_run_keys(const struct fn_info *f, struct json_object *ev,
                   char *keys[FH_CONCURRENCY_LIMITS]);

/* One key's slots, while the scheduler counts them. */
struct conc_slot {
    char *name;
    int running;   /* attempts of its runs on a worker */
    int taken;     /* its runs taken from its queue, not yet dispatched */
    int parking;   /* its runs whose move into its queue is being written */
    int limit;     /* the limit its runs last had */
    int waiting;   /* runs may wait in its queue in the store */
    struct conc_table *table;
    struct conc_slot *next; /* in the table's chain */
};

struct conc_table;

struct conc_table *conc_table_new(void);
void conc_table_free(struct conc_table *t);

/* The slot named NAME, made if T has none. */
struct conc_slot *conc_table_get(struct conc_table *t, const char *name);

/* Forgets SL if nothing counts on it any more. */
void conc_table_put(struct conc_slot *sl);

/* Calls FN(ARG, slot) for each slot of T whose queue may hold runs. FN
 * must not free slots. */
void conc_table_each_waiting(struct conc_table *t,
                             void (*fn)(void *arg, struct conc_slot *sl),
                             void *arg);

/* How many slots T holds. */
size_t conc_table_count(const struct conc_table *t);

#endif
