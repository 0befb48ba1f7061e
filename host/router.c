/* router.c - which functions an event triggers: an index of a generation's
 * triggers.
 * SPDX-License-Identifier: Apache-2.0 */
#include "router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "registry.h"
#include "util.h"

/* One exact name or one wildcard prefix ("app/user."), and the functions
 * that declare it. */
struct route_key {
    char *key; /* NULL: the slot is free */
    size_t len;
    uint64_t hash;
    size_t *fns; /* ascending, each once */
    size_t nfns;
};

/* Open addressing, at most half full: sized once, from the number of
 * triggers, so it never grows. */
struct key_table {
    struct route_key *slots;
    size_t mask;
    size_t n;
};

struct router {
    struct key_table exact, prefix;
};

/* FNV-1a: a prefix's hash is a step on the way to the whole name's, so
 * one pass over a name hashes all its prefixes. */
#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

static uint64_t
hash_step(uint64_t h, unsigned char c)
{
    return (h ^ c) * FNV_PRIME;
}

static uint64_t
hash_bytes(const char *s, size_t len)
{
    uint64_t h = FNV_OFFSET;

    for (size_t i = 0; i < len; i++)
        h = hash_step(h, (unsigned char)s[i]);
    return h;
}

int
router_match(const char *t, const char *name)
{
    size_t n = strlen(t);

    if (n >= 2 && t[n - 1] == '*' && (t[n - 2] == '/' || t[n - 2] == '.'))
        return strncmp(t, name, n - 1) == 0;
    return strcmp(t, name) == 0;
}

static void
table_init(struct key_table *kt, size_t keys)
{
    size_t cap = 8;

    while (cap < 2 * keys)
        cap *= 2;
    kt->slots = xcalloc(cap, sizeof(*kt->slots));
    kt->mask = cap - 1;
    kt->n = 0;
}

static void
table_fini(struct key_table *kt)
{
    for (size_t i = 0; i <= kt->mask; i++) {
        free(kt->slots[i].key);
        free(kt->slots[i].fns);
    }
    free(kt->slots);
}

/* The entry for KEY (LEN bytes, hash H), or the free slot where it would
 * go. */
static struct route_key *
table_slot(const struct key_table *kt, const char *key, size_t len,
           uint64_t h)
{
    for (size_t i = (size_t)h & kt->mask;; i = (i + 1) & kt->mask) {
        struct route_key *k = &kt->slots[i];

        if (k->key == NULL || (k->hash == h && k->len == len &&
                               memcmp(k->key, key, len) == 0))
            return k;
    }
}

static const struct route_key *
table_find(const struct key_table *kt, const char *key, size_t len,
           uint64_t h)
{
    const struct route_key *k;

    if (kt->n == 0)
        return NULL;
    k = table_slot(kt, key, len, h);
    return k->key != NULL ? k : NULL;
}

/* Adds function F under KEY. Functions are added in ascending order, so
 * a repeat (two triggers of F with one key) is the last one added. */
static void
table_add(struct key_table *kt, const char *key, size_t len, size_t f)
{
    uint64_t h = hash_bytes(key, len);
    struct route_key *k = table_slot(kt, key, len, h);

    if (k->key == NULL) {
        k->key = xmalloc(len + 1);
        memcpy(k->key, key, len);
        k->key[len] = '\0';
        k->len = len;
        k->hash = h;
        kt->n++;
    }
    if (k->nfns > 0 && k->fns[k->nfns - 1] == f)
        return;
    k->fns = xrealloc(k->fns, (k->nfns + 1) * sizeof(*k->fns));
    k->fns[k->nfns++] = f;
}

static int
is_wildcard(const char *t, size_t len)
{
    return len >= 2 && t[len - 1] == '*' &&
           (t[len - 2] == '/' || t[len - 2] == '.');
}

struct router *
router_new(const struct fn_info *fns, size_t nfns)
{
    struct router *r = xcalloc(1, sizeof(*r));
    size_t exact = 0, prefix = 0;

    for (size_t f = 0; f < nfns; f++) {
        for (char **t = fns[f].triggers; *t != NULL; t++) {
            if (is_wildcard(*t, strlen(*t)))
                prefix++;
            else
                exact++;
        }
    }
    table_init(&r->exact, exact);
    table_init(&r->prefix, prefix);
    for (size_t f = 0; f < nfns; f++) {
        for (char **t = fns[f].triggers; *t != NULL; t++) {
            size_t len = strlen(*t);

            if (is_wildcard(*t, len))
                table_add(&r->prefix, *t, len - 1, f); /* without '*' */
            else
                table_add(&r->exact, *t, len, f);
        }
    }
    return r;
}

void
router_free(struct router *r)
{
    if (r == NULL)
        return;
    table_fini(&r->exact);
    table_fini(&r->prefix);
    free(r);
}

struct cursor {
    const size_t *p, *end;
};

/* Merges the ascending lists of C[0..N) into OUT, each index once. */
static size_t
merge(struct cursor *c, size_t n, size_t *out)
{
    size_t nout = 0;

    if (n == 1) {
        memcpy(out, c[0].p, (size_t)(c[0].end - c[0].p) * sizeof(*out));
        return (size_t)(c[0].end - c[0].p);
    }
    for (;;) {
        size_t min = SIZE_MAX;

        for (size_t i = 0; i < n; i++)
            if (c[i].p < c[i].end && *c[i].p < min)
                min = *c[i].p;
        if (min == SIZE_MAX)
            return nout;
        out[nout++] = min;
        for (size_t i = 0; i < n; i++)
            if (c[i].p < c[i].end && *c[i].p == min)
                c[i].p++;
    }
}

/* The lists found for one name: on the stack unless a name matches more
 * than 32 keys. */
struct found {
    struct cursor local[32], *c;
    size_t n, cap;
};

static void
found_add(struct found *f, const struct route_key *k)
{
    if (f->n == f->cap) {
        f->cap *= 2;
        if (f->c == f->local) {
            f->c = xmalloc(f->cap * sizeof(*f->c));
            memcpy(f->c, f->local, sizeof(f->local));
        } else {
            f->c = xrealloc(f->c, f->cap * sizeof(*f->c));
        }
    }
    f->c[f->n].p = k->fns;
    f->c[f->n++].end = k->fns + k->nfns;
}

size_t
router_lookup(const struct router *r, const char *name, size_t *out)
{
    struct found f;
    size_t nout, len = 0;
    uint64_t h = FNV_OFFSET;
    const struct route_key *k;

    f.c = f.local;
    f.n = 0;
    f.cap = sizeof(f.local) / sizeof(f.local[0]);
    /* Each prefix of NAME that ends in a separator may be a wildcard's;
     * the whole name may be an exact trigger. */
    for (; name[len] != '\0'; len++) {
        h = hash_step(h, (unsigned char)name[len]);
        if ((name[len] == '/' || name[len] == '.') &&
            (k = table_find(&r->prefix, name, len + 1, h)) != NULL)
            found_add(&f, k);
    }
    if ((k = table_find(&r->exact, name, len, h)) != NULL)
        found_add(&f, k);
    nout = f.n == 0 ? 0 : merge(f.c, f.n, out);
    if (f.c != f.local)
        free(f.c);
    return nout;
}
