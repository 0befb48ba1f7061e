/* onboarding_emails.c - the seed's second function: a welcome email when a
 * user signs up, a pause of a few days, then a trial offer, sent over SMTP;
 * a user deleted meanwhile (clerk/user.deleted) gets no trial offer.
 * SPDX-License-Identifier: Apache-2.0
 *
 * [plugin onboarding-emails]
 * smtp_url    = smtp://127.0.0.1:25   where to hand mail (smtps:// works);
 *                                      unset: the emails go to the log, so
 *                                      `make run` works without a server
 * from        = Acme <hello@acme.test>
 * trial_delay = 3 days                 the pause between the two emails
 * product     = Acme                   used in subjects and bodies
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fnhost.h>

struct user {
    const char *id;
    const char *email;
    const char *first_name;
};

struct mail {
    const char *kind; /* "welcome" or "trial-offer" */
    const struct user *user;
};

/* A message being uploaded by libcurl. */
struct upload {
    const char *data;
    size_t len, off;
};

static const char *
primary_email(struct json_object *data)
{
    const char *primary = fh_json_str(data, "primary_email_address_id");
    struct json_object *list;

    if (primary == NULL ||
        !json_object_object_get_ex(data, "email_addresses", &list) ||
        !json_object_is_type(list, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        struct json_object *e = json_object_array_get_idx(list, i);
        const char *id = fh_json_str(e, "id");

        if (id != NULL && strcmp(id, primary) == 0)
            return fh_json_str(e, "email_address");
    }
    return NULL;
}

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nitems;

    if (n > u->len - u->off)
        n = u->len - u->off;
    memcpy(buf, u->data + u->off, n);
    u->off += n;
    return n;
}

/* The message, with CRLF line ends as SMTP wants. The Message-ID is the
 * run and step, so a receiver can tell a resent copy (a step is sent at
 * least once) from a new email. */
static char *
compose(struct fh_ctx *ctx, const struct mail *m, const char *from,
        const char *product, const char *msgid)
{
    const char *name = m->user->first_name ? m->user->first_name : "there";
    char date[64], *msg;
    time_t now = time(NULL);
    struct tm tm;
    int welcome = strcmp(m->kind, "welcome") == 0;
    size_t len;

    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    len = (size_t)snprintf(NULL, 0, "%s%s%s%s%s%s%s%s%s%s", from,
                           m->user->email, product, date, msgid, name,
                           product, product, product, product) + 512;
    msg = fh_alloc(ctx, len);
    snprintf(msg, len,
             "From: %s\r\n"
             "To: %s\r\n"
             "Subject: %s %s\r\n"
             "Date: %s\r\n"
             "Message-ID: <%s>\r\n"
             "MIME-Version: 1.0\r\n"
             "Content-Type: text/plain; charset=utf-8\r\n"
             "X-Fnhost-Email: %s\r\n"
             "\r\n"
             "Hi %s,\r\n\r\n%s%s%s\r\n",
             from, m->user->email, welcome ? "Welcome to" : "Your free trial of",
             product, date, msgid, m->kind, name,
             welcome ? "thanks for signing up for " : "you can now try all of ",
             product,
             welcome ? ". We are glad you are here."
                     : " free for 14 days. Just sign in to start.");
    return msg;
}

static int
send_mail(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    const struct mail *m = arg;
    const char *url = fh_config(ctx, "smtp_url");
    const char *from = fh_config_or(ctx, "from", "fnhost <noreply@localhost>");
    const char *product = fh_config_or(ctx, "product", "Acme");
    const char *addr_from = strchr(from, '<');
    char msgid[128], envelope_from[256];
    struct curl_slist *rcpt = NULL;
    struct upload up;
    long code = 0;
    CURL *c;
    CURLcode rc;

    snprintf(msgid, sizeof(msgid), "%s.%s@fnhost", ctx->run_id, ctx->step_id);
    /* The envelope sender is the bare address inside <...>, if any. */
    snprintf(envelope_from, sizeof(envelope_from), "%s",
             addr_from ? addr_from : from);
    up.data = compose(ctx, m, from, product, msgid);
    up.len = strlen(up.data);
    up.off = 0;
    if (url == NULL) {
        fh_log(ctx, FH_LOG_INFO, "no smtp_url in [plugin onboarding-emails]:"
                                 " the %s email to %s goes to the log: %s",
               m->kind, m->user->email, up.data);
        *result = json_object_new_object();
        json_object_object_add(*result, "to",
                               json_object_new_string(m->user->email));
        json_object_object_add(*result, "logged", json_object_new_boolean(1));
        return FH_OK;
    }

    if ((c = curl_easy_init()) == NULL)
        return fh_fail(ctx, FH_RETRY, "libcurl: cannot create a handle");
    rcpt = curl_slist_append(rcpt, m->user->email);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, envelope_from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        /* 5xx is the server saying no for good (no such mailbox); anything
         * else (4xx, no connection) may work later. */
        return fh_fail(ctx, code >= 500 ? FH_NO_RETRY : FH_RETRY,
                       "send %s email to %s via %s: %s (SMTP %ld)", m->kind,
                       m->user->email, url, curl_easy_strerror(rc), code);
    }
    fh_log(ctx, FH_LOG_INFO, "sent the %s email to %s", m->kind,
           m->user->email);
    *result = json_object_new_object();
    json_object_object_add(*result, "to",
                           json_object_new_string(m->user->email));
    json_object_object_add(*result, "message_id",
                           json_object_new_string(msgid));
    return FH_OK;
}

static int
onboarding(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct user u;
    struct mail welcome = {"welcome", &u}, trial = {"trial-offer", &u};

    u.id = fh_json_str(ev->data, "id");
    u.email = primary_email(ev->data);
    u.first_name = fh_json_str(ev->data, "first_name");
    if (u.id == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "payload has no user id");
    if (u.email == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "user %s has no primary email"
                                         " address", u.id);

    FH_STEP(ctx, "welcome-email", send_mail, &welcome);
    FH_SLEEP(ctx, "wait-3-days", fh_config_or(ctx, "trial_delay", "3 days"));
    FH_STEP(ctx, "trial-offer-email", send_mail, &trial);

    fh_set_output(ctx, json_object_new_string(u.email));
    return FH_OK;
}

static int
onboarding_load(struct fh_ctx *ctx)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fh_fail(ctx, FH_NO_RETRY, "libcurl failed to initialize");
    return FH_OK;
}

static void
onboarding_unload(struct fh_ctx *ctx)
{
    curl_global_cleanup();
}

static const struct fh_function functions[] = {
    {.id = "onboarding-emails",
     .name = "Onboarding emails",
     .run = onboarding,
     .triggers = FH_EVENTS("clerk/user.created"),
     /* A user deleted in Clerk before the offer: the run is cancelled
      * in its sleep, and no trial offer goes to an address that is gone.
      * Clerk's user.deleted carries the user's id as data.id, as
      * user.created does. */
     .opts = FH_OPTS(.cancel_on = {{.event = "clerk/user.deleted",
                                    .match = "data.id"}})},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "onboarding-emails", .version = "1.0.0",
          .functions = functions, .load = onboarding_load,
          .unload = onboarding_unload);
