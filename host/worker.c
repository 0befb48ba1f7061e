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

#include "check.h"
#include "loader.h"
#include "log.h"
#include "plugin_log.h"
#include "proto.h"
#include "steps.h"
#include "util.h"

struct worker_state {
    struct loaded_plugin *plugins;
    size_t nplugins;
    struct proto_buf out; /* frames to the master */
};

static int
find_function(struct worker_state *ws, const char *id,
              struct loaded_plugin **lp, fh_handler *run)
{
    for (size_t i = 0; i < ws->nplugins; i++) {
        if (check_find_function(ws->plugins[i].desc, id, run) != NULL) {
            *lp = &ws->plugins[i];
            return 0;
        }
    }
    return -1;
}

/* Fills EV with event object O (a "data" object is added when it has
 * none) and its internal ID; EV is empty if O is no object. */
static void
worker_event(struct fh_event *ev, struct json_object *o, const char *id)
{
    struct json_object *v;

    memset(ev, 0, sizeof(*ev));
    if (!json_object_is_type(o, json_type_object))
        return;
    ev->name = fh_json_str(o, "name");
    ev->id = fh_json_str(o, "id");
    ev->internal_id = id;
    if (json_object_object_get_ex(o, "ts", &v))
        ev->ts = json_object_get_int64(v);
    if (!json_object_object_get_ex(o, "data", &ev->data) ||
        !json_object_is_type(ev->data, json_type_object)) {
        ev->data = json_object_new_object();
        json_object_object_add(o, "data", ev->data);
    }
    ev->json = o;
}

/* Sends DONE to the master: 0, or -1. */
static int
send_done(struct worker_state *ws, int wfd, const struct proto_done *done)
{
    if (proto_put_done(&ws->out, done) != 0)
        return -1;
    return proto_write(wfd, &ws->out);
}

/* Runs the invocation MSG asks for and sends its done message: 0, or -1
 * if it cannot be sent. */
static int
invoke(struct worker_state *ws, int rfd, int wfd, struct json_object *msg)
{
    struct proto_invoke in;
    struct proto_done done;
    struct loaded_plugin *lp;
    fh_handler run;
    struct fh_event fev, *fevs;
    size_t nev;
    struct host_ctx c;
    struct invocation inv;
    struct steprules_verdict vd;
    char why[256];
    int rc;

    memset(&done, 0, sizeof(done));
    if (proto_read_invoke(msg, &in) != 0) {
        done.error = "bad invoke message";
        return send_done(ws, wfd, &done);
    }
    if (find_function(ws, in.function_id, &lp, &run) != 0) {
        snprintf(why, sizeof(why), "function %s is not loaded in this worker",
                 in.function_id);
        done.error = why;
        return send_done(ws, wfd, &done);
    }

    /* A batch's events (the first is the run's own); else the one. */
    nev = in.events != NULL ? json_object_array_length(in.events) : 0;
    if (nev > 0) {
        fevs = xcalloc(nev, sizeof(*fevs));
        for (size_t i = 0; i < nev; i++) {
            struct json_object *p = json_object_array_get_idx(in.events, i);

            worker_event(&fevs[i], json_object_object_get(p, "event"),
                         fh_json_str(p, "internal_id"));
        }
    } else {
        worker_event(&fev, in.event, in.event_id);
        fevs = &fev;
        nev = 1;
    }

    memset(&c, 0, sizeof(c));
    c.core.pub.api = &loader_api;
    c.core.pub.state = lp->state;
    c.core.pub.plugin = lp->desc->name;
    c.core.pub.function_id = in.function_id;
    c.core.pub.run_id = in.run_id;
    c.core.pub.attempt = in.attempt;
    c.core.pub.max_attempts = in.max_attempts;
    c.core.pub.events = fevs;
    c.core.pub.nevents = nev;
    c.lp = lp;
    invocation_init(&inv, rfd, wfd, &ws->out, in.run_id, in.steps,
                    in.attempt, in.max_attempts, in.checkpoint_ahead);
    inv.steps.state_bytes = in.state_bytes;
    inv.steps.event = in.event;
    inv.steps.target = in.target;
    c.inv = &inv;

    plugin_log_set_plugin(lp->desc->name);
    /* Its trace: the event that started the run. */
    log_context(in.run_id, in.function_id, lp->desc->name, (int)in.attempt,
                in.event_id);
    rc = run(&c.core.pub, &fevs[0]);

    /* A handler may change its state pointer; keep what it set. */
    lp->state = c.core.pub.state;
    /* Which attempt of which unit this call ended in, for the record. */
    done.attempt = inv.steps.attempt;
    done.unit_started_at = inv.steps.unit_started;
    /* The master decides again whether a failure is retried, by the same
     * rule and the attempts it counts. */
    steprules_decide(&inv.steps, &c.core.pub, rc, &vd);
    if (vd.ignored_suspension)
        log_warn("worker", "%s: the handler returned %d after a step"
                           " suspended the run; suspending anyway",
                 in.function_id, rc);
    done.ok = vd.end == STEPRULES_END_COMPLETED;
    done.cancelled = vd.end == STEPRULES_END_CANCELLED;
    done.output = vd.output;
    done.error = vd.error;
    done.no_retry = vd.no_retry;
    done.retry_after_ms = vd.retry_after_ms;
    if (inv.suspend != PROTO_SUSPEND_NONE) {
        done.suspend = inv.suspend;
        done.step = inv.step.s;
    }
    /* Checkpoints sent ahead commit before the end that follows them
     * (the store writes in order, and an end never commits after a
     * checkpoint of its run that failed), so their acks are not waited
     * for: those the master sent before it read the end are skipped
     * before the next invoke (worker_main()), and it sends none after. */
    rc = send_done(ws, wfd, &done);
    log_context_clear();
    steprules_verdict_free(&vd);
    host_ctx_reset(&c);
    invocation_fini(&inv);
    if (fevs != &fev)
        free(fevs);
    return rc;
}

/* Loads every plugin of HELLO: 0, or -1 (logged) if any fails. */
static int
load_plugins(struct worker_state *ws, const struct proto_hello *hello)
{
    int rc = 0;

    ws->plugins = xcalloc(hello->nplugins ? hello->nplugins : 1,
                          sizeof(*ws->plugins));
    for (size_t i = 0; i < hello->nplugins; i++) {
        const char *path = hello->plugins[i];
        struct loaded_plugin *lp = &ws->plugins[ws->nplugins];
        const char *base = strrchr(path, '/');
        char err[512];

        plugin_log_set_plugin(base ? base + 1 : path);
        if (loader_open(lp, path, err, sizeof(err)) != 0 ||
            loader_init(lp, hello->config, &loader_api, err, sizeof(err)) !=
                0) {
            /* The master described this file before starting us, so
             * this is rare: a load() that depends on something that came
             * and went (a database, a file). */
            log_error("worker", "%s: %s", path, err);
            loader_close(lp);
            rc = -1;
            continue;
        }
        ws->nplugins++;
    }
    return rc;
}

int
worker_main(int rfd, int wfd)
{
    struct worker_state ws;
    struct proto_hello h;
    struct json_object *hello, *msg;
    int status = 0;

    memset(&ws, 0, sizeof(ws));
    /* Processes a plugin starts must not hold the master's pipes. */
    fcntl(rfd, F_SETFD, FD_CLOEXEC);
    fcntl(wfd, F_SETFD, FD_CLOEXEC);
    plugin_log_start("?");
    hello = proto_recv(rfd);
    if (hello == NULL) {
        log_error("worker", "no hello from the master: %s",
                  errno ? strerror(errno) : "connection closed");
        plugin_log_stop();
        return 1;
    }
    if (proto_read_hello(hello, &h) == 0) {
        if (h.log_level != NULL)
            log_set_level_name(h.log_level);
        log_set_json(h.log_json);
        /* A worker missing a plugin would fail each of its runs at once,
         * and, being quick to fail, draw more of them: it leaves instead,
         * before it says it is ready. */
        if (load_plugins(&ws, &h) != 0)
            status = WORKER_EXIT_LOAD;
        free(h.plugins);
    } else {
        log_error("worker", "a bad hello from the master");
        status = 1;
    }
    json_object_put(hello);
    if (status != 0)
        goto out;

    proto_put_ready(&ws.out, (unsigned)ws.nplugins);
    if (proto_write(wfd, &ws.out) != 0)
        status = 1;

    while (status == 0 && (msg = proto_recv(rfd)) != NULL) {
        if (proto_type_of(msg) == PROTO_INVOKE) {
            if (invoke(&ws, rfd, wfd, msg) != 0)
                status = 1;
        } else if (proto_type_of(msg) == PROTO_ACK_MSG) {
            /* The last run's, for a checkpoint sent ahead (invoke()). */
        } else {
            const char *t = fh_json_str(msg, "t");

            log_warn("worker", "unknown message \"%s\"", t ? t : "?");
        }
        json_object_put(msg);
    }
    if (status == 0 && errno == EPROTO) {
        log_error("worker", "malformed message from the master");
        status = 1;
    }
out:
    for (size_t i = 0; i < ws.nplugins; i++)
        loader_close(&ws.plugins[i]);
    free(ws.plugins);
    proto_buf_free(&ws.out);
    plugin_log_stop();
    return status;
}

int
describe_main(const char *path)
{
    struct loaded_plugin lp;
    struct json_object *config, *out;
    char err[512], *in;
    int status = 0;

    {
        const char *base = strrchr(path, '/');

        plugin_log_start(base ? base + 1 : path);
    }
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
    plugin_log_stop();
    return status;
}
