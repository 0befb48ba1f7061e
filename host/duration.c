/* duration.c - durations as people write them: "3 days", "2.5h", "1h30m".
 * SPDX-License-Identifier: Apache-2.0 */
#include "duration.h"

#include "fnhost_duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
duration_parse(const char *s, int64_t *out, char *err, size_t errlen)
{
    return fh_duration_parse_(s, out, err, errlen);
}

void
duration_format(int64_t ms, char *buf, size_t len)
{
    static const struct {
        const char *name;
        int64_t ms;
    } parts[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    size_t off = 0;

    if (ms < 1000) {
        snprintf(buf, len, "%lldms", (long long)ms);
        return;
    }
    buf[0] = '\0';
    for (size_t i = 0; i < 4 && off < len; i++) {
        if (ms >= parts[i].ms) {
            int n = snprintf(buf + off, len - off, "%lld%s",
                             (long long)(ms / parts[i].ms), parts[i].name);
            if (n < 0)
                return;
            off += (size_t)n;
            ms %= parts[i].ms;
        }
    }
    if (ms > 0 && off < len)
        snprintf(buf + off, len - off, "%lldms", (long long)ms);
}
