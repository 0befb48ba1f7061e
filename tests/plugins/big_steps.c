/* big_steps.c - test plugin: a run whose steps keep a lot.
 * SPDX-License-Identifier: Apache-2.0
 *
 * data.n steps, each returning a string of data.size bytes, then a 1 ms
 * sleep, so that the run resumes with every result the store holds, then
 * {"steps": n}. A step that fails ends the run with its error. */
#include <stdlib.h>
#include <string.h>

#include <fnhost.h>

static int
blob(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    size_t n = *(size_t *)arg;
    char *s = malloc(n + 1);

    if (s == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "out of memory");
    memset(s, 'b', n);
    s[n] = '\0';
    *result = json_object_new_string_len(s, (int)n);
    free(s);
    return FH_OK;
}

static int
big_steps(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *data = fh_event_data(ev), *v, *out;
    int64_t n = 1;
    size_t size = 1024;
    int rc;

    if (json_object_object_get_ex(data, "n", &v))
        n = json_object_get_int64(v);
    if (json_object_object_get_ex(data, "size", &v))
        size = (size_t)json_object_get_int64(v);
    for (int64_t i = 0; i < n; i++) {
        if ((rc = fh_step(ctx, "blob", blob, &size, NULL)) != FH_OK)
            return rc;
    }
    if ((rc = fh_sleep(ctx, "rest", "1ms")) != FH_OK)
        return rc;
    out = json_object_new_object();
    json_object_object_add(out, "steps", json_object_new_int64(n));
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
    {.id = "big-steps",
     .triggers = FH_EVENTS("test/big-steps"),
     .run = big_steps,
     .opts = FH_OPTS(.retries = 1)},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "big-steps", .version = "1.0.0", .functions = functions);
