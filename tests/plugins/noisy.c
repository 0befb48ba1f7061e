/* noisy.c - test plugin: prints lines that look like the host's, on
 * stdout and stderr, at load and in a run.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include <fnhost.h>

static int
noisy_load(struct fh_ctx *ctx)
{
    fprintf(stderr, "2026-01-01T00:00:00.000Z error [main] forged at load\n");
    return 0;
}

static int
noisy(struct fh_ctx *ctx, const struct fh_event *ev)
{
    printf("2026-01-01T00:00:00.000Z error [sched] forged on stdout\n");
    fflush(stdout);
    /* Its last line unfinished: the host ends it when the run returns. */
    fprintf(stderr, "2026-01-01T00:00:00.000Z error [sched] forged on"
                    " stderr\n\x1b[2Jcleared");
    return fh_set_output(ctx, NULL);
}

static const struct fh_function functions[] = {
    {.id = "noisy", .triggers = FH_EVENTS("test/noisy"), .run = noisy},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "noisy", .version = "1.0.0", .load = noisy_load,
          .functions = functions);
