/* stepper.c - benchmark plugin: runs of 1, 3 or 10 trivial steps, and
 * runs that sleep for 30 days after one step.
 * SPDX-License-Identifier: Apache-2.0
 *
 *   steps-1, steps-3, steps-10   on bench/steps-1, bench/steps-3,
 *                                bench/steps-10: N steps, each returning
 *                                a small JSON int, then the run completes
 *   sleeper                      on bench/sleep: one step, then
 *                                FH_SLEEP "30 days"
 *   invoker                      on bench/invoke: a step that invokes
 *                                steps-1 (fh_invoke) and returns its
 *                                output
 *   fetch-1                      on bench/fetch-1: one fetch step of the
 *                                URL in [plugin stepper] fetch_url
 *   waiter                       on bench/wait: waits up to 30 days for
 *                                bench/wake with the same data.i
 *   steps-1-conc                 on bench/steps-1-conc: steps-1 with a
 *                                concurrency limit of 1 per key, over
 *                                10,000 keys (data.i % 10000)
 *   steps-1-if, -idem, -rate,    on bench/steps-1-if, ...: steps-1 with an
 *   -single, -debounce           `if`, an idempotency key, a rate limit,
 *                                a singleton or a debounce, each keyed by
 *                                data.i so that every event runs
 *   steps-1-prio                 on bench/steps-1-prio: steps-1 with a
 *                                priority of 0, 60 or 120 s (data.i % 3)
 *   steps-1-batch                on bench/steps-1-batch: steps-1 in
 *                                batches of one per data.i
 *   noop                         on bench/noop: completes at once
 *   fan-10                       on bench/fan-10: one parallel group of
 *                                10 trivial steps (fh_parallel)
 *   seq-10-io, fan-10-io         on bench/seq-10-io, bench/fan-10-io: 10
 *                                steps that each wait 20 ms (a call to a
 *                                slow service), one after the other or as
 *                                one parallel group
 *
 * The steps do no work of their own, so what bench/run.sh measures is the
 * host: dispatch, one durable checkpoint per step, and the run's end. */
#include <stdint.h>
#include <time.h>

#include <fnhost.h>

static const char *const names[] = {"s1", "s2", "s3", "s4", "s5",
                                    "s6", "s7", "s8", "s9", "s10"};

static int
trivial(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    *result = json_object_new_int((int)(intptr_t)arg);
    return FH_OK;
}

static int
run_steps(struct fh_ctx *ctx, int n)
{
    for (int i = 0; i < n; i++)
        FH_STEP(ctx, names[i], trivial, (void *)(intptr_t)(i + 1));
    return FH_OK;
}

static int
steps_1(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return run_steps(ctx, 1);
}

static int
steps_3(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return run_steps(ctx, 3);
}

static int
steps_10(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return run_steps(ctx, 10);
}

static int
sleeper(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_STEP(ctx, "s1", trivial, (void *)(intptr_t)1);
    FH_SLEEP(ctx, "nap", "30 days");
    return FH_OK;
}

static int
invoker(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *out = NULL;

    FH_INVOKE(ctx, "call", FH_INVOKE_REQ(.function_id = "steps-1"), &out);
    fh_set_output(ctx, json_object_get(out));
    return FH_OK;
}

static int
fetch_1(struct fh_ctx *ctx, const struct fh_event *ev)
{
    const char *url = fh_config(ctx, "fetch_url");

    if (url == NULL)
        return fh_fail(ctx, FH_NO_RETRY, "no fetch_url in [plugin stepper]");
    FH_FETCH(ctx, "get", FH_FETCH_REQ(.url = url), NULL);
    return FH_OK;
}

static int
waiter(struct fh_ctx *ctx, const struct fh_event *ev)
{
    FH_WAIT_FOR_EVENT(ctx, "wake", NULL, .event = "bench/wake",
                      .match = "data.i", .timeout = "30 days");
    return FH_OK;
}

static int
noop(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return FH_OK;
}

/* 20 ms of waiting on something else, as a call to a service does. */
static int
io_20ms(struct fh_ctx *ctx, void *arg, struct json_object **result)
{
    struct timespec ts = {0, 20 * 1000 * 1000};

    while (nanosleep(&ts, &ts) != 0)
        ;
    *result = json_object_new_int((int)(intptr_t)arg);
    return FH_OK;
}

static int
fan(struct fh_ctx *ctx, fh_step_fn fn)
{
    struct fh_branch b[10];

    for (int i = 0; i < 10; i++)
        b[i] = (struct fh_branch)FH_BRANCH(names[i], fn, (intptr_t)(i + 1));
    return fh_parallel(ctx, "fan",
                       FH_PARALLEL_REQ(.branches = b, .n = 10), NULL, NULL);
}

static int
fan_10(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fan(ctx, trivial);
}

static int
fan_10_io(struct fh_ctx *ctx, const struct fh_event *ev)
{
    return fan(ctx, io_20ms);
}

static int
seq_10_io(struct fh_ctx *ctx, const struct fh_event *ev)
{
    for (int i = 0; i < 10; i++)
        FH_STEP(ctx, names[i], io_20ms, (void *)(intptr_t)(i + 1));
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "steps-1", .run = steps_1, .triggers = FH_EVENTS("bench/steps-1")},
    {.id = "steps-3", .run = steps_3, .triggers = FH_EVENTS("bench/steps-3")},
    /* steps-1 with 1 at a time per key, over 10,000 keys (bench/run.sh
     * concurrency). */
    {.id = "steps-1-conc", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-conc"),
     .opts = FH_OPTS(.concurrency = {{.limit = 1,
                                      .key = "event.data.i % 10000"}})},
    /* steps-1 with one flow-control option each (bench/run.sh flow),
     * set so that every event starts its run: what the option costs the
     * scheduler, not what it holds back. data.i is new for each event. */
    {.id = "steps-1-if", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-if"),
     .opts = FH_OPTS(.if_expr = "event.data.i >= 0")},
    {.id = "steps-1-idem", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-idem"),
     .opts = FH_OPTS(.idempotency = "event.data.i")},
    {.id = "steps-1-rate", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-rate"),
     .opts = FH_OPTS(.rate_limit = {.limit = 1, .period = "1m",
                                    .key = "event.data.i"})},
    {.id = "steps-1-single", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-single"),
     .opts = FH_OPTS(.singleton = {.mode = "skip", .key = "event.data.i"})},
    {.id = "steps-1-debounce", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-debounce"),
     .opts = FH_OPTS(.debounce = {.period = "1s", .key = "event.data.i"})},
    {.id = "steps-1-throttle", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-throttle"),
     .opts = FH_OPTS(.throttle = {.limit = 1, .period = "1m",
                                  .key = "event.data.i"})},
    /* Three priorities, mixed: the ready queue inserts out of turn. */
    {.id = "steps-1-prio", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-prio"),
     .opts = FH_OPTS(.priority = "event.data.i % 3 * 60")},
    /* A batch of one per key: each event fills its batch, which starts
     * at once, through the pending batch's store. */
    {.id = "steps-1-batch", .run = steps_1,
     .triggers = FH_EVENTS("bench/steps-1-batch"),
     .opts = FH_OPTS(.batch = {.max_size = 1, .timeout = "1s",
                               .key = "event.data.i"})},
    /* The same, checkpointing ahead ("3a" in bench/run.sh steps). */
    {.id = "steps-3a", .run = steps_3, .triggers = FH_EVENTS("bench/steps-3a"),
     .opts = FH_OPTS(.checkpoint_ahead = FH_CHECKPOINT_AHEAD)},
    {.id = "steps-10", .run = steps_10,
     .triggers = FH_EVENTS("bench/steps-10")},
    {.id = "sleeper", .run = sleeper, .triggers = FH_EVENTS("bench/sleep")},
    {.id = "invoker", .run = invoker, .triggers = FH_EVENTS("bench/invoke")},
    {.id = "fetch-1", .run = fetch_1, .triggers = FH_EVENTS("bench/fetch-1")},
    {.id = "waiter", .run = waiter, .triggers = FH_EVENTS("bench/wait")},
    {.id = "noop", .run = noop, .triggers = FH_EVENTS("bench/noop")},
    {.id = "fan-10", .run = fan_10, .triggers = FH_EVENTS("bench/fan-10")},
    {.id = "fan-10-io", .run = fan_10_io,
     .triggers = FH_EVENTS("bench/fan-10-io")},
    {.id = "seq-10-io", .run = seq_10_io,
     .triggers = FH_EVENTS("bench/seq-10-io")},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "stepper", .version = "1.0.0", .functions = functions);
