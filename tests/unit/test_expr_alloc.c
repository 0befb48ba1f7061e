/* test_expr_alloc.c - evaluating an expression allocates nothing, except
 * where expr.h says it does (`+` on strings and lists, and the like).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Counts calls to malloc, calloc and realloc by defining them here, over
 * glibc's own. Under AddressSanitizer, which replaces malloc itself, the
 * count would bypass it, so the test is skipped there. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "expr.h"
#include "tap.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define COUNT_SKIP 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(COUNT_SKIP)
int
main(void)
{
    ok(1, "# SKIP counting allocations needs glibc's malloc");
    return done_testing();
}
#else
void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);

static long allocations;

void *
malloc(size_t n)
{
    allocations++;
    return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
    allocations++;
    return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
    allocations++;
    return __libc_realloc(p, n);
}

/* How many allocations 100 evaluations of SRC make, after a first one
 * (which may set up what it keeps, like PCRE2's match frames). */
static long
allocations_of(const char *src, const struct expr_vars *vars)
{
    char err[256] = "";
    struct expr *e = expr_compile(src, err, sizeof(err));
    long before;
    int k, rc = 0;

    if (e == NULL) {
        printf("#   %s: %s\n", src, err);
        return -1;
    }
    if (expr_eval_bool(e, vars, err, sizeof(err)) != 1) {
        printf("#   %s is not true: %s\n", src, err);
        expr_free(e);
        return -1;
    }
    before = allocations;
    for (k = 0; k < 100; k++)
        rc |= expr_eval_bool(e, vars, err, sizeof(err)) != 1;
    before = allocations - before;
    expr_free(e);
    return rc ? -1 : before;
}

int
main(void)
{
    static const char *const none[] = {
        "async.data.id == event.data.id && async.name == 'app/user.deleted'",
        "'vip' in event.data.tags && size(async.data.ref) == 12",
        "async.data.ref.matches('^ord_[0-9a-f]{8}$')",
        "has(event.data.x) || event.data.n * 2 > 5.5 ? true : false",
        "event.data.id.startsWith('u') && event.name.endsWith('created')",
        "event.data.tags[1] in ['a', 'vip'] && 1 == 1.0",
        "event.data.missing == 1 || !(event.data.n / 0 == 1) || true",
    };
    struct expr_vars vars;
    size_t k;

    vars.event = json_tokener_parse("{\"name\": \"app/user.created\", "
                                    "\"data\": {\"id\": \"u1\", \"n\": 3, "
                                    "\"tags\": [\"x\", \"vip\"]}}");
    vars.async = json_tokener_parse("{\"name\": \"app/user.deleted\", "
                                    "\"data\": {\"id\": \"u1\", "
                                    "\"ref\": \"ord_12345678\"}}");
    for (k = 0; k < sizeof(none) / sizeof(none[0]); k++)
        is_int(allocations_of(none[k], &vars), 0,
               "no allocation evaluating %s", none[k]);
    /* The count sees allocations: `+` on strings makes one each time. */
    ok(allocations_of("event.data.id + 'x' == 'u1x'", &vars) >= 100,
       "`+` on strings allocates, as documented");
    json_object_put(vars.event);
    json_object_put(vars.async);
    return done_testing();
}
#endif
