/* crash.c - test plugin: kills its worker on the first attempt.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Under ASan the SIGSEGV is caught and the worker exits 1 instead: the
 * host must count either as a failed attempt.
 */
#include <stdlib.h>
#include <string.h>

#include <fnhost.h>

/* Out of line and unsanitized: inlined, it would take on the caller's
 * UBSan checks, which stop at the null and exit without a fault. */
__attribute__((noinline, no_sanitize("undefined"))) static void
segfault(void)
{
    /* Volatile twice: the compiler can neither see the null nor drop the
     * store. */
    volatile int *volatile p = NULL;

    *p = 1;
}

static int
crash(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *mode = fh_json_str(fh_event_data(ev), "mode");
    struct json_object *out;

    if (ctx->attempt == 0 && mode != NULL && strcmp(mode, "segv") == 0)
        segfault();
    if (ctx->attempt == 0 && mode != NULL && strcmp(mode, "abort") == 0)
        abort();
    out = json_object_new_object();
    json_object_object_add(out, "survived_attempt",
                           json_object_new_int64(ctx->attempt));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "crash", .triggers = FH_EVENTS("test/crash"), .run = crash},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "crash", .version = "1.0.0", .functions = functions);
