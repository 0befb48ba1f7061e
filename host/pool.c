/* pool.c - the worker processes: start, feed, time out, replace.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Workers are fork+exec'd copies of this binary (`fnhost worker`), so each
 * starts clean: no libevent state, no SQLite handle, no sanitizer memory of
 * the master. The master learns of a death two ways, an EOF on its pipe
 * and SIGCHLD; only the reaped exit status is acted on. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "duration.h"
#include "log.h"
#include "proto.h"
#include "registry.h"
#include "sched.h"
#include "util.h"
#include "worker.h"

enum worker_state { W_STARTING, W_IDLE, W_BUSY, W_DEAD };

struct worker {
    struct pool *pool;
    struct generation *gen;
    pid_t pid;
    struct bufferevent *bev; /* reads the worker's pipe */
    struct bufferevent *out; /* writes to the worker's pipe */
    enum worker_state state;
    struct job *job;
    struct event *timer;
    int64_t timeout_ms;
    char *kill_reason;
    int doomed;   /* killed or disconnected: gets no more work */
    int quitting; /* told to exit after its invocation */
    struct worker *next;
};

struct pool {
    struct event_base *base;
    int size;
    struct json_object *plugin_config;
    struct pool_callbacks cb;
    struct generation *gen;
    struct worker *workers;
    struct event *sigchld;
    struct event *respawn;
    int failed_starts; /* in a row, for the respawn delay */
    uint64_t start_failures; /* ever, for /metrics */
    int stopping;
    void (*stopped)(void *);
    void *stopped_arg;
};

static void worker_read_cb(struct bufferevent *bev, void *arg);
static void worker_event_cb(struct bufferevent *bev, short what, void *arg);
static void worker_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void sigchld_cb(evutil_socket_t fd, short what, void *arg);
static void respawn_cb(evutil_socket_t fd, short what, void *arg);

static int
count_state(const struct pool *p, enum worker_state st)
{
    int n = 0;

    for (struct worker *w = p->workers; w != NULL; w = w->next)
        n += w->state == st;
    return n;
}

int
pool_idle(const struct pool *p)
{
    int n = 0;

    for (struct worker *w = p->workers; w != NULL; w = w->next)
        n += w->state == W_IDLE && !w->doomed && !w->quitting;
    return n;
}

int
pool_busy(const struct pool *p)
{
    return count_state(p, W_BUSY);
}

void
pool_workers(const struct pool *p, int *busy, int *idle)
{
    *busy = *idle = 0;
    for (const struct worker *w = p->workers; w != NULL; w = w->next) {
        if (w->state == W_BUSY)
            (*busy)++;
        else if (w->state == W_IDLE && !w->doomed && !w->quitting)
            (*idle)++;
    }
}

uint64_t
pool_start_failures(const struct pool *p)
{
    return p->start_failures;
}

/* Workers that count towards the pool's size: not the ones leaving with
 * an old generation. */
static int
alive(const struct pool *p)
{
    int n = 0;

    for (struct worker *w = p->workers; w != NULL; w = w->next)
        n += !w->quitting;
    return n;
}

/* Frames on their way to a worker: the loop's thread alone sends. */
static struct proto_buf obuf;

/* Sends the frames in B to W (and empties B). Most frames are small and
 * the pipe empty: they are written now rather than through the
 * bufferevent, which would arm a write event (two epoll_ctl calls and a
 * loop turn per message, the master's main cost under load). What does
 * not fit is queued behind. */
static void
send_buf(struct worker *w, struct proto_buf *b)
{
    struct evbuffer *out;
    ssize_t n = 0;

    if (w->out != NULL) {
        out = bufferevent_get_output(w->out);
        if (evbuffer_get_length(out) == 0) {
            n = write(bufferevent_getfd(w->out), b->data, b->len);
            if (n < 0)
                n = 0; /* full, or gone: the bufferevent finds out */
        }
        if ((size_t)n < b->len)
            evbuffer_add(out, b->data + n, b->len - (size_t)n);
    }
    b->len = 0;
}

static void
arm_timeout(struct worker *w)
{
    struct timeval tv;

    tv.tv_sec = w->timeout_ms / 1000;
    tv.tv_usec = (w->timeout_ms % 1000) * 1000;
    evtimer_add(w->timer, &tv);
}

/* Ends worker W (SIGKILL); WHY, if set, is the reason its attempt
 * failed. The reaping does the rest. */
static void
doom(struct worker *w, const char *why)
{
    if (why != NULL && w->kill_reason == NULL)
        w->kill_reason = xstrdup(why);
    w->doomed = 1;
    kill(w->pid, SIGKILL);
}

#define WORKER_START_MS 10000

/* In the forked child: becomes a worker, or, with FNHOST_WORKER_WRAPPER
 * ("valgrind --leak-check=full", "strace -f -o /tmp/w"), a worker under
 * that tool, for debugging a plugin. */
static void
exec_worker(void)
{
    const char *wrap = getenv("FNHOST_WORKER_WRAPPER");
    char exe[4096], *argv[40], *copy, *save = NULL;
    ssize_t n;
    int argc = 0;

    if (wrap == NULL || *wrap == '\0') {
        execl("/proc/self/exe", "fnhost", "worker", (char *)NULL);
        return;
    }
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return;
    exe[n] = '\0';
    copy = strdup(wrap);
    if (copy == NULL)
        return;
    for (char *t = strtok_r(copy, " ", &save); t != NULL && argc < 36;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc++] = exe;
    argv[argc++] = (char *)"worker";
    argv[argc] = NULL;
    execvp(argv[0], argv);
}

/* Closes the master's ends of W's pipes: a worker reading EOF exits. */
static void
close_pipes(struct worker *w)
{
    if (w->bev != NULL)
        bufferevent_free(w->bev);
    if (w->out != NULL)
        bufferevent_free(w->out);
    w->bev = w->out = NULL;
}

static void
out_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct worker *w = arg;

    /* EPIPE: the worker is gone, or closed its end. Its read side sees
     * the EOF (or not, if only that end was closed) and SIGCHLD says how
     * it ended; nothing more can be sent, so it gets no more work. */
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bufferevent_free(w->out);
        w->out = NULL;
        doom(w, NULL); /* its exit status tells why, if it died */
    }
}

/* In the forked child: the pipe ends become fds 3 (from the master) and 4
 * (to it), whatever numbers they had. */
static int
child_pipes(int rfd, int wfd)
{
    int r = fcntl(rfd, F_DUPFD_CLOEXEC, 10), wr = fcntl(wfd, F_DUPFD_CLOEXEC, 10);

    return r < 0 || wr < 0 || dup2(r, 3) != 3 || dup2(wr, 4) != 4 ? -1 : 0;
}

/* Two pipes, not a socketpair: a step is a message each way, and a pipe
 * wakes only its reader, where a unix socket's read also wakes the peer
 * blocked on the other end (its write-space callback shares the wait
 * queue), a wasted context switch per message. */
static int
spawn(struct pool *p)
{
    struct worker *w;
    struct proto_hello hello;
    int to[2], from[2];
    pid_t pid, master = getpid();

    if (pipe2(to, O_CLOEXEC) != 0) {
        log_error("pool", "cannot start a worker: pipe: %s", strerror(errno));
        return -1;
    }
    if (pipe2(from, O_CLOEXEC) != 0) {
        log_error("pool", "cannot start a worker: pipe: %s", strerror(errno));
        close(to[0]);
        close(to[1]);
        return -1;
    }
    pid = fork();
    if (pid < 0) {
        log_error("pool", "cannot start a worker: fork: %s", strerror(errno));
        close(to[0]);
        close(to[1]);
        close(from[0]);
        close(from[1]);
        return -1;
    }
    if (pid == 0) {
        /* A worker must not outlive its master: a restarted master would
         * find the port taken and runs claimed twice. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != master || child_pipes(to[0], from[1]) != 0)
            _exit(1);
        child_before_exec();
        exec_worker();
        _exit(127);
    }
    close(to[0]);
    close(from[1]);
    evutil_make_socket_nonblocking(to[1]);
    evutil_make_socket_nonblocking(from[0]);
    w = xcalloc(1, sizeof(*w));
    w->pool = p;
    w->gen = generation_ref(p->gen);
    w->pid = pid;
    w->state = W_STARTING;
    w->bev = bufferevent_socket_new(p->base, from[0], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(w->bev, worker_read_cb, NULL, worker_event_cb, w);
    bufferevent_enable(w->bev, EV_READ);
    w->out = bufferevent_socket_new(p->base, to[1], BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(w->out, NULL, NULL, out_event_cb, w);
    bufferevent_enable(w->out, EV_WRITE);
    w->timer = evtimer_new(p->base, worker_timeout_cb, w);
    w->timeout_ms = WORKER_START_MS;
    arm_timeout(w);
    w->next = p->workers;
    p->workers = w;

    hello.nplugins = p->gen->nplugins;
    hello.plugins = xcalloc(hello.nplugins ? hello.nplugins : 1,
                            sizeof(*hello.plugins));
    for (size_t i = 0; i < hello.nplugins; i++)
        hello.plugins[i] = p->gen->plugins[i].copy;
    hello.config = p->plugin_config;
    hello.log_level = log_enabled(LOG_DEBUG) ? "debug" : "info";
    hello.log_json = log_json();
    proto_put_hello(&obuf, &hello);
    free(hello.plugins);
    send_buf(w, &obuf);
    log_debug("pool", "worker %d started on generation %u", (int)pid,
              p->gen->n);
    return 0;
}

static void
fill(struct pool *p)
{
    if (p->stopping || p->gen == NULL)
        return;
    while (alive(p) < p->size) {
        if (spawn(p) != 0) {
            /* Out of processes or descriptors: try again later rather
             * than spin. */
            struct timeval tv = {1, 0};

            evtimer_add(p->respawn, &tv);
            return;
        }
    }
}

struct pool *
pool_new(struct event_base *base, int n, struct json_object *plugin_config)
{
    struct pool *p = xcalloc(1, sizeof(*p));

    p->base = base;
    p->size = n;
    p->plugin_config = plugin_config;
    p->sigchld = evsignal_new(base, SIGCHLD, sigchld_cb, p);
    evsignal_add(p->sigchld, NULL);
    p->respawn = evtimer_new(base, respawn_cb, p);
    return p;
}

/* Tells W to exit once it holds no invocation: closing its pipes is the
 * message. */
static void
retire(struct worker *w)
{
    w->quitting = 1;
    /* A starting one is closed when it says it is ready: its hello may
     * still sit in the pipe. */
    if (w->state == W_IDLE && w->bev != NULL) {
        close_pipes(w);
        w->state = W_DEAD;
    }
}

void
pool_set_generation(struct pool *p, struct generation *g)
{
    struct generation *old = p->gen;

    p->gen = generation_ref(g);
    for (struct worker *w = p->workers; w != NULL; w = w->next)
        if (w->gen != g)
            retire(w);
    generation_unref(old);
    fill(p);
}

int
pool_dispatch(struct pool *p, struct job *job, const char *event_id,
              const char *event_json, const struct step_memo *steps,
              unsigned max_attempts, int64_t timeout_ms)
{
    struct worker *w;
    struct proto_invoke inv;

    for (w = p->workers; w != NULL; w = w->next)
        if (w->state == W_IDLE && !w->doomed && !w->quitting &&
            w->bev != NULL && w->out != NULL)
            break;
    if (w == NULL)
        return -1;
    memset(&inv, 0, sizeof(inv));
    /* A branch runs as its group's run, which its steps are. */
    inv.run_id = job->group_run[0] != '\0' ? job->group_run : job->run_id;
    inv.target = job->target;
    inv.function_id = job->function_id;
    inv.event_id = event_id;
    inv.attempt = job->attempt;
    inv.max_attempts = max_attempts;
    inv.checkpoint_ahead = job->checkpoint_ahead;
    inv.event_json = event_json;
    inv.events_json = job->events;
    inv.memo = steps;
    inv.state_bytes = job->state_bytes;
    proto_put_invoke(&obuf, &inv);
    send_buf(w, &obuf);
    w->state = W_BUSY;
    w->job = job;
    w->timeout_ms = timeout_ms;
    arm_timeout(w);
    return 0;
}

static void settled(struct worker *w);

void
pool_ack(struct pool *p, struct job *job)
{
    for (struct worker *w = p->workers; w != NULL; w = w->next) {
        /* A job that ended is no worker's: the acks of checkpoints it
         * sent ahead are nobody's business now (handle_done()). */
        if (w->job != job || w->state != W_BUSY)
            continue;
        if (job->cancel)
            proto_put_ack_cancel(&obuf);
        else
            proto_put_ack(&obuf);
        send_buf(w, &obuf);
        /* The time limit is per step: the next one starts now. */
        arm_timeout(w);
        return;
    }
}

void
pool_kill(struct pool *p, struct job *job, const char *why)
{
    for (struct worker *w = p->workers; w != NULL; w = w->next) {
        if (w->job == job) {
            doom(w, why);
            return;
        }
    }
}

static void
finish_job(struct worker *w, const struct pool_result *r)
{
    struct job *job = w->job;

    w->job = NULL;
    evtimer_del(w->timer);
    if (job != NULL)
        w->pool->cb.result(w->pool->cb.arg, job, r);
}

/* W says it is ready. */
static void
handle_ready(struct worker *w)
{
    struct pool *p = w->pool;

    if (w->state != W_STARTING) {
        log_warn("pool", "worker %d: unexpected message \"ready\"",
                 (int)w->pid);
        return;
    }
    evtimer_del(w->timer);
    w->state = W_IDLE;
    p->failed_starts = 0;
    if (w->quitting) {
        retire(w);
        return;
    }
    p->cb.idle(p->cb.arg);
}

/* W's invocation ended as D says. */
static void
handle_done(struct worker *w, const struct proto_done *d)
{
    static const enum pool_suspend suspend[] = {
        [PROTO_SUSPEND_NONE] = SUSPEND_NONE,
        [PROTO_SUSPEND_SLEEP] = SUSPEND_SLEEP,
        [PROTO_SUSPEND_RETRY] = SUSPEND_RETRY,
        [PROTO_SUSPEND_FETCH] = SUSPEND_FETCH,
        [PROTO_SUSPEND_WAIT] = SUSPEND_WAIT,
        [PROTO_SUSPEND_PARALLEL] = SUSPEND_PARALLEL,
        [PROTO_SUSPEND_BRANCH] = SUSPEND_BRANCH,
    };
    struct pool_result r;

    if (w->state != W_BUSY) {
        log_warn("pool", "worker %d: unexpected message \"done\"",
                 (int)w->pid);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.ok = d->ok;
    r.output = d->ok ? d->output : NULL;
    r.error = d->error;
    r.no_retry = d->no_retry;
    r.cancelled = d->cancelled;
    r.retry_after_ms = d->retry_after_ms;
    r.attempt = d->attempt;
    r.unit_started_at = d->unit_started_at;
    r.suspend = suspend[d->suspend];
    if (d->suspend != PROTO_SUSPEND_NONE)
        r.step = d->step;
    /* A function that checkpoints ahead sends its end before the acks
     * of its last checkpoints: it commits after them (the store writes
     * in order, and fails the end of a run whose checkpoint failed), and
     * the worker reads no ack after its end. It is free at once: acks
     * sent before this message are skipped before its next invoke, and
     * none is sent after. */
    w->state = W_IDLE;
    finish_job(w, &r);
    settled(w);
}

/* W's invocation is over: it is free. */
static void
settled(struct worker *w)
{
    struct pool *p = w->pool;

    w->state = W_IDLE;
    if (w->doomed) {
        /* Killed while its answer was on the way: no more work. */
    } else if (p->stopping || w->quitting) {
        /* Closing its pipes tells the worker to exit. */
        close_pipes(w);
        w->state = W_DEAD;
    } else {
        p->cb.idle(p->cb.arg);
    }
}

/* A step checkpoint from W's invocation. */
static void
handle_step(struct worker *w, const struct step_record *st)
{
    if (w->state != W_BUSY || w->job == NULL) {
        log_warn("pool", "worker %d sent a step while running nothing",
                 (int)w->pid);
        return;
    }
    if (st->step_id == NULL || st->status == NULL) {
        log_warn("pool", "worker %d sent a step without an id", (int)w->pid);
        return;
    }
    /* The worker waits for the ack: its clock stops meanwhile. */
    evtimer_del(w->timer);
    w->pool->cb.step(w->pool->cb.arg, w->job, st);
}

static void
worker_read_cb(struct bufferevent *bev, void *arg)
{
    struct worker *w = arg;
    struct proto_msg m;
    int rc;

    while (w->bev != NULL &&
           (rc = proto_take(bufferevent_get_input(bev), &m)) != 0) {
        if (rc < 0) {
            /* The reason becomes the attempt's error: what the plugin
             * author reads in the run. */
            char *why = m.why != NULL
                            ? xasprintf("worker sent %s", m.why)
                            : xstrdup("worker sent a malformed message");

            log_error("pool", "worker %d (run %s): %s; stopping it",
                      (int)w->pid, w->job != NULL ? w->job->run_id : "-",
                      why);
            doom(w, why);
            free(why);
            return;
        }
        if (m.type == PROTO_READY)
            handle_ready(w);
        else if (m.type == PROTO_STEP)
            handle_step(w, &m.step);
        else if (m.type == PROTO_LOG) {
            /* A line of the run it runs (none after its end). */
            if (w->state == W_BUSY && w->job != NULL &&
                w->pool->cb.log != NULL)
                w->pool->cb.log(w->pool->cb.arg, w->job, &m.log);
        } else
            handle_done(w, &m.done);
    }
}

static void
worker_event_cb(struct bufferevent *bev, short what, void *arg)
{
    struct worker *w = arg;

    /* EOF or error: the process is gone or going; SIGCHLD tells how. */
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        close_pipes(w);
        doom(w, NULL);
    }
}

static void
worker_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct worker *w = arg;
    char d[32], *why;

    duration_format(w->timeout_ms, d, sizeof(d));
    if (w->state == W_STARTING) {
        why = xasprintf("did not become ready within %s: a plugin's load()"
                        " may be stuck", d);
        log_warn("pool", "worker %d %s; killing it", (int)w->pid, why);
    } else {
        why = xasprintf("timed out after %s", d);
        log_warn("pool", "worker %d: run %s %s; killing it", (int)w->pid,
                 w->job ? w->job->run_id : "-", why);
    }
    doom(w, why);
    free(why);
}

static void
worker_free(struct worker *w)
{
    close_pipes(w);
    event_free(w->timer);
    free(w->kill_reason);
    /* Its process is gone: it no longer maps the generation's copies. */
    generation_unref(w->gen);
    free(w);
}

static void
reaped(struct pool *p, struct worker *w, int status)
{
    char why[128];
    int was_starting = w->state == W_STARTING;

    if (w->kill_reason != NULL)
        snprintf(why, sizeof(why), "%s", w->kill_reason);
    else if (was_starting && WIFEXITED(status) &&
             WEXITSTATUS(status) == WORKER_EXIT_LOAD)
        snprintf(why, sizeof(why), "could not load its plugins (its line"
                                   " above says why); it gets no runs");
    else if (WIFSIGNALED(status))
        snprintf(why, sizeof(why), "worker killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(why, sizeof(why), "worker exited with status %d",
                 WEXITSTATUS(status));
    if (w->job != NULL) {
        struct pool_result r;

        log_warn("pool", "worker %d died running %s (%s): %s", (int)w->pid,
                 w->job->function_id, w->job->run_id, why);
        memset(&r, 0, sizeof(r));
        r.error = why;
        r.attempt = w->job->attempt;
        r.unit_started_at = w->job->started_at;
        finish_job(w, &r);
    } else if (!p->stopping && !w->quitting) {
        log_warn("pool", "worker %d: %s", (int)w->pid, why);
    }
    if (was_starting && !p->stopping && !w->quitting) {
        p->failed_starts++;
        p->start_failures++;
    }
    worker_free(w);
}

static void
sigchld_cb(evutil_socket_t fd, short what, void *arg)
{
    struct pool *p = arg;
    struct worker **pw = &p->workers;

    while (*pw != NULL) {
        struct worker *w = *pw;
        int status;

        if (waitpid(w->pid, &status, WNOHANG) == w->pid) {
            *pw = w->next;
            reaped(p, w, status);
            continue;
        }
        pw = &w->next;
    }
    if (p->stopping) {
        if (p->workers == NULL && p->stopped != NULL) {
            void (*done)(void *) = p->stopped;

            p->stopped = NULL;
            done(p->stopped_arg);
        }
        return;
    }
    if (alive(p) < p->size) {
        /* Workers that die before they are ready (a broken plugin, no
         * memory) are restarted with a growing delay, not in a loop. */
        struct timeval tv = {0, 0};

        if (p->failed_starts > 0) {
            int s = p->failed_starts > 5 ? 30 : 1 << (p->failed_starts - 1);

            tv.tv_sec = s;
            log_warn("pool", "workers fail to start; next try in %d s", s);
        }
        evtimer_add(p->respawn, &tv);
    }
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
    fill(arg);
}

void
pool_stop(struct pool *p, void (*done)(void *), void *arg)
{
    p->stopping = 1;
    p->stopped = done;
    p->stopped_arg = arg;
    evtimer_del(p->respawn);
    for (struct worker *w = p->workers; w != NULL; w = w->next) {
        if (w->state != W_BUSY && w->bev != NULL) {
            close_pipes(w);
            w->state = W_DEAD;
        }
    }
    if (p->workers == NULL) {
        p->stopped = NULL;
        done(arg);
    }
}

void
pool_free(struct pool *p)
{
    while (p->workers != NULL) {
        struct worker *w = p->workers;
        int status;

        p->workers = w->next;
        kill(w->pid, SIGKILL);
        while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
            ;
        /* An attempt cut short here is not recorded: its run stays
         * running in the store and is queued again at the next start. */
        worker_free(w);
    }
    event_free(p->sigchld);
    event_free(p->respawn);
    generation_unref(p->gen);
    free(p);
}

/* ------------------------------------------------- as an executor */

static void
ex_bind(void *impl, const struct pool_callbacks *cb)
{
    struct pool *p = impl;

    p->cb = *cb;
}

static void
ex_set_generation(void *impl, struct generation *g)
{
    pool_set_generation(impl, g);
}

static int
ex_dispatch(void *impl, struct job *job, const struct step_memo *steps,
            unsigned max_attempts, int64_t timeout_ms)
{
    return pool_dispatch(impl, job, job->event_id, job->event->s, steps,
                         max_attempts, timeout_ms);
}

static void
ex_ack(void *impl, struct job *job)
{
    pool_ack(impl, job);
}

static void
ex_kill(void *impl, struct job *job, const char *why)
{
    pool_kill(impl, job, why);
}

static int
ex_idle(void *impl)
{
    return pool_idle(impl);
}

static void
ex_stop(void *impl, void (*done)(void *), void *arg)
{
    pool_stop(impl, done, arg);
}

static const struct executor_ops pool_ops = {
    ex_bind, ex_set_generation, ex_dispatch, ex_ack, ex_kill, ex_idle,
    ex_stop,
};

struct executor
pool_executor(struct pool *p)
{
    struct executor ex = {&pool_ops, p};

    return ex;
}
