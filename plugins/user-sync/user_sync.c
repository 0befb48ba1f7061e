/* user_sync.c - keeps the app's users table in step with Clerk's users.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The Clerk -> Inngest example in C: clerk/user.created and
 * clerk/user.updated upsert the user with its primary email, and
 * clerk/user.deleted removes it. Events arrive at least once and may be
 * redelivered, so both writes are idempotent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include <fnhost.h>

/* The plugin's state: one connection and its statements per worker. */
struct app_db {
    sqlite3 *db;
    sqlite3_stmt *upsert;
    sqlite3_stmt *delete;
};

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA busy_timeout=5000;"
    "CREATE TABLE IF NOT EXISTS users ("
    " id TEXT PRIMARY KEY,"
    " email TEXT NOT NULL,"
    " first_name TEXT,"
    " last_name TEXT,"
    " updated_at INTEGER NOT NULL)";

static const char upsert_sql[] =
    "INSERT INTO users (id, email, first_name, last_name, updated_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5)"
    " ON CONFLICT(id) DO UPDATE SET email = excluded.email,"
    " first_name = excluded.first_name, last_name = excluded.last_name,"
    " updated_at = excluded.updated_at";

static const char delete_sql[] = "DELETE FROM users WHERE id = ?1";

static void
app_db_close(struct app_db *app)
{
    if (app == NULL)
        return;
    sqlite3_finalize(app->upsert);
    sqlite3_finalize(app->delete);
    sqlite3_close(app->db);
    free(app);
}

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The address of the email whose id is primary_email_address_id. On
 * failure *why says which part of the payload is missing. */
static const char *
primary_email(struct json_object *user, const char **why)
{
    struct json_object *list;
    const char *primary = fh_json_str(user, "primary_email_address_id");
    size_t n;

    if (primary == NULL) {
        *why = "primary_email_address_id is not set";
        return NULL;
    }
    *why = "primary_email_address_id is not among email_addresses";
    if (!json_object_object_get_ex(user, "email_addresses", &list) ||
        !json_object_is_type(list, json_type_array))
        return NULL;
    n = json_object_array_length(list);
    for (size_t i = 0; i < n; i++) {
        struct json_object *e = json_object_array_get_idx(list, i);
        const char *id = fh_json_str(e, "id");

        if (id != NULL && strcmp(id, primary) == 0) {
            const char *address = fh_json_str(e, "email_address");

            if (address == NULL)
                *why = "the primary email has no email_address";
            return address;
        }
    }
    return NULL;
}

static int
sync_user(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct app_db *app = ctx->state;
    struct json_object *user = fh_event_data(ev), *out;
    const char *id = fh_json_str(user, "id"), *email, *why;
    sqlite3_mutex *mu = sqlite3_db_mutex(app->db);
    int rc;

    if (id == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "payload has no user id");
    if ((email = primary_email(user, &why)) == NULL)
        return fh_fail(ctx, FH_NO_RETRY,
                       "user %s has no primary email address: %s", id, why);

    /* The connection's own mutex keeps bind, step, errmsg and reset one
     * sequence should the host ever run handlers on several threads; it is
     * NULL, and these calls no-ops, in a single-threaded SQLite. Strings
     * are bound static: the event outlives the statement's reset. */
    sqlite3_mutex_enter(mu);
    sqlite3_bind_text(app->upsert, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(app->upsert, 2, email, -1, SQLITE_STATIC);
    sqlite3_bind_text(app->upsert, 3, fh_json_str(user, "first_name"), -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(app->upsert, 4, fh_json_str(user, "last_name"), -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(app->upsert, 5, now_ms());
    rc = sqlite3_step(app->upsert);
    if (rc != SQLITE_DONE)
        fh_fail(ctx, FH_RETRY, "upsert user %s: %s", id,
                sqlite3_errmsg(app->db));
    sqlite3_reset(app->upsert);
    sqlite3_clear_bindings(app->upsert);
    sqlite3_mutex_leave(mu);
    if (rc != SQLITE_DONE)
        return FH_ERR;

    if ((out = json_object_new_object()) == NULL)
        return fh_fail(ctx, FH_RETRY, "out of memory for the output");
    json_object_object_add(out, "user_id", json_object_new_string(id));
    json_object_object_add(out, "email", json_object_new_string(email));
    fh_set_output(ctx, out);
    fh_log(ctx, FH_LOG_INFO, "synced user %s <%s>", id, email);
    return FH_OK;
}

static int
delete_user(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct app_db *app = ctx->state;
    struct json_object *out;
    const char *id = fh_json_str(fh_event_data(ev), "id");
    sqlite3_mutex *mu = sqlite3_db_mutex(app->db);
    bool deleted;
    int rc;

    /* DeletedObjectJSON types id as optional. */
    if (id == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "payload has no user id");

    sqlite3_mutex_enter(mu);
    sqlite3_bind_text(app->delete, 1, id, -1, SQLITE_STATIC);
    rc = sqlite3_step(app->delete);
    if (rc != SQLITE_DONE)
        fh_fail(ctx, FH_RETRY, "delete user %s: %s", id,
                sqlite3_errmsg(app->db));
    deleted = rc == SQLITE_DONE && sqlite3_changes(app->db) > 0;
    sqlite3_reset(app->delete);
    sqlite3_clear_bindings(app->delete);
    sqlite3_mutex_leave(mu);
    if (rc != SQLITE_DONE)
        return FH_ERR;

    /* A redelivered delete finds no row: still a success. */
    if ((out = json_object_new_object()) == NULL)
        return fh_fail(ctx, FH_RETRY, "out of memory for the output");
    json_object_object_add(out, "user_id", json_object_new_string(id));
    json_object_object_add(out, "deleted", json_object_new_boolean(deleted));
    fh_set_output(ctx, out);
    fh_log(ctx, FH_LOG_INFO, "deleted user %s%s", id,
           deleted ? "" : " (it was not there)");
    return FH_OK;
}

static int
user_sync_load(struct fh_ctx *ctx)
{
    const char *path = fh_config(ctx, "database");
    char def[4096];
    struct app_db *app;
    int rc;

    if (path == NULL) {
        /* Beside fnhost's own state: .fnhost/app.db by default. */
        snprintf(def, sizeof(def), "%s/app.db", fh_state_dir(ctx));
        path = def;
    }

    if ((app = calloc(1, sizeof(*app))) == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "open app database %s: %s", path,
                       "out of memory");
    rc = sqlite3_open_v2(path, &app->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(app->db, schema_sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(app->db, upsert_sql, -1,
                                SQLITE_PREPARE_PERSISTENT, &app->upsert, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v3(app->db, delete_sql, -1,
                                SQLITE_PREPARE_PERSISTENT, &app->delete, NULL);
    if (rc != SQLITE_OK) {
        /* A NULL db (no memory) still has an error string. */
        fh_fail(ctx, FH_NO_RETRY, "open app database %s: %s", path,
                app->db != NULL ? sqlite3_errmsg(app->db)
                                : sqlite3_errstr(rc));
        app_db_close(app);
        return FH_ERR;
    }
    ctx->state = app;
    return FH_OK;
}

static void
user_sync_unload(struct fh_ctx *ctx)
{
    app_db_close(ctx->state);
    ctx->state = NULL;
}

static const struct fh_function functions[] = {
    {.id = "sync-user-from-clerk",
     .name = "Sync user from Clerk",
     .triggers = FH_EVENTS("clerk/user.created", "clerk/user.updated"),
     .run = sync_user},
    {.id = "delete-user-from-clerk",
     .name = "Delete user from Clerk",
     .triggers = FH_EVENTS("clerk/user.deleted"),
     .run = delete_user},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "user-sync", .version = "1.0.0", .functions = functions,
          .load = user_sync_load, .unload = user_sync_unload);
