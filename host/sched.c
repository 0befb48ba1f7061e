/* sched.c - runs that are due: the ready queue, dispatch, retries, wakes.
 * SPDX-License-Identifier: Apache-2.0 */
#include "sched.h"
#include "proto.h"

#include <event2/event.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "conc.h"
#include "config.h"
#include "duration.h"
#include "log.h"
#include "executor.h"
#include "registry.h"
#include "steprules.h"
#include "store.h"
#include "store_debounce.h"
#include "store_wait.h"
#include "util.h"

/* The ready queue holds at most QUEUE_MAX runs; the rest wait in the store
 * and are loaded QUEUE_SCAN at a time when the queue runs low. */
#define QUEUE_MAX 8192
#define QUEUE_LOW 256
#define QUEUE_SCAN 1024

struct sched {
    struct sched_metrics metrics;
    struct event_base *base;
    struct store *store;
    const struct config *cfg;
    struct generation *gen; /* a reference of its own */
    struct executor ex;
    struct sched_sender sender;
    struct sched_watch *watches; /* runs whose end someone awaits */
    struct sched_fetcher fetcher;

    struct conc_table *conc; /* the slots of concurrency keys in use */

    struct job *head, **tail; /* ready, in order: queue_insert() */
    struct job **scan_at;     /* where the scan's next run goes from */
    int nqueued;
    int nrunning;

    struct job **set; /* claimed runs by id: queued, running or finishing */
    size_t setcap, setlen;

    struct event *wake;  /* the earliest known due time */
    int64_t wake_at;     /* 0: none armed */
    struct event *kick;  /* dispatch and scan outside the caller's stack */
    int backlog;         /* due runs may be in the store only */
    int stopping;
    int expiring;        /* a store_expire_waits() is on its way */
    int expired;         /* how many it ended */
    int conc_retry;      /* a read of a key's queue failed */

    /* Outcomes the store could not record (a full disk): their runs stay
     * claimed, nothing new is dispatched until they are written, and one
     * timer writes them again. */
    struct finishing *unrecorded;
    struct event *rewrite;
    int64_t unrecorded_logged_at; /* mono ms of the last line about them */
    uint64_t unrecorded_failures; /* failed writes since that line */
};

/* While outcomes wait to be written, a line at most this often. */
#define UNRECORDED_LOG_MS 10000

static void dispatch(struct sched *s);
static void kick(struct sched *s);
static void conc_take_cb(void *arg, struct conc_slot *sl);

struct shared_str *
shared_str_new(const char *str, size_t len)
{
    struct shared_str *s = xmalloc(sizeof(*s) + len + 1);

    s->refs = 1;
    s->len = len;
    memcpy(s->s, str, len);
    s->s[len] = '\0';
    return s;
}

void
shared_str_unref(struct shared_str *s)
{
    if (s != NULL && --s->refs == 0)
        free(s);
}

/* --------------------------------------------------------- claimed set */

static size_t
hash(const char *id)
{
    return str_hash(id);
}

static struct job *
set_find(const struct sched *s, const char *id)
{
    if (s->setcap == 0)
        return NULL;
    for (struct job *j = s->set[hash(id) & (s->setcap - 1)]; j; j = j->hnext)
        if (strcmp(j->run_id, id) == 0)
            return j;
    return NULL;
}

static void
set_add(struct sched *s, struct job *job)
{
    size_t b;

    if (s->setlen >= s->setcap) {
        size_t cap = s->setcap ? s->setcap * 2 : 1024;
        struct job **set = xcalloc(cap, sizeof(*set));

        for (size_t i = 0; i < s->setcap; i++) {
            struct job *j = s->set[i], *next;

            for (; j != NULL; j = next) {
                next = j->hnext;
                b = hash(j->run_id) & (cap - 1);
                j->hnext = set[b];
                set[b] = j;
            }
        }
        free(s->set);
        s->set = set;
        s->setcap = cap;
    }
    b = hash(job->run_id) & (s->setcap - 1);
    job->hnext = s->set[b];
    s->set[b] = job;
    s->setlen++;
}

static void
set_del(struct sched *s, struct job *job)
{
    struct job **pj = &s->set[hash(job->run_id) & (s->setcap - 1)];

    for (; *pj != NULL; pj = &(*pj)->hnext) {
        if (*pj == job) {
            *pj = job->hnext;
            s->setlen--;
            return;
        }
    }
}

static void
job_free(struct job *job)
{
    if (job->taken != NULL) {
        job->taken->taken--;
        conc_table_put(job->taken);
    }
    for (int i = 0; i < 2; i++)
        free(job->conc_keys[i]);
    free(job->target);
    free(job->events);
    free(job->function_id);
    shared_str_unref(job->event);
    free(job);
}

/* ------------------------------------------------------------- queue */

static int
claimed(void *arg, const char *run_id)
{
    return set_find(arg, run_id) != NULL;
}

/* The last job in the ready queue, or NULL. */
static struct job *
queue_last(const struct sched *s)
{
    if (s->tail == &s->head)
        return NULL;
    return (struct job *)(void *)((char *)s->tail -
                                  offsetof(struct job, next));
}

/* Puts JOB in the ready queue by its score, after the jobs due no later
 * (so equal scores keep their order) and after the pinned ones, looking
 * from FROM on: the head, or a place no later than JOB's. Returns where
 * a job of a higher score may be looked for from. Jobs come mostly in
 * the order of their scores: those go at the end at once. */
static struct job **
queue_insert(struct sched *s, struct job **from, struct job *job)
{
    struct job *last = queue_last(s);
    struct job **at = s->tail;

    if (last != NULL && last->score > job->score) {
        at = from;
        while (*at != NULL && ((*at)->pinned || (*at)->score <= job->score))
            at = &(*at)->next;
    }
    job->next = *at;
    *at = job;
    if (s->tail == at)
        s->tail = &job->next;
    s->nqueued++;
    return &job->next;
}

static void
enqueue(struct sched *s, struct job *job)
{
    queue_insert(s, &s->head, job);
}

/* Puts JOB back at the head: it was first in line and stays so. */
static void
requeue_head(struct sched *s, struct job *job)
{
    job->pinned = 1;
    job->next = s->head;
    s->head = job;
    if (s->tail == &s->head)
        s->tail = &job->next;
    s->nqueued++;
}

/* Takes JOB out of the ready queue, wherever it is in it. */
static void
queue_remove(struct sched *s, struct job *job)
{
    struct job **pj = &s->head;

    while (*pj != NULL && *pj != job)
        pj = &(*pj)->next;
    if (*pj == NULL)
        return;
    *pj = job->next;
    if (s->tail == &job->next)
        s->tail = pj;
    job->next = NULL;
    job->pinned = 0;
    s->nqueued--;
}

static struct job *
dequeue(struct sched *s)
{
    struct job *job = s->head;

    if (job != NULL) {
        s->head = job->next;
        if (s->head == NULL)
            s->tail = &s->head;
        job->pinned = 0;
        s->nqueued--;
    }
    return job;
}

static struct job *
job_new(const char *run_id, const char *function_id, const char *event_id,
        struct shared_str *event, unsigned attempt)
{
    struct job *job = xcalloc(1, sizeof(*job));

    snprintf(job->run_id, sizeof(job->run_id), "%s", run_id);
    snprintf(job->event_id, sizeof(job->event_id), "%s", event_id);
    job->function_id = xstrdup(function_id);
    job->event = event;
    event->refs++;
    job->attempt = attempt;
    return job;
}

/* Gives JOB copies of KEYS[0..1] (NULL: none). */
static void
job_set_keys(struct job *job, const char *const *keys)
{
    for (int i = 0; keys != NULL && i < 2; i++)
        job->conc_keys[i] = keys[i] != NULL ? xstrdup(keys[i]) : NULL;
}

static void
arm_wake(struct sched *s, int64_t at)
{
    struct timeval tv;
    int64_t d;

    if (at <= 0 || (s->wake_at != 0 && s->wake_at <= at))
        return;
    s->wake_at = at;
    d = at - now_ms();
    if (d < 0)
        d = 0;
    tv.tv_sec = d / 1000;
    tv.tv_usec = (d % 1000) * 1000;
    evtimer_add(s->wake, &tv);
}

/* A job for the run D that the store found due. */
static struct job *
job_from_due(const struct store_due *d)
{
    struct shared_str *ev = shared_str_new(d->event_json,
                                           strlen(d->event_json));
    struct job *job = job_new(d->run_id, d->function_id, d->event_id, ev,
                              d->attempt);

    shared_str_unref(ev);
    job_set_keys(job, d->conc_keys);
    job->score = d->wake_at;
    return job;
}

static void
due_cb(void *arg, const struct store_due *d)
{
    struct sched *s = arg;
    struct job *job = job_from_due(d);

    if (d->target != NULL && d->group_run != NULL) {
        snprintf(job->group_run, sizeof(job->group_run), "%s", d->group_run);
        job->target = xstrdup(d->target);
    }
    set_add(s, job);
    /* The scan reads in the order of wake_at, its score. */
    s->scan_at = queue_insert(s, s->scan_at, job);
}

#define EXPIRE_MAX 1024

static void
expired_cb(void *arg, int rc, const char *err)
{
    struct sched *s = arg;

    s->expiring = 0;
    if (rc != 0) {
        log_error("sched", "cannot end the waits that timed out: %s; trying"
                           " again in a second", err);
        arm_wake(s, now_ms() + 1000);
        return;
    }
    if (s->expired > 0)
        log_debug("sched", "%d wait%s or invoke%s timed out", s->expired,
                  s->expired == 1 ? "" : "s", s->expired == 1 ? "" : "s");
    /* Their runs are due, and more waits may have timed out; a debounced
     * run made due has its timeouts.start deadline from now on. */
    if (s->expired > 0)
        arm_wake(s, store_next_deadline(s->store, now_ms()));
    s->backlog = 1;
    kick(s);
}

/* Waits and invokes whose timeout has come end in the store, in a write
 * of their own (an event, or the invoked run's end, may end them first:
 * the writer lets one of the two win), and debounced runs whose time
 * came become due; the next timeout is a wake time like any other. */
static void
expire_waits(struct sched *s, int64_t now)
{
    int64_t t, i;

    if (s->expiring)
        return;
    t = store_waits_next_timeout(s->store, now);
    i = store_invokes_next_timeout(s->store, now);
    if (t == 0 || (i != 0 && i < t))
        t = i;
    i = store_debounce_next(s->store, now);
    if (t == 0 || (i != 0 && i < t))
        t = i;
    if (t == 0)
        return;
    if (t > now) {
        arm_wake(s, t);
        return;
    }
    s->expiring = 1;
    store_expire_waits(s->store, now, EXPIRE_MAX, &s->expired, expired_cb, s);
}

/* ------------------------------------------------------------ timeouts */

/* Runs past their deadline, read before any is cancelled. */
struct overdue {
    struct store_cancel *start, *finish; /* by the deadline they passed */
    size_t nstart, nfinish, cap;
};

static void
overdue_cb(void *arg, const char *run_id, int started)
{
    struct overdue *o = arg;
    struct store_cancel **v = started ? &o->finish : &o->start;
    size_t *n = started ? &o->nfinish : &o->nstart;

    if (*n == o->cap) {
        /* Both arrays grow together: CAP bounds each. */
        o->cap = o->cap ? o->cap * 2 : 16;
        o->start = xrealloc(o->start, o->cap * sizeof(*o->start));
        o->finish = xrealloc(o->finish, o->cap * sizeof(*o->finish));
    }
    memset(&(*v)[*n], 0, sizeof((*v)[*n]));
    snprintf((*v)[*n].run_id, sizeof((*v)[*n].run_id), "%s", run_id);
    (*n)++;
}

static void
timed_out_cb(void *arg, int rc, const char *err,
             const struct store_cancel *v, size_t n)
{
    if (rc != 0)
        log_error("sched", "cannot cancel runs past their %s: %s; trying"
                           " again at the next scan", (const char *)arg,
                  err);
}

#define START_PASSED "its timeouts.start passed before it started"
#define FINISH_PASSED "its timeouts.finish passed before it ended"

/* Cancels the runs whose timeouts.start or timeouts.finish passed: the
 * deadline is stored with the run, so this costs no timer per run. */
static void
scan_deadlines(struct sched *s, int64_t now)
{
    struct overdue o = {NULL, NULL, 0, 0, 0};
    size_t k = 0;
    int n = store_overdue_runs(s->store, now, QUEUE_SCAN, overdue_cb, &o);

    if (n < 0) {
        arm_wake(s, now + 1000);
        return;
    }
    /* A start deadline is met by a run that is on a worker already: its
     * first start is being written, which replaces the deadline. */
    for (size_t i = 0; i < o.nstart; i++) {
        const struct job *j = set_find(s, o.start[i].run_id);

        if (j == NULL || j->where == JOB_QUEUED || j->where == JOB_PARKED ||
            j->where == JOB_CONC_WAIT)
            o.start[k++] = o.start[i];
    }
    if (k > 0)
        sched_cancel(s, o.start, k, "cancelled: " START_PASSED,
                     timed_out_cb, (void *)"timeouts.start");
    if (o.nfinish > 0)
        sched_cancel(s, o.finish, o.nfinish, "cancelled: " FINISH_PASSED,
                     timed_out_cb, (void *)"timeouts.finish");
    free(o.start);
    free(o.finish);
    /* A full page may have left overdue runs behind: look again soon. */
    arm_wake(s, n >= QUEUE_SCAN ? now + 1000
                                : store_next_deadline(s->store, now));
}

/* ------------------------------------------------------------- scans */

/* Loads due runs from the store when the queue runs low. */
static void
scan(struct sched *s)
{
    const char **ids;
    int n;
    int64_t now = now_ms(), next;

    if (s->gen == NULL || s->stopping)
        return;
    expire_waits(s, now);
    if (s->nqueued >= QUEUE_LOW) {
        /* Full enough: look again when dispatch drains the queue. */
        s->backlog = 1;
        return;
    }
    ids = xcalloc(s->gen->nfns + 1, sizeof(char *));
    for (size_t i = 0; i < s->gen->nfns; i++)
        ids[i] = s->gen->fns[i].id;
    s->scan_at = &s->head;
    n = store_due_runs(s->store, now, ids, QUEUE_SCAN, claimed, due_cb, s);
    /* A full page, or a failed read, may have left due runs behind. */
    s->backlog = n < 0 || n >= QUEUE_SCAN;
    next = store_next_wake(s->store, now, ids);
    free(ids);
    if (n > 0)
        log_debug("sched", "loaded %d due run%s", n, n == 1 ? "" : "s");
    arm_wake(s, next);
}

static void
wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sched *s = arg;

    s->wake_at = 0;
    if (!s->stopping)
        scan_deadlines(s, now_ms());
    if (s->conc_retry) {
        s->conc_retry = 0;
        conc_table_each_waiting(s->conc, conc_take_cb, s);
    }
    scan(s);
    dispatch(s);
}

static void
kick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sched *s = arg;

    if (s->backlog)
        scan(s);
    dispatch(s);
}

static void
kick(struct sched *s)
{
    event_active(s->kick, EV_TIMEOUT, 0);
}

/* ---------------------------------------------------------- dispatch */

static unsigned
max_attempts(const struct fn_info *fn)
{
    return (unsigned)fn->retries + 1;
}

/* ------------------------------------------------------- concurrency */

/* A move of a run into its key's queue, being written. */
struct conc_parking {
    struct sched *sched;
    struct job *job;
    struct conc_slot *slot;
    struct job **at; /* taking: where the next run taken goes in line */
};

static void conc_take(struct sched *s, struct conc_slot *sl);

static int
conc_claimed(void *arg, const char *run_id)
{
    struct conc_parking *cp = arg;

    return set_find(cp->sched, run_id) != NULL;
}

static void
conc_taken_cb(void *arg, const struct store_due *d)
{
    struct conc_parking *cp = arg;
    struct sched *s = cp->sched;
    struct job *job = job_from_due(d);

    job->taken = cp->slot;
    job->pinned = 1;
    cp->slot->taken++;
    set_add(s, job);
    /* It has waited its turn already: first in line, in its key's
     * order. */
    job->next = *cp->at;
    *cp->at = job;
    if (s->tail == cp->at)
        s->tail = &job->next;
    cp->at = &job->next;
    s->nqueued++;
}

/* Takes from SL's queue in the store as many runs as it has free slots,
 * into the front of the ready queue; none are left behind another key's,
 * and none is read but by SL's own index. */
static void
conc_take(struct sched *s, struct conc_slot *sl)
{
    struct conc_parking cp = {s, NULL, sl, &s->head};
    int room = sl->limit - sl->running - sl->taken, n, want;

    if (!sl->waiting || room <= 0 || s->stopping)
        return;
    /* The runs taken already and not yet dispatched are still in the
     * queue in the store, and so are those dispatched whose start is
     * not yet written: read past them, reading more only if they were
     * all it found. */
    want = room + sl->taken;
    for (;;) {
        int before = sl->taken;

        n = store_conc_queue(s->store, sl->name, want, conc_claimed,
                             conc_taken_cb, &cp);
        if (n < 0) {
            s->conc_retry = 1; /* the next wake tries again */
            arm_wake(s, now_ms() + 1000);
            return;
        }
        room -= sl->taken - before;
        if (n < want) {
            sl->waiting = 0; /* the rest of its queue is in memory */
            break;
        }
        if (room <= 0 || want >= sl->running + sl->taken + room)
            break;
        want = sl->running + sl->taken + room;
    }
    if (cp.at != &s->head)
        kick(s);
}

static void
conc_take_cb(void *arg, struct conc_slot *sl)
{
    conc_take(arg, sl);
}

static void
conc_parked_cb(void *arg, int rc, const char *err)
{
    struct conc_parking *cp = arg;
    struct sched *s = cp->sched;
    struct conc_slot *sl = cp->slot;

    sl->parking--;
    set_del(s, cp->job);
    if (rc != 0) {
        /* Still queued in the store, and no longer claimed: the due
         * scan finds it again. */
        log_error("sched", "run %s: cannot put it in the queue of its"
                           " concurrency key: %s", cp->job->run_id, err);
        s->backlog = 1;
        kick(s);
    } else {
        sl->waiting = 1;
        /* A slot may have come free while this was written. */
        conc_take(s, sl);
    }
    job_free(cp->job);
    conc_table_put(sl);
    free(cp);
}

/* Whether JOB of FN may start now: 0 when every key of it has a free slot
 * (it then holds one of each until its attempt ends); -1 when one is
 * full, and JOB goes into that key's queue in the store (it is the
 * caller's no more). */
static int
conc_admit(struct sched *s, struct job *job, const struct fn_info *fn)
{
    struct conc_slot *sl[2] = {NULL, NULL};

    if (job->taken != NULL) {
        job->taken->taken--;
        conc_table_put(job->taken);
        job->taken = NULL;
    }
    for (int i = 0; i < 2; i++) {
        int limit = fn->concurrency[i].limit;

        /* A limit the function dropped (a reload), or a run made before
         * it had one, counts for nothing. */
        if (limit <= 0 || job->conc_keys[i] == NULL)
            continue;
        sl[i] = conc_table_get(s->conc, job->conc_keys[i]);
        sl[i]->limit = limit;
        if (sl[i]->running < limit)
            continue;
        {
            struct conc_parking *cp = xcalloc(1, sizeof(*cp));

            cp->sched = s;
            cp->job = job;
            cp->slot = sl[i];
            sl[i]->parking++;
            job->where = JOB_CONC_WAIT;
            log_debug("sched", "run %s waits: concurrency key %s is full"
                               " (%d running)", job->run_id, sl[i]->name,
                      sl[i]->running);
            store_conc_park(s->store, job->run_id, sl[i]->name,
                            conc_parked_cb, cp);
        }
        if (i == 1 && sl[0] != NULL)
            conc_table_put(sl[0]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        job->held[i] = sl[i];
        if (sl[i] != NULL)
            sl[i]->running++;
    }
    return 0;
}

/* JOB's attempt has ended (or never started): its slots are free, and
 * runs waiting in its keys' queues take them. */
static void
conc_release(struct sched *s, struct job *job)
{
    for (int i = 0; i < 2; i++) {
        struct conc_slot *sl = job->held[i];

        if (sl == NULL)
            continue;
        job->held[i] = NULL;
        sl->running--;
        conc_take(s, sl);
        conc_table_put(sl);
    }
}

static void
dispatch(struct sched *s)
{
    struct step_memo *steps;
    struct job *job;
    int rc;

    /* A store that cannot record outcomes would only collect more of
     * them in memory: no new attempt until it can. */
    while (!s->stopping && s->unrecorded == NULL && s->head != NULL &&
           s->ex.ops->idle(s->ex.impl) > 0) {
        const struct fn_info *fn;

        job = dequeue(s);
        fn = registry_find(s->gen, job->function_id);
        if (fn == NULL) {
            /* Its plugin is gone: the run stays queued in the store until
             * a generation declares the function again. */
            log_debug("sched", "run %s: function %s is not loaded",
                      job->run_id, job->function_id);
            if (job->taken != NULL)
                job->taken->waiting = 1; /* it is still in that queue */
            set_del(s, job);
            job_free(job);
            continue;
        }
        if (conc_admit(s, job, fn) != 0)
            continue; /* in its key's queue now: the next one goes */
        job->started_at = now_ms();
        job->checkpointed = 0;
        job->max_attempts = max_attempts(fn);
        job->backoff_scale = fn->backoff_scale;
        /* A resumed run replays what its steps stored; a new one has
         * nothing stored, so it skips the read. */
        steps = job->fresh ? NULL
                           : store_run_steps(s->store,
                                             job->group_run[0] != '\0'
                                                 ? job->group_run
                                                 : job->run_id,
                                             job->started_at);
        if (!job->fresh && steps == NULL) {
            /* Its stored steps cannot be read (the store said why): it
             * must not run without them, or they would run again. It
             * stays queued in the store and is tried again in a second. */
            conc_release(s, job);
            set_del(s, job);
            job_free(job);
            arm_wake(s, now_ms() + 1000);
            continue;
        }
        /* A batch's run is never fresh (its timeout or its last event
         * made it due in the store): its events are read with its steps,
         * the same ones each time it resumes. */
        if (!job->fresh &&
            store_batch_events(s->store, job->group_run[0] != '\0'
                                             ? job->group_run
                                             : job->run_id,
                               &job->events) != 0) {
            free(steps);
            conc_release(s, job);
            set_del(s, job);
            job_free(job);
            arm_wake(s, now_ms() + 1000);
            continue;
        }
        job->checkpoint_ahead = fn->checkpoint_ahead;
        job->state_bytes = step_memo_bytes(steps);
        rc = s->ex.ops->dispatch(s->ex.impl, job, steps, max_attempts(fn),
                                 fn->timeout_ms);
        free(steps);
        free(job->events);
        job->events = NULL;
        if (rc != 0) {
            /* The executor could not take it after all (a worker that
             * went away as it was chosen). The run keeps its place and
             * goes out with the next idle worker, or in a second at the
             * latest: dropped here, nothing would look for it again
             * until a restart. */
            log_debug("sched", "run %s: dispatch failed; it stays first in"
                               " line", job->run_id);
            conc_release(s, job);
            requeue_head(s, job);
            arm_wake(s, now_ms() + 1000);
            break;
        }
        s->nrunning++;
        job->where = JOB_RUNNING;
        if (job->score <= job->started_at && job->score > 0)
            hist_observe(&s->metrics.queue_wait,
                         (double)(job->started_at - job->score) / 1000);
        /* A new run shows as running from its first checkpoint or its
         * end, whichever comes first: one write less per run. A resumed
         * one is marked now, which also completes the sleep it woke from;
         * so is any run of a function with timeouts, whose first start
         * trades its start deadline for its finish one. */
        if (!job->fresh || fn->timeout_start_ms > 0 ||
            fn->timeout_finish_ms > 0)
            store_start_timed(s->store, job->run_id, job->attempt,
                              job->started_at, fn->timeout_finish_ms);
        if (fn->timeout_finish_ms > 0)
            arm_wake(s, job->started_at + fn->timeout_finish_ms);
    }
    if (s->backlog && s->nqueued < QUEUE_LOW)
        scan(s);
}

int64_t
sched_backoff_ms(unsigned a)
{
    static const int64_t table[] = {15000,   30000,   60000,   120000,
                                    300000,  600000,  1200000, 2400000,
                                    3600000, 7200000};

    return table[a < 10 ? a : 9];
}

/* The longest retry_after taken: fh_retry_after()'s own bound. */
#define RETRY_AFTER_MAX_MS (24LL * 3600 * 1000)

int64_t
sched_retry_delay_ms(double scale, unsigned attempt, int64_t retry_after_ms,
                     uint32_t draw)
{
    int64_t d;

    if (retry_after_ms > 0)
        return retry_after_ms < RETRY_AFTER_MAX_MS ? retry_after_ms
                                                   : RETRY_AFTER_MAX_MS;
    d = sched_backoff_ms(attempt) + (int64_t)(draw % 30001);
    return (int64_t)((double)d * scale);
}

/* A failed attempt's delay, with a fresh draw for the jitter. */
static int64_t
retry_delay(double scale, unsigned attempt, int64_t retry_after_ms)
{
    uint32_t r = 0;

    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
        r = (uint32_t)rand();
    return sched_retry_delay_ms(scale, attempt, retry_after_ms, r);
}

/* Lets go of JOB, which has no worker now and no write on its way: its
 * run was never stored (sched_abandon()), and the store may take its
 * writes again. */
static void
unborn_free(struct sched *s, struct job *job)
{
    log_info("run", "%s %s dropped; its event was not stored",
             job->function_id, job->run_id);
    store_forget_failed(s->store, job->run_id);
    set_del(s, job);
    job_free(job);
}

/* Lines about JOB from now on carry its run (log_context()). */
static void
job_context(const struct sched *s, const struct job *job)
{
    const struct fn_info *fn;

    /* Only JSON lines carry it: a text log pays nothing per step. */
    if (!log_json())
        return;
    fn = s->gen ? registry_find(s->gen, job->function_id) : NULL;
    log_context(job->group_run[0] != '\0' ? job->group_run : job->run_id,
                job->function_id, fn != NULL ? fn->plugin : NULL,
                (int)job->attempt, job->event_id);
}

/* An unborn job whose worker has ended, until the store has answered
 * its last writes (result_job()). */
struct unborn {
    struct sched *sched;
    struct job *job;
};

static void
unborn_gone_cb(void *arg, int rc, const char *err)
{
    struct unborn *u = arg;

    (void)rc;
    (void)err;
    set_del(u->sched, u->job);
    job_free(u->job);
    kick(u->sched);
    free(u);
}

/* ------------------------------------------------------- checkpoints */

struct stepping {
    struct sched *sched;
    struct job *job;
};

static void
step_stored_cb(void *arg, int rc, const char *err)
{
    struct stepping *sp = arg;
    struct sched *s = sp->sched;

    if (rc != 0 && sp->job->unborn) {
        /* Its run was never stored: its worker stops, and its end
         * drops it (result_cb()). */
        s->ex.ops->kill(s->ex.impl, sp->job, "its event was not stored");
    } else if (rc != 0) {
        /* The worker waits for an ack that cannot come: stop it. Its
         * attempt fails, and the step runs again after the backoff. Its
         * end may be queued already (it checkpoints ahead): the store
         * fails it, and the run's writes from now on are kept again. */
        log_error("sched", "run %s: cannot store a step: %s; stopping its"
                           " worker", sp->job->run_id, err);
        sp->job->step_lost = 1;
        store_forget_failed(s->store, sp->job->run_id);
        s->ex.ops->kill(s->ex.impl, sp->job, "its step could not be stored");
    } else {
        sp->job->attempt = 0;
        sp->job->started_at = now_ms();
        s->ex.ops->ack(s->ex.impl, sp->job);
    }
    free(sp);
}

static void step_job(void *arg, struct job *job,
                     const struct step_record *step);

static void
step_cb(void *arg, struct job *job, const struct step_record *step)
{
    job_context(arg, job);
    step_job(arg, job, step);
    log_context_clear();
}

static void
step_job(void *arg, struct job *job, const struct step_record *step)
{
    struct sched *s = arg;
    struct stepping *sp;
    int failed = strcmp(step->status, "failed") == 0;
    int kept = failed || strcmp(step->status, "completed") == 0;
    const char *t = failed ? step->error : step->result;
    uint64_t n = !kept ? 0 : t == NULL || *t == '\0' ? 4 : strlen(t);

    if (job->group_run[0] != '\0') {
        /* A branch's one step goes with its end; its worker's rules make
         * it stop at any other. */
        log_error("sched", "run %s: a parallel branch sent a checkpoint;"
                           " stopping its worker", job->run_id);
        s->ex.ops->kill(s->ex.impl, job, "a parallel branch may store only"
                                         " its own step");
        return;
    }
    if (n > 0 && (job->state_bytes > STEPRULES_MAX_RUN_STATE ||
                  n > STEPRULES_MAX_RUN_STATE - job->state_bytes)) {
        /* The worker's step rules refuse such a step; one that sends it
         * anyway gets no ack, since no resume could carry the run. */
        log_error("sched", "run %s: step %s would take the run's stored"
                           " steps over %llu MiB; stopping its worker",
                  job->run_id, step->step_id,
                  STEPRULES_MAX_RUN_STATE >> 20);
        s->ex.ops->kill(s->ex.impl, job, "its step would take the run's"
                                         " stored steps over the limit");
        return;
    }
    job->state_bytes += n;
    if (step->started_at > 0 && step->ended_at >= step->started_at)
        hist_observe(&s->metrics.step_seconds,
                     (double)(step->ended_at - step->started_at) / 1000);
    sp = xcalloc(1, sizeof(*sp));
    /* The job outlives this write: the store commits in order, so a finish
     * of the same job (which frees it) commits after it. */
    sp->sched = s;
    sp->job = job;
    if (failed)
        log_info("run", "%s %s step %s failed for good: %s",
                 job->function_id, job->run_id, step->step_id,
                 step->error ? step->error : "?");
    if (step->events != NULL) {
        char why[512];

        if (s->sender.submit == NULL)
            snprintf(why, sizeof(why), "no sender is set");
        else if (s->sender.submit(s->sender.impl, job->run_id, step,
                                  !job->checkpointed, step_stored_cb, sp,
                                  why, sizeof(why)) == 0)
            why[0] = '\0';
        if (why[0] != '\0') {
            /* The worker's step rules check events as the pipeline
             * does: one that sends others gets no ack. */
            log_error("sched", "run %s: step %s sends events the host"
                               " refuses (%s); stopping its worker",
                      job->run_id, step->step_id, why);
            s->ex.ops->kill(s->ex.impl, job, "its step sent events the"
                                             " host refuses");
            free(sp);
            return;
        }
    } else {
        store_put_step(s->store, job->run_id, step, !job->checkpointed,
                       step_stored_cb, sp);
    }
    job->checkpointed = 1;
}

void
sched_set_sender(struct sched *s, struct sched_sender sender)
{
    s->sender = sender;
}

void
sched_set_fetcher(struct sched *s, struct sched_fetcher fetcher)
{
    s->fetcher = fetcher;
}

void
sched_poke(struct sched *s)
{
    s->backlog = 1;
    kick(s);
}

/* ----------------------------------------------------------- results */

struct finishing {
    struct sched *sched;
    struct job *job;
    struct store_attempt at;
    char *output;
    char *error;
    struct step_owned step;
    int resolved;           /* RUN_WAIT: ended at once by a look-back */
    int woke;               /* its end ended a run's invoke */
    int lost;               /* made a failure: a checkpoint was lost */
    struct finishing *next; /* in sched.unrecorded */
};

static void finish_write(struct finishing *f);
static void outcome_set(struct finishing *f, const struct pool_result *r);
static const struct pool_result *lost_result(const struct job *job,
                                             const struct pool_result *r,
                                             struct pool_result *lost);

static void
finishing_free(struct finishing *f)
{
    free(f->output);
    free(f->error);
    step_owned_free(&f->step);
    free(f);
}

/* Writes every unrecorded outcome again, in the order they failed. */
static void
rewrite_cb(evutil_socket_t fd, short what, void *arg)
{
    struct sched *s = arg;
    struct finishing *f = s->unrecorded, *next;

    s->unrecorded = NULL;
    for (; f != NULL; f = next) {
        next = f->next;
        f->next = NULL;
        finish_write(f);
    }
}

struct sched_watch {
    char run_id[27];
    sched_watch_fn fn;
    void *arg;
    struct sched_watch *next;
};

struct sched_watch *
sched_watch(struct sched *s, const char *run_id, sched_watch_fn fn,
            void *arg)
{
    struct sched_watch *w = xcalloc(1, sizeof(*w));

    snprintf(w->run_id, sizeof(w->run_id), "%s", run_id);
    w->fn = fn;
    w->arg = arg;
    w->next = s->watches;
    s->watches = w;
    return w;
}

void
sched_unwatch(struct sched *s, struct sched_watch *w)
{
    for (struct sched_watch **p = &s->watches; *p != NULL; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            free(w);
            return;
        }
    }
}

/* Tells the watches of the run that ended as END says, and forgets them. */
static void
tell_watches(struct sched *s, const struct sched_end *end)
{
    struct sched_watch **p = &s->watches, *w;

    while ((w = *p) != NULL) {
        if (strcmp(w->run_id, end->run_id) != 0) {
            p = &w->next;
            continue;
        }
        *p = w->next;
        w->fn(w->arg, end);
        free(w);
    }
}

/* The watches of the run that ended as AT says. */
static void
tell_watches_at(struct sched *s, const struct store_attempt *at)
{
    struct sched_end end = {
        at->run_id, at->outcome == RUN_COMPLETED ? "completed" : "failed",
        at->outcome == RUN_COMPLETED ? at->output : NULL,
        at->outcome == RUN_FAILED ? at->error : NULL};

    tell_watches(s, &end);
}

/* Takes the branches of RUN_ID's group out of the ready queue; returns
 * them, linked by their next. */
static struct job *
take_branches(struct sched *s, const char *run_id)
{
    struct job *taken = NULL;

    for (struct job **pj = &s->head; *pj != NULL;) {
        struct job *j = *pj;

        if (j->group_run[0] == '\0' || strcmp(j->group_run, run_id) != 0) {
            pj = &j->next;
            continue;
        }
        *pj = j->next;
        if (s->tail == &j->next)
            s->tail = pj;
        s->nqueued--;
        j->pinned = 0;
        j->next = taken;
        taken = j;
    }
    return taken;
}

/* Forgets the branches of RUN_ID that wait in line: the store cancelled
 * them. */
static void
drop_branches(struct sched *s, const char *run_id)
{
    for (struct job *j = take_branches(s, run_id), *next; j; j = next) {
        next = j->next;
        set_del(s, j);
        job_free(j);
    }
}

/* RUN_ID has become Cancelled (committed); HOW says why. The one place
 * where what follows a cancel belongs: its watches hear of it here. Its
 * lifecycle events committed with it, and the runs they start are in
 * the store: the next scan finds them. */
static void
run_cancelled(struct sched *s, const char *run_id, const char *how)
{
    struct sched_end end = {run_id, "cancelled", NULL, how};

    log_info("run", "%s %s", run_id, how);
    tell_watches(s, &end);
    /* Its branches that wait in line were cancelled with it, in the
     * store: none of them starts now. */
    drop_branches(s, run_id);
    s->backlog = 1;
}

/* Counts F's recorded outcome: a run's end (not a branch's), or an
 * attempt that is retried. */
static void
run_measured(struct sched *s, const struct finishing *f)
{
    int64_t made;

    if (f->job->group_run[0] != '\0')
        return;
    if (f->at.outcome == RUN_RETRY) {
        counter_add(&s->metrics.outcomes, f->job->function_id,
                    SCHED_RETRIED);
        return;
    }
    if (f->at.outcome != RUN_COMPLETED && f->at.outcome != RUN_FAILED)
        return;
    counter_add(&s->metrics.outcomes, f->job->function_id,
                f->at.outcome == RUN_COMPLETED ? SCHED_COMPLETED
                                               : SCHED_FAILED);
    made = ulid_time_ms(f->job->run_id);
    if (made > 0 && f->at.ended_at >= made)
        hist_observe(&s->metrics.run_seconds,
                     (double)(f->at.ended_at - made) / 1000);
}

static void finished_job(void *arg, int rc, const char *err);

static void
finished_cb(void *arg, int rc, const char *err)
{
    job_context(((struct finishing *)arg)->sched,
                ((struct finishing *)arg)->job);
    finished_job(arg, rc, err);
    log_context_clear();
}

static void
finished_job(void *arg, int rc, const char *err)
{
    struct finishing *f = arg;
    struct sched *s = f->sched;
    int cancelled;

    if (rc != 0 && f->job->unborn) {
        /* The store failed this end with the run's event: nothing to
         * record, nothing to retry. */
        unborn_free(s, f->job);
        finishing_free(f);
        kick(s);
        return;
    }
    if (rc != 0 && f->job->step_lost && !f->lost) {
        /* A checkpoint before this end failed: the attempt did. */
        struct pool_result lost, was = {.attempt = f->at.attempt,
                                        .unit_started_at = f->at.started_at};

        free(f->output);
        free(f->error);
        f->output = f->error = NULL;
        step_owned_free(&f->step);
        memset(&f->step, 0, sizeof(f->step));
        memset(&f->at, 0, sizeof(f->at));
        outcome_set(f, lost_result(f->job, &was, &lost));
        f->lost = 1;
    }
    if (rc != 0) {
        struct finishing **p = &s->unrecorded;
        struct timeval tv = {1, 0};
        int64_t now = mono_ms();

        /* The outcome is not durable yet, so the run stays claimed and the
         * write is tried again: acknowledging nothing loses nothing. */
        s->unrecorded_failures++;
        if (s->unrecorded_logged_at == 0 ||
            now - s->unrecorded_logged_at >= UNRECORDED_LOG_MS) {
            log_error("sched", "cannot record the outcome of run %s: %s;"
                               " no new attempts start until the store can"
                               " (%llu failed write%s since the last line);"
                               " trying again every second",
                      f->job->run_id, err,
                      (unsigned long long)s->unrecorded_failures,
                      s->unrecorded_failures == 1 ? "" : "s");
            s->unrecorded_logged_at = now;
            s->unrecorded_failures = 0;
        }
        while (*p != NULL)
            p = &(*p)->next;
        *p = f;
        if (!evtimer_pending(s->rewrite, NULL))
            evtimer_add(s->rewrite, &tv);
        return;
    }
    if (s->unrecorded_logged_at != 0 && s->unrecorded == NULL &&
        !evtimer_pending(s->rewrite, NULL)) {
        log_info("sched", "the store records outcomes again; dispatching");
        s->unrecorded_logged_at = 0;
        s->unrecorded_failures = 0;
    }
    set_del(s, f->job);
    run_measured(s, f);
    cancelled = f->job->cancel && (f->at.outcome == RUN_RETRY ||
                                   f->at.outcome == RUN_SLEEP ||
                                   f->at.outcome == RUN_WAIT ||
                                   f->at.outcome == RUN_INVOKE ||
                                   f->at.outcome == RUN_FETCH ||
                                   f->at.outcome == RUN_PARALLEL ||
                                   f->at.outcome == RUN_CANCELLED);
    if (cancelled)
        run_cancelled(s, f->job->run_id, "cancelled at its step boundary");
    else if (f->at.outcome == RUN_RETRY || f->at.outcome == RUN_SLEEP ||
             f->at.outcome == RUN_WAIT || f->at.outcome == RUN_INVOKE)
        arm_wake(s, f->at.wake_at); /* an invoke's: when it times out */
    else if (s->watches != NULL && (f->at.outcome == RUN_COMPLETED ||
                                    f->at.outcome == RUN_FAILED))
        tell_watches_at(s, &f->at);
    /* A run whose invoke this end ended is due now; this commit made it
     * so, and a scan from now on finds it. */
    if (f->woke)
        arm_wake(s, now_ms());
    if (f->woke && f->job->group_run[0] != '\0') {
        /* This branch ended its group: the store cancelled the group's
         * branches that had not started (a race's losers) in the same
         * commit, and those in line here never start. */
        drop_branches(s, f->job->group_run);
    }
    if (f->at.outcome == RUN_FETCH && !cancelled) {
        /* The request is durable: now it may be made. */
        if (s->fetcher.start != NULL)
            s->fetcher.start(s->fetcher.impl, f->job->run_id,
                             f->job->function_id, &f->step.s);
        else
            log_error("sched", "run %s: no one makes its fetch until a"
                               " restart", f->job->run_id);
    }
    if (f->resolved)
        s->backlog = 1; /* a look-back ended the wait: due now */
    if (f->at.outcome == RUN_PARALLEL && !cancelled)
        s->backlog = 1; /* its branches are due now */
    job_free(f->job);
    finishing_free(f);
    kick(s);
}

static void
finish_write(struct finishing *f)
{
    struct sched *s = f->sched;

    f->at.output = f->output;
    f->at.error = f->error;
    f->at.step = f->step.s.step_id ? &f->step.s : NULL;
    f->at.resolved = &f->resolved;
    f->woke = 0;
    f->at.woke = &f->woke;
    if (s->sender.finish != NULL)
        s->sender.finish(s->sender.impl, &f->at, f->job->function_id,
                         f->job->event ? f->job->event->s : NULL,
                         finished_cb, f);
    else
        store_finish_attempt(s->store, &f->at, finished_cb, f);
}

/* F's outcome, for its job's attempt that ended as R says. */
static void
outcome_set(struct finishing *f, const struct pool_result *r)
{
    struct job *job = f->job;
    /* What the function said when the attempt began: a reload may have
     * replaced or removed it since. */
    unsigned max = job->max_attempts ? job->max_attempts : 1;
    char d[32];

    snprintf(f->at.run_id, sizeof(f->at.run_id), "%s", job->run_id);
    f->at.attempt = r->attempt;
    f->at.started_at = r->unit_started_at ? r->unit_started_at
                                          : job->started_at;
    f->at.ended_at = now_ms();
    if (job->group_run[0] != '\0') {
        snprintf(f->at.group_run, sizeof(f->at.group_run), "%s",
                 job->group_run);
        if ((!r->ok && r->suspend != SUSPEND_NONE &&
             r->suspend != SUSPEND_RETRY) ||
            (r->ok && r->suspend == SUSPEND_BRANCH &&
             (r->step.step_id == NULL ||
              strcmp(r->step.step_id, job->target) != 0))) {
            /* Its worker's rules stop a branch at any other step, and
             * it stores its target's outcome and no other: one that
             * named another (the group's own, say) would overwrite
             * it, and the group could never end. */
            f->at.outcome = RUN_FAILED;
            f->error = xstrdup("a parallel branch may only run its own"
                               " step");
            log_warn("run", "%s %s (branch %s of run %s) failed: %s",
                     job->function_id, job->run_id, job->target,
                     job->group_run, f->error);
            return;
        }
    }
    if (r->ok && job->group_run[0] != '\0') {
        /* A branch ends with its step's outcome, stored as its group's
         * run's step (none when it had one already). */
        f->at.outcome = RUN_COMPLETED;
        if (r->suspend == SUSPEND_BRANCH && r->step.step_id != NULL)
            step_owned_set(&f->step, &r->step, 1);
        log_info("run", "%s %s step %s (a parallel branch) %s",
                 job->function_id, job->group_run, job->target,
                 f->step.s.step_id == NULL ? "had ended already"
                 : strcmp(f->step.s.status, "completed") == 0
                     ? "completed"
                     : "failed for good");
    } else if (r->ok) {
        f->at.outcome = RUN_COMPLETED;
        f->output = xstrdup(r->output ? r->output : "null");
        log_info("run", "%s %s completed", job->function_id, job->run_id);
    } else if (r->suspend == SUSPEND_PARALLEL && r->step.step_id != NULL) {
        f->at.outcome = RUN_PARALLEL;
        step_owned_set(&f->step, &r->step, 1);
        log_info("run", "%s %s runs parallel group %s", job->function_id,
                 job->run_id, r->step.step_id);
    } else if (r->suspend == SUSPEND_FETCH && r->step.step_id != NULL) {
        f->at.outcome = RUN_FETCH;
        step_owned_set(&f->step, &r->step, 1);
        log_info("run", "%s %s fetches (step %s)", job->function_id,
                 job->run_id, r->step.step_id);
    } else if (r->cancelled && job->cancel) {
        /* It stopped at the step boundary the cancel asked for. */
        f->at.outcome = RUN_CANCELLED;
    } else if (r->suspend == SUSPEND_SLEEP && r->step.step_id != NULL) {
        /* proto lets a step name a function to invoke only if it is an
         * invoke that waits. */
        f->at.outcome = r->step.target != NULL ? RUN_INVOKE : RUN_SLEEP;
        f->at.wake_at = r->step.wake_at;
        step_owned_set(&f->step, &r->step, 1);
        duration_format(r->step.wake_at - f->at.ended_at, d, sizeof(d));
        if (r->step.target != NULL)
            log_info("run", "%s %s invokes %s (step %s), for at most %s",
                     job->function_id, job->run_id, r->step.target,
                     r->step.step_id, d);
        else
            log_info("run", "%s %s sleeps %s (step %s)", job->function_id,
                     job->run_id, d, r->step.step_id);
    } else if (r->suspend == SUSPEND_WAIT && r->step.step_id != NULL) {
        f->at.outcome = RUN_WAIT;
        f->at.wake_at = r->step.wake_at;
        step_owned_set(&f->step, &r->step, 1);
        duration_format(r->step.wake_at - f->at.ended_at, d, sizeof(d));
        log_info("run", "%s %s waits for %s, at most %s (step %s)",
                 job->function_id, job->run_id, r->step.wait_event, d,
                 r->step.step_id);
    } else {
        const char *where = "";

        f->error = xstrdup(r->error ? r->error : "unknown error");
        if (r->suspend == SUSPEND_RETRY) {
            step_owned_set(&f->step, &r->step, 1);
            where = r->step.step_id ? r->step.step_id : "";
        }
        if (r->no_retry || r->attempt + 1 >= max) {
            f->at.outcome = RUN_FAILED;
            log_warn("run", "%s %s failed%s%s after %u attempt%s: %s",
                     job->function_id, job->run_id, *where ? " in step " : "",
                     where, r->attempt + 1, r->attempt ? "s" : "", f->error);
        } else {
            int64_t delay = retry_delay(job->backoff_scale, r->attempt,
                                        r->retry_after_ms);

            f->at.outcome = RUN_RETRY;
            f->at.wake_at = f->at.ended_at + delay;
            duration_format(delay, d, sizeof(d));
            log_info("run", "%s %s%s%s attempt %u of %u failed: %s; retrying"
                            " in %s", job->function_id, job->run_id,
                     *where ? " step " : "", where, r->attempt + 1, max,
                     f->error, d);
        }
    }
}

/* The attempt of JOB whose checkpoint could not be stored (the attempt
 * R said, or began). */
static const struct pool_result *
lost_result(const struct job *job, const struct pool_result *r,
            struct pool_result *lost)
{
    memset(lost, 0, sizeof(*lost));
    lost->error = "a checkpoint of this attempt could not be stored";
    lost->attempt = r != NULL ? r->attempt : job->attempt;
    lost->unit_started_at = r != NULL ? r->unit_started_at : 0;
    return lost;
}

static void result_job(void *arg, struct job *job,
                       const struct pool_result *r);

static void
result_cb(void *arg, struct job *job, const struct pool_result *r)
{
    job_context(arg, job);
    result_job(arg, job, r);
    log_context_clear();
}

static void
result_job(void *arg, struct job *job, const struct pool_result *r)
{
    struct sched *s = arg;
    struct finishing *f = xcalloc(1, sizeof(*f));
    struct pool_result lost;

    s->nrunning--;
    job->where = JOB_FINISHING;
    /* It executes no code now, whatever its outcome. */
    conc_release(s, job);
    if (job->unborn) {
        /* Callbacks of its checkpoints may still be on their way, and
         * they hold the job: it goes once they have run. */
        struct unborn *u = xcalloc(1, sizeof(*u));

        free(f);
        u->sched = s;
        u->job = job;
        log_info("run", "%s %s dropped; its event was not stored",
                 job->function_id, job->run_id);
        store_forget_failed_then(s->store, job->run_id, unborn_gone_cb, u);
        return;
    }
    f->sched = s;
    f->job = job;
    /* Its worker's end may have come before the news that one of its
     * checkpoints failed: the attempt failed. */
    outcome_set(f, job->step_lost ? lost_result(job, r, &lost) : r);
    /* A run whose cancel was asked for does not go on: the store ends
     * it cancelled once this outcome (the sleep or the failed attempt)
     * is recorded (finished_cb). */
    finish_write(f);
}

/* A line JOB's plugin logged: kept with its run (a branch's with the
 * run its group is in). */
static void
log_cb(void *arg, struct job *job, const struct proto_log *line)
{
    struct sched *s = arg;

    store_put_log(s->store,
                  job->group_run[0] != '\0' ? job->group_run : job->run_id,
                  job->attempt, line->level, line->at, line->text);
}

static void
idle_cb(void *arg)
{
    dispatch(arg);
}

/* ------------------------------------------------------------ public */

struct sched *
sched_new(struct event_base *base, struct store *st,
          const struct config *cfg, struct executor ex)
{
    struct sched *s = xcalloc(1, sizeof(*s));
    struct pool_callbacks cb = {result_cb, idle_cb, step_cb, log_cb, s};

    s->base = base;
    s->store = st;
    s->cfg = cfg;
    hist_init(&s->metrics.run_seconds, metrics_seconds, metrics_nseconds);
    hist_init(&s->metrics.step_seconds, metrics_seconds, metrics_nseconds);
    hist_init(&s->metrics.queue_wait, metrics_seconds, metrics_nseconds);
    s->tail = &s->head;
    s->wake = evtimer_new(base, wake_cb, s);
    s->kick = event_new(base, -1, 0, kick_cb, s);
    s->rewrite = evtimer_new(base, rewrite_cb, s);
    s->conc = conc_table_new();
    s->ex = ex;
    ex.ops->bind(ex.impl, &cb);
    return s;
}

void
sched_set_generation(struct sched *s, struct generation *g)
{
    int first = s->gen == NULL;
    struct generation *old = s->gen;

    /* The new reference first: G may be the one held, by its last ref. */
    s->gen = generation_ref(g);
    generation_unref(old);
    s->ex.ops->set_generation(s->ex.impl, g);
    if (!first) {
        /* Runs of functions that came back, or are new, may be due; so
         * may runs in keys' queues, whose limits may have grown. */
        conc_table_each_waiting(s->conc, conc_take_cb, s);
        s->backlog = 1;
        kick(s);
    }
}

void
sched_start(struct sched *s)
{
    s->backlog = 1;
    scan_deadlines(s, now_ms());
    scan(s);
    dispatch(s);
}

void
sched_wake_at(struct sched *s, int64_t at)
{
    arm_wake(s, at);
}

/* Makes room in a full ready queue for a run of score SCORE, if its last
 * job comes after it (a run of a higher priority): that one goes back to
 * the store, where a scan finds it again in its turn. 1 if it did. */
static int
evict_last(struct sched *s, int64_t score)
{
    struct job *last = queue_last(s);

    if (last == NULL || last->pinned || last->score <= score)
        return 0;
    queue_remove(s, last);
    set_del(s, last);
    job_free(last);
    s->backlog = 1;
    return 1;
}

/* Puts new run RUN_ID (due at SCORE) in line: 0, or -1 when it cannot
 * go now (shutting down, or a full queue that it does not outrank). */
static int
take_new(struct sched *s, const char *run_id, const char *function_id,
         const char *event_id, struct shared_str *event, int64_t score,
         const char *const *conc_keys)
{
    struct job *job;

    if (s->stopping ||
        (s->nqueued >= QUEUE_MAX && !evict_last(s, score)))
        return -1;
    job = job_new(run_id, function_id, event_id, event, 0);
    job_set_keys(job, conc_keys);
    job->fresh = 1;
    job->score = score;
    set_add(s, job);
    enqueue(s, job);
    kick(s);
    return 0;
}

void
sched_submit(struct sched *s, const char *run_id, const char *function_id,
             const char *event_id, struct shared_str *event, int64_t wake_at,
             const char *const *conc_keys)
{
    const struct fn_info *fn = s->gen ? registry_find(s->gen, function_id)
                                      : NULL;

    /* Its timeouts.start deadline was stored with it: look then. */
    if (fn != NULL && fn->timeout_start_ms > 0)
        arm_wake(s, (wake_at > now_ms() ? wake_at : now_ms()) +
                        fn->timeout_start_ms);
    if (wake_at > now_ms()) {
        arm_wake(s, wake_at);
        return;
    }
    /* A scan may have found it in the store before this callback ran:
     * the commit is visible to the reader before the loop hears of it;
     * or it started early. */
    if (set_find(s, run_id) != NULL)
        return;
    if (take_new(s, run_id, function_id, event_id, event, wake_at,
                 conc_keys) != 0)
        s->backlog = 1; /* the store has it; a scan will find it */
}

int
sched_submit_early(struct sched *s, const char *run_id,
                   const char *function_id, const char *event_id,
                   struct shared_str *event)
{
    const char *none[2] = {NULL, NULL};

    /* Not in the store yet, so no scan can have it: its score is when
     * the store will make it due (run_wake() with no priority). */
    return take_new(s, run_id, function_id, event_id, event, now_ms(),
                    none) == 0;
}

const struct sched_metrics *
sched_metrics(const struct sched *s)
{
    return &s->metrics;
}

int
sched_claimed(const struct sched *s, const char *run_id)
{
    return set_find(s, run_id) != NULL;
}

void
sched_abandon(struct sched *s, const char *run_id)
{
    struct job *job = set_find(s, run_id);

    if (job == NULL) {
        /* It left already (its function was gone, or a fuller queue
         * evicted it): nothing of it is on its way to the store. */
        store_forget_failed(s->store, run_id);
        return;
    }
    if (job->where == JOB_QUEUED) {
        queue_remove(s, job);
        unborn_free(s, job);
        return;
    }
    /* Running, or its end is being written: that write fails, as the
     * store fails every write of the run now. One still running stops:
     * what it would do next is for an event its sender was told was not
     * taken. */
    job->unborn = 1;
    if (job->where == JOB_RUNNING)
        s->ex.ops->kill(s->ex.impl, job, "its event was not stored");
}

/* A cancel being written. */
struct cancelling {
    struct sched *sched;
    struct store_cancel *v;
    size_t n;
    char *reason;
    sched_cancelled_fn done;
    void *arg;
    struct job *branches; /* parked branches of the runs cancelled, by
                             their next */
};

/* Parks the branches of RUN_ID that wait in line on C's list: none
 * starts while its run's cancel is being written (which cancels them in
 * the store); they stay claimed until it commits. */
static void
park_branches(struct sched *s, struct cancelling *c, const char *run_id)
{
    for (struct job *j = take_branches(s, run_id), *next; j; j = next) {
        next = j->next;
        j->where = JOB_PARKED;
        j->next = c->branches;
        c->branches = j;
    }
}

static void
cancelled_cb(void *arg, int rc, const char *err)
{
    struct cancelling *c = arg;
    struct sched *s = c->sched;

    /* The runs taken out of the queue stayed claimed until now, so that
     * no scan could find them queued again before the cancel committed. */
    for (size_t i = 0; i < c->n; i++) {
        struct job *job = set_find(s, c->v[i].run_id);

        if (job == NULL || job->where != JOB_PARKED)
            continue;
        if (rc != 0) {
            /* Not cancelled after all: back in line. */
            job->where = JOB_QUEUED;
            enqueue(s, job);
            continue;
        }
        set_del(s, job);
        job_free(job);
    }
    /* Branches parked with their run: gone with it if it was cancelled,
     * else back in line. */
    while (c->branches != NULL) {
        struct job *j = c->branches;
        int gone = 0;

        c->branches = j->next;
        for (size_t i = 0; rc == 0 && i < c->n && !gone; i++)
            gone = c->v[i].done && strcmp(c->v[i].run_id, j->group_run) == 0;
        if (gone) {
            set_del(s, j);
            job_free(j);
        } else {
            j->where = JOB_QUEUED;
            enqueue(s, j);
        }
    }
    for (size_t i = 0; rc == 0 && i < c->n; i++)
        if (c->v[i].done && !c->v[i].at_boundary)
            run_cancelled(s, c->v[i].run_id, c->reason);
    /* A run whose invoke a cancelled run ended is due now: look. */
    if (rc == 0)
        arm_wake(s, now_ms());
    if (c->done != NULL)
        c->done(c->arg, rc, err, c->v, c->n);
    free(c->reason);
    free(c->v);
    free(c);
    kick(s);
}

void
sched_cancel(struct sched *s, const struct store_cancel *v, size_t n,
             const char *reason, sched_cancelled_fn done, void *arg)
{
    struct cancelling *c = xcalloc(1, sizeof(*c));

    c->sched = s;
    c->v = xcalloc(n ? n : 1, sizeof(*c->v));
    c->n = n;
    c->done = done;
    c->arg = arg;
    c->reason = xstrdup(reason);
    for (size_t i = 0; i < n; i++) {
        struct job *job = set_find(s, v[i].run_id);

        c->v[i] = v[i];
        c->v[i].done = 0;
        c->v[i].at_boundary = 0;
        park_branches(s, c, v[i].run_id);
        if (job == NULL || job->where == JOB_PARKED ||
            job->where == JOB_CONC_WAIT)
            continue; /* waiting in the store: cancelled now (after its
                         move into its key's queue, written first) */
        if (job->where == JOB_QUEUED) {
            /* Never dispatched now; claimed until the cancel commits. */
            queue_remove(s, job);
            job->where = JOB_PARKED;
        } else if (job->where == JOB_RUNNING) {
            /* The step it runs completes and is recorded; its ack then
             * says stop, and its outcome ends the run cancelled. */
            job->cancel = 1;
            c->v[i].at_boundary = 1;
        } else {
            /* JOB_FINISHING: its outcome is written before this cancel
             * (the store applies writes in order), which then finds it
             * waiting, or ended. */
            job->cancel = 1;
        }
    }
    store_cancel_runs(s->store, c->v, n, reason, now_ms(), cancelled_cb, c);
}

void
sched_stop(struct sched *s, void (*done)(void *), void *arg)
{
    s->stopping = 1;
    evtimer_del(s->wake);
    s->ex.ops->stop(s->ex.impl, done, arg);
}

void
sched_free(struct sched *s)
{
    size_t n = 0;

    /* Their runs stay claimed in the store, which requeues them at the
     * next start: they run again, and nothing is lost. */
    for (struct finishing *f = s->unrecorded, *next; f != NULL; f = next) {
        next = f->next;
        finishing_free(f); /* its job is in the set, freed below */
        n++;
    }
    if (n > 0)
        log_warn("sched", "%zu outcome%s could not be recorded; the store"
                          " requeues %s at the next start", n,
                 n == 1 ? "" : "s", n == 1 ? "its run" : "their runs");
    for (size_t i = 0; i < s->setcap; i++) {
        struct job *j = s->set[i], *next;

        for (; j != NULL; j = next) {
            next = j->hnext;
            job_free(j);
        }
    }
    free(s->set);
    conc_table_free(s->conc);
    while (s->watches != NULL) { /* none: their owners unwatch first */
        struct sched_watch *w = s->watches;

        s->watches = w->next;
        free(w);
    }
    event_free(s->wake);
    event_free(s->kick);
    event_free(s->rewrite);
    generation_unref(s->gen);
    counter_set_free(&s->metrics.outcomes);
    free(s);
}

int
sched_queued(const struct sched *s)
{
    return s->nqueued;
}

int
sched_running(const struct sched *s)
{
    return s->nrunning;
}

int
sched_conc_running(const struct sched *s, const char *key)
{
    struct conc_slot *sl = conc_table_get(s->conc, key);
    int n = sl->running;

    conc_table_put(sl);
    return n;
}

size_t
sched_conc_keys(const struct sched *s)
{
    return conc_table_count(s->conc);
}
