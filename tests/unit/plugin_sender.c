/* plugin_sender.c - fh_send_event under the SDK's test harness: what a
 * send step lists, its ids, its replay, and the events it refuses.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/sender.c, linked with the harness
 * library, as a plugin's own tests are. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static struct fh_test *
harness(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    if (t == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        exit(1);
    }
    fh_test_log_level(t, -1);
    return t;
}

int
main(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;
    const struct fh_test_step *s;
    struct json_object *ids, *events, *v;

    /* Two events: listed as a send, with the events as they are stored. */
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":"
                             "{\"count\":2,\"dedup_id\":\"d1\"}}", &r);
    is_int(r.status, FH_TEST_COMPLETED, "a run that sends two events"
                                        " completes");
    s = fh_test_ran(&r, "notify");
    ok(s != NULL && s->kind == FH_TEST_SEND, "the send is listed as"
                                             " FH_TEST_SEND");
    ids = json_tokener_parse(s ? s->result : "null");
    ok(json_object_object_get_ex(ids, "ids", &v) &&
           json_object_array_length(v) == 2,
       "its result is {\"ids\": [two ids]}");
    ok(v != NULL &&
           strlen(json_object_get_string(json_object_array_get_idx(v, 0))) ==
               26,
       "each id is a ULID");
    ok(r.output != NULL && s != NULL && strstr(s->result, r.output) != NULL,
       "the handler got the ids back");
    events = json_tokener_parse(s ? s->events : "null");
    ok(json_object_array_length(events) == 2, "events lists both");
    v = json_object_array_get_idx(events, 1);
    is_str(fh_json_str(v, "name"), "test/sent", "with its name");
    is_str(fh_json_str(v, "id"), "d1", "its id");
    ok(fh_json_get(v, "ts") != NULL, "and a ts, completed as on /e/");
    json_object_put(ids);
    json_object_put(events);
    fh_test_result_free(&r);

    /* A replay returns the stored ids without sending. */
    fh_test_step_result(t, "notify", "{\"ids\":[\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]}");
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":{}}", &r);
    ok(fh_test_replayed(&r, "notify"), "a stored send is replayed");
    ok(fh_test_ran(&r, "notify") == NULL, "and sends nothing");
    is_str(r.output, "[\"01ARZ3NDEKTSV4RRFFQ69G5FAV\"]",
           "the handler gets the stored ids");
    fh_test_result_free(&r);

    /* Bad events fail the step for good. */
    fh_test_new_run(t);
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":{\"events\":"
                             "{\"name\":\"inngest/x\"}}}", &r);
    is_int(r.status, FH_TEST_FAILED, "an event under inngest/ fails the run");
    s = fh_test_ran(&r, "notify");
    ok(s != NULL && s->final && s->events == NULL,
       "the send failed for good, sending nothing");
    has_str(r.error, "event: event name \"inngest/x\" is reserved",
            "and says why");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":{\"events\":"
                             "[{\"name\":\"a\"},{\"data\":{}}]}}", &r);
    has_str(r.error, "events[1]: \"name\" is required",
            "an event without a name is refused, by its index");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":{\"events\":"
                             "[{\"name\":\"a\",\"data\":[1]}]}}", &r);
    has_str(r.error, "\"data\" must be an object", "data must be an object");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "sender", "{\"name\":\"test/send\",\"data\":{\"events\":"
                             "\"x\"}}", &r);
    has_str(r.error, "send an event object or an array of event objects",
            "a string is not an event");
    fh_test_result_free(&r);

    fh_test_free(t);
    return done_testing();
}
