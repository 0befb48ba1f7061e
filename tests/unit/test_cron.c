/* test_cron.c - unit tests of cron schedules: the grammar, robfig's next
 * tick, DST in real zones, and the TZif reader.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "duration.h"
#include "tap.h"

/* SPEC's first tick after AFTER (RFC 3339) is WANT (RFC 3339 in UTC, or
 * "never"). */
static void
next_is(const char *spec, const char *after, const char *want)
{
    struct cron c;
    char err[256] = "", got[64] = "never";
    int64_t ms = 0, t;
    struct tm tm;
    time_t tt;

    if (cron_parse(spec, &c, err, sizeof(err)) != 0) {
        ok(0, "\"%s\" parses: %s", spec, err);
        return;
    }
    duration_parse_time(after, &ms, err, sizeof(err));
    t = cron_next(&c, ms / 1000);
    if (t >= 0) {
        tt = (time_t)t;
        gmtime_r(&tt, &tm);
        strftime(got, sizeof(got), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    is_str(got, want, "\"%s\" after %s", spec, after);
    cron_clear(&c);
}

static void
refuses(const char *spec, const char *why)
{
    struct cron c;
    char err[256] = "";

    is_int(cron_parse(spec, &c, err, sizeof(err)), -1, "\"%.40s\" is"
           " refused", spec);
    has_str(err, why, "\"%.40s\": %s", spec, why);
}

static void
test_grammar(void)
{
    char big[300];

    next_is("* * * * *", "2026-12-07T10:42:00Z", "2026-12-07T10:43:00Z");
    next_is("* * * * *", "2026-12-07T10:42:30Z", "2026-12-07T10:43:00Z");
    next_is("*/15 * * * *", "2026-12-07T10:42:00Z", "2026-12-07T10:45:00Z");
    next_is("5/20 * * * *", "2026-12-07T10:26:00Z", "2026-12-07T10:45:00Z");
    next_is("0-30/10 9 * * *", "2026-12-07T09:31:00Z",
            "2026-12-08T09:00:00Z");
    next_is("0 9,17 * * *", "2026-12-07T09:00:00Z", "2026-12-07T17:00:00Z");
    next_is("0 0 1 jan *", "2026-12-07T10:42:00Z", "2027-01-01T00:00:00Z");
    next_is("0 0 1 JAN-MAR/2 *", "2027-01-05T00:00:00Z",
            "2027-03-01T00:00:00Z");
    /* 2026-12-07 is a Monday. */
    next_is("0 9 * * MON-FRI", "2026-12-11T10:00:00Z",
            "2026-12-14T09:00:00Z");
    next_is("0 9 * * sun", "2026-12-07T10:00:00Z", "2026-12-13T09:00:00Z");
    next_is("0 9 ? * 0", "2026-12-07T10:00:00Z", "2026-12-13T09:00:00Z");
    /* Both days restricted: either matches (the 15th, or a Monday). */
    next_is("0 0 15 * 1", "2026-12-07T10:00:00Z", "2026-12-14T00:00:00Z");
    next_is("0 0 15 * 1", "2026-12-14T10:00:00Z", "2026-12-15T00:00:00Z");
    /* One of them "*": both must (Mondays only). */
    next_is("0 0 * * 1", "2026-12-07T10:00:00Z", "2026-12-14T00:00:00Z");
    /* "*" with a step is no longer a star (robfig): the OR rule. */
    next_is("0 0 */10 * 1", "2026-12-07T10:00:00Z", "2026-12-11T00:00:00Z");
    next_is("0 0 13 * FRI", "2026-12-07T10:00:00Z", "2026-12-11T00:00:00Z");
    next_is("0 0 29 2 *", "2026-12-07T10:00:00Z", "2028-02-29T00:00:00Z");
    next_is("0 0 30 2 *", "2026-12-07T10:00:00Z", "never");
    next_is("  0   12 *\t* 5 ", "2026-12-07T10:00:00Z",
            "2026-12-11T12:00:00Z");

    refuses("* * * *", "expected 5 fields");
    refuses("* * * * * *", "got more");
    refuses("60 * * * *", "minute: 60 is out of range 0..59");
    refuses("0 24 * * *", "hour: 24 is out of range 0..23");
    refuses("0 0 0 * *", "day of month: 0 is out of range 1..31");
    refuses("0 0 * 13 *", "month: 13 is out of range 1..12");
    refuses("0 0 * * 7", "day of week: 7 is out of range 0..6");
    refuses("0 0 * * MONDAY", "is not a value");
    refuses("*/0 * * * *", "a step must be positive");
    refuses("*/ * * * *", "a step is missing");
    refuses("5-1 * * * *", "backwards");
    refuses("1,,2 * * * *", "a value is missing");
    refuses("1, * * * *", "a value is missing");
    refuses("x * * * *", "is not a value");
    refuses("TZ=Nowhere/City 0 0 * * *", "unknown time zone");
    refuses("TZ=../../etc/passwd 0 0 * * *", "not a time zone name");
    refuses("TZ=/etc/passwd 0 0 * * *", "not a time zone name");
    refuses("TZ=Europe/Paris", "followed by");
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "* * * * *", 9);
    refuses(big, "longer than 255");
}

static void
test_zones(void)
{
    next_is("TZ=Europe/Paris 0 12 * * 5", "2026-12-07T10:00:00Z",
            "2026-12-11T11:00:00Z");
    next_is("CRON_TZ=Asia/Tokyo 0 9 * * *", "2026-12-07T10:00:00Z",
            "2026-12-08T00:00:00Z");
    next_is("TZ=Asia/Kolkata 30 9 * * *", "2026-12-07T10:00:00Z",
            "2026-12-08T04:00:00Z");

    /* New York springs forward on 2026-03-08 at 02:00 EST: 02:30 does
     * not exist that day, and robfig skips it to the next day's. */
    next_is("TZ=America/New_York 30 2 * * *", "2026-03-07T07:30:00Z",
            "2026-03-09T06:30:00Z");
    /* and an hourly job has no 02:00 that day. */
    next_is("TZ=America/New_York 0 * * * *", "2026-03-08T06:30:00Z",
            "2026-03-08T07:00:00Z");
    next_is("TZ=America/New_York 0 2 * * *", "2026-03-07T08:00:00Z",
            "2026-03-09T06:00:00Z");
    /* It falls back on 2026-11-01 at 02:00 EDT: 01:30 comes twice, and
     * runs twice; 02:30 comes once. */
    next_is("TZ=America/New_York 30 1 * * *", "2026-11-01T04:00:00Z",
            "2026-11-01T05:30:00Z");
    next_is("TZ=America/New_York 30 1 * * *", "2026-11-01T05:30:00Z",
            "2026-11-01T06:30:00Z");
    next_is("TZ=America/New_York 30 1 * * *", "2026-11-01T06:30:00Z",
            "2026-11-02T06:30:00Z");
    next_is("TZ=America/New_York 30 2 * * *", "2026-10-31T06:30:00Z",
            "2026-11-01T07:30:00Z");
    next_is("TZ=America/New_York 30 2 * * *", "2026-11-01T07:30:00Z",
            "2026-11-02T07:30:00Z");

    /* Paris springs forward on 2026-03-29 at 02:00 CET: no 02:30. */
    next_is("TZ=Europe/Paris 30 2 * * *", "2026-03-28T01:30:00Z",
            "2026-03-30T00:30:00Z");
    /* It falls back on 2026-10-25 at 03:00 CEST: 02:30 twice. */
    next_is("TZ=Europe/Paris 30 2 * * *", "2026-10-24T00:30:00Z",
            "2026-10-25T00:30:00Z");
    next_is("TZ=Europe/Paris 30 2 * * *", "2026-10-25T00:30:00Z",
            "2026-10-25T01:30:00Z");
    next_is("TZ=Europe/Paris 30 2 * * *", "2026-10-25T01:30:00Z",
            "2026-10-26T01:30:00Z");
    /* A daily job outside the changed hour keeps its local time. */
    next_is("TZ=Europe/Paris 0 9 * * *", "2026-03-28T09:00:00Z",
            "2026-03-29T07:00:00Z");

    /* Past the file's transitions (2037), its footer's rule: New York
     * is on EDT in July 2045 and on EST in January. */
    next_is("TZ=America/New_York 0 12 1 7 *", "2045-06-01T00:00:00Z",
            "2045-07-01T16:00:00Z");
    next_is("TZ=America/New_York 0 12 1 1 *", "2045-06-01T00:00:00Z",
            "2046-01-01T17:00:00Z");
    next_is("TZ=Australia/Sydney 0 12 1 1 *", "2045-06-01T00:00:00Z",
            "2046-01-01T01:00:00Z");
}

/* A version 2 file with one type (UTC) and FOOTER: its offset at a time
 * past its (absent) transitions is WANT. */
static void
footer_is(const char *footer, int want, const char *what)
{
    unsigned char buf[256] = {0}, *p = buf;
    char err[128] = "";
    struct cron_tz *tz;

    for (int pass = 0; pass < 2; pass++) {
        memcpy(p, "TZif2", 5);
        p[39] = 1; /* typecnt */
        p[43] = 4; /* charcnt */
        p += 44 + 6;
        memcpy(p, "UTC", 4);
        p += 4;
    }
    p += snprintf((char *)p, 64, "\n%s\n", footer);
    tz = cron_tz_parse(buf, (size_t)(p - buf), err, sizeof(err));
    ok(tz != NULL, "a version 2 file with footer %s reads (%s)", footer, err);
    if (tz != NULL) {
        is_int(cron_tz_offset(tz, 1800000000), want, "%s", what);
        cron_tz_free(tz);
    }
}

static void
test_tzif(void)
{
    static const unsigned char v1[] = {
        'T', 'Z', 'i', 'f', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* 1 transition */
        0, 0, 0, 2, 0, 0, 0, 4,                         /* 2 types, 4 ch */
        0, 0, 0, 100,                                   /* at 100 */
        1,                                              /* type 1 */
        0, 0, 0, 0, 0, 0,                               /* UTC */
        0, 0, 0x0e, 0x10, 0, 0,                         /* +1h */
        'U', 'T', 'C', 0};
    char err[128] = "";
    struct cron_tz *tz = cron_tz_parse(v1, sizeof(v1), err, sizeof(err));

    ok(tz != NULL, "a version 1 file reads (%s)", err);
    is_int(cron_tz_offset(tz, 99), 0, "before its transition: type 0");
    is_int(cron_tz_offset(tz, 100), 3600, "from it on: type 1");
    cron_tz_free(tz);
    ok(cron_tz_parse(v1, sizeof(v1) - 1, err, sizeof(err)) == NULL,
       "a file cut short is refused");
    has_str(err, "cut short", "and says so");
    ok(cron_tz_parse((const unsigned char *)"TZof", 4, err,
                     sizeof(err)) == NULL, "not TZif is refused");
    footer_is("ABC-3", 3 * 3600, "a version 2 file's footer gives the"
                                 " offset after its last transition");
    footer_is("ABC-100", 0, "a footer offset no zone has (100 h; the fuzzer"
                            " found it) is not used: the last type is");
    footer_is("ABC-3DEF-99,M3.2.0,M11.1.0", 0,
              "nor is one with such a DST offset");
}

/* The tick to claim after the last: the next one; now, once, when ticks
 * were missed (a host that was down, a machine that slept three hours
 * while the loop waited: one run, not 180 in a row). */
static void
test_claim_after(void)
{
    struct cron c;
    char err[256];
    int64_t last = 1796637600; /* 2026-12-07T10:00:00Z */

    cron_parse("* * * * *", &c, err, sizeof(err));
    is_int(cron_claim_after(&c, last, last + 30), last + 60,
           "the next tick, not yet come, is the one claimed");
    is_int(cron_claim_after(&c, last, last + 60), last + 60,
           "the next tick, come now, is the one claimed");
    is_int(cron_claim_after(&c, last, last + 3 * 3600 + 7),
           last + 3 * 3600 + 7, "after three hours asleep: one tick, now");
    is_int(cron_claim_after(&c, cron_claim_after(&c, last, last + 10807),
                            last + 10807),
           last + 10860, "and then the next minute's, not the missed ones");
    is_int(cron_claim_after(&c, -1, last + 5), last + 60,
           "no tick yet: the next one from now");
    cron_clear(&c);
    cron_parse("0 0 30 2 *", &c, err, sizeof(err));
    is_int(cron_claim_after(&c, last, last + 99999), -1,
           "a schedule that never ticks claims none");
    cron_clear(&c);
}

int
main(void)
{
    test_grammar();
    test_zones();
    test_tzif();
    test_claim_after();
    return done_testing();
}
