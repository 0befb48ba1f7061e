/* lifecycle.h - the lifecycle events the store writes itself, in the
 * transaction that ends a run cancelled: inngest/function.cancelled and
 * inngest/function.finished, for the functions that subscribe.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A run ends cancelled inside the writer's transactions (a DELETE, a bulk
 * cancellation, a timeout, a step boundary, a cancelOn event, a restart),
 * where the loop's generation is out of reach. So the loop gives the
 * store a copy of what it needs from each generation: the functions that
 * these two names trigger, with their `if` compiled again for the
 * writer's thread alone. */
#ifndef FNHOST_LIFECYCLE_H
#define FNHOST_LIFECYCLE_H

#include <stddef.h>
#include <stdint.h>

struct generation;
struct store_new_event;
struct text_buf;

#define EVENT_FN_FINISHED "inngest/function.finished"
#define EVENT_FN_FAILED "inngest/function.failed"
#define EVENT_FN_CANCELLED "inngest/function.cancelled"

struct lifecycle;

/* Whether NAME is a lifecycle event: a run one of them started emits
 * none, or a function that subscribes to them would start itself
 * without end. */
int lifecycle_is_event(const char *name);

/* The subscribers of G (NULL: none) to the events of a cancelled run,
 * whose dedup window is WINDOW_MS; NULL when no function subscribes. On
 * the loop's thread; the result then belongs to one thread at a time. */
struct lifecycle *lifecycle_new(const struct generation *g,
                                int64_t window_ms);
void lifecycle_free(struct lifecycle *l);

/* The dedup window of the events lifecycle_cancelled() makes. */
int64_t lifecycle_window(const struct lifecycle *l);

/* The events that run RUN_ID of FUNCTION_ID, triggered by TRIGGER_JSON
 * (its event's text, or NULL), emits at NOW as it ends cancelled, into
 * *EVS (new, *N of them, each with the runs it starts; free with
 * lifecycle_events_free()). Their texts live in TEXT (the caller's, to
 * free). None when the trigger is itself a lifecycle event, or when no
 * subscriber's `if` holds. */
void lifecycle_cancelled(struct lifecycle *l, const char *run_id,
                         const char *function_id, const char *trigger_json,
                         int64_t now, struct store_new_event **evs, size_t *n,
                         struct text_buf *text);
void lifecycle_events_free(struct store_new_event *evs, size_t n);

#endif
