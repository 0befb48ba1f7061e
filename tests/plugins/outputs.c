/* outputs.c - fixture: what a handler returns that the API must not serve
 * as it came: bytes that are not UTF-8, and outputs, results and errors
 * of any size.
 * SPDX-License-Identifier: Apache-2.0
 *
 * One function, "outputs" on test/out, with no retries; data says what it
 * does (the first key that is set wins):
 *   fail_utf8     fh_fail() with a message holding bytes that are not UTF-8
 *   name_utf8     a step whose name is not UTF-8
 *   result_utf8   a step result string that is not UTF-8
 *   output_utf8   an output string that is not UTF-8
 *   result_bytes  a step result: a string of that many bytes
 *   output_bytes  an output: a string of that many bytes
 *   error_bytes   fh_fail() with a message of that many bytes
 * With none, the output is "ok". */
#include <stdlib.h>
#include <string.h>

#include <fnhost.h>

static int
data_int(const struct fh_event *ev, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(ev->data, key, &v))
        return 0;
    return json_object_get_int(v);
}

/* A string of N bytes of C (new). */
static char *
filled(int n, char c)
{
    char *s = malloc((size_t)n + 1);

    if (s == NULL)
        abort();
    memset(s, c, (size_t)n);
    s[n] = '\0';
    return s;
}

static int
bad_result(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)ctx, (void)arg;
    *result = json_object_new_string("caf\xe9 is Latin-1");
    return FH_OK;
}

static int
sized_result(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    char *s = filled(*(int *)arg, 'r');

    (void)ctx;
    *result = json_object_new_string(s);
    free(s);
    return FH_OK;
}

static int
nothing(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    (void)ctx, (void)arg;
    *result = json_object_new_boolean(1);
    return FH_OK;
}

static int
outputs(struct fh_ctx *ctx, const struct fh_event *ev)
{
    int n;

    if (data_int(ev, "fail_utf8"))
        return fh_fail(ctx, FH_NO_RETRY, "bad bytes: \xff\xfe, \xc0\xaf, end");
    if (data_int(ev, "name_utf8")) {
        int rc = fh_step(ctx, "st\xffp", nothing, NULL, NULL);

        return rc == FH_OK ? fh_fail(ctx, FH_NO_RETRY, "the step ran") : rc;
    }
    if (data_int(ev, "result_utf8")) {
        FH_STEP(ctx, "latin1", bad_result, NULL);
        return FH_OK;
    }
    if (data_int(ev, "output_utf8")) {
        fh_set_output(ctx, json_object_new_string("\xed\xa0\x80 surrogate"));
        return FH_OK;
    }
    if ((n = data_int(ev, "result_bytes")) > 0) {
        FH_STEP(ctx, "big", sized_result, &n);
        fh_set_output(ctx, json_object_new_string("stored"));
        return FH_OK;
    }
    if ((n = data_int(ev, "output_bytes")) > 0) {
        char *s = filled(n, 'o');

        fh_set_output(ctx, json_object_new_string(s));
        free(s);
        return FH_OK;
    }
    if ((n = data_int(ev, "error_bytes")) > 0) {
        char *s = filled(n, 'e');
        int rc = fh_fail(ctx, FH_NO_RETRY, "%s", s);

        free(s);
        return rc;
    }
    fh_set_output(ctx, json_object_new_string("ok"));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "outputs", .run = outputs, .triggers = FH_EVENTS("test/out"),
     .opts = FH_OPTS(.retries = FH_RETRIES_NONE)},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "outputs", .version = "1.0.0", .functions = functions);
