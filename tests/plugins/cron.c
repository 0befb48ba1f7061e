/* cron.c - test plugin: see cron_body.h.
 * SPDX-License-Identifier: Apache-2.0 */
#include "cron_body.h"
