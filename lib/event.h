/* event.h - what makes an event valid, and the form it is stored in: one
 * copy for the host's event API (host/ingest.c) and the SDK's test harness
 * (sdk/fnhost_test.c), so a plugin's unit tests get the events fnhost
 * would hand it and refuse the ones it would refuse.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases. */
#ifndef FNHOST_EVENT_H
#define FNHOST_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* The longest event name and id, in bytes. */
#define EVENT_MAX_NAME 512

/* The length of fnhost's own event ids (ULIDs), without the NUL. */
#define EVENT_ID_LEN 26

/* Validates one event IN (WHERE names it in errors: "event",
 * "events[2]"); returns the copy the host stores (new: name, data without
 * "_inngest", id, ts defaulting to NOW, v, user), or NULL with the reason
 * in ERR. */
struct json_object *event_normalize(struct json_object *in, const char *where,
                                    int64_t now, char *err, size_t errlen);

/* The event an invoked run gets, as Inngest names it. */
#define EVENT_INVOKED "inngest/function.invoked"

/* The event a cron tick's run gets: data {"cron": its schedule}. */
#define EVENT_CRON "inngest/scheduled.timer"

/* Whether NAME is an event the host itself makes and sends to functions
 * (inngest/function.finished, inngest/function.failed,
 * inngest/function.invoked, inngest/scheduled.timer): reserved to clients, but a function may be
 * triggered by it. */
int event_host_made(const char *name);

/* As event_normalize, for events the host makes itself (an invoke's) and
 * for the SDK's test harness, which hands a function what the host
 * would: there a name the host makes (event_host_made()) is allowed. */
struct json_object *event_normalize_internal(struct json_object *in,
                                             const char *where, int64_t now,
                                             char *err, size_t errlen);

#endif
