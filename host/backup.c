/* backup.c - copies of the store: a backup taken while fnhost serves, and
 * a restore into a state folder that no host holds.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A backup is SQLite's online backup API reading the store through a
 * read-only connection of its own: in WAL mode its one read transaction
 * sees every commit made before it began (every acknowledged event,
 * step and end), and the host's writer goes on meanwhile. The copy is
 * written next to FILE, checked, synced and renamed over FILE, so FILE
 * is either the old backup or a whole new one. */
#include "backup.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store_sql.h"
#include "util.h"

/* How long a backup or restore waits for a lock SQLite reports busy. */
#define BUSY_MS 10000

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the error into ERR; returns -1. */
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* The int that SQL (one value) gives on DB, or -1. */
static int64_t
value(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Checks that DB (PATH) is whole and an fnhost store this fnhost can
 * open, and fills INFO's counts: 0, or -1 with ERR. */
static int
check_copy(sqlite3 *db, const char *path, struct backup_info *info,
           char *err, size_t errlen)
{
    sqlite3_stmt *s;
    int64_t version;
    const char *verdict;
    int rc;

    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &s, NULL) !=
        SQLITE_OK)
        return fail(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
    rc = sqlite3_step(s);
    verdict = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0)
                               : sqlite3_errmsg(db);
    if (rc != SQLITE_ROW || verdict == NULL || strcmp(verdict, "ok") != 0) {
        snprintf(err, errlen, "%s is damaged: %s", path,
                 verdict ? verdict : "?");
        sqlite3_finalize(s);
        return -1;
    }
    sqlite3_finalize(s);
    version = value(db, "PRAGMA user_version");
    if (version < 1 || value(db, "SELECT count(*) FROM sqlite_master WHERE"
                                 " name IN ('events', 'runs')") != 2)
        return fail(err, errlen, "%s is not an fnhost store", path);
    if (version > store_nmigrations) {
        snprintf(err, errlen, "%s is a store of a newer fnhost (schema %lld,"
                              " this one knows %d): upgrade fnhost", path,
                 (long long)version, store_nmigrations);
        return -1;
    }
    info->events = value(db, "SELECT count(*) FROM events");
    info->runs = value(db, "SELECT count(*) FROM runs");
    info->live = value(db, "SELECT count(*) FROM runs WHERE status IN ("
                           RUN_LIVE_SQL ")");
    info->bytes = value(db, "SELECT page_count * page_size FROM"
                            " pragma_page_count(), pragma_page_size()");
    return 0;
}

/* Copies every page of SRC into DST in one read transaction (a step of
 * all pages: copied piecewise, a commit between two steps would start the
 * copy over). */
static int
copy_db(sqlite3 *dst, sqlite3 *src, const char *what, char *err,
        size_t errlen)
{
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    int rc;

    if (b == NULL)
        return fail(err, errlen, "%s: %s", what, sqlite3_errmsg(dst));
    for (int waited = 0;; waited += 50) {
        rc = sqlite3_backup_step(b, -1);
        if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || waited >= BUSY_MS)
            break;
        usleep(50 * 1000);
    }
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE)
        return fail(err, errlen, "%s: %s", what, sqlite3_errstr(rc));
    return 0;
}

/* Makes PATH's contents and its name durable. */
static int
sync_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *dir, *slash;

    if (fd < 0 || fsync(fd) != 0) {
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, "sync %s: %s", path, strerror(errno));
    }
    close(fd);
    dir = xstrdup(path);
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)!fsync(fd);
        close(fd);
    }
    free(dir);
    return 0;
}

/* Copies the store SRC_PATH (opened with FLAGS) to DST_PATH through a
 * temporary file beside it: checked, in rollback-journal mode (one file,
 * JOURNAL the mode it ends in), synced and renamed. */
static int
copy_store(const char *src_path, int flags, const char *dst_path,
           const char *journal, struct backup_info *info, char *err,
           size_t errlen)
{
    sqlite3 *src = NULL, *dst = NULL;
    char *tmp = xasprintf("%s.tmp-%d", dst_path, (int)getpid());
    char sql[64];
    int rc = -1;

    memset(info, 0, sizeof(*info));
    unlink(tmp);
    if (sqlite3_open_v2(src_path, &src, flags, NULL) != SQLITE_OK) {
        fail(err, errlen, "open %s: %s", src_path,
             src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, BUSY_MS);
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE |
                                       SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fail(err, errlen, "create %s: %s", tmp,
             dst ? sqlite3_errmsg(dst) : "out of memory");
        goto out;
    }
    if (copy_db(dst, src, dst_path, err, errlen) != 0)
        goto out;
    snprintf(sql, sizeof(sql), "PRAGMA journal_mode=%s", journal);
    if (sqlite3_exec(dst, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fail(err, errlen, "%s: %s", dst_path, sqlite3_errmsg(dst));
        goto out;
    }
    if (check_copy(dst, dst_path, info, err, errlen) != 0)
        goto out;
    if (sqlite3_close(dst) != SQLITE_OK) {
        fail(err, errlen, "close %s: %s", tmp, sqlite3_errmsg(dst));
        goto out;
    }
    dst = NULL;
    if (sync_file(tmp, err, errlen) != 0)
        goto out;
    if (rename(tmp, dst_path) != 0) {
        fail(err, errlen, "rename to %s: %s", dst_path, strerror(errno));
        goto out;
    }
    rc = sync_file(dst_path, err, errlen);
out:
    sqlite3_close(dst);
    sqlite3_close(src);
    if (rc != 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

/* Whether A and B name one file (B may not exist). */
static int
same_file(const char *a, const char *b)
{
    struct stat sa, sb;

    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int
backup_store(const char *state_dir, const char *file,
             struct backup_info *info, char *err, size_t errlen)
{
    char *db = xasprintf("%s/fnhost.db", state_dir);
    int rc;

    if (access(db, F_OK) != 0) {
        snprintf(err, errlen, "no store at %s (see --state)", db);
        free(db);
        return -1;
    }
    if (same_file(db, file)) {
        snprintf(err, errlen, "%s is the store itself: back up to another"
                              " file", file);
        free(db);
        return -1;
    }
    /* Read-only: it never writes to the store, nor checkpoints it. */
    rc = copy_store(db, SQLITE_OPEN_READONLY, file, "DELETE", info, err,
                    errlen);
    free(db);
    return rc;
}

/* Moves the store files of STATE_DIR aside, named for NOW; *ASIDE gets
 * the store's new name (NULL if there was none). */
static int
move_aside(const char *state_dir, char **aside, char *err, size_t errlen)
{
    static const char *const suffix[] = {"", "-wal"};
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int rc = 0;

    *aside = NULL;
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    for (size_t i = 0; i < 2 && rc == 0; i++) {
        char *from = xasprintf("%s/fnhost.db%s", state_dir, suffix[i]);
        char *to = xasprintf("%s/fnhost.db.before-restore-%s%s", state_dir,
                             stamp, suffix[i]);

        if (access(from, F_OK) == 0) {
            /* The WAL keeps its store's name: the pair still opens. */
            if (rename(from, to) != 0)
                rc = fail(err, errlen, "move %s aside: %s", from,
                          strerror(errno));
            else if (i == 0)
                *aside = xstrdup(to);
        }
        free(from);
        free(to);
    }
    if (rc == 0) {
        char *shm = xasprintf("%s/fnhost.db-shm", state_dir);

        unlink(shm); /* an index of the WAL, rebuilt from it */
        free(shm);
    }
    return rc;
}

/* Undoes move_aside(): ASIDE goes back to being the store. */
static void
move_back(const char *state_dir, const char *aside)
{
    char *db = xasprintf("%s/fnhost.db", state_dir);
    char *wal_from = xasprintf("%s-wal", aside);
    char *wal_to = xasprintf("%s-wal", db);

    (void)!rename(aside, db);
    if (access(wal_from, F_OK) == 0)
        (void)!rename(wal_from, wal_to);
    free(db);
    free(wal_from);
    free(wal_to);
}

int
restore_store(const char *state_dir, const char *file, char **aside,
              struct backup_info *info, char *err, size_t errlen)
{
    char *lock = xasprintf("%s/fnhost.lock", state_dir);
    char *db = xasprintf("%s/fnhost.db", state_dir);
    struct backup_info src_info;
    sqlite3 *src = NULL;
    int fd = -1, rc = -1;

    *aside = NULL;
    if (access(file, R_OK) != 0) {
        fail(err, errlen, "%s: %s", file, strerror(errno));
        goto out;
    }
    /* Checked before anything moves: a bad file replaces nothing. */
    if (sqlite3_open_v2(file, &src, SQLITE_OPEN_READONLY, NULL) !=
            SQLITE_OK ||
        check_copy(src, file, &src_info, err, errlen) != 0) {
        if (src != NULL && err[0] == '\0')
            fail(err, errlen, "%s: %s", file, sqlite3_errmsg(src));
        goto out;
    }
    sqlite3_close(src);
    src = NULL;
    if (mkdir_p(state_dir, 0700) != 0) {
        fail(err, errlen, "cannot create the state folder %s: %s", state_dir,
             strerror(errno));
        goto out;
    }
    /* The lock fnhost serve takes: none starts while this runs, and none
     * may be running. */
    fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        fail(err, errlen, "cannot open %s: %s", lock, strerror(errno));
        goto out;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32];
        ssize_t n = read(fd, pid, sizeof(pid) - 1);

        pid[n > 0 ? n : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        snprintf(err, errlen, "fnhost (pid %s) is serving the state folder"
                              " %s: stop it first", n > 0 ? pid : "?",
                 state_dir);
        goto out;
    }
    if (move_aside(state_dir, aside, err, errlen) != 0) {
        /* The store moved and its WAL did not: the two go back. */
        if (*aside != NULL) {
            move_back(state_dir, *aside);
            free(*aside);
            *aside = NULL;
        }
        goto out;
    }
    /* WAL, as the host keeps it: the copy is a store as it left it. */
    rc = copy_store(file, SQLITE_OPEN_READONLY, db, "WAL", info, err,
                    errlen);
    if (rc != 0 && *aside != NULL) {
        /* The state folder keeps the store it had. */
        move_back(state_dir, *aside);
        free(*aside);
        *aside = NULL;
    }
out:
    sqlite3_close(src);
    if (fd >= 0)
        close(fd);
    free(lock);
    free(db);
    return rc;
}
