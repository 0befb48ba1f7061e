/* step_record.c - a step record that owns its strings.
 * SPDX-License-Identifier: Apache-2.0 */
#include "step_record.h"

#include <stdlib.h>

#include "util.h"

void
step_owned_set(struct step_owned *o, const struct step_record *from,
               int with_events)
{
    const char *const *src[STEP_OWNED_NSTR];
    const char **dst[STEP_OWNED_NSTR];

    memset(o, 0, sizeof(*o));
    if (from == NULL)
        return;
    o->s = *from;
    src[0] = &from->step_id, dst[0] = &o->s.step_id;
    src[1] = &from->name, dst[1] = &o->s.name;
    src[2] = &from->kind, dst[2] = &o->s.kind;
    src[3] = &from->status, dst[3] = &o->s.status;
    src[4] = &from->result, dst[4] = &o->s.result;
    src[5] = &from->error, dst[5] = &o->s.error;
    src[6] = &from->events, dst[6] = &o->s.events;
    src[7] = &from->target, dst[7] = &o->s.target;
    src[8] = &from->wait_event, dst[8] = &o->s.wait_event;
    src[9] = &from->wait_match, dst[9] = &o->s.wait_match;
    src[10] = &from->wait_value, dst[10] = &o->s.wait_value;
    src[11] = &from->wait_if, dst[11] = &o->s.wait_if;
    for (int i = 0; i < STEP_OWNED_NSTR; i++) {
        /* A send's events can be megabytes: copied only when wanted. */
        if (!with_events && (i == 6 || i == 7)) {
            *dst[i] = NULL;
            continue;
        }
        o->str[i] = *src[i] ? xstrdup(*src[i]) : NULL;
        *dst[i] = o->str[i];
    }
}

void
step_owned_free(struct step_owned *o)
{
    for (int i = 0; i < STEP_OWNED_NSTR; i++)
        free(o->str[i]);
    memset(o, 0, sizeof(*o));
}
