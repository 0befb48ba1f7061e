/* plugin_lifecycle.c - failure handlers and lifecycle subscribers under
 * the SDK's test harness: a plugin tests its on_failure handler by
 * handing it the inngest/function.failed event the host would.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/lifecycle.c, linked with the
 * harness library. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static const char failed[] =
    "{\"name\":\"inngest/function.failed\",\"id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
    "\"data\":{\"function_id\":\"guarded\","
    "\"run_id\":\"01ARZ3NDEKTSV4RRFFQ69G5FAV\","
    "\"event\":{\"name\":\"test/guarded\",\"data\":{}},"
    "\"error\":{\"name\":\"Error\",\"message\":\"broken on purpose\"}}}";

int
main(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;
    struct json_object *out;

    if (t == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        return 1;
    }
    fh_test_log_level(t, -1);

    fh_test_run(t, "guarded", "{\"name\":\"test/guarded\"}", &r);
    is_int(r.status, FH_TEST_FAILED, "guarded fails");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    is_int(fh_test_run(t, "guarded-failure", failed, &r), 0,
           "its failure handler runs as guarded-failure");
    is_int(r.status, FH_TEST_COMPLETED, "and completes");
    is_int(r.max_attempts, 2, "with one retry, as the host gives it");
    out = json_tokener_parse(r.output ? r.output : "null");
    is_str(fh_json_str(out, "error"), "broken on purpose",
           "it reads the error from the event");
    is_str(fh_json_str(out, "trigger"), "test/guarded",
           "and the failed run's event");
    json_object_put(out);
    fh_test_result_free(&r);

    fh_test_new_run(t);
    is_int(fh_test_run(t, "guarded-failure", "{\"name\":\"test/guarded\"}",
                       &r),
           -1, "only inngest/function.failed triggers it");
    has_str(r.error, "does not trigger function guarded-failure",
            "saying so");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    is_int(fh_test_run(t, "works-failure", failed, &r), -1,
           "a function without on_failure has no failure handler");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "on-finished",
                "{\"name\":\"inngest/function.finished\",\"data\":"
                "{\"function_id\":\"works\",\"result\":{\"ok\":1}}}",
                &r);
    is_int(r.status, FH_TEST_COMPLETED,
           "a lifecycle subscriber runs on the event the host would send");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    is_int(fh_test_run(t, "works", "{\"name\":\"inngest/function.finished\"}",
                       &r),
           -1, "an inngest/ event reaches only functions it triggers");
    fh_test_result_free(&r);

    fh_test_free(t);
    return done_testing();
}
