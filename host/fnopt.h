/* fnopt.h - per-function options: one table, from descriptor to run.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Each option a function can have (retries, timeout, ...) is one row of
 * fnopt_table: its name, type and range, where a plugin declares it in
 * struct fh_function_opts, where its [server] default lives, where its
 * effective value lives in struct fn_info, and its name in JSON. The
 * descriptor's JSON, the [function ID] overrides, the effective values and
 * GET /v1/functions all go through the table, so adding an option is one
 * row plus the code that obeys it. A value wins in this order: the
 * [function ID] section, the plugin's descriptor, the default. */
#ifndef FNHOST_FNOPT_H
#define FNHOST_FNOPT_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct fh_function_opts;
struct fn_info;
struct json_object;

enum fnopt_type {
    FNOPT_COUNT,    /* int. In the ABI, an int32_t: 0 is unset (the
                       default) and -1 (FH_RETRIES_NONE) is zero */
    FNOPT_DURATION, /* int64_t milliseconds. In the ABI and the config a
                       duration string ("30s") */
    FNOPT_SCALE,    /* double */
};

/* An offset that does not apply: an option without an ABI field, or
 * without a [server] default. */
#define FNOPT_NONE ((size_t)-1)

struct fnopt {
    const char *name;     /* the key in [function ID] */
    enum fnopt_type type;
    double lo, hi;        /* the range of a value (ms for durations) */
    double def;           /* the default without a [server] one */
    size_t abi;           /* in struct fh_function_opts; FNOPT_NONE: the
                             config sets it, plugins cannot */
    size_t cfg;           /* in struct config: the [server] default;
                             FNOPT_NONE: def */
    size_t fn;            /* in struct fn_info: the effective value, of
                             the type's C type */
    const char *json;     /* the name in GET /v1/functions and in a
                             descriptor's "options"; NULL: hidden in
                             the first, NAME in the second */
};

extern const struct fnopt fnopt_table[];
extern const size_t fnopt_count;

/* At most this many options: the bits of struct fnopt_set's mask. */
#define FNOPT_MAX 32

union fnopt_value {
    int64_t i; /* FNOPT_COUNT, FNOPT_DURATION */
    double d;  /* FNOPT_SCALE */
};

/* The options a [function ID] section sets: bit i of MASK for row i. */
struct fnopt_set {
    uint32_t mask;
    union fnopt_value v[FNOPT_MAX];
};

/* The options whose value is an expression over the event
 * ("event.data.user"): their [function ID] key, their key in a
 * descriptor and in GET /v1/functions, and where struct fn_info keeps
 * them, compiled (a struct expr *). A [function ID] section's value
 * replaces the descriptor's ("" removes it). */
struct fnopt_expr {
    const char *name; /* "rate_limit.key" */
    const char *json; /* "rate_limit_key" */
    size_t fn;        /* in struct fn_info */
    size_t abi;       /* its const char * in struct fh_function_opts */
};

#define FNOPT_NEXPRS 9
extern const struct fnopt_expr fnopt_exprs[FNOPT_NEXPRS];

/* The expression option whose [function ID] key is NAME, or NULL. */
const struct fnopt_expr *fnopt_expr_find(const char *name);

/* The row named NAME, or NULL. */
const struct fnopt *fnopt_find(const char *name);

/* Sets KEY to TEXT in S, as a [function ID] section does. Returns 0, or -1
 * with the reason in ERR ("retries: expected 0 to 20, got \"x\""). */
int fnopt_set_config(struct fnopt_set *s, const char *key, const char *text,
                     char *err, size_t errlen);

/* The options OPTS declares (as fh_function_options_() read them), as a
 * new JSON object of JSON name: value, values in their host form (ms for
 * durations, -1 retries as 0); unset options are absent. Returns NULL with
 * "name: reason" in ERR when a value is out of range. */
struct json_object *fnopt_declared(const struct fh_function_opts *opts,
                                   char *err, size_t errlen);

/* Checks DECLARED, what a describe process said a function declares:
 * known options of the ABI, of their type, in range. 0 or -1 with ERR. */
int fnopt_check_declared(struct json_object *declared, char *err,
                         size_t errlen);

/* Sets every option of F to its effective value: OVER (NULL: none), else
 * DECLARED (checked; NULL: none), else the default from CFG. */
void fnopt_resolve(struct fn_info *f, const struct config *cfg,
                   struct json_object *declared,
                   const struct fnopt_set *over);

/* Adds F's effective options to FO, under their JSON names. */
void fnopt_json(const struct fn_info *f, struct json_object *fo);

#endif
