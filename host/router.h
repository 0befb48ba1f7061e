/* router.h - which functions an event triggers: an index of a generation's
 * triggers.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Built once per generation, so routing an event costs a hash lookup of
 * its name and one per prefix ending in '/' or '.', whatever the number
 * of functions and triggers. */
#ifndef FNHOST_ROUTER_H
#define FNHOST_ROUTER_H

#include <stddef.h>

struct fn_info;
struct router;

/* Indexes the triggers of the NFNS functions FNS (borrowed only during
 * the call): exact names, and prefix wildcards ("app/user.*", or a "*"
 * after a slash). Triggers are the ones check_trigger() accepts.
 * New; never NULL. */
struct router *router_new(const struct fn_info *fns, size_t nfns);
void router_free(struct router *r);

/* Writes into OUT the index (into the FNS given to router_new) of every
 * function event NAME triggers, ascending, each once however many of its
 * triggers match, and returns how many. OUT has room for NFNS entries.
 * Allocates nothing unless NAME has more than 32 matching prefixes. */
size_t router_lookup(const struct router *r, const char *name, size_t *out);

/* Whether event NAME matches trigger T on its own: equal, or T ends in
 * "*" right after '/' or '.' and NAME starts with the part before the
 * "*" (the separator included). Any other '*' is a plain character. The
 * brute-force definition router_lookup() must agree with. */
int router_match(const char *t, const char *name);

#endif
