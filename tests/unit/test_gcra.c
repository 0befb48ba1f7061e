/* test_gcra.c - unit tests for the GCRA arithmetic of rateLimit and
 * throttle (lib/gcra.c): how many runs of a key start when, counted.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>

#include "gcra.h"
#include "tap.h"

#define SEC 1000LL
#define HOUR (3600 * SEC)

/* Queues N runs of one key arriving at AT[i] (in order; NULL: all at 0)
 * and puts in START[i] when each starts, as a throttle does. Returns the
 * key's TAT after them. */
static int64_t
throttle(int64_t tat, const int64_t *at, int n, int64_t period, int limit,
         int burst, int64_t *start)
{
    for (int i = 0; i < n; i++)
        start[i] = gcra_start(tat, at != NULL ? at[i] : 0, period, limit,
                              burst, &tat);
    return tat;
}

/* How many of the N times in START are at or before T. */
static int
started_by(const int64_t *start, int n, int64_t t)
{
    int k = 0;

    for (int i = 0; i < n; i++)
        k += start[i] <= t;
    return k;
}

int
main(void)
{
    int64_t start[64], at[64], tat;

    /* Inngest's example: limit 2 per 6s, burst 1, six runs at once:
     * three (limit + burst) start at once, then one every 3s. */
    throttle(0, NULL, 6, 6 * SEC, 2, 1, start);
    is_int(start[0], 0, "the first run starts at once");
    is_int(start[2], 0, "so does the third (limit 2 + burst 1)");
    is_int(start[3], 3 * SEC, "the fourth waits one step (6s / 2)");
    is_int(start[4], 6 * SEC, "the fifth another");
    is_int(start[5], 9 * SEC, "and the sixth another: in order");

    /* A long period: exactly limit + burst start now, the rest wait. */
    throttle(0, NULL, 10, HOUR, 2, 1, start);
    is_int(started_by(start, 10, 0), 3, "1h, limit 2, burst 1: 3 of 10 start"
                                        " now");
    is_int(started_by(start, 10, 30 * 60 * SEC - 1), 3,
           "none more before the first step (30m)");
    is_int(started_by(start, 10, 30 * 60 * SEC), 4,
           "one more at 30m");
    throttle(0, NULL, 10, HOUR, 1, 0, start);
    is_int(started_by(start, 10, 0), 1, "limit 1, no burst: one starts now");

    /* The TAT is the state: what a restart reads back gives no fresh
     * burst. */
    tat = throttle(0, NULL, 3, HOUR, 2, 1, start);
    is_int(tat, 3 * 30 * 60 * SEC, "three runs took three steps");
    is_int(gcra_start(tat, 0, HOUR, 2, 1, &tat), 30 * 60 * SEC,
           "the next run of the key, from its stored TAT, waits a step");

    /* A key unused for a long time regains its room, and no more. */
    tat = throttle(0, NULL, 3, HOUR, 2, 1, start);
    for (int i = 0; i < 6; i++)
        at[i] = 100 * HOUR;
    throttle(tat, at, 6, HOUR, 2, 1, start);
    is_int(started_by(start, 6, 100 * HOUR), 3,
           "100h later: limit + burst start at once again, not more");

    /* rateLimit's use: burst 0, a run that cannot start now is skipped
     * (its TAT is not taken). */
    tat = 0;
    {
        int took = 0;

        for (int i = 0; i < 5; i++) {
            int64_t next;

            if (gcra_start(tat, 0, HOUR, 3, 0, &next) == 0) {
                tat = next;
                took++;
            }
        }
        is_int(took, 3, "a rate limit of 3 per hour takes 3 of 5 at once");
        is_int(gcra_start(tat, 20 * 60 * SEC, HOUR, 3, 0, &tat),
               20 * 60 * SEC, "and one more a third of an hour later");
    }

    /* The step rounds up: 3 per second is never above 3 per second. */
    throttle(0, NULL, 7, SEC, 3, 0, start);
    is_int(start[3], 334, "1s / 3 is a step of 334 ms, not 333");

    /* Over any stretch of L ms, arrivals at any times: at most limit +
     * burst + L / step starts, and starts in arrival order. */
    {
        int64_t t = 0, step = (10 * SEC + 3) / 4;
        int bad = 0, order = 0;

        srand(7);
        for (int i = 0; i < 64; i++) {
            t += rand() % 2000;
            at[i] = t;
        }
        throttle(0, at, 64, 10 * SEC, 4, 2, start);
        for (int i = 0; i < 64; i++) {
            order += start[i] < at[i] || (i > 0 && start[i] < start[i - 1]);
            for (int j = i; j < 64; j++)
                bad += j - i + 1 > 4 + 2 + (start[j] - start[i]) / step;
        }
        is_int(order, 0, "no run starts before it arrives, or before one"
                         " that arrived earlier");
        is_int(bad, 0, "no stretch holds more than limit + burst + its"
                       " steps");
    }
    return done_testing();
}
