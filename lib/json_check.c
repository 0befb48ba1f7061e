/* json_check.c - whether a JSON value can be stored and printed back as
 * JSON.
 * SPDX-License-Identifier: Apache-2.0 */
#include "json_check.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
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

    if (tok == NULL && (tok = json_tokener_new_ex(128)) == NULL)
        ctx_abort_oom();
    json_tokener_reset(tok);
    o = json_tokener_parse_ex(tok, text, (int)len + 1);
    if (json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len)
        why = ctx_format("%s is not valid JSON: %.60s", what, text);
    else if ((bad = json_check_numbers(o)) != NULL)
        why = ctx_format("%s is not valid JSON: %.40s is not a number JSON"
                         " can hold",
                         what, bad);
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
