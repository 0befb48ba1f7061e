/* waits.c - fixture: runs that wait for events.
 * SPDX-License-Identifier: Apache-2.0
 *
 * "wait-match" (test/wait.start) runs step "before", waits for
 * test/wait.login whose data.user_id equals its own, then runs step
 * "after"; its output is {"got": the event or null}. The trigger's data
 * may set "timeout" (default "1h") and "lookback". "wait-if"
 * (test/wait.if.start) waits for test/wait.score with
 * `async.data.score > event.data.min`. "wait-any" (test/wait.any.start)
 * waits for any test/wait.ping. With [plugin waits] database = PATH,
 * each execution of a step is recorded in table execs(run_id, step_id),
 * so tests can prove which steps ran again. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <fnhost.h>

#include "execs_db.h"

static int
load(struct fh_ctx *ctx)
{
    return execs_load(ctx, "run_id TEXT, step_id TEXT");
}

static int
record(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    sqlite3_stmt *s;

    (void)arg;
    if (ctx->state != NULL &&
        sqlite3_prepare_v2(ctx->state, "INSERT INTO execs VALUES (?, ?)", -1,
                           &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, ctx->run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 2, ctx->step_id, -1, SQLITE_STATIC);
        sqlite3_step(s);
        sqlite3_finalize(s);
    }
    *result = json_object_new_string(ctx->step_id);
    return FH_OK;
}

/* The output: what the wait returned. */
static int
done(struct fh_ctx *ctx, struct json_object *got)
{
    struct json_object *out = json_object_new_object();

    json_object_object_add(out, "got", json_object_get(got));
    return fh_set_output(ctx, out);
}

static int
wait_match(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *got;
    const char *timeout = fh_json_str(ev->data, "timeout");

    FH_STEP(ctx, "before", record, NULL);
    FH_WAIT_FOR_EVENT(ctx, "wait-login", &got, .event = "test/wait.login",
                      .match = "data.user_id",
                      .timeout = timeout ? timeout : "1h",
                      .lookback = fh_json_str(ev->data, "lookback"));
    FH_STEP(ctx, "after", record, NULL);
    return done(ctx, got);
}

static int
wait_if(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *got;
    const char *timeout = fh_json_str(ev->data, "timeout");

    FH_WAIT_FOR_EVENT(ctx, "wait-score", &got, .event = "test/wait.score",
                      .if_expr = "async.data.score > event.data.min",
                      .timeout = timeout ? timeout : "1h");
    return done(ctx, got);
}

static int
wait_any(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *got;
    int rc = fh_wait_for_event(ctx, "wait-ping",
                               &(struct fh_wait){.event = "test/wait.ping",
                                                 .timeout = "1h"},
                               &got);

    (void)ev;
    if (rc != FH_OK)
        return rc;
    return done(ctx, got);
}

/* A wait that cannot be: its step fails for good, saying why. */
static int
wait_bad(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *got;

    (void)ev;
    FH_WAIT_FOR_EVENT(ctx, "bad", &got, .event = "test/x",
                      .if_expr = "async.data.n >", .timeout = "1h");
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "wait-match", .run = wait_match,
     .triggers = FH_EVENTS("test/wait.start")},
    {.id = "wait-if", .run = wait_if,
     .triggers = FH_EVENTS("test/wait.if.start")},
    {.id = "wait-any", .run = wait_any,
     .triggers = FH_EVENTS("test/wait.any.start")},
    {.id = "wait-bad", .run = wait_bad,
     .triggers = FH_EVENTS("test/wait.bad.start")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "waits", .version = "1.0.0", .functions = functions,
          .load = load, .unload = execs_unload);
