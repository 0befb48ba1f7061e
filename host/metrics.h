/* metrics.h - Prometheus histograms and labelled counters, written in the
 * text exposition format.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_METRICS_H
#define FNHOST_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

#define HIST_MAX_BUCKETS 16

/* A histogram over fixed upper bounds (BOUNDS, ascending, N of them, at
 * most HIST_MAX_BUCKETS; +Inf is implied). Zeroed, with its bounds, it is
 * empty. Not thread-safe: its owner says who writes it. */
struct histogram {
    const double *bounds;
    size_t n;
    uint64_t buckets[HIST_MAX_BUCKETS]; /* per bucket, not cumulative */
    uint64_t count;
    double sum;
};

/* Bounds for durations in seconds (1 ms to 1 h), and for counts (1 to
 * 1024). */
extern const double metrics_seconds[];
extern const size_t metrics_nseconds;
extern const double metrics_counts[];
extern const size_t metrics_ncounts;

void hist_init(struct histogram *h, const double *bounds, size_t n);
void hist_observe(struct histogram *h, double v);

/* Writes H as NAME (its # HELP and # TYPE lines first unless HEADER is
 * 0), with LABELS ("" or 'function="x"') on every line. */
void hist_print(struct evbuffer *b, const char *name, const char *help,
                const char *labels, const struct histogram *h, int header);

/* A counter per label value (a function id, a source), grown as values
 * come: few values, so a list. */
struct counter_set {
    struct counter_entry {
        char *label;
        uint64_t n[8]; /* by the caller's index (an outcome, a reason) */
    } *v;
    size_t len, cap;
};

/* Adds one to SET's counter I (< 8) of LABEL. */
void counter_add(struct counter_set *set, const char *label, unsigned i);
void counter_set_free(struct counter_set *set);

/* Writes SET as counter NAME with label KEY=the value and label KIND=
 * NAMES[i] for each i < N whose count is not 0. */
void counter_set_print(struct evbuffer *b, const char *name,
                       const char *help, const struct counter_set *set,
                       const char *key, const char *kind,
                       const char *const *names, size_t n);

#endif
