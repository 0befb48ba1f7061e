/* reload.h - the current generation and how it is replaced: SIGHUP,
 * `fnhost reload`, --watch, coalesced builds on a thread, their status.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Generation n+1 is built on a thread of its own (copying and describing
 * plugins can take seconds, and a plugin's load() can hang) while n keeps
 * serving. Requests that arrive during a build coalesce into one more
 * build after it. A build with any refused plugin is dropped whole and n
 * goes on (nginx's rule); a whole one becomes current and is handed to
 * the scheduler, and n lives on only as long as workers still hold it. */
#ifndef FNHOST_RELOAD_H
#define FNHOST_RELOAD_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct event_base;
struct generation;
struct reload;

/* How the last reload went, for GET /v1/functions. */
struct reload_status {
    int64_t at;       /* ms; the start-up load counts as the first */
    int ok;
    unsigned generation;
    char error[1024];
    unsigned requested; /* reload requests received so far */
    unsigned reloads;   /* builds that ended after the start-up one */
    unsigned failed;    /* of which kept the old generation */
    unsigned covered;   /* the last finished build began after this many:
                           it includes every change made before them */
    int building;
};

/* Lets a SIGHUP that comes before reload_serve() (while generation 1 is
 * built) be noted rather than end the process: it reloads once serving.
 * Call first thing. */
void reload_catch_early_hup(void);

/* Builds generation 1 from PLUGINS_DIR (borrowed, like CFG and BASE, for
 * the reload's life). Returns NULL, with the reason in ERR, only when the
 * folders themselves fail; refused plugins are logged and the rest load. */
struct reload *reload_new(struct event_base *base, const struct config *cfg,
                          const char *plugins_dir, char *err, size_t errlen);

/* Starts taking requests: SIGHUP, and the plugin folder's changes with
 * cfg->watch. APPLY(ARG, g) hands each new current generation on (it
 * takes its own references). Returns 0, or -1 (logged) when the folder
 * cannot be watched. */
int reload_serve(struct reload *r,
                 void (*apply)(void *arg, struct generation *g), void *arg);

/* Asks for a build; WHY goes into the log. */
void reload_request(struct reload *r, const char *why);

/* fnhost is stopping: a build in progress gives up and new requests are
 * only counted. Safe from the loop's thread at any time. */
void reload_stop(struct reload *r);

/* The current generation (borrowed; take a reference to keep it), and the
 * place that always points at it. */
struct generation *reload_current(const struct reload *r);
const struct generation *const *reload_current_ptr(const struct reload *r);

const struct reload_status *reload_status(const struct reload *r);

/* Waits for a build in progress, then drops every reference it holds. */
void reload_free(struct reload *r);

#endif
