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
 * the API could then only print as text that is not JSON, or anything
 * else json_check_strict() refuses (a string that is not UTF-8). The caller
 * bounds the depth first (json_check_depth()); this parses 128 levels. */
char *json_check_text(const char *what, const char *text, size_t len);

/* The deepest nesting json_check_strict() follows. */
#define JSON_CHECK_MAX_DEPTH 512

/* Why TEXT (LEN bytes; it need not be NUL-terminated) is not exactly one
 * JSON value as RFC 8259 writes it, nesting at most MAX_DEPTH levels
 * (clamped to JSON_CHECK_MAX_DEPTH), or NULL if it is; *AT is then the
 * byte where the problem is. The reason is a static string ("it is not
 * UTF-8"). Beyond the grammar it refuses what json-c would take and
 * silently change, so that what is stored is what was sent: a raw
 * control character in a string (json-c keeps it, and prints it
 * escaped), an escaped lone surrogate ("\ud800"; json-c makes it
 * U+FFFD), and an integer beyond 64 bits (json-c clamps it to
 * 18446744073709551615). Strings must be UTF-8 (RFC 3629: no overlong
 * forms, no surrogates). It allocates nothing. */
const char *json_check_strict(const char *text, size_t len, int max_depth,
                              size_t *at);

/* Whether S[0..N) is UTF-8 (RFC 3629): json-c's own check lets overlong
 * forms and surrogates through. */
int json_check_utf8(const char *s, size_t n);

/* S (NUL-terminated) as UTF-8, in a new string: each byte that does not
 * begin a valid sequence becomes U+FFFD; NULL if S is UTF-8 already.
 * For messages, which say what happened even when their bytes are bad. */
char *json_check_repair_utf8(const char *s);

/* TEXT (LEN bytes) with each escaped surrogate pair that json-c 0.16
 * would read as U+FFFD written as its UTF-8 instead, in a new
 * NUL-terminated string of *NEWLEN bytes; NULL if TEXT has none, as
 * nearly every text. json-c builds the pair's code point, then tests that
 * for a surrogate: U+1D800..U+1DFFF, U+2D800..U+2DFFF and so on (CJK
 * ideographs among them), sent as Python's json.dumps() writes them,
 * would be lost. Each caller that hands outside text to json-c reads
 * the mended copy when there is one. */
char *json_check_mend_pairs(const char *text, size_t len, size_t *newlen);

/* How deep O nests (0 for a scalar), counted no further than LIMIT + 1,
 * so that a pathological value cannot exhaust the stack. */
int json_check_depth(struct json_object *o, int limit);

#endif
