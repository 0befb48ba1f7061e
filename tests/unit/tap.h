/* tap.h - a small TAP producer for the unit tests (prove can read it).
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_TAP_H
#define FNHOST_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...)                                                       \
    tap_ok_((cond) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)

static void __attribute__((format(printf, 4, 5)))
tap_ok_(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    tap_n++;
    if (!pass)
        tap_failed++;
    printf("%sok %d - ", pass ? "" : "not ", tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!pass)
        printf("#   failed at %s:%d\n", file, line);
    fflush(stdout);
}

#define is_int(got, want, ...)                                              \
    do {                                                                    \
        long long g_ = (long long)(got), w_ = (long long)(want);            \
        ok(g_ == w_, __VA_ARGS__);                                          \
        if (g_ != w_)                                                       \
            printf("#   got %lld, want %lld\n", g_, w_);                    \
    } while (0)

#define is_str(got, want, ...)                                              \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        int same_ = (g_ == NULL && w_ == NULL) ||                           \
                    (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0);      \
        ok(same_, __VA_ARGS__);                                             \
        if (!same_)                                                         \
            printf("#   got \"%s\"\n#  want \"%s\"\n", g_ ? g_ : "(null)",  \
                   w_ ? w_ : "(null)");                                     \
    } while (0)

/* Whether HAY contains NEEDLE: for checking error messages. */
#define has_str(hay, needle, ...)                                           \
    do {                                                                    \
        const char *h_ = (hay), *n_ = (needle);                             \
        int in_ = h_ != NULL && strstr(h_, n_) != NULL;                     \
        ok(in_, __VA_ARGS__);                                               \
        if (!in_)                                                           \
            printf("#   \"%s\"\n#   does not contain \"%s\"\n",             \
                   h_ ? h_ : "(null)", n_);                                 \
    } while (0)

static int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed != 0;
}

#endif
