/* registry.c - generations of plugins and the functions they declare.
 * SPDX-License-Identifier: Apache-2.0 */
#include "registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "conc.h"
#include "config.h"
#include "cron_sched.h"
#include "expr.h"
#include "fnopt.h"
#include "loader.h"
#include "log.h"
#include "router.h"
#include "util.h"

/* How many plugins are described at once. */
#define DESCRIBE_BATCH 32

/* Set by the loop's thread, read by the build thread. */
static atomic_int cancel;

void
registry_cancel_builds(void)
{
    atomic_store(&cancel, 1);
}

const struct fn_info *
registry_find(const struct generation *g, const char *id)
{
    if (g == NULL)
        return NULL;
    for (size_t i = 0; i < g->nfns; i++)
        if (!g->fns[i].unloaded && strcmp(g->fns[i].id, id) == 0)
            return &g->fns[i];
    return NULL;
}

/* Any function with ID, unloaded ones included. */
static const struct fn_info *
find_any(const struct generation *g, const char *id)
{
    for (size_t i = 0; i < g->nfns; i++)
        if (strcmp(g->fns[i].id, id) == 0)
            return &g->fns[i];
    return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The one rule for what fnhost loads, for serve and check alike (sshd's
 * StrictModes): code that others could have written is code anyone can
 * run. ST is a plugin file, or its folder if IS_DIR; NAME names the
 * folder in the message (a file's name is the caller's prefix). */
static int
check_mode(const struct stat *st, int is_dir, const char *name, char *err,
           size_t errlen)
{
    char where[512] = "";
    const char *it = is_dir ? "it" : "the file";

    if (is_dir)
        snprintf(where, sizeof(where), "plugin folder %s: ", name);
    if (is_dir ? !S_ISDIR(st->st_mode) : !S_ISREG(st->st_mode))
        return check_fail(err, errlen, "%snot a %s", where,
                          is_dir ? "folder" : "regular file");
    /* A sticky folder lets others add files, but not replace ours: what
     * they add is theirs, and refused below for its owner. */
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
        !(is_dir && (st->st_mode & S_ISVTX)))
        return check_fail(err, errlen, "%srefused: %s is writable by %s%s"
                                       " (mode %03o); run chmod go-w on it",
                          where, it,
                          st->st_mode & S_IWOTH ? "others" : "its group",
                          is_dir ? " and not sticky" : "",
                          (unsigned)(st->st_mode & 0777));
    if (st->st_uid != geteuid() && st->st_uid != 0)
        return check_fail(err, errlen, "%srefused: %s is owned by uid %u,"
                                       " not by this user (%u) or root",
                          where, it, (unsigned)st->st_uid,
                          (unsigned)geteuid());
    return 0;
}

/* Checks the plugin folder DIR by the rule of check_mode(). */
static int
check_folder(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (stat(dir, &st) != 0)
        return check_fail(err, errlen, "plugin folder %s: %s", dir,
                          strerror(errno));
    return check_mode(&st, 1, dir, err, errlen);
}

int
registry_check_plugin(const char *path, char *err, size_t errlen)
{
    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0 || fstat(fd, &st) != 0)
        rc = check_fail(err, errlen, "cannot read: %s", strerror(errno));
    else if ((rc = check_mode(&st, 0, NULL, err, errlen)) == 0)
        rc = check_folder(slash == NULL ? "." : slash == dir ? "/"
                                                : (*slash = '\0', dir),
                          err, errlen);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

/* A function's expressions: fnopt.h's table. */
#define fn_exprs fnopt_exprs
#define NFN_EXPRS FNOPT_NEXPRS

/* The modes of a singleton, by their name in the descriptor and in GET
 * /v1/functions. */
static const char *const singleton_modes[] = {
    [SINGLETON_SKIP] = "skip",
    [SINGLETON_CANCEL] = "cancel",
};

/* The mode named NAME, or SINGLETON_NONE. */
static int
singleton_mode(const char *name)
{
    for (int m = SINGLETON_SKIP; m <= SINGLETON_CANCEL; m++)
        if (strcmp(singleton_modes[m], name) == 0)
            return m;
    return SINGLETON_NONE;
}

/* Where F keeps expression K of fn_exprs. */
static struct expr **
fn_expr(struct fn_info *f, size_t k)
{
    return (struct expr **)((char *)f + fn_exprs[k].fn);
}

/* F's expression K of fn_exprs, or NULL. */
static const struct expr *
fn_expr_get(const struct fn_info *f, size_t k)
{
    return *(struct expr *const *)((const char *)f + fn_exprs[k].fn);
}

/* Copies SRC to DST whole, refusing files check_mode() refuses: the copy
 * is checked on the descriptor it is read from. */
static int
copy_plugin(const char *src, const char *dst, char *err, size_t errlen)
{
    char tmp[4096], buf[65536];
    struct stat st;
    int in, out = -1;
    ssize_t r;

    in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0 || fstat(in, &st) != 0) {
        snprintf(err, errlen, "cannot read: %s", strerror(errno));
        goto fail;
    }
    if (check_mode(&st, 0, NULL, err, errlen) != 0)
        goto fail;
    snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
    out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0500);
    if (out < 0) {
        snprintf(err, errlen, "cannot write %.300s: %s", tmp, strerror(errno));
        goto fail;
    }
    while ((r = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)r) != r) {
            snprintf(err, errlen, "cannot write %.300s: %s", tmp,
                     strerror(errno));
            goto fail;
        }
    }
    if (r < 0 || close(out) != 0) {
        out = -1;
        snprintf(err, errlen, "copy failed: %s", strerror(errno));
        goto fail;
    }
    out = -1;
    if (rename(tmp, dst) != 0) {
        snprintf(err, errlen, "cannot rename into %.300s: %s", dst,
                 strerror(errno));
        goto fail;
    }
    close(in);
    return 0;

fail:
    if (out >= 0) {
        close(out);
        unlink(tmp);
    }
    if (in >= 0)
        close(in);
    return -1;
}

static int
is_str(struct json_object *o, const char *key, size_t max)
{
    struct json_object *v;

    return json_object_object_get_ex(o, key, &v) &&
           json_object_is_type(v, json_type_string) &&
           json_object_get_string_len(v) > 0 &&
           (size_t)json_object_get_string_len(v) <= max;
}

/* The string KEY of rule R, or NULL when absent; *BAD is set when it is
 * there and not a string. */
static const char *
rule_str(struct json_object *r, const char *key, int *bad)
{
    struct json_object *v;

    if (!json_object_object_get_ex(r, key, &v))
        return NULL;
    if (!json_object_is_type(v, json_type_string)) {
        *bad = 1;
        return NULL;
    }
    return json_object_get_string(v);
}

/* Checks a described function's "cancel_on" (see loader.c) as the
 * plugin's own check does. 0, or -1 with ERR. */
static int
check_declared_cancel_on(struct json_object *list, char *err, size_t errlen)
{
    size_t n = json_object_array_length(list);

    check_expr = loader_check_expr;
    if (!json_object_is_type(list, json_type_array) || n == 0 ||
        n > FH_CANCEL_ON_MAX) {
        snprintf(err, errlen, "cancel_on: expected 1 to %d rules",
                 FH_CANCEL_ON_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(list, i), *t;
        struct fh_cancel_on c = {0};
        char why[200];
        int bad = 0;
        int64_t ms;

        c.event = rule_str(r, "event", &bad);
        c.match = rule_str(r, "match", &bad);
        c.if_expr = rule_str(r, "if", &bad);
        ms = json_object_object_get_ex(r, "timeout_ms", &t) &&
                     json_object_is_type(t, json_type_int)
                 ? json_object_get_int64(t)
                 : -1;
        if (bad || ms <= 0 || ms > CANCEL_ON_MAX_MS) {
            snprintf(err, errlen, "cancel_on[%zu]: malformed", i);
            return -1;
        }
        if (check_cancel_rule(&c, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "cancel_on[%zu]: %s", i, why);
            return -1;
        }
    }
    return 0;
}

/* Checks LIST, a descriptor's "cron": 1 to FH_CRON_MAX schedules that
 * parse, no two alike. 0, or -1 with ERR. */
static int
check_declared_cron(struct json_object *list, char *err, size_t errlen)
{
    size_t n = json_object_is_type(list, json_type_array)
                   ? json_object_array_length(list) : 0;

    if (n == 0 || n > FH_CRON_MAX) {
        snprintf(err, errlen, "cron: malformed");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(list, i);
        const char *spec = json_object_get_string(v);
        struct cron c;
        char why[128];

        if (!json_object_is_type(v, json_type_string)) {
            snprintf(err, errlen, "cron: malformed");
            return -1;
        }
        if (cron_parse(spec, &c, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "cron \"%.64s\": %s", spec, why);
            return -1;
        }
        cron_clear(&c);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(json_object_get_string(
                           json_object_array_get_idx(list, j)),
                       spec) == 0) {
                snprintf(err, errlen, "cron \"%.64s\" is there twice",
                         spec);
                return -1;
            }
        }
    }
    return 0;
}

/* The describe process ran plugin code: its answer is checked like any
 * outside input before the master relies on it. */
static int
check_descriptor(struct json_object *d, char *err, size_t errlen)
{
    struct json_object *fns, *v;
    char why[256];

    if (!json_object_is_type(d, json_type_object) ||
        !is_str(d, "name", 64) || !is_str(d, "version", 256) ||
        !is_str(d, "abi", 16) ||
        !json_object_object_get_ex(d, "functions", &fns) ||
        !json_object_is_type(fns, json_type_array)) {
        snprintf(err, errlen, "the describe process gave a malformed"
                              " descriptor");
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(fns); i++) {
        struct json_object *f = json_object_array_get_idx(fns, i), *tr;

        if (!json_object_is_type(f, json_type_object) ||
            !is_str(f, "id", 128 + sizeof(CHECK_FAILURE_SUFFIX)) ||
            !is_str(f, "name", 256) ||
            (json_object_object_get_ex(f, "failure_of", &v) &&
             !is_str(f, "failure_of", 128)) ||
            !json_object_object_get_ex(f, "triggers", &tr) ||
            !json_object_is_type(tr, json_type_array) ||
            (json_object_array_length(tr) == 0 &&
             !json_object_object_get_ex(f, "cron", &v)) ||
            !json_object_object_get_ex(f, "options", &v) ||
            fnopt_check_declared(v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "the describe process gave a malformed"
                                  " function %zu", i);
            return -1;
        }
        if (json_object_object_get_ex(f, "singleton", &v) &&
            (!json_object_is_type(v, json_type_string) ||
             singleton_mode(json_object_get_string(v)) == SINGLETON_NONE)) {
            snprintf(err, errlen, "the describe process gave a malformed"
                                  " function %zu", i);
            return -1;
        }
        if ((json_object_object_get_ex(f, "cancel_on", &v) &&
             check_declared_cancel_on(v, why, sizeof(why)) != 0) ||
            conc_check_declared(json_object_object_get(f, "concurrency"),
                                json_object_object_get(f, "options"), why,
                                sizeof(why)) != 0) {
            snprintf(err, errlen, "function %s: %s",
                     json_object_get_string(json_object_object_get(f, "id")),
                     why);
            return -1;
        }
        if (json_object_object_get_ex(f, "cron", &v) &&
            check_declared_cron(v, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "function %s: %s",
                     json_object_get_string(json_object_object_get(f, "id")),
                     why);
            return -1;
        }
        for (size_t k = 0; k < NFN_EXPRS; k++) {
            const char *key = fn_exprs[k].json;
            struct expr *e;

            if (!json_object_object_get_ex(f, key, &v))
                continue;
            if (!is_str(f, key, EXPR_MAX_SOURCE)) {
                snprintf(err, errlen, "the describe process gave a malformed"
                                      " function %zu", i);
                return -1;
            }
            if ((e = expr_compile(json_object_get_string(v), why,
                                  sizeof(why))) == NULL) {
                snprintf(err, errlen, "function %s: %s: %s",
                         json_object_get_string(
                             json_object_object_get(f, "id")),
                         key, why);
                return -1;
            }
            expr_free(e);
        }
        for (size_t t = 0; t < json_object_array_length(tr); t++) {
            struct json_object *tv = json_object_array_get_idx(tr, t);

            if (!json_object_is_type(tv, json_type_string) ||
                check_trigger(json_object_get_string(tv), why,
                                     sizeof(why)) != 0) {
                snprintf(err, errlen, "the describe process gave a bad"
                                      " trigger for function %zu", i);
                return -1;
            }
        }
    }
    return 0;
}

/* One describe child: `fnhost describe FILE`, whose answer comes back on
 * a pipe. Several run at once, so that plugins whose load() hangs cost one
 * load_timeout together, not one each, one after another. */
struct describe {
    pid_t pid;  /* 0: never started (ERR says why) */
    int fd;     /* the answer's pipe; -1 once at its end */
    char *buf;
    size_t len, cap;
    int status;   /* from waitpid, once reaped */
    int reaped;
    int timed_out;
    char err[256]; /* why it could not start */
};

/* Starts describing PATH with CFG (JSON text) as the plugin config. On
 * failure D->pid stays 0 and D->err says why. */
static void
describe_start(struct describe *d, const char *path, const char *cfg)
{
    int inp[2], outp[2];
    pid_t pid;

    memset(d, 0, sizeof(*d));
    d->fd = -1;
    if (pipe2(inp, O_CLOEXEC) != 0)
        goto sys_fail;
    if (pipe2(outp, O_CLOEXEC) != 0) {
        close(inp[0]);
        close(inp[1]);
        goto sys_fail;
    }
    pid = fork();
    if (pid < 0) {
        close(inp[0]), close(inp[1]), close(outp[0]), close(outp[1]);
        goto sys_fail;
    }
    if (pid == 0) {
        /* The descriptor comes back on fd 3; whatever the plugin prints
         * on stdout goes to our log instead of corrupting it. */
        dup2(inp[0], 0);
        dup2(outp[1], 3);
        dup2(2, 1);
        child_before_exec();
        execl("/proc/self/exe", "fnhost", "describe", path, (char *)NULL);
        _exit(127);
    }
    close(inp[0]);
    close(outp[1]);
    /* The config is small; a pipe holds 64 KiB, so this does not block. */
    (void)!write(inp[1], cfg, strlen(cfg));
    close(inp[1]);
    d->pid = pid;
    d->fd = outp[0];
    return;

sys_fail:
    snprintf(d->err, sizeof(d->err), "cannot start the describe process: %s",
             strerror(errno));
}

/* Reads the answers of the N children in DS until each has closed its pipe
 * and exited, or DEADLINE (mono_ms) passes or a cancel comes: those left
 * are killed and marked timed out. Every child is reaped. */
static void
describe_collect(struct describe *ds, size_t n, int64_t deadline)
{
    struct pollfd *pfd = xcalloc(n ? n : 1, sizeof(*pfd));

    for (;;) {
        size_t np = 0, left_open = 0;
        int64_t left = deadline - mono_ms();

        for (size_t i = 0; i < n; i++) {
            struct describe *d = &ds[i];

            if (d->pid != 0 && !d->reaped && d->fd < 0) {
                /* It closed its pipe; it may still hang before exiting. */
                pid_t r = waitpid(d->pid, &d->status, WNOHANG);

                if (r == d->pid || (r < 0 && errno != EINTR))
                    d->reaped = 1;
            }
            if (d->pid != 0 && !d->reaped)
                left_open++;
        }
        if (left_open == 0)
            break;
        if (left <= 0 || atomic_load(&cancel)) {
            for (size_t i = 0; i < n; i++) {
                struct describe *d = &ds[i];

                if (d->pid == 0 || d->reaped)
                    continue;
                kill(d->pid, SIGKILL);
                while (waitpid(d->pid, &d->status, 0) < 0 && errno == EINTR)
                    ;
                d->reaped = 1;
                d->timed_out = 1;
            }
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (ds[i].fd >= 0) {
                pfd[np].fd = ds[i].fd;
                pfd[np].events = POLLIN;
                pfd[np].revents = 0;
                np++;
            }
        }
        if (np == 0) {
            /* Only exits to wait for: look again shortly. */
            usleep(2000);
            continue;
        }
        /* Wake at least every 100 ms to see a cancel. */
        if (poll(pfd, np, left > 100 ? 100 : (int)left) <= 0)
            continue;
        for (size_t i = 0, j = 0; i < n; i++) {
            struct describe *d = &ds[i];
            ssize_t r;

            if (d->fd < 0)
                continue;
            if (pfd[j++].revents == 0)
                continue;
            if (d->cap - d->len < 4096) {
                d->cap = d->cap ? d->cap * 2 : 8192;
                d->buf = xrealloc(d->buf, d->cap);
            }
            r = read(d->fd, d->buf + d->len, d->cap - d->len - 1);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                close(d->fd);
                d->fd = -1;
                continue;
            }
            d->len += (size_t)r;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (ds[i].fd >= 0) {
            close(ds[i].fd);
            ds[i].fd = -1;
        }
    }
    free(pfd);
}

/* What D's child answered: the checked descriptor (new), or NULL with the
 * reason in ERR. Frees D's buffer. */
static struct json_object *
describe_result(struct describe *d, int timeout_ms, char *err, size_t errlen)
{
    struct json_object *o = NULL, *e;

    if (d->pid == 0) {
        snprintf(err, errlen, "%s", d->err);
        return NULL;
    }
    if (d->timed_out) {
        free(d->buf);
        d->buf = NULL;
        snprintf(err, errlen, atomic_load(&cancel)
                                  ? "cancelled: fnhost is stopping"
                                  : "load() did not finish within %d ms",
                 timeout_ms);
        return NULL;
    }
    if (d->buf != NULL) {
        d->buf[d->len] = '\0';
        o = json_parse(d->buf);
    }
    free(d->buf);
    d->buf = NULL;
    if (WIFSIGNALED(d->status)) {
        snprintf(err, errlen, "crashed while loading (killed by signal %d)",
                 WTERMSIG(d->status));
        json_object_put(o);
        return NULL;
    }
    if (o == NULL) {
        snprintf(err, errlen, "loading failed (exit status %d, no"
                              " descriptor)", WEXITSTATUS(d->status));
        return NULL;
    }
    if (json_object_object_get_ex(o, "error", &e)) {
        snprintf(err, errlen, "%s", json_object_get_string(e));
        json_object_put(o);
        return NULL;
    }
    if (check_descriptor(o, err, errlen) != 0) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

struct json_object *
registry_describe(const char *path, struct json_object *config,
                  int timeout_ms, char *err, size_t errlen)
{
    struct describe d;

    describe_start(&d, path, json_object_to_json_string_ext(
                                 config, JSON_C_TO_STRING_PLAIN));
    describe_collect(&d, 1, mono_ms() + timeout_ms);
    return describe_result(&d, timeout_ms, err, errlen);
}

static void
fn_free(struct fn_info *f)
{
    free(f->id);
    free(f->name);
    for (char **t = f->triggers; t && *t; t++)
        free(*t);
    free(f->triggers);
    for (size_t k = 0; k < NFN_EXPRS; k++)
        expr_free(*fn_expr(f, k));
    conc_free(f);
    free(f->failure_of);
    for (size_t i = 0; i < f->ncrons; i++) {
        free(f->crons[i].spec);
        cron_clear(&f->crons[i].c);
    }
    free(f->crons);
    for (size_t i = 0; i < f->ncancel_on; i++) {
        free((char *)f->cancel_on[i].event);
        free((char *)f->cancel_on[i].match);
        free((char *)f->cancel_on[i].if_expr);
    }
}

static void
plugin_free(struct plugin_info *p)
{
    json_object_put(p->desc);
    free(p->name);
    free(p->version);
    free(p->file);
    free(p->copy);
    free(p->abi);
}

/* Copies the rules of LIST, a checked "cancel_on", into F. */
static void
add_cancel_on(struct fn_info *f, struct json_object *list)
{
    size_t n = json_object_array_length(list);

    for (size_t i = 0; i < n && i < FH_CANCEL_ON_MAX; i++) {
        struct json_object *r = json_object_array_get_idx(list, i), *v;
        struct store_cancel_rule *c = &f->cancel_on[f->ncancel_on++];

        c->event = xstrdup(json_object_get_string(
            json_object_object_get(r, "event")));
        c->match = json_object_object_get_ex(r, "match", &v)
                       ? xstrdup(json_object_get_string(v)) : NULL;
        c->if_expr = json_object_object_get_ex(r, "if", &v)
                         ? xstrdup(json_object_get_string(v)) : NULL;
        c->timeout_ms = json_object_get_int64(
            json_object_object_get(r, "timeout_ms"));
    }
}

/* Adds schedule SPEC (LEN bytes; blanks around it are dropped) to F,
 * parsed. A checked one parses; one that cannot (its zone's file went
 * away since) is logged and left out. */
static void
add_cron(struct fn_info *f, const char *spec, size_t len)
{
    struct fn_cron *fc;
    char why[256];

    while (len > 0 && (*spec == ' ' || *spec == '\t'))
        spec++, len--;
    while (len > 0 && (spec[len - 1] == ' ' || spec[len - 1] == '\t'))
        len--;
    if (len == 0 || f->ncrons == FH_CRON_MAX)
        return;
    f->crons = xrealloc(f->crons, (f->ncrons + 1) * sizeof(*f->crons));
    fc = &f->crons[f->ncrons];
    fc->spec = xmalloc(len + 1);
    memcpy(fc->spec, spec, len);
    fc->spec[len] = '\0';
    if (cron_parse(fc->spec, &fc->c, why, sizeof(why)) != 0) {
        log_error("registry", "function %s: cron \"%s\": %s; not"
                              " scheduled", f->id, fc->spec, why);
        free(fc->spec);
        return;
    }
    f->ncrons++;
}

/* F's cron schedules: the [function ID] section's (OVER, NULL: none),
 * else the descriptor FO's. */
static void
add_crons(struct fn_info *f, struct json_object *fo,
          const struct config_function *over)
{
    struct json_object *list;

    if (over != NULL && over->cron != NULL) {
        for (const char *s = over->cron; *s != '\0';) {
            size_t n = strcspn(s, ";");

            add_cron(f, s, n);
            s += n + (s[n] == ';');
        }
        return;
    }
    if (!json_object_object_get_ex(fo, "cron", &list))
        return;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        const char *spec = json_object_get_string(
            json_object_array_get_idx(list, i));

        add_cron(f, spec, strlen(spec));
    }
}

/* Adds the functions that descriptor D declares, for PLUGIN (a name that
 * outlives G's functions), UNLOADED as fn_info says. */
/* Sets what F's options add up to, for the event path (registry.h). */
static void
fn_settle(struct fn_info *f)
{
    /* Its store-side options: the commit that stores its event decides
     * whether a run starts at all, and when. */
    int decided = f->idempotency != NULL || f->rate_limit > 0 ||
                  f->singleton != SINGLETON_NONE || f->debounce_ms > 0 ||
                  f->throttle_limit > 0 || f->batch_max > 0;

    f->reads_event = f->if_expr != NULL || f->idempotency != NULL ||
                     f->rate_key != NULL || f->singleton_key != NULL ||
                     f->debounce_key != NULL || f->throttle_key != NULL ||
                     f->priority != NULL || f->batch_key != NULL ||
                     f->batch_if != NULL;
    /* Concurrency queues, a priority and timeouts are kept out too: each
     * would hold or time a run that its commit may yet not create. */
    f->starts_early = f->checkpoint_ahead && !decided &&
                      f->priority == NULL && f->timeout_start_ms == 0 &&
                      f->timeout_finish_ms == 0;
    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        if (f->concurrency[i].key != NULL)
            f->reads_event = 1;
        if (f->concurrency[i].limit > 0)
            f->starts_early = 0;
    }
}

/* Turns off option OPT of F (its LIMIT, named WHAT) if its PERIOD is
 * under MIN ms, saying so: only a [function ID] section can give one
 * (lib/check_flow.c holds plugins to it). */
static void
need_period(const struct fn_info *f, const char *opt, const char *what,
            int *limit, int64_t period, int64_t min)
{
    if (*limit <= 0 || period >= min)
        return;
    log_error("registry", "function %s: %s.limit %d needs a %s.period of"
                          " 1s or more: it has no %s",
              f->id, opt, *limit, opt, what);
    *limit = 0;
}

static void
add_functions(struct generation *g, const struct config *cfg,
              const char *plugin, struct json_object *d, int unloaded)
{
    struct json_object *fns = json_object_object_get(d, "functions");
    size_t n = json_object_array_length(fns);

    g->fns = xrealloc(g->fns, (g->nfns + n) * sizeof(*g->fns));
    for (size_t i = 0; i < n; i++) {
        struct json_object *fo = json_object_array_get_idx(fns, i);
        struct fn_info *f = &g->fns[g->nfns];
        const struct config_function *over;
        struct json_object *tr = json_object_object_get(fo, "triggers");
        size_t nt = json_object_array_length(tr);
        const char *id = json_object_get_string(
            json_object_object_get(fo, "id"));
        struct json_object *v;

        /* A refused plugin's old ids never displace a loaded plugin's. */
        if (unloaded && find_any(g, id) != NULL)
            continue;
        g->nfns++;
        memset(f, 0, sizeof(*f));
        f->id = xstrdup(id);
        f->name = xstrdup(json_object_get_string(json_object_object_get(fo, "name")));
        f->plugin = plugin;
        f->unloaded = unloaded;
        f->triggers = xcalloc(nt + 1, sizeof(char *));
        for (size_t t = 0; t < nt; t++)
            f->triggers[t] = xstrdup(json_object_get_string(
                json_object_array_get_idx(tr, t)));
        over = config_function(cfg, f->id);
        fnopt_resolve(f, cfg, json_object_object_get(fo, "options"),
                      over != NULL ? &over->set : NULL);
        for (size_t k = 0; k < NFN_EXPRS; k++) {
            struct expr **e = fn_expr(f, k);
            const char *src = NULL;
            char why[256];

            /* A [function ID] section's, else the descriptor's. Both were
             * checked: they compile. */
            if (over != NULL && over->expr[k] != NULL)
                src = over->expr[k];
            else if (json_object_object_get_ex(fo, fn_exprs[k].json, &v))
                src = json_object_get_string(v);
            if (src == NULL || *src == '\0')
                continue;
            *e = expr_compile(src, why, sizeof(why));
            if (*e == NULL)
                log_error("registry", "function %s: %s: %s", f->id,
                          fn_exprs[k].name, why);
        }
        if (over != NULL && over->singleton_mode != NULL)
            f->singleton = singleton_mode(over->singleton_mode);
        else if (json_object_object_get_ex(fo, "singleton", &v))
            f->singleton = singleton_mode(json_object_get_string(v));
        /* Only a [function ID] section can get here (check_flow.c). */
        need_period(f, "rate_limit", "rate limit", &f->rate_limit,
                    f->rate_period_ms, CHECK_RATE_PERIOD_MIN_MS);
        if (f->debounce_ms > 0 && f->debounce_ms < CHECK_DEBOUNCE_MIN_MS) {
            log_error("registry", "function %s: debounce.period must be 1s"
                                  " or more: it has no debounce", f->id);
            f->debounce_ms = 0;
        }
        need_period(f, "throttle", "throttle", &f->throttle_limit,
                    f->throttle_period_ms, CHECK_THROTTLE_PERIOD_MIN_MS);
        if (f->batch_max > 0 &&
            f->batch_timeout_ms < CHECK_BATCH_TIMEOUT_MIN_MS) {
            log_error("registry", "function %s: batch.max_size %d needs a"
                                  " batch.timeout of 1s to 60s: it has no"
                                  " batching",
                      f->id, f->batch_max);
            f->batch_max = 0;
        }
        conc_resolve(f, json_object_object_get(fo, "concurrency"));
        if (over != NULL && over->conc_key != NULL) {
            char why[256];

            expr_free(f->concurrency[0].key);
            f->concurrency[0].key =
                *over->conc_key != '\0'
                    ? expr_compile(over->conc_key, why, sizeof(why))
                    : NULL;
        }
        add_crons(f, fo, over);
        if (json_object_object_get_ex(fo, "failure_of", &v))
            f->failure_of = xstrdup(json_object_get_string(v));
        if (json_object_object_get_ex(fo, "cancel_on", &v))
            add_cancel_on(f, v);
        fn_settle(f);
    }
}

/* Adds one described plugin and its functions, unless its name or one of
 * its ids is taken already. Returns 0 or -1 with ERR. */
static int
add_plugin(struct generation *g, const struct config *cfg, const char *file,
           const char *copy, struct json_object *d, char *err, size_t errlen)
{
    struct json_object *fns = json_object_object_get(d, "functions");
    const char *name = json_object_get_string(json_object_object_get(d, "name"));
    size_t n = json_object_array_length(fns);
    struct plugin_info *p;

    for (size_t i = 0; i < g->nplugins; i++) {
        if (strcmp(g->plugins[i].name, name) == 0) {
            snprintf(err, errlen, "plugin name \"%s\" is taken by %s", name,
                     g->plugins[i].file);
            return -1;
        }
    }
    for (size_t i = 0; i < n; i++) {
        const char *id = json_object_get_string(
            json_object_object_get(json_object_array_get_idx(fns, i), "id"));
        const struct fn_info *f = registry_find(g, id);

        if (f != NULL) {
            snprintf(err, errlen, "duplicate function id \"%s\": plugin %s"
                                  " declares it already", id, f->plugin);
            return -1;
        }
    }
    g->plugins = xrealloc(g->plugins, (g->nplugins + 1) * sizeof(*p));
    p = &g->plugins[g->nplugins++];
    p->name = xstrdup(name);
    p->version = xstrdup(json_object_get_string(json_object_object_get(d, "version")));
    p->abi = xstrdup(json_object_get_string(json_object_object_get(d, "abi")));
    p->file = xstrdup(file);
    p->copy = xstrdup(copy);
    p->desc = json_object_get(d);
    add_functions(g, cfg, p->name, d, 0);
    return 0;
}

/* ------------------------------------------------ what plugins declared */

/* STATE_DIR/declared.json: {"plugins": {"FILE.so": descriptor, ...}},
 * keyed by the file's name in the plugin folder. */
static char *
declared_path(const char *state_dir)
{
    return xasprintf("%s/declared.json", state_dir);
}

/* What STATE_DIR remembers FILE (a path in the plugin folder) declared:
 * a checked descriptor (new), or NULL. */
static struct json_object *
declared_find(struct json_object *mem, const char *file)
{
    const char *base = strrchr(file, '/');
    struct json_object *plugins, *d;
    char why[256];

    base = base ? base + 1 : file;
    if (mem == NULL || !json_object_object_get_ex(mem, "plugins", &plugins) ||
        !json_object_object_get_ex(plugins, base, &d))
        return NULL;
    /* Ours, but a file on disk: read as carefully as a describe. */
    if (check_descriptor(d, why, sizeof(why)) != 0) {
        log_warn("loader", "declared.json: %s: %s; ignored", base, why);
        return NULL;
    }
    return json_object_get(d);
}

int
registry_remember(const struct generation *g, const char *state_dir)
{
    struct json_object *o = json_object_new_object();
    struct json_object *plugins = json_object_new_object();
    char *path = declared_path(state_dir), *tmp = xasprintf("%s.tmp", path);
    const char *text;
    int fd, rc = -1;

    for (size_t i = 0; i < g->nplugins + g->refused; i++) {
        const char *file = i < g->nplugins ? g->plugins[i].file
                                           : g->refusals[i - g->nplugins].file;
        struct json_object *d = i < g->nplugins
                                    ? g->plugins[i].desc
                                    : g->refusals[i - g->nplugins].desc;
        const char *base = strrchr(file, '/');

        if (d != NULL)
            json_object_object_add(plugins, base ? base + 1 : file,
                                   json_object_get(d));
    }
    json_object_object_add(o, "plugins", plugins);
    text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    /* Written whole and renamed into place, so a crash leaves the old
     * file or the new one. */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) &&
        fsync(fd) == 0 && close(fd) == 0) {
        fd = -1;
        rc = rename(tmp, path);
    }
    if (rc != 0) {
        log_warn("loader", "cannot record what the plugins declare in %s:"
                           " %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(tmp);
    }
    json_object_put(o);
    free(path);
    free(tmp);
    return rc;
}

/* Adds FILE, refused for WHY, with what MEM remembers it declared. */
static void
add_refusal(struct generation *g, struct json_object *mem, const char *file,
            const char *why)
{
    struct refusal *r;

    log_error("loader", "%s: %s", file, why);
    if (g->refused == 0)
        g->first_error = xasprintf("%s: %s", file, why);
    g->refusals = xrealloc(g->refusals, (g->refused + 1) * sizeof(*r));
    r = &g->refusals[g->refused++];
    r->file = xstrdup(file);
    r->reason = xstrdup(why);
    r->desc = declared_find(mem, file);
}

static void generation_free(struct generation *g, int remove_dir);

struct generation *
registry_build(const struct config *cfg, const char *plugins_dir,
               const char *state_dir, unsigned n, char *err, size_t errlen)
{
    struct generation *g;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t nnames = 0;
    const char *cfg_text;
    struct json_object *mem;

    if (check_folder(plugins_dir, err, errlen) != 0)
        return NULL;
    d = opendir(plugins_dir);
    if (d == NULL) {
        snprintf(err, errlen, "plugin folder %s: %s", plugins_dir,
                 strerror(errno));
        return NULL;
    }
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        if (l > 3 && strcmp(de->d_name + l - 3, ".so") == 0 &&
            de->d_name[0] != '.') {
            names = xrealloc(names, (nnames + 1) * sizeof(char *));
            names[nnames++] = xstrdup(de->d_name);
        }
    }
    closedir(d);
    if (nnames > 1)
        qsort(names, nnames, sizeof(char *), cmp_str);

    g = xcalloc(1, sizeof(*g));
    g->refs = 1;
    g->n = n;
    g->built_at = now_ms();
    g->dir = xasprintf("%s/gen/%u", state_dir, n);
    rm_rf(g->dir);
    if (mkdir_p(g->dir, 0700) != 0) {
        snprintf(err, errlen, "create %s: %s", g->dir, strerror(errno));
        for (size_t i = 0; i < nnames; i++)
            free(names[i]);
        free(names);
        generation_free(g, 0);
        return NULL;
    }
    {
        char *path = declared_path(state_dir), *text = file_read(path, NULL);

        mem = text != NULL ? json_parse(text) : NULL;
        free(text);
        free(path);
    }
    /* Copy each file, describe the copies side by side (a batch at a
     * time), then add them in name order: the first to declare an id
     * keeps it, whatever order the children finished in. */
    cfg_text = json_object_to_json_string_ext(cfg->plugin_config,
                                              JSON_C_TO_STRING_PLAIN);
    for (size_t b = 0; b < nnames; b += DESCRIBE_BATCH) {
        size_t nb = nnames - b < DESCRIBE_BATCH ? nnames - b
                                                : DESCRIBE_BATCH;
        struct describe ds[DESCRIBE_BATCH];
        char *src[DESCRIBE_BATCH], *dst[DESCRIBE_BATCH];
        char why[DESCRIBE_BATCH][600];

        for (size_t i = 0; i < nb; i++) {
            src[i] = xasprintf("%s/%s", plugins_dir, names[b + i]);
            dst[i] = xasprintf("%s/%s", g->dir, names[b + i]);
            why[i][0] = '\0';
            memset(&ds[i], 0, sizeof(ds[i]));
            ds[i].fd = -1;
            if (atomic_load(&cancel))
                snprintf(why[i], sizeof(why[i]), "cancelled: fnhost is"
                                                 " stopping");
            else if (copy_plugin(src[i], dst[i], why[i],
                                 sizeof(why[i])) == 0)
                describe_start(&ds[i], dst[i], cfg_text);
        }
        describe_collect(ds, nb, mono_ms() + cfg->load_timeout_ms);
        for (size_t i = 0; i < nb; i++) {
            struct json_object *desc = NULL;

            /* Each step that fails says why in why[i]. */
            if (why[i][0] == '\0')
                desc = describe_result(&ds[i], (int)cfg->load_timeout_ms,
                                       why[i], sizeof(why[i]));
            if (desc != NULL)
                (void)add_plugin(g, cfg, src[i], dst[i], desc, why[i],
                                 sizeof(why[i]));
            if (why[i][0] != '\0') {
                add_refusal(g, mem, src[i], why[i]);
                unlink(dst[i]);
            } else {
                const struct plugin_info *p = &g->plugins[g->nplugins - 1];
                size_t nf = json_object_array_length(
                    json_object_object_get(desc, "functions"));

                log_info("loader", "%s: plugin %s %s, %zu function%s",
                         src[i], p->name, p->version, nf,
                         nf == 1 ? "" : "s");
            }
            json_object_put(desc);
            free(ds[i].buf);
            free(src[i]);
            free(dst[i]);
            free(names[b + i]);
        }
    }
    free(names);
    /* Events for what a refused plugin declared when it last loaded still
     * get runs: they wait for it in the store. Loaded plugins go first, so
     * that their ids win. */
    for (size_t i = 0; i < g->refused; i++) {
        struct refusal *r = &g->refusals[i];

        if (r->desc != NULL)
            add_functions(g, cfg,
                          json_object_get_string(
                              json_object_object_get(r->desc, "name")),
                          r->desc, 1);
    }
    json_object_put(mem);
    g->router = router_new(g->fns, g->nfns);
    return g;
}

/* Frees G, and removes its folder if REMOVE_DIR. */
static void
generation_free(struct generation *g, int remove_dir)
{
    if (g == NULL)
        return;
    if (remove_dir && g->dir != NULL)
        rm_rf(g->dir);
    router_free(g->router);
    for (size_t i = 0; i < g->nfns; i++)
        fn_free(&g->fns[i]);
    free(g->fns);
    for (size_t i = 0; i < g->nplugins; i++)
        plugin_free(&g->plugins[i]);
    free(g->plugins);
    for (size_t i = 0; i < g->refused; i++) {
        free(g->refusals[i].file);
        free(g->refusals[i].reason);
        json_object_put(g->refusals[i].desc);
    }
    free(g->refusals);
    free(g->dir);
    free(g->first_error);
    free(g);
}

struct generation *
generation_ref(struct generation *g)
{
    if (g != NULL)
        g->refs++;
    return g;
}

void
generation_unref(struct generation *g)
{
    if (g == NULL || --g->refs > 0)
        return;
    log_debug("loader", "generation %u is no longer used; removing %s", g->n,
              g->dir);
    generation_free(g, 1);
}

/* F's cancelOn rules as GET /v1/functions shows them (new). */
static struct json_object *
cancel_on_json(const struct fn_info *f)
{
    struct json_object *list = json_object_new_array();

    for (size_t i = 0; i < f->ncancel_on; i++) {
        const struct store_cancel_rule *c = &f->cancel_on[i];
        struct json_object *r = json_object_new_object();

        json_object_object_add(r, "event", json_object_new_string(c->event));
        json_object_object_add(r, "match", c->match
                                               ? json_object_new_string(
                                                     c->match)
                                               : NULL);
        json_object_object_add(r, "if", c->if_expr ? json_object_new_string(
                                                         c->if_expr)
                                                   : NULL);
        json_object_object_add(r, "timeout_ms",
                               json_object_new_int64(c->timeout_ms));
        json_object_array_add(list, r);
    }
    return list;
}

/* The functions of PLUGIN in G, LOADED or not, as JSON. */
static struct json_object *
functions_json(const struct generation *g, const char *plugin, int unloaded)
{
    struct json_object *fns = json_object_new_array();

    for (size_t j = 0; j < g->nfns; j++) {
        const struct fn_info *f = &g->fns[j];
        struct json_object *fo, *tr;

        if (f->plugin != plugin || f->unloaded != unloaded)
            continue;
        fo = json_object_new_object();
        tr = json_object_new_array();
        json_object_object_add(fo, "id", json_object_new_string(f->id));
        json_object_object_add(fo, "name", json_object_new_string(f->name));
        for (char **t = f->triggers; *t != NULL; t++)
            json_object_array_add(tr, json_object_new_string(*t));
        json_object_object_add(fo, "triggers", tr);
        if (f->singleton != SINGLETON_NONE)
            json_object_object_add(fo, "singleton",
                                   json_object_new_string(
                                       singleton_modes[f->singleton]));
        for (size_t k = 0; k < NFN_EXPRS; k++)
            if (fn_expr_get(f, k) != NULL)
                json_object_object_add(fo, fn_exprs[k].json,
                                       json_object_new_string(expr_source(
                                           fn_expr_get(f, k))));
        if (f->failure_of != NULL)
            json_object_object_add(fo, "failure_of",
                                   json_object_new_string(f->failure_of));
        if (f->ncancel_on > 0)
            json_object_object_add(fo, "cancel_on", cancel_on_json(f));
        if (conc_limited(f))
            json_object_object_add(fo, "concurrency", conc_json(f));
        if (f->ncrons > 0)
            json_object_object_add(fo, "cron", cron_sched_json(f));
        fnopt_json(f, fo);
        json_object_array_add(fns, fo);
    }
    return fns;
}

struct json_object *
registry_json(const struct generation *g)
{
    struct json_object *o = json_object_new_object(), *plugins, *refused;
    char ts[32];

    json_object_object_add(o, "generation", json_object_new_int((int)g->n));
    time_format(g->built_at, ts, sizeof(ts));
    json_object_object_add(o, "loaded_at", json_object_new_string(ts));
    plugins = json_object_new_array();
    for (size_t i = 0; i < g->nplugins; i++) {
        const struct plugin_info *p = &g->plugins[i];
        struct json_object *po = json_object_new_object();

        json_object_object_add(po, "name", json_object_new_string(p->name));
        json_object_object_add(po, "version",
                               json_object_new_string(p->version));
        json_object_object_add(po, "abi", json_object_new_string(p->abi));
        json_object_object_add(po, "file", json_object_new_string(p->file));
        json_object_object_add(po, "functions",
                               functions_json(g, p->name, 0));
        json_object_array_add(plugins, po);
    }
    json_object_object_add(o, "plugins", plugins);
    refused = json_object_new_array();
    for (size_t i = 0; i < g->refused; i++) {
        const struct refusal *r = &g->refusals[i];
        struct json_object *ro = json_object_new_object();
        struct json_object *name = NULL;

        json_object_object_add(ro, "file", json_object_new_string(r->file));
        json_object_object_add(ro, "reason",
                               json_object_new_string(r->reason));
        if (r->desc != NULL)
            name = json_object_object_get(r->desc, "name");
        json_object_object_add(ro, "name", json_object_get(name));
        /* What it declared when it last loaded: their runs wait for it. */
        json_object_object_add(
            ro, "functions",
            name ? functions_json(g, json_object_get_string(name), 1)
                 : json_object_new_array());
        json_object_array_add(refused, ro);
    }
    json_object_object_add(o, "refused", refused);
    return o;
}
