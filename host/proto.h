/* proto.h - framed JSON messages between the master and its workers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A frame is a 4-byte big-endian length, then that many bytes of JSON.
 * master -> worker: hello {plugins, config}, invoke {run_id, function_id,
 *                   attempt, max_attempts, event_id, event}
 * worker -> master: ready {plugins}, done {run_id, ok, output, error,
 *                   no_retry, retry_after_ms} */
#ifndef FNHOST_PROTO_H
#define FNHOST_PROTO_H

#include <stddef.h>

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

/* For the master's bufferevents: append one message to OUT. */
void proto_add(struct evbuffer *out, struct json_object *msg);

/* Takes one whole message from IN if there is one: 1 and *MSG (new), 0 if
 * more bytes are needed, -1 for a malformed frame. */
int proto_take(struct evbuffer *in, struct json_object **msg);

#endif
