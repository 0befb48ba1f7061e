/* parallel.c - fixture: parallel steps, counting what they execute.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Function "fan" (test/fan) runs step "before", a parallel group "fan" of
 * data.n branches "b0", "b1", ... (3 by default; data.mode "race" for a
 * race), then step "after", and outputs {"results": [...], "winner": w,
 * "error": the group's error or null}. Every step body appends its id as
 * a line to DIR/RUN_ID.log (DIR is data.dir), so a test counts what ran
 * from the side effects, not from timings. A branch body also:
 *   - with data.barrier, marks DIR/started.ID and waits until data.n
 *     branches have (at most data.barrier_ms, 20 s by default): it
 *     returns only if the branches run at the same time, and fails for
 *     good ("not parallel") otherwise;
 *   - when its id is in data.hold, waits for the file DIR/go;
 *   - when its id is data.fail, fails for good;
 *   - when its id is data.flaky, fails its first attempt (to retry).
 * Its result is {"branch": id, "attempt": n}. With the file DIR/stray
 * present, the handler calls a step "surprise" before anything else;
 * with data.stray, step "before" makes that file, so the branches take
 * another way than the run did. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <fnhost.h>

static const char *
dir_of(const struct fh_event *ev)
{
    const char *d = fh_json_str(ev->data, "dir");

    return d != NULL ? d : "/tmp";
}

/* Appends LINE to DIR/RUN_ID.log. */
static void
note(struct fh_ctx *ctx, const struct fh_event *ev, const char *line)
{
    char path[4096], buf[256];
    int fd, n;

    snprintf(path, sizeof(path), "%s/%s.log", dir_of(ev), ctx->run_id);
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0)
        return;
    n = snprintf(buf, sizeof(buf), "%s\n", line);
    (void)!write(fd, buf, (size_t)n);
    close(fd);
}

static int
exists(const struct fh_event *ev, const char *name)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir_of(ev), name);
    return access(path, F_OK) == 0;
}

static int
noted(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    note(ctx, arg, ctx->step_id);
    *result = json_object_new_string(ctx->step_id);
    return FH_OK;
}

/* noted, and with data.stray, makes DIR/stray. */
static int
before(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    int stray = 0;

    fh_json_bool(ev->data, "stray", &stray);
    if (stray) {
        char path[4096];
        int fd;

        snprintf(path, sizeof(path), "%s/stray", dir_of(ev));
        if ((fd = open(path, O_CREAT | O_WRONLY, 0644)) >= 0)
            close(fd);
    }
    return noted(ctx, arg, result);
}

/* How many DIR/started.* files there are. */
static int
started(const struct fh_event *ev)
{
    DIR *d = opendir(dir_of(ev));
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "started.", 8) == 0;
    closedir(d);
    return n;
}

/* Whether ID is one of the comma-separated names in LIST. */
static int
listed(const char *list, const char *id)
{
    size_t n = strlen(id);

    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);

        if (len == n && strncmp(p, id, n) == 0)
            return 1;
        p = end ? end + 1 : NULL;
    }
    return 0;
}

static int
branch(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    const char *id = ctx->step_id, *fail = fh_json_str(ev->data, "fail");
    const char *flaky = fh_json_str(ev->data, "flaky");
    struct json_object *out;
    int barrier = 0;

    note(ctx, ev, id);
    fh_json_bool(ev->data, "barrier", &barrier);
    if (barrier) {
        int64_t n = 3, ms = 20000;
        char path[4096];
        int fd;

        fh_json_int(ev->data, "n", &n);
        fh_json_int(ev->data, "barrier_ms", &ms);
        snprintf(path, sizeof(path), "%s/started.%s", dir_of(ev), id);
        if ((fd = open(path, O_CREAT | O_WRONLY, 0644)) >= 0)
            close(fd);
        for (int64_t i = 0; started(ev) < n; i++) {
            if (i * 10 >= ms)
                return fh_fail(ctx, FH_NO_RETRY, "not parallel: %d of %d"
                               " branches started", started(ev), (int)n);
            usleep(10000);
        }
    }
    if (listed(fh_json_str(ev->data, "hold"), id))
        for (int i = 0; i < 6000 && !exists(ev, "go"); i++)
            usleep(10000);
    if (fail != NULL && strcmp(fail, id) == 0)
        return fh_fail(ctx, FH_NO_RETRY, "%s fails on purpose", id);
    if (flaky != NULL && strcmp(flaky, id) == 0 && ctx->attempt == 0)
        return fh_fail(ctx, FH_RETRY, "%s fails its first attempt", id);
    out = json_object_new_object();
    json_object_object_add(out, "branch", json_object_new_string(id));
    json_object_object_add(out, "attempt",
                           json_object_new_int((int)ctx->attempt));
    *result = out;
    return FH_OK;
}

static const char *const names[] = {"b0", "b1", "b2", "b3", "b4",
                                    "b5", "b6", "b7", "b8", "b9"};

static int
fan(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct fh_branch b[10];
    struct json_object *r[10], *out, *list;
    int64_t n = 3;
    const char *mode = fh_json_str(ev->data, "mode");
    size_t winner = 0;
    int rc;

    fh_json_int(ev->data, "n", &n);
    if (exists(ev, "stray"))
        FH_STEP(ctx, "surprise", noted, ev);
    FH_STEP(ctx, "before", before, ev);
    if (n < 1 || n > 10)
        return fh_fail(ctx, FH_NO_RETRY, "data.n is 1 to 10");
    for (int64_t i = 0; i < n; i++)
        b[i] = (struct fh_branch)FH_BRANCH(names[i], branch, ev);
    rc = fh_parallel(ctx, "fan",
                     FH_PARALLEL_REQ(.branches = b, .n = (size_t)n,
                                     .mode = mode != NULL &&
                                                     strcmp(mode, "race") == 0
                                                 ? FH_PARALLEL_RACE
                                                 : FH_PARALLEL_ALL),
                     r, &winner);
    if (rc == FH_SUSPENDED)
        return rc;
    out = json_object_new_object();
    list = json_object_new_array();
    for (int64_t i = 0; i < n; i++)
        json_object_array_add(list, json_object_get(r[i]));
    json_object_object_add(out, "results", list);
    json_object_object_add(out, "winner", json_object_new_int((int)winner));
    json_object_object_add(out, "error",
                           rc == FH_OK ? NULL
                                       : json_object_new_string(fh_error(ctx)));
    FH_STEP(ctx, "after", noted, ev);
    return fh_set_output(ctx, out);
}

/* Two groups in a row, each of two branches, the second using the
 * first's results: the branches of the second replay the first. */
static int
twice(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *r1[2], *r2[2], *out;

    FH_PARALLEL(ctx, "one", r1, FH_BRANCH("x", noted, ev),
                FH_BRANCH("y", noted, ev));
    FH_PARALLEL(ctx, "two", r2, FH_BRANCH("x", noted, ev),
                FH_BRANCH("y", noted, ev));
    out = json_object_new_array();
    json_object_array_add(out, json_object_get(r1[0]));
    json_object_array_add(out, json_object_get(r1[1]));
    json_object_array_add(out, json_object_get(r2[0]));
    json_object_array_add(out, json_object_get(r2[1]));
    return fh_set_output(ctx, out);
}

/* fh_parallel() asked badly, as data.case says: "zero" branches, a
 * branch with "nofn", or a "bigmode"; outputs {"rc": n, "error": why}. */
static int
bad(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *c = fh_json_str(ev->data, "case");
    struct fh_branch b[1] = {FH_BRANCH("a", noted, ev)};
    struct json_object *out = json_object_new_object();
    int rc;

    if (c != NULL && strcmp(c, "nofn") == 0)
        b[0].fn = NULL;
    rc = fh_parallel(ctx, "bad",
                     FH_PARALLEL_REQ(.branches = b,
                                     .n = c && strcmp(c, "zero") == 0 ? 0 : 1,
                                     .mode = c && strcmp(c, "bigmode") == 0
                                                 ? 7
                                                 : FH_PARALLEL_ALL),
                     NULL, NULL);
    if (rc == FH_SUSPENDED)
        return rc;
    json_object_object_add(out, "rc", json_object_new_int(rc));
    json_object_object_add(out, "error",
                           rc == FH_OK ? NULL
                                       : json_object_new_string(fh_error(ctx)));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "fan", .run = fan, .triggers = FH_EVENTS("test/fan"),
     .opts = FH_OPTS(.retries = 2)},
    {.id = "fan-twice", .run = twice, .triggers = FH_EVENTS("test/fan-twice")},
    {.id = "fan-bad", .run = bad, .triggers = FH_EVENTS("test/fan-bad")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "parallel", .version = "1.0.0", .functions = functions);
