/* steps.c - durable steps inside a worker: ids, replay, checkpoints, sleeps.
 * SPDX-License-Identifier: Apache-2.0 */
#include "steps.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duration.h"
#include "loader.h"
#include "log.h"
#include "proto.h"
#include "util.h"

void
invocation_init(struct invocation *inv, int rfd, int wfd, const char *run_id,
                struct json_object *memo, unsigned attempt,
                unsigned max_attempts)
{
    memset(inv, 0, sizeof(*inv));
    inv->rfd = rfd;
    inv->wfd = wfd;
    inv->run_id = run_id;
    inv->memo = memo;
    inv->owned = json_object_new_array();
    inv->names = json_object_new_object();
    inv->attempt = attempt;
    inv->max_attempts = max_attempts ? max_attempts : 1;
    inv->unit_started = now_ms();
}

void
invocation_fini(struct invocation *inv)
{
    json_object_put(inv->owned);
    json_object_put(inv->names);
    json_object_put(inv->suspend);
    memset(inv, 0, sizeof(*inv));
}

/* "name" the first time in this call, then "name:1", "name:2", ... */
static char *
step_id(struct invocation *inv, const char *name)
{
    struct json_object *n;
    int seen = 0;

    if (json_object_object_get_ex(inv->names, name, &n))
        seen = json_object_get_int(n);
    json_object_object_add(inv->names, name, json_object_new_int(seen + 1));
    return seen == 0 ? xstrdup(name) : xasprintf("%s:%d", name, seen);
}

/* A step record as the store wants it (new). */
static struct json_object *
step_json(const char *id, const char *name, const char *kind,
          const char *status, unsigned attempt, int64_t started,
          int64_t ended)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "step_id", json_object_new_string(id));
    json_object_object_add(o, "name", json_object_new_string(name));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "attempt", json_object_new_int((int)attempt));
    json_object_object_add(o, "started_at", json_object_new_int64(started));
    json_object_object_add(o, "ended_at", json_object_new_int64(ended));
    return o;
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
    /* The next unit of work starts fresh. */
    inv->attempt = 0;
    inv->unit_started = now_ms();
}

static void
set_error(struct host_ctx *c, char *msg, int no_retry)
{
    free(c->error);
    c->error = msg;
    c->no_retry = no_retry;
    c->retry_after_ms = 0;
}

/* Looks ID up in the stored steps: 1 and *RESULT for a result, -1 (and
 * the error in the context) for a failed step, 0 if not stored. */
static int
replay(struct host_ctx *c, const char *id, struct json_object **result)
{
    struct json_object *e, *v;

    if (!json_object_object_get_ex(c->inv->memo, id, &e))
        return 0;
    if (json_object_object_get_ex(e, "error", &v)) {
        set_error(c, xstrdup(json_object_get_string(v)), 1);
        return -1;
    }
    if (result != NULL)
        *result = json_object_object_get(e, "data");
    return 1;
}

static int
no_steps_here(struct host_ctx *c)
{
    set_error(c, xstrdup("steps can only be used inside a handler"), 1);
    return FH_ERR;
}

int
steps_run(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
          struct json_object **result)
{
    struct host_ctx *c = (struct host_ctx *)ctx;
    struct invocation *inv = c->inv;
    struct json_object *res = NULL, *rec;
    int64_t started, ended;
    char *id, *err;
    int rc, final;

    if (result != NULL)
        *result = NULL;
    if (inv == NULL)
        return no_steps_here(c);
    if (inv->suspend != NULL)
        return FH_SUSPENDED; /* the handler went on after a suspension */
    if (name == NULL || *name == '\0' || fn == NULL) {
        set_error(c, xstrdup("fh_step: a step needs a name and a function"),
                  1);
        return FH_ERR;
    }
    id = step_id(inv, name);
    rc = replay(c, id, result);
    if (rc != 0) {
        free(id);
        return rc > 0 ? FH_OK : FH_ERR;
    }

    set_error(c, NULL, 0);
    ctx->attempt = inv->attempt;
    ctx->step_id = id;
    started = now_ms();
    rc = fn(ctx, arg, &res);
    ended = now_ms();
    ctx->step_id = NULL;
    if (rc == FH_OK && json_depth(res) > JSON_EVENT_DEPTH) {
        /* The store and the replay could not read it back. */
        json_object_put(res);
        res = NULL;
        set_error(c, xasprintf("step result nests deeper than %d levels",
                               JSON_EVENT_DEPTH), 1);
        rc = FH_ERR;
    }
    if (rc == FH_OK) {
        struct store_step st = {
            .step_id = id, .name = name, .kind = "run",
            .status = "completed", .attempt = inv->attempt,
            .started_at = started, .ended_at = ended,
            .result = json_object_to_json_string_ext(res,
                                                     JSON_C_TO_STRING_PLAIN)};

        checkpoint(inv, &st);
        if (res != NULL)
            json_object_array_add(inv->owned, res);
        if (result != NULL)
            *result = res;
        ctx->attempt = 0;
        free(id);
        return FH_OK;
    }
    json_object_put(res);
    err = c->error ? xstrdup(c->error)
                   : xasprintf("step returned %d without a reason", rc);
    final = c->no_retry || inv->attempt + 1 >= inv->max_attempts;
    if (final) {
        /* Out of attempts: the failure is the step's result, stored like
         * any other, and the handler decides what it means. */
        struct store_step st = {
            .step_id = id, .name = name, .kind = "run", .status = "failed",
            .error = err, .attempt = inv->attempt, .started_at = started,
            .ended_at = ended};

        checkpoint(inv, &st);
        set_error(c, err, 1);
        ctx->attempt = 0;
        free(id);
        return FH_ERR;
    }
    rec = step_json(id, name, "run", "failed", inv->attempt, started, ended);
    json_object_object_add(rec, "error", json_object_new_string(err));
    inv->suspend = json_object_new_object();
    json_object_object_add(inv->suspend, "kind",
                           json_object_new_string("retry"));
    json_object_object_add(inv->suspend, "step", rec);
    if (c->retry_after_ms > 0)
        json_object_object_add(inv->suspend, "retry_after_ms",
                               json_object_new_int64(c->retry_after_ms));
    set_error(c, err, 0);
    free(id);
    return FH_SUSPENDED;
}

/* Sleeps step ID until AT (ms), or fails it with WHY (new) if not NULL. */
static int
sleep_step(struct host_ctx *c, const char *name, int64_t at, char *why)
{
    struct invocation *inv = c->inv;
    struct json_object *rec;
    int64_t now = now_ms();
    char *id;
    int rc;

    if (inv->suspend != NULL) {
        free(why);
        return FH_SUSPENDED;
    }
    id = step_id(inv, name);
    rc = replay(c, id, NULL);
    if (rc != 0) {
        free(id);
        free(why);
        return rc > 0 ? FH_OK : FH_ERR;
    }
    if (why == NULL && at - now > STEPS_MAX_SLEEP_MS)
        why = xasprintf("sleep \"%s\" is longer than a year", name);
    if (why != NULL) {
        /* Retrying cannot fix a bad duration: the step fails for good. */
        struct store_step st = {
            .step_id = id, .name = name, .kind = "sleep", .status = "failed",
            .error = why, .attempt = inv->attempt, .started_at = now,
            .ended_at = now};

        checkpoint(inv, &st);
        set_error(c, why, 1);
        free(id);
        return FH_ERR;
    }
    if (at <= now) {
        /* Nothing to wait for; replays decide the same way. */
        free(id);
        return FH_OK;
    }
    rec = step_json(id, name, "sleep", "sleeping", inv->attempt, now, now);
    json_object_object_add(rec, "wake_at", json_object_new_int64(at));
    inv->suspend = json_object_new_object();
    json_object_object_add(inv->suspend, "kind",
                           json_object_new_string("sleep"));
    json_object_object_add(inv->suspend, "step", rec);
    free(id);
    return FH_SUSPENDED;
}

int
steps_sleep(struct fh_ctx *ctx, const char *name, const char *duration)
{
    struct host_ctx *c = (struct host_ctx *)ctx;
    char err[256];
    int64_t ms = 0;

    if (c->inv == NULL)
        return no_steps_here(c);
    if (name == NULL || *name == '\0') {
        set_error(c, xstrdup("fh_sleep: a sleep needs a name"), 1);
        return FH_ERR;
    }
    if (duration == NULL ||
        duration_parse(duration, &ms, err, sizeof(err)) != 0)
        return sleep_step(c, name, 0,
                          xasprintf("sleep \"%s\": %s", name,
                                    duration ? err : "no duration"));
    if (ms > STEPS_MAX_SLEEP_MS)
        return sleep_step(c, name, 0,
                          xasprintf("sleep \"%s\": \"%s\" is longer than a"
                                    " year", name, duration));
    return sleep_step(c, name, now_ms() + ms, NULL);
}

int
steps_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms)
{
    struct host_ctx *c = (struct host_ctx *)ctx;

    if (c->inv == NULL)
        return no_steps_here(c);
    if (name == NULL || *name == '\0') {
        set_error(c, xstrdup("fh_sleep_until: a sleep needs a name"), 1);
        return FH_ERR;
    }
    return sleep_step(c, name, at_ms, NULL);
}
