/* plugin_nudge.c - the activity-nudge example (examples/activity-nudge)
 * under the SDK's test harness: a user seen within the day gets nothing,
 * one not seen gets one nudge, through the email API or the log.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and examples/activity-nudge/activity_nudge.c,
 * linked with the harness library; the wait is ended by
 * fh_test_send_event() or fh_test_wait_timeout(), the email API mocked
 * with fh_test_mock_fetch(). */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

#define FN "nudge-inactive-user"

static const char signup[] =
    "{\"name\":\"app/user.signed_up\",\"data\":{\"id\":\"user_ada\","
    "\"email\":\"ada@example.org\",\"name\":\"Ada\"}}";

static struct fh_test *
harness(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    ok(t != NULL, "the example passes the host's checks");
    if (t == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        exit(1);
    }
    fh_test_log_level(t, -1);
    return t;
}

static void
test_seen(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;

    fh_test_run_all(t, FN, signup, &r);
    is_int(r.status, FH_TEST_WAITING, "a new user's run waits");
    ok(r.wait != NULL && strcmp(r.wait->wait_event, "app/user.seen") == 0 &&
           strcmp(r.wait->wait_match, "data.id") == 0,
       "for app/user.seen of the same data.id");
    fh_test_result_free(&r);
    is_int(fh_test_send_event(t, "{\"name\":\"app/user.seen\","
                                 "\"data\":{\"id\":\"user_bob\"}}"),
           0, "another user seen does not end it");
    is_int(fh_test_send_event(t, "{\"name\":\"app/user.seen\","
                                 "\"data\":{\"id\":\"user_ada\"}}"),
           1, "the user seen ends it");
    fh_test_run_all(t, FN, signup, &r);
    is_int(r.status, FH_TEST_COMPLETED, "the run completes");
    is_str(r.output, "\"seen\"", "a user seen in time");
    ok(fh_test_ran(&r, "nudge-email") == NULL, "gets no nudge");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_not_seen_logged(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;

    fh_test_run_all(t, FN, signup, &r);
    fh_test_result_free(&r);
    is_int(fh_test_wait_timeout(t), 0, "the day passes");
    fh_test_run_all(t, FN, signup, &r);
    is_int(r.status, FH_TEST_COMPLETED, "the run completes");
    is_str(r.output, "\"nudged\"", "a user not seen is nudged");
    ok(fh_test_ran(&r, "nudge-email") != NULL, "in one step");
    ok(fh_test_logged(&r, "\"to\":\"ada@example.org\"") != NULL,
       "which, with no email_api, logs the email");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_not_seen_api(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;

    fh_test_config(t, "email_api", "https://mail.test/v1/email");
    fh_test_config(t, "seen_within", "12h");
    fh_test_mock_fetch(t, "nudge-email", "{\"status\":202}");
    fh_test_run_all(t, FN, signup, &r);
    ok(r.wait != NULL && r.wait->wake_at > 0, "the wait has the configured"
                                              " timeout");
    fh_test_result_free(&r);
    fh_test_wait_timeout(t);
    fh_test_run_all(t, FN, signup, &r);
    is_str(r.output, "\"nudged\"", "with email_api the nudge is POSTed");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_mock_fetch(t, "nudge-email",
                       "{\"status\":422,\"body\":\"no such address\"}");
    fh_test_run_all(t, FN, signup, &r);
    fh_test_result_free(&r);
    fh_test_wait_timeout(t);
    fh_test_run_all(t, FN, signup, &r);
    is_int(r.status, FH_TEST_FAILED, "an API that refuses the email fails"
                                     " the run");
    has_str(r.error, "the email API answered 422: no such address",
            "saying what it answered");
    fh_test_result_free(&r);
    fh_test_free(t);
}

int
main(void)
{
    test_seen();
    test_not_seen_logged();
    test_not_seen_api();
    return done_testing();
}
