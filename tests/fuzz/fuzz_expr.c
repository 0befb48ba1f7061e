/* fuzz_expr.c - libFuzzer target for expressions (lib/expr).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Compiles the input; when it compiles, evaluates it over a fixed event
 * and candidate event, and through the bool and key helpers. Checks what
 * expr.h promises: a refusal or a failed evaluation says why, a failed
 * evaluation leaves a null value, a key fits its buffer, and the same
 * expression evaluates to the same outcome twice (nothing is left behind
 * by the first evaluation). ASan and UBSan do the rest. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct expr_vars vars;

static void
load_vars(void)
{
    if (vars.event != NULL)
        return;
    vars.event = json_tokener_parse(
        "{\"name\": \"app/user.created\", \"id\": \"01H\", "
        "\"ts\": 1700000000000, \"data\": {\"id\": \"u1\", \"n\": 3, "
        "\"d\": 2.5, \"big\": 9223372036854775807, "
        "\"neg\": -9223372036854775808, \"tags\": "
        "[\"a\", \"b\", 1, 2.5, null, true, [1, [2]], {\"k\": \"v\"}], "
        "\"nil\": null, \"nested\": {\"x\": 1, \"y\": {\"z\": [0]}}, "
        "\"uni\": \"h\\u00e9llo \\ud83d\\ude00\", \"empty\": \"\", "
        "\"flag\": true}}");
    vars.async = json_tokener_parse(
        "{\"name\": \"app/user.deleted\", \"data\": {\"id\": \"u1\", "
        "\"n\": 3.0}}");
    if (vars.event == NULL || vars.async == NULL)
        abort();
}

static void
check_err(const char *what, const char *src, const char *err)
{
    if (err[0] == '\0') {
        fprintf(stderr, "fuzz_expr: %s \"%s\" with no reason\n", what, src);
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src, err[256] = "", err2[256] = "", key[16];
    struct expr *e;
    struct expr_value v;
    int rc, rc2, b, k;

    if (size > EXPR_MAX_SOURCE + 16)
        return 0;
    load_vars();
    src = malloc(size + 1);
    memcpy(src, data, size);
    src[size] = '\0';
    e = expr_compile(src, err, sizeof(err));
    if (e == NULL) {
        check_err("refused", src, err);
        free(src);
        return 0;
    }
    if (strcmp(expr_source(e), src) != 0)
        abort();
    rc = expr_eval(e, &vars, &v, err, sizeof(err));
    if (rc != 0) {
        check_err("failed", src, err);
        if (v.type != EXPR_NULL || v.hold != NULL)
            abort();
    }
    b = expr_eval_bool(e, &vars, err2, sizeof(err2));
    if (b == -1)
        check_err("failed as a bool", src, err2);
    else if (rc != 0 || v.type != EXPR_BOOL || b != v.u.b) {
        fprintf(stderr, "fuzz_expr: \"%s\" gives %d as a bool\n", src, b);
        abort();
    }
    expr_value_release(&v);
    rc2 = expr_eval(e, &vars, &v, err2, sizeof(err2));
    if (rc2 != rc || (rc != 0 && strcmp(err, err2) != 0)) {
        fprintf(stderr, "fuzz_expr: \"%s\" gives %d (%s), then %d (%s)\n",
                src, rc, err, rc2, err2);
        abort();
    }
    expr_value_release(&v);
    /* A heap buffer of exactly the size given, so ASan sees an overrun. */
    {
        size_t len = 1 + (size > 0 ? data[0] % sizeof(key) : 0);
        char *tiny = malloc(len);

        k = expr_eval_key(e, &vars, tiny, len, err2, sizeof(err2));
        if (k >= 0 && ((size_t)k >= len || tiny[k] != '\0'))
            abort();
        free(tiny);
    }
    /* No variables at all: both are null. */
    if (expr_eval(e, NULL, &v, err2, sizeof(err2)) == 0)
        expr_value_release(&v);
    expr_free(e);
    free(src);
    return 0;
}
