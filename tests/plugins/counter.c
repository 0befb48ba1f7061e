/* counter.c - test plugin: records every execution in its own database.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Fault tests count the rows of execs to prove what ran and how often:
 * one row per attempt that reached the handler, written before it sleeps,
 * so an attempt killed mid-sleep is still counted.
 */
#include <stdint.h>
#include <time.h>

#include <sqlite3.h>

#include <fnhost.h>

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA busy_timeout=10000;"
    "CREATE TABLE IF NOT EXISTS execs ("
    " run_id TEXT, event_id TEXT, attempt INT, at INTEGER)";

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
count(struct fh_ctx *ctx, const struct fh_event *ev)
{
    sqlite3 *db = ctx->state;
    struct json_object *data = fh_event_data(ev), *n = NULL, *v, *out;
    struct json_object *n_copy = NULL;
    const char *event_id = ev->internal_id;
    int64_t sleep_ms = 0;
    sqlite3_stmt *st = NULL;
    int rc;

    if (json_object_object_get_ex(data, "n", &n))
        event_id = json_object_get_string(n);
    if (json_object_object_get_ex(data, "sleep_ms", &v))
        sleep_ms = json_object_get_int64(v);

    /* A statement per call: nothing shared between calls to race on. */
    rc = sqlite3_prepare_v2(db, "INSERT INTO execs VALUES (?1, ?2, ?3, ?4)",
                            -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, ctx->run_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, event_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, ctx->attempt);
        sqlite3_bind_int64(st, 4, now_ms());
        rc = sqlite3_step(st);
    }
    if (rc != SQLITE_DONE)
        fh_fail(ctx, FH_RETRY, "insert exec: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return FH_ERR;

    if (sleep_ms > 0) {
        struct timespec ts = {sleep_ms / 1000, sleep_ms % 1000 * 1000000};

        while (nanosleep(&ts, &ts) != 0)
            ;
    }
    /* A copy, not a reference: the event is borrowed. */
    if (n != NULL && json_object_deep_copy(n, &n_copy, NULL) != 0)
        return fh_fail(ctx, FH_RETRY, "copy data.n: out of memory");
    out = json_object_new_object();
    json_object_object_add(out, "n", n_copy);
    return fh_set_output(ctx, out);
}

static int
counter_load(struct fh_ctx *ctx)
{
    const char *path = fh_config(ctx, "database");
    sqlite3 *db = NULL;

    if (path == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "database is not set");
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK ||
        sqlite3_exec(db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        fh_fail(ctx, FH_NO_RETRY, "open database %s: %s", path,
                db != NULL ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return FH_ERR;
    }
    ctx->state = db;
    return FH_OK;
}

static void
counter_unload(struct fh_ctx *ctx)
{
    sqlite3_close(ctx->state);
    ctx->state = NULL;
}

static const struct fh_function functions[] = {
    {.id = "count",
     .triggers = FH_EVENTS("test/count"),
     .run = count,
     .retries = 20},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "counter", .version = "1.0.0", .functions = functions,
          .load = counter_load, .unload = counter_unload);
