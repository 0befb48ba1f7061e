/* metrics.c - Prometheus histograms and labelled counters.
 * SPDX-License-Identifier: Apache-2.0 */
#include "metrics.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const double metrics_seconds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                  0.1,   0.25,   0.5,   1,    2.5,   5,
                                  10,    60,     600,   3600};
const size_t metrics_nseconds =
    sizeof(metrics_seconds) / sizeof(metrics_seconds[0]);
const double metrics_counts[] = {1,  2,   4,   8,   16,  32,
                                 64, 128, 256, 512, 1024};
const size_t metrics_ncounts =
    sizeof(metrics_counts) / sizeof(metrics_counts[0]);

void
hist_init(struct histogram *h, const double *bounds, size_t n)
{
    memset(h, 0, sizeof(*h));
    h->bounds = bounds;
    h->n = n < HIST_MAX_BUCKETS ? n : HIST_MAX_BUCKETS;
}

void
hist_observe(struct histogram *h, double v)
{
    size_t i = 0;

    while (i < h->n && v > h->bounds[i])
        i++;
    if (i < h->n)
        h->buckets[i]++;
    h->count++;
    h->sum += v;
}

void
hist_print(struct evbuffer *b, const char *name, const char *help,
           const char *labels, const struct histogram *h, int header)
{
    const char *sep = *labels != '\0' ? "," : "";
    uint64_t cum = 0;

    if (header)
        evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name,
                            help, name);
    for (size_t i = 0; i < h->n; i++) {
        cum += h->buckets[i];
        evbuffer_add_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name,
                            labels, sep, h->bounds[i],
                            (unsigned long long)cum);
    }
    evbuffer_add_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels,
                        sep, (unsigned long long)h->count);
    if (*labels != '\0') {
        evbuffer_add_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name,
                            labels, h->sum, name, labels,
                            (unsigned long long)h->count);
    } else {
        evbuffer_add_printf(b, "%s_sum %.6f\n%s_count %llu\n", name, h->sum,
                            name, (unsigned long long)h->count);
    }
}

void
counter_add(struct counter_set *set, const char *label, unsigned i)
{
    size_t k;

    if (i >= 8)
        return;
    for (k = 0; k < set->len; k++)
        if (strcmp(set->v[k].label, label) == 0)
            break;
    if (k == set->len) {
        if (set->len == set->cap) {
            set->cap = set->cap ? 2 * set->cap : 8;
            set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
        }
        memset(&set->v[k], 0, sizeof(set->v[k]));
        set->v[k].label = xstrdup(label);
        set->len++;
    }
    set->v[k].n[i]++;
}

void
counter_set_free(struct counter_set *set)
{
    for (size_t k = 0; k < set->len; k++)
        free(set->v[k].label);
    free(set->v);
    memset(set, 0, sizeof(*set));
}

/* Writes S as a label value: \, " and newlines escaped. */
static void
label_value(struct evbuffer *b, const char *s)
{
    for (; *s != '\0'; s++) {
        if (*s == '\\' || *s == '"')
            evbuffer_add_printf(b, "\\%c", *s);
        else if (*s == '\n')
            evbuffer_add(b, "\\n", 2);
        else
            evbuffer_add(b, s, 1);
    }
}

void
counter_set_print(struct evbuffer *b, const char *name, const char *help,
                  const struct counter_set *set, const char *key,
                  const char *kind, const char *const *names, size_t n)
{
    evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s counter\n", name, help,
                        name);
    for (size_t k = 0; k < set->len; k++) {
        for (size_t i = 0; i < n && i < 8; i++) {
            if (set->v[k].n[i] == 0)
                continue;
            evbuffer_add_printf(b, "%s{%s=\"", name, key);
            label_value(b, set->v[k].label);
            evbuffer_add_printf(b, "\",%s=\"%s\"} %llu\n", kind, names[i],
                                (unsigned long long)set->v[k].n[i]);
        }
    }
}
