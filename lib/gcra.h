/* gcra.h - the generic cell rate algorithm of rateLimit and throttle.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A key's state is one time, its TAT (theoretical arrival time). With at
 * most LIMIT runs per PERIOD ms, each run moves the TAT on by STEP =
 * PERIOD / LIMIT ms (rounded up, so the rate is never above LIMIT per
 * PERIOD); a key with no runs for a while has room for LIMIT + BURST
 * runs at once, then for one every STEP ms. rateLimit (lossy, BURST 0)
 * skips a run that does not fit now; throttle queues it until it does. */
#ifndef FNHOST_GCRA_H
#define FNHOST_GCRA_H

#include <stdint.h>

/* When the next run of a key whose stored TAT is TAT (0, or any time not
 * after NOW: a key with all its room) may start, at NOW or later: the
 * earliest time its key has room for it. *NEXT is the key's TAT once that
 * run has taken its room. LIMIT is at least 1, BURST at least 0, PERIOD
 * at least 1 ms. */
int64_t gcra_start(int64_t tat, int64_t now, int64_t period, int limit,
                   int burst, int64_t *next);

#endif
