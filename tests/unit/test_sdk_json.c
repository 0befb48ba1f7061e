/* test_sdk_json.c - unit tests for the SDK's payload readers (fh_json_*),
 * the inline helpers of sdk/fnhost.h that plugins call on event data.
 * SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>

#include "fnhost.h"
#include "tap.h"

static const char payload[] =
    "{\"data\": {\"object\": {\"id\": \"cus_1\", \"n\": 42, \"neg\": -7,"
    " \"whole\": 3.0, \"frac\": 2.5, \"big\": 18446744073709551615,"
    " \"max\": 9223372036854775807, \"huge\": 1e300, \"yes\": true,"
    " \"no\": false, \"nil\": null, \"one\": 1, \"str\": \"true\","
    " \"0\": \"zero-key\"},"
    " \"items\": [{\"id\": \"a\"}, {\"id\": \"b\"}, [10, 20]],"
    " \"a.b\": \"dotted\"}}";

int
main(void)
{
    struct json_object *o = json_tokener_parse(payload);
    struct json_object *v;
    int64_t i = 99;
    double d = -1;
    int b = 7;

    ok(o != NULL, "the payload parses");

    /* fh_json_get: objects, arrays, and what is "nothing". */
    ok(fh_json_get(o, "") == o, "an empty path is the object itself");
    v = fh_json_get(o, "data.object");
    ok(v != NULL && json_object_is_type(v, json_type_object),
       "data.object is the nested object");
    is_str(fh_json_str(o, "data.object.id"), "cus_1", "a string three deep");
    is_str(fh_json_str(o, "data.items.1.id"), "b", "a number indexes an array");
    ok(fh_json_int(o, "data.items.2.1", &i) == 0 && i == 20,
       "an array inside an array");
    ok(fh_json_get(o, "data.items.3") == NULL, "an index past the end");
    ok(fh_json_get(o, "data.items.01") == NULL, "no leading zero");
    ok(fh_json_get(o, "data.items.-1") == NULL, "no sign");
    ok(fh_json_get(o, "data.items.x") == NULL, "a key on an array");
    is_str(fh_json_str(o, "data.object.0"), "zero-key",
           "on an object a number is a key");
    ok(fh_json_get(o, "data.missing.id") == NULL, "a missing part");
    ok(fh_json_get(o, "data.object.id.more") == NULL,
       "a part past a string");
    ok(fh_json_get(o, "data.object.nil") == NULL, "null is nothing");
    ok(fh_json_get(o, "data.object.") == NULL, "a trailing dot names no key");
    ok(fh_json_get(o, "data.a.b") == NULL,
       "a key holding a dot is out of reach");
    ok(fh_json_get(NULL, "data") == NULL, "a NULL object");
    {
        char longkey[400];

        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = '\0';
        ok(fh_json_get(o, longkey) == NULL, "a part past 255 bytes");
    }

    /* fh_json_str: only strings. */
    ok(fh_json_str(o, "data.object.n") == NULL, "a number is not a string");
    ok(fh_json_str(o, "data.object") == NULL, "an object is not a string");

    /* fh_json_int */
    ok(fh_json_int(o, "data.object.n", &i) == 0 && i == 42, "an integer");
    ok(fh_json_int(o, "data.object.neg", &i) == 0 && i == -7, "a negative");
    ok(fh_json_int(o, "data.object.whole", &i) == 0 && i == 3,
       "3.0 is the integer 3");
    i = 99;
    ok(fh_json_int(o, "data.object.frac", &i) == -1 && i == 99,
       "2.5 is not an integer, and *out is untouched");
    ok(fh_json_int(o, "data.object.max", &i) == 0 && i == INT64_MAX,
       "INT64_MAX itself");
    i = 99;
    ok(fh_json_int(o, "data.object.big", &i) == -1 && i == 99,
       "2^64-1 does not fit");
    ok(fh_json_int(o, "data.object.huge", &i) == -1, "1e300 does not fit");
    ok(fh_json_int(o, "data.object.id", &i) == -1, "a string is no integer");
    ok(fh_json_int(o, "data.object.yes", &i) == -1, "true is no integer");
    ok(fh_json_int(o, "data.object.nil", &i) == -1, "null is no integer");

    /* fh_json_number */
    ok(fh_json_number(o, "data.object.frac", &d) == 0 && d == 2.5, "2.5");
    ok(fh_json_number(o, "data.object.n", &d) == 0 && d == 42.0,
       "an integer is a number");
    ok(fh_json_number(o, "data.object.str", &d) == -1,
       "a string is no number");

    /* fh_json_bool: true and false only. */
    ok(fh_json_bool(o, "data.object.yes", &b) == 0 && b == 1, "true");
    ok(fh_json_bool(o, "data.object.no", &b) == 0 && b == 0, "false");
    b = 7;
    ok(fh_json_bool(o, "data.object.one", &b) == -1 && b == 7,
       "1 is not a boolean");
    ok(fh_json_bool(o, "data.object.str", &b) == -1,
       "\"true\" is not a boolean");
    ok(fh_json_bool(o, "data.object.nil", &b) == -1, "null is not false");

    json_object_put(o);
    return done_testing();
}
