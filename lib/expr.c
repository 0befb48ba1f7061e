/* expr.c - the CEL subset: a recursive-descent parser into a tree, and a
 * tree walker over json-c values.
 * SPDX-License-Identifier: Apache-2.0
 *
 * The grammar is CEL's, less what fnhost does not need yet (map literals,
 * uint and bytes, macros other than has(), type conversions):
 *
 *   expr    = or ["?" or ":" expr]
 *   or      = and {"||" and}
 *   and     = rel {"&&" rel}
 *   rel     = add {("<"|"<="|">"|">="|"=="|"!="|"in") add}
 *   add     = mul {("+"|"-") mul}
 *   mul     = unary {("*"|"/"|"%") unary}
 *   unary   = {"!"|"-"} member
 *   member  = primary {"." IDENT ["(" args ")"] | "[" expr "]"}
 *   primary = IDENT ["(" args ")"] | "(" expr ")" | "[" [args [","]] "]"
 *           | INT | DOUBLE | STRING | true | false | null
 *
 * Semantics are cel-go's (errors are values that && and || may absorb,
 * heterogeneous numeric equality, no implicit int/double arithmetic);
 * where this differs, a comment says so. */
#include "expr.h"
#include "expr_int.h"

#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* OOM aborts, as in the rest of fnhost (lib/ cannot use host/util.h). */
static void *
expr_alloc(size_t n)
{
    void *p = calloc(1, n);

    if (p == NULL)
        abort();
    return p;
}

void
expr_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- the parser ---- */

enum tok {
    T_EOF, T_INT, T_DOUBLE, T_STRING, T_IDENT, T_EQ, T_NE, T_LE, T_GE,
    T_AND, T_OR, T_CHAR /* one punctuation character, in ch */
};

struct parser {
    const char *src;
    size_t pos;        /* where the lexer reads next */
    enum tok tok;      /* the current token */
    char ch;           /* T_CHAR */
    size_t start;      /* the current token's first byte */
    size_t end;
    uint64_t ival;     /* T_INT: the magnitude */
    double dval;
    char *sval;        /* T_STRING: the decoded bytes (owned) */
    size_t slen;
    int depth;
    int failed;
    char *err;
    size_t errlen;
};

static void
fail(struct parser *p, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the first error only: later ones follow from it. */
static void
fail(struct parser *p, size_t at, const char *fmt, ...)
{
    char what[256];
    va_list ap;

    if (p->failed)
        return;
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    expr_errf(p->err, p->errlen, "column %zu: %s", at + 1, what);
}

static int
is_ident_start(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int
hex_value(int c)
{
    if (is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Appends code point CP to BUF as UTF-8. */
static size_t
put_utf8(char *buf, uint32_t cp)
{
    if (cp < 0x80) {
        buf[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = (char)(0xC0 | cp >> 6);
        buf[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = (char)(0xE0 | cp >> 12);
        buf[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        buf[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = (char)(0xF0 | cp >> 18);
    buf[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    buf[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    buf[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Lexes a string literal at p->pos (after any r prefix): '...', "...",
 * or either tripled, with CEL's escapes unless RAW. The decoded text is
 * never longer than the source, so one buffer of that size holds it. */
static void
lex_string(struct parser *p, int raw)
{
    const char *s = p->src;
    char q = s[p->pos];
    int triple = s[p->pos + 1] == q && s[p->pos + 2] == q;
    size_t i = p->pos + (triple ? 3 : 1), n = 0;
    char *out = expr_alloc(strlen(s + p->pos) + 1);

    for (;;) {
        char c = s[i];

        if (c == '\0' || (!triple && (c == '\n' || c == '\r'))) {
            fail(p, p->start, "expected the closing %c of the string", q);
            free(out);
            return;
        }
        if (c == q && (!triple || (s[i + 1] == q && s[i + 2] == q))) {
            i += triple ? 3 : 1;
            break;
        }
        if (c != '\\' || raw) {
            out[n++] = c;
            i++;
            continue;
        }
        c = s[++i];
        switch (c) {
        case 'a': out[n++] = '\a'; i++; continue;
        case 'b': out[n++] = '\b'; i++; continue;
        case 'f': out[n++] = '\f'; i++; continue;
        case 'n': out[n++] = '\n'; i++; continue;
        case 'r': out[n++] = '\r'; i++; continue;
        case 't': out[n++] = '\t'; i++; continue;
        case 'v': out[n++] = '\v'; i++; continue;
        case '\\': case '\'': case '"': case '`': case '?':
            out[n++] = c;
            i++;
            continue;
        default:
            break;
        }
        {
            int digits = 0, base = 16, k, d;
            uint32_t cp = 0;

            if (c == 'x' || c == 'X')
                digits = 2;
            else if (c == 'u')
                digits = 4;
            else if (c == 'U')
                digits = 8;
            else if (c >= '0' && c <= '3') {
                digits = 3;
                base = 8;
                i--; /* the first octal digit is C itself */
            } else {
                fail(p, i - 1, "expected an escape (\\n, \\t, \\\\, \\\", "
                               "\\xHH, \\uHHHH, ...) after the backslash");
                free(out);
                return;
            }
            i++;
            for (k = 0; k < digits; k++, i++) {
                d = base == 8 ? (s[i] >= '0' && s[i] <= '7' ? s[i] - '0'
                                                             : -1)
                              : hex_value((unsigned char)s[i]);
                if (d < 0) {
                    fail(p, i, "expected %d %s digits in the escape", digits,
                         base == 8 ? "octal" : "hex");
                    free(out);
                    return;
                }
                cp = cp * (uint32_t)base + (uint32_t)d;
            }
            /* As in cel-go, \x and octal escapes in a string are code
             * points (\xFF is U+00FF), so a string stays UTF-8. */
            if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                fail(p, i - 1, "the escape is not a Unicode code point");
                free(out);
                return;
            }
            n += put_utf8(out + n, cp);
        }
    }
    p->tok = T_STRING;
    p->sval = out;
    p->slen = n;
    p->pos = i;
}

/* Lexes a number at p->pos: decimal or 0x hex ints, CEL's doubles. */
static void
lex_number(struct parser *p)
{
    const char *s = p->src;
    size_t i = p->pos;
    int is_double = 0;

    if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        uint64_t v = 0;

        i += 2;
        if (hex_value((unsigned char)s[i]) < 0) {
            fail(p, i, "expected hex digits after 0x");
            return;
        }
        for (; hex_value((unsigned char)s[i]) >= 0; i++) {
            if (v > (UINT64_MAX >> 4)) {
                fail(p, p->start, "integer literal out of range");
                return;
            }
            v = v << 4 | (uint64_t)hex_value((unsigned char)s[i]);
        }
        p->ival = v;
        p->tok = T_INT;
    } else {
        while (is_digit(s[i]))
            i++;
        if (s[i] == '.' && is_digit(s[i + 1])) {
            is_double = 1;
            i++;
            while (is_digit(s[i]))
                i++;
        }
        if (s[i] == 'e' || s[i] == 'E') {
            size_t j = i + 1 + (s[i + 1] == '+' || s[i + 1] == '-');

            if (!is_digit(s[j])) {
                fail(p, j, "expected digits in the exponent");
                return;
            }
            is_double = 1;
            for (i = j; is_digit(s[i]); i++)
                ;
        }
        if (is_double) {
            p->dval = strtod(s + p->pos, NULL);
            p->tok = T_DOUBLE;
        } else {
            uint64_t v = 0;
            size_t k;

            for (k = p->pos; k < i; k++) {
                if (v > (UINT64_MAX - 9) / 10) {
                    fail(p, p->start, "integer literal out of range");
                    return;
                }
                v = v * 10 + (uint64_t)(s[k] - '0');
            }
            p->ival = v;
            p->tok = T_INT;
        }
    }
    if (s[i] == 'u' || s[i] == 'U') {
        /* cel-go has uint; this subset has not (JSON has no such type). */
        fail(p, i, "unsigned integers are not supported");
        return;
    }
    if (is_ident_start((unsigned char)s[i])) {
        fail(p, i, "expected an operator after the number");
        return;
    }
    p->pos = i;
}

/* Reads the next token into p->tok. */
static void
next(struct parser *p)
{
    const char *s = p->src;
    char c;

    free(p->sval);
    p->sval = NULL;
    if (p->failed) {
        p->tok = T_EOF;
        return;
    }
    while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
           s[p->pos] == '\r')
        p->pos++;
    p->start = p->pos;
    c = s[p->pos];
    if (c == '\0') {
        p->tok = T_EOF;
    } else if ((c == 'r' || c == 'R') &&
               (s[p->pos + 1] == '"' || s[p->pos + 1] == '\'')) {
        p->pos++;
        lex_string(p, 1);
    } else if (is_ident_start((unsigned char)c)) {
        while (is_ident_start((unsigned char)s[p->pos]) ||
               is_digit(s[p->pos]))
            p->pos++;
        p->tok = T_IDENT;
    } else if (is_digit(c) || (c == '.' && is_digit(s[p->pos + 1]))) {
        lex_number(p);
    } else if (c == '"' || c == '\'') {
        lex_string(p, 0);
    } else {
        static const struct {
            char a, b;
            enum tok tok;
        } two[] = {{'=', '=', T_EQ}, {'!', '=', T_NE}, {'<', '=', T_LE},
                   {'>', '=', T_GE}, {'&', '&', T_AND}, {'|', '|', T_OR}};
        size_t k;

        for (k = 0; k < sizeof(two) / sizeof(two[0]); k++) {
            if (c == two[k].a && s[p->pos + 1] == two[k].b) {
                p->tok = two[k].tok;
                p->pos += 2;
                goto done;
            }
        }
        if (strchr("<>!+-*/%?:.,()[]{}", c) == NULL) {
            fail(p, p->pos, (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f
                                ? "unexpected byte 0x%02x"
                                : "unexpected character '%c'",
                 (unsigned char)c);
            p->tok = T_EOF;
            return;
        }
        p->tok = T_CHAR;
        p->ch = c;
        p->pos++;
    }
done:
    if (p->failed)
        p->tok = T_EOF;
    p->end = p->pos;
}

static int
is_char(const struct parser *p, char c)
{
    return p->tok == T_CHAR && p->ch == c;
}

static int
is_word(const struct parser *p, const char *w)
{
    size_t n = strlen(w);

    return p->tok == T_IDENT && p->end - p->start == n &&
           memcmp(p->src + p->start, w, n) == 0;
}

/* Consumes character C or fails saying it was expected WHERE. */
static int
expect(struct parser *p, char c, const char *where)
{
    if (!is_char(p, c)) {
        fail(p, p->start, "expected '%c' %s", c, where);
        return -1;
    }
    next(p);
    return 0;
}

static void node_free(struct node *n);

static struct node *
node_new(struct parser *p, enum node_kind kind, size_t at, struct node *a,
         struct node *b, struct node *c)
{
    struct node *n = expr_alloc(sizeof(*n));
    int h = 0;

    n->kind = kind;
    n->col = (int)at + 1;
    n->a = a;
    n->b = b;
    n->c = c;
    if (a != NULL && a->height > h)
        h = a->height;
    if (b != NULL && b->height > h)
        h = b->height;
    if (c != NULL && c->height > h)
        h = c->height;
    n->height = h + 1;
    /* A chain like a+b+c+... is flat to parse but deep to evaluate. */
    if (n->height > EXPR_MAX_DEPTH)
        fail(p, at, "expression nested deeper than %d levels",
             EXPR_MAX_DEPTH);
    return n;
}

static void
node_free(struct node *n)
{
    int k;

    if (n == NULL)
        return;
    node_free(n->a);
    node_free(n->b);
    node_free(n->c);
    for (k = 0; k < n->nitems; k++)
        node_free(n->items[k]);
    free(n->items);
    free(n->name);
    if (n->lit.hold != NULL)
        json_object_put(n->lit.hold);
    pcre2_match_data_free(n->md);
    pcre2_code_free(n->re);
    free(n);
}

static struct node *parse_expr(struct parser *p);

/* A literal node for the current INT token, negated if NEG. */
static struct node *
int_literal(struct parser *p, size_t at, int neg)
{
    struct node *n;

    if (p->ival > (uint64_t)INT64_MAX + (neg ? 1 : 0)) {
        fail(p, at, "integer literal out of range");
        return NULL;
    }
    n = node_new(p, N_LIT, at, NULL, NULL, NULL);
    n->lit.type = EXPR_INT;
    n->lit.u.i = neg ? (int64_t)(0 - p->ival) : (int64_t)p->ival;
    next(p);
    return n;
}

/* Parses "(" args ")" after a function's name into ARGS (at most MAX);
 * returns how many, or -1. */
static int
parse_args(struct parser *p, const char *fn, struct node **args, int max)
{
    int n = 0;

    next(p); /* ( */
    if (is_char(p, ')')) {
        next(p);
        return 0;
    }
    for (;;) {
        struct node *a = parse_expr(p);

        if (a == NULL)
            goto fail;
        if (n == max) {
            node_free(a);
            fail(p, p->start, "too many arguments to %s", fn);
            goto fail;
        }
        args[n++] = a;
        if (!is_char(p, ','))
            break;
        next(p);
    }
    if (!is_char(p, ')')) {
        fail(p, p->start, "expected ')' after the arguments of %s", fn);
        goto fail;
    }
    next(p);
    return n;
fail:
    while (n > 0)
        node_free(args[--n]);
    return -1;
}

/* Compiles the regex of a matches() whose pattern is a literal, once. */
static int
compile_regex(struct parser *p, struct node *call)
{
    const struct node *pat = call->b;
    int code;
    PCRE2_SIZE off;

    if (pat->kind != N_LIT || pat->lit.type != EXPR_STRING)
        return 0;
    call->re = pcre2_compile((PCRE2_SPTR)pat->lit.u.s.ptr, pat->lit.u.s.len,
                             PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off,
                             NULL);
    if (call->re == NULL) {
        PCRE2_UCHAR msg[128];

        pcre2_get_error_message(code, msg, sizeof(msg));
        fail(p, (size_t)pat->col - 1, "bad regex: %s at offset %zu",
             (const char *)msg, (size_t)off);
        return -1;
    }
    call->md = pcre2_match_data_create(1, NULL);
    if (call->md == NULL)
        abort();
    return 0;
}

/* Builds a call of FN from ARGS (the receiver first), checking arity. */
static struct node *
make_call(struct parser *p, size_t at, const char *name, int member,
          struct node **args, int nargs)
{
    static const struct {
        const char *name;
        enum fn fn;
        int global; /* may be called as name(x, ...) */
    } fns[] = {{"size", FN_SIZE, 1},         {"startsWith", FN_STARTS, 0},
               {"endsWith", FN_ENDS, 0},     {"contains", FN_CONTAINS, 0},
               {"matches", FN_MATCHES, 1}};
    size_t k;
    int want;
    struct node *n;

    for (k = 0; k < sizeof(fns) / sizeof(fns[0]); k++)
        if (strcmp(fns[k].name, name) == 0)
            break;
    if (k == sizeof(fns) / sizeof(fns[0]) || (!member && !fns[k].global)) {
        fail(p, at, "unknown function '%s' (expected has, size, %s"
                    "matches)", name,
             member ? "startsWith, endsWith, contains, " : "");
        goto fail;
    }
    want = fns[k].fn == FN_SIZE ? 1 : 2;
    if (nargs != want) {
        fail(p, at, "%s takes %d argument%s%s", name, want - member,
             want - member == 1 ? "" : "s",
             member ? "" : " (or is called on a value)");
        goto fail;
    }
    n = node_new(p, N_CALL, at, args[0], nargs > 1 ? args[1] : NULL, NULL);
    n->op = (int)fns[k].fn;
    if (n->op == FN_MATCHES && compile_regex(p, n) != 0) {
        node_free(n);
        return NULL;
    }
    return n;
fail:
    while (nargs > 0)
        node_free(args[--nargs]);
    return NULL;
}

/* A list literal: constant when every item is (folded once into a json-c
 * array, so `x in ["a", "b"]` allocates nothing when evaluated). */
static struct node *
parse_list(struct parser *p)
{
    size_t at = p->start;
    struct node *n = node_new(p, N_LIST, at, NULL, NULL, NULL);
    int cap = 0, k, constant = 1;

    next(p); /* [ */
    while (!is_char(p, ']')) {
        struct node *item = parse_expr(p);

        if (item == NULL)
            goto fail;
        if (n->nitems == cap) {
            cap = cap ? 2 * cap : 4;
            n->items = realloc(n->items, (size_t)cap * sizeof(*n->items));
            if (n->items == NULL)
                abort();
        }
        n->items[n->nitems++] = item;
        if (item->height + 1 > n->height)
            n->height = item->height + 1;
        if (item->kind != N_LIT)
            constant = 0;
        if (!is_char(p, ','))
            break;
        next(p);
    }
    if (!is_char(p, ']')) {
        fail(p, p->start, "expected ']' or ',' in the list");
        goto fail;
    }
    next(p);
    if (n->height > EXPR_MAX_DEPTH) {
        fail(p, at, "expression nested deeper than %d levels",
             EXPR_MAX_DEPTH);
        goto fail;
    }
    if (constant) {
        struct json_object *arr = json_object_new_array();

        for (k = 0; k < n->nitems; k++) {
            json_object_array_add(arr, expr_value_to_json(&n->items[k]->lit));
            node_free(n->items[k]);
        }
        free(n->items);
        n->items = NULL;
        n->nitems = 0;
        n->kind = N_LIT;
        n->lit.type = EXPR_LIST;
        n->lit.u.json = arr;
        n->lit.hold = arr;
    }
    return n;
fail:
    node_free(n);
    return NULL;
}

static struct node *
parse_primary(struct parser *p)
{
    size_t at = p->start;
    struct node *n;

    if (p->tok == T_INT)
        return int_literal(p, at, 0);
    if (p->tok == T_DOUBLE || p->tok == T_STRING) {
        n = node_new(p, N_LIT, at, NULL, NULL, NULL);
        if (p->tok == T_DOUBLE) {
            n->lit.type = EXPR_DOUBLE;
            n->lit.u.d = p->dval;
        } else {
            n->lit.hold = json_object_new_string_len(p->sval, (int)p->slen);
            n->lit.type = EXPR_STRING;
            n->lit.u.s.ptr = json_object_get_string(n->lit.hold);
            n->lit.u.s.len = p->slen;
        }
        next(p);
        return n;
    }
    if (is_char(p, '(')) {
        next(p);
        if ((n = parse_expr(p)) == NULL)
            return NULL;
        if (expect(p, ')', "to close the '('") != 0) {
            node_free(n);
            return NULL;
        }
        return n;
    }
    if (is_char(p, '['))
        return parse_list(p);
    if (is_char(p, '{')) {
        fail(p, at, "map literals are not supported");
        return NULL;
    }
    if (p->tok != T_IDENT) {
        fail(p, at, p->tok == T_EOF ? "expected a value at the end"
                                    : "expected a value");
        return NULL;
    }
    if (is_word(p, "true") || is_word(p, "false") || is_word(p, "null")) {
        n = node_new(p, N_LIT, at, NULL, NULL, NULL);
        if (!is_word(p, "null")) {
            n->lit.type = EXPR_BOOL;
            n->lit.u.b = is_word(p, "true");
        }
        next(p);
        return n;
    }
    if (is_word(p, "event") || is_word(p, "async")) {
        n = node_new(p, N_VAR, at, NULL, NULL, NULL);
        n->op = is_word(p, "async");
        next(p);
        if (is_char(p, '('))
            fail(p, p->start, "'%s' is a variable, not a function",
                 n->op ? "async" : "event");
        return n;
    }
    {
        char name[32];
        size_t len = p->end - p->start;
        struct node *args[2];
        int nargs;

        snprintf(name, sizeof(name), "%.*s", (int)len, p->src + p->start);
        next(p);
        if (!is_char(p, '(')) {
            fail(p, at, "unknown variable '%s' (expected event or async)",
                 name);
            return NULL;
        }
        if (strcmp(name, "has") == 0) {
            nargs = parse_args(p, "has", args, 1);
            if (nargs < 0)
                return NULL;
            if (nargs != 1 || args[0]->kind != N_FIELD) {
                fail(p, at, "has() takes one field selection, like "
                            "has(event.data.id)");
                if (nargs == 1)
                    node_free(args[0]);
                return NULL;
            }
            return node_new(p, N_HAS, at, args[0], NULL, NULL);
        }
        nargs = parse_args(p, name, args, 2);
        if (nargs < 0)
            return NULL;
        return make_call(p, at, name, 0, args, nargs);
    }
}

/* The suffixes of a member: .name, .method(args), [index]. */
static struct node *
parse_member_rest(struct parser *p, struct node *n)
{
    while (n != NULL && !p->failed) {
        size_t at = p->start;

        if (is_char(p, '.')) {
            size_t name_at, len;
            char *name;

            next(p);
            if (p->tok != T_IDENT) {
                fail(p, p->start, "expected a field name after '.'");
                break;
            }
            name_at = p->start;
            len = p->end - p->start;
            name = expr_alloc(len + 1);
            memcpy(name, p->src + p->start, len);
            next(p);
            if (is_char(p, '(')) {
                struct node *args[2] = {n, NULL};
                int nargs = parse_args(p, name, args + 1, 1);

                if (nargs < 0) {
                    free(name);
                    break;
                }
                n = make_call(p, name_at, name, 1, args, nargs + 1);
                free(name);
                continue;
            }
            n = node_new(p, N_FIELD, at, n, NULL, NULL);
            n->name = name;
            n->namelen = len;
        } else if (is_char(p, '[')) {
            struct node *idx;

            next(p);
            if ((idx = parse_expr(p)) == NULL)
                break;
            n = node_new(p, N_INDEX, at, n, idx, NULL);
            if (expect(p, ']', "after the index") != 0)
                break;
        } else {
            return n;
        }
    }
    node_free(n);
    return NULL;
}

static struct node *
parse_unary(struct parser *p)
{
    size_t at = p->start;
    struct node *n;

    if (is_char(p, '!') || is_char(p, '-')) {
        int neg = is_char(p, '-');

        next(p);
        /* -9223372036854775808 is a literal, not the negation of one
         * that is out of range. */
        if (neg && p->tok == T_INT && p->start == at + 1) {
            n = int_literal(p, at, 1);
            return parse_member_rest(p, n);
        }
        if (++p->depth > EXPR_MAX_DEPTH) {
            fail(p, at, "expression nested deeper than %d levels",
                 EXPR_MAX_DEPTH);
            return NULL;
        }
        n = parse_unary(p);
        p->depth--;
        if (n == NULL)
            return NULL;
        return node_new(p, neg ? N_NEG : N_NOT, at, n, NULL, NULL);
    }
    return parse_member_rest(p, parse_primary(p));
}

/* The levels of left-associative binary operators, loosest first: each
 * level's operands are the next level's, the last level's are unary. */
static const struct level {
    struct {
        enum tok tok;
        char ch;          /* for T_CHAR */
        const char *word; /* for a keyword operator */
        enum node_kind kind;
        int op;
    } ops[8]; /* ended by a zero entry */
} levels[] = {
    {{{T_OR, 0, NULL, N_OR, 0}}},
    {{{T_AND, 0, NULL, N_AND, 0}}},
    {{{T_EQ, 0, NULL, N_BINARY, OP_EQ},
      {T_NE, 0, NULL, N_BINARY, OP_NE},
      {T_LE, 0, NULL, N_BINARY, OP_LE},
      {T_GE, 0, NULL, N_BINARY, OP_GE},
      {T_CHAR, '<', NULL, N_BINARY, OP_LT},
      {T_CHAR, '>', NULL, N_BINARY, OP_GT},
      {T_IDENT, 0, "in", N_BINARY, OP_IN}}},
    {{{T_CHAR, '+', NULL, N_BINARY, OP_ADD},
      {T_CHAR, '-', NULL, N_BINARY, OP_SUB}}},
    {{{T_CHAR, '*', NULL, N_BINARY, OP_MUL},
      {T_CHAR, '/', NULL, N_BINARY, OP_DIV},
      {T_CHAR, '%', NULL, N_BINARY, OP_MOD}}},
};

#define NLEVELS ((int)(sizeof(levels) / sizeof(levels[0])))

static struct node *
parse_level(struct parser *p, int level)
{
    const struct level *lv = &levels[level];
    struct node *n = level + 1 < NLEVELS ? parse_level(p, level + 1)
                                         : parse_unary(p);

    while (n != NULL && !p->failed) {
        size_t at = p->start;
        int k;
        struct node *rhs;

        for (k = 0; lv->ops[k].kind != 0; k++) {
            if (lv->ops[k].word != NULL ? is_word(p, lv->ops[k].word)
                : lv->ops[k].tok == T_CHAR ? is_char(p, lv->ops[k].ch)
                                           : p->tok == lv->ops[k].tok)
                break;
        }
        if (lv->ops[k].kind == 0)
            return n;
        next(p);
        rhs = level + 1 < NLEVELS ? parse_level(p, level + 1)
                                  : parse_unary(p);
        if (rhs == NULL)
            break;
        n = node_new(p, lv->ops[k].kind, at, n, rhs, NULL);
        n->op = lv->ops[k].op;
    }
    node_free(n);
    return NULL;
}

static struct node *
parse_expr(struct parser *p)
{
    size_t at = p->start;
    struct node *n, *t, *f;

    if (++p->depth > EXPR_MAX_DEPTH) {
        fail(p, at, "expression nested deeper than %d levels",
             EXPR_MAX_DEPTH);
        return NULL;
    }
    n = parse_level(p, 0);
    if (n != NULL && is_char(p, '?')) {
        at = p->start;
        next(p);
        if ((t = parse_level(p, 0)) == NULL) {
            node_free(n);
            n = NULL;
        } else if (expect(p, ':', "in the conditional (a ? b : c)") != 0 ||
                   (f = parse_expr(p)) == NULL) {
            node_free(n);
            node_free(t);
            n = NULL;
        } else {
            n = node_new(p, N_COND, at, n, t, f);
        }
    }
    p->depth--;
    return n;
}

struct expr *
expr_compile(const char *src, char *err, size_t errlen)
{
    struct parser p;
    struct node *root;
    struct expr *e;
    size_t len = strlen(src);

    if (len > EXPR_MAX_SOURCE) {
        expr_errf(err, errlen, "expression longer than %d bytes",
             EXPR_MAX_SOURCE);
        return NULL;
    }
    memset(&p, 0, sizeof(p));
    p.src = src;
    p.err = err;
    p.errlen = errlen;
    next(&p);
    if (p.tok == T_EOF && !p.failed) {
        fail(&p, 0, "expected an expression");
        return NULL;
    }
    root = parse_expr(&p);
    if (root != NULL && !p.failed && p.tok != T_EOF)
        fail(&p, p.start, "expected an operator or the end");
    free(p.sval);
    if (p.failed) {
        node_free(root);
        return NULL;
    }
    e = expr_alloc(sizeof(*e));
    e->root = root;
    e->src = expr_alloc(len + 1);
    memcpy(e->src, src, len + 1);
    if ((e->mctx = pcre2_match_context_create(NULL)) == NULL)
        abort();
    pcre2_set_match_limit(e->mctx, MATCH_LIMIT);
    pcre2_set_depth_limit(e->mctx, MATCH_DEPTH_LIMIT);
    return e;
}

void
expr_free(struct expr *e)
{
    if (e == NULL)
        return;
    node_free(e->root);
    pcre2_match_context_free(e->mctx);
    free(e->src);
    free(e);
}

const char *
expr_source(const struct expr *e)
{
    return e->src;
}

