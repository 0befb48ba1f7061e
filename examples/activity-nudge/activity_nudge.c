/* activity_nudge.c - example: a nudge email to a new user who has not been
 * seen within a day of signing up, with a wait for an event.
 * SPDX-License-Identifier: Apache-2.0
 *
 * On app/user.signed_up ({"data": {"id", "email", "name"}}) the run waits,
 * holding no worker, for app/user.seen with the same data.id (your app
 * sends it when the user signs in or does anything). Seen in time: done.
 * Not seen: one nudge email, POSTed as JSON to an email API by the host
 * (a durable fetch: made once its request is stored, retried on 5xx).
 *
 * [plugin activity-nudge]
 * seen_within = 1 day               how long to wait for app/user.seen
 * email_api   = https://...         where to POST {"from", "to", "subject",
 *                                    "text"}; unset: the nudge goes to the
 *                                    log, so it runs without a server
 * email_auth  = Bearer xyz          its Authorization header, if any
 * from        = Acme <hello@acme.test>
 */
#include <stdio.h>
#include <string.h>

#include <fnhost.h>

struct nudge {
    const char *to;
    const char *name;
};

/* The nudge's text, as a JSON body for the email API (new). */
static struct json_object *
nudge_body(struct fh_ctx *ctx, const struct nudge *n)
{
    struct json_object *b = json_object_new_object();
    char text[512];

    snprintf(text, sizeof(text),
             "Hi %s,\n\nyou signed up yesterday but have not been back."
             " Your account is ready whenever you are.\n",
             n->name != NULL ? n->name : "there");
    json_object_object_add(b, "from", json_object_new_string(fh_config_or(
                                          ctx, "from", "Acme <hello@acme.test>")));
    json_object_object_add(b, "to", json_object_new_string(n->to));
    json_object_object_add(b, "subject",
                           json_object_new_string("Still there?"));
    json_object_object_add(b, "text", json_object_new_string(text));
    return b;
}

/* Without an email API: the nudge goes to the log, as a step, so that a
 * replay logs it once. */
static int
log_nudge(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct json_object *b = nudge_body(ctx, arg);

    fh_log(ctx, FH_LOG_INFO, "no email_api in [plugin activity-nudge]: the"
                             " nudge goes to the log: %s",
           json_object_to_json_string_ext(b, JSON_C_TO_STRING_PLAIN));
    *result = b;
    return FH_OK;
}

static int
nudge_inactive(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *api = fh_config(ctx, "email_api");
    const char *auth = fh_config(ctx, "email_auth");
    struct nudge n = {fh_json_str(ev->data, "email"),
                      fh_json_str(ev->data, "name")};
    struct json_object *seen = NULL, *resp = NULL, *body;
    char header[512];
    int64_t status = 0;
    int rc;

    if (fh_json_str(ev->data, "id") == NULL || n.to == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "app/user.signed_up needs data.id"
                                         " and data.email");

    /* Suspends until app/user.seen for this user, or the timeout; an
     * event sent a little before the wait began counts too. */
    FH_WAIT_FOR_EVENT(ctx, "wait-for-activity", &seen,
                      .event = "app/user.seen", .match = "data.id",
                      .timeout = fh_config_or(ctx, "seen_within", "1 day"),
                      .lookback = "10m");
    if (seen != NULL) {
        fh_set_output(ctx, json_object_new_string("seen"));
        return FH_OK;
    }

    if (api == NULL) {
        FH_STEP(ctx, "nudge-email", log_nudge, &n);
    } else {
        const char *headers[] = {"Content-Type: application/json",
                                 auth != NULL ? header : NULL, NULL};

        snprintf(header, sizeof(header), "Authorization: %s",
                 auth != NULL ? auth : "");
        /* The body must live until fh_fetch() returns, and FH_FETCH()
         * may return from the handler: the call is made by hand. */
        body = nudge_body(ctx, &n);
        rc = fh_fetch(ctx, "nudge-email",
                      FH_FETCH_REQ(.method = "POST", .url = api,
                                   .headers = headers,
                                   .body = json_object_to_json_string_ext(
                                       body, JSON_C_TO_STRING_PLAIN)),
                      &resp);
        json_object_put(body);
        if (rc != FH_OK)
            return rc;
        /* 5xx and 429 were retried by the host; anything else is the
         * API's answer. */
        fh_json_int(resp, "status", &status);
        if (status >= 400)
            return fh_fail(ctx, FH_NO_RETRY, "the email API answered %d: %s",
                           (int)status, fh_json_str(resp, "body"));
    }
    fh_set_output(ctx, json_object_new_string("nudged"));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "nudge-inactive-user",
     .name = "Nudge users not seen within a day",
     .run = nudge_inactive,
     .triggers = FH_EVENTS("app/user.signed_up")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "activity-nudge", .version = "1.0.0",
          .functions = functions);
