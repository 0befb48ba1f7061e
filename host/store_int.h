/* store_int.h - what the store's files share: the read connection.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_STORE_INT_H
#define FNHOST_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* The loop thread's read-only connection (store.c owns it). */
sqlite3 *store_reader(struct store *st);

/* Whether the current generation declares FUNCTION_ID (store_set_loaded). */
int store_function_loaded(struct store *st, const char *function_id);

/* Adds the SQL functions the reads use to the read connection DB. */
int store_query_init(struct store *st, sqlite3 *db);

/* The scheduler's due-run scan statements on the read connection. They
 * depend only on how many functions the generation has (the ids are
 * bound on each call), so they are prepared once per count, not on every
 * wake; NF is the count they were prepared for. */
struct store_scan {
    sqlite3_stmt *due, *wake;
    int nf;
    sqlite3_stmt *conc; /* a key's queue: store_conc_queue() */
};

/* ST's scan statements (store.c owns the struct, store_query.c fills it). */
struct store_scan *store_scan(struct store *st);

/* Finalizes SC's statements; before the read connection closes. */
void store_scan_clear(struct store_scan *sc);

static inline void
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

#endif
