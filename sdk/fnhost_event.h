/* fnhost_event.h - what makes an event valid, and the form it is stored
 * in: one copy shared by the host's event API (host/ingest.c) and the
 * SDK's test harness (fnhost_test.c), so a plugin's unit tests get the
 * events fnhost would hand it and refuse the ones it would refuse.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost and its SDK: everything here is static and may change
 * between releases. */
#ifndef FNHOST_EVENT_H_
#define FNHOST_EVENT_H_

#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The longest event name and id, in bytes. */
#define FH_EVENT_MAX_NAME_ 512

/* Inngest's accepted range for "ts": 1980-01-01 .. 2100-01-01 in ms. */
#define FH_EVENT_TS_MIN_ 315532800000LL
#define FH_EVENT_TS_MAX_ 4102444800000LL

static __attribute__((unused)) int
fh_event_ts_(struct json_object *v, int64_t *ts)
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

/* Validates one event IN (WHERE names it in errors: "event",
 * "events[2]"); returns the copy the host stores (new: name, data without
 * "_inngest", id, ts defaulting to NOW, v, user), or NULL with the reason
 * in ERR. */
static __attribute__((unused)) struct json_object *
fh_event_normalize_(struct json_object *in, const char *where, int64_t now, char *err,
          size_t errlen)
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
        snprintf(err, errlen, "%s: \"name\" is required and must be a"
                              " non-empty string", where);
        return NULL;
    }
    name = json_object_get_string(v);
    if (json_object_get_string_len(v) > FH_EVENT_MAX_NAME_) {
        snprintf(err, errlen, "%s: \"name\" is longer than %d bytes", where,
                 FH_EVENT_MAX_NAME_);
        return NULL;
    }
    if (strlen(name) != (size_t)json_object_get_string_len(v)) {
        snprintf(err, errlen, "%s: \"name\" contains a NUL byte", where);
        return NULL;
    }
    if (strncasecmp(name, "inngest/", 8) == 0) {
        snprintf(err, errlen, "%s: event name \"%.64s\" is reserved: names"
                              " under inngest/ are for the host", where,
                 name);
        return NULL;
    }
    if (json_object_object_get_ex(in, "data", &data) && data != NULL &&
        !json_object_is_type(data, json_type_object)) {
        snprintf(err, errlen, "%s (%.64s): \"data\" must be an object",
                 where, name);
        return NULL;
    }
    if (json_object_object_get_ex(in, "ts", &v) && fh_event_ts_(v, &ts) != 0) {
        snprintf(err, errlen, "%s (%.64s): \"ts\" must be an integer number"
                              " of milliseconds", where, name);
        return NULL;
    }
    if (ts != 0 && (ts < FH_EVENT_TS_MIN_ || ts > FH_EVENT_TS_MAX_)) {
        snprintf(err, errlen, "%s (%.64s): \"ts\" %lld is outside 1980..2100"
                              " (it is in milliseconds)", where, name,
                 (long long)ts);
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
            snprintf(err, errlen, "%s (%.64s): \"id\" must be a string",
                     where, name);
            json_object_put(out);
            return NULL;
        }
        if (json_object_get_string_len(v) > FH_EVENT_MAX_NAME_) {
            snprintf(err, errlen, "%s (%.64s): \"id\" is longer than %d"
                                  " bytes", where, name, FH_EVENT_MAX_NAME_);
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


/* Whether S is a number as RFC 8259 writes one. */
static __attribute__((unused)) int
fh_json_number_text_valid_(const char *s)
{
    s += *s == '-';
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        s += strspn(s, "0123456789");
    else
        return 0;
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return 0;
        s += 1 + strspn(s + 1, "0123456789");
    }
    if (*s == 'e' || *s == 'E') {
        s += 1 + (s[1] == '+' || s[1] == '-');
        if (*s < '0' || *s > '9')
            return 0;
        s += strspn(s, "0123456789");
    }
    return *s == '\0';
}

/* The text of the first number under V that JSON cannot carry (borrowed
 * from V), or NULL if there is none: even in strict mode json-c takes NaN,
 * Infinity, "1." and "01.5", and writes them back as they came, so an
 * event body, a step result or a run's output holding one would make the
 * API print text that is not JSON. */
static __attribute__((unused)) const char *
fh_json_bad_number_(struct json_object *v)
{
    const char *bad;

    switch (json_object_get_type(v)) {
    case json_type_double:
        bad = json_object_to_json_string(v);
        return isfinite(json_object_get_double(v)) &&
                       fh_json_number_text_valid_(bad)
                   ? NULL
                   : bad;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if ((bad = fh_json_bad_number_(json_object_array_get_idx(v, i))) !=
                NULL)
                return bad;
        return NULL;
    case json_type_object: {
        json_object_object_foreach(v, key, val) {
            (void)key;
            if ((bad = fh_json_bad_number_(val)) != NULL)
                return bad;
        }
        return NULL;
    }
    default:
        return NULL;
    }
}

#endif
