/* no_functions.c - test plugin: valid, with an empty function table.
 * SPDX-License-Identifier: Apache-2.0
 */
#include <fnhost.h>

static const struct fh_function functions[] = {FH_FUNCTIONS_END};

FH_PLUGIN(.name = "empty", .version = "1.0.0", .functions = functions);
