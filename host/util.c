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

#include "json_check.h"

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

size_t
str_hash(const char *s)
{
    size_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
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

int64_t
mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void
ulid_new(char *out, int64_t ms)
{
    /* Monotonic within one millisecond, as the ULID spec suggests: the
     * random part of the previous id plus one. Per thread: the store's
     * writer makes the ids of the events and runs a cancel emits. */
    static _Thread_local int64_t last_ms;
    static _Thread_local uint8_t last_rand[10];
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

int64_t
ulid_time_ms(const char *id)
{
    int64_t t = 0;

    for (int i = 0; i < 10; i++) {
        const char *c = id[i] != '\0' ? strchr(crockford, id[i]) : NULL;

        if (c == NULL)
            return -1;
        t = t << 5 | (c - crockford);
    }
    return t;
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

void
text_room(struct text_buf *b, size_t n)
{
    size_t cap = b->cap ? b->cap : 1024;

    if (b->cap - b->len >= n)
        return;
    while (cap - b->len < n)
        cap *= 2;
    b->s = xrealloc(b->s, cap);
    b->cap = cap;
}

void
text_append(struct text_buf *b, const char *s, size_t n)
{
    if (n == 0) /* B may have no buffer yet */
        return;
    text_room(b, n);
    memcpy(b->s + b->len, s, n);
    b->len += n;
}

#define ONES 0x0101010101010101ull

static void
text_putc(struct text_buf *b, char c)
{
    text_room(b, 1);
    b->s[b->len++] = c;
}

void
json_append_string(struct text_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    char *o;

    text_room(b, n + 2);
    o = b->s + b->len;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        uint64_t w;

        /* 8 bytes at a time while none is a control, " or \\: the
         * "has a byte less than" test of each, OR-ed; the high bits of ~w
         * are those of ~(w ^ '"') and ~(w ^ '\\'), both being ASCII. */
        while (n - i >= 8) {
            memcpy(&w, s + i, 8);
            if (((w - ONES * 0x20) | ((w ^ ONES * '"') - ONES) |
                 ((w ^ ONES * '\\') - ONES)) & ~w & ONES * 0x80)
                break;
            memcpy(o, &w, 8);
            o += 8;
            i += 8;
        }
        if (i == n)
            break;
        c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        /* An escape takes up to 6 bytes for 1: room for it and the rest
         * (escapes are rare; room for all at 6 would be a lot). */
        b->len = (size_t)(o - b->s);
        text_room(b, 6 + (n - i - 1) + 1);
        o = b->s + b->len;
        *o++ = '\\';
        switch (c) {
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        default:
            memcpy(o, "u00", 3);
            o[3] = hex[c >> 4];
            o[4] = hex[c & 15];
            o += 5;
        }
    }
    *o++ = '"';
    b->len = (size_t)(o - b->s);
}

/* V in decimal. */
static void
text_put_u64(struct text_buf *b, uint64_t v, int negative)
{
    char d[24], *p = d + sizeof(d);

    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    if (negative)
        *--p = '-';
    text_append(b, p, (size_t)(d + sizeof(d) - p));
}

void
json_append(struct text_buf *b, struct json_object *o)
{
    size_t i, n;
    int64_t v;
    int first = 1;

    switch (json_object_get_type(o)) {
    case json_type_null:
        text_append(b, "null", 4);
        break;
    case json_type_boolean:
        if (json_object_get_boolean(o))
            text_append(b, "true", 4);
        else
            text_append(b, "false", 5);
        break;
    case json_type_int:
        /* json-c holds an int as int64 or, above INT64_MAX, as uint64,
         * where json_object_get_int64 says INT64_MAX. */
        v = json_object_get_int64(o);
        if (v == INT64_MAX)
            text_put_u64(b, json_object_get_uint64(o), 0);
        else if (v < 0)
            text_put_u64(b, (uint64_t)0 - (uint64_t)v, 1);
        else
            text_put_u64(b, (uint64_t)v, 0);
        break;
    case json_type_double: {
        /* A parsed double prints as its source text, another with
         * json-c's format rules: json-c says which. */
        size_t len;
        const char *s = json_object_to_json_string_length(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

        text_append(b, s, len);
        break;
    }
    case json_type_string:
        json_append_string(b, json_object_get_string(o),
                     (size_t)json_object_get_string_len(o));
        break;
    case json_type_array:
        text_putc(b, '[');
        n = json_object_array_length(o);
        for (i = 0; i < n; i++) {
            if (i > 0)
                text_putc(b, ',');
            json_append(b, json_object_array_get_idx(o, i));
        }
        text_putc(b, ']');
        break;
    case json_type_object:
        text_putc(b, '{');
        json_object_object_foreach(o, key, val) {
            if (!first)
                text_putc(b, ',');
            first = 0;
            json_append_string(b, key, strlen(key));
            text_putc(b, ':');
            json_append(b, val);
        }
        text_putc(b, '}');
        break;
    }
}

struct json_object *
json_parse(const char *s)
{
    struct json_tokener *tok = json_tokener_new_ex(JSON_PARSE_DEPTH);
    struct json_object *o;
    size_t len = strlen(s);
    char *mended = json_check_mend_pairs(s, len, &len);

    if (tok == NULL)
        abort();
    o = json_tokener_parse_ex(tok, mended ? mended : s, (int)len);
    if (o == NULL && json_tokener_get_error(tok) == json_tokener_continue)
        o = json_tokener_parse_ex(tok, "", 1);
    json_tokener_free(tok);
    free(mended);
    return o;
}
