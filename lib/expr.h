/* expr.h - a safe subset of CEL (Inngest's expression language), compiled
 * once and evaluated over json-c values.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost: not installed, and may change between releases.
 * For waitForEvent's `if` (host/store_wait.c), and later cancelOn and the
 * flow-control keys (issue #12). The subset, and where it differs from
 * cel-go, is in the README's "Expressions" section and in the comments of
 * expr.c. */
#ifndef FNHOST_EXPR_H
#define FNHOST_EXPR_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct expr;

/* The longest source expr_compile() takes, in bytes. */
#define EXPR_MAX_SOURCE 4096
/* How deep an expression may nest (operators, calls, brackets). It bounds
 * the recursion of both the parser and the evaluator. */
#define EXPR_MAX_DEPTH 64

enum expr_type {
    EXPR_NULL,
    EXPR_BOOL,
    EXPR_INT,    /* int64_t */
    EXPR_DOUBLE,
    EXPR_STRING, /* UTF-8 bytes and a length; may hold NUL */
    EXPR_LIST,   /* a json-c array */
    EXPR_MAP     /* a json-c object */
};

/* A value. Mostly it borrows: from the variables (a field of the event)
 * or from the compiled expression (a literal). Only what evaluation made
 * (a string or list built by `+`, a list literal holding a variable) is
 * owned, through HOLD, a json-c reference that expr_value_release() drops;
 * that is the one place where evaluation allocates. */
struct expr_value {
    enum expr_type type;
    union {
        int b;
        int64_t i;
        double d;
        struct {
            const char *ptr;
            size_t len;
        } s;
        struct json_object *json; /* EXPR_LIST, EXPR_MAP */
    } u;
    struct json_object *hold; /* owned reference, or NULL */
};

/* The variables an expression sees (borrowed). NULL is JSON null. */
struct expr_vars {
    struct json_object *event; /* the run's triggering event */
    struct json_object *async; /* the candidate event */
};

/* Compiles SRC (NUL-terminated, at most EXPR_MAX_SOURCE bytes) into a new
 * expression, or returns NULL with the reason in ERR, naming the 1-based
 * column (a byte offset: expressions are one line) and what was expected:
 * "column 14: expected ')' after the arguments of size". Names that are
 * not `event` or `async`, unknown functions, wrong argument counts and bad
 * regex literals are all refused here, not when evaluated. */
struct expr *expr_compile(const char *src, char *err, size_t errlen);

/* Frees E (NULL is fine). */
void expr_free(struct expr *e);

/* Evaluates E over VARS into OUT. Returns 0, or -1 with the reason in ERR
 * (a missing field, an integer overflow, a division by zero, operands of
 * the wrong type: "column 7: no such key: 'id'"); OUT is then null. OUT may
 * borrow from VARS and from E: use it while both live, then call
 * expr_value_release(). One expression is evaluated by one thread at a
 * time (its compiled regexes keep their match data); any number of
 * expressions may be evaluated at once. */
int expr_eval(const struct expr *e, const struct expr_vars *vars,
              struct expr_value *out, char *err, size_t errlen);

/* Drops what V owns, if anything, and makes it null. */
void expr_value_release(struct expr_value *v);

/* Evaluates E as a condition: 1 true, 0 false, -1 with the reason in ERR
 * when evaluation fails or the result is not a bool (CEL has no
 * truthiness: "1" is not true). */
int expr_eval_bool(const struct expr *e, const struct expr_vars *vars,
                   char *err, size_t errlen);

/* Evaluates E and renders the result as a key into BUF (LEN bytes, NUL-
 * terminated), for concurrency and other grouping keys: a string as it
 * is, an int in decimal, a double as "%.17g", true/false/null as words,
 * a list or map as compact JSON. So "1" and 1 give the same key, as they
 * do for Inngest, which hashes the printed value. Returns the key's length,
 * or -1 with the reason in ERR when evaluation fails or the key does not
 * fit in LEN - 1 bytes. */
int expr_eval_key(const struct expr *e, const struct expr_vars *vars,
                  char *buf, size_t len, char *err, size_t errlen);

/* The source E was compiled from (borrowed from E). */
const char *expr_source(const struct expr *e);

/* The name of type T as CEL writes it ("int", "string", "map"). */
const char *expr_type_name(enum expr_type t);

#endif
