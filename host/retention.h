/* retention.h - keeps the disk bounded: deletes ended runs, events no run
 * needs and expired keys, in small batches through the store's writer.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_RETENTION_H
#define FNHOST_RETENTION_H

#include <stdint.h>

struct event_base;
struct store;

struct retention_stats {
    uint64_t runs, events, keys; /* deleted since the start */
    uint64_t batches;
};

/* Starts retention of ST as RUNS_MS and EVENTS_MS say (0: those are kept
 * for good; expired keys go in any case). */
struct retention *retention_new(struct event_base *base, struct store *st,
                                int64_t runs_ms, int64_t events_ms);
/* Starts no further batch (a batch on its way still ends). */
void retention_stop(struct retention *r);
/* After the store has closed: its last callback has run. */
void retention_free(struct retention *r);
struct retention_stats retention_stats(const struct retention *r);

#endif
