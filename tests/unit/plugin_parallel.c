/* plugin_parallel.c - fh_parallel under the SDK's test harness, which runs
 * a group's branches one after the other in the invocation that reaches
 * it: the results, failures, retries and races a plugin's tests see are
 * those the host gives, without workers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and tests/plugins/parallel.c, linked with the
 * harness library. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

static char dir[] = "/tmp/fnhost-plugin-parallel.XXXXXX";

/* test/fan with data {"dir": dir, MORE}. */
static const char *
fan(const char *more)
{
    static char buf[1024];

    snprintf(buf, sizeof(buf),
             "{\"name\":\"test/fan\",\"data\":{\"dir\":\"%s\"%s%s}}", dir,
             more[0] ? "," : "", more);
    return buf;
}

/* Whether R ran step ID (was not replayed), of kind KIND. */
static int
ran(const struct fh_test_result *r, const char *id, int kind)
{
    for (size_t i = 0; i < r->nran; i++)
        if (strcmp(r->ran[i].id, id) == 0)
            return r->ran[i].kind == kind;
    return 0;
}

int
main(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());
    struct fh_test_result r;

    if (t == NULL || mkdtemp(dir) == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        return 1;
    }
    fh_test_log_level(t, -1);

    is_int(fh_test_run_all(t, "fan", fan(""), &r), 0, "a group runs");
    is_int(r.status, FH_TEST_COMPLETED, "and the run completes");
    is_str(r.output,
           "{\"results\":[{\"branch\":\"b0\",\"attempt\":0},{\"branch\":"
           "\"b1\",\"attempt\":0},{\"branch\":\"b2\",\"attempt\":0}],"
           "\"winner\":0,\"error\":null}",
           "with every branch's result, in order");
    ok(ran(&r, "b0", FH_TEST_STEP) && ran(&r, "b1", FH_TEST_STEP) &&
           ran(&r, "b2", FH_TEST_STEP),
       "each branch is listed as a step that ran");
    ok(ran(&r, "fan", FH_TEST_PARALLEL), "and the group as FH_TEST_PARALLEL");
    is_int((int)r.nran, 6, "before, three branches, the group, after");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run_all(t, "fan", fan("\"mode\":\"race\""), &r);
    is_str(r.output,
           "{\"results\":[{\"branch\":\"b0\",\"attempt\":0},null,null],"
           "\"winner\":0,\"error\":null}",
           "a race returns its first branch's result");
    ok(!ran(&r, "b1", FH_TEST_STEP) && !ran(&r, "b2", FH_TEST_STEP),
       "in the harness the others never run");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run_all(t, "fan", fan("\"fail\":\"b1\""), &r);
    is_int(r.status, FH_TEST_COMPLETED,
           "a branch that fails for good leaves the handler to decide");
    is_str(r.output,
           "{\"results\":[{\"branch\":\"b0\",\"attempt\":0},null,{\"branch\":"
           "\"b2\",\"attempt\":0}],\"winner\":0,\"error\":\"step b1: b1 fails"
           " on purpose\"}",
           "fh_parallel() says which branch failed; the others' results stay");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "fan", fan("\"flaky\":\"b2\""), &r);
    is_int(r.status, FH_TEST_RETRYING, "a branch's failed attempt retries");
    is_str(r.retry ? r.retry->id : NULL, "b2", "that branch");
    fh_test_result_free(&r);
    fh_test_run_all(t, "fan", fan("\"flaky\":\"b2\""), &r);
    has_str(r.output, "{\"branch\":\"b2\",\"attempt\":1}",
            "and succeeds on its next attempt");
    ok(fh_test_replayed(&r, "b0") && fh_test_replayed(&r, "b1"),
       "the branches stored before are replayed, not run again");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_step_result(t, "b1", "\"stored\"");
    fh_test_run_all(t, "fan", fan(""), &r);
    has_str(r.output, "\"stored\"", "a stored branch returns its result");
    ok(!ran(&r, "b1", FH_TEST_STEP), "without running");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run_all(t, "fan-twice", "{\"name\":\"test/fan-twice\"}", &r);
    is_str(r.output, "[\"x\",\"y\",\"x:1\",\"y:1\"]",
           "two groups in a row, their branch ids counted as steps'");
    fh_test_result_free(&r);

    fh_test_new_run(t);
    fh_test_run(t, "fan-bad",
                "{\"name\":\"test/fan-bad\",\"data\":{\"case\":\"zero\"}}", &r);
    has_str(r.output, "fh_parallel \\\"bad\\\": 0 branches; a group has 1 to"
                      " 100", "no branches: FH_ERR, saying so");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "fan-bad",
                "{\"name\":\"test/fan-bad\",\"data\":{\"case\":\"nofn\"}}", &r);
    has_str(r.output, "branch \\\"a\\\" needs a function",
            "a branch without a function: FH_ERR, naming it");
    fh_test_result_free(&r);
    fh_test_new_run(t);
    fh_test_run(t, "fan-bad",
                "{\"name\":\"test/fan-bad\",\"data\":{\"case\":\"bigmode\"}}",
                &r);
    has_str(r.output, "mode 7 is neither", "an unknown mode: FH_ERR");
    fh_test_result_free(&r);

    fh_test_free(t);
    {
        char cmd[256];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        (void)!system(cmd);
    }
    return done_testing();
}
