/* duration.c - durations as people write them: "3 days", "2.5h", "1h30m",
 * read the same by the host and the SDK's test harness.
 * SPDX-License-Identifier: Apache-2.0 */
#include "duration.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct unit {
    const char *name;
    double ms;
};

/* Every spelling that `ms` v2 or Go's str2duration accept. */
static const struct unit units[] = {
    {"ns", 1e-6},
    {"us", 1e-3},
    {"\xc2\xb5s", 1e-3},
    {"\xce\xbcs", 1e-3},
    {"ms", 1},
    {"msec", 1},
    {"msecs", 1},
    {"millisecond", 1},
    {"milliseconds", 1},
    {"s", 1e3},
    {"sec", 1e3},
    {"secs", 1e3},
    {"second", 1e3},
    {"seconds", 1e3},
    {"m", 60e3},
    {"min", 60e3},
    {"mins", 60e3},
    {"minute", 60e3},
    {"minutes", 60e3},
    {"h", 3600e3},
    {"hr", 3600e3},
    {"hrs", 3600e3},
    {"hour", 3600e3},
    {"hours", 3600e3},
    {"d", 86400e3},
    {"day", 86400e3},
    {"days", 86400e3},
    {"w", 604800e3},
    {"week", 604800e3},
    {"weeks", 604800e3},
    {"y", 31557600e3},
    {"yr", 31557600e3},
    {"yrs", 31557600e3},
    {"year", 31557600e3},
    {"years", 31557600e3},
};

/* The reason S is refused, WHY, in ERR; and -1. */
static int
fail(char *err, size_t errlen, const char *s, const char *why)
{
    snprintf(err, errlen, "invalid duration \"%.64s\": %s", s, why);
    return -1;
}

int
duration_parse(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    double total = 0;
    int parts = 0, bare = 0;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return fail(err, errlen, s, "it is empty");
    if (*p == '-')
        return fail(err, errlen, s, "it is negative");
    if (*p == '+')
        p++;
    while (*p != '\0') {
        double v = 0, scale = 1;
        int digits = 0;
        char unit[16];
        size_t n = 0;
        const struct unit *u = NULL;

        while (isdigit((unsigned char)*p)) {
            /* Huge values become inf and fail the 100-year check. */
            v = v * 10 + (*p - '0');
            p++, digits++;
        }
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char)*p)) {
                scale /= 10;
                v += (*p - '0') * scale;
                p++, digits++;
            }
        }
        if (digits == 0)
            return fail(err, errlen, s, "expected a number");
        while (isspace((unsigned char)*p))
            p++;
        while (*p != '\0' && !isdigit((unsigned char)*p) &&
               !isspace((unsigned char)*p) && *p != '.') {
            if (n + 1 >= sizeof(unit))
                return fail(err, errlen, s, "unknown unit");
            unit[n++] = *p++;
        }
        unit[n] = '\0';
        if (n == 0) {
            bare = 1;
            /* A bare number is milliseconds, as in `ms`. */
            u = &units[4];
        } else {
            for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcasecmp(unit, units[i].name) == 0) {
                    u = &units[i];
                    break;
                }
            }
        }
        if (u == NULL) {
            char why[64];

            snprintf(why, sizeof(why), "unknown unit \"%s\"", unit);
            return fail(err, errlen, s, why);
        }
        total += v * u->ms;
        parts++;
        if (total > 100 * 31557600e3)
            return fail(err, errlen, s, "it is longer than 100 years");
        while (isspace((unsigned char)*p))
            p++;
    }
    if (bare && parts > 1)
        return fail(err, errlen, s, "a number in a compound has no unit");
    *out = (int64_t)total;
    if ((double)*out < total)
        (*out)++;
    return 0;
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
