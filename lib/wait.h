/* wait.h - what a wait for an event (fh_wait_for_event()) matches: one
 * copy for the worker that records a wait, the store that resolves it and
 * the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases.
 *
 * A wait names an event, and optionally a match (a dotted path whose
 * value must be equal in the run's triggering event and the candidate, as
 * Inngest's `event.data.id == async.data.id`) and an `if` expression
 * (lib/expr.h, with `event` and `async`). Values are compared as their
 * JSON text as json-c prints it, so that the store can index them: "1"
 * and 1 differ, as do 1 and 1.0. A path is read as fh_json_get() reads it
 * (a number part indexes an array). A path that is missing or null in the
 * triggering event matches nothing (in CEL, reading a missing field is an
 * error, and an expression that fails matches nothing). */
#ifndef FNHOST_WAIT_H
#define FNHOST_WAIT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The longest match path, and the longest matched value (JSON text)
 * the store indexes. */
#define WAIT_MAX_PATH 256
#define WAIT_MAX_VALUE 1024
/* The most events a look-back reads, newest first, before it gives up:
 * match values are not indexed in the events table. */
#define WAIT_LOOKBACK_SCAN 10000

/* Whether PATH is a match path: dot-separated keys, each 1..127 bytes
 * with no dot, at most WAIT_MAX_PATH bytes in all. */
int wait_path_ok(const char *path);

/* The JSON text of the value at the dotted PATH in OBJ (new: free it), or
 * NULL when a part is missing, the value is null, or its text is longer
 * than WAIT_MAX_VALUE. */
char *wait_value_at(struct json_object *obj, const char *path);

/* Whether CANDIDATE (an event object) matches a wait on the same name
 * by its match path and VALUE (wait_value_at() of the triggering event):
 * 1 or 0. A wait without a path matches any; a NULL value none. */
int wait_value_matches(struct json_object *candidate, const char *path,
                       const char *value);

#endif
