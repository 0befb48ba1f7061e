/* store_int.h - what the store's files share: the read connection.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_STORE_INT_H
#define FNHOST_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* The loop thread's read-only connection (store.c owns it). */
sqlite3 *store_reader(struct store *st);

static inline void
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v == NULL)
        sqlite3_bind_null(s, i);
    else
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

#endif
