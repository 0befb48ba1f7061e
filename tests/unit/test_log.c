/* test_log.c - unit tests for rate-limited log lines.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>

#include "log.h"
#include "tap.h"

static void
test_once_per_interval(void)
{
    struct log_limit *l = log_limit_new(64, 60000);
    uint64_t held = 99;

    is_int(log_limit_pass(l, "app/x", 1000, &held), 1, "the first line passes");
    is_int(held, 0, "with nothing held back");
    is_int(log_limit_pass(l, "app/x", 1001, &held), 0, "the next is held back");
    is_int(log_limit_pass(l, "app/x", 60999, &held), 0,
           "and so is one just under a minute later");
    is_int(log_limit_pass(l, "app/y", 1002, &held), 1,
           "another key has its own minute");
    is_int(log_limit_pass(l, "app/x", 61000, &held), 1,
           "a minute after the last line, one passes again");
    is_int(held, 2, "and says how many were held back");
    is_int(log_limit_pass(l, "app/x", 61001, &held), 0,
           "then the minute starts over");
    is_int(log_limit_pass(l, "app/x", 121000, &held), 1, "and ends");
    is_int(held, 1, "with its own count");
    log_limit_free(l);
}

static void
test_bounded(void)
{
    struct log_limit *l = log_limit_new(64, 60000);
    uint64_t held;
    char key[32];
    int passed = 0;

    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof(key), "flood/%d", i);
        passed += log_limit_pass(l, key, 5000, &held);
    }
    is_int(passed, 10000, "10000 distinct keys each get their line");
    ok(log_limit_keys(l) <= 64, "but no more than 64 are remembered (%zu)",
       log_limit_keys(l));
    is_int(log_limit_pass(l, "flood/9999", 5001, &held), 0,
           "the key seen last is still held back");
    log_limit_free(l);
}

int
main(void)
{
    test_once_per_interval();
    test_bounded();
    return done_testing();
}
