/* plugin_fetcher.c - fh_fetch under the SDK's test harness: mocks by step
 * name and by URL, the request as the host stores it, the replay, a
 * mocked failure, and a fetch without a mock.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/fetcher.c, linked with the
 * harness library, as a plugin's own tests are. */
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
    struct json_object *out, *req;
    int64_t n;

    /* A mock by step name: the run suspends, then replays the response. */
    ok(fh_test_mock_fetch(t, "call", "{\"status\":201,\"headers\":"
                                     "{\"x-a\":\"1\"},\"body\":\"hi\"}") == 0,
       "a mock by step name");
    fh_test_run(t, "fetcher",
                "{\"name\":\"test/fetch\",\"data\":{\"url\":"
                "\"https://api.example.com/c/1\",\"method\":\"PUT\","
                "\"headers\":[\"Authorization: Bearer x\"],\"body\":\"b\"}}",
                &r);
    is_int(r.status, FH_TEST_FETCHING, "the first invocation suspends on"
                                       " the fetch");
    ok(r.fetch != NULL && r.fetch->kind == FH_TEST_FETCH,
       "listed as FH_TEST_FETCH");
    req = json_tokener_parse(r.fetch ? r.fetch->request : "null");
    is_str(fh_json_str(req, "method"), "PUT", "the request has its method");
    is_str(fh_json_str(req, "url"), "https://api.example.com/c/1", "its URL");
    is_str(fh_json_str(req, "headers.0"), "Authorization: Bearer x",
           "its headers");
    is_str(fh_json_str(req, "body"), "b", "its body");
    ok(fh_json_int(req, "timeout_ms", &n) == 0 && n == 30000,
       "and the default timeout, 30 s");
    json_object_put(req);
    fh_test_result_free(&r);
    fh_test_run(t, "fetcher",
                "{\"name\":\"test/fetch\",\"data\":{\"url\":"
                "\"https://api.example.com/c/1\",\"method\":\"PUT\","
                "\"headers\":[\"Authorization: Bearer x\"],\"body\":\"b\"}}",
                &r);
    is_int(r.status, FH_TEST_COMPLETED, "the next one completes");
    ok(fh_test_replayed(&r, "call"), "replaying the fetch");
    out = json_tokener_parse(r.output ? r.output : "null");
    ok(fh_json_int(out, "response.status", &n) == 0 && n == 201,
       "the handler got the mock's status");
    is_str(fh_json_str(out, "response.headers.x-a"), "1", "its headers");
    is_str(fh_json_str(out, "response.body"), "hi", "and its body");
    json_object_put(out);
    fh_test_result_free(&r);

    /* A mock by URL, with the defaults filled in; run_all goes through. */
    fh_test_new_run(t);
    fh_test_mock_fetch(t, "call", NULL);
    ok(fh_test_mock_fetch(t, "https://api.example.com/u", "{\"status\":404}")
           == 0, "a mock by URL");
    is_int(fh_test_run_all(t, "fetcher",
                           "{\"name\":\"test/fetch\",\"data\":"
                           "{\"url\":\"https://api.example.com/u\","
                           "\"twice\":true}}",
                           &r),
           0, "fh_test_run_all runs a run that fetches twice");
    is_int(r.status, FH_TEST_COMPLETED, "to its end");
    is_int(r.invocations, 3, "in three invocations");
    is_str(r.output, "{\"response\":{\"status\":404,\"headers\":{},"
                     "\"body\":\"\"},\"again\":{\"status\":404,\"headers\":{},"
                     "\"body\":\"\"}}",
           "a 404 is a response, with headers {} and body \"\"");
    fh_test_result_free(&r);

    /* A mocked failure: the step fails for good, as the host's does. */
    fh_test_new_run(t);
    ok(fh_test_mock_fetch_error(t, "call", "GET x: HTTP 503") == 0,
       "a mocked failure");
    fh_test_run_all(t, "fetcher",
                    "{\"name\":\"test/fetch\",\"data\":"
                    "{\"url\":\"https://api.example.com/u\"}}", &r);
    is_int(r.status, FH_TEST_FAILED, "fails the run");
    is_str(r.error, "GET x: HTTP 503", "with the error");
    s = fh_test_ran(&r, "call");
    ok(s != NULL && s->final, "the fetch failed for good");
    fh_test_result_free(&r);

    /* No mock: the harness refuses, and says which fetch. */
    fh_test_new_run(t);
    fh_test_mock_fetch(t, "call", NULL);
    is_int(fh_test_run(t, "fetcher",
                       "{\"name\":\"test/fetch\",\"data\":"
                       "{\"url\":\"https://nowhere.example/x\"}}",
                       &r),
           -1, "a fetch without a mock fails the harness run");
    is_int(r.status, FH_TEST_NOT_RUN, "as not run");
    has_str(r.error, "fetch \"call\" (GET https://nowhere.example/x) has no"
                     " mock", "naming the fetch and its URL");
    has_str(fh_test_error(t), "fh_test_mock_fetch()", "and how to give one");
    fh_test_result_free(&r);

    /* A bad request fails for good before any mock is looked at. */
    fh_test_new_run(t);
    fh_test_run(t, "fetcher",
                "{\"name\":\"test/fetch\",\"data\":{\"url\":\"ftp://x\"}}", &r);
    is_int(r.status, FH_TEST_FAILED, "a request for ftp:// fails the run");
    has_str(r.error, "not http:// or https://", "saying why");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "fetcher",
                "{\"name\":\"test/fetch\",\"data\":{\"url\":\"http://x\","
                "\"headers\":[\"X: a\\r\\nY: b\"]}}", &r);
    has_str(r.error, "header 1 holds a line break",
            "a header that would smuggle in another is refused");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "fetcher",
                "{\"name\":\"test/fetch\",\"data\":{\"url\":\"http://x\","
                "\"timeout\":\"soon\"}}", &r);
    has_str(r.error, "timeout \"soon\"", "so is a timeout that does not parse");
    fh_test_result_free(&r);

    ok(fh_test_mock_fetch(t, "x", "{\"body\":\"no status\"}") == -1,
       "a mock needs a status");
    fh_test_free(t);
    return done_testing();
}
