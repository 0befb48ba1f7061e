/* json_check.c - whether a JSON value can be stored and printed back as
 * JSON.
 * SPDX-License-Identifier: Apache-2.0 */
#include "json_check.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

/* Whether S is a number as RFC 8259 writes one. */
static int
number_text_valid(const char *s)
{
    s += *s == '-';
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        s += strspn(s, "0123456789");
    else
        return 0;
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return 0;
        s += 1 + strspn(s + 1, "0123456789");
    }
    if (*s == 'e' || *s == 'E') {
        s += 1 + (s[1] == '+' || s[1] == '-');
        if (*s < '0' || *s > '9')
            return 0;
        s += strspn(s, "0123456789");
    }
    return *s == '\0';
}

const char *
json_check_numbers(struct json_object *v)
{
    const char *bad;

    switch (json_object_get_type(v)) {
    case json_type_double:
        bad = json_object_to_json_string(v);
        return isfinite(json_object_get_double(v)) && number_text_valid(bad)
                   ? NULL
                   : bad;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if ((bad = json_check_numbers(json_object_array_get_idx(v, i))) !=
                NULL)
                return bad;
        return NULL;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            if ((bad = json_check_numbers(val)) != NULL)
                return bad;
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

/* The NUL is parsed too, so a bare number ends in the same call (each
 * call costs json-c a locale switch). */
char *
json_check_text(const char *what, const char *text, size_t len)
{
    static struct json_tokener *tok;
    struct json_object *o;
    const char *bad;
    char *why = NULL;
    size_t at;
    int unparsed;

    /* The strict reader refuses all that the rest would, without
     * building a tree: on the way of every step result and output, it is
     * the only pass. The rest only find the words for a refusal. */
    if ((bad = json_check_strict(text, len, 128, &at)) == NULL)
        return NULL;
    if (tok == NULL && (tok = json_tokener_new_ex(128)) == NULL)
        ctx_abort_oom();
    json_tokener_reset(tok);
    o = json_tokener_parse_ex(tok, text, (int)len + 1);
    unparsed = json_tokener_get_error(tok) != json_tokener_success ||
               json_tokener_get_parse_end(tok) != len;
    if (o == NULL) {
        /* A reset tokener would keep the high surrogate of a bad \u
         * escape for the next text (json-c 0.16). */
        json_tokener_free(tok);
        tok = NULL;
    }
    if (unparsed)
        why = ctx_format("%s is not valid JSON: %.60s", what, text);
    else if ((bad = json_check_numbers(o)) != NULL)
        why = ctx_format("%s is not valid JSON: %.40s is not a number JSON"
                         " can hold",
                         what, bad);
    else
        why = ctx_format("%s is not valid JSON: %s", what,
                         json_check_strict(text, len, 128, &at));
    json_object_put(o);
    return why;
}

int
json_check_depth(struct json_object *o, int limit)
{
    int max = 0;

    if (limit < 0)
        return 1;
    if (json_object_is_type(o, json_type_object)) {
        json_object_object_foreach(o, k, v)
        {
            int d = json_check_depth(v, limit - 1);

            (void)k;
            if (d > max)
                max = d;
        }
        return max + 1;
    }
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++) {
            int d =
                json_check_depth(json_object_array_get_idx(o, i), limit - 1);

            if (d > max)
                max = d;
        }
        return max + 1;
    }
    return 0;
}

/* ------------------------------------------------ strict JSON and UTF-8 */

/* The length of the UTF-8 sequence at P (N > 0 bytes left): 1 to 4, or 0
 * if none begins there (RFC 3629: no overlong forms, no surrogates,
 * nothing past U+10FFFF). */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0], need, min, cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        need = 1, min = 0x80, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        need = 2, min = 0x800, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        need = 3, min = 0x10000, cp = c & 0x07;
    else
        return 0;
    if (n <= need)
        return 0;
    for (unsigned k = 1; k <= need; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[k] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need + 1;
}

int
json_check_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k;

    while (i < n) {
        uint64_t w;

        /* Mostly ASCII: 8 bytes at a time while it is. */
        if (n - i >= 8) {
            memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        if ((k = utf8_seq(p + i, n - i)) == 0)
            return 0;
        i += k;
    }
    return 1;
}

char *
json_check_repair_utf8(const char *s)
{
    size_t n = strlen(s), i = 0, o = 0, k;
    char *out;

    if (json_check_utf8(s, n))
        return NULL;
    /* At worst each byte becomes the 3 bytes of U+FFFD. */
    if ((out = malloc(3 * n + 1)) == NULL)
        ctx_abort_oom();
    while (i < n) {
        if ((k = utf8_seq((const unsigned char *)s + i, n - i)) == 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    out[o] = '\0';
    return out;
}

/* The value of the 4 hex digits at P (at least 4 bytes), or -1. */
static long
hex4(const unsigned char *p)
{
    long v = 0;

    for (int i = 0; i < 4; i++) {
        int c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v |= (c | 0x20) - 'a' + 10;
        else
            return -1;
    }
    return v;
}

/* The code point of the escaped surrogate pair at P (before END) that
 * json-c 0.16 misreads, or 0. json-c builds the pair's code point and then
 * tests it, not the escape, for a surrogate: one whose low 16 bits fall in
 * D800..DFFF (U+1D800..U+1DFFF, U+2D800..U+2DFFF, ...: CJK ideographs
 * among them) is read as a surrogate again and stored as U+FFFD. */
static long
misread_pair(const unsigned char *p, const unsigned char *end)
{
    long hi, lo, cp;

    if (end - p < 12 || p[1] != 'u' || p[6] != '\\' || p[7] != 'u' ||
        (hi = hex4(p + 2)) < 0xD800 || hi > 0xDBFF ||
        (lo = hex4(p + 8)) < 0xDC00 || lo > 0xDFFF)
        return 0;
    cp = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
    return (cp & 0xF800) == 0xD800 ? cp : 0;
}

/* The next backslash at or after Q, or NULL. */
static const unsigned char *
next_backslash(const unsigned char *q, const unsigned char *end)
{
    return q < end ? memchr(q, '\\', (size_t)(end - q)) : NULL;
}

char *
json_check_mend_pairs(const char *text, size_t len, size_t *newlen)
{
    const unsigned char *p = (const unsigned char *)text, *end = p + len,
                        *q = p, *from = p;
    unsigned char *out = NULL, *o = NULL;
    long cp;

    /* A backslash begins each escape: step over the escaped character,
     * so that an escaped backslash and "ud836" are not read as one. */
    while ((q = next_backslash(q, end)) != NULL) {
        if ((cp = misread_pair(q, end)) == 0) {
            q += end - q > 2 ? 2 : end - q;
            continue;
        }
        if (out == NULL && (o = out = malloc(len + 1)) == NULL)
            ctx_abort_oom();
        memcpy(o, from, (size_t)(q - from));
        o += q - from;
        *o++ = (unsigned char)(0xF0 | (cp >> 18));
        *o++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
        from = q += 12;
    }
    if (out == NULL)
        return NULL;
    memcpy(o, from, (size_t)(end - from));
    o += end - from;
    *o = '\0';
    *newlen = (size_t)(o - out);
    return (char *)out;
}

#define ONES 0x0101010101010101ull

/* Reads the string whose quote is at *P; *P ends after its closing
 * quote, or at the problem. */
static const char *
strict_string(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp + 1;
    const char *why = "a string does not end";
    long u, lo;
    size_t k;

    while (p < end) {
        uint64_t w;

        /* Most of a body is printable ASCII: 8 bytes at a time while none
         * is a control, '"', '\\' or above 0x7f (the "has a byte less
         * than" test of each, OR-ed; exact, so a miss is impossible). */
        while (end - p >= 8) {
            memcpy(&w, p, 8);
            if ((((w - ONES * 0x20) | ((w ^ ONES * '"') - ONES) |
                  ((w ^ ONES * '\\') - ONES)) & ~w & ONES * 0x80) |
                (w & ONES * 0x80))
                break;
            p += 8;
        }
        if (p == end)
            break;
        if (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\') {
            p++;
            continue;
        }
        if (*p == '"') {
            *pp = p + 1;
            return NULL;
        }
        if (*p < 0x20) {
            why = "a control character in a string must be escaped";
            break;
        }
        if (*p != '\\') {
            if ((k = utf8_seq(p, (size_t)(end - p))) == 0) {
                why = "it is not UTF-8";
                break;
            }
            p += k;
            continue;
        }
        if (end - p < 2)
            break;
        if (strchr("\"\\/bfnrt", p[1]) != NULL && p[1] != '\0') {
            p += 2;
            continue;
        }
        if (p[1] != 'u') {
            why = "a string holds an escape JSON has not";
            break;
        }
        u = end - p >= 6 ? hex4(p + 2) : -1;
        if (u < 0) {
            why = "a \\u escape needs 4 hex digits";
            break;
        }
        if (u >= 0xdc00 && u <= 0xdfff) {
            why = "a \\u escape is a lone surrogate (\\udc00-\\udfff),"
                  " not a character";
            break;
        }
        if (u >= 0xd800 && u <= 0xdbff) {
            lo = end - p >= 12 && p[6] == '\\' && p[7] == 'u' ? hex4(p + 8)
                                                              : -1;
            if (lo < 0xdc00 || lo > 0xdfff) {
                why = "a \\u escape is a lone surrogate (\\ud800-\\udbff),"
                      " not a character";
                break;
            }
            p += 6;
        }
        p += 6;
    }
    *pp = p;
    return why;
}

static int
is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* Reads the number at *P; *P ends after it, or at its start when it is
 * not one (NaN, Infinity, "1.", "01"). */
static const char *
strict_number(const unsigned char **pp, const unsigned char *end)
{
    const unsigned char *p = *pp, *digits;
    int integer = 1;
    size_t n;

    p += *p == '-';
    digits = p;
    if (!is_digit(p, end))
        return "it holds a number JSON has not (NaN, Infinity, ...)";
    if (*p == '0')
        p++;
    else
        while (is_digit(p, end))
            p++;
    n = (size_t)(p - digits);
    if (p < end && *p == '.') {
        if (!is_digit(++p, end))
            return "it holds a number JSON has not (\"1.\")";
        while (is_digit(p, end))
            p++;
        integer = 0;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        p += p < end && (*p == '+' || *p == '-');
        if (!is_digit(p, end))
            return "it holds a number JSON has not (\"1e\")";
        while (is_digit(p, end))
            p++;
        integer = 0;
    }
    if (p < end && ((*p >= '0' && *p <= '9') || *p == '.' ||
                    ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')))
        return "it holds a number JSON has not (\"01\", \"1x\")";
    if (integer) {
        /* json-c clamps: refuse rather than store another number. */
        const char *max = digits > *pp ? "9223372036854775808"
                                       : "18446744073709551615";
        size_t m = strlen(max);

        if (n > m || (n == m && memcmp(digits, max, m) > 0))
            return "it holds an integer beyond 64 bits: send it as a"
                   " string";
    }
    *pp = p;
    return NULL;
}

/* What a strict reading expects next. */
enum strict_want {
    WANT_VALUE,
    WANT_VALUE_OR_END, /* after '[' */
    WANT_KEY_OR_END,   /* after '{' */
    WANT_KEY,          /* after ',' in an object */
    WANT_COLON,
    WANT_NEXT, /* after a value: ',', the end of its container, or of
                  the text */
};

const char *
json_check_strict(const char *text, size_t len, int max_depth, size_t *at)
{
    const unsigned char *start = (const unsigned char *)text, *p = start;
    const unsigned char *end = start + len;
    unsigned char stack[JSON_CHECK_MAX_DEPTH];
    enum strict_want want = WANT_VALUE;
    const char *why = NULL;
    int depth = 0;

    if (max_depth > JSON_CHECK_MAX_DEPTH)
        max_depth = JSON_CHECK_MAX_DEPTH;
    for (;;) {
        while (p < end &&
               (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
            p++;
        if (p == end) {
            if (want != WANT_NEXT || depth > 0)
                why = "it ends too soon";
            break;
        }
        switch (want) {
        case WANT_NEXT:
            if (depth == 0) {
                why = "there is more after the value";
            } else if (*p == ',') {
                want = stack[depth - 1] == '{' ? WANT_KEY : WANT_VALUE;
                p++;
            } else if (*p == (stack[depth - 1] == '{' ? '}' : ']')) {
                depth--;
                p++;
            } else {
                why = "a ',' or the container's end is missing";
            }
            break;
        case WANT_KEY_OR_END:
        case WANT_KEY:
            if (want == WANT_KEY_OR_END && *p == '}') {
                depth--;
                p++;
                want = WANT_NEXT;
            } else if (*p == '"') {
                why = strict_string(&p, end);
                want = WANT_COLON;
            } else {
                why = "an object key must be a string";
            }
            break;
        case WANT_COLON:
            if (*p == ':') {
                p++;
                want = WANT_VALUE;
            } else {
                why = "a ':' is missing after an object key";
            }
            break;
        case WANT_VALUE_OR_END:
            if (*p == ']') {
                depth--;
                p++;
                want = WANT_NEXT;
                break;
            }
            /* fall through */
        case WANT_VALUE:
            want = WANT_NEXT;
            if (*p == '{' || *p == '[') {
                if (depth >= max_depth) {
                    why = "it nests too deep";
                    break;
                }
                stack[depth++] = *p;
                want = *p == '{' ? WANT_KEY_OR_END : WANT_VALUE_OR_END;
                p++;
            } else if (*p == '"') {
                why = strict_string(&p, end);
            } else if (*p == '-' || (*p >= '0' && *p <= '9') ||
                       *p == 'N' || *p == 'I') {
                why = strict_number(&p, end);
            } else if ((size_t)(end - p) >= 4 && memcmp(p, "true", 4) == 0) {
                p += 4;
            } else if ((size_t)(end - p) >= 5 &&
                       memcmp(p, "false", 5) == 0) {
                p += 5;
            } else if ((size_t)(end - p) >= 4 && memcmp(p, "null", 4) == 0) {
                p += 4;
            } else {
                why = "a value is missing or is not one JSON has";
            }
            break;
        }
        if (why != NULL)
            break;
    }
    *at = (size_t)(p - start);
    return why;
}
