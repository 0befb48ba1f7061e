/* barrier_body.h - the body of the barrier_N.c test plugins.
 * SPDX-License-Identifier: Apache-2.0
 *
 * load() marks its process in the folder FNHOST_TEST_BARRIER names and
 * waits until BARRIER_N processes have: it returns only if the host
 * describes that many plugins at the same time. Described one after
 * another, each would wait until its load_timeout. Each barrier_N.c sets
 * BARRIER_ID and includes this. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <fnhost.h>

#define BARRIER_N 3

static int
marks(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int n = 0;

    if (d == NULL)
        return 0;
    while ((de = readdir(d)) != NULL)
        n += de->d_name[0] != '.';
    closedir(d);
    return n;
}

static int
barrier_load(struct fh_ctx *ctx)
{
    const char *dir = getenv("FNHOST_TEST_BARRIER");
    char path[4096];
    int fd;

    if (dir == NULL)
        return FH_OK;
    snprintf(path, sizeof(path), "%s/%s", dir, BARRIER_ID);
    fd = open(path, O_CREAT | O_WRONLY, 0644);
    if (fd >= 0)
        close(fd);
    while (marks(dir) < BARRIER_N)
        usleep(10000);
    return FH_OK;
}

static int
barrier_run(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "barrier-" BARRIER_ID,
     .triggers = FH_EVENTS("test/barrier"),
     .run = barrier_run},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "barrier-" BARRIER_ID, .version = "1.0.0",
          .functions = functions, .load = barrier_load);
