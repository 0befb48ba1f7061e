/* plugin_user_sync.c - the user-sync plugin under the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and plugins/user-sync/user_sync.c, linked with the
 * harness library: the plugin runs in this process, with no daemon. */
#include <json-c/json.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static char dir[256];

/* A Clerk user event: NAME, user ID, its email addresses as JSON and the
 * primary one's id (NULL: none). */
static char *
user_event(const char *name, const char *id, const char *emails,
           const char *primary)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"name\":\"%s\",\"id\":\"evt_%s\",\"data\":{\"id\":\"%s\","
             "\"object\":\"user\",\"first_name\":\"Ada\","
             "\"last_name\":\"Lovelace\",\"email_addresses\":%s,"
             "\"primary_email_address_id\":%s%s%s}}",
             name, id, id, emails, primary ? "\"" : "",
             primary ? primary : "null", primary ? "\"" : "");
    return buf;
}

#define ADA_EMAILS                                                          \
    "[{\"id\":\"idn_1\",\"email_address\":\"ada@example.org\"},"            \
    "{\"id\":\"idn_2\",\"email_address\":\"countess@example.org\"}]"

/* One column of the users row of ID in DB ("" if none, NULL if no row). */
static const char *
column(const char *db_path, const char *id, const char *col)
{
    static char out[256];
    sqlite3 *db;
    sqlite3_stmt *q;
    char sql[128];
    const char *ret = NULL;

    snprintf(sql, sizeof(sql), "SELECT %s FROM users WHERE id = ?", col);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return NULL;
    }
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        if (sqlite3_step(q) == SQLITE_ROW) {
            const unsigned char *v = sqlite3_column_text(q, 0);

            snprintf(out, sizeof(out), "%s", v ? (const char *)v : "");
            ret = out;
        }
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return ret;
}

static int
count_users(const char *db_path)
{
    sqlite3 *db;
    sqlite3_stmt *q;
    int n = -1;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) ==
            SQLITE_OK &&
        sqlite3_prepare_v2(db, "SELECT count(*) FROM users", -1, &q, NULL) ==
            SQLITE_OK) {
        if (sqlite3_step(q) == SQLITE_ROW)
            n = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
    }
    sqlite3_close(db);
    return n;
}

static void
test_descriptor(void)
{
    char err[256] = "";

    is_int(fh_test_check(fh_plugin_entry(), err, sizeof(err)), 0,
           "the descriptor passes the host's checks");
    is_str(err, "", "with no complaint");
}

static void
test_sync(void)
{
    char db[300];
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;
    const char *ev;

    snprintf(db, sizeof(db), "%s/app.db", dir);
    ok(t != NULL, "a harness for user-sync");
    fh_test_log_level(t, -1);
    is_int(fh_test_config(t, "database", db), 0, "database is set");
    is_int(fh_test_load(t), 0, "load() opens the app database");
    ok(access(db, F_OK) == 0, "which load() created");

    /* user.created: the row is upserted with the primary email. */
    ev = user_event("clerk/user.created", "user_ada", ADA_EMAILS, "idn_2");
    is_int(fh_test_run(t, "sync-user-from-clerk", ev, &r), 0,
           "user.created runs sync-user-from-clerk");
    is_int(r.status, FH_TEST_COMPLETED, "the run completes");
    is_int(r.rc, FH_OK, "the handler returned FH_OK");
    is_str(r.output, "{\"user_id\":\"user_ada\",\"email\":\"countess@example.org\"}",
           "the output names the user and the primary email");
    is_str(r.error, NULL, "no error");
    is_int(r.nran, 0, "no step ran (the function has none)");
    is_int(r.invocations, 1, "one invocation");
    is_int(r.attempt, 0, "on attempt 0");
    is_int(r.max_attempts, 5, "of 5 (the host's default 4 retries)");
    has_str(fh_test_logged(&r, "synced user"),
            "synced user user_ada <countess@example.org>",
            "the plugin logged the sync");
    is_str(column(db, "user_ada", "email"), "countess@example.org",
           "the row has the primary email, not the first one");
    is_str(column(db, "user_ada", "first_name"), "Ada", "and the first name");
    is_str(column(db, "user_ada", "last_name"), "Lovelace",
           "and the last name");
    fh_test_result_free(&r);

    /* Again, as a redelivery or user.updated: still one row, updated. */
    ev = user_event("clerk/user.updated", "user_ada", ADA_EMAILS, "idn_1");
    is_int(fh_test_run(t, "sync-user-from-clerk", ev, &r), 0,
           "user.updated runs the same function");
    is_int(r.status, FH_TEST_COMPLETED, "and completes");
    is_str(column(db, "user_ada", "email"), "ada@example.org",
           "the row follows the new primary email");
    is_int(count_users(db), 1, "the upsert kept one row");
    fh_test_result_free(&r);

    /* Bad payloads fail at once, without retry. */
    ev = user_event("clerk/user.created", "user_bob",
                    "[{\"id\":\"idn_9\",\"email_address\":\"bob@example.org\"}]",
                    NULL);
    is_int(fh_test_run(t, "sync-user-from-clerk", ev, &r), 0,
           "a user without a primary email runs");
    is_int(r.rc, FH_ERR, "the handler returns FH_ERR");
    is_int(r.status, FH_TEST_FAILED, "the run fails");
    is_int(r.no_retry, 1, "without retry");
    is_str(r.error, "user user_bob has no primary email address:"
                    " primary_email_address_id is not set",
           "the error says why");
    is_str(r.output, NULL, "no output");
    is_str(column(db, "user_bob", "email"), NULL, "no row was written");
    fh_test_result_free(&r);

    ev = user_event("clerk/user.created", "user_bob",
                    "[{\"id\":\"idn_9\",\"email_address\":\"bob@example.org\"}]",
                    "idn_8");
    fh_test_run(t, "sync-user-from-clerk", ev, &r);
    is_int(r.status, FH_TEST_FAILED, "a primary id not in the list fails");
    has_str(r.error, "primary_email_address_id is not among email_addresses",
            "and says so");
    fh_test_result_free(&r);

    fh_test_run(t, "sync-user-from-clerk",
                "{\"name\":\"clerk/user.created\",\"data\":{}}", &r);
    is_str(r.error, "payload has no user id", "a payload without an id fails");
    is_int(r.no_retry, 1, "without retry");
    fh_test_result_free(&r);

    /* user.deleted removes the row; a second delete is still a success. */
    is_int(fh_test_run(t, "delete-user-from-clerk",
                       "{\"name\":\"clerk/user.deleted\",\"data\":"
                       "{\"id\":\"user_ada\",\"deleted\":true,"
                       "\"object\":\"user\"}}", &r), 0,
           "user.deleted runs delete-user-from-clerk");
    is_int(r.status, FH_TEST_COMPLETED, "it completes");
    is_str(r.output, "{\"user_id\":\"user_ada\",\"deleted\":true}",
           "the output says the user was deleted");
    is_str(column(db, "user_ada", "email"), NULL, "the row is gone");
    fh_test_result_free(&r);
    fh_test_run(t, "delete-user-from-clerk",
                "{\"name\":\"clerk/user.deleted\",\"data\":"
                "{\"id\":\"user_ada\"}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a repeated delete completes");
    is_str(r.output, "{\"user_id\":\"user_ada\",\"deleted\":false}",
           "and says there was nothing to delete");
    has_str(fh_test_logged(&r, "deleted"), "(it was not there)",
            "the log says so too");
    fh_test_result_free(&r);

    /* The harness refuses what the host would never run. */
    is_int(fh_test_run(t, "delete-user-from-clerk",
                       user_event("clerk/user.created", "user_x", "[]", NULL),
                       &r), -1,
           "an event that does not trigger the function is refused");
    is_int(r.status, FH_TEST_NOT_RUN, "the result says it did not run");
    has_str(r.error, "event clerk/user.created does not trigger function"
                     " delete-user-from-clerk", "and why");
    has_str(fh_test_error(t), "does not trigger", "so does fh_test_error()");
    fh_test_result_free(&r);
    is_int(fh_test_run(t, "no-such-function",
                       "{\"name\":\"clerk/user.deleted\"}", &r), -1,
           "an unknown function is refused");
    has_str(r.error, "plugin user-sync has no function \"no-such-function\"",
            "by name");
    fh_test_result_free(&r);
    fh_test_run(t, "delete-user-from-clerk", "{\"name\":\"clerk/user.deleted\"",
                &r);
    has_str(r.error, "the event is not JSON", "an event that is not JSON");
    fh_test_result_free(&r);
    fh_test_run(t, "delete-user-from-clerk",
                "{\"name\":\"clerk/user.deleted\",\"data\":[1]}", &r);
    has_str(r.error, "\"data\" must be an object",
            "an event whose data is not an object");
    fh_test_result_free(&r);
    fh_test_free(t);
}

/* Without a database setting, app.db goes to the state folder. */
static void
test_state_dir(void)
{
    char sub[300], db[320];
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;

    snprintf(sub, sizeof(sub), "%s/state", dir);
    snprintf(db, sizeof(db), "%s/app.db", sub);
    mkdir(sub, 0700);
    fh_test_log_level(t, -1);
    fh_test_state_dir(t, sub);
    fh_test_run(t, "sync-user-from-clerk",
                user_event("clerk/user.created", "user_cy", ADA_EMAILS,
                           "idn_1"), &r);
    is_int(r.status, FH_TEST_COMPLETED, "with no database set, a sync works");
    is_str(column(db, "user_cy", "email"), "ada@example.org",
           "into app.db in fh_state_dir()");
    fh_test_result_free(&r);
    fh_test_free(t);
    ok(access(db, F_OK) == 0, "a state folder we chose is left in place");
}

/* A load() that fails refuses the runs, with its reason. */
static void
test_load_fails(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;

    fh_test_log_level(t, -1);
    fh_test_config(t, "database", "/nonexistent/dir/app.db");
    is_int(fh_test_load(t), -1, "load() fails on a database it cannot open");
    has_str(fh_test_error(t), "load() failed: open app database"
                              " /nonexistent/dir/app.db",
            "fh_test_error() gives load()'s reason");
    is_int(fh_test_run(t, "sync-user-from-clerk",
                       user_event("clerk/user.created", "user_d", ADA_EMAILS,
                                  "idn_1"), &r), -1,
           "and runs are refused");
    has_str(r.error, "load() failed", "with the same reason");
    fh_test_result_free(&r);
    fh_test_free(t); /* unload() is not called: load() failed */
}

int
main(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/plugin_user_sync.XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_descriptor();
    test_sync();
    test_state_dir();
    test_load_fails();

    {
        char cmd[300];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            printf("# could not remove %s\n", dir);
    }
    return done_testing();
}
