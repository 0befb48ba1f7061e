/* fuzz_duration.c - libFuzzer target for durations (duration_parse/format).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Checks what duration.h promises: a parsed duration is 0..100 years, a
 * refusal leaves the output alone and says why, and duration_format is
 * exact (whole ms in d/h/m/s/ms), so its text parses back to the same
 * value. The first byte also picks a short buffer for duration_format,
 * which must truncate and never overrun. The same bytes go to
 * duration_parse_time() as a time. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

#define MAX_MS (100LL * 31557600000LL)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), err[256], buf[64], back_err[256];
    int64_t ms = -12345, back = -1;
    size_t small;

    memcpy(s, data, size);
    s[size] = '\0';
    /* Times too: a time parsed is never negative, and a refusal says
     * why and leaves the output alone. */
    err[0] = '\0';
    if (duration_parse_time(s, &ms, err, sizeof(err)) != 0
            ? ms != -12345 || err[0] == '\0'
            : ms < 0) {
        fprintf(stderr, "fuzz_duration: time \"%s\": %lld ms, error"
                        " \"%s\"\n", s, (long long)ms, err);
        abort();
    }
    ms = -12345;
    err[0] = '\0';
    if (duration_parse(s, &ms, err, sizeof(err)) != 0) {
        if (ms != -12345 || err[0] == '\0') {
            fprintf(stderr, "fuzz_duration: refused \"%s\" with ms %lld and"
                            " error \"%s\"\n", s, (long long)ms, err);
            abort();
        }
        free(s);
        return 0;
    }
    if (ms < 0 || ms > MAX_MS) {
        fprintf(stderr, "fuzz_duration: \"%s\" gave %lld ms\n", s,
                (long long)ms);
        abort();
    }
    duration_format(ms, buf, sizeof(buf));
    if (duration_parse(buf, &back, back_err, sizeof(back_err)) != 0 ||
        back != ms) {
        fprintf(stderr, "fuzz_duration: \"%s\" is %lld ms, formats as"
                        " \"%s\", which parses back as %lld (%s)\n", s,
                (long long)ms, buf, (long long)back, back_err);
        abort();
    }

    /* A heap buffer of exactly SMALL bytes, so ASan sees any overrun. */
    small = size > 0 ? 1 + data[0] % 24 : 1;
    {
        char *tiny = malloc(small);

        duration_format(ms, tiny, small);
        if (memchr(tiny, '\0', small) == NULL ||
            strncmp(tiny, buf, strlen(tiny)) != 0) {
            fprintf(stderr, "fuzz_duration: %lld ms in %zu bytes is not a"
                            " prefix of \"%s\"\n", (long long)ms, small,
                    buf);
            abort();
        }
        free(tiny);
    }
    free(s);
    return 0;
}
