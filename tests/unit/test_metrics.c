/* test_metrics.c - Prometheus histograms and labelled counters
 * (host/metrics.c), as the exposition text reads.
 * SPDX-License-Identifier: Apache-2.0 */
#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "tap.h"

/* B's text, as a new string; B is emptied. */
static char *
text_of(struct evbuffer *b)
{
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);

    evbuffer_remove(b, s, n);
    s[n] = '\0';
    return s;
}

static void
test_histogram(void)
{
    static const double bounds[] = {1, 5, 10};
    struct evbuffer *b = evbuffer_new();
    struct histogram h;
    char *s;

    hist_init(&h, bounds, 3);
    hist_observe(&h, 0.5);
    hist_observe(&h, 1);  /* on a bound: le="1" holds it */
    hist_observe(&h, 7);
    hist_observe(&h, 99); /* above every bound: only +Inf */
    hist_print(b, "x_seconds", "help text", "", &h, 1);
    s = text_of(b);
    is_str(s,
           "# HELP x_seconds help text\n"
           "# TYPE x_seconds histogram\n"
           "x_seconds_bucket{le=\"1\"} 2\n"
           "x_seconds_bucket{le=\"5\"} 2\n"
           "x_seconds_bucket{le=\"10\"} 3\n"
           "x_seconds_bucket{le=\"+Inf\"} 4\n"
           "x_seconds_sum 107.500000\n"
           "x_seconds_count 4\n",
           "buckets are cumulative, a bound is inclusive, +Inf is the count");
    free(s);
    hist_print(b, "x_seconds", "", "fn=\"a\"", &h, 0);
    s = text_of(b);
    ok(strstr(s, "x_seconds_bucket{fn=\"a\",le=\"1\"} 2\n") != NULL &&
           strstr(s, "x_seconds_count{fn=\"a\"} 4\n") != NULL &&
           strstr(s, "# HELP") == NULL,
       "labels go before le, and on _sum and _count; no header when asked");
    free(s);
    evbuffer_free(b);
}

static void
test_counters(void)
{
    static const char *const kinds[] = {"ok", "bad"};
    struct evbuffer *b = evbuffer_new();
    struct counter_set set = {0};
    char *s;

    counter_add(&set, "f1", 0);
    counter_add(&set, "f1", 0);
    counter_add(&set, "we\"ird\\\n", 1);
    counter_add(&set, "f1", 9); /* out of range: ignored */
    counter_set_print(b, "c_total", "h", &set, "function", "outcome", kinds,
                      2);
    s = text_of(b);
    is_str(s,
           "# HELP c_total h\n"
           "# TYPE c_total counter\n"
           "c_total{function=\"f1\",outcome=\"ok\"} 2\n"
           "c_total{function=\"we\\\"ird\\\\\\n\",outcome=\"bad\"} 1\n",
           "one line per label and kind that counted, values escaped");
    free(s);
    counter_set_free(&set);
    evbuffer_free(b);
}

int
main(void)
{
    test_histogram();
    test_counters();
    return done_testing();
}
