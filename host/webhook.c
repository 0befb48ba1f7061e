/* webhook.c - signed webhook sources: verify, then turn into events.
 * SPDX-License-Identifier: Apache-2.0 */
#include "webhook.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ingest.h"
#include "util.h"

/* What a transform finds in a verified payload. */
struct webhook_parts {
    const char *type;        /* the event's type (borrowed), NULL: none */
    struct json_object *data; /* the event's data (new); NULL: the payload */
    int64_t ts;              /* ms; left as is: now */
};

typedef void (*webhook_transform_fn)(const struct webhook_source *src,
                                     struct json_object *payload,
                                     sig_header_fn header, void *arg,
                                     struct webhook_parts *out);

/* A provider is one row plus its transform: a [webhook NAME] named like
 * it gets its scheme and transform, and the events are PREFIX/<type>. */
struct webhook_provider {
    const char *name;       /* also its transform's name */
    enum sig_scheme scheme; /* for a source of this name */
    int for_scheme;         /* the transform of other sources of SCHEME */
    const char *prefix;     /* NULL: the source's name */
    const char *type_from;  /* where the type is, for errors; NULL: the
                               source's type_field */
    webhook_transform_fn transform;
};

static const char *
str_at(struct json_object *o, const char *key)
{
    struct json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string) ||
        json_object_get_string_len(v) == 0)
        return NULL;
    return json_object_get_string(v);
}

/* Clerk's envelope: {type, data, timestamp (ms), object, ...}. */
static void
transform_clerk(const struct webhook_source *src, struct json_object *payload,
                sig_header_fn header, void *arg, struct webhook_parts *out)
{
    struct json_object *v;

    out->type = str_at(payload, "type");
    if (json_object_object_get_ex(payload, "data", &v) &&
        json_object_is_type(v, json_type_object))
        out->data = json_object_get(v);
    if (json_object_object_get_ex(payload, "timestamp", &v) &&
        json_object_is_type(v, json_type_int))
        out->ts = json_object_get_int64(v);
}

/* Stripe's event: the whole event is the data, its type says what. */
static void
transform_stripe(const struct webhook_source *src, struct json_object *payload,
                 sig_header_fn header, void *arg, struct webhook_parts *out)
{
    out->type = str_at(payload, "type");
}

/* GitHub names the event in a header only. */
static void
transform_github(const struct webhook_source *src, struct json_object *payload,
                 sig_header_fn header, void *arg, struct webhook_parts *out)
{
    out->type = header(arg, "x-github-event");
}

/* Anyone else: the type is the source's type_field. */
static void
transform_generic(const struct webhook_source *src,
                  struct json_object *payload, sig_header_fn header,
                  void *arg, struct webhook_parts *out)
{
    out->type = str_at(payload, src->type_field);
}

static const struct webhook_provider providers[] = {
    {"clerk", SIG_STANDARD, 0, "clerk", "field \"type\"", transform_clerk},
    {"stripe", SIG_STRIPE, 1, "stripe", "field \"type\"", transform_stripe},
    {"github", SIG_GITHUB, 1, "github", "header x-github-event",
     transform_github},
    {"generic", SIG_STANDARD, 1, NULL, NULL, transform_generic},
};
#define NPROVIDERS (sizeof(providers) / sizeof(providers[0]))

static const struct webhook_provider *
provider_find(const char *name)
{
    for (size_t i = 0; i < NPROVIDERS; i++)
        if (strcmp(name, providers[i].name) == 0)
            return &providers[i];
    return NULL;
}

static int
source_init(struct webhook_source *src, const struct config_webhook *cw,
            char *err, size_t errlen)
{
    const struct webhook_provider *by_name = provider_find(cw->name);
    char *copy, *save = NULL, why[256];
    const char *seps;

    memset(src, 0, sizeof(*src));
    src->name = xstrdup(cw->name);
    src->dedup_window_ms = cw->dedup_window_ms;
    src->tolerance_s = cw->tolerance_ms / 1000;
    /* A source named like a provider gets that provider's scheme and
     * transform unless told otherwise: [webhook clerk] just works. */
    if (cw->scheme != NULL) {
        if (sig_scheme_parse(cw->scheme, &src->scheme) != 0) {
            snprintf(err, errlen, "webhook %s: unknown scheme \"%s\""
                                  " (standard-webhooks, stripe or github)",
                     cw->name, cw->scheme);
            return -1;
        }
    } else {
        src->scheme = by_name != NULL ? by_name->scheme : SIG_STANDARD;
    }
    if (cw->transform != NULL) {
        src->provider = provider_find(cw->transform);
        if (src->provider == NULL) {
            char names[200] = "";

            for (size_t i = 0; i < NPROVIDERS; i++)
                snprintf(names + strlen(names), sizeof(names) - strlen(names),
                         "%s%s", i == 0 ? "" : i + 1 < NPROVIDERS ? ", "
                                                                  : " or ",
                         providers[i].name);
            snprintf(err, errlen, "webhook %s: unknown transform \"%s\""
                                  " (%s)", cw->name, cw->transform, names);
            return -1;
        }
    } else {
        /* By name, unless the name is a provider that owns a scheme
         * (stripe, github) and another scheme was set: then, as for any
         * other name, the transform of the scheme. [webhook clerk] is
         * clerk's whatever its scheme. */
        if (by_name != NULL &&
            (!by_name->for_scheme || by_name->scheme == src->scheme))
            src->provider = by_name;
        for (size_t i = 0; src->provider == NULL && i < NPROVIDERS; i++)
            if (providers[i].for_scheme && providers[i].scheme == src->scheme)
                src->provider = &providers[i];
    }
    src->prefix = xstrdup(cw->prefix            ? cw->prefix
                          : src->provider->prefix ? src->provider->prefix
                                                  : cw->name);
    src->type_field = xstrdup(cw->type_field ? cw->type_field : "type");
    if (cw->secrets == NULL) {
        snprintf(err, errlen, "webhook %s: no secret: set secret in [webhook"
                              " %s] or FNHOST_WEBHOOK_%s_SECRET",
                 cw->name, cw->name, cw->name);
        return -1;
    }
    copy = xstrdup(cw->secrets);
    /* GitHub secrets are any text: only a new line separates them. */
    seps = src->scheme == SIG_GITHUB ? "\n" : "\n, ";
    for (char *t = strtok_r(copy, seps, &save); t != NULL;
         t = strtok_r(NULL, seps, &save)) {
        src->secrets = xrealloc(src->secrets,
                                (src->nsecrets + 1) * sizeof(*src->secrets));
        if (sig_secret_parse(src->scheme, t, &src->secrets[src->nsecrets],
                             why, sizeof(why)) != 0) {
            snprintf(err, errlen, "webhook %s: secret %zu: %s", cw->name,
                     src->nsecrets + 1, why);
            free(copy);
            return -1;
        }
        src->nsecrets++;
    }
    free(copy);
    if (src->nsecrets == 0) {
        snprintf(err, errlen, "webhook %s: the secret is empty", cw->name);
        return -1;
    }
    return 0;
}

static void
source_fini(struct webhook_source *src)
{
    free(src->name);
    /* Secrets are keys: wipe them. */
    if (src->secrets != NULL)
        memset(src->secrets, 0, src->nsecrets * sizeof(*src->secrets));
    free(src->secrets);
    free(src->prefix);
    free(src->type_field);
}

int
webhooks_init(struct webhooks *w, const struct config *cfg, char *err,
              size_t errlen)
{
    memset(w, 0, sizeof(*w));
    w->sources = xcalloc(cfg->nwebhooks + 1, sizeof(*w->sources));
    for (size_t i = 0; i < cfg->nwebhooks; i++) {
        if (source_init(&w->sources[i], &cfg->webhooks[i], err, errlen) !=
            0) {
            w->n = i + 1;
            webhooks_fini(w);
            return -1;
        }
        w->n = i + 1;
    }
    return 0;
}

void
webhooks_fini(struct webhooks *w)
{
    for (size_t i = 0; i < w->n; i++)
        source_fini(&w->sources[i]);
    free(w->sources);
    memset(w, 0, sizeof(*w));
}

const struct webhook_source *
webhooks_find(const struct webhooks *w, const char *name)
{
    for (size_t i = 0; i < w->n; i++)
        if (strcmp(w->sources[i].name, name) == 0)
            return &w->sources[i];
    return NULL;
}

int
webhook_event(const struct webhook_source *src, sig_header_fn header,
              void *arg, const char *body, size_t len, int64_t now,
              struct json_object **event, const char **why, char *err,
              size_t errlen)
{
    char detail[256];
    const char *msg_id = NULL, *id;
    struct json_object *payload, *ev;
    struct webhook_parts parts = {NULL, NULL, 0};
    enum sig_result r;

    *event = NULL;
    *why = "payload";
    r = sig_verify(src->scheme, src->secrets, src->nsecrets, header, arg,
                   body, len, now / 1000, src->tolerance_s, &msg_id, detail,
                   sizeof(detail));
    if (r != SIG_OK) {
        snprintf(err, errlen, "webhook %s: signature check failed: %s",
                 src->name, detail);
        *why = r == SIG_TOO_OLD || r == SIG_TOO_NEW ? "timestamp"
                                                    : "signature";
        return sig_status(r);
    }
    /* Verified bytes, but still outside input: read as strictly as the
     * event API reads its bodies. */
    payload = ingest_parse_json(body, len, detail, sizeof(detail));
    if (payload == NULL) {
        snprintf(err, errlen, "webhook %s: %s", src->name, detail);
        return 400;
    }
    if (!json_object_is_type(payload, json_type_object)) {
        json_object_put(payload);
        snprintf(err, errlen, "webhook %s: the payload is not a JSON object",
                 src->name);
        return 400;
    }
    parts.ts = now;
    src->provider->transform(src, payload, header, arg, &parts);
    if (parts.type == NULL) {
        json_object_put(parts.data);
        json_object_put(payload);
        snprintf(err, errlen, "webhook %s: the payload has no event type (%s)",
                 src->name, src->provider->type_from
                                ? src->provider->type_from
                                : src->type_field);
        return 400;
    }
    /* The message id makes a redelivery the same event: Svix and GitHub
     * send it as a header; Stripe's is the event's own id. */
    id = msg_id != NULL ? msg_id : str_at(payload, "id");
    ev = json_object_new_object();
    {
        char *name = xasprintf("%s/%s", src->prefix, parts.type);

        json_object_object_add(ev, "name", json_object_new_string(name));
        free(name);
    }
    json_object_object_add(ev, "data", parts.data ? parts.data
                                                  : json_object_get(payload));
    if (id != NULL)
        json_object_object_add(ev, "id", json_object_new_string(id));
    json_object_object_add(ev, "ts", json_object_new_int64(parts.ts));
    json_object_put(payload);
    *event = ev;
    return 200;
}
