/* loader.h - dlopen a plugin and check its descriptor, most basic first.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Only worker processes and the short-lived describe process call this:
 * the master never maps plugin code. */
#ifndef FNHOST_LOADER_H
#define FNHOST_LOADER_H

#include <stddef.h>

#include "fnhost.h"
#include "ctx.h"

struct json_object;

struct loaded_plugin {
    void *handle;
    const struct fh_plugin *desc; /* borrowed from the mapped object */
    char *path;
    struct json_object *config;   /* the [plugin NAME] section, owned */
    void *state;                  /* what load() stored */
    int loaded;                   /* load() succeeded */
};

/* Compiles SRC as an expression, to check it: 0, or -1 with the reason
 * (naming the column) in ERR. check_expr for lib/check.c. */
int loader_check_expr(const char *src, char *err, size_t errlen);

/* Maps PATH and validates its descriptor and function table. Returns 0,
 * or -1 with "why" in ERR (the caller prefixes the file). */
int loader_open(struct loaded_plugin *lp, const char *path, char *err,
                size_t errlen);

/* Calls the plugin's load() with CONFIG ({"name": {...}} of every plugin,
 * borrowed). Returns 0, or -1 with the reason in ERR. */
int loader_init(struct loaded_plugin *lp, struct json_object *config,
                const struct fh_api *api, char *err, size_t errlen);

/* Calls unload() if load() ran, then unmaps. */
void loader_close(struct loaded_plugin *lp);

/* The descriptor as JSON (new): name, version, abi, functions; each
 * function's "options" holds what it declares, by the JSON names of the
 * table in fnopt.h, in their host form (timeout_ms). */
struct json_object *loader_describe(const struct loaded_plugin *lp);

/* The host API table that workers hand to plugins. */
extern const struct fh_api loader_api;

/* The context the host API works on: the core the SDK harness shares
 * (lib/ctx.h: the public head, arena, output, error), then the
 * host's. */
struct host_ctx {
    struct ctx_core core;
    struct loaded_plugin *lp;
    struct invocation *inv; /* the handler call's steps; NULL elsewhere */
};

/* Frees the context's arena, output and error. */
void host_ctx_reset(struct host_ctx *c);

#endif
