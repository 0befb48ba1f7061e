/* test_expr.c - unit tests for the CEL subset (lib/expr): the grammar, the
 * errors that name a column, and CEL's semantics for each operator.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "expr.h"
#include "tap.h"

static struct expr_vars vars;

/* Compiles and evaluates SRC; checks the result is WANT, written as
 * "type:key" ("int:3", "string:u1", "list:[1,2]"). */
static void
gives(const char *src, const char *want)
{
    char err[256] = "", key[512] = "", got[600];
    struct expr *e = expr_compile(src, err, sizeof(err));
    struct expr_value v;

    if (e == NULL) {
        ok(0, "%s compiles", src);
        printf("#   %s\n", err);
        return;
    }
    if (expr_eval(e, &vars, &v, err, sizeof(err)) != 0) {
        ok(0, "%s evaluates", src);
        printf("#   %s\n", err);
        expr_free(e);
        return;
    }
    if (expr_eval_key(e, &vars, key, sizeof(key), err, sizeof(err)) < 0)
        snprintf(key, sizeof(key), "(%s)", err);
    snprintf(got, sizeof(got), "%s:%s", expr_type_name(v.type), key);
    is_str(got, want, "%s gives %s", src, want);
    expr_value_release(&v);
    expr_free(e);
}

/* Compiles SRC; checks evaluating it fails with an error holding WHY. */
static void
fails(const char *src, const char *why)
{
    char err[256] = "";
    struct expr *e = expr_compile(src, err, sizeof(err));
    struct expr_value v;
    int rc;

    if (e == NULL) {
        ok(0, "%s compiles", src);
        printf("#   %s\n", err);
        return;
    }
    rc = expr_eval(e, &vars, &v, err, sizeof(err));
    ok(rc == -1 && v.type == EXPR_NULL, "%s fails", src);
    has_str(err, why, "%s: the error says %s", src, why);
    expr_free(e);
}

/* Checks SRC is refused when compiled, with an error holding WHY. */
static void
refused(const char *src, const char *why)
{
    char err[256] = "";
    struct expr *e = expr_compile(src, err, sizeof(err));

    ok(e == NULL, "%.60s is refused", src);
    has_str(err, why, "%.60s: the error says %s", src, why);
    expr_free(e);
}

static void
test_literals(void)
{
    gives("1", "int:1");
    gives("-1", "int:-1");
    gives("0x1F", "int:31");
    gives("-9223372036854775808", "int:-9223372036854775808");
    gives("9223372036854775807", "int:9223372036854775807");
    gives("1.5", "double:1.5");
    gives("1e3", "double:1000");
    gives(".5", "double:0.5");
    gives("-2.5e-1", "double:-0.25");
    gives("true", "bool:true");
    gives("false", "bool:false");
    gives("null", "null:null");
    gives("'a\\tb'", "string:a\tb");
    gives("\"q\\\"\\\\\"", "string:q\"\\");
    gives("'\\x41\\101\\u00e9\\U0001F600'",
          "string:AA\xc3\xa9\xf0\x9f\x98\x80");
    gives("r'a\\nb'", "string:a\\nb");
    gives("'''it's'''", "string:it's");
    gives("[1, 'a', [true], null]", "list:[1,\"a\",[true],null]");
    gives("[1, 2,]", "list:[1,2]");
    gives("[]", "list:[]");
    refused("9223372036854775808", "column 1: integer literal out of range");
    refused("1u", "column 2: unsigned integers are not supported");
    refused("'abc", "column 1: expected the closing ' of the string");
    refused("'\\q'", "column 2: expected an escape");
    refused("'\\ud800'", "not a Unicode code point");
    refused("{'a': 1}", "column 1: map literals are not supported");
    refused("1e", "column 3: expected digits in the exponent");
}

static void
test_access(void)
{
    gives("event.data.id", "string:u1");
    gives("event['data']['id']", "string:u1");
    gives("event.data.tags[1]", "string:b");
    gives("event.data.nested.x", "int:1");
    gives("async.data.id == event.data.id", "bool:true");
    gives("event.data.nil", "null:null");
    gives("[event.data.id, 1][0]", "string:u1");
    /* The element outlives the list that was built to hold it. */
    gives("[event.data.id + 'x'][0]", "string:u1x");
    gives("(['a'] + [event.data.id + 'y'])[1]", "string:u1y");
    fails("event.data.missing", "column 11: no such key: 'missing'");
    fails("event.data.tags[2]", "index out of range: 2");
    fails("event.data.tags[-1]", "index out of range: -1");
    fails("event.data.tags['a']", "no such overload: list[string]");
    fails("event.data[1]", "no such key: 1");
    fails("event.data.id.x", "no such overload: field selection on a "
                             "string");
    gives("has(event.data.id)", "bool:true");
    gives("has(event.data.missing)", "bool:false");
    gives("has(event.data.nil)", "bool:true");
    gives("has(event.data.nested.x)", "bool:true");
    fails("has(event.data.id.x)", "has() on a field of a string");
    fails("has(event.data.missing.x)", "no such key: 'missing'");
    refused("has(event)", "column 1: has() takes one field selection");
    refused("has(event.data['id'])", "has() takes one field selection");
    refused("user.id", "column 1: unknown variable 'user' (expected event or "
                       "async)");
    refused("event()", "'event' is a variable, not a function");
    refused("event.", "column 7: expected a field name after '.'");
}

static void
test_numbers(void)
{
    /* cel-go's heterogeneous equality and ordering across int and
     * double; exact, not through a conversion to double. */
    gives("1 == 1.0", "bool:true");
    gives("1 != 1.0", "bool:false");
    gives("event.data.n == 3.0", "bool:true");
    gives("1 < 1.5 && 2 > 1.5 && 2 >= 2.0 && 2 <= 2.0", "bool:true");
    gives("9007199254740993 == 9007199254740992.0", "bool:false");
    gives("9007199254740993 > 9007199254740992.0", "bool:true");
    gives("9223372036854775807 < 9223372036854775808.0", "bool:true");
    gives("0.0 / 0.0 == 0.0 / 0.0", "bool:false");
    gives("1 < 0.0 / 0.0 || 1 >= 0.0 / 0.0", "bool:false");
    gives("1 in [1.0]", "bool:true");
    /* No implicit conversion in arithmetic, as in CEL. */
    fails("1 + 1.0", "column 3: no such overload: int + double");
    fails("1.5 % 1.0", "no such overload: double % double");
    gives("7 / 2", "int:3");
    gives("-7 / 2", "int:-3");
    gives("-7 % 3", "int:-1");
    gives("7.0 / 2.0", "double:3.5");
    gives("2 * 3 + 4 * 5 - 6", "int:20");
    gives("2 - 3 - 4", "int:-5");
    gives("1.0 / 0.0 > 1e308", "bool:true");
    fails("9223372036854775807 + 1", "integer overflow");
    fails("-9223372036854775808 - 1", "integer overflow");
    fails("event.data.big * 2", "integer overflow");
    fails("-(-9223372036854775808)", "integer overflow");
    fails("-9223372036854775808 / -1", "integer overflow");
    fails("-9223372036854775808 % -1", "integer overflow");
    fails("5 / 0", "column 3: division by zero");
    fails("5 % (1 - 1)", "modulus by zero");
    fails("-'a'", "no such overload: -string");
    fails("!1", "no such overload: !int");
}

static void
test_logic(void)
{
    /* CEL's commutative && and ||: a deciding side absorbs an error on
     * either side. */
    gives("false && 1 / 0 == 1", "bool:false");
    gives("1 / 0 == 1 && false", "bool:false");
    gives("true || 1 / 0 == 1", "bool:true");
    gives("1 / 0 == 1 || true", "bool:true");
    gives("event.data.missing == 1 || event.data.id == 'u1'", "bool:true");
    gives("false && 1", "bool:false");
    gives("1 && false", "bool:false");
    fails("1 / 0 == 1 && true", "column 3: division by zero");
    fails("true && 1 / 0 == 1", "division by zero");
    /* Both sides fail: the left one's error is the one reported. */
    fails("event.data.a == 1 && event.data.b == 1", "no such key: 'a'");
    fails("true && 1", "no such overload: bool && int");
    fails("1 || false", "no such overload: int || bool");
    gives("!false && !!true", "bool:true");
    gives("true ? 1 : 2", "int:1");
    gives("false ? 1 / 0 : 2", "int:2");
    gives("true ? 'a' : false ? 'b' : 'c'", "string:a");
    gives("1 < 2 ? 'lt' : 'ge'", "string:lt");
    fails("1 ? 2 : 3", "the condition of ?: is a int, not a bool");
    fails("event.data.missing ? 2 : 3", "no such key");
    /* Operands read out of a list literal hold the list: each path that
     * drops one must release it (the sanitizer build finds a leak). */
    gives("-[1][0]", "int:-1");
    gives("-[1.5][0]", "double:-1.5");
    gives("![true][0]", "bool:false");
    fails("-[-9223372036854775807 - 1][0]", "integer overflow");
    fails("![1][0]", "no such overload: !int");
    gives("[true][0] ? 1 : 2", "int:1");
    gives("[true][0] || false", "bool:true");
    gives("false || [true][0]", "bool:true");
    gives("[true][0] && [false][0]", "bool:false");
    gives("[true][0] && [true][0]", "bool:true");
    gives("[false][0] || [false][0]", "bool:false");
    fails("[true][0] && 1 / 0 == 1", "division by zero");
    fails("[1][0] && true", "no such overload: int && bool");
}

static void
test_null_and_equality(void)
{
    gives("null == null", "bool:true");
    gives("event.data.nil == null", "bool:true");
    gives("null == 0", "bool:false");
    gives("null != 'a'", "bool:true");
    gives("event.data.id == 1", "bool:false");
    fails("null < 1", "no such overload: null < int");
    fails("event.data.nil >= 0", "no such overload: null >= int");
    fails("[1] < [2]", "no such overload: list < list");
    fails("'a' < 1", "no such overload: string < int");
    gives("'a' < 'b' && 'a' < 'ab' && 'b' > 'ab'", "bool:true");
    gives("false < true", "bool:true");
    gives("[1, 'a'] == [1, 'a']", "bool:true");
    gives("[1, 2] == [2, 1]", "bool:false");
    gives("[1, [2.0]] == [1.0, [2]]", "bool:true");
    gives("event.data.nested == event.data.nested", "bool:true");
    gives("event.data == async.data", "bool:false");
}

static void
test_in_and_plus(void)
{
    gives("'a' in event.data.tags", "bool:true");
    gives("'c' in ['a', 'b']", "bool:false");
    gives("'id' in event.data", "bool:true");
    gives("'zz' in event.data", "bool:false");
    gives("1 in event.data", "bool:false");
    fails("1 in 2", "no such overload: int in int");
    gives("'ab' + 'cd'", "string:abcd");
    gives("'u' + event.data.id == 'uu1'", "bool:true");
    gives("[1] + [2]", "list:[1,2]");
    gives("[1] + event.data.tags", "list:[1,\"a\",\"b\"]");
    fails("'a' + 1", "no such overload: string + int");
    fails("[1] + 'a'", "no such overload: list + string");
}

static void
test_functions(void)
{
    gives("size('h\xc3\xa9llo')", "int:5");
    gives("size(event.data.uni)", "int:5");
    gives("event.data.uni.size()", "int:5");
    gives("size(event.data.tags)", "int:2");
    gives("size(event.data.nested)", "int:1");
    gives("size([])", "int:0");
    fails("size(1)", "no such overload: size(int)");
    gives("event.data.id.startsWith('u')", "bool:true");
    gives("event.data.id.startsWith('u12')", "bool:false");
    gives("event.data.id.endsWith('1')", "bool:true");
    gives("'abc'.contains('bc') && 'abc'.contains('')", "bool:true");
    gives("'abc'.contains('bd')", "bool:false");
    gives("event.data.id.matches('^u[0-9]+$')", "bool:true");
    gives("matches(event.data.id, 'x')", "bool:false");
    gives("'h\xc3\xa9llo'.matches('^h.llo$')", "bool:true");
    gives("event.data.id.matches('u' + '1')", "bool:true");
    fails("event.data.id.matches('(' + '')", "bad regex");
    fails("1.startsWith('a')", "no such overload: int.startsWith(string)");
    /* Backtracking is bounded: an error, not a stall. */
    fails("'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'"
          ".matches('^(a|a?)+$')", "regex: match limit exceeded");
    refused("'a'.matches('(')", "column 13: bad regex: missing closing "
                                "parenthesis");
    refused("size(event.data.tags", "column 21: expected ')' after the "
                                    "arguments of size");
    refused("size(1, 2)", "column 1: size takes 1 argument");
    refused("matches(1, 2, 3)", "too many arguments to matches");
    refused("size()", "size takes 1 argument");
    refused("'a'.startsWith()", "startsWith takes 1 argument");
    refused("startsWith('a', 'b')", "unknown function 'startsWith'");
    refused("event.data.id.frob()", "column 15: unknown function 'frob'");
    gives("event.data.id . startsWith ('u')", "bool:true");
    refused("'a'.startsWith('a', 'b')", "too many arguments to startsWith");
    refused("'a'.size(1)", "column 5: size takes 0 arguments");
}

static void
test_syntax(void)
{
    char src[EXPR_MAX_SOURCE + 2], err[256];
    struct expr *e;
    int k;

    refused("", "column 1: expected an expression");
    refused("1 +", "column 4: expected a value at the end");
    refused("1 2", "column 3: expected an operator or the end");
    refused("(1", "column 3: expected ')' to close the '('");
    refused("[1 2]", "column 4: expected ']' or ',' in the list");
    refused("1 ? 2", "expected ':' in the conditional");
    refused("1 # 2", "column 3: unexpected character '#'");
    refused("a\x01", "unexpected byte 0x01");
    refused("1 = 2", "unexpected character '='");
    gives(" ( 1 + 2 ) * 3 ", "int:9");
    gives("1 + 2 == 3 && 'a' in ['a']", "bool:true");

    /* Depth: brackets, unary chains and flat operator chains alike. */
    memset(src, '(', 70);
    src[70] = '1';
    memset(src + 71, ')', 70);
    src[141] = '\0';
    refused(src, "nested deeper than 64 levels");
    memset(src, '!', 70);
    strcpy(src + 70, "true");
    refused(src, "nested deeper than 64 levels");
    for (k = 0; k < 70; k++)
        memcpy(src + 2 * k, "1+", 2);
    strcpy(src + 140, "1");
    refused(src, "nested deeper than 64 levels");
    for (k = 0; k < 30; k++)
        memcpy(src + 2 * k, "1+", 2);
    strcpy(src + 60, "1");
    gives(src, "int:31");

    memset(src, ' ', EXPR_MAX_SOURCE + 1);
    src[0] = '1';
    src[EXPR_MAX_SOURCE + 1] = '\0';
    refused(src, "expression longer than 4096 bytes");
    src[EXPR_MAX_SOURCE] = '\0';
    e = expr_compile(src, err, sizeof(err));
    ok(e != NULL, "an expression of 4096 bytes compiles");
    ok(e != NULL && strcmp(expr_source(e), src) == 0,
       "expr_source gives the source back");
    expr_free(e);
}

static void
test_helpers(void)
{
    char err[256] = "", key[8];
    struct expr *e;
    struct expr_vars none = {NULL, NULL};

    e = expr_compile("event.data.id == 'u1'", err, sizeof(err));
    is_int(expr_eval_bool(e, &vars, err, sizeof(err)), 1, "bool: true");
    is_int(expr_eval_bool(e, &none, err, sizeof(err)), -1,
           "bool: an event that is null has no fields");
    has_str(err, "field selection on a null", "and the error says so");
    expr_free(e);

    e = expr_compile("event.data.id", err, sizeof(err));
    is_int(expr_eval_bool(e, &vars, err, sizeof(err)), -1,
           "bool: a string is not a condition");
    has_str(err, "gives a string, not a bool", "and the error says so");
    is_int(expr_eval_key(e, &vars, key, sizeof(key), err, sizeof(err)), 2,
           "key: its length");
    is_str(key, "u1", "key: a string as it is");
    expr_free(e);

    e = expr_compile("event.data.tags + ['cdefgh']", err, sizeof(err));
    is_int(expr_eval_key(e, &vars, key, sizeof(key), err, sizeof(err)), -1,
           "key: too long for the buffer");
    has_str(err, "the key is longer than 7 bytes", "and the error says so");
    expr_free(e);

    e = expr_compile("event", err, sizeof(err));
    is_int(expr_eval_key(e, NULL, key, sizeof(key), err, sizeof(err)), 4,
           "key: no variables at all is null");
    is_str(key, "null", "key: null");
    expr_free(e);
    expr_free(NULL);
}

int
main(void)
{
    const char *event =
        "{\"name\": \"app/user.created\", \"data\": {\"id\": \"u1\", "
        "\"n\": 3, \"d\": 2.5, \"big\": 9223372036854775807, "
        "\"tags\": [\"a\", \"b\"], \"nil\": null, \"nested\": {\"x\": 1}, "
        "\"uni\": \"h\xc3\xa9llo\"}}";
    const char *async =
        "{\"name\": \"app/user.deleted\", \"data\": {\"id\": \"u1\"}}";

    vars.event = json_tokener_parse(event);
    vars.async = json_tokener_parse(async);
    test_literals();
    test_access();
    test_numbers();
    test_logic();
    test_null_and_equality();
    test_in_and_plus();
    test_functions();
    test_syntax();
    test_helpers();
    json_object_put(vars.event);
    json_object_put(vars.async);
    return done_testing();
}
