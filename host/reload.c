/* reload.c - the current generation and how it is replaced: SIGHUP,
 * `fnhost reload`, --watch, coalesced builds on a thread, their status.
 * SPDX-License-Identifier: Apache-2.0 */
#include "reload.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "registry.h"
#include "util.h"

struct reload {
    struct event_base *base;
    const struct config *cfg;
    const char *plugins;
    struct generation *cur; /* a reference of its own */
    struct reload_status status;
    void (*apply)(void *arg, struct generation *g);
    void *apply_arg;
    int stopping;

    /* The build in progress: the thread writes BUILT and ERR, then a byte
     * into the pipe; the loop reads them only after that byte. */
    pthread_t thread;
    int pipe[2];
    struct event *done;
    int running, again;
    unsigned covers; /* requests counted when this build began */
    unsigned n;
    struct generation *built;
    char err[1024];

    struct event *sighup, *watch, *debounce;
    int inotify;
};

/* A SIGHUP before the loop can take it. */
static volatile sig_atomic_t early_hup;

static void
early_hup_handler(int sig)
{
    early_hup = 1;
}

void
reload_catch_early_hup(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = early_hup_handler;
    sigaction(SIGHUP, &sa, NULL);
}

static void *
build_main(void *arg)
{
    struct reload *r = arg;
    char one = 1;

    r->err[0] = '\0';
    r->built = registry_build(r->cfg, r->plugins, r->cfg->state_dir, r->n,
                              r->err, sizeof(r->err));
    (void)!write(r->pipe[1], &one, 1);
    return NULL;
}

void
reload_request(struct reload *r, const char *why)
{
    r->status.requested++;
    if (r->stopping)
        return;
    if (r->running) {
        /* Coalesce: one more build after this one, however many asked. */
        r->again = 1;
        return;
    }
    r->running = 1;
    r->status.building = 1;
    r->covers = r->status.requested;
    r->n = r->cur->n + 1;
    log_info("reload", "%s: building generation %u from %s", why, r->n,
             r->plugins);
    if (pthread_create(&r->thread, NULL, build_main, r) != 0) {
        log_error("reload", "cannot start the build thread");
        r->running = 0;
        r->status.building = 0;
        r->status.at = now_ms();
        r->status.ok = 0;
        r->status.covered = r->covers;
        r->status.reloads++;
        r->status.failed++;
        snprintf(r->status.error, sizeof(r->status.error),
                 "cannot start the build thread");
    }
}

static void
build_done_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reload *r = arg;
    struct generation *g, *old;
    char c;

    (void)!read(fd, &c, 1);
    pthread_join(r->thread, NULL);
    r->running = 0;
    g = r->built;
    r->built = NULL;
    r->status.at = now_ms();
    r->status.covered = r->covers;
    r->status.building = r->again;
    r->status.reloads++;
    if (g == NULL || g->refused > 0 || r->stopping) {
        /* nginx's rule: the new generation must be whole, or the old one
         * goes on serving as it was. */
        snprintf(r->status.error, sizeof(r->status.error), "%s",
                 g == NULL ? r->err
                 : r->stopping ? "fnhost is stopping"
                               : g->first_error);
        r->status.ok = 0;
        r->status.failed++;
        log_error("reload", "kept generation %u: %s", r->cur->n,
                  r->status.error);
        generation_unref(g);
    } else {
        old = r->cur;
        r->cur = g; /* the build's reference */
        registry_remember(g, r->cfg->state_dir);
        r->status.ok = 1;
        r->status.error[0] = '\0';
        r->status.generation = g->n;
        log_info("reload", "generation %u: %zu plugin%s, %zu function%s;"
                           " workers of generation %u finish what they"
                           " hold", g->n, g->nplugins,
                 g->nplugins == 1 ? "" : "s", g->nfns,
                 g->nfns == 1 ? "" : "s", old->n);
        r->apply(r->apply_arg, g);
        /* OLD lives on in the workers still holding it; the last one to
         * exit removes its folder. */
        generation_unref(old);
    }
    if (r->again) {
        r->again = 0;
        reload_request(r, "another reload was asked for meanwhile");
    }
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
    reload_request(arg, "SIGHUP");
}

/* --watch: inotify on the plugin folder, debounced, so a build that
 * writes several files reloads once. */
static void
debounce_cb(evutil_socket_t fd, short what, void *arg)
{
    reload_request(arg, "the plugin folder changed");
}

static void
watch_cb(evutil_socket_t fd, short what, void *arg)
{
    struct reload *r = arg;
    char buf[4096];
    struct timeval tv = {0, 300000};

    while (read(fd, buf, sizeof(buf)) > 0)
        ;
    evtimer_add(r->debounce, &tv);
}

static int
watch_start(struct reload *r)
{
    r->inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (r->inotify < 0 ||
        inotify_add_watch(r->inotify, r->plugins,
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE |
                              IN_MOVED_FROM | IN_ATTRIB) < 0) {
        log_error("reload", "cannot watch %s: %s", r->plugins,
                  strerror(errno));
        return -1;
    }
    r->watch = event_new(r->base, r->inotify, EV_READ | EV_PERSIST,
                         watch_cb, r);
    r->debounce = evtimer_new(r->base, debounce_cb, r);
    event_add(r->watch, NULL);
    log_info("reload", "watching %s: changes reload the plugins",
             r->plugins);
    return 0;
}

struct reload *
reload_new(struct event_base *base, const struct config *cfg,
           const char *plugins_dir, char *err, size_t errlen)
{
    struct reload *r = xcalloc(1, sizeof(*r));
    struct generation *g;

    g = registry_build(cfg, plugins_dir, cfg->state_dir, 1, err, errlen);
    if (g == NULL) {
        free(r);
        return NULL;
    }
    {
        size_t waiting = 0;

        for (size_t i = 0; i < g->nfns; i++)
            waiting += g->fns[i].unloaded;
        log_info("loader", "generation 1: %zu plugin%s, %zu function%s from"
                           " %s%s", g->nplugins,
                 g->nplugins == 1 ? "" : "s", g->nfns - waiting,
                 g->nfns - waiting == 1 ? "" : "s", plugins_dir,
                 g->refused ? " (some refused: see above)" : "");
        if (waiting > 0)
            log_warn("loader", "%zu function%s of refused plugins, as they"
                               " last loaded, get runs that wait for them",
                     waiting, waiting == 1 ? "" : "s");
    }
    r->base = base;
    r->cfg = cfg;
    r->plugins = plugins_dir;
    r->cur = g;
    r->inotify = -1;
    r->pipe[0] = r->pipe[1] = -1;
    r->status.at = now_ms();
    /* Generation 1 serves even with plugins refused (there is nothing
     * else), but the start-up load did not go as asked. */
    r->status.ok = g->refused == 0;
    if (g->first_error != NULL)
        snprintf(r->status.error, sizeof(r->status.error), "%s",
                 g->first_error);
    r->status.generation = 1;
    registry_remember(g, cfg->state_dir);
    return r;
}

int
reload_serve(struct reload *r, void (*apply)(void *, struct generation *),
             void *arg)
{
    r->apply = apply;
    r->apply_arg = arg;
    if (pipe2(r->pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        log_error("reload", "pipe: %s", strerror(errno));
        return -1;
    }
    r->done = event_new(r->base, r->pipe[0], EV_READ | EV_PERSIST,
                        build_done_cb, r);
    event_add(r->done, NULL);
    if (r->cfg->watch && watch_start(r) != 0)
        return -1;
    r->sighup = evsignal_new(r->base, SIGHUP, hup_cb, r);
    evsignal_add(r->sighup, NULL);
    if (early_hup)
        reload_request(r, "SIGHUP (during start-up)");
    return 0;
}

void
reload_stop(struct reload *r)
{
    r->stopping = 1;
    registry_cancel_builds();
}

struct generation *
reload_current(const struct reload *r)
{
    return r->cur;
}

const struct generation *const *
reload_current_ptr(const struct reload *r)
{
    return (const struct generation *const *)&r->cur;
}

const struct reload_status *
reload_status(const struct reload *r)
{
    return &r->status;
}

void
reload_free(struct reload *r)
{
    if (r == NULL)
        return;
    if (r->running)
        pthread_join(r->thread, NULL);
    generation_unref(r->built);
    generation_unref(r->cur);
    if (r->done != NULL)
        event_free(r->done);
    if (r->pipe[0] >= 0) {
        close(r->pipe[0]);
        close(r->pipe[1]);
    }
    if (r->watch != NULL) {
        event_free(r->watch);
        event_free(r->debounce);
    }
    if (r->inotify >= 0)
        close(r->inotify);
    if (r->sighup != NULL)
        event_free(r->sighup);
    free(r);
}
