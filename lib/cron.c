/* cron.c - cron schedules as Inngest reads them: five fields and an
 * optional time zone, and the tick after a given time.
 * SPDX-License-Identifier: Apache-2.0 */
#include "cron.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ calendar */

/* Days since 1970-01-01 of civil date Y-M-D (M 1..12; D may overflow
 * the month, which moves on linearly). Howard Hinnant's algorithm. */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil date of day Z since 1970-01-01. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t
floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* ------------------------------------------------------------- zones */

/* A POSIX TZ rule "Mm.w.d/time": day D (0 Sunday) of week W (5: the
 * last) of month M, at TIME seconds of local time. */
struct tz_rule {
    int m, w, d;
    int32_t time;
};

struct cron_tz {
    int64_t *at;     /* transition times, UTC, ascending */
    unsigned char *type; /* the type each begins */
    size_t n;
    int32_t *off;    /* each type's offset, seconds east of UTC */
    size_t ntypes;
    /* The footer: std offset, and when DST, its offset and rules. */
    int footer;
    int32_t std_off, dst_off;
    int has_dst;
    struct tz_rule start, end;
};

void
cron_tz_free(struct cron_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->at);
    free(tz->type);
    free(tz->off);
    free(tz);
}

static int64_t
be(const unsigned char *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* A POSIX offset "[+-]hh[:mm[:ss]]" at *S into *OUT, in seconds (with
 * POSIX's sign: west positive). 0, or -1. */
static int
posix_time(const char **s, int32_t *out)
{
    const char *p = *s;
    int sign = 1;
    long part[3] = {0, 0, 0};

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *p != ':')
            break;
        if (i > 0)
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p) && part[i] < 1000)
            part[i] = part[i] * 10 + (*p++ - '0');
        if (part[i] > 167)
            return -1;
    }
    *out = (int32_t)(sign * (part[0] * 3600 + part[1] * 60 + part[2]));
    *s = p;
    return 0;
}

/* A zone abbreviation: 3 or more letters, or <...>. */
static int
posix_name(const char **s)
{
    const char *p = *s;

    if (*p == '<') {
        while (*p != '\0' && *p != '>')
            p++;
        if (*p != '>')
            return -1;
        *s = p + 1;
        return 0;
    }
    while (isalpha((unsigned char)*p))
        p++;
    if (p - *s < 3)
        return -1;
    *s = p;
    return 0;
}

/* ",Mm.w.d[/time]" at *S. Other forms (Jn, n) are refused: zoneinfo
 * does not use them. */
static int
posix_rule(const char **s, struct tz_rule *r)
{
    const char *p = *s;
    char *end;
    long v[3];

    if (*p++ != ',' || *p++ != 'M')
        return -1;
    for (int i = 0; i < 3; i++) {
        if (i > 0 && *p++ != '.')
            return -1;
        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        v[i] = strtol(p, &end, 10);
        if (errno != 0 || end - p > 2)
            return -1;
        p = end;
    }
    if (v[0] < 1 || v[0] > 12 || v[1] < 1 || v[1] > 5 || v[2] > 6)
        return -1;
    r->m = (int)v[0], r->w = (int)v[1], r->d = (int)v[2];
    r->time = 7200;
    if (*p == '/' && (p++, posix_time(&p, &r->time) != 0))
        return -1;
    *s = p;
    return 0;
}

/* Whether OFF, seconds east of UTC, is one a zone may have: RFC 8536's
 * range for a TZif file's types, which holds the footer's too (POSIX's
 * hours, up to 167, are for the rules' times). */
static int
offset_ok(int32_t off)
{
    return off >= -25 * 3600 && off <= 26 * 3600;
}

/* The footer TZ string S (NUL-terminated), into TZ; -1 when it is not
 * one this reader knows, which leaves TZ on its last transition. */
static int
posix_tz(const char *s, struct cron_tz *tz)
{
    int32_t std, dst;

    if (posix_name(&s) != 0 || posix_time(&s, &std) != 0 ||
        !offset_ok(-std))
        return -1;
    tz->std_off = -std;
    if (*s == '\0') {
        tz->footer = 1;
        return 0;
    }
    if (posix_name(&s) != 0)
        return -1;
    dst = std - 3600;
    if ((*s != ',' && posix_time(&s, &dst) != 0) || !offset_ok(-dst))
        return -1;
    if (posix_rule(&s, &tz->start) != 0 || posix_rule(&s, &tz->end) != 0 ||
        *s != '\0')
        return -1;
    tz->dst_off = -dst;
    tz->has_dst = tz->footer = 1;
    return 0;
}

/* Limits far above any zone of the database, so that hostile files cost
 * little. */
#define TZ_MAX_TIMES 5000
#define TZ_MAX_TYPES 256
#define TZ_MAX_CHARS 256

struct cron_tz *
cron_tz_parse(const unsigned char *buf, size_t len, char *err,
              size_t errlen)
{
    const unsigned char *p = buf, *end = buf + len;
    size_t cnt[6], tsize = 4, body;
    struct cron_tz *tz;

    for (int pass = 0;; pass++) {
        if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4) != 0) {
            snprintf(err, errlen, "not a TZif file");
            return NULL;
        }
        for (int i = 0; i < 6; i++)
            cnt[i] = (uint32_t)be(p + 20 + 4 * i, 4);
        /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
        if (cnt[3] > TZ_MAX_TIMES || cnt[4] == 0 || cnt[4] > TZ_MAX_TYPES ||
            cnt[5] > TZ_MAX_CHARS || cnt[2] > TZ_MAX_TIMES ||
            (cnt[0] != 0 && cnt[0] != cnt[4]) ||
            (cnt[1] != 0 && cnt[1] != cnt[4])) {
            snprintf(err, errlen, "TZif counts out of range");
            return NULL;
        }
        body = cnt[3] * (tsize + 1) + cnt[4] * 6 + cnt[5] +
               cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
        if ((size_t)(end - p) - 44 < body) {
            snprintf(err, errlen, "TZif data is cut short");
            return NULL;
        }
        /* Version 2 and later repeat the data with 64-bit times. */
        if (pass == 0 && p[4] >= '2') {
            p += 44 + body;
            tsize = 8;
            continue;
        }
        break;
    }
    tz = calloc(1, sizeof(*tz));
    if (tz == NULL)
        abort();
    tz->n = cnt[3];
    tz->ntypes = cnt[4];
    tz->at = calloc(tz->n + 1, sizeof(*tz->at));
    tz->type = calloc(tz->n + 1, 1);
    tz->off = calloc(tz->ntypes, sizeof(*tz->off));
    if (tz->at == NULL || tz->type == NULL || tz->off == NULL)
        abort();
    p += 44;
    for (size_t i = 0; i < tz->n; i++, p += tsize)
        tz->at[i] = be(p, (int)tsize);
    for (size_t i = 0; i < tz->n; i++, p++) {
        tz->type[i] = *p;
        if (*p >= tz->ntypes || (i > 0 && tz->at[i] <= tz->at[i - 1])) {
            snprintf(err, errlen, "TZif transitions out of order");
            cron_tz_free(tz);
            return NULL;
        }
    }
    for (size_t i = 0; i < tz->ntypes; i++, p += 6) {
        tz->off[i] = (int32_t)be(p, 4);
        if (!offset_ok(tz->off[i])) {
            snprintf(err, errlen, "TZif offset out of range");
            cron_tz_free(tz);
            return NULL;
        }
    }
    p += cnt[5] + cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
    /* The footer: "\nTZ\n". One we cannot read leaves the last type. */
    if (tsize == 8 && p < end && *p == '\n') {
        const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
        char footer[128];

        if (nl != NULL && (size_t)(nl - p - 1) < sizeof(footer)) {
            memcpy(footer, p + 1, (size_t)(nl - p - 1));
            footer[nl - p - 1] = '\0';
            if (posix_tz(footer, tz) != 0)
                tz->footer = tz->has_dst = 0;
        }
    }
    return tz;
}

/* The UTC time at which rule R takes effect in year Y, whose local time
 * is OFF seconds east of UTC until then. */
static int64_t
rule_time(const struct tz_rule *r, int64_t y, int32_t off)
{
    int64_t first = days_from_civil(y, r->m, 1), day;
    int wday = (int)((first % 7 + 11) % 7); /* 1970-01-01 was Thursday */
    int64_t next_first = days_from_civil(y, r->m + 1, 1);

    day = first + (r->d - wday + 7) % 7 + 7 * (r->w - 1);
    while (day >= next_first)
        day -= 7;
    return day * 86400 + r->time - off;
}

int32_t
cron_tz_offset(const struct cron_tz *tz, int64_t t)
{
    size_t lo = 0, hi;

    if (tz == NULL)
        return 0;
    if (tz->n == 0 || t >= tz->at[tz->n - 1]) {
        int64_t y, s, e;
        int m, d;

        if (!tz->footer)
            return tz->off[tz->n > 0 ? tz->type[tz->n - 1] : 0];
        if (!tz->has_dst)
            return tz->std_off;
        civil_from_days(floor_div(t + tz->std_off, 86400), &y, &m, &d);
        s = rule_time(&tz->start, y, tz->std_off);
        e = rule_time(&tz->end, y, tz->dst_off);
        if (s < e)
            return t >= s && t < e ? tz->dst_off : tz->std_off;
        return t >= e && t < s ? tz->std_off : tz->dst_off;
    }
    /* Before the first transition: type 0 (RFC 8536). */
    if (t < tz->at[0])
        return tz->off[0];
    hi = tz->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off[tz->type[lo]];
}

/* Whether NAME can be a zone's file under the database: Area/City
 * characters, no "..", not absolute. */
static int
zone_name_ok(const char *name)
{
    if (*name == '\0' || *name == '/' || strstr(name, "..") != NULL ||
        strlen(name) > 64)
        return 0;
    for (const char *c = name; *c != '\0'; c++)
        if (!isalnum((unsigned char)*c) && strchr("/_+-", *c) == NULL)
            return 0;
    return 1;
}

static struct cron_tz *
tz_load(const char *name, char *err, size_t errlen)
{
    char path[128], why[128];
    unsigned char *buf;
    size_t len;
    FILE *f;
    struct cron_tz *tz;

    if (!zone_name_ok(name)) {
        snprintf(err, errlen, "TZ: \"%s\" is not a time zone name", name);
        return NULL;
    }
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, errlen, "TZ: unknown time zone \"%s\"", name);
        return NULL;
    }
    buf = malloc(65536);
    if (buf == NULL)
        abort();
    len = fread(buf, 1, 65536, f);
    fclose(f);
    tz = cron_tz_parse(buf, len, why, sizeof(why));
    free(buf);
    if (tz == NULL)
        snprintf(err, errlen, "TZ: %s: %s", name, why);
    return tz;
}

/* --------------------------------------------------------------- fields */

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* index + lo is the value; NULL: none */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr",
                                          "may", "jun", "jul", "aug",
                                          "sep", "oct", "nov", "dec",
                                          NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu",
                                        "fri", "sat", NULL};

static const struct field fields[5] = {
    {"minute", 0, 59, NULL},
    {"hour", 0, 23, NULL},
    {"day of month", 1, 31, NULL},
    {"month", 1, 12, month_names},
    {"day of week", 0, 6, dow_names},
};

/* A value of F at the start of S (LEN bytes): a number or a name. */
static int
field_value(const struct field *f, const char *s, size_t len, int *out,
            char *err, size_t errlen)
{
    long v = 0;

    if (len == 0) {
        snprintf(err, errlen, "%s: a value is missing", f->name);
        return -1;
    }
    if (isdigit((unsigned char)s[0])) {
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)s[i]) || v > 1000) {
                snprintf(err, errlen, "%s: \"%.*s\" is not a number",
                         f->name, (int)(len > 20 ? 20 : len), s);
                return -1;
            }
            v = v * 10 + (s[i] - '0');
        }
        if (v < f->lo || v > f->hi) {
            snprintf(err, errlen, "%s: %.*s is out of range %d..%d",
                     f->name, (int)(len > 20 ? 20 : len), s, f->lo, f->hi);
            return -1;
        }
        *out = (int)v;
        return 0;
    }
    for (int i = 0; f->names != NULL && f->names[i] != NULL; i++) {
        if (len == 3 && strncasecmp(s, f->names[i], 3) == 0) {
            *out = f->lo + i;
            return 0;
        }
    }
    snprintf(err, errlen, "%s: \"%.*s\" is not a value", f->name,
             (int)(len > 20 ? 20 : len), s);
    return -1;
}

/* One field S (LEN bytes, no spaces) of F into *BITS; *STAR when it is
 * "*" or "?" (robfig: also "*" with a step of 1). */
static int
parse_field(const struct field *f, const char *s, size_t len, uint64_t *bits,
            int *star, char *err, size_t errlen)
{
    const char *end = s + len;

    *bits = 0;
    *star = 0;
    while (s <= end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *item_end = comma ? comma : end;
        const char *slash = memchr(s, '/', (size_t)(item_end - s));
        const char *range_end = slash ? slash : item_end;
        const char *dash = memchr(s, '-', (size_t)(range_end - s));
        int lo, hi, step = 1, is_star = 0;

        if ((range_end - s == 1) && (*s == '*' || *s == '?')) {
            lo = f->lo, hi = f->hi, is_star = 1;
        } else if (dash != NULL) {
            if (field_value(f, s, (size_t)(dash - s), &lo, err, errlen) ||
                field_value(f, dash + 1, (size_t)(range_end - dash - 1), &hi,
                            err, errlen))
                return -1;
        } else {
            if (field_value(f, s, (size_t)(range_end - s), &lo, err, errlen))
                return -1;
            hi = lo;
        }
        if (slash != NULL) {
            long v = 0;

            if (slash + 1 == item_end) {
                snprintf(err, errlen, "%s: a step is missing", f->name);
                return -1;
            }
            for (const char *c = slash + 1; c < item_end; c++) {
                if (!isdigit((unsigned char)*c) || v > 1000) {
                    snprintf(err, errlen, "%s: a step must be a number",
                             f->name);
                    return -1;
                }
                v = v * 10 + (*c - '0');
            }
            if (v == 0) {
                snprintf(err, errlen, "%s: a step must be positive",
                         f->name);
                return -1;
            }
            step = (int)(v > 100 ? 100 : v);
            /* robfig: "N/step" runs from N to the end. */
            if (!is_star && dash == NULL)
                hi = f->hi;
            if (step > 1)
                is_star = 0;
        }
        if (lo > hi) {
            snprintf(err, errlen, "%s: the range %d-%d is backwards",
                     f->name, lo, hi);
            return -1;
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= 1ULL << v;
        *star |= is_star;
        if (comma == NULL)
            break;
        s = comma + 1;
    }
    return 0;
}

void
cron_clear(struct cron *c)
{
    cron_tz_free(c->tz);
    c->tz = NULL;
}

int
cron_parse(const char *spec, struct cron *c, char *err, size_t errlen)
{
    const char *s = spec, *start[5];
    size_t len[5];
    int n = 0;
    uint64_t bits[5];
    int star[5];

    memset(c, 0, sizeof(*c));
    if (strlen(spec) > CRON_MAX_LEN) {
        snprintf(err, errlen, "longer than %d characters", CRON_MAX_LEN);
        return -1;
    }
    while (*s == ' ' || *s == '\t')
        s++;
    if (strncmp(s, "TZ=", 3) == 0 || strncmp(s, "CRON_TZ=", 8) == 0) {
        char zone[80];
        size_t zl;

        s += s[0] == 'T' ? 3 : 8;
        zl = strcspn(s, " \t");
        if (zl >= sizeof(zone) || s[zl] == '\0') {
            snprintf(err, errlen, "TZ= must be followed by a zone name and"
                                  " the five fields");
            return -1;
        }
        memcpy(zone, s, zl);
        zone[zl] = '\0';
        if ((c->tz = tz_load(zone, err, errlen)) == NULL)
            return -1;
        s += zl;
    }
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            break;
        if (n == 5) {
            snprintf(err, errlen, "expected 5 fields (minute hour"
                                  " day-of-month month day-of-week), got"
                                  " more");
            goto fail;
        }
        start[n] = s;
        len[n] = strcspn(s, " \t");
        s += len[n++];
    }
    if (n != 5) {
        snprintf(err, errlen, "expected 5 fields (minute hour day-of-month"
                              " month day-of-week), got %d", n);
        goto fail;
    }
    for (int i = 0; i < 5; i++)
        if (parse_field(&fields[i], start[i], len[i], &bits[i], &star[i],
                        err, errlen) != 0)
            goto fail;
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint32_t)bits[3];
    c->dow = (uint32_t)bits[4];
    c->dom_star = star[2];
    c->dow_star = star[4];
    return 0;

fail:
    cron_clear(c);
    return -1;
}

/* -------------------------------------------------------------- next */

/* A time as the zone shows it. */
struct local {
    int64_t y;
    int mon, d, h, mi, s, wday;
};

static struct local
local_of(const struct cron *c, int64_t t)
{
    int64_t l = t + cron_tz_offset(c->tz, t);
    int64_t days = floor_div(l, 86400), sec = l - days * 86400;
    struct local lt;

    civil_from_days(days, &lt.y, &lt.mon, &lt.d);
    lt.h = (int)(sec / 3600);
    lt.mi = (int)(sec / 60 % 60);
    lt.s = (int)(sec % 60);
    lt.wday = (int)((days % 7 + 11) % 7);
    return lt;
}

/* Go's time.Date in C's zone: the local time given, normalized (a month
 * or day past its end moves on); one a DST change skips or repeats gets
 * the offset Go gives it. */
static int64_t
date_of(const struct cron *c, int64_t y, int64_t mon, int64_t d, int64_t h,
        int64_t mi, int64_t s)
{
    int64_t l;

    y += floor_div(mon - 1, 12);
    mon = mon - 1 - floor_div(mon - 1, 12) * 12 + 1;
    l = days_from_civil(y, mon, d) * 86400 + h * 3600 + mi * 60 + s;
    return l - cron_tz_offset(c->tz, l - cron_tz_offset(c->tz, l));
}

static int
day_matches(const struct cron *c, const struct local *lt)
{
    int dom = (c->dom >> lt->d) & 1, dow = (c->dow >> lt->wday) & 1;

    if (c->dom_star || c->dow_star)
        return dom && dow;
    return dom || dow;
}

int64_t
cron_next(const struct cron *c, int64_t after)
{
    int64_t t = after + 1, limit;
    int added = 0;
    struct local lt = local_of(c, t);

    limit = lt.y + 5;
wrap:
    lt = local_of(c, t);
    if (lt.y > limit)
        return -1;
    while (!((c->month >> lt.mon) & 1)) {
        if (!added) {
            added = 1;
            t = date_of(c, lt.y, lt.mon, 1, 0, 0, 0);
            lt = local_of(c, t);
        }
        t = date_of(c, lt.y, lt.mon + 1, lt.d, lt.h, lt.mi, lt.s);
        lt = local_of(c, t);
        if (lt.mon == 1)
            goto wrap;
    }
    while (!day_matches(c, &lt)) {
        if (!added) {
            added = 1;
            t = date_of(c, lt.y, lt.mon, lt.d, 0, 0, 0);
            lt = local_of(c, t);
        }
        t = date_of(c, lt.y, lt.mon, lt.d + 1, lt.h, lt.mi, lt.s);
        lt = local_of(c, t);
        /* Midnight may have moved with DST: back to it. */
        if (lt.h != 0) {
            t += lt.h > 12 ? (int64_t)(24 - lt.h) * 3600
                           : -(int64_t)lt.h * 3600;
            lt = local_of(c, t);
        }
        if (lt.d == 1)
            goto wrap;
    }
    while (!((c->hour >> lt.h) & 1)) {
        if (!added) {
            added = 1;
            t = date_of(c, lt.y, lt.mon, lt.d, lt.h, 0, 0);
        }
        t += 3600;
        lt = local_of(c, t);
        if (lt.h == 0)
            goto wrap;
    }
    while (!((c->minute >> lt.mi) & 1)) {
        if (!added) {
            added = 1;
            t -= t - floor_div(t, 60) * 60;
        }
        t += 60;
        lt = local_of(c, t);
        if (lt.mi == 0)
            goto wrap;
    }
    /* The standard parser's seconds field is 0. */
    while (lt.s != 0) {
        t += 1;
        lt = local_of(c, t);
        if (lt.s == 0)
            goto wrap;
    }
    return t;
}

int64_t
cron_claim_after(const struct cron *c, int64_t last, int64_t now)
{
    int64_t next = cron_next(c, last < 0 ? now : last);

    return next >= 0 && next < now ? now : next;
}
