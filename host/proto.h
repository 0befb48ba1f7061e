/* proto.h - framed JSON messages between the master and its workers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A frame is a 4-byte big-endian length, then that many bytes of body:
 * JSON (it starts with '{'), or a step checkpoint in binary (it starts
 * with PROTO_STEP_TAG).
 * master -> worker: hello {plugins, config}, invoke {run_id, function_id,
 *                   attempt, max_attempts, event_id, event, steps}, ack
 * worker -> master: ready {plugins}, step checkpoints (binary), done
 *                   {run_id, ok, output, error, no_retry, retry_after_ms,
 *                   suspend} */
#ifndef FNHOST_PROTO_H
#define FNHOST_PROTO_H

#include <stddef.h>

#include "store.h"

struct evbuffer;
struct json_object;

#define PROTO_MAX_FRAME (64u << 20)

/* Blocking, for workers: write one message, or read one (new; NULL on EOF
 * or error, with errno set; EPROTO for a bad frame). */
int proto_send(int fd, struct json_object *msg);
struct json_object *proto_recv(int fd);

/* The acknowledgement of a step checkpoint, as its exact bytes: the
 * master sends it, a worker waits for it, and compares rather than parses
 * (it comes once per step). */
#define PROTO_ACK "{\"t\":\"ack\"}"

/* Blocking, for workers: reads one frame and says whether it is exactly
 * PROTO_ACK (1), something else (0; errno EPROTO), or nothing (-1: EOF or
 * error). */
int proto_recv_ack(int fd);

/* A step checkpoint, once per step, is a binary frame that the master
 * decodes in place, not a JSON text to build, print and parse:
 *
 *   'S'  u32 attempt  i64 started_at  i64 ended_at  i64 wake_at
 *   then step_id, name, kind, status, result, error, each as a u32
 *   length (0xffffffff for none), that many bytes, and a NUL
 *
 * integers big-endian; the strings hold no NUL of their own. */
#define PROTO_STEP_TAG 'S'

/* Blocking, for workers: sends STEP as a step frame. */
int proto_send_step(int fd, const struct store_step *step);

/* For the master's bufferevents: append one message to OUT, or one step
 * frame. */
void proto_add(struct evbuffer *out, struct json_object *msg);
void proto_add_step(struct evbuffer *out, const struct store_step *step);

/* A message the master took from a worker: JSON, or a step frame. */
struct proto_msg {
    struct json_object *json; /* new; NULL for a step */
    struct store_step step;   /* its strings valid until the next
                                 proto_take() */
};

/* Takes one whole message from IN if there is one: 1 and *MSG, 0 if more
 * bytes are needed, -1 for a malformed frame. Only one thread may take
 * messages (the step's strings live in a buffer this file reuses). */
int proto_take(struct evbuffer *in, struct proto_msg *msg);

#endif
