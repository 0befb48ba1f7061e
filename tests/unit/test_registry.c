/* test_registry.c - a generation's lifetime: references, and the folder
 * that goes with the last one; cancelling a build.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "registry.h"
#include "tap.h"
#include "util.h"

static char tmpdir[] = "/tmp/fnhost-test-registry-XXXXXX";

static int
exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

int
main(void)
{
    struct config cfg;
    struct generation *g;
    char err[256] = "", *plugins, *state, *dir, *so;
    FILE *f;

    if (mkdtemp(tmpdir) == NULL)
        return 1;
    config_init(&cfg);
    plugins = xasprintf("%s/plugins", tmpdir);
    state = xasprintf("%s/state", tmpdir);
    mkdir_p(plugins, 0700);

    g = registry_build(&cfg, plugins, state, 7, err, sizeof(err));
    ok(g != NULL, "an empty plugin folder builds a generation: %s", err);
    if (g == NULL)
        return done_testing();
    dir = xstrdup(g->dir);
    is_int(g->refs, 1, "with one reference, the caller's");
    ok(exists(dir), "and its folder, %s", dir);
    ok(generation_ref(g) == g && g->refs == 2, "generation_ref adds one");
    generation_unref(g);
    ok(exists(dir), "dropping one of two keeps the folder");
    generation_unref(g);
    ok(!exists(dir), "the last unref removes it (and frees the generation)");
    generation_unref(NULL);
    ok(generation_ref(NULL) == NULL, "NULL is ignored by both");

    /* Cancelled (fnhost is stopping): a build gives up on every plugin. */
    so = xasprintf("%s/a.so", plugins);
    f = fopen(so, "w");
    if (f != NULL)
        fclose(f);
    chmod(so, 0644);
    registry_cancel_builds();
    g = registry_build(&cfg, plugins, state, 8, err, sizeof(err));
    ok(g != NULL && g->refused == 1 && g->nplugins == 0,
       "after registry_cancel_builds, a build refuses its plugins");
    ok(g != NULL && g->first_error != NULL &&
           strstr(g->first_error, "a.so: cancelled: fnhost is stopping"),
       "and says why, for each file");
    generation_unref(g);

    config_free(&cfg);
    rm_rf(tmpdir);
    free(plugins);
    free(state);
    free(dir);
    free(so);
    return done_testing();
}
