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
