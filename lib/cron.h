/* cron.h - cron schedules as Inngest reads them: five fields and an
 * optional time zone, and the tick after a given time.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The grammar is robfig/cron's standard parser, which Inngest uses:
 * "minute hour day-of-month month day-of-week", each field a list of
 * "*", "?", a value, a range "a-b", each optionally "/step"; months and
 * days of the week also by name (JAN..DEC, SUN..SAT, any case); day of
 * the week 0..6 (0 is Sunday). An optional "TZ=Area/City " (or
 * "CRON_TZ=") prefix names a zone of the system's time zone database
 * (/usr/share/zoneinfo), read here by a TZif reader of our own: the
 * host has threads, and setenv("TZ") + localtime() would be a race.
 * Without it, times are UTC. cron_next() is robfig's SpecSchedule.Next,
 * DST included: a time that a spring-forward skips does not fire that
 * day, and one that a fall-back repeats fires twice. */
#ifndef FNHOST_CRON_H
#define FNHOST_CRON_H

#include <stddef.h>
#include <stdint.h>

/* The longest schedule, as Inngest's. */
#define CRON_MAX_LEN 255

/* A time zone read from a TZif file: its transitions, and the rule of
 * its footer for the times after the last one. */
struct cron_tz;

struct cron {
    uint64_t minute; /* bit N: minute N, 0..59 */
    uint32_t hour;   /* 0..23 */
    uint32_t dom;    /* 1..31 */
    uint32_t month;  /* 1..12 */
    uint32_t dow;    /* 0..6 */
    int dom_star;    /* the field was "*" or "?" (robfig's star bit): */
    int dow_star;    /* with either, a day must match both fields, else
                        either (the day-of-month/day-of-week OR rule) */
    struct cron_tz *tz; /* NULL: UTC */
};

/* Parses SPEC into C (cron_clear() it). Returns 0, or -1 with what is
 * wrong in ERR ("hour: 24 is out of range 0..23"). Reads the zone's
 * file for a TZ= prefix. */
int cron_parse(const char *spec, struct cron *c, char *err, size_t errlen);

/* Frees what cron_parse() allocated; C may be cleared twice. */
void cron_clear(struct cron *c);

/* The first tick of C strictly after AFTER (seconds since the epoch), or
 * -1 when none comes in the next five years ("0 0 30 2 *"). */
int64_t cron_next(const struct cron *c, int64_t after);

/* The tick of C to claim after tick LAST (-1: none yet), the clock being
 * at NOW (seconds): the next one; NOW itself when that has passed already
 * (ticks were missed: the host was down, or the machine slept), so that
 * however many were missed one runs, at once; -1 if none comes. LAST -1
 * counts from NOW. */
int64_t cron_claim_after(const struct cron *c, int64_t last, int64_t now);

/* Reads the TZif data BUF of LEN bytes into a new zone, or NULL with why
 * in ERR. Exposed for tests and the fuzz target. */
struct cron_tz *cron_tz_parse(const unsigned char *buf, size_t len,
                              char *err, size_t errlen);
void cron_tz_free(struct cron_tz *tz);

/* The offset from UTC, in seconds east, of TZ at UTC time T. */
int32_t cron_tz_offset(const struct cron_tz *tz, int64_t t);

#endif
