/* upgrade_v1.c - fixture: version 1 of plugin "upgrade".
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
    fh_set_output(ctx, json_object_new_string("v1: a,b"));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "upgrade", .run = upgrade, .triggers = FH_EVENTS("test/upgrade")},
    FH_FUNCTIONS_END,
};

FH_PLUGIN(.name = "upgrade", .version = "1.0.0", .functions = functions);
