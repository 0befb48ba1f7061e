/* log.c - one line per event on stderr, with a level and the module.
 * SPDX-License-Identifier: Apache-2.0 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util.h"

static int max_level = LOG_INFO;
static int json_lines;

/* This thread's context (log_context()). */
static __thread struct {
    int set;
    char run_id[32], function[160], plugin[160], trace_id[32];
    int attempt;
} ctx;
static int log_fd = STDERR_FILENO;
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

const char *
log_level_name(int level)
{
    return level >= LOG_ERROR && level <= LOG_DEBUG ? names[level] : "info";
}

int
log_enabled(int level)
{
    return level <= max_level;
}

/* Length of the UTF-8 sequence at S (N bytes left) that a terminal shows
 * as text; 0 for a byte that is not one: a control character (C0, DEL,
 * C1), a stray or overlong byte, a surrogate, or a cut sequence. */
static size_t
printable_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t c;

    if (s[0] >= 0x20 && s[0] < 0x7f)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, c = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, c = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, c = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (s[i] & 0x3f);
    }
    if (c < 0xa0 || (len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
        (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
        return 0;
    return len;
}

size_t
log_escape(char *dst, size_t cap, const char *src, size_t n)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;

    while (i < n) {
        size_t len = printable_len(s + i, n - i);

        if (len == 0) {
            if (o + 4 >= cap)
                break;
            snprintf(dst + o, 5, "\\x%02x", s[i]);
            o += 4, i++;
        } else {
            if (o + len >= cap)
                break;
            memcpy(dst + o, s + i, len);
            o += len, i += len;
        }
    }
    if (cap > 0)
        dst[o] = '\0';
    return o;
}

void
log_set_fd(int fd)
{
    log_fd = fd;
}

static void json_line(int level, const char *ts, const char *module,
                      const char *msg, size_t m);

void
log_vmsg(int level, const char *module, const char *fmt, va_list ap)
{
    char line[2048], msg[2048], ts[32];
    int n, m;

    if (level > max_level)
        return;
    time_format(now_ms(), ts, sizeof(ts));
    if (json_lines) {
        m = vsnprintf(msg, sizeof(msg), fmt, ap);
        json_line(level, ts, module, msg,
                  m < 0 ? 0 : (size_t)m >= sizeof(msg) ? sizeof(msg) - 1
                                                       : (size_t)m);
        return;
    }
    n = snprintf(line, sizeof(line), "%s %-5s [%s] ", ts,
                 names[level < 0 ? 0 : level > 3 ? 3 : level], module);
    if (n < 0 || (size_t)n >= sizeof(line))
        n = 0;
    m = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (m < 0)
        m = 0;
    if ((size_t)m >= sizeof(msg))
        m = (int)sizeof(msg) - 1;
    /* Messages carry outside text (event ids, names, plugin errors): one
     * event stays on one line, and no byte of it can move the cursor,
     * recolour the terminal or pass for a line of ours. */
    n += (int)log_escape(line + n, sizeof(line) - (size_t)n - 1, msg,
                         (size_t)m);
    line[n++] = '\n';
    (void)!write(log_fd, line, (size_t)n);
}

void
log_set_json(int on)
{
    json_lines = on;
}

int
log_json(void)
{
    return json_lines;
}

void
log_context(const char *run_id, const char *function, const char *plugin,
            int attempt, const char *trace_id)
{
    if (!json_lines)
        return; /* text lines do not show it */
    snprintf(ctx.run_id, sizeof(ctx.run_id), "%s", run_id ? run_id : "");
    snprintf(ctx.function, sizeof(ctx.function), "%s",
             function ? function : "");
    snprintf(ctx.plugin, sizeof(ctx.plugin), "%s", plugin ? plugin : "");
    snprintf(ctx.trace_id, sizeof(ctx.trace_id), "%s",
             trace_id ? trace_id : "");
    ctx.attempt = attempt;
    ctx.set = 1;
}

void
log_context_clear(void)
{
    ctx.set = 0;
}

/* Appends "KEY":"S" (S of N bytes, made printable, then " and \
 * escaped) to LINE at *AT (CAP bytes; stops early rather than overflow). */
static void
json_field(char *line, size_t cap, size_t *at, const char *key,
           const char *s, size_t n)
{
    char printable[2048];
    size_t len = log_escape(printable, sizeof(printable), s, n);
    int k = snprintf(line + *at, cap - *at, ",\"%s\":\"", key);

    if (k < 0 || (size_t)k >= cap - *at)
        return;
    *at += (size_t)k;
    for (size_t i = 0; i < len && *at + 3 < cap; i++) {
        if (printable[i] == '"' || printable[i] == '\\')
            line[(*at)++] = '\\';
        line[(*at)++] = printable[i];
    }
    if (*at + 1 < cap)
        line[(*at)++] = '"';
}

/* One JSON object for the line: the module, the message MSG (M bytes)
 * and this thread's context. */
static void
json_line(int level, const char *ts, const char *module, const char *msg,
          size_t m)
{
    char line[8192];
    size_t at;
    int n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\"",
                     ts, names[level < 0 ? 0 : level > 3 ? 3 : level]);

    at = n > 0 ? (size_t)n : 0;
    json_field(line, sizeof(line), &at, "module", module, strlen(module));
    json_field(line, sizeof(line), &at, "msg", msg, m);
    if (ctx.set) {
        if (ctx.run_id[0] != '\0')
            json_field(line, sizeof(line), &at, "run_id", ctx.run_id,
                       strlen(ctx.run_id));
        if (ctx.function[0] != '\0')
            json_field(line, sizeof(line), &at, "function", ctx.function,
                       strlen(ctx.function));
        if (ctx.plugin[0] != '\0')
            json_field(line, sizeof(line), &at, "plugin", ctx.plugin,
                       strlen(ctx.plugin));
        if (ctx.attempt >= 0 && at + 32 < sizeof(line))
            at += (size_t)snprintf(line + at, sizeof(line) - at,
                                   ",\"attempt\":%d", ctx.attempt);
        if (ctx.trace_id[0] != '\0')
            json_field(line, sizeof(line), &at, "trace_id", ctx.trace_id,
                       strlen(ctx.trace_id));
    }
    if (at + 2 >= sizeof(line))
        at = sizeof(line) - 3; /* cut: still one line */
    line[at++] = '}';
    line[at++] = '\n';
    (void)!write(log_fd, line, at);
}

void
log_msg(int level, const char *module, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(level, module, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------- rate limits */

#define LIMIT_WAYS 4 /* a key may sit in any of 4 slots of its set */

struct limit_slot {
    char *key; /* NULL: free */
    uint64_t hash;
    int64_t last;      /* when its last line was written */
    uint64_t held_back;
};

struct log_limit {
    struct limit_slot *slots;
    size_t nsets;
    int64_t interval;
    size_t keys;
};

struct log_limit *
log_limit_new(size_t slots, int64_t interval_ms)
{
    struct log_limit *l = xcalloc(1, sizeof(*l));

    l->nsets = slots / LIMIT_WAYS ? slots / LIMIT_WAYS : 1;
    l->slots = xcalloc(l->nsets * LIMIT_WAYS, sizeof(*l->slots));
    l->interval = interval_ms;
    return l;
}

void
log_limit_free(struct log_limit *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nsets * LIMIT_WAYS; i++)
        free(l->slots[i].key);
    free(l->slots);
    free(l);
}

size_t
log_limit_keys(const struct log_limit *l)
{
    return l->keys;
}

int
log_limit_pass(struct log_limit *l, const char *key, int64_t now,
               uint64_t *held_back)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    struct limit_slot *set, *s = NULL;

    for (const char *c = key; *c != '\0'; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    set = &l->slots[(h % l->nsets) * LIMIT_WAYS];
    for (int i = 0; i < LIMIT_WAYS && s == NULL; i++)
        if (set[i].key != NULL && set[i].hash == h &&
            strcmp(set[i].key, key) == 0)
            s = &set[i];
    if (s != NULL && now - s->last < l->interval) {
        s->held_back++;
        return 0;
    }
    if (s == NULL) {
        /* A free slot of the set, else the one written longest ago. */
        s = &set[0];
        for (int i = 0; i < LIMIT_WAYS && s->key != NULL; i++)
            if (set[i].key == NULL || set[i].last < s->last)
                s = &set[i];
        if (s->key == NULL)
            l->keys++;
        free(s->key);
        s->key = xstrdup(key);
        s->hash = h;
        s->held_back = 0;
    }
    *held_back = s->held_back;
    s->held_back = 0;
    s->last = now;
    return 1;
}
