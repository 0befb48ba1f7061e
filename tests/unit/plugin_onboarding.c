/* plugin_onboarding.c - the onboarding-emails plugin under the SDK's test
 * harness: its steps, its sleep, replays of a resumed run, retries.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built from this file and plugins/onboarding-emails/onboarding_emails.c,
 * linked with the harness library. Without smtp_url the plugin writes its emails to the
 * log, which the harness records. */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fnhost_test.h"
#include "tap.h"

const struct fh_plugin *fh_plugin_entry(void);

#define FN "onboarding-emails"
#define DAY_MS 86400000LL

static const char ada[] =
    "{\"name\":\"clerk/user.created\",\"id\":\"evt_ada\",\"data\":{"
    "\"id\":\"user_ada\",\"object\":\"user\",\"first_name\":\"Ada\","
    "\"email_addresses\":[{\"id\":\"idn_1\","
    "\"email_address\":\"ada@example.org\"}],"
    "\"primary_email_address_id\":\"idn_1\"}}";

static struct fh_test *
harness(void)
{
    struct fh_test *t = fh_test_new(fh_plugin_entry());

    if (t == NULL) {
        printf("Bail out! the harness refused the plugin\n");
        exit(1);
    }
    fh_test_log_level(t, -1); /* the emails are long; results keep them */
    return t;
}

/* The ids in R's ran list, joined with commas. */
static const char *
ran_ids(const struct fh_test_result *r)
{
    static char buf[512];
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < r->nran && off < sizeof(buf); i++)
        off += (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s",
                                i ? "," : "", r->ran[i].id);
    return buf;
}

static void
test_whole_run(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;
    const struct fh_test_step *s;
    char msgid[128];
    long long t0 = (long long)time(NULL) * 1000 - 1000, t1;

    ok(fh_test_check(fh_plugin_entry(), msgid, sizeof(msgid)) == 0,
       "the descriptor passes the host's checks");
    is_int(fh_test_run_all(t, FN, ada, &r), 0, "run_all runs the function");
    t1 = (long long)time(NULL) * 1000 + 1000;
    is_int(r.status, FH_TEST_COMPLETED, "the run completes");
    is_str(r.output, "\"ada@example.org\"", "its output is the address");
    is_str(ran_ids(&r), "welcome-email,wait-3-days,trial-offer-email",
           "welcome email, the sleep, then the trial offer");
    is_int(r.invocations, 2, "in two invocations: before and after the sleep");
    is_int(r.nran, 3, "each step ran once");

    s = fh_test_ran(&r, "welcome-email");
    is_int(s->kind, FH_TEST_STEP, "welcome-email is a step");
    is_str(s->result, "{\"to\":\"ada@example.org\",\"logged\":true}",
           "whose result says the email went to the log");
    is_int(s->invocation, 0, "in the first invocation");
    s = fh_test_ran(&r, "wait-3-days");
    is_int(s->kind, FH_TEST_SLEEP, "wait-3-days is a sleep");
    is_str(s->duration, "3 days", "of \"3 days\"");
    is_int(s->sleep_ms, 3 * DAY_MS, "which is three days of ms");
    ok(s->wake_at >= t0 + 3 * DAY_MS && s->wake_at <= t1 + 3 * DAY_MS,
       "waking three days after it began");
    s = fh_test_ran(&r, "trial-offer-email");
    is_int(s->invocation, 1, "the trial offer is sent after the sleep");
    is_int(r.nreplayed, 2, "the last invocation replayed two steps");
    ok(fh_test_replayed(&r, "welcome-email") &&
           fh_test_replayed(&r, "wait-3-days"),
       "the welcome email and the sleep");

    has_str(fh_test_logged(&r, "the welcome email"),
            "Subject: Welcome to Acme", "the welcome email is logged");
    has_str(fh_test_logged(&r, "the welcome email"), "Hi Ada,",
            "greeting the user by name");
    snprintf(msgid, sizeof(msgid), "Message-ID: <%s.welcome-email@fnhost>",
             r.run_id);
    has_str(fh_test_logged(&r, "the welcome email"), msgid,
            "its Message-ID is the run's id and the step's");
    has_str(fh_test_logged(&r, "the trial-offer email"),
            "Subject: Your free trial of Acme", "so is the trial offer");
    is_int(r.nlog, 2, "two lines logged, one per email");
    fh_test_result_free(&r);
    fh_test_free(t);
}

static void
test_config(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;
    const struct fh_test_step *s;

    fh_test_config(t, "trial_delay", "1h30m");
    fh_test_config(t, "product", "Widgets");
    fh_test_config(t, "from", "Widgets <hello@widgets.test>");
    fh_test_run_all(t, FN, ada, &r);
    is_int(r.status, FH_TEST_COMPLETED, "with config set, the run completes");
    s = fh_test_ran(&r, "wait-3-days");
    is_str(s ? s->duration : NULL, "1h30m",
           "trial_delay sets the sleep's duration");
    is_int(s ? s->sleep_ms : 0, 5400000, "to an hour and a half");
    has_str(fh_test_logged(&r, "trial-offer"), "Your free trial of Widgets",
            "product names the product");
    has_str(fh_test_logged(&r, "trial-offer"),
            "From: Widgets <hello@widgets.test>", "from is the sender");
    fh_test_result_free(&r);

    fh_test_config(t, "trial_delay", "3 dayz");
    fh_test_run_all(t, FN, ada, &r);
    is_int(r.status, FH_TEST_FAILED, "a trial_delay that does not parse fails"
                                     " the run");
    is_str(r.error, "sleep \"wait-3-days\": invalid duration \"3 dayz\":"
                    " unknown unit \"dayz\"", "with the host's words");
    is_int(r.no_retry, 1, "without retry");
    is_str(ran_ids(&r), "welcome-email,wait-3-days",
           "after the welcome email");
    is_int(r.invocations, 1, "in one invocation");
    fh_test_result_free(&r);
    fh_test_free(t);
}

/* A run resumed with stored steps: what is stored is replayed, not run. */
static void
test_replay(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;

    is_int(fh_test_step_result(t, "welcome-email",
                               "{\"to\":\"ada@example.org\",\"canned\":1}"),
           0, "a canned result for welcome-email");
    is_int(fh_test_run(t, FN, ada, &r), 0, "one invocation");
    ok(fh_test_replayed(&r, "welcome-email"), "replays welcome-email");
    ok(fh_test_ran(&r, "welcome-email") == NULL, "and does not run it");
    ok(fh_test_logged(&r, "welcome email") == NULL, "no welcome email is sent");
    is_int(r.status, FH_TEST_SLEEPING, "the handler suspends at the sleep");
    is_int(r.rc, FH_SUSPENDED, "returning FH_SUSPENDED");
    is_str(r.sleep ? r.sleep->id : NULL, "wait-3-days", "on wait-3-days");
    is_str(r.sleep ? r.sleep->duration : NULL, "3 days", "of 3 days");
    is_str(r.output, NULL, "no output yet");
    fh_test_result_free(&r);

    /* The next invocation comes when the sleep is over. */
    fh_test_run(t, FN, ada, &r);
    is_int(r.status, FH_TEST_COMPLETED, "the next invocation completes");
    is_str(ran_ids(&r), "trial-offer-email", "running only the trial offer");
    ok(fh_test_replayed(&r, "welcome-email") &&
           fh_test_replayed(&r, "wait-3-days"),
       "replaying the welcome email and the sleep");
    fh_test_result_free(&r);

    /* A new run, resumed after its sleep. */
    fh_test_new_run(t);
    fh_test_step_result(t, "welcome-email", "{\"to\":\"ada@example.org\"}");
    fh_test_step_result(t, "wait-3-days", NULL);
    is_int(fh_test_run(t, FN, ada, &r), 0, "with welcome-email and"
                                           " wait-3-days stored");
    is_int(r.status, FH_TEST_COMPLETED, "one invocation completes the run");
    is_str(ran_ids(&r), "trial-offer-email", "sending only the trial offer");
    has_str(fh_test_logged(&r, "email"), "trial-offer email to"
                                         " ada@example.org",
            "which is logged");
    ok(fh_test_logged(&r, "the welcome email") == NULL,
       "and not the welcome email");
    fh_test_result_free(&r);

    /* A welcome email that failed for good fails the run with its error. */
    fh_test_step_error(t, "welcome-email", "mailbox unavailable");
    fh_test_run(t, FN, ada, &r);
    is_int(r.status, FH_TEST_FAILED, "a stored failure of welcome-email"
                                     " fails the run");
    is_int(r.rc, FH_ERR, "FH_STEP returned its FH_ERR");
    is_str(r.error, "mailbox unavailable", "with the step's error");
    is_int(r.no_retry, 1, "not retried");
    is_int(r.nran, 0, "nothing ran");
    fh_test_result_free(&r);

    is_int(fh_test_step_result(t, "welcome-email", "{nope"), -1,
           "a canned result must be JSON");
    has_str(fh_test_error(t), "welcome-email: the result is not JSON",
            "and the error says so");
    fh_test_free(t);
}

static int mock_calls;

/* Fails its first attempt, asking for a 5 s delay; then succeeds. */
static int
flaky_send(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    mock_calls++;
    if (ctx->attempt == 0) {
        fh_retry_after(ctx, 5000);
        return fh_fail(ctx, FH_RETRY, "SMTP 451: try again later");
    }
    *result = json_object_new_string(arg);
    return FH_OK;
}

static void
test_retries(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    char url[64];
    int fd;

    fh_test_mock_step(t, "welcome-email", flaky_send, "mocked");
    fh_test_run(t, FN, ada, &r);
    is_int(r.status, FH_TEST_RETRYING, "a step that fails is retried");
    is_int(r.rc, FH_SUSPENDED, "the handler got FH_SUSPENDED");
    is_str(r.retry ? r.retry->id : NULL, "welcome-email", "for welcome-email");
    is_str(r.error, "SMTP 451: try again later", "with the step's error");
    is_int(r.retry_after_ms, 5000, "after the delay the step asked for");
    is_int(r.retry ? r.retry->final : -1, 0, "the failure is not final");
    fh_test_result_free(&r);
    fh_test_run(t, FN, ada, &r);
    is_int(r.status, FH_TEST_SLEEPING, "attempt 1 succeeds, and the run sleeps");
    is_str(fh_test_ran(&r, "welcome-email")->result, "\"mocked\"",
           "the mock's result is the step's");
    is_int(fh_test_ran(&r, "welcome-email")->attempt, 1, "on attempt 1");
    fh_test_result_free(&r);
    fh_test_run(t, FN, ada, &r);
    is_int(r.status, FH_TEST_COMPLETED, "then the run completes");
    is_int(mock_calls, 2, "the mock ran twice");
    fh_test_result_free(&r);

    fh_test_mock_step(t, "welcome-email", NULL, NULL);
    mock_calls = 0;
    fh_test_new_run(t);
    fh_test_mock_step(t, "trial-offer-email", flaky_send, "offer");
    fh_test_run_all(t, FN, ada, &r);
    is_int(r.status, FH_TEST_COMPLETED, "run_all retries a failing step");
    is_str(ran_ids(&r), "welcome-email,wait-3-days,trial-offer-email,"
                        "trial-offer-email", "trial-offer-email ran twice");
    is_int(r.invocations, 3, "in three invocations");
    ok(fh_test_logged(&r, "the welcome email") != NULL,
       "the unmocked welcome email went to the log");
    fh_test_result_free(&r);
    fh_test_mock_step(t, "trial-offer-email", NULL, NULL);

    /* A real SMTP failure: a port where nothing listens refuses at once. */
    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        printf("Bail out! no loopback socket\n");
        exit(1);
    }
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", ntohs(sa.sin_port));
    fh_test_config(t, "smtp_url", url);
    fh_test_max_attempts(t, 3);
    fh_test_new_run(t);
    fh_test_run_all(t, FN, ada, &r);
    is_int(r.status, FH_TEST_FAILED, "an SMTP server that refuses fails the"
                                     " run after max_attempts");
    is_str(ran_ids(&r), "welcome-email,welcome-email,welcome-email",
           "welcome-email ran three times");
    ok(r.nran == 3 && r.ran[0].final == 0 && r.ran[1].final == 0 &&
           r.ran[2].final == 1 && r.ran[2].attempt == 2,
       "the third attempt's failure is final");
    has_str(r.error, "send welcome email to ada@example.org via smtp://",
            "the run's error is the step's");
    has_str(r.error, "(SMTP 0)", "with the SMTP code");
    is_int(r.max_attempts, 3, "max_attempts was 3");
    fh_test_result_free(&r);
    close(fd);
    fh_test_free(t);
}

static void
test_bad_payload(void)
{
    struct fh_test *t = harness();
    struct fh_test_result r;

    fh_test_run(t, FN,
                "{\"name\":\"clerk/user.created\",\"data\":{\"id\":\"u1\"}}",
                &r);
    is_int(r.status, FH_TEST_FAILED, "a user without an email fails at once");
    is_str(r.error, "user u1 has no primary email address", "and says why");
    is_int(r.no_retry, 1, "without retry");
    is_int(r.nran, 0, "before any step");
    fh_test_result_free(&r);
    fh_test_free(t);
}

/* A user deleted before the offer: the function's cancel_on names
 * clerk/user.deleted with the same data.id, and a run cancelled after its
 * welcome email (the host cancels it in its sleep) sends no offer. */
static void
test_deleted_user(void)
{
    struct fh_test *t = harness();
    const struct fh_function *f = fh_plugin_entry()->functions;
    const struct fh_cancel_on *c = &f->opts->cancel_on[0];
    struct fh_test_result r;

    is_str(c->event, "clerk/user.deleted", "cancelled by clerk/user.deleted");
    is_str(c->match, "data.id", "for the same user id");
    ok(f->opts->cancel_on[1].event == NULL, "and nothing else");
    fh_test_cancel_at(t, "welcome-email");
    fh_test_run_all(t, FN, ada, &r);
    is_int(r.status, FH_TEST_CANCELLED, "a run cancelled after its welcome"
                                        " email ends cancelled");
    is_str(ran_ids(&r), "welcome-email", "and sends no trial offer");
    fh_test_result_free(&r);
    fh_test_free(t);
}

int
main(void)
{
    test_whole_run();
    test_config();
    test_replay();
    test_retries();
    test_bad_payload();
    test_deleted_user();
    return done_testing();
}
