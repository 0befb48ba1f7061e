/* fuzz_cron.c - libFuzzer target for cron schedules and the TZif reader.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The first byte picks the input: even, the rest is a schedule for
 * cron_parse() (a TZ= prefix reads a real zone's file); odd, it is a
 * TZif file for cron_tz_parse(). A schedule that parses has a tick after
 * a few times, each later than the last; a refusal says why. A zone
 * that reads answers offsets within a day of UTC at any time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_schedule(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), err[256] = "";
    struct cron c;

    memcpy(s, data, size);
    s[size] = '\0';
    if (cron_parse(s, &c, err, sizeof(err)) != 0) {
        if (err[0] == '\0') {
            fprintf(stderr, "fuzz_cron: \"%s\" refused without a reason\n",
                    s);
            abort();
        }
        free(s);
        return;
    }
    for (int64_t t = -86400, i = 0; i < 4 && t >= -86400; i++) {
        int64_t n = cron_next(&c, t);

        if (n != -1 && n <= t) {
            fprintf(stderr, "fuzz_cron: \"%s\": next after %lld is %lld\n",
                    s, (long long)t, (long long)n);
            abort();
        }
        t = n;
    }
    cron_clear(&c);
    cron_clear(&c);
    free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[128] = "";
    struct cron_tz *tz;

    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0) {
        check_schedule(data + 1, size - 1);
        return 0;
    }
    tz = cron_tz_parse(data + 1, size - 1, err, sizeof(err));
    if (tz == NULL) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    for (int64_t t = -4000000000LL; t < 8000000000LL; t += 123456789) {
        int32_t off = cron_tz_offset(tz, t);

        if (off < -26 * 3600 || off > 26 * 3600)
            abort();
    }
    cron_tz_free(tz);
    return 0;
}
