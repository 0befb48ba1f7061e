/* event.c - what makes an event valid, and the form it is stored in.
 * SPDX-License-Identifier: Apache-2.0 */
#include "event.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Inngest's accepted range for "ts": 1980-01-01 .. 2100-01-01 in ms. */
#define TS_MIN 315532800000LL
#define TS_MAX 4102444800000LL

/* The "ts" V in *TS (0 for null): 0, or -1 if it is no whole number. */
static int
event_ts(struct json_object *v, int64_t *ts)
{
    double d;

    switch (json_object_get_type(v)) {
    case json_type_null:
        *ts = 0;
        return 0;
    case json_type_int:
        *ts = json_object_get_int64(v);
        return 0;
    case json_type_double:
        d = json_object_get_double(v);
        /* No libm: a plugin's test may be built without -lm. */
        if (!isfinite(d) || d > 9e15 || d < -9e15 || d != (double)(int64_t)d)
            return -1;
        *ts = (int64_t)d;
        return 0;
    default:
        return -1;
    }
}

static struct json_object *normalize(struct json_object *in,
                                     const char *where, int64_t now,
                                     int internal, char *err, size_t errlen);

struct json_object *
event_normalize(struct json_object *in, const char *where, int64_t now,
                char *err, size_t errlen)
{
    return normalize(in, where, now, 0, err, errlen);
}

struct json_object *
event_normalize_internal(struct json_object *in, const char *where,
                         int64_t now, char *err, size_t errlen)
{
    return normalize(in, where, now, 1, err, errlen);
}

int
event_host_made(const char *name)
{
    static const char *const made[] = {"inngest/function.finished",
                                       "inngest/function.failed",
                                       EVENT_INVOKED, EVENT_CRON};

    for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
        if (strcmp(name, made[i]) == 0)
            return 1;
    return 0;
}

static struct json_object *
normalize(struct json_object *in, const char *where, int64_t now,
          int internal, char *err, size_t errlen)
{
    struct json_object *out, *v, *data = NULL;
    const char *name;
    int64_t ts = 0;

    if (!json_object_is_type(in, json_type_object)) {
        snprintf(err, errlen, "%s: must be a JSON object", where);
        return NULL;
    }
    if (!json_object_object_get_ex(in, "name", &v) ||
        !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0) {
        snprintf(err, errlen,
                 "%s: \"name\" is required and must be a"
                 " non-empty string",
                 where);
        return NULL;
    }
    name = json_object_get_string(v);
    if (json_object_get_string_len(v) > EVENT_MAX_NAME) {
        snprintf(err, errlen, "%s: \"name\" is longer than %d bytes", where,
                 EVENT_MAX_NAME);
        return NULL;
    }
    if (strlen(name) != (size_t)json_object_get_string_len(v)) {
        snprintf(err, errlen, "%s: \"name\" contains a NUL byte", where);
        return NULL;
    }
    if (!(internal && event_host_made(name)) &&
        strncasecmp(name, "inngest/", 8) == 0) {
        snprintf(err, errlen,
                 "%s: event name \"%.64s\" is reserved: names"
                 " under inngest/ are for the host",
                 where, name);
        return NULL;
    }
    if (json_object_object_get_ex(in, "data", &data) && data != NULL &&
        !json_object_is_type(data, json_type_object)) {
        snprintf(err, errlen, "%s (%.64s): \"data\" must be an object", where,
                 name);
        return NULL;
    }
    if (json_object_object_get_ex(in, "ts", &v) && event_ts(v, &ts) != 0) {
        snprintf(err, errlen,
                 "%s (%.64s): \"ts\" must be an integer number"
                 " of milliseconds",
                 where, name);
        return NULL;
    }
    if (ts != 0 && (ts < TS_MIN || ts > TS_MAX)) {
        snprintf(err, errlen,
                 "%s (%.64s): \"ts\" %lld is outside 1980..2100"
                 " (it is in milliseconds)",
                 where, name, (long long)ts);
        return NULL;
    }

    out = json_object_new_object();
    json_object_object_add(out, "name", json_object_new_string(name));
    data = data != NULL ? json_object_get(data) : json_object_new_object();
    if (json_object_object_get_ex(data, "_inngest", NULL)) {
        /* Inngest strips this on ingest; copy rather than edit the input. */
        struct json_object *copy = NULL;

        json_object_deep_copy(data, &copy, NULL);
        json_object_put(data);
        data = copy;
        json_object_object_del(data, "_inngest");
    }
    json_object_object_add(out, "data", data);
    if (json_object_object_get_ex(in, "id", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_string)) {
            snprintf(err, errlen, "%s (%.64s): \"id\" must be a string", where,
                     name);
            json_object_put(out);
            return NULL;
        }
        if (json_object_get_string_len(v) > EVENT_MAX_NAME) {
            snprintf(err, errlen,
                     "%s (%.64s): \"id\" is longer than %d"
                     " bytes",
                     where, name, EVENT_MAX_NAME);
            json_object_put(out);
            return NULL;
        }
        /* Dedup reads the id as a C string: "a\u0000-1" and "a\u0000-2"
         * would be one id. */
        if (strlen(json_object_get_string(v)) !=
            (size_t)json_object_get_string_len(v)) {
            snprintf(err, errlen, "%s (%.64s): \"id\" contains a NUL byte",
                     where, name);
            json_object_put(out);
            return NULL;
        }
        if (json_object_get_string_len(v) > 0)
            json_object_object_add(out, "id", json_object_get(v));
    }
    json_object_object_add(out, "ts", json_object_new_int64(ts ? ts : now));
    if (json_object_object_get_ex(in, "v", &v) &&
        json_object_is_type(v, json_type_string))
        json_object_object_add(out, "v", json_object_get(v));
    /* Deprecated by Inngest, still sent by older SDKs: kept as given. */
    if (json_object_object_get_ex(in, "user", &v) &&
        json_object_is_type(v, json_type_object))
        json_object_object_add(out, "user", json_object_get(v));
    return out;
}
