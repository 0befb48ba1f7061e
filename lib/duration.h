/* duration.h - durations as people write them: "3 days", "2.5h", "1h30m";
 * and times as RFC 3339 writes them.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_DURATION_H
#define FNHOST_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses S into milliseconds. Accepts the grammar of the `ms` package that
 * Inngest's JS SDK uses ("3 days", "3d", "2.5h", "30 mins", "1 hour"; a
 * bare number is milliseconds) and compound Go-style strings ("1h30m",
 * "2h 45m 10s"). Sub-millisecond parts round up to whole milliseconds.
 * Returns 0, or -1 with the reason in ERR; negative durations and values
 * beyond 100 years are errors. */
int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);

/* Parses S, a point in time, into milliseconds since the epoch: RFC 3339
 * ("2026-12-07T10:42:00Z", "2026-12-07T11:42:00.250+01:00"; 'T' or a
 * space between date and time, any digits of fraction, rounded down to
 * ms) or a bare count of milliseconds ("1765104120000"). Years 1970 to
 * 9999. Returns 0, or -1 with the reason in ERR. */
int duration_parse_time(const char *s, int64_t *ms, char *err,
                        size_t errlen);

/* Formats MS compactly into BUF: "30s", "1m30s", "3d", "250ms". */
void duration_format(int64_t ms, char *buf, size_t len);

#endif
