/* wait.c - what a wait for an event matches: paths and their values.
 * SPDX-License-Identifier: Apache-2.0 */
#include "wait.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "fnhost.h"

int
wait_path_ok(const char *path)
{
    size_t n, part = 0;

    if (path == NULL || (n = strlen(path)) == 0 || n > WAIT_MAX_PATH)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (path[i] == '.' || path[i] == '\0') {
            if (part == 0 || part > 127)
                return 0;
            part = 0;
        } else {
            part++;
        }
    }
    return 1;
}

char *
wait_value_at(struct json_object *obj, const char *path)
{
    struct json_object *v;
    const char *text;
    size_t len;
    char *out;

    /* The walk plugins use (fh_json_get()): one meaning for a path. */
    if (obj == NULL || !wait_path_ok(path) ||
        (v = fh_json_get(obj, path)) == NULL)
        return NULL;
    text = json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (text == NULL || len > WAIT_MAX_VALUE || (out = malloc(len + 1)) == NULL)
        return NULL;
    memcpy(out, text, len + 1);
    return out;
}

int
wait_value_matches(struct json_object *candidate, const char *path,
                   const char *value)
{
    char *v;
    int eq;

    if (path == NULL)
        return 1;
    if (value == NULL || (v = wait_value_at(candidate, path)) == NULL)
        return 0;
    eq = strcmp(v, value) == 0;
    free(v);
    return eq;
}
