/* concurrency.c - fixture: concurrency limits (fh_function_opts.concurrency)
 * whose runs say how many of their key execute at once.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each run's step "work" marks itself in $FNHOST_TEST_CONC/in (a file
 * KEY.RUN.PID), counts the marks of its key (data.key) whose process is
 * alive, appends "in KEY COUNT RUN" to $FNHOST_TEST_CONC/log, and holds
 * its worker until the gate $FNHOST_TEST_CONC/open/KEY (or open/ALL)
 * exists; then it drops its mark and appends "out KEY RUN". A test counts
 * executions, not time: a run is in flight from its mark to the gate.
 *
 *   conc-key    test/conc: 2 at a time per data.key
 *   conc-sleep  test/conc-sleep: 1 at a time, and sleeps an hour after
 *               its step (a sleeping run holds no slot)
 *   conc-env-a, conc-env-b  test/conc-env: 1 at a time per data.key,
 *               scope env: the two share each key's queue
 *   conc-ini    test/conc-ini: 1 at a time, which the test's config
 *               overrides
 *   conc-single test/conc-single: 1 at a time, and a singleton per
 *               data.key that skips: a run waiting in the queue is
 *               active */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fnhost.h>

#include "say.h"

/* Whether process PID runs: a worker killed with its master may stay a
 * zombie for a while. */
static int
alive(const char *pid)
{
    char path[64], buf[512], *p;
    FILE *f;
    int up = 0;

    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) &&
        p[1] == ' ')
        up = p[2] != 'Z' && p[2] != 'X';
    fclose(f);
    return up;
}

/* The marks of KEY in DIR/in whose process is alive: a worker killed
 * with its master leaves its mark behind. */
static int
in_flight(const char *dir, const char *key)
{
    char path[4096];
    size_t n = strlen(key);
    struct dirent *de;
    DIR *d;
    int count = 0;

    snprintf(path, sizeof(path), "%s/in", dir);
    if ((d = opendir(path)) == NULL)
        return -1;
    while ((de = readdir(d)) != NULL) {
        const char *pid;

        if (strncmp(de->d_name, key, n) != 0 || de->d_name[n] != '.')
            continue;
        pid = strrchr(de->d_name, '.');
        count += alive(pid + 1);
    }
    closedir(d);
    return count;
}

static int
gate_open(const char *dir, const char *key)
{
    char a[4096], b[4096];

    snprintf(a, sizeof(a), "%s/open/%s", dir, key);
    snprintf(b, sizeof(b), "%s/open/ALL", dir);
    return access(a, F_OK) == 0 || access(b, F_OK) == 0;
}

static int
work(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct fh_event *ev = arg;
    const char *dir = getenv("FNHOST_TEST_CONC");
    struct json_object *k;
    const char *key = "none";
    char mark[4096], line[512];
    int fd;

    if (dir == NULL)
        return FH_OK;
    if (json_object_object_get_ex(fh_event_data(ev), "key", &k))
        key = json_object_get_string(k);
    snprintf(mark, sizeof(mark), "%s/in/%s.%s.%ld", dir, key, ctx->run_id,
             (long)getpid());
    if ((fd = open(mark, O_CREAT | O_WRONLY, 0644)) >= 0)
        close(fd);
    snprintf(line, sizeof(line), "in %s %d %s\n", key, in_flight(dir, key),
             ctx->run_id);
    say(dir, line);
    while (!gate_open(dir, key))
        usleep(10000);
    unlink(mark);
    snprintf(line, sizeof(line), "out %s %s\n", key, ctx->run_id);
    say(dir, line);
    return FH_OK;
}

static int
run_work(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "work", work, ev);
    return FH_OK;
}

static int
run_then_sleep(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "work", work, ev);
    FH_SLEEP(ctx, "rest", "1h");
    return FH_OK;
}

#define ENV_LIMIT {{.limit = 1, .key = "event.data.key", .scope = "env"}}

static const struct fh_function functions[] = {
    {.id = "conc-key", .run = run_work, .triggers = FH_EVENTS("test/conc"),
     .opts = FH_OPTS(.concurrency = {{.limit = 2,
                                      .key = "event.data.key"}})},
    {.id = "conc-sleep", .run = run_then_sleep,
     .triggers = FH_EVENTS("test/conc-sleep"),
     .opts = FH_OPTS(.concurrency = {{.limit = 1}})},
    {.id = "conc-env-a", .run = run_work,
     .triggers = FH_EVENTS("test/conc-env"),
     .opts = FH_OPTS(.concurrency = ENV_LIMIT)},
    {.id = "conc-env-b", .run = run_work,
     .triggers = FH_EVENTS("test/conc-env"),
     .opts = FH_OPTS(.concurrency = ENV_LIMIT)},
    {.id = "conc-ini", .run = run_work, .triggers = FH_EVENTS("test/conc-ini"),
     .opts = FH_OPTS(.concurrency = {{.limit = 1}})},
    {.id = "conc-single", .run = run_work,
     .triggers = FH_EVENTS("test/conc-single"),
     .opts = FH_OPTS(.concurrency = {{.limit = 1}},
                     .singleton = {.mode = "skip",
                                   .key = "event.data.key"})},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "concurrency", .version = "1.0.0",
          .functions = functions);
