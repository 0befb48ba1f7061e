/* server.c - `fnhost serve`: wires the store, plugins, workers and HTTP.
 * SPDX-License-Identifier: Apache-2.0 */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "config.h"
#include "cron_sched.h"
#include "http.h"
#include "lifecycle.h"
#include "log.h"
#include "pipeline.h"
#include "pool.h"
#include "registry.h"
#include "reload.h"
#include "retention.h"
#include "fetch_step.h"
#include "sched.h"
#include "store.h"
#include "util.h"
#include "webhook.h"

struct server {
    struct config *cfg;
    struct event_base *base;
    struct store *store;
    struct pool *pool;
    struct sched *sched;
    struct pipeline *pipeline;
    struct cron_sched *cron;
    struct retention *retention;
    struct fetch_steps *fetch;
    struct http *http;
    struct reload *reload;
    char *plugins;
    struct event *sigterm, *sigint, *grace;
    int stopping;
};

static int
has_plugins(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int found = 0;

    if (d == NULL)
        return 0;
    while (!found && (de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);

        found = l > 3 && strcmp(de->d_name + l - 3, ".so") == 0;
    }
    closedir(d);
    return found;
}

char *
server_plugins_dir(const struct config *cfg)
{
    char exe[PATH_MAX];
    ssize_t n;

    if (cfg->plugins_dir != NULL)
        return xstrdup(cfg->plugins_dir);
    if (has_plugins("plugins"))
        return xstrdup("plugins");
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        return xasprintf("%s/plugins", dirname(exe));
    }
    return xstrdup("plugins");
}

/* Writes CONTENT to PATH atomically, so a reader never sees half. */
static int
write_file(const char *path, const char *content)
{
    char *tmp = xasprintf("%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    int rc = -1;

    if (f != NULL) {
        fputs(content, f);
        if (fclose(f) == 0 && rename(tmp, path) == 0)
            rc = 0;
    }
    free(tmp);
    return rc;
}

/* Workers are gone: exit once every event request has its answer
 * written, so a client never misses the 200 of events that committed. */
static void
drained_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;
    struct timeval flush = {0, 50000}, again = {0, 10000};

    if (pipeline_pending(sv->pipeline) > 0) {
        event_base_once(sv->base, -1, EV_TIMEOUT, drained_cb, sv, &again);
        return;
    }
    /* A last moment for the replies still in socket buffers. */
    event_base_loopexit(sv->base, &flush);
}

static void
stopped_cb(void *arg)
{
    drained_cb(-1, 0, arg);
}

static void
grace_cb(evutil_socket_t fd, short what, void *arg)
{
    struct server *sv = arg;

    log_warn("server", "runs still in flight after the grace period; they"
                       " will run again after the next start");
    event_base_loopexit(sv->base, NULL);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
    struct server *sv = arg;
    struct timeval tv = {10, 0};

    reload_stop(sv->reload); /* a plugin build in progress gives up */
    if (sv->stopping) {
        log_warn("server", "second signal: stopping now");
        event_base_loopexit(sv->base, NULL);
        return;
    }
    sv->stopping = 1;
    log_info("server", "%s: no longer accepting events; waiting for runs in"
                       " flight (up to 10 s)", strsignal((int)sig));
    http_stop_listening(sv->http);
    cron_sched_stop(sv->cron);
    retention_stop(sv->retention);
    sv->grace = evtimer_new(sv->base, grace_cb, sv);
    evtimer_add(sv->grace, &tv);
    sched_stop(sv->sched, stopped_cb, sv);
}

/* Whether the current generation declares FUNCTION_ID: the store's
 * reads show a pending run of a function that is gone as waiting. */
static int
loaded_cb(void *arg, const char *function_id)
{
    struct server *sv = arg;

    return registry_find(reload_current(sv->reload), function_id) != NULL;
}

/* A reload made G current: new invocations run on it. */
static void
apply_cb(void *arg, struct generation *g)
{
    struct server *sv = arg;

    sched_set_generation(sv->sched, g);
    store_set_lifecycle(sv->store,
                        lifecycle_new(g, sv->cfg->dedup_window_ms));
    cron_sched_set(sv->cron, g);
}

static int
lock_state(const char *state, int *fd, char *err, size_t errlen)
{
    char *path = xasprintf("%s/fnhost.lock", state);
    char pid[32];

    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        free(path);
        return -1;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        ssize_t n = read(*fd, pid, sizeof(pid) - 1);

        pid[n > 0 ? n : 0] = '\0';
        snprintf(err, errlen, "another fnhost (pid %s) is using the state"
                              " folder %s; stop it or use --state",
                 n > 0 ? pid : "?", state);
        close(*fd);
        free(path);
        return -1;
    }
    if (ftruncate(*fd, 0) == 0) {
        int l = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());

        (void)!pwrite(*fd, pid, (size_t)l, 0);
    }
    free(path);
    return 0;
}

int
server_main(struct config *cfg)
{
    struct server sv;
    struct http_deps deps;
    char err[1024], bound[300], *db = NULL, *gendir = NULL;
    char *addr_file = NULL;
    int lockfd = -1, status = 1, n;
    struct webhooks webhooks;

    memset(&sv, 0, sizeof(sv));
    memset(&webhooks, 0, sizeof(webhooks));
    sv.cfg = cfg;
    reload_catch_early_hup();
    /* Before any process starts: workers run plugin code. */
    config_scrub_environment();
    if (cfg->file_warning != NULL)
        log_warn("config", "%s", cfg->file_warning);
    if (cfg->workers == 0) {
        /* A worker waits for each step's checkpoint to commit, so it is
         * idle most of the time: many per core keep the commits full
         * (bench/run.sh steps: 2 workers give a fifth of 32's runs/s on
         * two cores). An idle worker costs a few MB. */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        cfg->workers = 16 * (cpus < 1 ? 1 : (int)cpus);
        if (cfg->workers > 64)
            cfg->workers = 64;
    }
    signal(SIGPIPE, SIG_IGN);
    if (mkdir_p(cfg->state_dir, 0700) != 0) {
        log_error("server", "cannot create the state folder %s: %s",
                  cfg->state_dir, strerror(errno));
        return 1;
    }
    if (webhooks_init(&webhooks, cfg, err, sizeof(err)) != 0) {
        log_error("server", "%s", err);
        return 1;
    }
    for (size_t i = 0; i < webhooks.n; i++)
        log_info("webhook", "source %s: POST /webhooks/%s, %zu secret%s",
                 webhooks.sources[i].name, webhooks.sources[i].name,
                 webhooks.sources[i].nsecrets,
                 webhooks.sources[i].nsecrets == 1 ? "" : "s");
    if (lock_state(cfg->state_dir, &lockfd, err, sizeof(err)) != 0) {
        webhooks_fini(&webhooks);
        log_error("server", "%s", err);
        return 1;
    }
    /* Workers and describe processes inherit it: fh_state_dir(). */
    {
        char *abs = realpath(cfg->state_dir, NULL);

        setenv("FNHOST_STATE", abs ? abs : cfg->state_dir, 1);
        free(abs);
    }
    sv.base = event_base_new();
    db = xasprintf("%s/fnhost.db", cfg->state_dir);
    sv.store = store_open(sv.base, db, cfg->synchronous, err, sizeof(err));
    if (sv.store == NULL) {
        log_error("store", "%s", err);
        goto out;
    }
    if (strcmp(cfg->store_check, "quick") == 0) {
        if (store_check(sv.store, err, sizeof(err)) != 0) {
            log_error("store", "%s", err);
            goto out;
        }
    } else {
        log_warn("store", "store_check = off: %s is not checked for damage",
                 db);
    }
    sv.retention = retention_new(sv.base, sv.store, cfg->retain_runs_ms,
                                 cfg->retain_events_ms);
    /* Generation folders of an earlier process are stale: its workers
     * died with it. */
    gendir = xasprintf("%s/gen", cfg->state_dir);
    rm_rf(gendir);
    sv.plugins = server_plugins_dir(cfg);
    sv.reload = reload_new(sv.base, cfg, sv.plugins, err, sizeof(err));
    if (sv.reload == NULL) {
        log_error("loader", "%s", err);
        goto out;
    }
    store_set_loaded(sv.store, loaded_cb, &sv);
    /* Runs a restart ends cancelled emit their events: the subscribers
     * are known before the requeue. */
    store_set_lifecycle(sv.store, lifecycle_new(reload_current(sv.reload),
                                                cfg->dedup_window_ms));
    n = store_requeue_running(sv.store, err, sizeof(err));
    if (n < 0) {
        log_error("store", "requeue runs: %s", err);
        goto out;
    }
    {
        int64_t queued, sleeping, waiting;

        store_run_gauges(sv.store, &queued, &sleeping, &waiting);
        if (queued > 0 || sleeping > 0)
            log_info("server", "resuming: %lld run%s to run (%d were running"
                               " when fnhost stopped), %lld sleeping",
                     (long long)queued, queued == 1 ? "" : "s", n,
                     (long long)sleeping);
    }

    sv.pool = pool_new(sv.base, cfg->workers, cfg->plugin_config);
    sv.sched = sched_new(sv.base, sv.store, cfg, pool_executor(sv.pool));
    sched_set_generation(sv.sched, reload_current(sv.reload));
    if (reload_serve(sv.reload, apply_cb, &sv) != 0)
        goto out;

    sv.pipeline = pipeline_new(sv.store, sv.sched,
                               reload_current_ptr(sv.reload),
                               cfg->dedup_window_ms);
    sched_set_sender(sv.sched,
                     (struct sched_sender){pipeline_submit_step, pipeline_finish,
                                           sv.pipeline});
    sv.cron = cron_sched_new(sv.base, sv.store, sv.pipeline);
    cron_sched_set(sv.cron, reload_current(sv.reload));
    sv.fetch = fetch_steps_new(sv.base, sv.store, sv.sched,
                               reload_current_ptr(sv.reload), cfg, err,
                               sizeof(err));
    if (sv.fetch == NULL) {
        log_error("fetch", "%s", err);
        goto out;
    }
    sched_set_fetcher(sv.sched,
                      (struct sched_fetcher){fetch_steps_start, sv.fetch});
    fetch_steps_resume(sv.fetch);
    deps.cfg = cfg;
    deps.store = sv.store;
    deps.retention = sv.retention;
    deps.sched = sv.sched;
    deps.pool = sv.pool;
    deps.pipeline = sv.pipeline;
    deps.gen = reload_current_ptr(sv.reload);
    deps.webhooks = &webhooks;
    deps.reload = reload_status(sv.reload);
    sv.http = http_start(sv.base, &deps, bound, sizeof(bound), err,
                         sizeof(err));
    if (sv.http == NULL) {
        log_error("http", "%s", err);
        goto out;
    }
    addr_file = xasprintf("%s/fnhost.addr", cfg->state_dir);
    {
        char *line = xasprintf("%s\n", bound);

        if (write_file(addr_file, line) != 0)
            log_warn("server", "cannot write %s: %s", addr_file,
                     strerror(errno));
        free(line);
    }
    /* The store's mode as SQLite reports it, not as asked for. */
    log_info("server", "fnhost %s listening on http://%s (state %s, %d"
                       " workers, %s)", FNHOST_VERSION, bound,
             cfg->state_dir, cfg->workers, store_mode(sv.store));

    sv.sigterm = evsignal_new(sv.base, SIGTERM, stop_cb, &sv);
    sv.sigint = evsignal_new(sv.base, SIGINT, stop_cb, &sv);
    evsignal_add(sv.sigterm, NULL);
    evsignal_add(sv.sigint, NULL);

    sched_start(sv.sched);
    event_base_dispatch(sv.base);
    status = 0;
    log_info("server", "stopped");

out:
    if (addr_file != NULL)
        unlink(addr_file);
    /* Order matters: the store first (its last callbacks finish the
     * pipeline's submissions: they answer clients and touch the
     * scheduler), then the pipeline and HTTP, then the scheduler, which
     * kills workers still busy after the grace period: their runs stay
     * running in the store and run again at the next start. Fetches in
     * flight stay pending in the store, made again at the next start. */
    if (sv.fetch != NULL)
        fetch_steps_stop(sv.fetch);
    store_close(sv.store);
    retention_free(sv.retention);
    fetch_steps_free(sv.fetch);
    cron_sched_free(sv.cron);
    pipeline_free(sv.pipeline);
    http_free(sv.http);
    /* Each drops its references to generations: the last one removes the
     * generation's folder. */
    reload_free(sv.reload);
    if (sv.sched != NULL)
        sched_free(sv.sched);
    if (sv.pool != NULL)
        pool_free(sv.pool);
    if (sv.sigterm) {
        event_free(sv.sigterm);
        event_free(sv.sigint);
    }
    if (sv.grace)
        event_free(sv.grace);
    if (sv.base)
        event_base_free(sv.base);
    if (lockfd >= 0)
        close(lockfd);
    webhooks_fini(&webhooks);
    free(addr_file);
    free(gendir);
    free(sv.plugins);
    free(db);
    return status;
}
