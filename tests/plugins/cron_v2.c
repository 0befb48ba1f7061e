/* cron_v2.c - test plugin: see cron_body.h.
 * SPDX-License-Identifier: Apache-2.0 */
#define CRON_V2
#include "cron_body.h"
