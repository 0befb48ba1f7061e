/* execs_db.h - for fixture plugins that count what they execute: a
 * table "execs" in the SQLite database that [plugin NAME] database names
 * (none: nothing is counted), shared by the workers that run them.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A fixture includes it, and names execs_load() (with its columns) and
 * execs_unload() in its load() and unload(); ctx->state is the database
 * (NULL when none is set). */
#ifndef FNHOST_TEST_EXECS_DB_H
#define FNHOST_TEST_EXECS_DB_H

#include <sqlite3.h>

#include <fnhost.h>

/* Opens the database and makes the table with COLUMNS ("run_id TEXT,
 * what TEXT"): FH_OK, or FH_ERR with the reason. */
static int
execs_load(struct fh_ctx *ctx, const char *columns)
{
    const char *path = fh_config(ctx, "database");
    sqlite3 *db = NULL;
    char sql[256];

    if (path == NULL)
        return FH_OK;
    snprintf(sql, sizeof(sql), "PRAGMA journal_mode=WAL;"
                               " CREATE TABLE IF NOT EXISTS execs(%s)",
             columns);
    /* The wait for a lock is set first: after a kill -9 the first worker
     * to open the database recovers it, and the others' journal_mode
     * would otherwise fail at once with SQLITE_BUSY. */
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 10000) != SQLITE_OK ||
        sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fh_fail(ctx, FH_NO_RETRY, "open %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return FH_ERR;
    }
    ctx->state = db;
    return FH_OK;
}

static void
execs_unload(struct fh_ctx *ctx)
{
    sqlite3_close(ctx->state);
}

#endif
