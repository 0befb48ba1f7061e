/* floor.c - the raw SQLite floor for durable step runs.
 * SPDX-License-Identifier: Apache-2.0 */

/*
 * floor [-n RUNS] [-k STEPS] [-g GROUP] [-c CONCURRENT] [-s full|normal]
 *       [-S] DBPATH
 *
 * Writes, straight to SQLite from one thread, the rows fnhost's store
 * writes for RUNS runs of STEPS steps each, and prints how many runs per
 * second that is. It is the ceiling for bench/run.sh's steps benchmark:
 * fnhost does this and HTTP, JSON, routing, worker IPC and the run's
 * code on top.
 *
 * Keep it honest:
 *   - the schema is fnhost's own migrations (host/store_sql.c, linked
 *     in), applied in order, so the same tables and indexes are
 *     maintained;
 *   - the statements are fnhost's own (store_stmt_sql), prepared once;
 *   - the connection has the same PRAGMAs (journal_mode=WAL,
 *     synchronous=FULL by default, default cache and autocheckpoint);
 *   - per run, the same store operations ("ops") in the same order:
 *       events  insert the event, insert the run          (OP_EVENTS)
 *       step    x STEPS: insert the step, insert its attempt; the first
 *               also marks the run running                (OP_STEP)
 *       finish  insert the attempt, update the run completed (OP_FINISH)
 *     (a new run has no start op: fnhost marks it running with its first
 *     checkpoint); -S adds the start op that resumed runs have;
 *   - CONCURRENT runs (default 64, the load's outstanding runs) are in
 *     flight at once and their ops interleave round-robin, as the
 *     different runs' ops share fnhost's groups;
 *   - a transaction (BEGIN IMMEDIATE ... COMMIT) holds GROUP ops, the
 *     group size measured in fnhost's run (default 64).
 *
 * Output, one "key value" per line: runs, steps, group, ops, commits,
 * seconds, runs_per_s, ops_per_s.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store_sql.h"
#include "util.h"

static const char *const step_names[] = {"s1", "s2", "s3", "s4", "s5",
                                         "s6", "s7", "s8", "s9", "s10"};

struct run {
    char id[ULID_LEN + 1];
    char event_id[ULID_LEN + 1];
    int next_op; /* 0 events, 1 start, 2..k+1 steps, k+2 finish */
    int64_t created;
    int active;
};

static sqlite3 *db;
static sqlite3_stmt *stmt[NSTMT];
static const char *event_name, *function_id;
static int nsteps, with_start = 0;

static void
die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, db ? sqlite3_errmsg(db) : "?");
    exit(1);
}

static void
done(sqlite3_stmt *s, const char *what)
{
    if (sqlite3_step(s) != SQLITE_DONE)
        die(what);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static void
text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
}

static void
exec(const char *sql)
{
    char *msg = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "floor: %s: %s\n", sql, msg ? msg : "?");
        exit(1);
    }
}

static void
attempt_row(const char *run_id, const char *step_id, int64_t started,
            int64_t ended)
{
    sqlite3_stmt *a = stmt[S_END_ATTEMPT];

    text(a, 1, run_id);
    text(a, 2, step_id);
    sqlite3_bind_int(a, 3, 0);
    sqlite3_bind_int64(a, 4, started);
    sqlite3_bind_int64(a, 5, ended);
    sqlite3_bind_null(a, 6);
    done(a, "insert attempt");
}

/* Applies the next op of R at time NOW (the group's clock, as in
 * store.c). Returns 1 when the run is finished. */
static int
apply(struct run *r, int64_t now, long seq)
{
    sqlite3_stmt *s;
    char json[128];
    int op = r->next_op++;

    if (op == 0) {
        s = stmt[S_INS_EVENT];
        snprintf(json, sizeof(json),
                 "{\"name\":\"%s\",\"data\":{\"i\":%ld},\"ts\":%lld}",
                 event_name, seq, (long long)now);
        text(s, 1, r->event_id);
        text(s, 2, event_name);
        sqlite3_bind_null(s, 3);
        sqlite3_bind_int64(s, 4, now);
        sqlite3_bind_int64(s, 5, now);
        text(s, 6, json);
        done(s, "insert event");
        s = stmt[S_INS_RUN];
        text(s, 1, r->id);
        text(s, 2, function_id);
        text(s, 3, r->event_id);
        sqlite3_bind_int64(s, 4, now);
        sqlite3_bind_int64(s, 5, now);
        sqlite3_bind_int64(s, 6, now);
        sqlite3_bind_int(s, 13, 0);         /* priority: NOT NULL */
        done(s, "insert run");
        r->created = now;
        if (!with_start)
            r->next_op++;
        return 0;
    }
    if (op == 1) {
        s = stmt[S_START_RUN];
        sqlite3_bind_int(s, 1, 0);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, now);
        text(s, 4, r->id);
        done(s, "start run");
        s = stmt[S_WAKE_STEPS];
        sqlite3_bind_int64(s, 1, now);
        text(s, 2, r->id);
        sqlite3_bind_int64(s, 3, now);
        done(s, "wake steps");
        return 0;
    }
    if (op < 2 + nsteps) {
        const char *name = step_names[op - 2];
        char result[16];

        snprintf(result, sizeof(result), "%d", op - 1);
        s = stmt[S_PUT_STEP];
        text(s, 1, r->id);
        text(s, 2, name);
        text(s, 3, name);
        text(s, 4, "run");
        text(s, 5, "completed");
        text(s, 6, result);
        sqlite3_bind_null(s, 7);
        sqlite3_bind_int(s, 8, 1);
        sqlite3_bind_int64(s, 9, now);
        sqlite3_bind_int64(s, 10, now);
        sqlite3_bind_null(s, 11);
        sqlite3_bind_int64(s, 12, now);
        done(s, "insert step");
        attempt_row(r->id, name, now, now);
        if (op == 2) {
            /* fnhost marks the run running with its first checkpoint only */
            s = stmt[S_STEP_RUN];
            sqlite3_bind_int64(s, 1, now);
            sqlite3_bind_int64(s, 2, now);
            text(s, 3, r->id);
            done(s, "step run");
        }
        return 0;
    }
    attempt_row(r->id, NULL, now, now);
    s = stmt[S_FINISH_RUN];
    text(s, 1, "completed");
    sqlite3_bind_int(s, 2, 0);
    sqlite3_bind_int64(s, 3, 0);
    text(s, 4, "null");
    sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, now);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, r->created);
    text(s, 9, r->id);
    done(s, "finish run");
    return 1;
}

static void
usage(void)
{
    fprintf(stderr, "usage: floor [-n RUNS] [-k STEPS 1..10] [-g GROUP]"
                    " [-c CONCURRENT] [-s full|normal] [-S] DBPATH\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    long nruns = 20000, started = 0, finished = 0, ops = 0, commits = 0;
    int group = 64, conc = 64, opt, in_txn = 0;
    const char *sync = "FULL";
    char sql[256], fname[32], ename[48], *path;
    struct run *runs;
    int64_t t0, t1, now;

    while ((opt = getopt(argc, argv, "n:k:g:c:s:S")) != -1) {
        switch (opt) {
        case 'n': nruns = atol(optarg); break;
        case 'k': nsteps = atoi(optarg); break;
        case 'g': group = atoi(optarg); break;
        case 'c': conc = atoi(optarg); break;
        case 's': sync = optarg; break;
        case 'S': with_start = 1; break;
        default: usage();
        }
    }
    if (optind != argc - 1 || nruns < 1 || nsteps < 0 || nsteps > 10 ||
        group < 1 || conc < 1)
        usage();
    if (nsteps == 0)
        nsteps = 3;
    path = argv[optind];
    snprintf(fname, sizeof(fname), "steps-%d", nsteps);
    snprintf(ename, sizeof(ename), "bench/steps-%d", nsteps);
    function_id = fname;
    event_name = ename;

    for (const char *sfx = ""; sfx != NULL;
         sfx = *sfx == '\0' ? "-wal" : strcmp(sfx, "-wal") == 0 ? "-shm"
                                                                 : NULL) {
        snprintf(sql, sizeof(sql), "%s%s", path, sfx);
        unlink(sql);
    }
    if (sqlite3_open_v2(path, &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                            SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        die("open");
    sqlite3_busy_timeout(db, 10000);
    snprintf(sql, sizeof(sql), "%s PRAGMA journal_mode=WAL; PRAGMA"
             " synchronous=%s; PRAGMA foreign_keys=OFF;", store_new_sql, sync);
    exec(sql);
    for (int v = 0; v < store_nmigrations; v++) {
        exec("BEGIN IMMEDIATE");
        exec(store_migrations[v]);
        snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", v + 1);
        exec(sql);
        exec("COMMIT");
    }
    for (int i = 0; i < NSTMT; i++)
        if (sqlite3_prepare_v3(db, store_stmt_sql[i], -1,
                               SQLITE_PREPARE_PERSISTENT, &stmt[i],
                               NULL) != SQLITE_OK)
            die("prepare");

    runs = xcalloc((size_t)conc, sizeof(*runs));
    t0 = mono_ms();
    now = now_ms();
    while (finished < nruns) {
        for (int i = 0; i < conc && finished < nruns; i++) {
            struct run *r = &runs[i];

            if (!r->active) {
                if (started >= nruns)
                    continue;
                memset(r, 0, sizeof(*r));
                r->active = 1;
                ulid_new(r->event_id, now);
                ulid_new(r->id, now);
                started++;
            }
            if (!in_txn) {
                done(stmt[S_BEGIN], "begin");
                in_txn = 1;
                now = now_ms();
            }
            if (apply(r, now, started)) {
                r->active = 0;
                finished++;
            }
            if (++ops % group == 0) {
                done(stmt[S_COMMIT], "commit");
                in_txn = 0;
                commits++;
            }
        }
    }
    if (in_txn) {
        done(stmt[S_COMMIT], "commit");
        commits++;
    }
    t1 = mono_ms();
    {
        double secs = (double)(t1 - t0) / 1000.0;

        if (secs <= 0)
            secs = 0.001;
        printf("runs %ld\nsteps %d\ngroup %d\nstart_op %d\nops %ld\n"
               "commits %ld\nseconds %.3f\nruns_per_s %.1f\nops_per_s %.1f\n",
               nruns, nsteps, group, with_start, ops, commits, secs,
               (double)nruns / secs, (double)ops / secs);
    }
    for (int i = 0; i < NSTMT; i++)
        sqlite3_finalize(stmt[i]);
    free(runs);
    if (sqlite3_close(db) != SQLITE_OK)
        die("close");
    return 0;
}
