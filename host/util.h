/* util.h - allocation that aborts on failure, clocks and ULIDs.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_UTIL_H
#define FNHOST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26

/* Out of memory in the host aborts: the store makes restart the recovery
 * path. These never return NULL. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* FNV-1a of the string S, for the host's hash tables. */
size_t str_hash(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Wall-clock milliseconds since the epoch, and a monotonic clock in ms. */
int64_t now_ms(void);
int64_t mono_ms(void);
int64_t mono_us(void);

/* Writes a new ULID for time MS (0: now) into OUT (ULID_LEN + 1 bytes).
 * ULIDs made by one process sort in creation order, also within one ms. */
void ulid_new(char *out, int64_t ms);

/* Writes the ULID of time MS and the 10 bytes of ENTROPY into OUT. */
void ulid_encode(char *out, int64_t ms, const uint8_t entropy[10]);
/* The time (ms) ULID ID was made for, or -1 if ID is not a ULID. */
int64_t ulid_time_ms(const char *id);

/* Formats MS as RFC 3339 UTC with milliseconds into BUF (>= 25 bytes). */
void time_format(int64_t ms, char *buf, size_t len);

struct json_object;

/* Events may nest this deep; every other JSON fnhost reads (messages
 * between processes, stored results) is allowed JSON_PARSE_DEPTH, which
 * leaves room for the envelopes around an event or a result. */
#define JSON_EVENT_DEPTH 64
#define JSON_PARSE_DEPTH 128

/* Parses S (NUL-terminated) as JSON with the depth fnhost allows: a new
 * object, or NULL. */
struct json_object *json_parse(const char *s);

/* Text that grows; S is not NUL-terminated unless one was put. */
struct text_buf {
    char *s;
    size_t len, cap;
};

/* Appends the N bytes at S to B. */
void text_append(struct text_buf *b, const char *s, size_t n);

/* Makes room for N more bytes at the end of B. */
void text_room(struct text_buf *b, size_t n);

/* Appends O as JSON to B: the very bytes json-c prints with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, written
 * without json-c's call per piece into a buffer that starts small (every
 * event ingested is printed once: this is the cost of that print). */
void json_append(struct text_buf *b, struct json_object *o);

/* Appends S[0..N) to B as a JSON string, escaped as json-c escapes it
 * (what json_append() writes for a string): the two-char forms for \b
 * \f \n \r \t " and \\, \u00xx for other controls, every other byte (/
 * too, with NOSLASHESCAPE) as it is. */
void json_append_string(struct text_buf *b, const char *s, size_t n);


/* Reads a whole file into a new NUL-terminated buffer (free it), or NULL
 * with errno set. *LEN gets the size if LEN is not NULL. */
char *file_read(const char *path, size_t *len);

/* Creates PATH and its parents like mkdir -p. 0 or -1 with errno. */
int mkdir_p(const char *path, unsigned mode);

/* In a forked child about to exec a worker or describe process: under a
 * sanitizer build, let a plugin's crash end the child by its signal, as in
 * a production build, instead of as a sanitizer report. */
void child_before_exec(void);

/* PATH made absolute (new): resolved if it exists, else joined to the
 * current folder (PATH itself if the current folder cannot be read). */
char *path_absolute(const char *path);

/* Removes PATH and everything under it. 0 or -1 with errno. */
int rm_rf(const char *path);

#endif
