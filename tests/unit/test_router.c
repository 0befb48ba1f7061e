/* test_router.c - unit tests for routing events over whole generations,
 * trigger matching and trigger validation.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "loader.h"
#include "registry.h"
#include "router.h"
#include "tap.h"
#include "util.h"

/* A generation's functions, as the router sees them: each a list of
 * triggers, "|"-separated ("app/a|clerk.*"). */
struct gen {
    struct fn_info fns[64];
    size_t n;
};

static void
gen_add(struct gen *g, const char *triggers)
{
    struct fn_info *f = &g->fns[g->n++];
    char *copy = xstrdup(triggers), *save = NULL;
    size_t nt = 0;

    memset(f, 0, sizeof(*f));
    f->triggers = xcalloc(strlen(triggers) + 2, sizeof(char *));
    for (char *t = strtok_r(copy, "|", &save); t != NULL;
         t = strtok_r(NULL, "|", &save))
        f->triggers[nt++] = xstrdup(t);
    free(copy);
}

static void
gen_free(struct gen *g)
{
    for (size_t i = 0; i < g->n; i++) {
        for (char **t = g->fns[i].triggers; *t != NULL; t++)
            free(*t);
        free(g->fns[i].triggers);
    }
    g->n = 0;
}

/* The functions NAME routes to, as "0,2,3" (or "" for none). */
static const char *
routed(const struct router *r, const struct gen *g, const char *name)
{
    static char buf[512];
    size_t out[64], n = router_lookup(r, name, out);
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n && n <= g->n; i++)
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%zu",
                                i ? "," : "", out[i]);
    if (n > g->n)
        snprintf(buf, sizeof(buf), "%zu results for %zu functions", n, g->n);
    return buf;
}

/* The same, by testing every trigger of every function. */
static const char *
brute(const struct gen *g, const char *name)
{
    static char buf[512];
    size_t len = 0;

    buf[0] = '\0';
    for (size_t f = 0; f < g->n; f++) {
        for (char **t = g->fns[f].triggers; *t != NULL; t++) {
            if (router_match(*t, name)) {
                len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%zu",
                                        len ? "," : "", f);
                break;
            }
        }
    }
    return buf;
}

static void
routes(const struct router *r, const struct gen *g, const char *name,
       const char *want)
{
    is_str(routed(r, g, name), want, "\"%s\" goes to functions [%s]", name,
           want);
}

static void
test_generation(void)
{
    struct gen g = {.n = 0};
    struct router *r;

    gen_add(&g, "clerk/user.created|clerk/user.updated"); /* 0 */
    gen_add(&g, "clerk/user.created");                    /* 1 */
    gen_add(&g, "clerk/*");                               /* 2 */
    gen_add(&g, "clerk/user.*|clerk/user.created");       /* 3: both match */
    gen_add(&g, "app/a|app/a");                           /* 4: a repeat */
    gen_add(&g, "a.b.*|a.*|a.b.c.*|a.b.c.d");             /* 5: nested */
    gen_add(&g, "a.b.c.*");                               /* 6 */
    gen_add(&g, "x/y.z");                                 /* 7 */
    r = router_new(g.fns, g.n);
    routes(r, &g, "clerk/user.created", "0,1,2,3");
    routes(r, &g, "clerk/user.updated", "0,2,3");
    routes(r, &g, "clerk/user.deleted", "2,3");
    routes(r, &g, "clerk/session.created", "2");
    routes(r, &g, "clerk/", "2");
    routes(r, &g, "clerk", "");
    routes(r, &g, "clerkx/user.created", "");
    routes(r, &g, "app/a", "4");
    routes(r, &g, "app/ab", "");
    routes(r, &g, "app/", "");
    routes(r, &g, "a.b.c.d", "5,6");
    routes(r, &g, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p", "5,6");
    routes(r, &g, "a.b", "5");
    routes(r, &g, "a.", "5");
    routes(r, &g, "a", "");
    routes(r, &g, "b.a.b.c.d", "");
    routes(r, &g, "x/y.z", "7");
    routes(r, &g, "x/y.z.w", "");
    routes(r, &g, "", "");
    router_free(r);
    gen_free(&g);

    /* No functions, and functions without triggers. */
    r = router_new(g.fns, 0);
    routes(r, &g, "clerk/user.created", "");
    router_free(r);
    gen_add(&g, "");
    g.fns[0].triggers[0] = NULL;
    r = router_new(g.fns, g.n);
    routes(r, &g, "clerk/user.created", "");
    router_free(r);
    gen_free(&g);
}

/* A name with more matching prefixes than the lookup keeps on its stack. */
static void
test_many_prefixes(void)
{
    struct gen g = {.n = 0};
    char name[200] = "e", trig[200];
    struct router *r;
    size_t len = 1;

    for (int i = 0; i < 40; i++) {
        len += (size_t)snprintf(name + len, sizeof(name) - len, ".%c",
                                'a' + i % 26);
        if (i % 2 == 0 && g.n < 20) {
            snprintf(trig, sizeof(trig), "%.*s.*", (int)len, name);
            gen_add(&g, trig);
        }
    }
    /* and one function with a wildcard of every prefix */
    {
        char all[4096] = "";
        size_t al = 0;

        for (size_t i = 1; i < len; i++)
            if (name[i] == '.')
                al += (size_t)snprintf(all + al, sizeof(all) - al, "%s%.*s*",
                                       al ? "|" : "", (int)i + 1, name);
        gen_add(&g, all);
    }
    r = router_new(g.fns, g.n);
    is_str(routed(r, &g, name), brute(&g, name),
           "a name with 40 dots and 60 matching wildcards routes like the"
           " brute-force matcher");
    is_int(strlen(routed(r, &g, name)) > 0, 1, "and goes somewhere");
    router_free(r);
    gen_free(&g);
}

/* xorshift: the same sequence on every run. */
static uint32_t rng = 2463534242u;

static uint32_t
next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A name of 1 to 4 segments from a small alphabet, so that names and
 * triggers collide often. */
static void
random_name(char *buf, size_t len)
{
    static const char *const seg[] = {"a", "b", "ab", "app", "user", "x"};
    size_t n = 1 + next() % 4, l = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        l += (size_t)snprintf(buf + l, len - l, "%s%s",
                              i == 0 ? "" : next() % 2 ? "/" : ".",
                              seg[next() % 6]);
}

static void
test_against_brute_force(void)
{
    int bad = 0, routed_some = 0, routed_none = 0, several = 0;

    for (int round = 0; round < 50; round++) {
        struct gen g = {.n = 0};
        struct router *r;
        size_t nf = 1 + next() % 40;

        for (size_t f = 0; f < nf; f++) {
            char trig[1024] = "", name[128];
            size_t nt = 1 + next() % 4, l = 0;

            for (size_t t = 0; t < nt; t++) {
                random_name(name, sizeof(name));
                l += (size_t)snprintf(trig + l, sizeof(trig) - l, "%s%s%s",
                                      t ? "|" : "", name,
                                      next() % 3 == 0 ? "" :
                                      next() % 2 ? "/*" : ".*");
            }
            gen_add(&g, trig);
        }
        r = router_new(g.fns, g.n);
        for (int i = 0; i < 400; i++) {
            char name[128], want[512];

            random_name(name, sizeof(name));
            snprintf(want, sizeof(want), "%s", brute(&g, name));
            if (strcmp(routed(r, &g, name), want) != 0) {
                if (bad++ < 5)
                    printf("#   \"%s\": index [%s], brute force [%s]\n",
                           name, routed(r, &g, name), want);
            }
            routed_none += want[0] == '\0';
            routed_some += want[0] != '\0';
            several += strchr(want, ',') != NULL;
        }
        router_free(r);
        gen_free(&g);
    }
    is_int(bad, 0, "20000 names over 50 generated generations route as the"
                   " brute-force matcher says");
    ok(routed_none > 1000 && routed_some > 1000 && several > 1000,
       "and the sample has names for none, one and several functions"
       " (%d, %d, %d)", routed_none, routed_some, several);
}

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
    int rc = check_trigger(t, err, sizeof(err));

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

    is_int(check_trigger(t, err, sizeof(err)), -1,
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
    /* A '*' that is no wildcard by the loader's rules is a character. */
    matches("app*", "apple", 0);
    matches("app*", "app*", 1);
    matches("*", "anything", 0);

    test_generation();
    test_many_prefixes();
    test_against_brute_force();

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
