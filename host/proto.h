/* proto.h - every message between the master and its workers, both ways.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One encoder (proto_put_*) and one decoder per message, used by both
 * sides, the unit tests and the fuzzer alike. A frame is a 4-byte
 * big-endian length, then that many bytes of body.
 *
 * master -> worker, JSON: a worker needs the event, the stored steps and
 * the plugin config as json-c objects anyway.
 *   hello   {"t":"hello","plugins":[path...],"config":{...},"log_level":s}
 *   invoke  {"t":"invoke","run_id","function_id","attempt","max_attempts",
 *            "event_id","target","steps":{...},"events":[...],
 *            "event":{...}}; the stored event and step results go in as
 *            the texts they were stored as; "target" only in a parallel
 *            branch, "events" only for a batch
 *   ack     PROTO_ACK, compared as bytes (it comes once per step), or
 *           PROTO_ACK_CANCEL: durable, and the run is cancelled
 *
 * worker -> master, binary, decoded in place: a step comes once per step,
 * and the master reads processes that run plugin code, so it parses no
 * JSON from them at all.
 *   ready   'R' u32 plugins
 *   step    'S' record                             (a checkpoint)
 *   log     'L' u8 level i64 at str text           (fh_log in a run:
 *           stored with it; text UTF-8, at most PROTO_LOG_MAX bytes)
 *   done    'D' u8 flags (1 ok, 2 no_retry, 4 cancelled) u8 suspend
 *           (enum proto_suspend)
 *           u32 attempt i64 unit_started_at i64 retry_after_ms
 *           str output str error, then the record when it suspends,
 *           then, when it waits, i64 lookback_ms str event str match
 *           str value str if
 *   record  u32 attempt i64 started_at i64 ended_at i64 wake_at
 *           str step_id str name str kind str status str result str error
 *   str     u32 length (0xffffffff for none), that many bytes, a NUL; no
 *           NUL of its own
 * integers big-endian. A step thus travels in one form, struct
 * step_record, whether it is a checkpoint or the sleep or retry an
 * invocation ends in. */
#ifndef FNHOST_PROTO_H
#define FNHOST_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "step_record.h"

struct evbuffer;
struct json_object;

#define PROTO_MAX_FRAME (64u << 20)

/* The acknowledgement of a step checkpoint, as its exact bytes; and the
 * one that also says the run was cancelled: stop at this boundary. */
#define PROTO_ACK "{\"t\":\"ack\"}"
#define PROTO_ACK_CANCEL "{\"t\":\"ack\",\"cancel\":1}"

enum proto_type {
    PROTO_UNKNOWN,
    PROTO_HELLO,  /* master -> worker */
    PROTO_INVOKE,
    PROTO_ACK_MSG,
    PROTO_READY,  /* worker -> master */
    PROTO_STEP,
    PROTO_DONE,
    PROTO_LOG,
};

/* The longest line of a run's log a worker sends (it cuts longer ones). */
#define PROTO_LOG_MAX 2048

/* log: a line a plugin logged in a run. The text is borrowed. */
struct proto_log {
    int level;      /* enum log_level: 0 error .. 3 debug */
    int64_t at;     /* ms */
    const char *text;
};

/* hello: what a new worker loads. */
struct proto_hello {
    const char **plugins;       /* the generation's copies; read: new array
                                   (free it) of strings borrowed from the
                                   message */
    size_t nplugins;
    struct json_object *config; /* the plugin config, borrowed */
    const char *log_level;      /* "debug" or "info"; NULL for neither */
    int log_json;               /* log lines as JSON objects */
};

/* invoke: one invocation of a run. Strings and objects are borrowed. */
struct proto_invoke {
    const char *run_id;
    const char *function_id;
    const char *event_id;       /* the internal ULID */
    unsigned attempt;
    unsigned max_attempts;
    int checkpoint_ahead;       /* the worker goes on before each ack */
    const char *event_json;     /* put: the event as stored (the text of an
                                   object; anything else goes as null) */
    struct json_object *event;  /* read: the event object */
    const char *events_json;    /* put: a batch's events, a JSON array
                                   text of {"internal_id", "event"}, the
                                   first EVENT_JSON; NULL: the one event */
    struct json_object *events; /* read: that array, or NULL */
    const struct step_memo *memo; /* put: the stored steps
                                     (store_run_steps()), or NULL */
    uint64_t state_bytes;       /* what MEMO holds, as step_memo_bytes()
                                   counts it (the scheduler counted it
                                   once, at dispatch) */
    struct json_object *steps;  /* read: the stored steps,
                                   {"step id": {"data": result} |
                                   {"error": "message"}}, or NULL */
    const char *target;         /* a branch's invocation: the step id of
                                   the parallel step it runs; RUN_ID is
                                   then the run the group is in. NULL
                                   otherwise */
};

enum proto_suspend {
    PROTO_SUSPEND_NONE,
    PROTO_SUSPEND_SLEEP, /* the step is a sleep */
    PROTO_SUSPEND_RETRY, /* the step failed an attempt and is retried */
    PROTO_SUSPEND_FETCH, /* the step is a fetch: the host makes it */
    PROTO_SUSPEND_WAIT,  /* the step waits for an event */
    PROTO_SUSPEND_PARALLEL, /* the step is a parallel group: its plan */
    PROTO_SUSPEND_BRANCH,   /* a branch's invocation ended (ok) with its
                               target step's outcome: the record */
};

/* done: how an invocation ended. Strings are borrowed. */
struct proto_done {
    int ok;                  /* the handler returned FH_OK */
    int no_retry;
    int cancelled;           /* it stopped at a cancel (PROTO_ACK_CANCEL) */
    enum proto_suspend suspend;
    unsigned attempt;        /* of the unit (step or handler code) it ended
                                in */
    int64_t unit_started_at;
    int64_t retry_after_ms;
    const char *output;      /* JSON text when ok, or NULL for none */
    const char *error;       /* why it failed, or NULL */
    struct step_record step; /* when it suspends: the sleep, the wait or
                                the step to retry */
};

/* Bytes of frames on their way out. */
struct proto_buf {
    unsigned char *data;
    size_t len, cap;
};

void proto_buf_free(struct proto_buf *b);

/* Encoders: each appends one whole frame to B. The worker's return 0, or
 * -1 (errno EMSGSIZE, B unchanged) for a frame over PROTO_MAX_FRAME; the
 * master's own messages are not checked (a worker refuses one). */
void proto_put_hello(struct proto_buf *b, const struct proto_hello *h);
void proto_put_invoke(struct proto_buf *b, const struct proto_invoke *inv);
void proto_put_ack(struct proto_buf *b);
void proto_put_ack_cancel(struct proto_buf *b);
void proto_put_ready(struct proto_buf *b, unsigned nplugins);
int proto_put_step(struct proto_buf *b, const struct step_record *st);
int proto_put_done(struct proto_buf *b, const struct proto_done *d);
int proto_put_log(struct proto_buf *b, const struct proto_log *l);

/* Blocking, for workers: writes B's bytes to FD in one call where it can
 * (the master wakes once per message) and empties B. 0, or -1 with
 * errno. */
int proto_write(int fd, struct proto_buf *b);

/* ----------------------------------------------------- worker side */

/* Blocking: reads one message of the master's (new; NULL on EOF or error,
 * with errno set, 0 for a clean EOF; EPROTO for a bad frame). */
struct json_object *proto_recv(int fd);

/* The body of a JSON frame as its object (new), or NULL if it is not one
 * JSON object. */
struct json_object *proto_parse(const char *body, size_t len);

/* Which message MSG (from proto_recv) is; PROTO_UNKNOWN for none. */
enum proto_type proto_type_of(struct json_object *msg);

/* Decoders of the master's messages: 0, or -1 when a field the worker
 * needs is missing or of the wrong type. Results borrow from MSG. */
int proto_read_hello(struct json_object *msg, struct proto_hello *h);
int proto_read_invoke(struct json_object *msg, struct proto_invoke *inv);

/* Blocking: reads one frame and says whether it is exactly PROTO_ACK (1),
 * PROTO_ACK_CANCEL (2), something else (0; errno EPROTO), or nothing (-1:
 * EOF or error). */
int proto_recv_ack(int fd);

/* ----------------------------------------------------- master side */

/* A message the master took from a worker. Its strings point into a
 * buffer proto.c reuses: valid until the next proto_take(). */
struct proto_msg {
    enum proto_type type;    /* PROTO_READY, PROTO_STEP, PROTO_DONE or
                                PROTO_LOG */
    unsigned plugins;        /* ready: how many plugins the worker loaded */
    struct step_record step; /* step */
    struct proto_done done;  /* done */
    struct proto_log log;    /* log */
    const char *why; /* proto_take() said -1 for what a well-formed frame
                        holds: what the master refuses (static), or NULL */
};

/* Takes one whole message from IN if there is one: 1 and *MSG, 0 if more
 * bytes are needed, -1 for a malformed frame (dropped whole when its
 * length was readable). Only one thread may take messages. */
int proto_take(struct evbuffer *in, struct proto_msg *msg);

#endif
