/* steps.c - durable steps inside a worker: checkpoints and suspensions.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The rules (ids, replay, retries, sleeps) are lib/steprules.h, shared
 * with the SDK's test harness; this file supplies the worker's effects: a
 * new outcome becomes a checkpoint the master must acknowledge before the
 * handler goes on, and a retry or a sleep ends the invocation, its step
 * record sent with the done message (host/proto.h). */
#include "steps.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "expr.h"
#include "loader.h"
#include "log.h"
#include "proto.h"
#include "util.h"

static struct host_ctx *
host_of(struct fh_ctx *ctx)
{
    return (struct host_ctx *)ctx;
}

static int
call(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
     struct json_object **result)
{
    (void)name;
    host_of(ctx)->inv->live = 1; /* a step runs now: no replay is left */
    return fn(ctx, arg, result);
}

/* Checkpoints sent ahead that may wait for their acknowledgements at
 * once: enough for any run of short steps to share commits, few enough
 * that the master's replies never fill the pipe while nobody reads it. */
#define AHEAD_MAX 256

/* Reads one acknowledgement. A master that is gone ends this worker:
 * nothing the handler does after this point could be recorded. */
static void
await_ack(struct invocation *inv)
{
    int rc = proto_recv_ack(inv->rfd);

    if (rc != 1 && rc != 2) {
        log_error("worker", "run %s: no acknowledgement for a checkpoint",
                  inv->run_id);
        _exit(1);
    }
    inv->cancelled |= rc == 2;
    inv->unacked--;
}

/* Sends STEP as a checkpoint and, unless the function checkpoints ahead,
 * waits until the master says it is durable. The master acknowledges in
 * the order it received, after each commit. */
static void
checkpoint(struct invocation *inv, const struct step_record *step)
{
    if (proto_put_step(inv->out, step) != 0 ||
        proto_write(inv->wfd, inv->out) != 0) {
        log_error("worker", "run %s: cannot send a checkpoint: %s",
                  inv->run_id, strerror(errno));
        _exit(1);
    }
    inv->unacked++;
    while (inv->unacked > (inv->ahead ? AHEAD_MAX - 1 : 0))
        await_ack(inv);
    /* Cancelled: this step is durable, and the handler stops here. (A
     * function that checkpoints ahead reads its acks late, so it stops
     * at the first boundary where it does, or runs to its end.) */
    if (inv->cancelled)
        steprules_cancel(&inv->steps);
}

/* The step record of outcome O; its strings borrowed from O. */
static struct step_record
record_of(const struct step_outcome *o)
{
    struct step_record st = {
        .step_id = o->id, .name = o->name, .kind = o->kind,
        .status = o->status, .result = o->result_text, .error = o->error,
        .attempt = o->attempt, .started_at = o->started_at,
        .ended_at = o->ended_at, .wake_at = o->wake_at,
        .events = o->events, .target = o->target,
        .wait_event = o->wait_event, .wait_match = o->wait_match,
        .wait_value = o->wait_value, .wait_if = o->wait_if,
        .lookback_ms = o->lookback_ms};

    return st;
}

static void
record(struct fh_ctx *ctx, const struct step_outcome *o)
{
    struct host_ctx *c = host_of(ctx);
    struct invocation *inv = c->inv;
    struct step_record st = record_of(o);
    int retry = strcmp(o->status, "failed") == 0 && !o->final;
    int fetch = strcmp(o->status, "fetching") == 0;
    int wait = strcmp(o->status, "waiting") == 0;
    int group = strcmp(o->status, "parallel") == 0;
    int branch = o->branch && !retry;

    if (!retry && !fetch && !wait && !group && !branch &&
        strcmp(o->status, "sleeping") != 0 &&
        strcmp(o->status, "invoking") != 0) {
        checkpoint(inv, &st);
        return;
    }
    /* A retry, a sleep, an invoke, a fetch, a wait, a parallel group or
     * a branch's outcome ends the invocation: the step goes with its done
     * message, in the same record a checkpoint is (a fetch's request, a
     * group's plan as its result). O's strings do not outlive this
     * call. */
    inv->suspend = retry    ? PROTO_SUSPEND_RETRY
                   : fetch  ? PROTO_SUSPEND_FETCH
                   : wait   ? PROTO_SUSPEND_WAIT
                   : group  ? PROTO_SUSPEND_PARALLEL
                   : branch ? PROTO_SUSPEND_BRANCH
                            : PROTO_SUSPEND_SLEEP;
    step_owned_free(&inv->step);
    step_owned_set(&inv->step, &st, 1);
}

/* A wait's `if`: refused in the worker, where the step fails for good
 * with the reason, rather than in the store, where it could only match
 * nothing. */
static int
check_expr(const char *src, char *err, size_t errlen)
{
    struct expr *e = expr_compile(src, err, errlen);

    expr_free(e);
    return e != NULL ? 0 : -1;
}

/* A stored step came back: replayed code runs until the last has. */
static void
replayed(struct fh_ctx *ctx, const char *id)
{
    (void)id;
    host_of(ctx)->inv->replayed++;
}

int
invocation_replaying(const struct invocation *inv)
{
    /* A branch's invocation sees its whole group's steps stored and
     * replays only some: its lines always count. */
    return inv->steps.target == NULL && !inv->live &&
           inv->replayed < inv->stored;
}

static const struct steprules_ops host_ops = {
    .call = call,
    .replayed = replayed,
    .record = record,
    .now_ms = now_ms,
    .new_id = ulid_new,
    .check_expr = check_expr,
};

void
invocation_init(struct invocation *inv, int rfd, int wfd,
                struct proto_buf *out, const char *run_id,
                struct json_object *memo, unsigned attempt,
                unsigned max_attempts, int ahead)
{
    memset(inv, 0, sizeof(*inv));
    inv->ahead = ahead;
    inv->rfd = rfd;
    inv->wfd = wfd;
    inv->out = out;
    inv->run_id = run_id;
    inv->stored = memo != NULL ? (unsigned)json_object_object_length(memo)
                               : 0;
    steprules_init(&inv->steps, &host_ops, memo, attempt, max_attempts);
}

void
invocation_fini(struct invocation *inv)
{
    steprules_fini(&inv->steps);
    step_owned_free(&inv->step);
    memset(inv, 0, sizeof(*inv));
}

/* The handler call's steps, or NULL outside one. */
static struct steprules *
steps_of(struct fh_ctx *ctx)
{
    struct invocation *inv = host_of(ctx)->inv;

    return inv != NULL ? &inv->steps : NULL;
}

int
steps_run(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
          struct json_object **result)
{
    return steprules_run(steps_of(ctx), ctx, name, fn, arg, result);
}

int
steps_send(struct fh_ctx *ctx, const char *name, struct json_object *events,
           struct json_object **ids)
{
    return steprules_send(steps_of(ctx), ctx, name, events, ids);
}

int
steps_invoke(struct fh_ctx *ctx, const char *name, const struct fh_invoke *req,
             struct json_object **result)
{
    return steprules_invoke(steps_of(ctx), ctx, name, req, result);
}

int
steps_fetch(struct fh_ctx *ctx, const char *name, const struct fh_fetch *req,
            struct json_object **response)
{
    return steprules_fetch(steps_of(ctx), ctx, name, req, response);
}

int
steps_sleep(struct fh_ctx *ctx, const char *name, const char *duration)
{
    return steprules_sleep(steps_of(ctx), ctx, name, 0, duration, 0);
}

int
steps_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms)
{
    return steprules_sleep(steps_of(ctx), ctx, name, 1, NULL, at_ms);
}

int
steps_wait_for_event(struct fh_ctx *ctx, const char *name,
                     const struct fh_wait *wait, struct json_object **event)
{
    return steprules_wait(steps_of(ctx), ctx, name, wait, event);
}

int
steps_parallel(struct fh_ctx *ctx, const char *name,
               const struct fh_parallel *req, struct json_object **results,
               size_t *winner)
{
    return steprules_parallel(steps_of(ctx), ctx, name, req, results,
                              winner);
}

_Static_assert(STEPRULES_MAX_DEPTH == JSON_EVENT_DEPTH,
               "a step result may nest as deep as an event");
