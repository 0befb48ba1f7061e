/* barrier_1.c - test plugin: see barrier_body.h.
 * SPDX-License-Identifier: Apache-2.0 */
#define BARRIER_ID "1"
#include "barrier_body.h"
