/* log.h - one line per event on stderr, with a level and the module.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_LOG_H
#define FNHOST_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level written. Returns -1 for an unknown name. */
int log_set_level_name(const char *name);
void log_set_level(int level);
int log_enabled(int level);
/* "error", "warn", "info" or "debug" ("info" for any other LEVEL). */
const char *log_level_name(int level);

/* Writes "TIME LEVEL [module] message" as one write(2), so lines from
 * the master and its workers never interleave. */
void log_msg(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void log_vmsg(int level, const char *module, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Where lines go: stderr unless a worker moved it (see plugin_log.c). */
void log_set_fd(int fd);

/* 1: each line is one JSON object ({"time", "level", "module", "msg",
 * and the context's fields}); 0: text, "TIME LEVEL [module] message". */
void log_set_json(int on);
int log_json(void);

/* What the lines of this thread are about from now on, copied (NULL or
 * ATTEMPT < 0: not known): a run, its function, its plugin, its attempt,
 * and its trace (the event that started it). JSON lines carry them as
 * fields; text lines do not change, and then it costs nothing.
 * log_context_clear() forgets them. */
void log_context(const char *run_id, const char *function,
                 const char *plugin, int attempt, const char *trace_id);
void log_context_clear(void);

/* Copies N bytes of SRC into DST (CAP bytes, NUL-terminated) with every
 * byte that is not printable UTF-8 text written as \xNN: control
 * characters, C1, stray bytes and bad sequences. Stops early rather than
 * cut an escape. Returns the length written. */
size_t log_escape(char *dst, size_t cap, const char *src, size_t n);

#define log_error(m, ...) log_msg(LOG_ERROR, m, __VA_ARGS__)
#define log_warn(m, ...)  log_msg(LOG_WARN, m, __VA_ARGS__)
#define log_info(m, ...)  log_msg(LOG_INFO, m, __VA_ARGS__)
#define log_debug(m, ...)                                                   \
    do {                                                                    \
        if (log_enabled(LOG_DEBUG))                                         \
            log_msg(LOG_DEBUG, m, __VA_ARGS__);                             \
    } while (0)

/* At most one line per key per interval, for lines that outside input can
 * cause at will (one per unrouted event name). The table of keys is
 * bounded: when its slots for a key are taken by keys seen more recently,
 * the oldest is forgotten, so a flood of distinct keys costs no memory,
 * only a line for each key it brings back. */
struct log_limit;

struct log_limit *log_limit_new(size_t slots, int64_t interval_ms);
void log_limit_free(struct log_limit *l);

/* Whether the line for KEY may be written at NOW (monotonic ms): 1 for
 * the first in INTERVAL_MS, and then *HELD_BACK says how many lines of
 * KEY were held back since the last written one; 0 otherwise. */
int log_limit_pass(struct log_limit *l, const char *key, int64_t now,
                   uint64_t *held_back);

/* Keys remembered now (for tests: never more than the slots). */
size_t log_limit_keys(const struct log_limit *l);

#endif
