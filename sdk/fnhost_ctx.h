/* fnhost_ctx.h - what a plugin call's context holds, and the API entries
 * that only touch it (fh_fail, fh_alloc, fh_set_output, fh_retry_after),
 * one copy shared by the host (host/loader.c) and the SDK's test harness
 * (fnhost_test.c), so the two cannot drift.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost and its SDK: everything here is static and may change
 * between releases. Each side's context starts with a struct fh_ctx_core_
 * and adds its own fields after it. */
#ifndef FNHOST_CTX_H_
#define FNHOST_CTX_H_

#include <json-c/json.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost.h"

/* fh_retry_after() clamps its delay to this range. */
#define FH_RETRY_AFTER_MIN_MS_ 1000LL
#define FH_RETRY_AFTER_MAX_MS_ (24LL * 3600 * 1000)

struct fh_arena_block_ {
    struct fh_arena_block_ *next;
    max_align_t data[];
};

struct fh_ctx_core_ {
    struct fh_ctx pub;              /* first: what the plugin sees */
    struct fh_arena_block_ *arena;  /* fh_alloc(), freed after the call */
    struct json_object *output;     /* fh_set_output() */
    int has_output;
    char *error;                    /* fh_fail(), or a step's error */
    int no_retry;
    int64_t retry_after_ms;         /* fh_retry_after(), or 0 */
};

static inline struct fh_ctx_core_ *
fh_core_(struct fh_ctx *ctx)
{
    return (struct fh_ctx_core_ *)ctx;
}

static __attribute__((unused)) void
fh_ctx_oom_(void)
{
    fputs("fnhost: out of memory\n", stderr);
    abort();
}

/* Sets the error to MSG (new, or NULL to clear): a new error clears any
 * retry-after delay an earlier one asked for. */
static __attribute__((unused)) void
fh_core_set_error_(struct fh_ctx_core_ *c, char *msg, int no_retry)
{
    free(c->error);
    c->error = msg;
    c->no_retry = no_retry;
    c->retry_after_ms = 0;
}

/* Frees what one call left: the arena, the output and the error. */
static __attribute__((unused)) void
fh_core_reset_(struct fh_ctx_core_ *c)
{
    while (c->arena != NULL) {
        struct fh_arena_block_ *b = c->arena;

        c->arena = b->next;
        free(b);
    }
    json_object_put(c->output);
    c->output = NULL;
    c->has_output = 0;
    fh_core_set_error_(c, NULL, 0);
}

static int fh_core_fail_(struct fh_ctx *ctx, int retry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), unused));

static int
fh_core_fail_(struct fh_ctx *ctx, int retry, const char *fmt, ...)
{
    struct fh_ctx_core_ *c = fh_core_(ctx);
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (msg == NULL && (msg = strdup("out of memory formatting the error")) ==
                           NULL)
        fh_ctx_oom_();
    free(c->error);
    c->error = msg;
    c->no_retry = retry == FH_NO_RETRY;
    return FH_ERR;
}

static __attribute__((unused)) void *
fh_core_alloc_(struct fh_ctx *ctx, size_t n)
{
    struct fh_ctx_core_ *c = fh_core_(ctx);
    struct fh_arena_block_ *b;

    if (n > SIZE_MAX - sizeof(*b))
        abort();
    if ((b = calloc(1, sizeof(*b) + n)) == NULL)
        fh_ctx_oom_();
    b->next = c->arena;
    c->arena = b;
    return b->data;
}

static __attribute__((unused)) int
fh_core_set_output_(struct fh_ctx *ctx, struct json_object *output)
{
    struct fh_ctx_core_ *c = fh_core_(ctx);

    json_object_put(c->output);
    c->output = output;
    c->has_output = 1;
    return FH_OK;
}

static __attribute__((unused)) int
fh_core_retry_after_(struct fh_ctx *ctx, int64_t ms)
{
    if (ms < FH_RETRY_AFTER_MIN_MS_)
        ms = FH_RETRY_AFTER_MIN_MS_;
    if (ms > FH_RETRY_AFTER_MAX_MS_)
        ms = FH_RETRY_AFTER_MAX_MS_;
    fh_core_(ctx)->retry_after_ms = ms;
    return FH_OK;
}

#endif
