/* steps.c - durable steps inside a worker: checkpoints and suspensions.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The rules (ids, replay, retries, sleeps) are sdk/fnhost_steps.h, shared
 * with the SDK's test harness; this file supplies the worker's effects: a
 * new outcome becomes a checkpoint the master must acknowledge before the
 * handler goes on, and a retry or a sleep becomes the "suspend" of the
 * invocation's done message. */
#include "steps.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    return fn(ctx, arg, result);
}

/* Sends STEP as a checkpoint and waits until the master says it is
 * durable. A master that is gone ends this worker: nothing the handler
 * does after this point could be recorded. */
static void
checkpoint(struct invocation *inv, const struct store_step *step)
{
    if (proto_send_step(inv->wfd, step) != 0) {
        log_error("worker", "run %s: cannot send a checkpoint: %s",
                  inv->run_id, strerror(errno));
        _exit(1);
    }
    if (proto_recv_ack(inv->rfd) != 1) {
        log_error("worker", "run %s: no acknowledgement for a checkpoint",
                  inv->run_id);
        _exit(1);
    }
}

/* A step record for the done message's "suspend" (new). */
static struct json_object *
step_json(const struct fh_step_outcome_ *o)
{
    struct json_object *j = json_object_new_object();

    json_object_object_add(j, "step_id", json_object_new_string(o->id));
    json_object_object_add(j, "name", json_object_new_string(o->name));
    json_object_object_add(j, "kind", json_object_new_string(o->kind));
    json_object_object_add(j, "status", json_object_new_string(o->status));
    json_object_object_add(j, "attempt", json_object_new_int((int)o->attempt));
    json_object_object_add(j, "started_at",
                           json_object_new_int64(o->started_at));
    json_object_object_add(j, "ended_at", json_object_new_int64(o->ended_at));
    if (o->error != NULL)
        json_object_object_add(j, "error", json_object_new_string(o->error));
    if (o->wake_at > 0)
        json_object_object_add(j, "wake_at",
                               json_object_new_int64(o->wake_at));
    return j;
}

static void
record(struct fh_ctx *ctx, const struct fh_step_outcome_ *o)
{
    struct host_ctx *c = host_of(ctx);
    struct invocation *inv = c->inv;
    int retry = strcmp(o->status, "failed") == 0 && !o->final;

    if (retry || strcmp(o->status, "sleeping") == 0) {
        inv->suspend = json_object_new_object();
        json_object_object_add(inv->suspend, "kind",
                               json_object_new_string(retry ? "retry"
                                                            : "sleep"));
        json_object_object_add(inv->suspend, "step", step_json(o));
        if (retry && c->core.retry_after_ms > 0)
            json_object_object_add(
                inv->suspend, "retry_after_ms",
                json_object_new_int64(c->core.retry_after_ms));
        return;
    }
    {
        struct store_step st = {
            .step_id = o->id, .name = o->name, .kind = o->kind,
            .status = o->status, .error = o->error, .attempt = o->attempt,
            .started_at = o->started_at, .ended_at = o->ended_at,
            .result = o->result_text};

        checkpoint(inv, &st);
    }
}

static const struct fh_steps_ops_ host_ops = {
    .call = call,
    .record = record,
    .now_ms = now_ms,
};

void
invocation_init(struct invocation *inv, int rfd, int wfd, const char *run_id,
                struct json_object *memo, unsigned attempt,
                unsigned max_attempts)
{
    memset(inv, 0, sizeof(*inv));
    inv->rfd = rfd;
    inv->wfd = wfd;
    inv->run_id = run_id;
    fh_steps_init_(&inv->steps, &host_ops, memo, attempt, max_attempts);
}

void
invocation_fini(struct invocation *inv)
{
    fh_steps_fini_(&inv->steps);
    json_object_put(inv->suspend);
    memset(inv, 0, sizeof(*inv));
}

/* The handler call's steps, or NULL outside one. */
static struct fh_steps_ *
steps_of(struct fh_ctx *ctx)
{
    struct invocation *inv = host_of(ctx)->inv;

    return inv != NULL ? &inv->steps : NULL;
}

int
steps_run(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
          struct json_object **result)
{
    return fh_steps_run_(steps_of(ctx), ctx, name, fn, arg, result);
}

int
steps_sleep(struct fh_ctx *ctx, const char *name, const char *duration)
{
    return fh_steps_sleep_(steps_of(ctx), ctx, name, 0, duration, 0);
}

int
steps_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms)
{
    return fh_steps_sleep_(steps_of(ctx), ctx, name, 1, NULL, at_ms);
}

_Static_assert(FH_STEPS_MAX_DEPTH_ == JSON_EVENT_DEPTH,
               "a step result may nest as deep as an event");
