/* webhook.h - signed webhook sources: verify, then turn into events.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_WEBHOOK_H
#define FNHOST_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "signature.h"

struct config;
struct json_object;

/* A provider: a row of webhook.c's table (clerk, stripe, github,
 * generic). */
struct webhook_provider;

struct webhook_source {
    char *name;
    enum sig_scheme scheme;
    const struct webhook_provider *provider; /* the transform */
    struct sig_secret *secrets;
    size_t nsecrets;
    char *prefix;     /* event names are PREFIX/<type> */
    char *type_field; /* generic: where the type is */
    int64_t dedup_window_ms;
    int64_t tolerance_s;
};

struct webhooks {
    struct webhook_source *sources;
    size_t n;
};

/* Builds the sources of CFG's [webhook NAME] sections, decoding their
 * secrets. Returns 0, or -1 with "webhook NAME: reason" in ERR. */
int webhooks_init(struct webhooks *w, const struct config *cfg, char *err,
                  size_t errlen);
void webhooks_fini(struct webhooks *w);

const struct webhook_source *webhooks_find(const struct webhooks *w,
                                           const char *name);

/* Verifies a delivery to SRC and turns it into one event (new, not yet
 * validated as an event: pass it through ingest). NOW is ms. Returns the
 * HTTP status: 200 with *EVENT set, or 400/401 with the reason in ERR and
 * its kind in *WHY (a static word, for /metrics: "signature", "timestamp"
 * or "payload"). */
int webhook_event(const struct webhook_source *src, sig_header_fn header,
                  void *arg, const char *body, size_t len, int64_t now,
                  struct json_object **event, const char **why, char *err,
                  size_t errlen);

#endif
