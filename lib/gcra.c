/* gcra.c - the generic cell rate algorithm of rateLimit and throttle.
 * SPDX-License-Identifier: Apache-2.0 */
#include "gcra.h"

int64_t
gcra_start(int64_t tat, int64_t now, int64_t period, int limit, int burst,
           int64_t *next)
{
    int64_t step = (period + limit - 1) / limit, tolerance, start;

    if (step < 1)
        step = 1;
    if (tat < now)
        tat = now; /* room does not pile up past LIMIT + BURST */
    /* The key may run this far ahead of its schedule: LIMIT + BURST runs
     * at once, the first of them at its own time. */
    tolerance = (int64_t)(limit + burst - 1) * step;
    start = tat - tolerance;
    *next = tat + step;
    return start > now ? start : now;
}
