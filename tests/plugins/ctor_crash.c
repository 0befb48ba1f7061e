/* ctor_crash.c - test plugin: crashes in its constructor, inside dlopen().
 * SPDX-License-Identifier: Apache-2.0
 *
 * The descriptor is valid, but the process that opens the .so dies before
 * it can read it. That process must never be the master.
 */
#include <signal.h>

#include <fnhost.h>

__attribute__((constructor)) static void
crash_on_open(void)
{
    raise(SIGSEGV);
}

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "ctor-crash", .triggers = FH_EVENTS("test/ctor-crash"), .run = noop},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "ctor-crash", .version = "1.0.0", .functions = functions);
