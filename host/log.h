/* log.h - one line per event on stderr, with a level and the module.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_LOG_H
#define FNHOST_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level written. Returns -1 for an unknown name. */
int log_set_level_name(const char *name);
void log_set_level(int level);
int log_enabled(int level);

/* Writes "TIME LEVEL [module] message" as one write(2), so lines from
 * the master and its workers never interleave. */
void log_msg(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#define log_error(m, ...) log_msg(LOG_ERROR, m, __VA_ARGS__)
#define log_warn(m, ...)  log_msg(LOG_WARN, m, __VA_ARGS__)
#define log_info(m, ...)  log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_debug(m, ...)                                                   \
    do {                                                                    \
        if (log_enabled(LOG_DEBUG))                                         \
            log_msg(LOG_DEBUG, m, __VA_ARGS__);                             \
    } while (0)

#endif
