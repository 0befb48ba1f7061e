/* barrier_2.c - test plugin: see barrier_body.h.
 * SPDX-License-Identifier: Apache-2.0 */
#define BARRIER_ID "2"
#include "barrier_body.h"
