/* fuzz_seed.c - libFuzzer target for x-inngest-event-id-seed headers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The header comes from any client. A seed that is accepted must give a
 * whole ULID whose time is the seed's milliseconds; the event index is
 * the input's first byte, so the tail arithmetic is exercised too. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *seed, out[ULID_LEN + 8];
    size_t index = 0;
    int64_t t = 0;

    if (size > 0) {
        index = data[0] * (size_t)997;
        data++, size--;
    }
    seed = malloc(size + 1);
    memcpy(seed, data, size);
    seed[size] = '\0';
    memset(out, '!', sizeof(out));
    if (ingest_seeded_id(seed, index, out) == 0) {
        for (int i = 0; i < ULID_LEN; i++) {
            const char *p = strchr(crockford, out[i]);

            if (out[i] == '\0' || p == NULL) {
                fprintf(stderr, "fuzz_seed: \"%s\" gave a bad ULID\n", seed);
                abort();
            }
            if (i < 10)
                t = t * 32 + (p - crockford);
        }
        if (out[ULID_LEN] != '\0' || out[ULID_LEN + 1] != '!' ||
            t != strtoll(seed, NULL, 10)) {
            fprintf(stderr, "fuzz_seed: \"%s\" gave ULID %.26s of time"
                            " %lld\n", seed, out, (long long)t);
            abort();
        }
    }
    free(seed);
    return 0;
}
