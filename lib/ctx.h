/* ctx.h - what a plugin call's context holds, and the API entries that
 * only touch it (fh_fail, fh_alloc, fh_set_output, fh_retry_after): one
 * copy for the host (host/loader.c) and the SDK's test harness
 * (sdk/fnhost_test.c), so the two cannot drift.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases.
 * Each side's context starts with a struct ctx_core and adds its own
 * fields after it. */
#ifndef FNHOST_CTX_H
#define FNHOST_CTX_H

#include <stddef.h>
#include <stdint.h>

#include "fnhost.h"

/* fh_retry_after() clamps its delay to this range. */
#define CTX_RETRY_AFTER_MIN_MS 1000LL
#define CTX_RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

/* The longest error message kept, in bytes: a longer one is cut, so
 * that a plugin's error cannot grow the store and every run list without
 * bound. */
#define CTX_MAX_ERROR (16 * 1024)

struct ctx_arena_block;

struct ctx_core {
    struct fh_ctx pub;             /* first: what the plugin sees */
    struct ctx_arena_block *arena; /* fh_alloc(), freed after the call */
    struct json_object *output;    /* fh_set_output() */
    int has_output;
    char *error; /* fh_fail(), or a step's error */
    int no_retry;
    int64_t retry_after_ms; /* fh_retry_after(), or 0 */
};

/* The core of CTX, which every context starts with. */
struct ctx_core *ctx_core(struct fh_ctx *ctx);

/* Says so on stderr and aborts: out of memory in a call has no recovery
 * (the host restarts the worker; a test stops). */
void ctx_abort_oom(void) __attribute__((noreturn));

/* The string FMT formats (new); aborts out of memory. */
char *ctx_format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Sets the error to MSG (steals; NULL clears it): a new error clears any
 * retry-after delay an earlier one asked for. Like fh_fail()'s, the
 * message kept is UTF-8 (each bad byte becomes U+FFFD, so it still says
 * what happened and the API can print it as JSON) and at most
 * CTX_MAX_ERROR bytes (a longer one is cut, and says so). */
void ctx_set_error(struct ctx_core *c, char *msg, int no_retry);

/* Frees what one call left: the arena, the output and the error. */
void ctx_reset(struct ctx_core *c);

/* The fh_api entries of the same names; see sdk/fnhost.h. */
int ctx_fail(struct fh_ctx *ctx, int retry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void *ctx_alloc(struct fh_ctx *ctx, size_t n);
int ctx_set_output(struct fh_ctx *ctx, struct json_object *output);
int ctx_retry_after(struct fh_ctx *ctx, int64_t ms);
const char *ctx_error(struct fh_ctx *ctx);

#endif
