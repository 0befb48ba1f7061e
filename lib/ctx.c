/* ctx.c - what a plugin call's context holds, and the API entries that
 * only touch it, for the host and the SDK's test harness alike.
 * SPDX-License-Identifier: Apache-2.0 */
#include "ctx.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"

struct ctx_arena_block {
    struct ctx_arena_block *next;
    max_align_t data[];
};

struct ctx_core *
ctx_core(struct fh_ctx *ctx)
{
    return (struct ctx_core *)ctx;
}

void
ctx_abort_oom(void)
{
    fputs("fnhost: out of memory\n", stderr);
    abort();
}

char *
ctx_format(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        ctx_abort_oom();
    return s;
}

/* MSG (steals) as the error a context keeps: UTF-8, at most
 * CTX_MAX_ERROR bytes. */
static char *
error_kept(char *msg)
{
    static const char cut[] = "... (cut: the message was %zu bytes)";
    char *fixed;
    size_t n, at;

    if (msg == NULL)
        return NULL;
    if ((fixed = json_check_repair_utf8(msg)) != NULL) {
        free(msg);
        msg = fixed;
    }
    if ((n = strlen(msg)) <= CTX_MAX_ERROR)
        return msg;
    /* Room for the note (its number has at most 20 digits), cut where a
     * character begins. */
    at = CTX_MAX_ERROR - (sizeof(cut) + 20);
    while (at > 0 && ((unsigned char)msg[at] & 0xc0) == 0x80)
        at--;
    snprintf(msg + at, n + 1 - at, cut, n);
    return msg;
}

void
ctx_set_error(struct ctx_core *c, char *msg, int no_retry)
{
    free(c->error);
    c->error = error_kept(msg);
    c->no_retry = no_retry;
    c->retry_after_ms = 0;
}

void
ctx_reset(struct ctx_core *c)
{
    while (c->arena != NULL) {
        struct ctx_arena_block *b = c->arena;

        c->arena = b->next;
        free(b);
    }
    json_object_put(c->output);
    c->output = NULL;
    c->has_output = 0;
    ctx_set_error(c, NULL, 0);
}

int
ctx_fail(struct fh_ctx *ctx, int retry, const char *fmt, ...)
{
    struct ctx_core *c = ctx_core(ctx);
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (msg == NULL &&
        (msg = strdup("out of memory formatting the error")) == NULL)
        ctx_abort_oom();
    /* Unlike ctx_set_error(): a delay asked for before fh_fail() stays. */
    free(c->error);
    c->error = error_kept(msg);
    c->no_retry = retry == FH_NO_RETRY;
    return FH_ERR;
}

void *
ctx_alloc(struct fh_ctx *ctx, size_t n)
{
    struct ctx_core *c = ctx_core(ctx);
    struct ctx_arena_block *b;

    if (n > SIZE_MAX - sizeof(*b))
        abort();
    if ((b = calloc(1, sizeof(*b) + n)) == NULL)
        ctx_abort_oom();
    b->next = c->arena;
    c->arena = b;
    return b->data;
}

int
ctx_set_output(struct fh_ctx *ctx, struct json_object *output)
{
    struct ctx_core *c = ctx_core(ctx);

    json_object_put(c->output);
    c->output = output;
    c->has_output = 1;
    return FH_OK;
}

int
ctx_retry_after(struct fh_ctx *ctx, int64_t ms)
{
    if (ms < CTX_RETRY_AFTER_MIN_MS)
        ms = CTX_RETRY_AFTER_MIN_MS;
    if (ms > CTX_RETRY_AFTER_MAX_MS)
        ms = CTX_RETRY_AFTER_MAX_MS;
    ctx_core(ctx)->retry_after_ms = ms;
    return FH_OK;
}

const char *
ctx_error(struct fh_ctx *ctx)
{
    return ctx_core(ctx)->error;
}
