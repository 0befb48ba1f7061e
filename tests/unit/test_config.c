/* test_config.c - unit tests for settings: defaults, keys, INI, env, sizes.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"
#include "util.h"

static const char *const env_keys[] = {
    "FNHOST_LISTEN",       "FNHOST_PLUGINS",
    "FNHOST_STATE",        "FNHOST_WORKERS",
    "FNHOST_RETRIES",      "FNHOST_TIMEOUT",
    "FNHOST_DEDUP_WINDOW", "FNHOST_BACKOFF_SCALE",
    "FNHOST_MAX_BODY",     "FNHOST_EVENT_KEYS",
    "FNHOST_API_KEY",      "FNHOST_SYNCHRONOUS",
    "FNHOST_LOG_LEVEL",    "FNHOST_LOAD_TIMEOUT",
    "FNHOST_WATCH",        NULL};

static char tmpdir[] = "/tmp/fnhost-test-config-XXXXXX";

/* Writes TEXT to a new file NAME in the temp folder; returns its path. */
static const char *
write_ini(const char *name, const char *text)
{
    static char path[256];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    if (f == NULL)
        return path;
    fputs(text, f);
    fclose(f);
    return path;
}

/* The string at OBJ[A][B], or NULL. */
static const char *
str2(struct json_object *obj, const char *a, const char *b)
{
    struct json_object *x, *y;

    if (!json_object_object_get_ex(obj, a, &x) ||
        !json_object_object_get_ex(x, b, &y) ||
        !json_object_is_type(y, json_type_string))
        return NULL;
    return json_object_get_string(y);
}

/* The value F's section sets for option NAME, or NULL when unset. */
static const union fnopt_value *
over(const struct config_function *f, const char *name)
{
    const struct fnopt *o = fnopt_find(name);

    if (o == NULL || !(f->set.mask & (1u << (o - fnopt_table))))
        return NULL;
    return &f->set.v[o - fnopt_table];
}

static void
test_defaults(void)
{
    struct config c;

    config_init(&c);
    is_str(c.listen, "127.0.0.1:8288", "listens on 127.0.0.1:8288");
    is_str(c.state_dir, ".fnhost", "state in .fnhost");
    ok(c.plugins_dir == NULL, "plugins folder found at start");
    ok(c.config_file == NULL, "no config file");
    is_int(c.workers, 0, "workers: one per CPU");
    is_int(c.timeout_ms, 30000, "timeout 30 s");
    is_int(c.retries, 4, "4 retries");
    ok(c.backoff_scale == 1.0, "backoff scale 1");
    is_int(c.max_body, 4 << 20, "max body 4 MiB");
    is_int(c.dedup_window_ms, 24LL * 3600 * 1000, "dedup window 24 h");
    ok(c.event_keys != NULL && c.event_keys[0] == NULL, "no event keys");
    ok(c.api_key == NULL, "no api key");
    is_str(c.synchronous, "full", "synchronous full");
    is_str(c.log_level, "info", "log level info");
    ok(c.plugin_config != NULL &&
           json_object_object_length(c.plugin_config) == 0,
       "no plugin settings");
    is_int(c.nfunctions, 0, "no function overrides");
    ok(config_function(&c, "any") == NULL, "so none is found");
    config_free(&c);
}

/* config_set(KEY, VAL) succeeds. */
static void
sets(struct config *c, const char *key, const char *val)
{
    char err[256] = "";
    int rc = config_set(c, key, val, err, sizeof(err));

    is_int(rc, 0, "%s = \"%s\" is accepted", key, val);
    if (rc != 0)
        printf("#   error: %s\n", err);
}

/* config_set(KEY, VAL) fails with an error containing WHY. */
static void
refuses(struct config *c, const char *key, const char *val, const char *why)
{
    char err[256] = "";

    is_int(config_set(c, key, val, err, sizeof(err)), -1,
           "%s = \"%s\" is refused", key, val);
    has_str(err, why, "%s = \"%s\": the error says \"%s\"", key, val, why);
}

static void
test_set(void)
{
    struct config c;

    config_init(&c);
    sets(&c, "listen", "0.0.0.0:9000");
    is_str(c.listen, "0.0.0.0:9000", "listen set");
    sets(&c, "listen", "[::1]:8288");
    is_str(c.listen, "[::1]:8288", "an IPv6 listen address");
    refuses(&c, "listen", "localhost", "listen: expected ADDRESS:PORT");
    refuses(&c, "listen", "8288", "\"8288\"");
    is_str(c.listen, "[::1]:8288", "a refused listen keeps the old one");

    sets(&c, "plugins", "/opt/plugins");
    is_str(c.plugins_dir, "/opt/plugins", "plugins set");
    sets(&c, "state", "/var/lib/fnhost");
    is_str(c.state_dir, "/var/lib/fnhost", "state set");
    sets(&c, "config", "/etc/fnhost.ini");
    is_str(c.config_file, "/etc/fnhost.ini", "config set");

    sets(&c, "workers", "8");
    is_int(c.workers, 8, "workers set");
    sets(&c, "workers", "256");
    is_int(c.workers, 256, "256 workers is the most");
    refuses(&c, "workers", "0", "workers: expected a number from 1 to 256");
    refuses(&c, "workers", "257", "workers: expected a number from 1 to 256");
    refuses(&c, "workers", "four", "got \"four\"");
    refuses(&c, "workers", "4x", "workers: expected a number");
    refuses(&c, "workers", "", "workers: expected a number");
    is_int(c.workers, 256, "a refused workers keeps the old value");

    sets(&c, "retries", "0");
    is_int(c.retries, 0, "retries 0");
    sets(&c, "retries", "20");
    is_int(c.retries, 20, "retries 20");
    refuses(&c, "retries", "21", "retries: expected 0 to 20");
    refuses(&c, "retries", "-1", "retries: expected 0 to 20");

    sets(&c, "timeout", "2m");
    is_int(c.timeout_ms, 120000, "timeout 2m");
    sets(&c, "timeout", "1500");
    is_int(c.timeout_ms, 1500, "a bare timeout is in ms");
    refuses(&c, "timeout", "2 fortnights", "timeout: invalid duration");
    refuses(&c, "timeout", "2 fortnights", "unknown unit \"fortnights\"");
    refuses(&c, "timeout", "-1s", "negative");
    refuses(&c, "timeout", "0", "timeout: must be at least 1ms");
    refuses(&c, "timeout", "0s", "timeout: must be at least 1ms");
    is_int(c.timeout_ms, 1500, "a refused timeout keeps the old value");

    sets(&c, "dedup_window", "1h");
    is_int(c.dedup_window_ms, 3600000, "dedup window 1h");
    refuses(&c, "dedup_window", "soon", "dedup_window: invalid duration");

    sets(&c, "backoff_scale", "0.5");
    ok(c.backoff_scale == 0.5, "backoff scale 0.5");
    sets(&c, "backoff_scale", "0");
    ok(c.backoff_scale == 0.0, "backoff scale 0 (tests retry at once)");
    refuses(&c, "backoff_scale", "-1",
            "backoff_scale: expected a number from"
            " 0 to 1000");
    refuses(&c, "backoff_scale", "1001", "from 0 to 1000");
    refuses(&c, "backoff_scale", "nan", "from 0 to 1000");
    refuses(&c, "backoff_scale", "1x", "got \"1x\"");

    sets(&c, "max_body", "1MiB");
    is_int(c.max_body, 1 << 20, "max body 1MiB");
    sets(&c, "max_body", "1KiB");
    is_int(c.max_body, 1024, "max body 1KiB is the least");
    refuses(&c, "max_body", "1000",
            "max_body: expected a size from 1KiB to 16MiB");
    refuses(&c, "max_body", "lots", "got \"lots\"");
    refuses(&c, "max_body", "4XB", "max_body");
    refuses(&c, "max_body", "512", "max_body: expected a size from 1KiB");
    sets(&c, "max_body", "16MiB");
    is_int(c.max_body, 16 << 20, "max body 16MiB is the most");
    /* An event must fit a worker's message with 32 MiB of stored steps. */
    refuses(&c, "max_body", "17MiB", "got \"17MiB\"");
    sets(&c, "max_body", "1KiB");
    is_int(c.max_body, 1024, "a refused max_body keeps the old value");

    sets(&c, "event_keys", "k1, k2,k3");
    ok(c.event_keys[0] && c.event_keys[1] && c.event_keys[2] &&
           !c.event_keys[3],
       "three event keys");
    is_str(c.event_keys[0], "k1", "first key");
    is_str(c.event_keys[1], "k2", "second key, spaces trimmed");
    is_str(c.event_keys[2], "k3", "third key");
    sets(&c, "event_key", "only");
    is_str(c.event_keys[0], "only", "event_key replaces the keys");
    ok(c.event_keys[1] == NULL, "with just one");
    /* Set empty, a key would open what it guards (issue #11, item 8). */
    refuses(&c, "event_keys", "", "event_keys: is empty");
    refuses(&c, "event_keys", " , ,", "event_keys: is empty");
    is_str(c.event_keys[0], "only", "a refused list keeps the old keys");

    sets(&c, "api_key", "secret");
    is_str(c.api_key, "secret", "api key set");
    refuses(&c, "api_key", "", "api_key: is empty");
    refuses(&c, "api_key", " \t ", "api_key: is empty");
    is_str(c.api_key, "secret", "a refused api key keeps the old one");

    sets(&c, "synchronous", "normal");
    is_str(c.synchronous, "normal", "synchronous normal");
    sets(&c, "synchronous", "FULL");
    refuses(&c, "synchronous", "off", "synchronous: expected full or normal");

    sets(&c, "log_level", "debug");
    is_str(c.log_level, "debug", "log level debug");
    sets(&c, "log_level", "WARN");
    refuses(&c, "log_level", "verbose",
            "log_level: expected error, warn,"
            " info or debug");

    refuses(&c, "listne", "1.2.3.4:5", "unknown setting \"listne\"");
    refuses(&c, "Workers", "3", "unknown setting");
    config_free(&c);
}

static void
test_file(void)
{
    struct config c;
    char err[512];
    const struct config_function *f;
    const char *path;
    int rc;

    path = write_ini("good.ini", "; fnhost settings\n"
                                 "[server]\n"
                                 "listen = 0.0.0.0:9000\n"
                                 "workers = 3\n"
                                 "timeout = 45s\n"
                                 "max_body = 512KiB\n"
                                 "event_keys = k1, k2\n"
                                 "\n"
                                 "[plugin user-sync]\n"
                                 "database = /var/lib/app.db\n"
                                 "greeting = hello there\n"
                                 "\n"
                                 "[plugin other]\n"
                                 "x = 1\n"
                                 "\n"
                                 "[function flaky]\n"
                                 "retries = 2\n"
                                 "backoff_scale = 0.5\n"
                                 "timeout = 5s\n"
                                 "\n"
                                 "[function quick]\n"
                                 "retries = 0\n"
                                 "\n"
                                 "[webhook clerk]\n"
                                 "secret = whsec_abc\n");
    config_init(&c);
    err[0] = '\0';
    rc = config_load_file(&c, path, err, sizeof(err));
    is_int(rc, 0, "a good config file loads");
    if (rc != 0)
        printf("#   error: %s\n", err);
    is_str(c.listen, "0.0.0.0:9000", "[server] listen");
    is_int(c.workers, 3, "[server] workers");
    is_int(c.timeout_ms, 45000, "[server] timeout");
    is_int(c.max_body, 512 * 1024, "[server] max_body");
    is_str(c.event_keys[0], "k1", "[server] event_keys");
    is_int(c.retries, 4, "unset keys keep their defaults");

    is_str(str2(c.plugin_config, "user-sync", "database"), "/var/lib/app.db",
           "[plugin user-sync] database is in the plugin config");
    is_str(str2(c.plugin_config, "user-sync", "greeting"), "hello there",
           "values keep inner spaces");
    is_str(str2(c.plugin_config, "other", "x"), "1",
           "each plugin has its own section");
    ok(str2(c.plugin_config, "other", "database") == NULL,
       "settings do not leak between plugins");
    is_int(json_object_object_length(c.plugin_config), 2,
           "exactly the two plugin sections");

    f = config_function(&c, "flaky");
    ok(f != NULL, "[function flaky] is found");
    if (f != NULL) {
        is_int(over(f, "retries")->i, 2, "its retries");
        ok(over(f, "backoff_scale")->d == 0.5, "its backoff_scale");
        is_int(over(f, "timeout")->i, 5000, "its timeout");
    }
    f = config_function(&c, "quick");
    ok(f != NULL, "[function quick] is found");
    if (f != NULL) {
        ok(over(f, "retries") != NULL && over(f, "retries")->i == 0,
           "retries 0 is kept, not taken as unset");
        ok(over(f, "backoff_scale") == NULL,
           "an unset backoff_scale stays unset");
        ok(over(f, "timeout") == NULL, "an unset timeout stays unset");
    }
    ok(config_function(&c, "flak") == NULL, "ids match exactly");
    config_free(&c);

    /* Errors name the file and the line. */
    path = write_ini("section.ini", "[server]\n"
                                    "workers = 2\n"
                                    "\n"
                                    "[servre]\n"
                                    "workers = 2\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "an unknown section is refused");
    has_str(err, path, "the error names the file");
    has_str(err, "line 5", "and the line");
    has_str(err, "unknown section [servre]", "and the section");
    config_free(&c);

    path = write_ini("value.ini", "[server]\n"
                                  "listen = 127.0.0.1:1\n"
                                  "workers = 0\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a bad value is refused");
    {
        char want[400];

        snprintf(want, sizeof(want),
                 "config %s: line 3: workers: expected a"
                 " number from 1 to 256",
                 path);
        has_str(err, want, "as \"config PATH: line 3: workers: ...\"");
    }
    config_free(&c);

    path = write_ini("fn.ini", "[function f]\n"
                               "retries = 2\n"
                               "retry = 3\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "an unknown function setting is refused");
    has_str(err, "line 3: unknown function setting \"retry\"",
            "with its line and name");
    config_free(&c);

    path = write_ini("fnval.ini", "[function f]\n"
                                  "backoff_scale = fast\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a bad function value is refused");
    has_str(err, "line 2: backoff_scale: expected a number",
            "with its line and reason");
    config_free(&c);

    path = write_ini("cron.ini", "[function f]\n"
                                 "cron = TZ=Europe/Paris 0 2 * * *;"
                                 " 0 3 * * MON \n"
                                 "[function g]\n"
                                 "cron =\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "cron schedules separated by ';', or none, are read (%s)", err);
    is_str(config_function(&c, "f")->cron,
           "TZ=Europe/Paris 0 2 * * *; 0 3 * * MON",
           "as written; the registry splits them");
    is_str(config_function(&c, "g")->cron, "", "an empty one is none");
    config_free(&c);
    {
        static const char *const bad[][2] = {
            {"0 2 * *", "line 2: cron: \"0 2 * *\": expected 5 fields"},
            {"0 2 * * *; 0 2 * * *", "cron: \"0 2 * * *\" is there twice"},
            {"1 * * * *;2 * * * *;3 * * * *;4 * * * *;5 * * * *;"
             "6 * * * *", "more schedules than the most, 5"},
            {"TZ=Mars/Olympus 0 2 * * *", "unknown time zone"},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char text[256];

            snprintf(text, sizeof(text), "[function f]\ncron = %s\n",
                     bad[i][0]);
            path = write_ini("cronbad.ini", text);
            config_init(&c);
            err[0] = '\0';
            is_int(config_load_file(&c, path, err, sizeof(err)), -1,
                   "cron = %s is refused", bad[i][0]);
            has_str(err, bad[i][1], "saying why");
            config_free(&c);
        }
    }

    /* Expressions and the singleton's mode, as text; "" removes. */
    path = write_ini("expr.ini", "[function f]\n"
                                 "if = event.data.plan == \"pro\"\n"
                                 "rate_limit.key = event.data.ws\n"
                                 "singleton.mode = cancel\n"
                                 "concurrency.key = event.data.a\n"
                                 "idempotency =\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "expression settings are read (%s)", err);
    is_str(config_function(&c, "f")->expr[0], "event.data.plan == \"pro\"",
           "if, as written");
    is_str(config_function(&c, "f")->expr[fnopt_expr_find("rate_limit.key") -
                                          fnopt_exprs],
           "event.data.ws", "rate_limit.key");
    is_str(config_function(&c, "f")->expr[1], "", "an empty one removes");
    is_str(config_function(&c, "f")->singleton_mode, "cancel",
           "singleton.mode");
    is_str(config_function(&c, "f")->conc_key, "event.data.a",
           "concurrency.key");
    ok(config_function(&c, "f")->expr[fnopt_expr_find("debounce.key") -
                                      fnopt_exprs] == NULL,
       "one not set is the plugin's (NULL)");
    config_free(&c);
    {
        static const char *const bad[][2] = {
            {"if = event.data.plan ==", "line 2: if: column"},
            {"singleton.key = (", "line 2: singleton.key: column"},
            {"singleton.mode = later",
             "singleton.mode: expected skip, cancel or nothing"},
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char text[256];

            snprintf(text, sizeof(text), "[function f]\n%s\n", bad[i][0]);
            path = write_ini("exprbad.ini", text);
            config_init(&c);
            err[0] = '\0';
            is_int(config_load_file(&c, path, err, sizeof(err)), -1,
                   "%s is refused", bad[i][0]);
            has_str(err, bad[i][1], "saying why (%s)", err);
            config_free(&c);
        }
    }

    path = write_ini("syntax.ini", "[server]\n"
                                   "workers 3\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a line without '=' is refused");
    has_str(err, "line 2: syntax error", "as a syntax error on its line");
    config_free(&c);

    /* The first error names its line: a bad value further down must
     * not hide the earlier line, nor be blamed on it. */
    path = write_ini("first.ini", "[server]\n"
                                  "listen = 127.0.0.1:1\n"
                                  "workers 3\n"
                                  "retries = 2\n"
                                  "workers = 999\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a syntax error before a bad value is refused");
    has_str(err, "line 3: syntax error", "reporting the first bad line, 3");
    config_free(&c);

    path = write_ini("late.ini", "[server]\n"
                                 "listen = 127.0.0.1:1\n"
                                 "\n"
                                 "retries = 2\n"
                                 "workers = 999\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a bad value on line 5 is refused");
    has_str(err, "line 5: workers: expected a number from 1 to 256",
            "as \"line 5: workers: ...\"");
    config_free(&c);

    /* A function timeout of 0 would mean no limit at all: refused, and a
     * later file cannot zero one that an earlier file set. */
    path = write_ini("fntime.ini", "[function f]\n"
                                   "timeout = 5s\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "[function f] timeout = 5s loads");
    path = write_ini("fnzero.ini", "[function f]\n"
                                   "timeout = 0\n");
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "[function f] timeout = 0 is refused");
    has_str(err, "line 2: timeout: must be at least 1ms",
            "with its line and reason");
    f = config_function(&c, "f");
    ok(f != NULL && over(f, "timeout") != NULL &&
           over(f, "timeout")->i == 5000,
       "a refused function timeout keeps the old value");
    config_free(&c);

    path = write_ini("nosection.ini", "workers = 3\n");
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a key before any section is refused");
    has_str(err, "line 1", "with its line");
    config_free(&c);

    config_init(&c);
    err[0] = '\0';
    {
        char missing[300];

        snprintf(missing, sizeof(missing), "%s/missing.ini", tmpdir);
        is_int(config_load_file(&c, missing, err, sizeof(err)), -1,
               "a missing file is an error");
        has_str(err, missing, "naming the file");
        has_str(err, "No such file", "and why");
    }
    config_free(&c);
}

static void
test_env(void)
{
    struct config c;
    char err[256];

    for (size_t i = 0; env_keys[i] != NULL; i++)
        unsetenv(env_keys[i]);
    config_init(&c);
    is_int(config_load_env(&c, err, sizeof(err)), 0,
           "no FNHOST_* variables: nothing to do");
    is_str(c.listen, "127.0.0.1:8288", "and nothing changes");

    setenv("FNHOST_WORKERS", "3", 1);
    setenv("FNHOST_LISTEN", "0.0.0.0:18288", 1);
    setenv("FNHOST_MAX_BODY", "8MiB", 1);
    setenv("FNHOST_EVENT_KEYS", "a,b", 1);
    setenv("FNHOST_STATE", "", 1);
    is_int(config_load_env(&c, err, sizeof(err)), 0, "FNHOST_* variables load");
    is_int(c.workers, 3, "FNHOST_WORKERS=3");
    is_str(c.listen, "0.0.0.0:18288", "FNHOST_LISTEN");
    is_int(c.max_body, 8 << 20, "FNHOST_MAX_BODY");
    is_str(c.event_keys[1], "b", "FNHOST_EVENT_KEYS");
    is_str(c.state_dir, ".fnhost", "an empty variable is ignored");

    setenv("FNHOST_WORKERS", "lots", 1);
    err[0] = '\0';
    is_int(config_load_env(&c, err, sizeof(err)), -1,
           "a bad FNHOST_WORKERS is refused");
    has_str(err, "FNHOST_WORKERS: workers: expected a number from 1 to 256",
            "naming the variable and the reason");
    config_free(&c);
    for (size_t i = 0; env_keys[i] != NULL; i++)
        unsetenv(env_keys[i]);
}

/* The table's rows follow one naming rule, so a flag or a variable can be
 * guessed from the key; and every row documents itself. */
static void
test_table(void)
{
    struct config c;
    char err[256];

    for (size_t i = 0; i < config_nsettings; i++) {
        const struct config_setting *s = &config_settings[i];
        char env[64], flag[64];
        size_t j;

        snprintf(env, sizeof(env), "FNHOST_%s", s->key);
        for (j = 7; env[j] != '\0'; j++)
            env[j] = (char)(env[j] >= 'a' && env[j] <= 'z' ? env[j] - 32
                                                            : env[j]);
        snprintf(flag, sizeof(flag), "--%s", s->key);
        for (j = 2; flag[j] != '\0'; j++)
            flag[j] = flag[j] == '_' ? '-' : flag[j];
        is_str(s->env, env, "%s: its variable is %s", s->key, env);
        is_str(s->flag, flag, "%s: its flag is %s", s->key, flag);
        ok(s->help != NULL && *s->help != '\0' &&
               (s->def != NULL || s->def_doc != NULL),
           "%s: it has help and a default", s->key);
        ok(config_setting_find(s->key) == s, "%s: it is found", s->key);
    }
    ok(config_setting_find("event_key") == config_setting_find("event_keys"),
       "event_key is event_keys");
    ok(config_setting_find("nope") == NULL, "an unknown key is not found");

    config_init(&c);
    ok(!config_is_set(&c, "state") && !config_is_set(&c, "listen"),
       "a default is not set");
    sets(&c, "state", ".fnhost");
    ok(config_is_set(&c, "state"), "a setting to the default value is set");
    ok(!config_is_set(&c, "listen"), "and the others are not");
    setenv("FNHOST_LISTEN", "127.0.0.1:1", 1);
    is_int(config_load_env(&c, err, sizeof(err)), 0, "FNHOST_LISTEN loads");
    ok(config_is_set(&c, "listen"), "a variable sets it");
    unsetenv("FNHOST_LISTEN");

    /* Settings that had no flag get one from the table; their errors
     * name them. */
    sets(&c, "load_timeout", "3s");
    is_int(c.load_timeout_ms, 3000, "load_timeout 3s");
    refuses(&c, "load_timeout", "0", "load_timeout: must be at least 1ms");
    sets(&c, "watch", "yes");
    is_int(c.watch, 1, "watch = yes");
    sets(&c, "watch", "no");
    is_int(c.watch, 0, "watch = no");
    config_free(&c);

    /* [webhook NAME] keys: the same rows, in their own table. */
    config_init(&c);
    is_int(config_set_webhook(&c, "acme", "tolerance", "10m", err,
                              sizeof(err)), 0, "a webhook tolerance loads");
    is_int(c.webhooks[0].tolerance_ms, 600000, "as 10 minutes");
    is_int(c.webhooks[0].dedup_window_ms, 72LL * 3600 * 1000,
           "a new source has the default dedup window, 72h");
    is_int(config_set_webhook(&c, "acme", "tolerance", "500ms", err,
                              sizeof(err)), -1, "a tolerance under 1s is"
                                                " refused");
    has_str(err, "tolerance: expected a duration of at least 1s, got"
                 " \"500ms\"", "saying so");
    is_int(c.webhooks[0].tolerance_ms, 600000, "and keeps the old value");
    config_set_webhook(&c, "acme", "secret", "s1", err, sizeof(err));
    config_set_webhook(&c, "acme", "secrets", "s2 s3", err, sizeof(err));
    is_str(c.webhooks[0].secrets, "s1\ns2 s3",
           "each secret setting adds a line (secrets too)");
    is_int(config_set_webhook(&c, "acme", "secret", " ", err, sizeof(err)),
           -1, "an empty webhook secret is refused");
    has_str(err, "secret: is empty", "saying so");
    is_str(c.webhooks[0].secrets, "s1\ns2 s3", "and adds no line");
    is_int(config_set_webhook(&c, "acme", "secert", "x", err, sizeof(err)),
           -1, "an unknown webhook key is refused");
    has_str(err, "unknown webhook setting \"secert\"", "by name");
    config_free(&c);
}

static void
size_is(const char *s, size_t want)
{
    size_t v = 0;
    int rc = config_parse_size(s, &v);

    ok(rc == 0 && v == want, "\"%s\" is %zu bytes", s, want);
    if (rc != 0 || v != want)
        printf("#   rc %d, got %zu\n", rc, v);
}

static void
size_bad(const char *s)
{
    size_t v = 7;

    is_int(config_parse_size(s, &v), -1, "\"%s\" is not a size", s);
}

static void
test_sizes(void)
{
    size_is("4MiB", 4u << 20);
    size_is("512KiB", 512u << 10);
    size_is("1000", 1000);
    size_is("1MB", 1000000);
    size_is("1mb", 1000000);
    size_is("2 GiB", (size_t)2 << 30);
    size_is("10k", 10000);
    size_is("0", 0);
    size_bad("x");
    size_bad("4XB");
    size_bad("");
    size_bad("-1");
    size_bad(" 1");
    size_bad("1.5MiB");
    size_bad("99999999999999999999999");
    size_bad("18446744073709551615GiB");
}

/* Lines as long as users need (issue #11, item 16): a JWT, a long list of
 * keys, a function id of 128 bytes; one byte over the limit is refused
 * with its line. The old reader stopped at 198 bytes a line and cut
 * section names at 49. */
static void
test_long_lines(void)
{
    enum { MAX = 65536 };
    struct config c;
    char err[512], *text, *jwt, *keys, id[129];
    const char *path;
    size_t n;

    jwt = xmalloc(4097);
    for (size_t i = 0; i < 4096; i++)
        jwt[i] = "abcdefghijklmnopqrstuvwxyz0123456789-_."[i % 39];
    jwt[4096] = '\0';
    keys = xmalloc(1000 * 21 + 1);
    n = 0;
    for (int i = 0; i < 1000; i++)
        n += (size_t)sprintf(keys + n, "%skey-%015d", i ? "," : "", i);
    memset(id, 'f', 128);
    id[128] = '\0';
    text = xasprintf("[server]\nevent_keys = %s ; a comment\n"
                     "[plugin auth]\ntoken = %s\n", keys, jwt);
    path = write_ini("long.ini", text);
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "a file with lines of 4 and 21 KB loads");
    if (err[0] != '\0')
        printf("#   error: %s\n", err);
    is_str(str2(c.plugin_config, "auth", "token"), jwt,
           "a 4 KB value is read whole");
    for (n = 0; c.event_keys[n] != NULL; n++)
        ;
    is_int(n, 1000, "all of 1000 keys are read");
    is_str(n == 1000 ? c.event_keys[999] : "", "key-000000000000999",
           "the last one without the comment after it");
    config_free(&c);
    free(text);

    /* The syntax of the old reader (inih 55) stays: a BOM, "key: value",
     * inline " ;" comments but not ";" inside a value, # comment lines,
     * indented lines continuing a value (comment and all), CRLF. */
    path = write_ini("syntax2.ini", "\xEF\xBB\xBF[plugin s]\r\n"
                                    "a: one ; a comment\r\n"
                                    "# a comment line\n"
                                    "b = x;y\n"
                                    "c = first\n"
                                    "  second ; cut\n"
                                    "d =\n"
                                    "= no key\n"
                                    "  e = 5\n");
    config_init(&c);
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "a file in inih's syntax loads");
    is_str(str2(c.plugin_config, "s", "a"), "one", "key: value");
    is_str(str2(c.plugin_config, "s", "b"), "x;y",
           "a ';' without a space before it is in the value");
    is_str(str2(c.plugin_config, "s", "c"), "second ; cut",
           "an indented line sets the key before it again, as it is");
    is_str(str2(c.plugin_config, "s", "d"), "", "an empty value");
    is_str(str2(c.plugin_config, "s", "e"), "5",
           "after a line with no key, an indented line is one of its own");
    config_free(&c);

    /* A file that holds a secret and that others can read is said to. */
    path = write_ini("hook.ini", "[webhook w]\nsecret = whsec_abc\n");
    chmod(path, 0640);
    config_init(&c);
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "a file with a webhook secret loads");
    has_str(c.file_warning ? c.file_warning : "",
            "holds a webhook secret and is readable by its group (mode 640)",
            "with a warning when its group can read it");
    config_free(&c);
    chmod(path, 0600);
    config_init(&c);
    config_load_file(&c, path, err, sizeof(err));
    ok(c.file_warning == NULL, "and none at mode 600");
    config_free(&c);

    text = xasprintf("[function %s]\nretries = 3\n", id);
    path = write_ini("longid.ini", text);
    config_init(&c);
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "a [function ID] with an id of 128 bytes loads");
    ok(config_function(&c, id) != NULL, "and is found by its whole id");
    config_free(&c);
    free(text);

    /* A value that ends the line at the limit loads; one byte more is
     * refused, naming the line. */
    text = xmalloc(MAX + 32);
    n = (size_t)sprintf(text, "[plugin p]\n; a comment\nk = ");
    memset(text + n, 'v', MAX - 4);
    strcpy(text + n + MAX - 4, "\n");
    path = write_ini("limit.ini", text);
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), 0,
           "a line of exactly 64 KiB loads");
    ok(str2(c.plugin_config, "p", "k") != NULL &&
           strlen(str2(c.plugin_config, "p", "k")) == MAX - 4,
       "with all of its value");
    config_free(&c);
    strcpy(text + n + MAX - 4, "v\nx = 1\n");
    path = write_ini("over.ini", text);
    config_init(&c);
    err[0] = '\0';
    is_int(config_load_file(&c, path, err, sizeof(err)), -1,
           "a line of 64 KiB and a byte is refused");
    has_str(err, "line 3: the line is longer than 65536 bytes",
            "naming its line and the limit");
    config_free(&c);
    free(text);
    free(keys);
    free(jwt);
}

int
main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_set();
    test_file();
    test_long_lines();
    test_env();
    test_sizes();
    test_table();
    {
        static const char *const names[] = {
            "good.ini",  "section.ini", "value.ini",     "fn.ini",
            "fnval.ini", "syntax.ini",  "nosection.ini", "first.ini",
            "late.ini",  "fntime.ini",  "fnzero.ini",    "long.ini",
            "limit.ini", "over.ini",    "longid.ini",    "syntax2.ini",
            "hook.ini",  NULL};
        char p[300];

        for (size_t i = 0; names[i] != NULL; i++) {
            snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
            unlink(p);
        }
        rmdir(tmpdir);
    }
    return done_testing();
}
