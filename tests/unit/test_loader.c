/* test_loader.c - unit tests for loading plugins and the host API they get.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Uses the fixture plugins in $FNHOST_BUILD/tests/plugins (make builds them
 * with `make test`). ctor_crash.so is never opened here: it crashes the
 * process that maps it, by design. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "loader.h"
#include "tap.h"

/* The ABI this host is, "MAJOR.MINOR", as the refusals word it. */
#define ABI_STR_(x) #x
#define ABI_STR(x) ABI_STR_(x)
#define HOST_ABI ABI_STR(FH_ABI_MAJOR) "." ABI_STR(FH_ABI_MINOR)

static char fixtures[256];

static const char *
fixture(const char *name)
{
    static char path[512];

    snprintf(path, sizeof(path), "%s/%s.so", fixtures, name);
    return path;
}

static struct json_object *
get(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;

    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *
str(struct json_object *o, const char *key)
{
    struct json_object *v = get(o, key);

    return v != NULL && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static struct json_object *
idx(struct json_object *a, size_t i)
{
    if (a == NULL || !json_object_is_type(a, json_type_array) ||
        i >= json_object_array_length(a))
        return NULL;
    return json_object_array_get_idx(a, i);
}

/* Option NAME that function I of descriptor JSON D declares, or NULL. */
static struct json_object *
opt(struct json_object *d, size_t i, const char *name)
{
    return get(get(idx(get(d, "functions"), i), "options"), name);
}

static size_t
arrlen(struct json_object *a)
{
    return a != NULL && json_object_is_type(a, json_type_array)
               ? json_object_array_length(a)
               : (size_t)-1;
}

/* Checks that opening fixture NAME fails with an error containing WHY. */
static void
refused(const char *name, const char *why)
{
    struct loaded_plugin lp;
    char err[512] = "";

    is_int(loader_open(&lp, fixture(name), err, sizeof(err)), -1,
           "%s.so is refused", name);
    has_str(err, why, "%s.so: the error says \"%s\"", name, why);
    ok(lp.desc == NULL, "%s.so: no descriptor is kept", name);
    loader_close(&lp);
}

/* Calls function FN of LP with an event of DATA (JSON) at ATTEMPT, the way
 * a worker does. Returns the handler's rc; C holds what it left. */
static int
call(struct loaded_plugin *lp, const struct fh_function *fn, const char *data,
     unsigned attempt, struct host_ctx *c)
{
    struct fh_event ev;
    int rc;

    memset(&ev, 0, sizeof(ev));
    ev.name = "test/echo";
    ev.internal_id = "01HZZZZZZZZZZZZZZZZZZZZZZZ";
    ev.ts = 1700000000000LL;
    ev.data = json_tokener_parse(data);
    ev.json = json_object_new_object();
    memset(c, 0, sizeof(*c));
    c->core.pub.api = &loader_api;
    c->core.pub.state = lp->state;
    c->core.pub.plugin = lp->desc->name;
    c->core.pub.function_id = fn->id;
    c->core.pub.run_id = "01HRUNRUNRUNRUNRUNRUNRUNRU";
    c->core.pub.attempt = attempt;
    c->core.pub.max_attempts = 5;
    c->lp = lp;
    rc = fn->run(&c->core.pub, &ev);
    json_object_put(ev.data);
    json_object_put(ev.json);
    return rc;
}

static void
test_ok(void)
{
    struct loaded_plugin lp;
    struct json_object *d, *f0, *f1, *cfg;
    struct host_ctx c;
    char err[512] = "";
    int rc;

    rc = loader_open(&lp, fixture("ok"), err, sizeof(err));
    is_int(rc, 0, "ok.so opens");
    if (rc != 0) {
        printf("#   error: %s\n#   build the fixtures first: make %s/ok.so\n",
               err, fixtures);
        loader_close(&lp);
        return;
    }
    d = loader_describe(&lp);
    is_str(str(d, "name"), "ok", "its name is \"ok\"");
    is_str(str(d, "version"), "1.0.0", "its version");
    is_str(str(d, "abi"), HOST_ABI, "its ABI");
    is_int(arrlen(get(d, "functions")), 2, "two functions");
    f0 = idx(get(d, "functions"), 0);
    f1 = idx(get(d, "functions"), 1);
    is_str(str(f0, "id"), "echo", "the first is echo");
    is_str(str(f0, "name"), "echo", "named by its id when it has no name");
    is_int(arrlen(get(f0, "triggers")), 2, "with two triggers");
    is_str(json_object_get_string(idx(get(f0, "triggers"), 0)), "test/echo",
           "test/echo");
    is_str(json_object_get_string(idx(get(f0, "triggers"), 1)), "test/wild.*",
           "and test/wild.*");
    ok(get(f0, "options") != NULL &&
           json_object_object_length(get(f0, "options")) == 0,
       "no options of its own: the host's defaults");
    is_str(str(f1, "id"), "count-ok", "the second is count-ok");
    is_str(json_object_get_string(idx(get(f1, "triggers"), 0)), "test/fanout",
           "triggered by test/fanout");
    json_object_put(d);

    /* load() and the plugin's settings, as a worker runs it. */
    cfg = json_tokener_parse("{\"ok\":{\"greeting\":\"hello\"},"
                             "\"other\":{\"greeting\":\"wrong\"}}");
    is_int(loader_init(&lp, cfg, &loader_api, err, sizeof(err)), 0,
           "ok.so initializes");
    ok(lp.loaded, "and is marked loaded");
    rc = call(&lp, &lp.desc->functions[0], "{\"x\":42}", 0, &c);
    is_int(rc, FH_OK, "echo returns FH_OK");
    ok(c.core.has_output, "and sets an output");
    is_int(json_object_get_int(get(get(c.core.output, "data"), "x")), 42,
           "which echoes the event data");
    is_str(str(c.core.output, "greeting"), "hello",
           "and reads its own [plugin ok] greeting");
    host_ctx_reset(&c);
    ok(c.core.output == NULL && !c.core.has_output, "host_ctx_reset clears the output");
    loader_close(&lp);
    json_object_put(cfg);
    ok(lp.handle == NULL && lp.path == NULL, "loader_close clears it all");

    /* Without a section of its own, a setting is unset. */
    cfg = json_tokener_parse("{\"other\":{\"greeting\":\"wrong\"}}");
    loader_open(&lp, fixture("ok"), err, sizeof(err));
    is_int(loader_init(&lp, cfg, &loader_api, err, sizeof(err)), 0,
           "ok.so initializes without settings");
    call(&lp, &lp.desc->functions[0], "{}", 0, &c);
    ok(c.core.output != NULL && get(c.core.output, "greeting") == NULL,
       "its greeting is unset, not another plugin's");
    host_ctx_reset(&c);
    loader_close(&lp);
    json_object_put(cfg);
}

static void
test_options(void)
{
    struct loaded_plugin lp;
    struct json_object *d, *cfg = json_object_new_object();
    struct host_ctx c;
    char err[512] = "";

    is_int(loader_open(&lp, fixture("hang"), err, sizeof(err)), 0,
           "hang.so opens");
    d = lp.desc ? loader_describe(&lp) : NULL;
    is_int(json_object_get_int(get(get(idx(get(d, "functions"), 0), "options"),
                                   "timeout_ms")),
           1000, "its timeout is described, in ms");
    json_object_put(d);
    loader_close(&lp);

    is_int(loader_open(&lp, fixture("flaky"), err, sizeof(err)), 0,
           "flaky.so opens");
    if (lp.desc == NULL) {
        loader_close(&lp);
        json_object_put(cfg);
        return;
    }
    d = loader_describe(&lp);
    is_int(json_object_get_int(opt(d, 0, "retries")), 3,
           "retries 3 is described");
    ok(opt(d, 1, "retries") != NULL &&
           json_object_get_int(opt(d, 1, "retries")) == 0,
       "and FH_RETRIES_NONE, as 0 retries");
    json_object_put(d);
    loader_init(&lp, cfg, &loader_api, err, sizeof(err));

    is_int(call(&lp, &lp.desc->functions[0], "{\"fail_times\":1}", 0, &c),
           FH_ERR, "a failing handler returns FH_ERR");
    is_str(c.core.error, "flaky failure on attempt 0",
           "fh_fail's formatted reason is kept");
    is_int(c.core.no_retry, 0, "FH_RETRY can be retried");
    host_ctx_reset(&c);
    ok(c.core.error == NULL, "host_ctx_reset clears the error");
    is_int(call(&lp, &lp.desc->functions[0],
                "{\"fail_times\":1,\"fatal\":true}", 1, &c),
           FH_ERR, "a fatal failure returns FH_ERR");
    is_int(c.core.no_retry, 1, "FH_NO_RETRY is not retried");
    host_ctx_reset(&c);
    is_int(call(&lp, &lp.desc->functions[0], "{\"fail_times\":1}", 1, &c),
           FH_OK, "the next attempt succeeds");
    is_int(json_object_get_int(get(c.core.output, "attempt")), 1,
           "and sees its attempt number");
    host_ctx_reset(&c);
    loader_close(&lp);
    json_object_put(cfg);
}

static void
test_api(void)
{
    struct host_ctx c;
    unsigned char *p;
    int zero = 1;
    const char *old = getenv("FNHOST_STATE");
    char *saved = old ? strdup(old) : NULL;

    memset(&c, 0, sizeof(c));
    c.core.pub.api = &loader_api;
    c.core.pub.plugin = "t";
    is_int(loader_api.size, sizeof(struct fh_api),
           "the API table says its size");
    is_int(loader_api.abi_major, FH_ABI_MAJOR, "and its ABI");
    ok(FH_API_HAS(&loader_api, state_dir), "every 1.0 entry is set");

    loader_api.retry_after(&c.core.pub, 10);
    is_int(c.core.retry_after_ms, 1000, "retry_after is at least 1 s");
    loader_api.retry_after(&c.core.pub, 90000);
    is_int(c.core.retry_after_ms, 90000, "a delay in range is kept");
    loader_api.retry_after(&c.core.pub, 7LL * 24 * 3600 * 1000);
    is_int(c.core.retry_after_ms, 24LL * 3600 * 1000, "and at most 24 h");

    p = loader_api.alloc(&c.core.pub, 1000);
    for (int i = 0; i < 1000; i++)
        if (p[i] != 0)
            zero = 0;
    ok(zero, "fh_alloc memory is zeroed");
    ok((uintptr_t)p % _Alignof(max_align_t) == 0, "and aligned");
    memset(p, 0xff, 1000); /* all of it is ours: ASan would see */

    is_int(loader_api.fail(&c.core.pub, FH_NO_RETRY, "bad %s %d", "input", 7),
           FH_ERR, "fh_fail returns FH_ERR");
    is_str(c.core.error, "bad input 7", "with the formatted message");
    loader_api.fail(&c.core.pub, FH_RETRY, "second");
    is_str(c.core.error, "second", "a second fh_fail replaces the first");
    is_int(c.core.no_retry, 0, "and its retry mode");
    ok(loader_api.config(&c.core.pub, "anything") == NULL,
       "no config outside a loaded plugin");
    host_ctx_reset(&c);
    ok(c.core.arena == NULL && c.core.error == NULL && c.core.retry_after_ms == 0,
       "host_ctx_reset frees the arena and clears the rest");

    setenv("FNHOST_STATE", "/var/lib/fnhost-test", 1);
    is_str(loader_api.state_dir(&c.core.pub), "/var/lib/fnhost-test",
           "fh_state_dir is FNHOST_STATE");
    {
        /* Absolute, as fnhost.h promises: a relative folder, or the
         * default when it is unset, is taken from the current folder. */
        char cwd[4096], want[4200];

        if (getcwd(cwd, sizeof(cwd)) == NULL)
            cwd[0] = '\0';
        unsetenv("FNHOST_STATE");
        snprintf(want, sizeof(want), "%s/.fnhost", cwd);
        is_str(loader_api.state_dir(&c.core.pub), want,
               "or CWD/.fnhost when unset: absolute");
        setenv("FNHOST_STATE", "no-such-state", 1);
        snprintf(want, sizeof(want), "%s/no-such-state", cwd);
        is_str(loader_api.state_dir(&c.core.pub), want,
               "a relative FNHOST_STATE is made absolute");
        unsetenv("FNHOST_STATE");
    }
    if (saved != NULL)
        setenv("FNHOST_STATE", saved, 1);
    free(saved);
}

static void
test_refused(void)
{
    struct loaded_plugin lp;
    struct json_object *cfg, *d;
    char err[512] = "", path[300];
    char dir[] = "/tmp/fnhost-test-loader-XXXXXX";
    FILE *f;

    refused("bad_magic", "bad magic");
    refused("bad_magic", "not an fnhost plugin");
    refused("abi_major", "built for ABI 2.0, host has " HOST_ABI);
    refused("abi_major", "upgrade fnhost");
    refused("no_entry", "no fh_plugin_entry");
    refused("dup_id", "duplicate function id \"same-id\"");
    refused("bad_trigger", "wildcard");
    refused("bad_trigger", "function \"bad-trigger\"");
    refused("bad_trigger", "\"app*\"");
    refused("missing_plugin", "not a loadable shared object");

    /* load() refusing to start. */
    cfg = json_object_new_object();
    is_int(loader_open(&lp, fixture("load_fails"), err, sizeof(err)), 0,
           "load_fails.so opens");
    if (lp.desc != NULL) {
        is_int(loader_init(&lp, cfg, &loader_api, err, sizeof(err)), -1,
               "but its load() fails");
        has_str(err, "cannot reach the payments api",
                "with the reason it gave");
        has_str(err, "load() failed", "saying load() failed");
        ok(!lp.loaded, "and it is not marked loaded");
    }
    loader_close(&lp);
    json_object_put(cfg);

    /* A text file named .so. */
    if (mkdtemp(dir) != NULL) {
        snprintf(path, sizeof(path), "%s/x.so", dir);
        f = fopen(path, "w");
        if (f != NULL) {
            fputs("this is not an ELF file\n", f);
            fclose(f);
        }
        is_int(loader_open(&lp, path, err, sizeof(err)), -1,
               "a text file named x.so is refused");
        has_str(err, "not a loadable shared object", "as not loadable");
        loader_close(&lp);
        unlink(path);
        rmdir(dir);
    }

    /* An empty function table is allowed. */
    is_int(loader_open(&lp, fixture("no_functions"), err, sizeof(err)), 0,
           "no_functions.so opens");
    d = lp.desc ? loader_describe(&lp) : NULL;
    is_str(str(d, "name"), "empty", "its name");
    is_int(arrlen(get(d, "functions")), 0, "with zero functions");
    json_object_put(d);
    loader_close(&lp);
}

/* Opens fixture NAME and describes it (new JSON), or returns NULL. */
static struct json_object *
describe(const char *name)
{
    struct loaded_plugin lp;
    struct json_object *d = NULL;
    char err[512] = "";

    if (loader_open(&lp, fixture(name), err, sizeof(err)) == 0)
        d = loader_describe(&lp);
    else
        printf("#   %s.so: %s\n", name, err);
    ok(d != NULL, "%s.so loads", name);
    loader_close(&lp);
    return d;
}

/* Plugins of every minor of ABI 1 load, with their options wherever their
 * minor puts them; options the host cannot honour are refused. */
static void
test_versions(void)
{
    struct json_object *d;
    char newer[16];

    d = describe("abi_older_minor");
    is_str(str(d, "abi"), "1.0", "abi_older_minor is built for 1.0");
    json_object_put(d);

    d = describe("abi_v1_1");
    is_str(str(d, "abi"), "1.1", "abi_v1_1 is built for 1.1 (its header)");
    is_int(json_object_get_int(opt(d, 0, "retries")), 1,
           "its 1.1 .retries is read");
    is_int(json_object_get_int(opt(d, 0, "timeout_ms")), 7000,
           "and its 1.1 .timeout");
    json_object_put(d);

    d = describe("opts_v1_2");
    is_str(str(d, "abi"), "1.2", "opts_v1_2 is built for 1.2");
    is_int(json_object_get_int(opt(d, 0, "retries")), 2,
           "FH_OPTS(.retries = 2) is read");
    is_int(json_object_get_int(opt(d, 0, "timeout_ms")), 9000,
           "and FH_OPTS(.timeout = \"9s\")");
    ok(opt(d, 1, "retries") != NULL &&
           json_object_get_int(opt(d, 1, "retries")) == 0 &&
           opt(d, 1, "timeout_ms") == NULL,
       "FH_RETRIES_NONE in the options is 0 retries; no timeout is unset");
    json_object_put(d);

    d = describe("abi_newer_minor");
    snprintf(newer, sizeof(newer), "%d.%d", FH_ABI_MAJOR, FH_ABI_MINOR + 1);
    is_str(str(d, "abi"), newer,
           "a plugin of a newer minor that uses nothing unknown loads");
    is_int(json_object_get_int(opt(d, 0, "retries")), 6,
           "and the options this host knows, of its longer struct, count");
    json_object_put(d);

    refused("bad_opts_size", "plugin bad-opts-size: function \"small-opts\":"
                             " its options say they are 8 bytes, smaller"
                             " than ABI 1.2's, the first: set them with"
                             " FH_OPTS()");
    refused("abi_newer_option", "plugin abi-newer-option: function"
                                " \"abi-newer-option\" sets an option newer"
                                " than this host's ABI");
    refused("abi_newer_option", "upgrade fnhost");
}

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

static const char *const noop_triggers[] = {"test/noop", NULL};

/* A descriptor of one function, built for MINOR, in memory. */
static void
make_plugin(struct fh_plugin *p, struct fh_function fns[2], unsigned minor)
{
    memset(p, 0, sizeof(*p));
    memset(fns, 0, 2 * sizeof(*fns));
    fns[0].id = "fn";
    fns[0].run = noop;
    fns[0].triggers = noop_triggers;
    p->magic = FH_ABI_MAGIC;
    p->abi_major = FH_ABI_MAJOR;
    p->abi_minor = (uint16_t)minor;
    p->size = sizeof(*p);
    p->name = "mem";
    p->version = "1";
    p->functions = fns;
}

/* Whether check_plugin() refuses P with WHY, or accepts it (WHY NULL). */
static void
checks(const struct fh_plugin *p, const char *why, const char *what)
{
    char err[512] = "";
    int rc = check_plugin(p, err, sizeof(err));

    if (why == NULL) {
        is_int(rc, 0, "%s", what);
        if (rc != 0)
            printf("#   refused: %s\n", err);
    } else {
        is_int(rc, -1, "%s", what);
        has_str(err, why, "  saying \"%s\"", why);
    }
}

/* The size, version and both-places rules, on descriptors in memory. */
static void
test_descriptors(void)
{
    struct fh_plugin p;
    struct fh_function fns[2];
    struct fh_function_opts o = {.size = sizeof(o), .retries = 3};
    struct {
        struct fh_function_opts known;
        int64_t later;
    } longer = {.known = {.size = sizeof(longer)}};
    struct {
        struct fh_plugin known;
        void *later;
    } desc;

    make_plugin(&p, fns, FH_ABI_MINOR);
    fns[0].opts = &o;
    checks(&p, NULL, "options of this host's size load");
    fns[0].retries = 2;
    checks(&p, "plugin mem: function \"fn\" sets retries both in the function"
               " and in its options: set it in one place",
           "retries set in both places is refused");
    fns[0].retries = 0;
    fns[0].timeout = "1s";
    o.timeout = "2s";
    checks(&p, "sets timeout both in the function and in its options",
           "and so is a timeout set in both");
    fns[0].timeout = NULL;
    o.timeout = "soon";
    checks(&p, "function \"fn\": timeout: ", "a bad timeout in the options"
                                             " is refused");
    o.timeout = NULL;
    o.retries = 21;
    checks(&p, "retries 21 is out of range", "as are retries out of range");
    o.retries = 3;
    o.checkpoint_ahead = FH_CHECKPOINT_AHEAD;
    checks(&p, NULL, "checkpoint_ahead = FH_CHECKPOINT_AHEAD is accepted");
    o.checkpoint_ahead = 2;
    checks(&p, "checkpoint_ahead 2 is neither 0 nor FH_CHECKPOINT_AHEAD",
           "another value is refused");
    o.checkpoint_ahead = 0;

    /* The API prints them as JSON: they must be text. */
    fns[0].id = "f\xffn";
    checks(&p, "function 0: its id is not UTF-8",
           "a function id that is not UTF-8 is refused");
    fns[0].id = "fn\xc3\xa9";
    checks(&p, NULL, "one in UTF-8 loads");
    fns[0].id = "fn";
    p.name = "m\xc0\xaf" "em";
    checks(&p, "the plugin's name is not UTF-8", "so is a plugin name");
    p.name = "mem";
    p.version = "1.\xe9" "x";
    checks(&p, "plugin mem: its version is not UTF-8", "and a version");
    p.version = "1";
    {
        static const char *const bad[] = {"test/\xed\xa0\x80", NULL};

        fns[0].triggers = bad;
        checks(&p, "a trigger is not UTF-8", "and a trigger");
        fns[0].triggers = noop_triggers;
    }

    o.size = 1u << 20;
    checks(&p, "its options say they are 1048576 bytes, more than any ABI"
               " 1.x could have: set them with FH_OPTS()",
           "an absurd options size is refused");
    o.size = sizeof(o) + 1;
    checks(&p, "not the size of a whole struct",
           "so is a size that ends inside a field");
    o.size = 4;
    checks(&p, "smaller than ABI 1.2's", "and one below 1.2's");
    p.abi_minor = 1;
    checks(&p, NULL, "a 1.1 plugin's spare slot is not read as options");
    o.size = sizeof(o);

    /* Past what this host knows: zero loads, anything else is refused. */
    make_plugin(&p, fns, FH_ABI_MINOR);
    fns[0].opts = &longer.known;
    checks(&p, NULL, "longer options whose unknown part is zero load");
    longer.later = 1;
    checks(&p, "sets an option newer than this host's",
           "longer options that set an unknown field are refused");
    longer.later = 0;

    make_plugin(&p, fns, FH_ABI_MINOR + 1);
    fns[0].spare[0] = &o;
    checks(&p, "plugin mem: function \"fn\" uses a spare slot that ABI",
           "a newer minor's function using a spare slot is refused");
    make_plugin(&p, fns, FH_ABI_MINOR);
    fns[0].spare[0] = &o;
    checks(&p, NULL, "a spare slot of this minor is ignored, as before");

    make_plugin(&desc.known, fns, FH_ABI_MINOR + 1);
    desc.known.size = sizeof(desc);
    desc.later = NULL;
    checks(&desc.known, NULL, "a newer minor's longer descriptor loads");
    desc.later = &o;
    checks(&desc.known, "and sets a descriptor field this host's",
           "unless it sets what this host does not know");
    desc.later = NULL;
    desc.known.spare[1] = &o;
    checks(&desc.known, "upgrade fnhost", "or a spare slot");
    desc.known.size = 1u << 20;
    checks(&desc.known, "more than any ABI 1.x could have",
           "an absurd descriptor size is refused");
    make_plugin(&p, fns, 7);
    p.abi_major = 2;
    checks(&p, "built for ABI 2.7, host has 1.", "another major is refused");
}

/* Each cancel_on rule that cannot be is refused, saying which field and
 * why; the expression check is the host's (loader_check_expr). */
static void
test_cancel_rules(void)
{
    static const struct {
        struct fh_cancel_on rule;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{.event = "app/user.deleted", .match = "data.id"}, NULL},
        {{.event = "app/x", .if_expr = "async.data.a == event.data.a",
          .timeout = "3d"}, NULL},
        {{.match = "data.id"}, "event: expected an event name"},
        {{.event = ""}, "event: expected an event name"},
        {{.event = "inngest/function.failed"}, "is an internal event"},
        {{.event = "app/x", .match = "data..id"}, "match: \"data..id\" is"
                                                   " not a dotted path"},
        {{.event = "app/x", .if_expr = "event.data.a =="},
         "if: column 16: expected a value"},
        {{.event = "app/x", .timeout = "forever"}, "timeout: "},
        {{.event = "app/x", .timeout = "2y"}, "timeout: must be more than 0"
                                              " and at most a year"},
    };
    char err[512];

    check_expr = loader_check_expr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int rc = check_cancel_rule(&cases[i].rule, err, sizeof(err));

        if (cases[i].why == NULL) {
            ok(rc == 0, "cancel_on rule %zu is accepted", i);
        } else {
            ok(rc == -1, "cancel_on rule %zu is refused", i);
            has_str(err, cases[i].why, "saying why");
        }
    }
}

/* Checks a plugin whose one function has options O, case I of the
 * cases of option NAME: refused saying WHY, or accepted (NULL). */
static void
checks_opts(const struct fh_function_opts *o, const char *name, size_t i,
            const char *why)
{
    struct fh_plugin p;
    struct fh_function fns[2];
    char what[64];

    make_plugin(&p, fns, FH_ABI_MINOR);
    fns[0].opts = o;
    snprintf(what, sizeof(what), "%s case %zu is %s", name, i,
             why ? "refused" : "accepted");
    checks(&p, why, what);
}

/* Each concurrency limit that cannot be refuses the plugin, naming the
 * plugin, the function, which limit and what is wrong. */
static void
test_concurrency(void)
{
    static const struct {
        struct fh_concurrency c[FH_CONCURRENCY_LIMITS];
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{{.limit = 10, .key = "event.data.workspace_id"}}, NULL},
        {{{.limit = 1}, {.limit = 5, .key = "event.data.a", .scope = "env"}},
         NULL},
        {{{.limit = 0, .key = "event.data.a"}},
         "plugin mem: function \"fn\": concurrency[0]: limit 0 is out of"
         " range (1..100000)"},
        {{{.limit = 100001}}, "concurrency[0]: limit 100001 is out of range"},
        {{{.limit = -1}}, "concurrency[0]: limit -1 is out of range"},
        {{{.limit = 1}, {.limit = 2, .scope = "account", .key = "x"}},
         "concurrency[1]: scope \"account\" is neither \"fn\" nor \"env\""},
        {{{.limit = 1, .scope = "env"}},
         "concurrency[0]: scope \"env\" needs a key"},
        {{{.limit = 1, .key = "event.data.a +"}},
         "function \"fn\": concurrency[0].key: column 15: "},
        {{{0}, {.limit = 1}}, "concurrency[1]: set concurrency[0] first"},
    };
    check_expr = loader_check_expr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh_function_opts o = {.size = sizeof(o)};

        memcpy(o.concurrency, cases[i].c, sizeof(o.concurrency));
        checks_opts(&o, "concurrency", i, cases[i].why);
    }
}

/* A priority that does not compile refuses the plugin, naming the
 * function and the column; one that does, or none, is accepted. */
static void
test_priority(void)
{
    static const struct {
        const char *expr;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {NULL, NULL},
        {"event.data.plan == 'pro' ? 120 : 0", NULL},
        {"event.data.p", NULL},
        {"event.data.p +", "function \"fn\": priority: column 15: "},
    };
    check_expr = loader_check_expr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh_function_opts o = {.size = sizeof(o), .priority =
                                                            cases[i].expr};

        checks_opts(&o, "priority", i, cases[i].why);
    }
}

/* Each flow-control option that cannot be is refused, naming the plugin,
 * the function, the option and what is wrong. */
static void
test_flow_options(void)
{
    static const struct {
        struct fh_rate_limit rate_limit;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{0}, NULL},
        {{.limit = 10, .period = "1h"}, NULL},
        {{.limit = 1, .period = "24h", .key = "event.data.ws"}, NULL},
        {{.limit = 10}, "rate_limit.period: required with a limit"},
        {{.period = "1h"}, "rate_limit.limit: expected 1 to 100000, got 0"},
        {{.key = "event.data.ws"}, "rate_limit.limit: expected 1 to"},
        {{.limit = -1, .period = "1h"}, "rate_limit.limit: expected 1 to"},
        {{.limit = 100001, .period = "1h"}, "rate_limit.limit: expected"},
        {{.limit = 1, .period = "25h"}, "rate_limit.period: must be at"
                                        " least 1s and at most 1d, got"
                                        " \"25h\""},
        {{.limit = 1, .period = "500ms"}, "rate_limit.period: must be at"},
        {{.limit = 1, .period = "soon"}, "rate_limit.period: "},
        {{.limit = 1, .period = "1h", .key = "event.data."},
         "rate_limit.key: column"},
    };
    static const struct {
        struct fh_singleton singleton;
        const char *why; /* NULL: accepted */
    } singletons[] = {
        {{.mode = "skip"}, NULL},
        {{.mode = "cancel", .key = "event.data.user_id"}, NULL},
        {{.key = "event.data.user_id"}, "singleton.mode: expected \"skip\""
                                        " or \"cancel\", got none"},
        {{.mode = "Skip"}, "singleton.mode: expected \"skip\" or"
                           " \"cancel\", got \"Skip\""},
        {{.mode = "skip", .key = "event.data.user_id +"},
         "singleton.key: column"},
    };
    static const struct {
        struct fh_debounce debounce;
        const char *why; /* NULL: accepted */
    } debounces[] = {
        {{.period = "1s"}, NULL},
        {{.period = "7d", .key = "event.data.id", .timeout = "7d"}, NULL},
        {{.key = "event.data.id"}, "debounce.period: required with a key"},
        {{.timeout = "1h"}, "debounce.period: required with a key or a"},
        {{.period = "999ms"}, "debounce.period: must be at least 1s and at"
                              " most 7d, got \"999ms\""},
        {{.period = "8d"}, "debounce.period: must be at least 1s"},
        {{.period = "1m", .timeout = "8d"}, "debounce.timeout: must be at"},
        {{.period = "1m", .key = "event."}, "debounce.key: column"},
    };
    struct fh_plugin p = {.name = "flow"};
    struct fh_function f = {.id = "fn"};
    size_t nr = sizeof(cases) / sizeof(cases[0]);
    size_t ns = sizeof(singletons) / sizeof(singletons[0]);
    char err[512];

    check_expr = loader_check_expr;
    for (size_t i = 0;
         i < nr + ns + sizeof(debounces) / sizeof(debounces[0]); i++) {
        struct fh_function_opts o = {.size = sizeof(o)};
        const char *why;
        int rc;

        if (i < nr) {
            o.rate_limit = cases[i].rate_limit;
            why = cases[i].why;
        } else if (i < nr + ns) {
            o.singleton = singletons[i - nr].singleton;
            why = singletons[i - nr].why;
        } else {
            o.debounce = debounces[i - nr - ns].debounce;
            why = debounces[i - nr - ns].why;
        }
        rc = check_flow_options(&p, &f, &o, err, sizeof(err));
        if (why == NULL) {
            ok(rc == 0, "flow options %zu are accepted", i);
        } else {
            ok(rc == -1, "flow options %zu are refused", i);
            has_str(err, "plugin flow: function \"fn\": ", "naming them");
            has_str(err, why, "saying what is wrong");
        }
    }
}

/* A throttle that cannot be is refused, naming the plugin, the function,
 * the option and what is wrong. */
static void
test_throttle(void)
{
    static const struct {
        struct fh_throttle throttle;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{0}, NULL},
        {{.limit = 1, .period = "1s"}, NULL},
        {{.limit = 100000, .period = "7d", .burst = 100000,
          .key = "event.data.user_id"}, NULL},
        {{.limit = 1}, "throttle.period: required with a limit"},
        {{.period = "1h"}, "throttle.limit: expected 1 to 100000, got 0"},
        {{.burst = 2}, "throttle.limit: expected 1 to 100000, got 0"},
        {{.key = "event.data.id"}, "throttle.limit: expected 1 to"},
        {{.limit = 100001, .period = "1h"}, "throttle.limit: expected"},
        {{.limit = 1, .period = "1h", .burst = -1},
         "throttle.burst: expected 0 to 100000, got -1"},
        {{.limit = 1, .period = "1h", .burst = 100001},
         "throttle.burst: expected 0 to 100000"},
        {{.limit = 1, .period = "999ms"}, "throttle.period: must be at least"
                                          " 1s and at most 7d, got"
                                          " \"999ms\""},
        {{.limit = 1, .period = "8d"}, "throttle.period: must be at least"},
        {{.limit = 1, .period = "1h", .key = "event.data."},
         "throttle.key: column"},
    };
    struct fh_plugin p = {.name = "flow"};
    struct fh_function f = {.id = "fn"};
    char err[512];

    check_expr = loader_check_expr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fh_function_opts o = {.size = sizeof(o)};
        int rc;

        o.throttle = cases[i].throttle;
        rc = check_flow_options(&p, &f, &o, err, sizeof(err));
        if (cases[i].why == NULL) {
            ok(rc == 0, "throttle %zu is accepted", i);
        } else {
            ok(rc == -1, "throttle %zu is refused", i);
            has_str(err, "plugin flow: function \"fn\": ", "naming it");
            has_str(err, cases[i].why, "saying what is wrong");
        }
    }
}

/* A batch: a size of 1..100 with a timeout of 1s..60s; a key or an `if`
 * needs them; not with the options Inngest refuses it with, nor with an
 * idempotency key or a rate limit. */
static void
test_batch(void)
{
    static const struct {
        struct fh_batch batch;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {{.max_size = 1, .timeout = "1s"}, NULL},
        {{.max_size = 100, .timeout = "60s", .key = "event.data.ws",
          .if_expr = "event.data.n > 1"}, NULL},
        {{.max_size = 10}, "batch.timeout: required with a max_size"},
        {{.timeout = "5s"}, "batch.max_size: expected 1 to 100, got 0"},
        {{.key = "event.data.ws"}, "batch.max_size: expected 1 to 100"},
        {{.if_expr = "true"}, "batch.max_size: expected 1 to 100"},
        {{.max_size = 101, .timeout = "5s"}, "batch.max_size: expected"},
        {{.max_size = -1, .timeout = "5s"}, "batch.max_size: expected"},
        {{.max_size = 2, .timeout = "61s"}, "batch.timeout: must be at"
                                            " least 1s and at most 1m, got"
                                            " \"61s\""},
        {{.max_size = 2, .timeout = "999ms"}, "batch.timeout: must be at"},
        {{.max_size = 2, .timeout = "5s", .key = "event."},
         "batch.key: column"},
        {{.max_size = 2, .timeout = "5s", .if_expr = "event.data.n >"},
         "batch.if_expr: column"},
    };
    struct fh_plugin p = {.name = "flow"};
    struct fh_function f = {.id = "fn"};
    struct fh_function_opts o;
    char err[512];
    int rc;

    check_expr = loader_check_expr;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(&o, 0, sizeof(o));
        o.size = sizeof(o);
        o.batch = cases[i].batch;
        rc = check_flow_options(&p, &f, &o, err, sizeof(err));
        if (cases[i].why == NULL) {
            ok(rc == 0, "batch %zu is accepted", i);
        } else {
            ok(rc == -1, "batch %zu is refused", i);
            has_str(err, "plugin flow: function \"fn\": ", "naming it");
            has_str(err, cases[i].why, "saying what is wrong");
        }
    }
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.batch.max_size = 10;
    o.batch.timeout = "5s";
    o.debounce.period = "1m";
    rc = check_flow_options(&p, &f, &o, err, sizeof(err));
    ok(rc == -1, "a batch with a debounce is refused");
    has_str(err, "batch cannot go with debounce", "saying so");
    o.debounce.period = NULL;
    o.idempotency = "event.data.id";
    rc = check_flow_options(&p, &f, &o, err, sizeof(err));
    has_str(err, "batch cannot go with idempotency",
            "so is one with an idempotency key");
    o.idempotency = NULL;
    o.cancel_on[0].event = "app/x";
    rc = check_flow_options(&p, &f, &o, err, sizeof(err));
    has_str(err, "batch cannot go with cancel_on", "or cancel_on");
}

/* A function's cron schedules and jitter: each must parse, no two
 * alike, in order; a jitter of 1s..5m, only with a schedule; with one,
 * the function needs no event trigger. */
static void
test_cron(void)
{
    struct fh_plugin p;
    struct fh_function fns[2];
    struct fh_function_opts o;

    make_plugin(&p, fns, FH_ABI_MINOR);
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    fns[0].opts = &o;
    fns[0].triggers = NULL;
    checks(&p, "has no trigger", "no trigger and no cron is refused");
    o.cron[0] = "TZ=Europe/Paris 0 2 * * *";
    checks(&p, NULL, "a cron alone is a trigger");
    o.cron_jitter = "5m";
    checks(&p, NULL, "a jitter of 5m is accepted");
    o.cron_jitter = "500ms";
    checks(&p, "cron_jitter: must be 1s to 5m, got \"500ms\"",
           "one under 1s is refused");
    o.cron_jitter = "6m";
    checks(&p, "cron_jitter: must be 1s to 5m", "one over 5m is refused");
    o.cron_jitter = NULL;
    o.cron[1] = "TZ=Europe/Paris 0 2 * * *";
    checks(&p, "plugin mem: function \"fn\": cron \"TZ=Europe/Paris 0 2 *"
               " * *\" is there twice", "a schedule twice is refused");
    o.cron[1] = NULL;
    o.cron[2] = "0 3 * * *";
    checks(&p, "cron[2] follows an unset entry", "a gap is refused");
    o.cron[2] = NULL;
    o.cron[0] = "0 2 * * * *";
    checks(&p, "plugin mem: function \"fn\": cron \"0 2 * * * *\":"
               " expected 5 fields", "a bad schedule is refused, saying why");
    o.cron[0] = NULL;
    o.cron_jitter = "1s";
    fns[0].triggers = noop_triggers;
    checks(&p, "cron_jitter without a cron", "a jitter alone is refused");
}

int
main(void)
{
    const char *build = getenv("FNHOST_BUILD");

    snprintf(fixtures, sizeof(fixtures), "%s/tests/plugins",
             build != NULL && *build != '\0' ? build : "build");
    if (access(fixture("ok"), R_OK) != 0)
        printf("# %s missing: run make %s\n", fixture("ok"), fixture("ok"));
    test_ok();
    test_options();
    test_api();
    test_refused();
    test_versions();
    test_descriptors();
    test_cancel_rules();
    test_concurrency();
    test_flow_options();
    test_throttle();
    test_priority();
    test_batch();
    test_cron();
    return done_testing();
}
