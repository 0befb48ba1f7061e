/* signature.h - verifying signed webhooks: Standard Webhooks / Svix,
 * Stripe and GitHub, on the raw body, in constant time.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_SIGNATURE_H
#define FNHOST_SIGNATURE_H

#include <stddef.h>
#include <stdint.h>

enum sig_scheme { SIG_STANDARD, SIG_STRIPE, SIG_GITHUB };

/* What failed, most basic first. The HTTP status for each is in
 * sig_status(); sig_reason() names the check. */
enum sig_result {
    SIG_OK = 0,
    SIG_MISSING_HEADER,  /* 400: a header the scheme needs is absent */
    SIG_BAD_HEADER,      /* 400: a header does not parse */
    SIG_BAD_TIMESTAMP,   /* 400: the timestamp is not a whole number */
    SIG_TOO_OLD,         /* 401: outside the tolerance, in the past */
    SIG_TOO_NEW,         /* 401: outside the tolerance, in the future */
    SIG_NO_MATCH,        /* 401: no signature matches any secret */
};

/* One secret as configured, decoded once at startup. */
struct sig_secret {
    unsigned char key[128];
    size_t len;
};

/* Decodes TEXT for SCHEME: Standard Webhooks secrets are base64 with an
 * optional "whsec_" prefix; Stripe and GitHub secrets are used as their
 * bytes. Returns 0, or -1 with the reason in ERR (empty, not base64,
 * longer than 128 bytes). */
int sig_secret_parse(enum sig_scheme scheme, const char *text,
                     struct sig_secret *out, char *err, size_t errlen);

/* The headers a request carried, by lower-case name (NULL if absent). */
typedef const char *(*sig_header_fn)(void *arg, const char *name);

/* Verifies a request. For SIG_STANDARD: svix-id / svix-timestamp /
 * svix-signature, or if any of them is missing the webhook-* triple;
 * signed content "id.timestamp.body"; space-separated "v1,<base64>"
 * entries (others skipped). SIG_STRIPE: stripe-signature "t=..,v1=..";
 * content "t.body"; hex. SIG_GITHUB: x-hub-signature-256 "sha256=<hex>"
 * over the body; no timestamp. Any of NSECRETS secrets may match (key
 * rotation). NOW is Unix seconds (injectable for tests); TOLERANCE in
 * seconds (Standard Webhooks and Stripe use 300). On success *MSG_ID (if
 * not NULL) gets the message id header's value for Standard Webhooks
 * (svix-id / webhook-id) or GitHub (x-github-delivery), NULL for Stripe
 * (its id is in the body); borrowed from the header callback. On failure
 * DETAIL gets a message naming the check, never the expected
 * signature.
 * Limits: an empty header counts as absent; a value over 8 KiB or a
 * signature header of more than 64 entries is SIG_BAD_HEADER. Timestamps
 * are base-10 digits only, signed as sent, and must lie within TOLERANCE
 * either way (for Stripe too, which itself only rejects old ones). */
enum sig_result sig_verify(enum sig_scheme scheme,
                           const struct sig_secret *secrets, size_t nsecrets,
                           sig_header_fn header, void *arg,
                           const void *body, size_t len, int64_t now,
                           int64_t tolerance, const char **msg_id,
                           char *detail, size_t detaillen);

/* The HTTP status for a result: 200, 400 or 401. */
int sig_status(enum sig_result r);

/* A short name for a result ("missing header", "too old", ...). */
const char *sig_reason(enum sig_result r);

/* Signs BODY the way a sender would, for `fnhost sign` and tests: writes
 * the header lines ("name: value\n", one per header) into OUT. For
 * SIG_STANDARD the svix-* names are used with ID and NOW; SIG_STRIPE uses
 * NOW; SIG_GITHUB ignores both (and writes x-github-delivery: ID if ID is
 * not NULL). Returns 0, or -1 if OUT is too small (OUT is then ""), ID is
 * NULL for SIG_STANDARD, or SECRET is empty. */
int sig_sign(enum sig_scheme scheme, const struct sig_secret *secret,
             const char *id, int64_t now, const void *body, size_t len,
             char *out, size_t outlen);

/* Parses "standard-webhooks" (also "svix"), "stripe", "github". */
int sig_scheme_parse(const char *name, enum sig_scheme *out);

#endif
