/* expr_int.h - what the parser (expr.c) and the evaluator (expr_eval.c)
 * share: the tree.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_EXPR_INT_H
#define FNHOST_EXPR_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stddef.h>

#include "expr.h"

/* Bounds on a regex match, so that a pattern that backtracks badly fails
 * with an error instead of stalling the daemon (RE2, which CEL uses, is
 * linear; PCRE2 is not). */
#define MATCH_LIMIT 100000
#define MATCH_DEPTH_LIMIT 1000

enum node_kind {
    N_LIT,    /* lit */
    N_LIST,   /* items: a list literal that is not constant */
    N_VAR,    /* op: 0 event, 1 async */
    N_FIELD,  /* a.name */
    N_INDEX,  /* a[b] */
    N_HAS,    /* has(a.name): a is the N_FIELD */
    N_CALL,   /* op: enum fn; a the receiver or first argument, b next */
    N_NOT,
    N_NEG,
    N_BINARY, /* op: enum binop */
    N_AND,
    N_OR,
    N_COND    /* a ? b : c */
};

enum fn { FN_SIZE, FN_STARTS, FN_ENDS, FN_CONTAINS, FN_MATCHES };

enum binop { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE, OP_IN, OP_ADD,
             OP_SUB, OP_MUL, OP_DIV, OP_MOD };

struct node {
    enum node_kind kind;
    int op;
    int col;                 /* 1-based, for evaluation errors */
    int height;              /* 1 + the tallest child */
    struct node *a, *b, *c;
    struct node **items;     /* N_LIST */
    int nitems;
    char *name;              /* N_FIELD */
    size_t namelen;
    struct expr_value lit;   /* N_LIT; lit.hold owns strings and lists */
    pcre2_code *re;          /* N_CALL matches with a literal pattern */
    pcre2_match_data *md;
};

struct expr {
    struct node *root;
    char *src;
    pcre2_match_context *mctx;
};

/* Formats into ERR (ERRLEN bytes, may be 0) like snprintf. */
void expr_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Fills V with a view of J (borrowed; json-c's null is NULL). */
void expr_value_from_json(struct json_object *j, struct expr_value *v);

/* V as a new json-c reference (NULL for null). */
struct json_object *expr_value_to_json(const struct expr_value *v);

#endif
