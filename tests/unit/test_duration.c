/* test_duration.c - unit tests for duration parsing and formatting.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>

#include "duration.h"
#include "tap.h"

#define SEC 1000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)

/* Parses S and checks it gives WANT milliseconds. */
static void
parses(const char *s, int64_t want)
{
    char err[256] = "";
    int64_t ms = -1;
    int rc = duration_parse(s, &ms, err, sizeof(err));

    ok(rc == 0, "\"%s\" parses", s);
    if (rc != 0)
        printf("#   error: %s\n", err);
    is_int(ms, want, "\"%s\" is %lld ms", s, (long long)want);
}

/* Parses S and checks it is refused with an error containing WHY. */
static void
refuses(const char *s, const char *why)
{
    char err[256] = "";
    int64_t ms = 12345;
    int rc = duration_parse(s, &ms, err, sizeof(err));

    is_int(rc, -1, "\"%s\" is refused", s);
    has_str(err, why, "\"%s\": the error says %s", s, why);
    is_int(ms, 12345, "\"%s\": the output is left alone", s);
}

static void
formats(int64_t ms, const char *want)
{
    char buf[64];

    duration_format(ms, buf, sizeof(buf));
    is_str(buf, want, "%lld ms formats as %s", (long long)ms, want);
}

/* Parses the time S and checks it gives WANT ms, or is refused (WANT
 * -1). */
static void
time_is(const char *s, int64_t want)
{
    char err[256] = "";
    int64_t ms = -1;
    int rc = duration_parse_time(s, &ms, err, sizeof(err));

    if (want < 0) {
        is_int(rc, -1, "time \"%s\" is refused", s);
        has_str(err, "expected RFC 3339", "saying what it expects");
        return;
    }
    is_int(rc, 0, "time \"%s\" parses", s);
    is_int(ms, want, "time \"%s\" is %lld ms", s, (long long)want);
}

static void
test_times(void)
{
    time_is("1970-01-01T00:00:00Z", 0);
    time_is("2026-12-07T10:42:00Z", 1796640120000LL);
    time_is("2026-12-07t10:42:00.25z", 1796640120250LL);
    time_is("2026-12-07 11:42:00.2509+01:00", 1796640120250LL);
    time_is("2026-12-07T05:12:00-05:30", 1796640120000LL);
    time_is("2024-02-29T00:00:00Z", 1709164800000LL);
    time_is("1796640120000", 1796640120000LL);
    time_is("2025-02-29T00:00:00Z", -1);
    time_is("2026-12-07T10:42:00", -1);
    time_is("2026-12-07", -1);
    time_is("2026-13-07T10:42:00Z", -1);
    time_is("1969-12-31T23:59:59Z", -1);
    time_is("2026-12-07T10:42:00.Z", -1);
    time_is("2026-12-07T10:42:00Zjunk", -1);
    time_is("", -1);
    time_is("-5", -1);
    time_is("9999999999999999", -1);
}

int
main(void)
{
    test_times();
    /* The `ms` grammar Inngest's SDK accepts. */
    parses("3 days", 3 * DAY);
    is_int(3 * DAY, 259200000, "3 days is 259200000 ms");
    parses("3d", 3 * DAY);
    parses("2.5h", 2 * HOUR + 30 * MIN);
    parses("30 mins", 30 * MIN);
    parses("1 hour", HOUR);
    parses("300ms", 300);
    parses("1500", 1500);
    parses("1.5s", 1500);
    parses("1w", 7 * DAY);
    parses("1 year", 36525LL * DAY / 100);
    parses("3 DAYS", 3 * DAY);
    parses("  45s  ", 45 * SEC);
    parses("5s\n", 5 * SEC);

    /* Go-style compounds. */
    parses("1h30m", 5400000);
    parses("2h 45m 10s", 2 * HOUR + 45 * MIN + 10 * SEC);
    parses("1 h 30 m", 90 * MIN);
    parses("1h\t30m", 5400000);

    /* Sub-millisecond parts round up, so a tiny sleep is never zero. */
    parses("1ns", 1);
    parses("1.0004s", 1001);

    /* Errors name the problem. */
    refuses("3 dayz", "unknown unit \"dayz\"");
    refuses("", "empty");
    refuses("   ", "empty");
    refuses("-5s", "negative");
    refuses("abc", "expected a number");
    refuses("1h30", "a number in a compound has no unit");
    refuses("200 years", "longer than 100 years");
    refuses("1e3", "unknown unit \"e\"");
    refuses("verylongunitnamehere", "expected a number");
    refuses("5 verylongunitnamehere", "unknown unit");
    {
        char err[256] = "";
        int64_t ms;

        duration_parse("3 dayz", &ms, err, sizeof(err));
        has_str(err, "\"3 dayz\"", "the error quotes the input");
    }

    formats(30000, "30s");
    formats(90000, "1m30s");
    formats(259200000, "3d");
    formats(250, "250ms");
    formats(3661000, "1h1m1s");
    formats(0, "0ms");
    formats(1500, "1s500ms");
    formats(DAY + 5 * SEC, "1d5s");

    /* Formatting then parsing gives the same value back. */
    {
        static const int64_t vals[] = {1,       999,         1000,     61001,
                                       5400000, 3 * DAY + 7, 400 * DAY};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
            char buf[64], err[256];
            int64_t back = -1;

            duration_format(vals[i], buf, sizeof(buf));
            duration_parse(buf, &back, err, sizeof(err));
            is_int(back, vals[i], "\"%s\" parses back to %lld", buf,
                   (long long)vals[i]);
        }
    }

    /* A short buffer is truncated, never overrun. */
    {
        char buf[4] = "xyz";

        duration_format(3661000, buf, sizeof(buf));
        is_str(buf, "1h1", "a 4-byte buffer holds the first 3 characters");
    }
    return done_testing();
}
