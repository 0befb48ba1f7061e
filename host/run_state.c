/* run_state.c - what state a run is in, decoded in one place from what
 * the store holds, for the API, its status filter and the CLI.
 * SPDX-License-Identifier: Apache-2.0 */
#include "run_state.h"

#include <string.h>
#include <strings.h>

/* One row per state: the word a filter takes (NULL: not a filter of its
 * own) and the word the API shows. */
static const struct {
    const char *filter;
    const char *shown;
} states[] = {
    [RS_QUEUED] = {"queued", "Queued"},
    [RS_RUNNING] = {"running", "Running"},
    [RS_RETRYING] = {NULL, "Running"},
    [RS_SLEEPING] = {"sleeping", "Sleeping"},
    [RS_WAITING] = {"waiting", "Waiting"},
    /* Found by "waiting" too: a filter finds what shows as its word. */
    [RS_WAITING_EVENT] = {NULL, "Waiting"},
    /* Queued, as Inngest shows it; found by "queued". */
    [RS_CONCURRENCY] = {NULL, "Queued"},
    [RS_COMPLETED] = {"completed", "Completed"},
    [RS_FAILED] = {"failed", "Failed"},
    [RS_CANCELLED] = {"cancelled", "Cancelled"},
    [RS_UNKNOWN] = {NULL, "Unknown"},
};

#define NSTATES ((int)(sizeof(states) / sizeof(states[0])))

enum run_state
run_state_decode(const char *status, int attempt, int loaded)
{
    enum run_state s;

    if (status == NULL)
        return RS_UNKNOWN;
    if (strcmp(status, "queued") == 0)
        s = attempt > 0 ? RS_RETRYING : RS_QUEUED;
    else if (strcmp(status, "sleeping") == 0)
        s = RS_SLEEPING;
    else if (strcmp(status, "concurrency") == 0)
        s = RS_CONCURRENCY;
    else if (strcmp(status, "running") == 0 ||
             strcmp(status, "fetching") == 0 || /* the host runs its step */
             strcmp(status, "invoking") == 0 || /* its invoked run runs */
             strcmp(status, "parallel") == 0)   /* its branches run */
        return RS_RUNNING;
    else if (strcmp(status, "waiting") == 0)
        return RS_WAITING_EVENT; /* its event can come either way */
    else if (strcmp(status, "completed") == 0)
        return RS_COMPLETED;
    else if (strcmp(status, "failed") == 0)
        return RS_FAILED;
    else if (strcmp(status, "cancelled") == 0)
        return RS_CANCELLED;
    else
        return RS_UNKNOWN;
    /* Pending: it can only go on once its function is back. */
    return loaded ? s : RS_WAITING;
}

const char *
run_state_shown(enum run_state s)
{
    return (int)s >= 0 && (int)s < NSTATES ? states[s].shown : "Unknown";
}

const char *
run_state_reason(enum run_state s)
{
    return s == RS_CONCURRENCY ? "concurrency key full" : NULL;
}

int
run_state_matches(enum run_state filter, enum run_state s)
{
    /* A filter finds what shows as its word. */
    return strcmp(run_state_shown(filter), run_state_shown(s)) == 0;
}

int
run_state_parse(const char *word)
{
    for (int i = 0; i < NSTATES; i++)
        if (states[i].filter != NULL && strcasecmp(word, states[i].filter) == 0)
            return i;
    return -1;
}

const char *
run_state_filter_words(void)
{
    static char words[128];

    if (words[0] == '\0') {
        for (int i = 0; i < NSTATES; i++) {
            if (states[i].filter == NULL)
                continue;
            if (words[0] != '\0')
                strcat(words, ", ");
            strcat(words, states[i].filter);
        }
    }
    return words;
}
