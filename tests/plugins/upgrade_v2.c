/* upgrade_v2.c - fixture: version 2 of plugin "upgrade", which adds step c.
 * SPDX-License-Identifier: Apache-2.0 */
#include <fnhost.h>

static int
step(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    *result = json_object_new_string(ctx->step_id);
    return FH_OK;
}

static int
upgrade(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *nap = fh_json_str(ev->data, "sleep");

    FH_STEP(ctx, "a", step, NULL);
    FH_SLEEP(ctx, "nap", nap ? nap : "1ms");
    FH_STEP(ctx, "b", step, NULL);
    FH_STEP(ctx, "c", step, NULL);
    fh_set_output(ctx, json_object_new_string("v2: a,b,c"));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "upgrade", .run = upgrade, .triggers = FH_EVENTS("test/upgrade")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "upgrade", .version = "2.0.0", .functions = functions);
