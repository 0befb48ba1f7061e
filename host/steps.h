/* steps.h - durable steps inside a worker: ids, replay, checkpoints, sleeps.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A handler call in a worker owns a struct invocation. Each step call gets
 * its id ("name", then "name:1", ...), returns the stored result when the
 * master sent one, and otherwise runs the step and sends its result to the
 * master, waiting for the acknowledgement that it is durable before the
 * handler goes on. Sleeps and retries suspend the handler: the run is
 * resumed later by a new invocation that replays the stored steps. The
 * rules are lib/steprules.h, shared with the SDK's test harness. */
#ifndef FNHOST_STEPS_H
#define FNHOST_STEPS_H

#include <stdint.h>

#include "fnhost.h"
#include "steprules.h"
#include "proto.h"

struct json_object;

struct invocation {
    int rfd, wfd;                 /* from and to the master */
    struct proto_buf *out;        /* frames to the master, borrowed */
    const char *run_id;           /* borrowed */
    struct steprules steps;       /* the rules' state: ids seen, attempt,
                                     when the unit running now began */
    int ahead;                    /* checkpoint ahead: go on before acks */
    unsigned unacked;             /* checkpoints sent, not yet acknowledged */
    int cancelled;                /* an ack said the run was cancelled */
    enum proto_suspend suspend;   /* why the handler must stop, if it must */
    unsigned logged;              /* log lines sent with the run */
    unsigned stored, replayed;    /* steps stored before this call, and
                                     how many of them it has replayed */
    int live;                     /* a step has run in this call: what
                                     follows is new, whatever is left of
                                     the stored ones */
    struct step_owned step;       /* then: the sleep, the wait, the
                                     group, the branch's step, or the
                                     step to retry */
};

/* Starts a handler call's steps: MEMO (borrowed) holds the stored ones,
 * OUT carries checkpoints over WFD, and acknowledgements come on RFD.
 * With AHEAD, a step returns once its checkpoint is sent, not durable. */
void invocation_init(struct invocation *inv, int rfd, int wfd,
                     struct proto_buf *out, const char *run_id,
                     struct json_object *memo, unsigned attempt,
                     unsigned max_attempts, int ahead);

void invocation_fini(struct invocation *inv);

/* Whether the handler is still replaying what earlier invocations did:
 * not every stored step has come back yet, and none has run anew (code
 * that no longer reaches a stored step does not keep it replaying). Lines
 * it logs meanwhile were stored with the run the first time (Inngest's
 * logger skips them too). */
int invocation_replaying(const struct invocation *inv);

/* The fh_api entries; see sdk/fnhost.h. */
int steps_run(struct fh_ctx *ctx, const char *name, fh_step_fn fn, void *arg,
              struct json_object **result);
int steps_send(struct fh_ctx *ctx, const char *name, struct json_object *events,
               struct json_object **ids);
int steps_invoke(struct fh_ctx *ctx, const char *name,
                 const struct fh_invoke *req, struct json_object **result);
int steps_fetch(struct fh_ctx *ctx, const char *name,
                const struct fh_fetch *req, struct json_object **response);
int steps_sleep(struct fh_ctx *ctx, const char *name, const char *duration);
int steps_sleep_until(struct fh_ctx *ctx, const char *name, int64_t at_ms);
int steps_parallel(struct fh_ctx *ctx, const char *name,
                   const struct fh_parallel *req, struct json_object **results,
                   size_t *winner);
int steps_wait_for_event(struct fh_ctx *ctx, const char *name,
                         const struct fh_wait *wait,
                         struct json_object **event);

#endif
