/* sender.c - fixture: steps that send events (fh_send_event), and a
 * function those events trigger.
 * SPDX-License-Identifier: Apache-2.0
 *
 * "sender" (test/send) records "before" in a step, then "sending" outside
 * any step (so a test sees the send is next), sends data.events as given
 * or else data.count events test/sent ({"from": run id, "n": i}, with
 * "id" data.dedup_id if set), sleeps data.nap if set, and returns the ids.
 * "receiver" (test/sent) records "received". With [plugin sender]
 * database = PATH, records go to table execs(run_id, what, at). */
#include <sqlite3.h>
#include <stdio.h>
#include <time.h>

#include <fnhost.h>

#include "execs_db.h"

static void
record(struct fh_ctx *ctx, const char *what)
{
    sqlite3 *db = ctx->state;
    sqlite3_stmt *s;

    if (db == NULL ||
        sqlite3_prepare_v2(db, "INSERT INTO execs(run_id, what, at)"
                               " VALUES (?, ?, ?)", -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(s, 1, ctx->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, what, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)time(NULL));
    sqlite3_step(s);
    sqlite3_finalize(s);
}

static int
before(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)arg;
    record(ctx, "before");
    *result = json_object_new_string("done");
    return FH_OK;
}

static struct json_object *
events_to_send(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *given = fh_json_get(ev->data, "events"), *out, *copy;
    const char *dedup = fh_json_str(ev->data, "dedup_id");
    int64_t count = 1;

    if (given != NULL) {
        copy = NULL;
        json_object_deep_copy(given, &copy, NULL);
        return copy;
    }
    fh_json_int(ev->data, "count", &count);
    out = json_object_new_array();
    for (int64_t i = 0; i < count; i++) {
        struct json_object *e = json_object_new_object(), *data;

        data = json_object_new_object();
        json_object_object_add(data, "from",
                               json_object_new_string(ctx->run_id));
        json_object_object_add(data, "n", json_object_new_int64(i));
        json_object_object_add(e, "name", json_object_new_string("test/sent"));
        json_object_object_add(e, "data", data);
        if (dedup != NULL)
            json_object_object_add(e, "id", json_object_new_string(dedup));
        json_object_array_add(out, e);
    }
    return out;
}

static int
sender(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *ids = NULL;
    const char *nap = fh_json_str(ev->data, "nap");

    FH_STEP(ctx, "before", before, NULL);
    record(ctx, "sending");
    FH_SEND_EVENT(ctx, "notify", events_to_send(ctx, ev), &ids);
    if (nap != NULL)
        FH_SLEEP(ctx, "nap", nap);
    fh_set_output(ctx, json_object_get(ids));
    return FH_OK;
}

static int
receiver(struct fh_ctx *ctx, const struct fh_event *ev)
{
    record(ctx, "received");
    fh_set_output(ctx, json_object_get(ev->data));
    return FH_OK;
}

static int
sender_load(struct fh_ctx *ctx)
{
    return execs_load(ctx, "run_id TEXT, what TEXT, at INTEGER");
}

static const struct fh_function functions[] = {
    {.id = "sender", .run = sender, .triggers = FH_EVENTS("test/send")},
    {.id = "receiver", .run = receiver, .triggers = FH_EVENTS("test/sent")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "sender", .version = "1.0.0", .functions = functions,
          .load = sender_load, .unload = execs_unload);
