/* plugin_invoker.c - fh_invoke under the SDK's test harness: the step
 * suspends the run, and fh_test_mock_invoke() says how the invoked run
 * ends, so a plugin's tests need no second function running.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/invoker.c, linked with the
 * harness library. */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static const char call_double[] =
    "{\"name\":\"test/call\",\"data\":{\"target\":\"double\","
    "\"args\":{\"n\":2},\"timeout\":\"1h\"}}";

int
main(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;

    if (t == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        return 1;
    }
    fh_test_log_level(t, -1);

    fh_test_run(t, "caller", call_double, &r);
    is_int(r.status, FH_TEST_INVOKING, "an invoke suspends the run");
    ok(r.sleep != NULL && r.sleep->kind == FH_TEST_INVOKE,
       "r.sleep is the invoke, of kind FH_TEST_INVOKE");
    is_str(r.sleep ? r.sleep->target : NULL, "double", "naming the function");
    has_str(r.sleep ? r.sleep->events : NULL,
            "\"name\":\"inngest/function.invoked\",\"data\":{\"n\":2}",
            "and the event it would get");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    is_int(fh_test_run_all(t, "caller", call_double, &r), -1,
           "run_all stops at an invoke nothing says the end of");
    has_str(fh_test_error(t), "no fh_test_mock_invoke() says how",
            "and says what to do");
    fh_test_result_free(&r);

    is_int(fh_test_mock_invoke(t, "double", "{\"n\":4}", NULL), 0,
           "a mock of the invoked run");
    fh_test_new_run(t);
    is_int(fh_test_run_all(t, "caller", call_double, &r), 0,
           "run_all goes on past the invoke");
    is_int(r.status, FH_TEST_COMPLETED, "to the end");
    is_str(r.output, "{\"got\":{\"n\":4}}", "with the mocked output");
    fh_test_result_free(&r);

    fh_test_mock_invoke(t, "double", NULL, "it broke");
    fh_test_new_run(t);
    fh_test_run_all(t, "caller", call_double, &r);
    is_str(r.output, "{\"error\":\"invoke double: it broke\"}",
           "a mocked failure is the step's error, worded as the host's");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_step_result(t, "call", "{\"n\":99}");
    fh_test_run(t, "caller", call_double, &r);
    is_str(r.output, "{\"got\":{\"n\":99}}",
           "a stored result replays without invoking");
    ok(fh_test_replayed(&r, "call"), "(replayed)");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_step_result(t, "call", "2");
    fh_test_run(t, "caller", call_double, &r);
    is_str(r.output, "{\"got\":2}", "a stored result that is a bare number"
                                    " replays as that number");
    fh_test_result_free(&r);

    /* json-c 0.16 alone would read this pair (U+1DA00) as U+FFFD. */
    fh_test_new_run(t);
    fh_test_step_result(t, "call", "{\"n\":\"\\ud836\\ude00\"}");
    fh_test_run(t, "caller", call_double, &r);
    is_str(r.output, "{\"got\":{\"n\":\"\xf0\x9d\xa8\x80\"}}",
           "a stored result's escaped pair replays as the character");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "caller",
                "{\"name\":\"test/call\",\"data\":{\"target\":\"double\","
                "\"timeout\":\"soon\"}}",
                &r);
    has_str(r.output, "timeout", "a bad timeout fails the step for good");
    fh_test_result_free(&r);

    fh_test_free(t);
    return done_testing();
}
