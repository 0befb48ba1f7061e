/* worker.c - a worker process: loads one generation, runs invocations.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A worker runs one invocation at a time and blocks while it does: plugin
 * code may block, loop or crash, and only this process pays for it. */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "proto.h"
#include "steps.h"
#include "util.h"

struct worker_state {
    struct loaded_plugin *plugins;
    size_t nplugins;
};

static const char *
str_field(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int
find_function(struct worker_state *ws, const char *id,
              struct loaded_plugin **lp, const struct fh_function **fn)
{
    for (size_t i = 0; i < ws->nplugins; i++) {
        const struct fh_function *f;

        for (f = ws->plugins[i].desc->functions; f->id != NULL; f++) {
            if (strcmp(f->id, id) == 0) {
                *lp = &ws->plugins[i];
                *fn = f;
                return 0;
            }
        }
    }
    return -1;
}

/* Runs one invocation and builds the "done" message (new). */
static struct json_object *
invoke(struct worker_state *ws, int rfd, int wfd, struct json_object *msg)
{
    struct json_object *done = json_object_new_object(), *ev = NULL, *v;
    const char *run_id = str_field(msg, "run_id");
    const char *fn_id = str_field(msg, "function_id");
    struct loaded_plugin *lp;
    const struct fh_function *fn;
    struct fh_event fev;
    struct host_ctx c;
    struct invocation inv;
    const char *text;
    char *bad;
    int rc;

    json_object_object_add(done, "t", json_object_new_string("done"));
    json_object_object_add(done, "run_id",
                           json_object_new_string(run_id ? run_id : ""));
    if (json_object_object_get_ex(msg, "event", &ev) &&
        json_object_is_type(ev, json_type_object))
        json_object_get(ev);
    else
        ev = NULL;
    if (run_id == NULL || fn_id == NULL || ev == NULL) {
        json_object_object_add(done, "ok", json_object_new_boolean(0));
        json_object_object_add(done, "error",
                               json_object_new_string("bad invoke message"));
        json_object_put(ev);
        return done;
    }
    if (find_function(ws, fn_id, &lp, &fn) != 0) {
        char why[256];

        snprintf(why, sizeof(why), "function %s is not loaded in this worker",
                 fn_id);
        json_object_object_add(done, "ok", json_object_new_boolean(0));
        json_object_object_add(done, "error", json_object_new_string(why));
        json_object_put(ev);
        return done;
    }

    memset(&fev, 0, sizeof(fev));
    fev.name = str_field(ev, "name");
    fev.id = str_field(ev, "id");
    fev.internal_id = str_field(msg, "event_id");
    if (json_object_object_get_ex(ev, "ts", &v))
        fev.ts = json_object_get_int64(v);
    if (!json_object_object_get_ex(ev, "data", &fev.data) ||
        !json_object_is_type(fev.data, json_type_object)) {
        fev.data = json_object_new_object();
        json_object_object_add(ev, "data", fev.data);
    }
    fev.json = ev;

    memset(&c, 0, sizeof(c));
    c.core.pub.api = &loader_api;
    c.core.pub.state = lp->state;
    c.core.pub.plugin = lp->desc->name;
    c.core.pub.function_id = fn->id;
    c.core.pub.run_id = run_id;
    if (json_object_object_get_ex(msg, "attempt", &v))
        c.core.pub.attempt = (unsigned)json_object_get_int(v);
    if (json_object_object_get_ex(msg, "max_attempts", &v))
        c.core.pub.max_attempts = (unsigned)json_object_get_int(v);
    c.lp = lp;
    invocation_init(&inv, rfd, wfd, run_id, json_object_object_get(msg, "steps"),
                    c.core.pub.attempt, c.core.pub.max_attempts);
    c.inv = &inv;

    rc = fn->run(&c.core.pub, &fev);

    /* A handler may change its state pointer; keep what it set. */
    lp->state = c.core.pub.state;
    /* Which attempt of which unit this call ended in, for the record. */
    json_object_object_add(done, "attempt", json_object_new_int((int)inv.steps.attempt));
    json_object_object_add(done, "unit_started_at",
                           json_object_new_int64(inv.steps.unit_started));
    if (inv.suspend != NULL) {
        /* A sleep or a step's retry stops the run, whatever the handler
         * returned after ignoring FH_SUSPENDED. */
        if (rc != FH_SUSPENDED)
            log_warn("worker", "%s: the handler returned %d after a step"
                               " suspended the run; suspending anyway",
                     fn->id, rc);
        json_object_object_add(done, "ok", json_object_new_boolean(0));
        json_object_object_add(done, "suspend", json_object_get(inv.suspend));
        if (c.core.error != NULL)
            json_object_object_add(done, "error",
                                   json_object_new_string(c.core.error));
    } else if (rc == FH_SUSPENDED) {
        json_object_object_add(done, "ok", json_object_new_boolean(0));
        json_object_object_add(done, "error", json_object_new_string(
            "the handler returned FH_SUSPENDED but no step suspended"));
    } else if (rc == FH_OK && c.core.has_output &&
               (bad = fh_steps_output_check_(c.core.output, &text)) != NULL) {
        json_object_object_add(done, "ok", json_object_new_boolean(0));
        json_object_object_add(done, "error", json_object_new_string(bad));
        json_object_object_add(done, "no_retry", json_object_new_boolean(1));
        free(bad);
    } else if (rc == FH_OK) {
        json_object_object_add(done, "ok", json_object_new_boolean(1));
        json_object_object_add(done, "output",
                               c.core.has_output ? json_object_get(c.core.output)
                                            : NULL);
    } else {
        char why[64];

        json_object_object_add(done, "ok", json_object_new_boolean(0));
        if (c.core.error == NULL)
            snprintf(why, sizeof(why), "handler returned %d without a"
                                       " reason", rc);
        json_object_object_add(done, "error",
                               json_object_new_string(c.core.error ? c.core.error
                                                              : why));
        json_object_object_add(done, "no_retry",
                               json_object_new_boolean(c.core.no_retry));
        if (c.core.retry_after_ms > 0)
            json_object_object_add(done, "retry_after_ms",
                                   json_object_new_int64(c.core.retry_after_ms));
    }
    host_ctx_reset(&c);
    invocation_fini(&inv);
    json_object_put(ev);
    return done;
}

static void
load_plugins(struct worker_state *ws, struct json_object *hello)
{
    struct json_object *files, *config;
    size_t n;

    if (!json_object_object_get_ex(hello, "plugins", &files) ||
        !json_object_object_get_ex(hello, "config", &config))
        return;
    n = json_object_array_length(files);
    ws->plugins = xcalloc(n ? n : 1, sizeof(*ws->plugins));
    for (size_t i = 0; i < n; i++) {
        const char *path =
            json_object_get_string(json_object_array_get_idx(files, i));
        struct loaded_plugin *lp = &ws->plugins[ws->nplugins];
        char err[512];

        if (loader_open(lp, path, err, sizeof(err)) != 0 ||
            loader_init(lp, config, &loader_api, err, sizeof(err)) != 0) {
            /* The master described this file before starting us, so
             * this is rare (a plugin whose load() is not repeatable). */
            log_error("worker", "%s: %s", path, err);
            loader_close(lp);
            continue;
        }
        ws->nplugins++;
    }
}

int
worker_main(int rfd, int wfd)
{
    struct worker_state ws = {NULL, 0};
    struct json_object *hello, *ready, *msg, *lvl;
    int status = 0;

    /* Processes a plugin starts must not hold the master's pipes. */
    fcntl(rfd, F_SETFD, FD_CLOEXEC);
    fcntl(wfd, F_SETFD, FD_CLOEXEC);
    hello = proto_recv(rfd);
    if (hello == NULL) {
        log_error("worker", "no hello from the master: %s",
                  errno ? strerror(errno) : "connection closed");
        return 1;
    }
    if (json_object_object_get_ex(hello, "log_level", &lvl))
        log_set_level_name(json_object_get_string(lvl));
    load_plugins(&ws, hello);
    json_object_put(hello);

    ready = json_object_new_object();
    json_object_object_add(ready, "t", json_object_new_string("ready"));
    json_object_object_add(ready, "plugins",
                           json_object_new_int((int)ws.nplugins));
    if (proto_send(wfd, ready) != 0)
        status = 1;
    json_object_put(ready);

    while (status == 0 && (msg = proto_recv(rfd)) != NULL) {
        const char *t = str_field(msg, "t");

        if (t != NULL && strcmp(t, "invoke") == 0) {
            struct json_object *done = invoke(&ws, rfd, wfd, msg);

            if (proto_send(wfd, done) != 0)
                status = 1;
            json_object_put(done);
        } else {
            log_warn("worker", "unknown message \"%s\"", t ? t : "?");
        }
        json_object_put(msg);
    }
    if (status == 0 && errno == EPROTO) {
        log_error("worker", "malformed message from the master");
        status = 1;
    }
    for (size_t i = 0; i < ws.nplugins; i++)
        loader_close(&ws.plugins[i]);
    free(ws.plugins);
    return status;
}

int
describe_main(const char *path)
{
    struct loaded_plugin lp;
    struct json_object *config, *out;
    char err[512], *in;
    int status = 0;

    in = file_read("/dev/stdin", NULL);
    config = in ? json_parse(in) : NULL;
    free(in);
    if (config == NULL)
        config = json_object_new_object();
    if (loader_open(&lp, path, err, sizeof(err)) != 0 ||
        loader_init(&lp, config, &loader_api, err, sizeof(err)) != 0) {
        out = json_object_new_object();
        json_object_object_add(out, "error", json_object_new_string(err));
        status = 1;
    } else {
        out = loader_describe(&lp);
    }
    {
        /* fd 3 is the master's pipe (stdout is the log): see
         * registry_describe(). */
        const char *text = json_object_to_json_string_ext(
            out, JSON_C_TO_STRING_PLAIN);

        (void)!write(3, text, strlen(text));
    }
    json_object_put(out);
    loader_close(&lp);
    json_object_put(config);
    return status;
}
