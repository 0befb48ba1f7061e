/* plugin_waits.c - waits for events under the SDK's test harness: the
 * waits fixture (tests/plugins/waits.c) waits, and the test sends it an
 * event or lets the wait time out, with no daemon.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/waits.c, linked with the harness
 * library (build/libfnhost_test.a). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static const char start[] =
    "{\"name\":\"test/wait.start\",\"data\":{\"user_id\":\"u1\"}}";

static void
test_event_ends_wait(struct fh_test *t)
{
    struct fh_test_result r;

    fh_test_run(t, "wait-match", start, &r);
    is_int(r.status, FH_TEST_WAITING, "the run waits for its event");
    ok(r.wait != NULL && r.wait->kind == FH_TEST_WAIT, "the result names the wait");
    if (r.wait != NULL) {
        is_str(r.wait->id, "wait-login", "by its step id");
        is_str(r.wait->wait_event, "test/wait.login", "with its event");
        is_str(r.wait->wait_match, "data.user_id", "and its match");
        ok(r.wait->wake_at > 0, "and its timeout");
    }
    fh_test_result_free(&r);

    is_int(fh_test_send_event(t, "{\"name\":\"test/wait.login\","
                                 "\"data\":{\"user_id\":\"u2\"}}"),
           0, "an event for another user does not match");
    is_int(fh_test_send_event(t, "{\"name\":\"test/wait.other\","
                                 "\"data\":{\"user_id\":\"u1\"}}"),
           0, "nor one of another name");
    is_int(fh_test_send_event(t, "{\"name\":\"test/wait.login\","
                                 "\"data\":{\"user_id\":\"u1\",\"x\":7}}"),
           1, "the matching event ends the wait");
    is_int(fh_test_send_event(t, "{\"name\":\"test/wait.login\","
                                 "\"data\":{\"user_id\":\"u1\"}}"),
           -1, "a run that no longer waits takes no event");

    fh_test_run(t, "wait-match", start, &r);
    is_int(r.status, FH_TEST_COMPLETED, "the next invocation completes");
    ok(fh_test_replayed(&r, "wait-login"), "the wait is replayed");
    ok(r.output != NULL && strstr(r.output, "\"x\":7") != NULL,
       "and returned the event");
    fh_test_result_free(&r);
}

static void
test_timeout(struct fh_test *t)
{
    struct fh_test_result r;

    fh_test_new_run(t);
    is_int(fh_test_wait_timeout(t), -1, "a run that does not wait has no timeout");
    fh_test_run_all(t, "wait-match", start, &r);
    is_int(r.status, FH_TEST_WAITING, "fh_test_run_all stops at a wait");
    fh_test_result_free(&r);
    is_int(fh_test_wait_timeout(t), 0, "the wait times out");
    fh_test_run_all(t, "wait-match", start, &r);
    is_int(r.status, FH_TEST_COMPLETED, "and the run goes on");
    is_str(r.output, "{\"got\":null}", "with null from the wait");
    fh_test_result_free(&r);
}

static void
test_bad_wait(struct fh_test *t)
{
    struct fh_test_result r;

    fh_test_new_run(t);
    fh_test_run(t, "wait-bad", "{\"name\":\"test/wait.bad.start\"}", &r);
    /* The harness does not compile expressions; the host refuses this
     * one (tests/integration/waits.sh). */
    is_int(r.status, FH_TEST_WAITING, "the harness takes an if it cannot check");
    fh_test_result_free(&r);
}

int
main(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    ok(t != NULL, "the waits fixture passes the checks");
    if (t == NULL)
        return done_testing();
    fh_test_log_level(t, -1);
    test_event_ends_wait(t);
    test_timeout(t);
    test_bad_wait(t);
    fh_test_free(t);
    return done_testing();
}
