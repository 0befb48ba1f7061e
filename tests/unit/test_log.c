/* test_log.c - unit tests for rate-limited log lines.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

static void
test_escape(void)
{
    char out[256];
    const char in[] = "a\nb\r\x1b[31mc\x7f\xc2\x9b\xff\xc3\xa9\xe2\x82"
                      "\xac\xed\xa0\x80\xc0\xaf\xe2\x82";

    log_escape(out, sizeof(out), in, sizeof(in) - 1);
    is_str(out,
           "a\\x0ab\\x0d\\x1b[31mc\\x7f\\xc2\\x9b\\xff\xc3\xa9\xe2\x82\xac"
           "\\xed\\xa0\\x80\\xc0\\xaf\\xe2\\x82",
           "controls, C1, stray bytes, surrogates, overlong and cut sequences"
           " are escaped; UTF-8 text is kept");
    is_int((int)log_escape(out, 6, "ab\x01", 3), 2,
           "an escape that does not fit is left out whole");
    is_str(out, "ab", "and the text before it is kept");
}

static void
test_line(void)
{
    int p[2];
    char buf[512];
    ssize_t n;

    if (pipe(p) != 0) {
        ok(0, "pipe");
        return;
    }
    log_set_fd(p[1]);
    log_info("test", "event %s", "x\n2026-01-01T00:00:00Z error [sched] fake");
    log_set_fd(STDERR_FILENO);
    close(p[1]);
    n = read(p[0], buf, sizeof(buf) - 1);
    close(p[0]);
    buf[n > 0 ? n : 0] = '\0';
    ok(strstr(buf, "[test] event x\\x0a2026-01-01T00:00:00Z error") != NULL,
       "an id with a newline stays on its line, escaped: %s", buf);
    ok(strchr(buf, '\n') == buf + strlen(buf) - 1, "one line");
}

int
main(void)
{
    test_escape();
    test_line();
    test_once_per_interval();
    test_bounded();
    return done_testing();
}
