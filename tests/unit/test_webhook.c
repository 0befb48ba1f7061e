/* test_webhook.c - unit tests for webhook sources: the providers table's
 * defaults (by name, by scheme, as set) and each transform's event.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "tap.h"
#include "webhook.h"

#define NOW_S 1700000000LL

/* The signed headers of one delivery, "name: value\n" lines. */
static char headers[2048];

static const char *
header_cb(void *arg, const char *name)
{
    /* The verifier holds on to several values at once. */
    static char values[8][512];
    static int next;
    char *value = values[next++ % 8];
    size_t n = strlen(name);

    for (const char *l = headers; *l != '\0'; l += strcspn(l, "\n") + 1) {
        if (strncmp(l, name, n) == 0 && l[n] == ':') {
            snprintf(value, sizeof(values[0]), "%.*s",
                     (int)strcspn(l + n + 2, "\n"), l + n + 2);
            return value;
        }
        if (l[strcspn(l, "\n")] == '\0')
            break;
    }
    return NULL;
}

/* Delivers BODY to SRC, signed as its scheme says, with EXTRA header
 * lines; returns the event's name ("" if refused) and its data in *DATA
 * (new, or NULL). */
static const char *
deliver(const struct webhook_source *src, const char *body,
        const char *extra, struct json_object **data)
{
    static char name[256];
    struct json_object *ev = NULL, *v;
    const char *why;
    char err[512];
    int status;

    sig_sign(src->scheme, &src->secrets[0], "msg_1", NOW_S, body,
             strlen(body), headers, sizeof(headers));
    strncat(headers, extra, sizeof(headers) - strlen(headers) - 1);
    status = webhook_event(src, header_cb, NULL, body, strlen(body),
                           NOW_S * 1000, &ev, &why, err, sizeof(err));
    name[0] = '\0';
    *data = NULL;
    if (status != 200) {
        printf("#   %d: %s\n", status, err);
        return name;
    }
    if (json_object_object_get_ex(ev, "name", &v))
        snprintf(name, sizeof(name), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(ev, "data", &v))
        *data = json_object_get(v);
    json_object_put(ev);
    return name;
}

static void
set(struct config *c, const char *name, const char *key, const char *value)
{
    char err[256];

    if (config_set_webhook(c, name, key, value, err, sizeof(err)) != 0)
        printf("#   [webhook %s] %s: %s\n", name, key, err);
}

int
main(void)
{
    struct config c;
    struct webhooks w;
    struct json_object *data;
    char err[512];
    const char *clerk = "{\"type\": \"user.created\", \"data\": {\"id\":"
                        " \"u1\"}, \"timestamp\": 1700000000123}";
    const char *typed = "{\"type\": \"charge.succeeded\", \"kind\":"
                        " \"order.paid\", \"id\": \"evt_1\"}";

    config_init(&c);
    set(&c, "clerk", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    set(&c, "stripe", "secret", "whsec_stripe");
    set(&c, "github", "secret", "gh secret");
    set(&c, "acme", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    set(&c, "acme", "type_field", "kind");
    set(&c, "shop", "secret", "whsec_shop");
    set(&c, "shop", "scheme", "stripe");
    set(&c, "hub", "secret", "gh secret");
    set(&c, "hub", "scheme", "github");
    set(&c, "hub", "transform", "generic");
    set(&c, "hub", "prefix", "mine");
    is_int(webhooks_init(&w, &c, err, sizeof(err)), 0, "the sources load");

    /* A source named like a provider gets its scheme and transform. */
    is_int(webhooks_find(&w, "clerk")->scheme, SIG_STANDARD,
           "clerk: Standard Webhooks");
    is_str(deliver(webhooks_find(&w, "clerk"), clerk, "", &data),
           "clerk/user.created", "clerk: clerk/ + the payload's type");
    is_str(json_object_to_json_string(data), "{ \"id\": \"u1\" }",
           "clerk: the data is the payload's data");
    json_object_put(data);
    is_int(webhooks_find(&w, "stripe")->scheme, SIG_STRIPE,
           "stripe: Stripe's scheme");
    is_str(deliver(webhooks_find(&w, "stripe"), typed, "", &data),
           "stripe/charge.succeeded", "stripe: stripe/ + the type");
    json_object_put(data);
    is_int(webhooks_find(&w, "github")->scheme, SIG_GITHUB,
           "github: GitHub's scheme");
    is_str(deliver(webhooks_find(&w, "github"), typed,
                   "x-github-event: push\n", &data),
           "github/push", "github: the type is the x-github-event header");
    json_object_put(data);

    /* Any other name: Standard Webhooks, generic, its own name as the
     * prefix; or the transform of the scheme it sets. */
    is_int(webhooks_find(&w, "acme")->scheme, SIG_STANDARD,
           "another name: Standard Webhooks");
    is_str(deliver(webhooks_find(&w, "acme"), typed, "", &data),
           "acme/order.paid", "and generic: NAME/ + its type_field");
    json_object_put(data);
    is_str(deliver(webhooks_find(&w, "shop"), typed, "", &data),
           "stripe/charge.succeeded",
           "scheme = stripe brings Stripe's transform and prefix");
    json_object_put(data);
    is_str(deliver(webhooks_find(&w, "hub"), typed,
                   "x-github-event: push\n", &data),
           "mine/charge.succeeded",
           "a transform and prefix that are set win");
    json_object_put(data);
    webhooks_fini(&w);
    config_free(&c);

    /* Named like a provider that owns a scheme, but set to another
     * scheme: the transform goes with the scheme, as it did before the
     * providers became a table; clerk stays clerk's. */
    config_init(&c);
    set(&c, "github", "secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    set(&c, "github", "scheme", "standard-webhooks");
    set(&c, "stripe", "secret", "gh secret");
    set(&c, "stripe", "scheme", "github");
    set(&c, "clerk", "secret", "gh secret");
    set(&c, "clerk", "scheme", "github");
    is_int(webhooks_init(&w, &c, err, sizeof(err)), 0,
           "providers' names with other schemes load");
    is_str(deliver(webhooks_find(&w, "github"), typed,
                   "x-github-event: push\n", &data),
           "github/charge.succeeded",
           "[webhook github] on Standard Webhooks: generic, by type");
    json_object_put(data);
    is_str(deliver(webhooks_find(&w, "stripe"), typed,
                   "x-github-event: push\n", &data),
           "github/push", "[webhook stripe] on GitHub's scheme: github's");
    json_object_put(data);
    is_str(deliver(webhooks_find(&w, "clerk"), clerk,
                   "x-github-event: push\n", &data),
           "clerk/user.created", "[webhook clerk] on any scheme: clerk's");
    json_object_put(data);
    webhooks_fini(&w);
    config_free(&c);

    config_init(&c);
    set(&c, "x", "secret", "whsec_x");
    set(&c, "x", "transform", "svix");
    is_int(webhooks_init(&w, &c, err, sizeof(err)), -1,
           "an unknown transform is refused");
    has_str(err, "unknown transform \"svix\" (clerk, stripe, github or"
                 " generic)", "naming the providers of the table");
    config_free(&c);
    return done_testing();
}
