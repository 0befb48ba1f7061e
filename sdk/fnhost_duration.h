/* fnhost_duration.h - the duration grammar ("3 days", "2.5h", "1h30m"),
 * one copy shared by the host and the SDK's test harness, so a plugin's
 * unit tests read durations exactly as fnhost does.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost and its SDK: everything here is static and may change
 * between releases. Plugins use fh_sleep(), which takes the string. */
#ifndef FNHOST_DURATION_H_
#define FNHOST_DURATION_H_

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct fh_duration_unit_ {
    const char *name;
    double ms;
};

/* Every spelling that `ms` v2 or Go's str2duration accept. */
static const struct fh_duration_unit_ fh_duration_units_[] = {
    {"ns", 1e-6},           {"us", 1e-3},         {"\xc2\xb5s", 1e-3},
    {"\xce\xbcs", 1e-3},    {"ms", 1},            {"msec", 1},
    {"msecs", 1},           {"millisecond", 1},   {"milliseconds", 1},
    {"s", 1e3},             {"sec", 1e3},         {"secs", 1e3},
    {"second", 1e3},        {"seconds", 1e3},     {"m", 60e3},
    {"min", 60e3},          {"mins", 60e3},       {"minute", 60e3},
    {"minutes", 60e3},      {"h", 3600e3},        {"hr", 3600e3},
    {"hrs", 3600e3},        {"hour", 3600e3},     {"hours", 3600e3},
    {"d", 86400e3},         {"day", 86400e3},     {"days", 86400e3},
    {"w", 604800e3},        {"week", 604800e3},   {"weeks", 604800e3},
    {"y", 31557600e3},      {"yr", 31557600e3},   {"yrs", 31557600e3},
    {"year", 31557600e3},   {"years", 31557600e3},
};

static int
fh_duration_fail_(char *err, size_t errlen, const char *s, const char *why)
{
    snprintf(err, errlen, "invalid duration \"%.64s\": %s", s, why);
    return -1;
}

static int
fh_duration_parse_(const char *s, int64_t *out, char *err, size_t errlen)
{
    const char *p = s;
    double total = 0;
    int parts = 0, bare = 0;

    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return fh_duration_fail_(err, errlen, s, "it is empty");
    if (*p == '-')
        return fh_duration_fail_(err, errlen, s, "it is negative");
    if (*p == '+')
        p++;
    while (*p != '\0') {
        double v = 0, scale = 1;
        int digits = 0;
        char unit[16];
        size_t n = 0;
        const struct fh_duration_unit_ *u = NULL;

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
            return fh_duration_fail_(err, errlen, s, "expected a number");
        while (isspace((unsigned char)*p))
            p++;
        while (*p != '\0' && !isdigit((unsigned char)*p) &&
               !isspace((unsigned char)*p) && *p != '.') {
            if (n + 1 >= sizeof(unit))
                return fh_duration_fail_(err, errlen, s, "unknown unit");
            unit[n++] = *p++;
        }
        unit[n] = '\0';
        if (n == 0) {
            bare = 1;
            u = &fh_duration_units_[4]; /* a bare number is milliseconds, as in `ms` */
        } else {
            for (size_t i = 0; i < sizeof(fh_duration_units_) / sizeof(fh_duration_units_[0]); i++) {
                if (strcasecmp(unit, fh_duration_units_[i].name) == 0) {
                    u = &fh_duration_units_[i];
                    break;
                }
            }
        }
        if (u == NULL) {
            char why[64];

            snprintf(why, sizeof(why), "unknown unit \"%s\"", unit);
            return fh_duration_fail_(err, errlen, s, why);
        }
        total += v * u->ms;
        parts++;
        if (total > 100 * 31557600e3)
            return fh_duration_fail_(err, errlen, s, "it is longer than 100 years");
        while (isspace((unsigned char)*p))
            p++;
    }
    if (bare && parts > 1)
        return fh_duration_fail_(err, errlen, s, "a number in a compound has no unit");
    *out = (int64_t)total;
    if ((double)*out < total)
        (*out)++;
    return 0;
}

#endif
