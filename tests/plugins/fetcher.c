/* fetcher.c - fixture: fetch steps (fh_fetch()) made by the host.
 * SPDX-License-Identifier: Apache-2.0
 *
 * "fetcher" (test/fetch) records "fetching" outside any step (so a test
 * counts how often the handler went past it), fetches data.url with
 * data.method, data.headers (a list of "Name: value"), data.body and
 * data.timeout if set, sleeps data.nap if set (so the run replays the
 * fetch), and returns {"response": the response}. A fetch that fails for
 * good fails the run with its error. With data.twice, it fetches
 * data.url again under a second name, and returns both. With [plugin
 * fetcher] database = PATH, records go to table execs(run_id, what). */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <fnhost.h>

#include "execs_db.h"

static void
record(struct fh_ctx *ctx, const char *what)
{
    sqlite3 *db = ctx->state;
    sqlite3_stmt *s;

    if (db == NULL ||
        sqlite3_prepare_v2(db, "INSERT INTO execs(run_id, what)"
                               " VALUES (?, ?)", -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_text(s, 1, ctx->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, what, -1, SQLITE_STATIC);
    sqlite3_step(s);
    sqlite3_finalize(s);
}

#define MAX_HEADERS 8

static int
fetcher(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *headers[MAX_HEADERS + 1] = {NULL};
    struct json_object *list = fh_json_get(ev->data, "headers");
    struct json_object *resp = NULL, *again = NULL, *out;
    const char *nap = fh_json_str(ev->data, "nap");
    int twice = 0;
    size_t n = 0;

    for (; list != NULL && n < json_object_array_length(list) &&
           n < MAX_HEADERS;
         n++)
        headers[n] = json_object_get_string(json_object_array_get_idx(list, n));
    fh_json_bool(ev->data, "twice", &twice);
    record(ctx, "fetching");
    FH_FETCH(ctx, "call",
             FH_FETCH_REQ(.url = fh_json_str(ev->data, "url"),
                          .method = fh_json_str(ev->data, "method"),
                          .headers = n > 0 ? headers : NULL,
                          .body = fh_json_str(ev->data, "body"),
                          .timeout = fh_json_str(ev->data, "timeout")),
             &resp);
    if (twice)
        FH_FETCH(ctx, "again",
                 FH_FETCH_REQ(.url = fh_json_str(ev->data, "url")), &again);
    if (nap != NULL)
        FH_SLEEP(ctx, "nap", nap);
    record(ctx, "done");
    out = json_object_new_object();
    json_object_object_add(out, "response", json_object_get(resp));
    if (again != NULL)
        json_object_object_add(out, "again", json_object_get(again));
    fh_set_output(ctx, out);
    return FH_OK;
}

static int
fetcher_load(struct fh_ctx *ctx)
{
    return execs_load(ctx, "run_id TEXT, what TEXT");
}

static const struct fh_function functions[] = {
    {.id = "fetcher", .run = fetcher, .triggers = FH_EVENTS("test/fetch"),
     .opts = FH_OPTS(.retries = 2)},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "fetcher", .version = "1.0.0", .functions = functions,
          .load = fetcher_load, .unload = execs_unload);
