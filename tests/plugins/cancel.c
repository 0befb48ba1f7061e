/* cancel.c - fixture: runs to cancel, counting what they execute.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Every step body appends its name as a line to DIR/RUN_ID.log, DIR being
 * the event's data.dir, so a test counts what ran from the side effects,
 * not from timings. A step "hold" appends "hold", then waits until the
 * file DIR/go exists: a test cancels the run while it is inside.
 *
 * Functions with cancelOn rules (tests/integration/cancel_on.sh): "nap"
 * (test/nap, a sleeper) is cancelled by test/nap.stop with the same
 * data.user, by test/nap.halt when its `if` holds, and by test/nap.brief
 * with the same data.user within 3s of its creation only; "waiter"
 * (test/waiter) waits 10m for test/never, cancelled by test/waiter.stop,
 * and "holder" (test/holder, as held) by test/holder.stop, both with the
 * same data.user. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fnhost.h>

static const char *
dir_of(const struct fh_event *ev)
{
    const char *d = fh_json_str(ev->data, "dir");

    return d != NULL ? d : "/tmp";
}

/* Appends NAME as a line to DIR/RUN_ID.log. */
static void
note(struct fh_ctx *ctx, const struct fh_event *ev, const char *name)
{
    char path[4096], line[256];
    int fd, n;

    snprintf(path, sizeof(path), "%s/%s.log", dir_of(ev), ctx->run_id);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return;
    n = snprintf(line, sizeof(line), "%s\n", name);
    (void)!write(fd, line, (size_t)n);
    close(fd);
}

/* A step that notes itself. */
static int
noted(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;

    note(ctx, ev, ctx->step_id);
    *result = json_object_new_string(ctx->step_id);
    return FH_OK;
}

/* A step that notes itself, then waits for DIR/go (at most a minute). */
static int
hold(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    char path[4096];

    note(ctx, ev, ctx->step_id);
    snprintf(path, sizeof(path), "%s/go", dir_of(ev));
    for (int i = 0; i < 6000 && access(path, F_OK) != 0; i++)
        usleep(10000);
    *result = json_object_new_string("held");
    return FH_OK;
}

/* hold, then two, then three. */
static int
held(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "hold", hold, (void *)ev);
    FH_STEP(ctx, "two", noted, (void *)ev);
    FH_STEP(ctx, "three", noted, (void *)ev);
    return FH_OK;
}

/* before, a sleep of data.sleep, then after. */
static int
sleeper(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *d = fh_json_str(ev->data, "sleep");

    FH_STEP(ctx, "before", noted, (void *)ev);
    FH_SLEEP(ctx, "nap", d != NULL ? d : "1s");
    FH_STEP(ctx, "after", noted, (void *)ev);
    return FH_OK;
}

/* Notes each attempt, and fails it asking for a retry an hour later. */
static int
retry_later(struct fh_ctx *ctx, const struct fh_event *ev)
{
    note(ctx, ev, "attempt");
    fh_retry_after(ctx, 3600 * 1000);
    return fh_fail(ctx, FH_RETRY, "not yet");
}

/* before, a wait of 10m for test/never, then after. */
static int
waiter(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *got = NULL;

    FH_STEP(ctx, "before", noted, (void *)ev);
    FH_WAIT_FOR_EVENT(ctx, "never", &got, .event = "test/never",
                      .timeout = "10m");
    FH_STEP(ctx, "after", noted, (void *)ev);
    return FH_OK;
}

/* One step. */
static int
once(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "only", noted, (void *)ev);
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "cancel-held", .run = held,
     .triggers = FH_EVENTS("test/cancel-held")},
    {.id = "cancel-sleeper", .run = sleeper,
     .triggers = FH_EVENTS("test/cancel-sleeper")},
    {.id = "cancel-retry", .run = retry_later,
     .triggers = FH_EVENTS("test/cancel-retry")},
    {.id = "cancel-once", .run = once,
     .triggers = FH_EVENTS("test/cancel-once")},
    {.id = "cancel-start", .run = once,
     .triggers = FH_EVENTS("test/cancel-start"),
     .opts = FH_OPTS(.timeouts = {.start = "1s"})},
    {.id = "cancel-finish", .run = sleeper,
     .triggers = FH_EVENTS("test/cancel-finish"),
     .opts = FH_OPTS(.timeouts = {.finish = "1s"})},
    {.id = "nap", .run = sleeper, .triggers = FH_EVENTS("test/nap"),
     .opts = FH_OPTS(.cancel_on = {
                         {.event = "test/nap.stop", .match = "data.user"},
                         {.event = "test/nap.halt",
                          .if_expr = "async.data.code == event.data.code"
                                     " && async.data.ok"},
                         {.event = "test/nap.brief", .match = "data.user",
                          .timeout = "3s"}})},
    {.id = "waiter", .run = waiter, .triggers = FH_EVENTS("test/waiter"),
     .opts = FH_OPTS(.cancel_on = {{.event = "test/waiter.stop",
                                    .match = "data.user"}})},
    {.id = "holder", .run = held, .triggers = FH_EVENTS("test/holder"),
     .opts = FH_OPTS(.cancel_on = {{.event = "test/holder.stop",
                                    .match = "data.user"}})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "cancel", .version = "1.0.0", .functions = functions);
