/* test_fnopt.c - unit tests for the table of per-function options.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fnhost.h"
#include "fnopt.h"
#include "registry.h"
#include "tap.h"

/* The rows must not contradict one another: each name and JSON name once,
 * ABI fields inside the options struct, ranges that hold their default. */
static void
test_table(void)
{
    int sane = 1;

    ok(fnopt_count > 0 && fnopt_count <= FNOPT_MAX, "the table fits the mask");
    for (size_t i = 0; i < fnopt_count; i++) {
        const struct fnopt *o = &fnopt_table[i];

        for (size_t j = 0; j < i; j++)
            if (strcmp(fnopt_table[j].name, o->name) == 0 ||
                (o->json != NULL && fnopt_table[j].json != NULL &&
                 strcmp(fnopt_table[j].json, o->json) == 0))
                sane = 0;
        if (o->abi != FNOPT_NONE &&
            o->abi >= sizeof(struct fh_function_opts))
            sane = 0;
        if (o->cfg == FNOPT_NONE && !(o->def >= o->lo && o->def <= o->hi))
            sane = 0;
        if (fnopt_find(o->name) != o)
            sane = 0;
    }
    ok(sane, "names are unique, ABI fields lie in fh_function_opts");
    ok(fnopt_find("retry") == NULL, "names match exactly");
}

static void
test_config_values(void)
{
    struct fnopt_set s;
    char err[256] = "";
    const struct fnopt *r = fnopt_find("retries");
    const struct fnopt *t = fnopt_find("timeout");
    const struct fnopt *b = fnopt_find("backoff_scale");

    memset(&s, 0, sizeof(s));
    is_int(fnopt_set_config(&s, "retries", "7", err, sizeof(err)), 0,
           "retries = 7 is set");
    is_int(s.v[r - fnopt_table].i, 7, "as 7");
    is_int(fnopt_set_config(&s, "timeout", "1m30s", err, sizeof(err)), 0,
           "timeout = 1m30s is set");
    is_int(s.v[t - fnopt_table].i, 90000, "in ms");
    is_int(fnopt_set_config(&s, "backoff_scale", "0.25", err, sizeof(err)),
           0, "backoff_scale = 0.25 is set");
    ok(s.v[b - fnopt_table].d == 0.25, "as a double");
    is_int((int)s.mask, 7, "and the three are marked set");

    is_int(fnopt_set_config(&s, "retries", "0x10", err, sizeof(err)), -1,
           "retries = 0x10 is refused");
    has_str(err, "retries: expected 0 to 20, got \"0x10\"", "in decimal only");
    is_int(s.v[r - fnopt_table].i, 7, "a refused value keeps the old one");
    is_int(fnopt_set_config(&s, "retries", "21", err, sizeof(err)), -1,
           "retries = 21 is refused");
    is_int(fnopt_set_config(&s, "backoff_scale", "nan", err, sizeof(err)),
           -1, "backoff_scale = nan is refused");
    has_str(err, "backoff_scale: expected a number from 0 to 1000",
            "with its range");
    is_int(fnopt_set_config(&s, "timeout", "200 years", err, sizeof(err)),
           -1, "timeout = 200 years is refused");
    is_int(fnopt_set_config(&s, "timeout", "0", err, sizeof(err)), -1,
           "timeout = 0 is refused");
    has_str(err, "timeout: must be at least 1ms", "at least 1ms");
    is_int(fnopt_set_config(&s, "timeouts.start", "0", err, sizeof(err)), 0,
           "timeouts.start = 0 (no limit) is taken");
    is_int(fnopt_set_config(&s, "timeouts.finish", "2h", err, sizeof(err)),
           0, "timeouts.finish = 2h is taken");
    is_int(s.v[fnopt_find("timeouts.finish") - fnopt_table].i, 7200000,
           "as 7200000 ms");
    is_int(fnopt_set_config(&s, "concurrency.limit", "5", err,
                            sizeof(err)), 0,
           "concurrency.limit = 5 (the first limit) is taken");
    is_int(fnopt_set_config(&s, "concurrency.limit", "100001", err,
                            sizeof(err)), -1,
           "concurrency.limit = 100001 is refused");
    has_str(err, "concurrency.limit: expected 0 to 100000", "with its range");
    is_int(fnopt_set_config(&s, "retires", "1", err, sizeof(err)), -1,
           "an unknown key is refused");
    has_str(err, "unknown function setting \"retires\"", "by name");
}

static void
test_declared(void)
{
    struct fh_function_opts o;
    struct json_object *d;
    char err[256] = "";

    memset(&o, 0, sizeof(o));
    d = fnopt_declared(&o, err, sizeof(err));
    ok(d != NULL && json_object_object_length(d) == 0,
       "zero options declare nothing");
    json_object_put(d);

    o.retries = FH_RETRIES_NONE;
    o.timeout = "2m";
    d = fnopt_declared(&o, err, sizeof(err));
    is_str(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
           "{\"retries\":0,\"timeout_ms\":120000}",
           "FH_RETRIES_NONE is 0 retries, the timeout in ms");
    is_int(fnopt_check_declared(d, err, sizeof(err)), 0,
           "what a describe process sends passes the master's check");
    json_object_put(d);

    memset(&o, 0, sizeof(o));
    o.timeouts.start = "10m";
    o.timeouts.finish = "1d";
    d = fnopt_declared(&o, err, sizeof(err));
    is_str(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
           "{\"timeouts_start_ms\":600000,\"timeouts_finish_ms\":86400000}",
           "timeouts.start and timeouts.finish, in ms");
    is_int(fnopt_check_declared(d, err, sizeof(err)), 0,
           "pass the master's check");
    json_object_put(d);
    o.timeouts.finish = "soon";
    ok(fnopt_declared(&o, err, sizeof(err)) == NULL,
       "a timeouts.finish that is no duration is refused");
    has_str(err, "timeouts.finish: ", "naming it");

    memset(&o, 0, sizeof(o));
    o.concurrency[0].limit = 10;
    o.concurrency[0].key = "event.data.workspace_id";
    d = fnopt_declared(&o, err, sizeof(err));
    is_str(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN),
           "{\"concurrency.limit\":10}",
           "the first concurrency limit is an option of the table");
    json_object_put(d);

    memset(&o, 0, sizeof(o));
    o.retries = -2;
    ok(fnopt_declared(&o, err, sizeof(err)) == NULL, "retries -2 is refused");
    has_str(err, "retries: expected 0 to 20", "out of range");

    d = json_tokener_parse("{\"retries\":21}");
    is_int(fnopt_check_declared(d, err, sizeof(err)), -1,
           "the master refuses declared retries 21");
    json_object_put(d);
    d = json_tokener_parse("{\"backoff_scale\":2}");
    is_int(fnopt_check_declared(d, err, sizeof(err)), -1,
           "and an option plugins cannot set");
    has_str(err, "unknown option \"backoff_scale\"", "naming it");
    json_object_put(d);
    d = json_tokener_parse("{\"timeout_ms\":\"1s\"}");
    is_int(fnopt_check_declared(d, err, sizeof(err)), -1,
           "and a value of the wrong type");
    json_object_put(d);
}

/* The section, then the descriptor, then the [server] default. */
static void
test_resolve(void)
{
    struct config cfg;
    struct fn_info f;
    struct fnopt_set over;
    struct json_object *d = json_tokener_parse("{\"retries\":2,"
                                               "\"timeout_ms\":5000}");
    struct json_object *fo = json_object_new_object();
    char err[256];

    config_init(&cfg);
    cfg.retries = 9;
    cfg.backoff_scale = 3;
    memset(&f, 0, sizeof(f));
    fnopt_resolve(&f, &cfg, NULL, NULL);
    ok(f.retries == 9 && f.timeout_ms == 30000 && f.backoff_scale == 3,
       "nothing declared: the [server] defaults");
    fnopt_resolve(&f, &cfg, d, NULL);
    ok(f.retries == 2 && f.timeout_ms == 5000 && f.backoff_scale == 3,
       "the descriptor's options win over the defaults");
    memset(&over, 0, sizeof(over));
    fnopt_set_config(&over, "retries", "0", err, sizeof(err));
    fnopt_set_config(&over, "backoff_scale", "0.5", err, sizeof(err));
    fnopt_resolve(&f, &cfg, d, &over);
    ok(f.retries == 0 && f.timeout_ms == 5000 && f.backoff_scale == 0.5,
       "a [function] section wins, key by key; retries = 0 counts");

    fnopt_json(&f, fo);
    is_str(json_object_to_json_string_ext(fo, JSON_C_TO_STRING_PLAIN),
           "{\"retries\":0,\"timeout_ms\":5000,\"checkpoint_ahead\":0,"
           "\"timeouts_start_ms\":0,\"timeouts_finish_ms\":0,"
           "\"rate_limit\":0,\"rate_limit_period_ms\":0,"
           "\"debounce_period_ms\":0,\"debounce_timeout_ms\":0,"
           "\"cron_jitter_ms\":0,\"throttle\":0,\"throttle_period_ms\":0,"
           "\"throttle_burst\":0,\"batch_max_size\":0,"
           "\"batch_timeout_ms\":0}",
           "GET /v1/functions shows the effective values by JSON name");
    ok(fnopt_set_config(&over, "cron_jitter", "5m", err, sizeof(err)) == 0,
       "cron_jitter 5m is allowed");
    ok(fnopt_set_config(&over, "cron_jitter", "6m", err, sizeof(err)) != 0,
       "cron_jitter 6m is not (%s)", err);
    json_object_put(fo);
    json_object_put(d);
    config_free(&cfg);
}

int
main(void)
{
    test_table();
    test_config_values();
    test_declared();
    test_resolve();
    return done_testing();
}
