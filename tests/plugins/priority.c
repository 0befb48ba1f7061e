/* priority.c - fixture: priority.run (fh_function_opts.priority), whose
 * runs say in which order they started.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each run's step "work" appends "start NAME RUN" to $FNHOST_TEST_PRIO/log
 * (NAME is data.name) and, when data.hold is true, holds its worker until
 * the gate $FNHOST_TEST_PRIO/open/NAME exists. A test holds the one slot
 * with such a run, queues others behind it, opens the gate and reads the
 * order of the lines: no timing.
 *
 *   prio-conc   test/prio-conc: 1 at a time (a concurrency key's queue)
 *   prio-any    test/prio-any: no limit of its own (the ready queue and
 *               the due scan, behind workers that are all busy)
 * Both have the priority event.data.p: a number, or anything else. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fnhost.h>

#include "say.h"

static int
work(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    const char *dir = getenv("FNHOST_TEST_PRIO");
    const char *name = fh_json_str(ev->data, "name");
    struct json_object *hold;
    char line[512], gate[4096];

    if (dir == NULL || name == NULL)
        return FH_OK;
    snprintf(line, sizeof(line), "start %s %s\n", name, ctx->run_id);
    say(dir, line);
    snprintf(gate, sizeof(gate), "%s/open/%s", dir, name);
    if (json_object_object_get_ex(ev->data, "hold", &hold) &&
        json_object_get_boolean(hold))
        while (access(gate, F_OK) != 0)
            usleep(10000);
    return FH_OK;
}

static int
run_work(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "work", work, ev);
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "prio-conc", .run = run_work,
     .triggers = FH_EVENTS("test/prio-conc"),
     .opts = FH_OPTS(.concurrency = {{.limit = 1}},
                     .priority = "event.data.p")},
    {.id = "prio-any", .run = run_work,
     .triggers = FH_EVENTS("test/prio-any"),
     .opts = FH_OPTS(.priority = "event.data.p")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "priority", .version = "1.0.0", .functions = functions);
