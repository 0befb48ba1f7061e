/* json_check.h - whether a JSON value can be stored and printed back as
 * JSON: one copy for the host (events, step results, a run's output) and
 * the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases. */
#ifndef FNHOST_JSON_CHECK_H
#define FNHOST_JSON_CHECK_H

#include <stddef.h>

struct json_object;

/* The text of the first number under V that JSON cannot carry (borrowed
 * from V), or NULL if there is none: even in strict mode json-c takes NaN,
 * Infinity, "1." and "01.5", and writes them back as they came, so an
 * event body, a step result or a run's output holding one would make the
 * API print text that is not JSON. */
const char *json_check_numbers(struct json_object *v);

/* Why TEXT (LEN bytes, NUL-terminated), which WHAT ("step result")
 * printed as, would not read back as what it is (new), or NULL: it is
 * not one JSON value (a custom serializer wrote it), or it holds a number
 * JSON has not (NaN, Infinity), which json-c prints and parses back but
 * the API could then only print as text that is not JSON. The caller
 * bounds the depth first (json_check_depth()); this parses 128 levels. */
char *json_check_text(const char *what, const char *text, size_t len);

/* How deep O nests (0 for a scalar), counted no further than LIMIT + 1,
 * so that a pathological value cannot exhaust the stack. */
int json_check_depth(struct json_object *o, int limit);

#endif
