/* conc.c - concurrency limits: the option, the keys of runs, and the slots
 * of each key that the scheduler counts.
 * SPDX-License-Identifier: Apache-2.0 */
#include "conc.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr.h"
#include "log.h"
#include "registry.h"
#include "util.h"

/* ------------------------------------------------------------ option */

int
conc_check_declared(struct json_object *list, struct json_object *options,
                    char *err, size_t errlen)
{
    size_t n;
    struct json_object *v;

    if (list == NULL)
        return 0;
    n = json_object_is_type(list, json_type_array)
            ? json_object_array_length(list) : 0;
    if (n == 0 || n > FH_CONCURRENCY_LIMITS) {
        snprintf(err, errlen, "concurrency: expected 1 to %d limits",
                 FH_CONCURRENCY_LIMITS);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *r = json_object_array_get_idx(list, i), *l, *k,
                           *s;
        const char *scope;
        char why[256];
        struct expr *e;
        int64_t lim;

        if (!json_object_is_type(r, json_type_object) ||
            !json_object_object_get_ex(r, "limit", &l) ||
            !json_object_is_type(l, json_type_int) ||
            !json_object_object_get_ex(r, "scope", &s) ||
            !json_object_is_type(s, json_type_string) ||
            (json_object_object_get_ex(r, "key", &k) &&
             !json_object_is_type(k, json_type_string))) {
            snprintf(err, errlen, "concurrency[%zu]: malformed", i);
            return -1;
        }
        lim = json_object_get_int64(l);
        scope = json_object_get_string(s);
        if (lim < 1 || lim > FH_CONCURRENCY_MAX ||
            (strcmp(scope, "fn") != 0 && strcmp(scope, "env") != 0) ||
            (strcmp(scope, "env") == 0 && k == NULL)) {
            snprintf(err, errlen, "concurrency[%zu]: malformed", i);
            return -1;
        }
        if (k == NULL)
            continue;
        if ((e = expr_compile(json_object_get_string(k), why,
                              sizeof(why))) == NULL) {
            snprintf(err, errlen, "concurrency[%zu].key: %s", i, why);
            return -1;
        }
        expr_free(e);
    }
    /* The first limit is also an option of the table: the two agree. */
    if (options != NULL &&
        json_object_object_get_ex(options, "concurrency.limit", &v) &&
        json_object_get_int64(v) !=
            json_object_get_int64(json_object_object_get(
                json_object_array_get_idx(list, 0), "limit"))) {
        snprintf(err, errlen, "concurrency[0]: its limit disagrees with"
                              " concurrency.limit");
        return -1;
    }
    return 0;
}

void
conc_resolve(struct fn_info *f, struct json_object *list)
{
    size_t n = list != NULL ? json_object_array_length(list) : 0;

    for (size_t i = 0; i < n && i < FH_CONCURRENCY_LIMITS; i++) {
        struct json_object *r = json_object_array_get_idx(list, i), *k;
        struct fn_concurrency *c = &f->concurrency[i];
        char why[256];

        /* A [function ID] section's concurrency.limit overrides the
         * first: fnopt_resolve() set it. */
        if (i > 0)
            c->limit = json_object_get_int(json_object_object_get(r,
                                                                  "limit"));
        c->env = strcmp(json_object_get_string(
                            json_object_object_get(r, "scope")), "env") == 0;
        if (json_object_object_get_ex(r, "key", &k)) {
            /* The descriptor was checked: it compiles. */
            c->key = expr_compile(json_object_get_string(k), why,
                                  sizeof(why));
            if (c->key == NULL)
                log_error("registry", "function %s: concurrency[%zu].key:"
                                      " %s", f->id, i, why);
        }
    }
}

void
conc_free(struct fn_info *f)
{
    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++)
        expr_free(f->concurrency[i].key);
}

struct json_object *
conc_json(const struct fn_info *f)
{
    struct json_object *list = json_object_new_array();

    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        const struct fn_concurrency *c = &f->concurrency[i];
        struct json_object *r;

        if (c->limit <= 0)
            continue;
        r = json_object_new_object();
        json_object_object_add(r, "limit", json_object_new_int(c->limit));
        json_object_object_add(r, "key", c->key ? json_object_new_string(
                                                      expr_source(c->key))
                                                : NULL);
        json_object_object_add(r, "scope", json_object_new_string(
                                               c->env ? "env" : "fn"));
        json_object_array_add(list, r);
    }
    return list;
}

int
conc_limited(const struct fn_info *f)
{
    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++)
        if (f->concurrency[i].limit > 0)
            return 1;
    return 0;
}

void
conc_run_keys(const struct fn_info *f, struct json_object *ev,
              char *keys[FH_CONCURRENCY_LIMITS])
{
    struct expr_vars vars = {ev, NULL};

    for (int i = 0; i < FH_CONCURRENCY_LIMITS; i++) {
        const struct fn_concurrency *c = &f->concurrency[i];
        char value[1024], why[256];

        keys[i] = NULL;
        if (c->limit <= 0)
            continue;
        value[0] = '\0';
        if (c->key != NULL &&
            expr_eval_key(c->key, &vars, value, sizeof(value), why,
                          sizeof(why)) < 0) {
            log_info("ingest", "%s: its concurrency[%d] key cannot be made"
                               " for this event (%s); the run takes the"
                               " empty key", f->id, i, why);
            value[0] = '\0';
        }
        /* An id holds no space (lib/check.c), ":" it may: "f:a:0 0:x"
         * and "f:a 0:0:x" are two functions' keys. */
        keys[i] = c->env ? xasprintf("e:%s", value)
                         : xasprintf("f:%s %d:%s", f->id, i, value);
    }
}

/* ------------------------------------------------------------- slots */

struct conc_table {
    struct conc_slot **b;
    size_t cap, len;
};

struct conc_table *
conc_table_new(void)
{
    struct conc_table *t = xcalloc(1, sizeof(*t));

    t->cap = 256;
    t->b = xcalloc(t->cap, sizeof(*t->b));
    return t;
}

void
conc_table_free(struct conc_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->cap; i++) {
        for (struct conc_slot *sl = t->b[i], *next; sl != NULL; sl = next) {
            next = sl->next;
            free(sl->name);
            free(sl);
        }
    }
    free(t->b);
    free(t);
}

/* Doubles T's buckets, so that chains stay short with many keys. */
static void
grow(struct conc_table *t)
{
    size_t cap = t->cap * 2;
    struct conc_slot **b = xcalloc(cap, sizeof(*b));

    for (size_t i = 0; i < t->cap; i++) {
        for (struct conc_slot *sl = t->b[i], *next; sl != NULL; sl = next) {
            size_t k = str_hash(sl->name) & (cap - 1);

            next = sl->next;
            sl->next = b[k];
            b[k] = sl;
        }
    }
    free(t->b);
    t->b = b;
    t->cap = cap;
}

struct conc_slot *
conc_table_get(struct conc_table *t, const char *name)
{
    size_t k = str_hash(name) & (t->cap - 1);
    struct conc_slot *sl;

    for (sl = t->b[k]; sl != NULL; sl = sl->next)
        if (strcmp(sl->name, name) == 0)
            return sl;
    if (t->len >= t->cap) {
        grow(t);
        k = str_hash(name) & (t->cap - 1);
    }
    sl = xcalloc(1, sizeof(*sl));
    sl->name = xstrdup(name);
    sl->table = t;
    sl->next = t->b[k];
    t->b[k] = sl;
    t->len++;
    return sl;
}

void
conc_table_put(struct conc_slot *sl)
{
    struct conc_table *t = sl->table;
    struct conc_slot **p;

    if (sl->running > 0 || sl->taken > 0 || sl->parking > 0 || sl->waiting)
        return;
    for (p = &t->b[str_hash(sl->name) & (t->cap - 1)]; *p != sl;
         p = &(*p)->next)
        ;
    *p = sl->next;
    t->len--;
    free(sl->name);
    free(sl);
}

void
conc_table_each_waiting(struct conc_table *t,
                        void (*fn)(void *arg, struct conc_slot *sl),
                        void *arg)
{
    for (size_t i = 0; i < t->cap; i++)
        for (struct conc_slot *sl = t->b[i]; sl != NULL; sl = sl->next)
            if (sl->waiting)
                fn(arg, sl);
}

size_t
conc_table_count(const struct conc_table *t)
{
    return t->len;
}
