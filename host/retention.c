/* retention.c - keeps the disk bounded: ended runs, events that no run
 * needs and expired keys are deleted in small batches, each a write in
 * the store's next group commit, so ingest never waits behind a long
 * delete. A sweep goes batch after batch while a batch finds its limit,
 * then rests until the next.
 * SPDX-License-Identifier: Apache-2.0 */
#include "retention.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "util.h"

/* Between two batches of one sweep: none, so that a sweep keeps up with
 * ingest at full speed; each batch is one write among the group's. */
#define NEXT_BATCH_MS 0
/* Between sweeps: a quarter of the shortest retention, 1 s to 1 min. */
#define SWEEP_MIN_MS 1000
#define SWEEP_MAX_MS 60000

struct retention {
    struct store *st;
    int64_t runs_ms, events_ms, sweep_ms;
    struct event *timer;
    struct store_pruned out; /* the batch on its way */
    int busy, stopped;
    int in_sweep; /* OUT holds where the sweep is */
    struct retention_stats stats;
    struct retention_stats sweep; /* this sweep's, for its log line */
};

static void
arm(struct retention *r, int64_t ms)
{
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};

    if (!r->stopped)
        evtimer_add(r->timer, &tv);
}

static void
pruned_cb(void *arg, int rc, const char *err)
{
    struct retention *r = arg;
    const struct store_pruned *o = &r->out;

    r->busy = 0;
    if (rc != 0) {
        log_warn("retention", "a batch was not deleted: %s; trying again in"
                              " %lld s", err, (long long)r->sweep_ms / 1000);
        r->in_sweep = 0;
        arm(r, r->sweep_ms);
        return;
    }
    r->stats.runs += (uint64_t)o->runs;
    r->stats.events += (uint64_t)o->events;
    r->stats.keys += (uint64_t)o->keys;
    r->stats.batches++;
    r->sweep.runs += (uint64_t)o->runs;
    r->sweep.events += (uint64_t)o->events;
    r->sweep.keys += (uint64_t)o->keys;
    if (o->more) {
        arm(r, NEXT_BATCH_MS);
        return;
    }
    if (r->sweep.runs + r->sweep.events + r->sweep.keys > 0)
        log_info("retention", "deleted %llu ended runs, %llu events and %llu"
                              " expired keys",
                 (unsigned long long)r->sweep.runs,
                 (unsigned long long)r->sweep.events,
                 (unsigned long long)r->sweep.keys);
    r->sweep = (struct retention_stats){0};
    r->in_sweep = 0;
    arm(r, r->sweep_ms);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct retention *r = arg;
    int64_t now = now_ms();

    (void)fd;
    (void)what;
    if (r->busy || r->stopped)
        return;
    r->busy = 1;
    if (!r->in_sweep) {
        memset(&r->out, 0, sizeof(r->out));
        r->in_sweep = 1;
    }
    store_prune(r->st, r->runs_ms > 0 ? now - r->runs_ms : 0,
                r->events_ms > 0 ? now - r->events_ms : 0, now, &r->out,
                pruned_cb, r);
}

struct retention *
retention_new(struct event_base *base, struct store *st, int64_t runs_ms,
              int64_t events_ms)
{
    struct retention *r = xcalloc(1, sizeof(*r));
    int64_t shortest = runs_ms > 0 && (events_ms == 0 || runs_ms < events_ms)
                           ? runs_ms
                           : events_ms;

    r->st = st;
    r->runs_ms = runs_ms;
    r->events_ms = events_ms;
    r->sweep_ms = shortest > 0 ? shortest / 4 : SWEEP_MAX_MS;
    if (r->sweep_ms < SWEEP_MIN_MS)
        r->sweep_ms = SWEEP_MIN_MS;
    if (r->sweep_ms > SWEEP_MAX_MS)
        r->sweep_ms = SWEEP_MAX_MS;
    r->timer = evtimer_new(base, tick_cb, r);
    /* The first sweep soon after the start: a store that was down for a
     * while may have much to delete. */
    arm(r, SWEEP_MIN_MS);
    return r;
}

void
retention_stop(struct retention *r)
{
    if (r == NULL)
        return;
    r->stopped = 1;
    evtimer_del(r->timer);
}

void
retention_free(struct retention *r)
{
    if (r == NULL)
        return;
    event_free(r->timer);
    free(r);
}

struct retention_stats
retention_stats(const struct retention *r)
{
    return r->stats;
}
