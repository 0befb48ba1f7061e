/* expr_eval.c - evaluates a compiled expression over json-c values, as
 * CEL does.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A tree walk: the tree's height is bounded when it is compiled
 * (EXPR_MAX_DEPTH), so the recursion is too. Values borrow from the
 * variables and the tree; only `+` on strings and lists and list literals
 * that hold a variable build new values (see struct expr_value).
 *
 * Errors are CEL's error values: an operator given one returns it, except
 * && and || when the other side decides the result (false && error is
 * false, error || true is true), and the conditional, which only
 * evaluates the branch it takes. A string value is always NUL-terminated
 * at ptr[len] (json-c and the literals make it so); map lookups use it. */
#include "expr.h"
#include "expr_int.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One evaluation: where it reads and where it says what went wrong. */
struct ev {
    const struct expr *e;
    const struct expr_vars *vars;
    char *err;
    size_t errlen;
};

const char *
expr_type_name(enum expr_type t)
{
    static const char *const names[] = {"null", "bool", "int", "double",
                                        "string", "list", "map"};

    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

void
expr_value_release(struct expr_value *v)
{
    if (v->hold != NULL)
        json_object_put(v->hold);
    memset(v, 0, sizeof(*v));
    v->type = EXPR_NULL;
}

/* A view of J (borrowed). json-c's null is the NULL pointer. */
void
expr_value_from_json(struct json_object *j, struct expr_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (json_object_get_type(j)) {
    case json_type_null:
        v->type = EXPR_NULL;
        break;
    case json_type_boolean:
        v->type = EXPR_BOOL;
        v->u.b = json_object_get_boolean(j) != 0;
        break;
    case json_type_int:
        /* json-c keeps integers above INT64_MAX as uint64; they clamp
         * here (CEL would make them uint, a type this subset lacks). */
        v->type = EXPR_INT;
        v->u.i = json_object_get_int64(j);
        break;
    case json_type_double:
        v->type = EXPR_DOUBLE;
        v->u.d = json_object_get_double(j);
        break;
    case json_type_string:
        v->type = EXPR_STRING;
        v->u.s.ptr = json_object_get_string(j);
        v->u.s.len = (size_t)json_object_get_string_len(j);
        break;
    case json_type_array:
        v->type = EXPR_LIST;
        v->u.json = j;
        break;
    case json_type_object:
        v->type = EXPR_MAP;
        v->u.json = j;
        break;
    }
}

/* V as a new json-c reference (NULL for null). */
struct json_object *
expr_value_to_json(const struct expr_value *v)
{
    switch (v->type) {
    case EXPR_NULL:
        return NULL;
    case EXPR_BOOL:
        return json_object_new_boolean(v->u.b);
    case EXPR_INT:
        return json_object_new_int64(v->u.i);
    case EXPR_DOUBLE:
        return json_object_new_double(v->u.d);
    case EXPR_STRING:
        return json_object_new_string_len(v->u.s.ptr, (int)v->u.s.len);
    case EXPR_LIST:
    case EXPR_MAP:
        return json_object_get(v->u.json);
    }
    return NULL;
}

static int
ev_fail(struct ev *ev, const struct node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Says what went wrong at N's column; returns -1. */
static int
ev_fail(struct ev *ev, const struct node *n, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    expr_errf(ev->err, ev->errlen, "column %d: %s", n->col, what);
    return -1;
}

static int
is_num(const struct expr_value *v)
{
    return v->type == EXPR_INT || v->type == EXPR_DOUBLE;
}

/* Compares two numbers: -1, 0, 1, or 2 when unordered (a NaN). An int
 * and a double compare by value, exactly, as in cel-go (not by converting
 * the int to a double, which would make 2^53 + 1 equal 2^53). */
static int
num_cmp(const struct expr_value *a, const struct expr_value *b)
{
    double d, t;
    int64_t i;

    if (a->type == EXPR_INT && b->type == EXPR_INT)
        return (a->u.i > b->u.i) - (a->u.i < b->u.i);
    if (a->type == EXPR_DOUBLE && b->type == EXPR_DOUBLE) {
        if (isnan(a->u.d) || isnan(b->u.d))
            return 2;
        return (a->u.d > b->u.d) - (a->u.d < b->u.d);
    }
    if (a->type == EXPR_DOUBLE)
        return num_cmp(b, a) == 2 ? 2 : -num_cmp(b, a);
    i = a->u.i;
    d = b->u.d;
    if (isnan(d))
        return 2;
    if (d >= 9223372036854775808.0)
        return -1;
    if (d < -9223372036854775808.0)
        return 1;
    t = trunc(d);
    if (i != (int64_t)t)
        return i < (int64_t)t ? -1 : 1;
    return (t < d) ? -1 : (t > d) ? 1 : 0;
}

/* Whether A equals B as CEL's == says: numbers by value across int and
 * double, lists and maps element by element, values of different types
 * never (null == 0 is false, not an error). -1 when the values nest
 * deeper than EXPR_MAX_DEPTH. */
static int
values_equal(const struct expr_value *a, const struct expr_value *b,
             int depth)
{
    size_t k, n;

    if (depth > EXPR_MAX_DEPTH)
        return -1;
    if (is_num(a) && is_num(b))
        return num_cmp(a, b) == 0;
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case EXPR_NULL:
        return 1;
    case EXPR_BOOL:
        return a->u.b == b->u.b;
    case EXPR_STRING:
        return a->u.s.len == b->u.s.len &&
               memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    case EXPR_LIST:
        n = json_object_array_length(a->u.json);
        if (n != json_object_array_length(b->u.json))
            return 0;
        for (k = 0; k < n; k++) {
            struct expr_value x, y;
            int eq;

            expr_value_from_json(json_object_array_get_idx(a->u.json, k),
                                 &x);
            expr_value_from_json(json_object_array_get_idx(b->u.json, k),
                                 &y);
            if ((eq = values_equal(&x, &y, depth + 1)) != 1)
                return eq;
        }
        return 1;
    case EXPR_MAP:
        if (json_object_object_length(a->u.json) !=
            json_object_object_length(b->u.json))
            return 0;
        json_object_object_foreach(a->u.json, key, val)
        {
            struct json_object *other;
            struct expr_value x, y;
            int eq;

            if (!json_object_object_get_ex(b->u.json, key, &other))
                return 0;
            expr_value_from_json(val, &x);
            expr_value_from_json(other, &y);
            if ((eq = values_equal(&x, &y, depth + 1)) != 1)
                return eq;
        }
        return 1;
    default:
        return 0;
    }
}

/* Orders A and B into *CMP (-1, 0, 1, or 2 when unordered); -1 when CEL
 * has no ordering for them (null, lists, maps, mixed types but numbers). */
static int
values_order(const struct expr_value *a, const struct expr_value *b,
             int *cmp)
{
    if (is_num(a) && is_num(b)) {
        *cmp = num_cmp(a, b);
        return 0;
    }
    if (a->type != b->type)
        return -1;
    if (a->type == EXPR_BOOL) {
        *cmp = a->u.b - b->u.b;
        return 0;
    }
    if (a->type == EXPR_STRING) {
        /* Byte order is code point order in UTF-8, as CEL orders. */
        size_t n = a->u.s.len < b->u.s.len ? a->u.s.len : b->u.s.len;
        int c = memcmp(a->u.s.ptr, b->u.s.ptr, n);

        *cmp = c < 0 ? -1 : c > 0 ? 1 : (a->u.s.len > b->u.s.len) -
                                        (a->u.s.len < b->u.s.len);
        return 0;
    }
    return -1;
}

static void
set_bool(struct expr_value *out, int b)
{
    memset(out, 0, sizeof(*out));
    out->type = EXPR_BOOL;
    out->u.b = b != 0;
}

static void
set_int(struct expr_value *out, int64_t i)
{
    memset(out, 0, sizeof(*out));
    out->type = EXPR_INT;
    out->u.i = i;
}

static void
set_double(struct expr_value *out, double d)
{
    memset(out, 0, sizeof(*out));
    out->type = EXPR_DOUBLE;
    out->u.d = d;
}

/* OUT becomes the new json-c value J, which it owns. */
static void
set_owned(struct expr_value *out, struct json_object *j)
{
    expr_value_from_json(j, out);
    out->hold = j;
}

static int eval(struct ev *ev, const struct node *n, struct expr_value *out);

/* Integer arithmetic; overflow and division by zero are errors, as in
 * cel-go. */
static int
int_arith(struct ev *ev, const struct node *n, int64_t a, int64_t b,
          struct expr_value *out)
{
    int64_t r = 0;
    int over = 0;

    switch (n->op) {
    case OP_ADD:
        over = __builtin_add_overflow(a, b, &r);
        break;
    case OP_SUB:
        over = __builtin_sub_overflow(a, b, &r);
        break;
    case OP_MUL:
        over = __builtin_mul_overflow(a, b, &r);
        break;
    case OP_DIV:
    case OP_MOD:
        if (b == 0)
            return ev_fail(ev, n, n->op == OP_DIV ? "division by zero"
                                                  : "modulus by zero");
        if (a == INT64_MIN && b == -1)
            over = 1;
        else
            r = n->op == OP_DIV ? a / b : a % b;
        break;
    }
    if (over)
        return ev_fail(ev, n, "integer overflow");
    set_int(out, r);
    return 0;
}

/* A + B for strings and lists: the one place that allocates. */
static int
concat(const struct expr_value *a, const struct expr_value *b,
       struct expr_value *out)
{
    if (a->type == EXPR_STRING) {
        char *buf = malloc(a->u.s.len + b->u.s.len + 1);
        struct json_object *s;

        if (buf == NULL)
            abort();
        memcpy(buf, a->u.s.ptr, a->u.s.len);
        memcpy(buf + a->u.s.len, b->u.s.ptr, b->u.s.len);
        if (a->u.s.len + b->u.s.len > INT32_MAX)
            abort();
        s = json_object_new_string_len(buf, (int)(a->u.s.len + b->u.s.len));
        free(buf);
        set_owned(out, s);
    } else {
        struct json_object *arr = json_object_new_array();
        const struct expr_value *side[2] = {a, b};
        size_t k, i;

        for (i = 0; i < 2; i++)
            for (k = 0; k < json_object_array_length(side[i]->u.json); k++)
                json_object_array_add(arr, json_object_get(
                    json_object_array_get_idx(side[i]->u.json, k)));
        set_owned(out, arr);
    }
    return 0;
}

static const char *const op_names[] = {"==", "!=", "<", "<=", ">", ">=",
                                       "in", "+", "-", "*", "/", "%"};

/* A binary operator on A and B (both evaluated, neither an error). */
static int
binary(struct ev *ev, const struct node *n, const struct expr_value *a,
       const struct expr_value *b, struct expr_value *out)
{
    int cmp, eq;

    switch (n->op) {
    case OP_EQ:
    case OP_NE:
        if ((eq = values_equal(a, b, 0)) < 0)
            return ev_fail(ev, n, "values nested too deeply to compare");
        set_bool(out, n->op == OP_EQ ? eq : !eq);
        return 0;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (values_order(a, b, &cmp) != 0)
            break;
        set_bool(out, cmp == 2 ? 0
                      : n->op == OP_LT ? cmp < 0
                      : n->op == OP_LE ? cmp <= 0
                      : n->op == OP_GT ? cmp > 0 : cmp >= 0);
        return 0;
    case OP_IN:
        if (b->type == EXPR_LIST) {
            size_t k, len = json_object_array_length(b->u.json);

            for (k = 0; k < len; k++) {
                struct expr_value x;

                expr_value_from_json(json_object_array_get_idx(b->u.json, k),
                                     &x);
                if ((eq = values_equal(a, &x, 0)) < 0)
                    return ev_fail(ev, n, "values nested too deeply to "
                                          "compare");
                if (eq) {
                    set_bool(out, 1);
                    return 0;
                }
            }
            set_bool(out, 0);
            return 0;
        }
        if (b->type == EXPR_MAP) {
            /* JSON keys are strings: any other key is absent, as with
             * cel-go's heterogeneous keys. */
            set_bool(out, a->type == EXPR_STRING &&
                              memchr(a->u.s.ptr, '\0', a->u.s.len) == NULL &&
                              json_object_object_get_ex(b->u.json,
                                                        a->u.s.ptr, NULL));
            return 0;
        }
        break;
    case OP_ADD:
        if (a->type == b->type &&
            (a->type == EXPR_STRING || a->type == EXPR_LIST))
            return concat(a, b, out);
        /* fall through */
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
        /* No implicit conversion: 1 + 1.0 has no overload, as in CEL. */
        if (a->type == EXPR_INT && b->type == EXPR_INT)
            return int_arith(ev, n, a->u.i, b->u.i, out);
        if (a->type == EXPR_DOUBLE && b->type == EXPR_DOUBLE &&
            n->op != OP_MOD) {
            /* IEEE 754, as in CEL: 1.0 / 0.0 is +Inf, not an error. */
            set_double(out, n->op == OP_ADD   ? a->u.d + b->u.d
                            : n->op == OP_SUB ? a->u.d - b->u.d
                            : n->op == OP_MUL ? a->u.d * b->u.d
                                              : a->u.d / b->u.d);
            return 0;
        }
        break;
    }
    return ev_fail(ev, n, "no such overload: %s %s %s",
                   expr_type_name(a->type), op_names[n->op],
                   expr_type_name(b->type));
}

/* The value of && or ||: CEL's commutative logic, where a side that
 * decides the result (false for &&, true for ||) wins over an error or a
 * non-bool on the other side, whichever side it is on. */
static int
logic(struct ev *ev, const struct node *n, struct expr_value *out)
{
    int decide = n->kind == N_OR; /* the value that decides */
    struct expr_value l, r;
    int lrc, rrc;
    char lerr[256] = "";

    /* A bool operand may still hold what it was read from ([true][0]):
     * each is released once its value is read. */
    lrc = eval(ev, n->a, &l);
    if (lrc == 0 && l.type == EXPR_BOOL && l.u.b == decide) {
        expr_value_release(&l);
        set_bool(out, decide);
        return 0;
    }
    if (lrc != 0 && ev->errlen > 0)
        snprintf(lerr, sizeof(lerr), "%s", ev->err);
    rrc = eval(ev, n->b, &r);
    if (rrc == 0 && r.type == EXPR_BOOL && r.u.b == decide) {
        expr_value_release(&l);
        expr_value_release(&r);
        set_bool(out, decide);
        return 0;
    }
    if (lrc != 0) {
        expr_value_release(&r);
        expr_errf(ev->err, ev->errlen, "%s", lerr);
        return -1;
    }
    if (l.type != EXPR_BOOL || (rrc == 0 && r.type != EXPR_BOOL)) {
        ev_fail(ev, n, "no such overload: %s %s %s", expr_type_name(l.type),
                decide ? "||" : "&&",
                rrc == 0 ? expr_type_name(r.type) : "error");
        expr_value_release(&r);
        expr_value_release(&l);
        return -1;
    }
    expr_value_release(&l);
    if (rrc != 0)
        return -1;
    expr_value_release(&r);
    set_bool(out, !decide);
    return 0;
}

/* How many code points S holds (CEL's size of a string). */
static int64_t
utf8_count(const char *s, size_t len)
{
    int64_t n = 0;
    size_t k;

    for (k = 0; k < len; k++)
        n += ((unsigned char)s[k] & 0xC0) != 0x80;
    return n;
}

/* RE matches anywhere in S, as CEL's matches (unanchored). A pattern that
 * is not a literal is compiled here, each time: that allocates. */
static int
regex_match(struct ev *ev, const struct node *n, const struct expr_value *s,
            const struct expr_value *pat, struct expr_value *out)
{
    pcre2_code *re = n->re;
    pcre2_match_data *md = n->md;
    int rc, code;
    PCRE2_SIZE off;

    if (re == NULL) {
        re = pcre2_compile((PCRE2_SPTR)pat->u.s.ptr, pat->u.s.len,
                           PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off,
                           NULL);
        if (re == NULL) {
            PCRE2_UCHAR msg[128];

            pcre2_get_error_message(code, msg, sizeof(msg));
            return ev_fail(ev, n, "bad regex: %s at offset %zu",
                           (const char *)msg, (size_t)off);
        }
        if ((md = pcre2_match_data_create(1, NULL)) == NULL)
            abort();
    }
    rc = pcre2_match(re, (PCRE2_SPTR)s->u.s.ptr, s->u.s.len, 0, 0, md,
                     ev->e->mctx);
    if (re != n->re) {
        pcre2_match_data_free(md);
        pcre2_code_free(re);
    }
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH) {
        PCRE2_UCHAR msg[128];

        pcre2_get_error_message(rc, msg, sizeof(msg));
        return ev_fail(ev, n, "regex: %s", (const char *)msg);
    }
    set_bool(out, rc >= 0);
    return 0;
}

static int
call(struct ev *ev, const struct node *n, struct expr_value *out)
{
    static const char *const names[] = {"size", "startsWith", "endsWith",
                                        "contains", "matches"};
    struct expr_value a, b;
    int rc = 0;

    if (eval(ev, n->a, &a) != 0)
        return -1;
    if (n->op == FN_SIZE) {
        if (a.type == EXPR_STRING)
            set_int(out, utf8_count(a.u.s.ptr, a.u.s.len));
        else if (a.type == EXPR_LIST)
            set_int(out, (int64_t)json_object_array_length(a.u.json));
        else if (a.type == EXPR_MAP)
            set_int(out, json_object_object_length(a.u.json));
        else
            rc = ev_fail(ev, n, "no such overload: size(%s)",
                         expr_type_name(a.type));
        expr_value_release(&a);
        return rc;
    }
    if (eval(ev, n->b, &b) != 0) {
        expr_value_release(&a);
        return -1;
    }
    if (a.type != EXPR_STRING || b.type != EXPR_STRING) {
        rc = ev_fail(ev, n, "no such overload: %s.%s(%s)",
                     expr_type_name(a.type), names[n->op],
                     expr_type_name(b.type));
    } else if (n->op == FN_STARTS) {
        set_bool(out, b.u.s.len <= a.u.s.len &&
                          memcmp(a.u.s.ptr, b.u.s.ptr, b.u.s.len) == 0);
    } else if (n->op == FN_ENDS) {
        set_bool(out, b.u.s.len <= a.u.s.len &&
                          memcmp(a.u.s.ptr + a.u.s.len - b.u.s.len,
                                 b.u.s.ptr, b.u.s.len) == 0);
    } else if (n->op == FN_CONTAINS) {
        set_bool(out, b.u.s.len == 0 ||
                          memmem(a.u.s.ptr, a.u.s.len, b.u.s.ptr,
                                 b.u.s.len) != NULL);
    } else {
        rc = regex_match(ev, n, &a, &b, out);
    }
    expr_value_release(&a);
    expr_value_release(&b);
    return rc;
}

/* A field or an index of a map or list. The result borrows from the
 * container, so it takes over the container's reference, if any. */
static int
select_child(struct ev *ev, const struct node *n, struct expr_value *c,
             const struct expr_value *key, struct expr_value *out)
{
    struct json_object *child;
    char what[64];

    if (c->type == EXPR_LIST && key->type == EXPR_INT) {
        /* cel-go also takes a double or uint that is a whole number; this
         * subset takes ints only. */
        int64_t len = (int64_t)json_object_array_length(c->u.json);

        if (key->u.i < 0 || key->u.i >= len) {
            ev_fail(ev, n, "index out of range: %lld (the list has %lld)",
                    (long long)key->u.i, (long long)len);
            goto fail;
        }
        child = json_object_array_get_idx(c->u.json, (size_t)key->u.i);
    } else if (c->type == EXPR_MAP) {
        if (key->type != EXPR_STRING ||
            memchr(key->u.s.ptr, '\0', key->u.s.len) != NULL ||
            !json_object_object_get_ex(c->u.json, key->u.s.ptr, &child)) {
            if (key->type == EXPR_STRING)
                snprintf(what, sizeof(what), "'%.*s'",
                         (int)(key->u.s.len > 40 ? 40 : key->u.s.len),
                         key->u.s.ptr);
            else if (key->type == EXPR_INT)
                snprintf(what, sizeof(what), "%lld", (long long)key->u.i);
            else
                snprintf(what, sizeof(what), "a %s",
                         expr_type_name(key->type));
            ev_fail(ev, n, "no such key: %s", what);
            goto fail;
        }
    } else {
        ev_fail(ev, n, n->kind == N_FIELD
                           ? "no such overload: field selection on a %s"
                           : "no such overload: %s[%s]",
                expr_type_name(c->type), expr_type_name(key->type));
        goto fail;
    }
    {
        struct json_object *hold = c->hold;

        expr_value_from_json(child, out);
        out->hold = hold;
        c->hold = NULL;
    }
    return 0;
fail:
    expr_value_release(c);
    return -1;
}

static int
eval(struct ev *ev, const struct node *n, struct expr_value *out)
{
    struct expr_value a, b;
    int rc, k;

    memset(out, 0, sizeof(*out));
    out->type = EXPR_NULL;
    switch (n->kind) {
    case N_LIT:
        *out = n->lit;
        out->hold = NULL;
        return 0;
    case N_VAR:
        expr_value_from_json(n->op ? ev->vars->async : ev->vars->event, out);
        return 0;
    case N_FIELD:
        if (eval(ev, n->a, &a) != 0)
            return -1;
        memset(&b, 0, sizeof(b));
        b.type = EXPR_STRING;
        b.u.s.ptr = n->name;
        b.u.s.len = n->namelen;
        return select_child(ev, n, &a, &b, out);
    case N_INDEX:
        if (eval(ev, n->a, &a) != 0)
            return -1;
        if (eval(ev, n->b, &b) != 0) {
            expr_value_release(&a);
            return -1;
        }
        rc = select_child(ev, n, &a, &b, out);
        expr_value_release(&b);
        return rc;
    case N_HAS:
        /* has(m.f): whether map m has key f, even when its value is null.
         * On anything but a map it is an error, as in cel-go. */
        if (eval(ev, n->a->a, &a) != 0)
            return -1;
        if (a.type != EXPR_MAP) {
            ev_fail(ev, n, "no such overload: has() on a field of a %s",
                    expr_type_name(a.type));
            expr_value_release(&a);
            return -1;
        }
        set_bool(out, json_object_object_get_ex(a.u.json, n->a->name,
                                                NULL));
        expr_value_release(&a);
        return 0;
    case N_CALL:
        return call(ev, n, out);
    case N_NOT:
    case N_NEG:
        if (eval(ev, n->a, &a) != 0)
            return -1;
        /* A scalar operand may still hold what it was read from (the
         * list of [1][0]): release it once its value is copied. */
        if (n->kind == N_NOT && a.type == EXPR_BOOL) {
            set_bool(out, !a.u.b);
        } else if (n->kind == N_NEG && a.type == EXPR_INT &&
                   a.u.i != INT64_MIN) {
            set_int(out, -a.u.i);
        } else if (n->kind == N_NEG && a.type == EXPR_DOUBLE) {
            set_double(out, -a.u.d);
        } else {
            if (n->kind == N_NEG && a.type == EXPR_INT)
                ev_fail(ev, n, "integer overflow");
            else
                ev_fail(ev, n, "no such overload: %s%s",
                        n->kind == N_NOT ? "!" : "-",
                        expr_type_name(a.type));
            expr_value_release(&a);
            return -1;
        }
        expr_value_release(&a);
        return 0;
    case N_BINARY:
        if (eval(ev, n->a, &a) != 0)
            return -1;
        if (eval(ev, n->b, &b) != 0) {
            expr_value_release(&a);
            return -1;
        }
        rc = binary(ev, n, &a, &b, out);
        expr_value_release(&a);
        expr_value_release(&b);
        return rc;
    case N_AND:
    case N_OR:
        return logic(ev, n, out);
    case N_COND:
        if (eval(ev, n->a, &a) != 0)
            return -1;
        if (a.type != EXPR_BOOL) {
            ev_fail(ev, n, "no such overload: the condition of ?: is a %s, "
                           "not a bool", expr_type_name(a.type));
            expr_value_release(&a);
            return -1;
        }
        rc = a.u.b;
        expr_value_release(&a);
        return eval(ev, rc ? n->b : n->c, out);
    case N_LIST: {
        struct json_object *arr = json_object_new_array();

        for (k = 0; k < n->nitems; k++) {
            if (eval(ev, n->items[k], &a) != 0) {
                json_object_put(arr);
                return -1;
            }
            json_object_array_add(arr, expr_value_to_json(&a));
            expr_value_release(&a);
        }
        set_owned(out, arr);
        return 0;
    }
    }
    return ev_fail(ev, n, "unknown node");
}

int
expr_eval(const struct expr *e, const struct expr_vars *vars,
          struct expr_value *out, char *err, size_t errlen)
{
    static const struct expr_vars none;
    struct ev ev = {e, vars != NULL ? vars : &none, err, errlen};

    return eval(&ev, e->root, out);
}

int
expr_eval_bool(const struct expr *e, const struct expr_vars *vars,
               char *err, size_t errlen)
{
    struct expr_value v;
    int b;

    if (expr_eval(e, vars, &v, err, errlen) != 0)
        return -1;
    if (v.type != EXPR_BOOL) {
        expr_errf(err, errlen, "the expression gives a %s, not a bool",
                  expr_type_name(v.type));
        expr_value_release(&v);
        return -1;
    }
    b = v.u.b;
    expr_value_release(&v);
    return b;
}

int
expr_eval_key(const struct expr *e, const struct expr_vars *vars,
              char *buf, size_t len, char *err, size_t errlen)
{
    struct expr_value v;
    const char *text = NULL;
    char num[64];
    size_t n;

    if (expr_eval(e, vars, &v, err, errlen) != 0)
        return -1;
    switch (v.type) {
    case EXPR_NULL:
        text = "null";
        break;
    case EXPR_BOOL:
        text = v.u.b ? "true" : "false";
        break;
    case EXPR_INT:
        snprintf(num, sizeof(num), "%lld", (long long)v.u.i);
        text = num;
        break;
    case EXPR_DOUBLE:
        snprintf(num, sizeof(num), "%.17g", v.u.d);
        text = num;
        break;
    case EXPR_STRING:
        break;
    case EXPR_LIST:
    case EXPR_MAP:
        text = json_object_to_json_string_ext(
            v.u.json, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        break;
    }
    n = text != NULL ? strlen(text) : v.u.s.len;
    if (n + 1 > len) {
        expr_errf(err, errlen, "the key is longer than %zu bytes",
                  len > 0 ? len - 1 : 0);
        expr_value_release(&v);
        return -1;
    }
    memcpy(buf, text != NULL ? text : v.u.s.ptr, n);
    buf[n] = '\0';
    expr_value_release(&v);
    return (int)n;
}
