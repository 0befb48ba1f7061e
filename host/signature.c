/* signature.c - verifying signed webhooks: Standard Webhooks / Svix,
 * Stripe and GitHub, on the raw body, in constant time.
 * SPDX-License-Identifier: Apache-2.0 */
#include "signature.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* Longer header values are refused before anything reads them: a real
 * signature header is a few hundred bytes. */
#define MAX_HEADER 8192
/* Entries in one signature header; rotation needs two or three. */
#define MAX_ENTRIES 64

#define MAC_LEN 32 /* HMAC-SHA256 */
#define HEX_LEN 64
#define MAX_KEY ((int)sizeof(((struct sig_secret *)0)->key))

/* A piece of a header value: not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

/* How each scheme lays out its signature header. */
struct scheme_desc {
    const char *name;    /* for sig_scheme_parse */
    const char *alias;   /* another accepted name, or NULL */
    const char *header;  /* the signature header (Standard: svix-*) */
    char sep;            /* between entries; 0: the value is one entry */
    char kv;             /* between an entry's version and its value */
    const char *version; /* the one version we check */
    int hex;             /* lowercase hex; else base64 */
};

static const struct scheme_desc schemes[] = {
    [SIG_STANDARD] = {"standard-webhooks", "svix", "svix-signature", ' ', ',',
                      "v1", 0},
    [SIG_STRIPE] = {"stripe", NULL, "stripe-signature", ',', '=', "v1", 1},
    [SIG_GITHUB] = {"github", NULL, "x-hub-signature-256", 0, '=', "sha256", 1},
};
#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* The headers of one request, once found and bounded. */
struct request {
    const char *id;       /* Standard and GitHub, else NULL */
    const char *sig;      /* the signature header's value */
    const char *sig_name; /* and its name */
    const char *ts_name;  /* how the timestamp is named in messages */
    struct span ts;       /* Standard and Stripe: the digits as sent */
    struct span values[MAX_ENTRIES]; /* the entries of our version */
    size_t nvalues;
};

static void __attribute__((format(printf, 3, 4)))
say(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (buf == NULL || len == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

static const char *
plural(size_t n)
{
    return n == 1 ? "" : "s";
}

/* The value of header NAME, NULL if absent or empty: the reference
 * libraries treat both alike. */
static const char *
header_get(sig_header_fn header, void *arg, const char *name)
{
    const char *v = header(arg, name);

    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* Whether V, header NAME's value, is longer than MAX_HEADER; reads no
 * further than that. */
static int
too_long(const char *v, const char *name, char *detail, size_t detaillen)
{
    if (strnlen(v, MAX_HEADER + 1) <= MAX_HEADER)
        return 0;
    say(detail, detaillen, "header %s is longer than %d bytes", name,
        MAX_HEADER);
    return 1;
}

/* Finds the svix-* triple, or if any of it is missing the webhook-*
 * triple, as the Svix libraries do; the triples never mix. */
static enum sig_result
standard_headers(sig_header_fn header, void *arg, struct request *rq,
                 char *detail, size_t detaillen)
{
    static const char *const fields[] = {"id", "timestamp", "signature"};
    static const char *const families[] = {"svix", "webhook"};
    const char *got[2][3];
    char names[2][3][24];
    int found[2] = {0, 0}, fam;

    for (int f = 0; f < 2; f++) {
        for (int i = 0; i < 3; i++) {
            snprintf(names[f][i], sizeof(names[f][i]), "%s-%s", families[f],
                     fields[i]);
            got[f][i] = header_get(header, arg, names[f][i]);
            found[f] += got[f][i] != NULL;
        }
    }
    fam = found[0] == 3 ? 0 : found[1] == 3 ? 1 : -1;
    if (fam < 0) {
        /* Name what the sender seems to use: the fuller family. */
        int f = found[1] > found[0];

        for (int i = 0; i < 3; i++) {
            if (got[f][i] == NULL) {
                say(detail, detaillen, "missing header %s (or %s)", names[f][i],
                    names[!f][i]);
                break;
            }
        }
        return SIG_MISSING_HEADER;
    }
    for (int i = 0; i < 3; i++)
        if (too_long(got[fam][i], names[fam][i], detail, detaillen))
            return SIG_BAD_HEADER;
    rq->id = got[fam][0];
    rq->ts.p = got[fam][1];
    rq->ts.n = strlen(rq->ts.p);
    rq->sig = got[fam][2];
    rq->sig_name = fam == 0 ? "svix-signature" : "webhook-signature";
    rq->ts_name = fam == 0 ? "svix-timestamp" : "webhook-timestamp";
    return SIG_OK;
}

static int
is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits the signature header into entries and keeps the values of our
 * version; for Stripe also finds t=. Entries of other versions (v1a, v0,
 * v2, ...) and entries without a version are skipped. */
static enum sig_result
parse_entries(const struct scheme_desc *sd, enum sig_scheme scheme,
              struct request *rq, char *detail, size_t detaillen)
{
    const char *p = rq->sig, *end = p + strlen(p);
    size_t nentries = 0, vlen = strlen(sd->version);
    int have_t = 0;

    while (p < end) {
        const char *e = sd->sep ? memchr(p, sd->sep, (size_t)(end - p)) : NULL;
        const char *s = p, *t = e != NULL ? e : end, *kv;

        p = e != NULL ? e + 1 : end;
        while (s < t && is_blank(*s))
            s++;
        while (t > s && is_blank(t[-1]))
            t--;
        if (s == t)
            continue;
        if (++nentries > MAX_ENTRIES) {
            say(detail, detaillen, "header %s has more than %d entries",
                rq->sig_name, MAX_ENTRIES);
            return SIG_BAD_HEADER;
        }
        kv = memchr(s, sd->kv, (size_t)(t - s));
        if (kv == NULL)
            continue;
        if (scheme == SIG_STRIPE && kv - s == 1 && s[0] == 't') {
            if (have_t) {
                say(detail, detaillen,
                    "header %s has more than one t=", rq->sig_name);
                return SIG_BAD_HEADER;
            }
            have_t = 1;
            rq->ts.p = kv + 1;
            rq->ts.n = (size_t)(t - kv - 1);
            continue;
        }
        if ((size_t)(kv - s) == vlen && memcmp(s, sd->version, vlen) == 0) {
            rq->values[rq->nvalues].p = kv + 1;
            rq->values[rq->nvalues].n = (size_t)(t - kv - 1);
            rq->nvalues++;
        }
    }
    if (scheme == SIG_STRIPE && !have_t) {
        say(detail, detaillen, "header %s has no t= timestamp", rq->sig_name);
        return SIG_BAD_HEADER;
    }
    return SIG_OK;
}

/* Writes an age of SECS seconds as people read it. */
static void
age_format(uint64_t secs, char *buf, size_t len)
{
    if (secs < 600)
        snprintf(buf, len, "%llu s", (unsigned long long)secs);
    else if (secs < 7200)
        snprintf(buf, len, "%llu min", (unsigned long long)(secs / 60));
    else if (secs < 2 * 86400)
        snprintf(buf, len, "%llu h", (unsigned long long)(secs / 3600));
    else
        snprintf(buf, len, "%llu days", (unsigned long long)(secs / 86400));
}

/* Checks the timestamp digits against NOW +- TOLERANCE. Only base-10
 * digits: no sign, no spaces, no fraction, as the Standard Webhooks
 * libraries' parseInt would not catch. */
static enum sig_result
check_timestamp(const struct request *rq, int64_t now, int64_t tolerance,
                char *detail, size_t detaillen)
{
    int64_t ts = 0;
    uint64_t diff, tol = tolerance > 0 ? (uint64_t)tolerance : 0;
    char age[32];

    if (rq->ts.n == 0) {
        say(detail, detaillen, "%s is empty", rq->ts_name);
        return SIG_BAD_TIMESTAMP;
    }
    for (size_t i = 0; i < rq->ts.n; i++) {
        int d = rq->ts.p[i] - '0';

        if (d < 0 || d > 9) {
            say(detail, detaillen, "%s is not a whole number of seconds",
                rq->ts_name);
            return SIG_BAD_TIMESTAMP;
        }
        if (ts > (INT64_MAX - d) / 10) {
            say(detail, detaillen, "%s is out of range", rq->ts_name);
            return SIG_BAD_TIMESTAMP;
        }
        ts = ts * 10 + d;
    }
    /* In unsigned arithmetic the distance cannot overflow. */
    if (ts < now) {
        diff = (uint64_t)now - (uint64_t)ts;
        if (diff > tol) {
            age_format(diff, age, sizeof(age));
            say(detail, detaillen, "%s %lld is %s old (tolerance %lld s)",
                rq->ts_name, (long long)ts, age, (long long)tol);
            return SIG_TOO_OLD;
        }
    } else {
        diff = (uint64_t)ts - (uint64_t)now;
        if (diff > tol) {
            age_format(diff, age, sizeof(age));
            say(detail, detaillen,
                "%s %lld is %s in the future (tolerance %lld s)", rq->ts_name,
                (long long)ts, age, (long long)tol);
            return SIG_TOO_NEW;
        }
    }
    return SIG_OK;
}

/* One HMAC-SHA256 computer for a request: EVP_MAC streams the parts, so
 * the body is never copied. */
struct mac {
    EVP_MAC *mac;
    EVP_MAC_CTX *ctx;
};

static void
mac_open(struct mac *m)
{
    /* Fetching looks the algorithm up in the provider tables: once, not
     * per delivery (one thread verifies). */
    static EVP_MAC *hmac;

    if (hmac == NULL)
        hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    m->mac = hmac;
    m->ctx = m->mac != NULL ? EVP_MAC_CTX_new(m->mac) : NULL;
    if (m->ctx == NULL) {
        /* Out of memory or no default provider: not the input's fault. */
        fprintf(stderr, "signature: libcrypto cannot compute HMAC-SHA256\n");
        abort();
    }
}

static void
mac_close(struct mac *m)
{
    EVP_MAC_CTX_free(m->ctx);
}

/* OUT = HMAC-SHA256(KEY, PARTS[0] || ... || PARTS[N-1]). */
static void
mac_compute(struct mac *m, const struct sig_secret *key,
            const struct span *parts, size_t n, unsigned char out[MAC_LEN])
{
    char digest[] = "SHA256";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_end(),
    };
    size_t outlen = 0;
    int ok;

    ok = EVP_MAC_init(m->ctx, key->key, key->len, params);
    for (size_t i = 0; ok && i < n; i++)
        ok = EVP_MAC_update(m->ctx, (const unsigned char *)parts[i].p,
                            parts[i].n);
    ok = ok && EVP_MAC_final(m->ctx, out, &outlen, MAC_LEN);
    if (!ok || outlen != MAC_LEN) {
        fprintf(stderr, "signature: HMAC-SHA256 failed in libcrypto\n");
        abort();
    }
}

/* Writes the MAC as the scheme sends it, NUL-terminated: base64 (44
 * characters) or lowercase hex (64). Returns the length. */
static size_t
mac_encode(const unsigned char mac[MAC_LEN], int hex, char *out)
{
    static const char digits[] = "0123456789abcdef";

    if (!hex)
        return (size_t)EVP_EncodeBlock((unsigned char *)out, mac, MAC_LEN);
    for (size_t i = 0; i < MAC_LEN; i++) {
        out[2 * i] = digits[mac[i] >> 4];
        out[2 * i + 1] = digits[mac[i] & 15];
    }
    out[HEX_LEN] = '\0';
    return HEX_LEN;
}

/* A secret that sig_secret_parse could have made. */
static int
secret_ok(const struct sig_secret *s)
{
    return s != NULL && s->len > 0 && s->len <= sizeof(s->key);
}

/* The signed content: "id.ts.body", "t.body" or the body. */
static size_t
content_parts(enum sig_scheme scheme, const struct request *rq,
              const void *body, size_t len, struct span parts[5])
{
    static const char dot[] = ".";
    size_t n = 0;

    if (scheme == SIG_STANDARD) {
        parts[n++] = (struct span){rq->id, strlen(rq->id)};
        parts[n++] = (struct span){dot, 1};
    }
    if (scheme != SIG_GITHUB) {
        parts[n++] = rq->ts;
        parts[n++] = (struct span){dot, 1};
    }
    parts[n++] = (struct span){body, len};
    return n;
}

enum sig_result
sig_verify(enum sig_scheme scheme, const struct sig_secret *secrets,
           size_t nsecrets, sig_header_fn header, void *arg, const void *body,
           size_t len, int64_t now, int64_t tolerance, const char **msg_id,
           char *detail, size_t detaillen)
{
    const struct scheme_desc *sd;
    struct request rq;
    struct span parts[5];
    struct mac m;
    unsigned char mac[MAC_LEN];
    char expect[HEX_LEN + 1];
    size_t nparts, elen;
    enum sig_result r;
    int matched = 0;

    if (msg_id != NULL)
        *msg_id = NULL;
    if (detail != NULL && detaillen > 0)
        detail[0] = '\0';
    if ((unsigned)scheme >= NSCHEMES) {
        say(detail, detaillen, "unknown signature scheme %d", (int)scheme);
        return SIG_BAD_HEADER;
    }
    sd = &schemes[scheme];
    memset(&rq, 0, sizeof(rq));
    if (scheme == SIG_STANDARD) {
        if ((r = standard_headers(header, arg, &rq, detail, detaillen)) !=
            SIG_OK)
            return r;
    } else {
        rq.sig_name = sd->header;
        rq.ts_name = "stripe-signature timestamp"; /* GitHub has none */
        rq.sig = header_get(header, arg, sd->header);
        if (rq.sig == NULL) {
            say(detail, detaillen, "missing header %s", sd->header);
            return SIG_MISSING_HEADER;
        }
        if (too_long(rq.sig, sd->header, detail, detaillen))
            return SIG_BAD_HEADER;
        /* Not signed, but it becomes the event's id. */
        if (scheme == SIG_GITHUB) {
            rq.id = header_get(header, arg, "x-github-delivery");
            if (rq.id != NULL &&
                too_long(rq.id, "x-github-delivery", detail, detaillen))
                return SIG_BAD_HEADER;
        }
    }
    if ((r = parse_entries(sd, scheme, &rq, detail, detaillen)) != SIG_OK)
        return r;
    if (scheme != SIG_GITHUB &&
        (r = check_timestamp(&rq, now, tolerance, detail, detaillen)) != SIG_OK)
        return r;
    if (rq.nvalues == 0) {
        say(detail, detaillen, "header %s has no %s signature", rq.sig_name,
            sd->version);
        return SIG_NO_MATCH;
    }

    nparts = content_parts(scheme, &rq, body, len, parts);
    mac_open(&m);
    for (size_t s = 0; s < nsecrets && !matched; s++) {
        if (!secret_ok(&secrets[s]))
            continue;
        mac_compute(&m, &secrets[s], parts, nparts, mac);
        elen = mac_encode(mac, sd->hex, expect);
        /* Every entry is compared, so timing says nothing of which. */
        for (size_t i = 0; i < rq.nvalues; i++)
            matched |= rq.values[i].n == elen &&
                       CRYPTO_memcmp(rq.values[i].p, expect, elen) == 0;
    }
    mac_close(&m);
    OPENSSL_cleanse(mac, sizeof(mac));
    OPENSSL_cleanse(expect, sizeof(expect));
    if (!matched) {
        say(detail, detaillen,
            "no %s signature matches (%zu signature%s checked against %zu"
            " secret%s)",
            sd->version, rq.nvalues, plural(rq.nvalues), nsecrets,
            plural(nsecrets));
        return SIG_NO_MATCH;
    }
    if (msg_id != NULL)
        *msg_id = rq.id;
    return SIG_OK;
}

/* Whether C is in the standard base64 alphabet (not base64url). */
static int
is_b64(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* Decodes standard base64, padded or not, into OUT (MAX_KEY bytes). */
static int
b64_decode_key(const char *s, struct sig_secret *out, char *err, size_t errlen)
{
    /* MAX_KEY bytes are at most 172 characters: reading 176 is enough to
     * tell a longer key. */
    unsigned char in[4 * ((MAX_KEY + 2) / 3) + 8], raw[sizeof(in)];
    size_t n = strnlen(s, sizeof(in) - 4), d = 0, pad = 0, keylen, total;
    int got;

    while (d < n && is_b64((unsigned char)s[d]))
        d++;
    while (d + pad < n && s[d + pad] == '=')
        pad++;
    if (d + pad < n) {
        say(err, errlen,
            "the secret is not base64 (bad character at offset %zu)", d + pad);
        return -1;
    }
    if (d % 4 == 1 || pad > 2 || (pad > 0 && n % 4 != 0)) {
        say(err, errlen,
            "the secret is not base64 (%zu characters do not decode)", n);
        return -1;
    }
    keylen = d / 4 * 3 + (d % 4 == 0 ? 0 : d % 4 - 1);
    if (keylen > (size_t)MAX_KEY) {
        say(err, errlen, "the secret is longer than %d bytes", MAX_KEY);
        return -1;
    }
    if (keylen == 0) {
        say(err, errlen, "the secret is empty");
        return -1;
    }
    /* EVP_DecodeBlock wants whole quads and counts padding as zeros. */
    memcpy(in, s, d);
    total = d;
    while (total % 4 != 0)
        in[total++] = '=';
    got = EVP_DecodeBlock(raw, in, (int)total);
    if (got < 0 || (size_t)got != total / 4 * 3) {
        say(err, errlen, "the secret is not base64");
        OPENSSL_cleanse(in, sizeof(in));
        return -1;
    }
    memcpy(out->key, raw, keylen);
    out->len = keylen;
    OPENSSL_cleanse(in, sizeof(in));
    OPENSSL_cleanse(raw, sizeof(raw));
    return 0;
}

int
sig_secret_parse(enum sig_scheme scheme, const char *text,
                 struct sig_secret *out, char *err, size_t errlen)
{
    struct sig_secret s;
    size_t n;

    /* Messages never quote the secret: they end up in logs. */
    if (text == NULL || text[0] == '\0') {
        say(err, errlen, "the secret is empty");
        return -1;
    }
    memset(&s, 0, sizeof(s));
    if (scheme == SIG_STANDARD) {
        if (strncmp(text, "whsec_", 6) == 0) {
            text += 6;
            if (text[0] == '\0') {
                say(err, errlen, "the secret is empty after whsec_");
                return -1;
            }
        }
        if (b64_decode_key(text, &s, err, errlen) != 0)
            return -1;
    } else if ((unsigned)scheme < NSCHEMES) {
        /* Stripe and GitHub key with the string itself, whsec_ and all. */
        n = strnlen(text, sizeof(s.key) + 1);
        if (n > sizeof(s.key)) {
            say(err, errlen, "the secret is longer than %d bytes", MAX_KEY);
            return -1;
        }
        memcpy(s.key, text, n);
        s.len = n;
    } else {
        say(err, errlen, "unknown signature scheme %d", (int)scheme);
        return -1;
    }
    *out = s;
    OPENSSL_cleanse(&s, sizeof(s));
    return 0;
}

int
sig_status(enum sig_result r)
{
    switch (r) {
    case SIG_OK:
        return 200;
    case SIG_MISSING_HEADER:
    case SIG_BAD_HEADER:
    case SIG_BAD_TIMESTAMP:
        return 400;
    case SIG_TOO_OLD:
    case SIG_TOO_NEW:
    case SIG_NO_MATCH:
        return 401;
    }
    return 401; /* not a result: refuse */
}

const char *
sig_reason(enum sig_result r)
{
    static const char *const reasons[] = {
        [SIG_OK] = "ok",
        [SIG_MISSING_HEADER] = "missing header",
        [SIG_BAD_HEADER] = "bad header",
        [SIG_BAD_TIMESTAMP] = "bad timestamp",
        [SIG_TOO_OLD] = "too old",
        [SIG_TOO_NEW] = "too new",
        [SIG_NO_MATCH] = "no match",
    };

    if ((unsigned)r >= sizeof(reasons) / sizeof(reasons[0]))
        return "unknown";
    return reasons[r];
}

int
sig_sign(enum sig_scheme scheme, const struct sig_secret *secret,
         const char *id, int64_t now, const void *body, size_t len, char *out,
         size_t outlen)
{
    struct request rq;
    struct span parts[5];
    struct mac m;
    unsigned char mac[MAC_LEN];
    char ts[24], sig[HEX_LEN + 1];
    size_t nparts;
    int n;

    if (out != NULL && outlen > 0)
        out[0] = '\0';
    if (out == NULL || (unsigned)scheme >= NSCHEMES || !secret_ok(secret) ||
        (scheme == SIG_STANDARD && id == NULL))
        return -1;
    memset(&rq, 0, sizeof(rq));
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    rq.id = id;
    rq.ts = (struct span){ts, strlen(ts)};
    nparts = content_parts(scheme, &rq, body, len, parts);
    mac_open(&m);
    mac_compute(&m, secret, parts, nparts, mac);
    mac_close(&m);
    mac_encode(mac, schemes[scheme].hex, sig);
    OPENSSL_cleanse(mac, sizeof(mac));
    switch (scheme) {
    case SIG_STANDARD:
        n = snprintf(out, outlen,
                     "svix-id: %s\nsvix-timestamp: %s\n"
                     "svix-signature: v1,%s\n",
                     id, ts, sig);
        break;
    case SIG_STRIPE:
        n = snprintf(out, outlen, "stripe-signature: t=%s,v1=%s\n", ts, sig);
        break;
    default:
        n = snprintf(out, outlen, "x-hub-signature-256: sha256=%s\n%s%s%s", sig,
                     id ? "x-github-delivery: " : "", id ? id : "",
                     id ? "\n" : "");
        break;
    }
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

int
sig_scheme_parse(const char *name, enum sig_scheme *out)
{
    for (size_t i = 0; i < NSCHEMES; i++) {
        if (strcmp(name, schemes[i].name) == 0 ||
            (schemes[i].alias != NULL && strcmp(name, schemes[i].alias) == 0)) {
            *out = (enum sig_scheme)i;
            return 0;
        }
    }
    return -1;
}
