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

/* The N digits at *P as a number, *P moved past them; -1 if any of the N
 * is not a digit. */
static int
digits(const char **p, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
    }
    return v;
}

/* Days from 1970-01-01 to Y-M-D of the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}

static int
leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
duration_parse_time(const char *s, int64_t *out, char *err, size_t errlen)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30,
                                31, 31, 30, 31, 30, 31};
    const char *p = s;
    int y, mo, d, h, mi, sec, ms = 0, scale = 100, off = 0;
    int64_t t;

    if (*p != '\0' && strspn(p, "0123456789") == strlen(p)) {
        if (strlen(p) > 15) /* past the year 33000 */
            goto bad;
        for (t = 0; *p != '\0'; p++)
            t = t * 10 + (*p - '0');
        *out = t;
        return 0;
    }
    if ((y = digits(&p, 4)) < 0 || *p++ != '-' || (mo = digits(&p, 2)) < 0 ||
        *p++ != '-' || (d = digits(&p, 2)) < 0 ||
        (*p != 'T' && *p != 't' && *p != ' ') || (p++, h = digits(&p, 2)) < 0 ||
        *p++ != ':' || (mi = digits(&p, 2)) < 0 || *p++ != ':' ||
        (sec = digits(&p, 2)) < 0)
        goto bad;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
            goto bad;
        for (; isdigit((unsigned char)*p); p++, scale /= 10)
            ms += (*p - '0') * scale;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om;

        if ((oh = digits(&p, 2)) < 0 || *p++ != ':' ||
            (om = digits(&p, 2)) < 0 || oh > 23 || om > 59)
            goto bad;
        off = sign * (oh * 60 + om);
    } else {
        goto bad;
    }
    if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
        sec > 60)
        goto bad;
    t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
        (int64_t)off * 60;
    if (t < 0)
        goto bad;
    *out = t * 1000 + ms;
    return 0;
bad:
    snprintf(err, errlen, "time \"%.40s\": expected RFC 3339, as"
                          " 2026-12-07T10:42:00Z, or milliseconds since the"
                          " epoch", s);
    return -1;
}
