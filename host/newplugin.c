/* newplugin.c - `fnhost new-plugin NAME`: a ready-to-build plugin folder.
 * SPDX-License-Identifier: Apache-2.0 */
#include "newplugin.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/* The templates; "@N@" becomes the plugin's name. */
static const char plugin_c[] =
    "/* @N@.c - the @N@ fnhost plugin.\n"
    " *\n"
    " *   make                 build @N@.so\n"
    " *   make check           run test_@N@.c on the SDK's test harness\n"
    " *   cp @N@.so PLUGINS/ && fnhost reload      load it into fnhost\n"
    " *   fnhost send @N@/hello --data @event.json   run it\n"
    " */\n"
    "#include <stdio.h>\n"
    "\n"
    "#include <fnhost.h>\n"
    "\n"
    "/* A step. Its result is stored once it returns FH_OK: when the run\n"
    " * resumes (after a sleep, a retry, a restart), the handler runs again\n"
    " * from the top and this step returns the stored result instead of\n"
    " * running. Effects (emails, payments, writes) belong in steps. */\n"
    "static int\n"
    "greet(struct fh_ctx *ctx, void *arg, struct json_object **result)\n"
    "{\n"
    "    const struct fh_event *ev = arg;\n"
    "    const char *who = fh_json_str(ev->data, \"who\");\n"
    "    char text[256];\n"
    "\n"
    "    if (who == NULL)\n"
    "        return fh_fail(ctx, FH_NO_RETRY, \"the event has no data.who\");\n"
    "    snprintf(text, sizeof(text), \"hello, %s\", who);\n"
    "    fh_log(ctx, FH_LOG_INFO, \"%s\", text);\n"
    "    *result = json_object_new_string(text); /* the host takes it */\n"
    "    return FH_OK;\n"
    "}\n"
    "\n"
    "/* The handler: steps with FH_STEP, sleeps with FH_SLEEP (\"3 days\");\n"
    " * both return from here when the run must stop. */\n"
    "static int\n"
    "hello(struct fh_ctx *ctx, const struct fh_event *ev)\n"
    "{\n"
    "    struct json_object *greeting;\n"
    "\n"
    "    FH_STEP_RESULT(ctx, \"greet\", greet, ev, &greeting);\n"
    "    fh_set_output(ctx, json_object_get(greeting));\n"
    "    return FH_OK;\n"
    "}\n"
    "\n"
    "static const struct fh_function functions[] = {\n"
    "    {.id = \"@N@-hello\", /* stable: runs are stored under it */\n"
    "     .name = \"Say hello\",\n"
    "     .run = hello,\n"
    "     .triggers = FH_EVENTS(\"@N@/hello\")},\n"
    "    FH_FUNCTIONS_END,\n"
    "};\n"
    "\n"
    "FH_PLUGIN(.name = \"@N@\", .version = \"0.1.0\", .functions = functions);\n";

/* "@MK@" becomes the fnhost.mk of the fnhost that wrote the folder, if it
 * has one: a custom PREFIX then needs no PKG_CONFIG_PATH. */
static const char makefile[] =
    "# Build with the fnhost SDK: the fnhost.mk of the fnhost that wrote\n"
    "# this, else pkg-config's; or make FNHOST_MK=/path/to/fnhost.mk\n"
    "PLUGIN = @N@\n"
    "SRCS = @N@.c\n"
    "FNHOST_MK ?= $(or $(wildcard @MK@),$(shell pkg-config"
    " --variable=mkfile fnhost 2>/dev/null))\n"
    "include $(or $(FNHOST_MK),$(error fnhost.mk not found: set"
    " PKG_CONFIG_PATH=PREFIX/lib/pkgconfig, PREFIX being where fnhost is"
    " installed, or FNHOST_MK=/path/to/fnhost/sdk/fnhost.mk))\n";

static const char test_c[] =
    "/* test_@N@.c - unit tests of @N@ on the SDK's test harness (make check):\n"
    " * the function runs here, without the daemon. */\n"
    "#include <stdio.h>\n"
    "#include <string.h>\n"
    "\n"
    "#include <fnhost_test.h>\n"
    "\n"
    "const struct fh_plugin *fh_plugin_entry(void);\n"
    "\n"
    "static int failed;\n"
    "\n"
    "static void\n"
    "check(int ok, const char *what)\n"
    "{\n"
    "    printf(\"%sok - %s\\n\", ok ? \"\" : \"not \", what);\n"
    "    failed += !ok;\n"
    "}\n"
    "\n"
    "int\n"
    "main(void)\n"
    "{\n"
    "    struct fh_test *t = fh_test_new(fh_plugin_entry());\n"
    "    struct fh_test_result r;\n"
    "\n"
    "    check(t != NULL, \"the plugin passes the host's checks\");\n"
    "    if (t == NULL)\n"
    "        return 1;\n"
    "    fh_test_run_all(t, \"@N@-hello\",\n"
    "                    \"{\\\"name\\\": \\\"@N@/hello\\\", \\\"data\\\": {\\\"who\\\": \\\"Ada\\\"}}\", &r);\n"
    "    check(r.status == FH_TEST_COMPLETED, \"a run completes\");\n"
    "    check(r.output != NULL && strcmp(r.output, \"\\\"hello, Ada\\\"\") == 0,\n"
    "          \"with the greeting as its output\");\n"
    "    check(fh_test_ran(&r, \"greet\") != NULL, \"the greet step ran\");\n"
    "    fh_test_result_free(&r);\n"
    "\n"
    "    /* A stored result is replayed, not run again. */\n"
    "    fh_test_new_run(t);\n"
    "    fh_test_step_result(t, \"greet\", \"\\\"hello, stored\\\"\");\n"
    "    fh_test_run(t, \"@N@-hello\", \"{\\\"name\\\": \\\"@N@/hello\\\", \\\"data\\\": {\\\"who\\\": \\\"Bob\\\"}}\", &r);\n"
    "    check(fh_test_replayed(&r, \"greet\"), \"a stored step is replayed\");\n"
    "    check(r.output != NULL && strcmp(r.output, \"\\\"hello, stored\\\"\") == 0,\n"
    "          \"and its stored result used\");\n"
    "    fh_test_result_free(&r);\n"
    "\n"
    "    fh_test_new_run(t);\n"
    "    fh_test_run_all(t, \"@N@-hello\", \"{\\\"name\\\": \\\"@N@/hello\\\", \\\"data\\\": {}}\", &r);\n"
    "    check(r.status == FH_TEST_FAILED && r.no_retry,\n"
    "          \"an event without data.who fails without retry\");\n"
    "    fh_test_result_free(&r);\n"
    "    fh_test_free(t);\n"
    "    printf(\"%d failed\\n\", failed);\n"
    "    return failed != 0;\n"
    "}\n";

static const char event_json[] = "{\"who\": \"Ada\"}\n";

static const char readme[] =
    "# @N@\n"
    "\n"
    "An fnhost plugin. `make` builds `@N@.so`, `make check` runs its unit\n"
    "tests on the SDK's harness. To load it, copy `@N@.so` into fnhost's\n"
    "plugin folder (`chmod go-w` it) and run `fnhost reload`; then\n"
    "`fnhost send @N@/hello --data @event.json` starts a run of `@N@-hello`.\n";

/* The fnhost.mk beside this binary (new), or "" if it has none:
 * PREFIX/share/fnhost/fnhost.mk for PREFIX/bin/fnhost, or a checkout's
 * sdk/fnhost.mk for its build/fnhost. */
static char *
own_mkfile(void)
{
    static const char *const rel[] = {"../share/fnhost/fnhost.mk",
                                      "../sdk/fnhost.mk"};
    char *exe = realpath("/proc/self/exe", NULL), *slash, *mk;

    if (exe == NULL || (slash = strrchr(exe, '/')) == NULL) {
        free(exe);
        return xstrdup("");
    }
    *slash = '\0';
    for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
        char *path = xasprintf("%s/%s", exe, rel[i]);

        mk = realpath(path, NULL);
        free(path);
        if (mk != NULL) {
            free(exe);
            return mk;
        }
    }
    free(exe);
    return xstrdup("");
}

static int
write_template(const char *dir, const char *file, const char *tmpl,
               const char *name)
{
    char *path = xasprintf("%s/%s", dir, file);
    FILE *f = fopen(path, "wx");
    int rc = 0;

    if (f == NULL) {
        fprintf(stderr, "fnhost: cannot create %s: %s\n", path,
                strerror(errno));
        free(path);
        return -1;
    }
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (strncmp(p, "@N@", 3) == 0) {
            fputs(name, f);
            p += 2;
        } else if (strncmp(p, "@MK@", 4) == 0) {
            char *mk = own_mkfile();

            fputs(mk, f);
            free(mk);
            p += 3;
        } else {
            fputc(*p, f);
        }
    }
    if (fclose(f) != 0)
        rc = -1;
    printf("  %s\n", path);
    free(path);
    return rc;
}

int
newplugin_main(const char *name, const char *dir)
{
    char *file;
    int rc = 0;

    /* The name becomes a file name, a C string, a plugin name and an
     * event prefix: keep it plain. */
    if (*name == '\0' || strlen(name) > 40 ||
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") !=
            strlen(name) ||
        name[0] == '-') {
        fprintf(stderr, "fnhost: a plugin name is 1 to 40 lower-case letters,"
                        " digits, '-' or '_': \"%s\"\n", name);
        return 2;
    }
    if (mkdir(dir, 0755) != 0) {
        fprintf(stderr, "fnhost: cannot create %s: %s\n", dir,
                strerror(errno));
        return 1;
    }
    printf("new plugin %s in %s:\n", name, dir);
    file = xasprintf("%s.c", name);
    rc |= write_template(dir, file, plugin_c, name);
    free(file);
    file = xasprintf("test_%s.c", name);
    rc |= write_template(dir, file, test_c, name);
    free(file);
    rc |= write_template(dir, "Makefile", makefile, name);
    rc |= write_template(dir, "event.json", event_json, name);
    rc |= write_template(dir, "README.md", readme, name);
    if (rc == 0)
        printf("next: cd %s && make && make check\n", dir);
    return rc == 0 ? 0 : 1;
}
