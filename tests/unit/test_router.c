/* test_router.c - unit tests for trigger matching and trigger validation.
 * SPDX-License-Identifier: Apache-2.0 */
#include <string.h>

#include "loader.h"
#include "registry.h"
#include "tap.h"

static void
matches(const char *t, const char *name, int want)
{
    ok(!!router_match(t, name) == want, "\"%s\" %s \"%s\"", t,
       want ? "matches" : "does not match", name);
}

static void
accepted_as(const char *label, const char *t)
{
    char err[256] = "";
    int rc = loader_check_trigger(t, err, sizeof(err));

    is_int(rc, 0, "trigger %s is accepted", label);
    if (rc != 0)
        printf("#   error: %s\n", err);
}

static void
accepted(const char *t)
{
    char label[300];

    snprintf(label, sizeof(label), "\"%s\"", t);
    accepted_as(label, t);
}

static void
refused(const char *label, const char *t, const char *why)
{
    char err[256] = "";

    is_int(loader_check_trigger(t, err, sizeof(err)), -1,
           "trigger %s is refused", label);
    has_str(err, why, "trigger %s: the error says \"%s\"", label, why);
}

int
main(void)
{
    char longname[301];

    /* Exact names. */
    matches("app/user.created", "app/user.created", 1);
    matches("app/user.created", "app/user.created2", 0);
    matches("app/user.created", "app/user.create", 0);
    matches("app/user.created", "App/user.created", 0);
    matches("app/user", "app/user.created", 0);

    /* A trailing wildcard matches the rest after the separator. */
    matches("app/*", "app/user.created", 1);
    matches("app/*", "app/x", 1);
    matches("app/*", "apps/x", 0);
    matches("app/*", "other/app/x", 0);
    matches("app/user.*", "app/user.created", 1);
    matches("app/user.*", "app/user.deleted", 1);
    matches("app/user.*", "app/users.created", 0);
    matches("app/user.*", "app/userx", 0);
    matches("app/user.*", "app/user", 0);
    matches("clerk/user.*", "clerk/user.created", 1);

    /* What plugins may declare. */
    accepted("a/b");
    accepted("a/*");
    accepted("a.b.*");
    accepted("clerk/user.created");
    refused("\"\"", "", "empty");
    refused("\"app*\"", "app*", "wildcard");
    refused("\"app*\"", "app*", "right after '/' or '.'");
    refused("\"*\"", "*", "wildcard");
    refused("\"a/*/b\"", "a/*/b", "may only end the name");
    refused("\"a/**\"", "a/**", "wildcard");
    refused("\"a b\"", "a b", "space or control character");
    refused("with a tab", "a/\tb", "control character");
    refused("with a newline", "a/b\n", "control character");
    refused("with a DEL", "a/b\x7f", "control character");
    memset(longname, 'a', 300);
    memcpy(longname, "app/", 4);
    longname[300] = '\0';
    refused("of 300 bytes", longname, "longer than 255 bytes");
    longname[255] = '\0';
    accepted_as("of 255 bytes", longname);
    return done_testing();
}
