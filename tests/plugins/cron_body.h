/* cron_body.h - fixture: cron triggers (fh_function_opts.cron), in two
 * versions for reloads (cron.c, cron_v2.c).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each function outputs {"name": its event's name, "cron": data.cron}.
 * Version 1: "nightly" on "0 3 * * *" alone (no event triggers);
 * "paris" on "TZ=Europe/Paris 30 2 * * *" and test/cron; "spy" on the
 * event name inngest/scheduled.timer, which no tick may start (a tick
 * runs its own function only). Version 2: "nightly" on "0 5 * * *",
 * "paris" on test/cron only. */
#include <fnhost.h>

static int
say_tick(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = json_object_new_object();
    const char *cron = fh_json_str(ev->data, "cron");

    (void)ctx;
    json_object_object_add(out, "name", json_object_new_string(ev->name));
    json_object_object_add(out, "cron",
                           cron ? json_object_new_string(cron) : NULL);
    return fh_set_output(ctx, out);
}

static const struct fh_function functions[] = {
#ifndef CRON_V2
    {.id = "nightly", .run = say_tick,
     .opts = FH_OPTS(.cron = {"0 3 * * *"})},
    {.id = "paris", .run = say_tick, .triggers = FH_EVENTS("test/cron"),
     .opts = FH_OPTS(.cron = {"TZ=Europe/Paris 30 2 * * *"},
                     .cron_jitter = "1s")},
#else
    {.id = "nightly", .run = say_tick,
     .opts = FH_OPTS(.cron = {"0 5 * * *"})},
    {.id = "paris", .run = say_tick, .triggers = FH_EVENTS("test/cron")},
#endif
    {.id = "spy", .run = say_tick,
     .triggers = FH_EVENTS("inngest/scheduled.timer")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "cron", .version = "1.0.0", .functions = functions);
