/* plugin_batch.c - batches under the SDK's test harness: the batch
 * fixture (tests/plugins/batch.c) runs with a list of events, reads them
 * with fh_events() and fh_event_at(), and sees the same ones when it
 * resumes after a sleep, with no daemon.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/batch.c, linked with the harness
 * library (build/libfnhost_test.a). */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

/* The value at PATH of the output of R, as compact JSON (static). */
static const char *
out_at(const struct fh_test_result *r, const char *path)
{
    static char buf[512];
    struct json_object *o = r->output ? json_tokener_parse(r->output) : NULL;
    struct json_object *v = NULL;

    if (o != NULL)
        json_object_object_get_ex(o, path, &v);
    snprintf(buf, sizeof(buf), "%s",
             v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
               : "(none)");
    json_object_put(o);
    return buf;
}

static void
test_batch(struct fh_test *t)
{
    struct fh_test_result r;

    is_int(fh_test_run(t, "bt-size",
                       "[{\"name\":\"test/bt\",\"data\":{\"n\":1}},"
                       " {\"name\":\"test/bt\",\"data\":{\"n\":2}},"
                       " {\"name\":\"test/bt\",\"data\":{\"n\":3}}]", &r),
           0, "a handler runs with a batch of three");
    is_int(r.status, FH_TEST_COMPLETED, "and completes");
    is_str(out_at(&r, "n"), "[1,2,3]", "it reads the three, in order");
    is_str(out_at(&r, "count"), "3", "fh_events() counts them");
    is_str(out_at(&r, "first"), "true", "ev is fh_event_at(ctx, 0)");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "bt-size", "{\"name\":\"test/bt\",\"data\":{\"n\":7}}",
                &r);
    is_str(out_at(&r, "n"), "[7]", "one event is a run of one event");
    is_str(out_at(&r, "count"), "1", "fh_events() is 1 then");
    fh_test_result_free(&r);
}

static void
test_refused(struct fh_test *t)
{
    struct fh_test_result r;

    fh_test_new_run(t);
    is_int(fh_test_run(t, "bt-size",
                       "[{\"name\":\"test/bt\"},{\"name\":\"test/bt\"},"
                       "{\"name\":\"test/bt\"},{\"name\":\"test/bt\"}]", &r),
           -1, "a batch past max_size is refused");
    ok(r.error != NULL && strstr(r.error, "batch.max_size (3)") != NULL,
       "saying why (%s)", r.error ? r.error : "none");
    fh_test_result_free(&r);
    is_int(fh_test_run(t, "bt-size", "[]", &r), -1,
           "an empty batch is refused");
    fh_test_result_free(&r);
    is_int(fh_test_run(t, "bt-size",
                       "[{\"name\":\"test/bt\"},{\"name\":\"test/other\"}]",
                       &r),
           -1, "so is an event that does not trigger the function");
    fh_test_result_free(&r);
}

static void
test_resume(struct fh_test *t)
{
    struct fh_test_result r;

    fh_test_new_run(t);
    is_int(fh_test_run_all(t, "bt-nap",
                           "[{\"name\":\"test/bt-nap\",\"data\":{\"n\":4}},"
                           " {\"name\":\"test/bt-nap\",\"data\":{\"n\":5}}]",
                           &r),
           0, "a batch's run that sleeps runs to its end");
    is_int(r.status, FH_TEST_COMPLETED, "it completes");
    is_str(out_at(&r, "before"), "2", "it counted two events before");
    is_str(out_at(&r, "n"), "[4,5]", "and reads the same two after");
    fh_test_result_free(&r);
}

int
main(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    ok(t != NULL, "the batch fixture passes the checks");
    if (t == NULL)
        return done_testing();
    fh_test_log_level(t, -1);
    test_batch(t);
    test_refused(t);
    test_resume(t);
    fh_test_free(t);
    return done_testing();
}
