/* util.c - allocation that aborts on failure, clocks and ULIDs.
 * SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

static void
oom(size_t n)
{
    fprintf(stderr, "fnhost: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL)
        oom(n);
    return p;
}

void *
xcalloc(size_t nmemb, size_t n)
{
    void *p = calloc(nmemb ? nmemb : 1, n ? n : 1);

    if (p == NULL)
        oom(nmemb * n);
    return p;
}

void *
xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL)
        oom(n);
    return q;
}

char *
xstrdup(const char *s)
{
    char *p = strdup(s);

    if (p == NULL)
        oom(strlen(s) + 1);
    return p;
}

char *
xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    return s;
}

int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ulid_new(char *out, int64_t ms)
{
    /* Monotonic within one millisecond, as the ULID spec suggests: the
     * random part of the previous id plus one. Callers are single-threaded
     * per process (the master's loop, a worker). */
    static int64_t last_ms;
    static uint8_t last_rand[10];
    uint8_t r[10];

    if (ms <= 0)
        ms = now_ms();
    if (ms == last_ms) {
        memcpy(r, last_rand, sizeof(r));
        for (int i = 9; i >= 0; i--)
            if (++r[i] != 0)
                break;
    } else {
        if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
            for (size_t i = 0; i < sizeof(r); i++)
                r[i] = (uint8_t)rand();
        }
        r[0] &= 0x7f; /* leave room to count up within the millisecond */
    }
    last_ms = ms;
    memcpy(last_rand, r, sizeof(r));
    ulid_encode(out, ms, r);
}

void
ulid_encode(char *out, int64_t ms, const uint8_t r[10])
{
    uint64_t t;

    t = (uint64_t)ms;
    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[t & 31];
        t >>= 5;
    }
    /* 80 random bits as 16 characters of 5 bits, high bits first. */
    for (int i = 0; i < 16; i++) {
        int bit = i * 5, v = 0;

        for (int b = 0; b < 5; b++, bit++)
            v = (v << 1) | ((r[bit / 8] >> (7 - bit % 8)) & 1);
        out[10 + i] = crockford[v];
    }
    out[ULID_LEN] = '\0';
}

void
time_format(int64_t ms, char *buf, size_t len)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    char tmp[32];

    gmtime_r(&s, &tm);
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03dZ", tmp, (int)(ms % 1000));
}

char *
file_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL)
        return NULL;
    for (;;) {
        size_t got;

        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            buf = xrealloc(buf, cap);
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        int e = errno;

        fclose(f);
        free(buf);
        errno = e ? e : EIO;
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

int
mkdir_p(const char *path, unsigned mode)
{
    char *p = xstrdup(path);

    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    if (mkdir(p, mode) != 0) {
        struct stat st;

        if (errno != EEXIST || stat(p, &st) != 0) {
            free(p);
            return -1;
        }
        if (!S_ISDIR(st.st_mode)) {
            free(p);
            errno = ENOTDIR;
            return -1;
        }
    }
    free(p);
    return 0;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

int
rm_rf(const char *path)
{
    if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

char *
path_absolute(const char *path)
{
    char *real, cwd[4096];

    if (path[0] == '/')
        return xstrdup(path);
    real = realpath(path, NULL);
    if (real != NULL)
        return real;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return xstrdup(path);
    return xasprintf("%s/%s", strcmp(cwd, "/") == 0 ? "" : cwd, path);
}

void
child_before_exec(void)
{
#if defined(__SANITIZE_ADDRESS__)
    setenv("ASAN_OPTIONS", "handle_segv=0:handle_abort=0:detect_leaks=1", 1);
#endif
}

struct json_object *
json_parse(const char *s)
{
    struct json_tokener *tok = json_tokener_new_ex(JSON_PARSE_DEPTH);
    struct json_object *o;
    size_t len = strlen(s);

    if (tok == NULL)
        abort();
    o = json_tokener_parse_ex(tok, s, (int)len);
    if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, "", 1);
    json_tokener_free(tok);
    return o;
}
