/* no_entry.c - test plugin: a shared object without fh_plugin_entry.
 * SPDX-License-Identifier: Apache-2.0
 *
 * It exports another function, so dlopen() succeeds and only the missing
 * entry point is wrong.
 */
#include <fnhost.h>

FH_EXPORT int not_an_entry(void);

int
not_an_entry(void)
{
    return 0;
}
