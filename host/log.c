/* log.c - one line per event on stderr, with a level and the module.
 * SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

static int max_level = LOG_INFO;
static const char *const names[] = {"error", "warn", "info", "debug"};

int
log_set_level_name(const char *name)
{
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            max_level = i;
            return 0;
        }
    }
    return -1;
}

void
log_set_level(int level)
{
    max_level = level;
}

int
log_enabled(int level)
{
    return level <= max_level;
}

void
log_vmsg(int level, const char *module, const char *fmt, va_list ap)
{
    char line[2048], ts[32];
    int n, m;

    if (level > max_level)
        return;
    time_format(now_ms(), ts, sizeof(ts));
    n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts,
                 names[level < 0 ? 0 : level > 3 ? 3 : level], module);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    if (m < 0)
        m = 0;
    n += m;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    /* Keep one event on one line, whatever the message holds. */
    for (int i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}

void
log_msg(int level, const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, module, fmt, ap);
    va_end(ap);
}
