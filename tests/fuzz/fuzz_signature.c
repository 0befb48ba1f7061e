/* fuzz_signature.c - libFuzzer target for webhook signatures (sig_verify,
 * sig_secret_parse, sig_sign).
 * SPDX-License-Identifier: Apache-2.0
 *
 * Input: a flags byte, then NUL-separated id, timestamp and signature
 * header values, then the body (the rest, NULs and all). Flags:
 *   bits 0-1  scheme (Standard Webhooks, Stripe, GitHub; 3 is Standard)
 *   bit 2     Standard: webhook-* names instead of svix-*
 *   bit 3     Standard with webhook-*: also a partial svix-* triple
 *             (svix-id and svix-timestamp), which must be passed over
 *   bit 4     fix up: add the correct signature, computed here with
 *             HMAC(), so the fuzzer reaches the success path; then a
 *             well-formed request must verify
 *   bit 5     fix up with the second secret (key rotation)
 *   bit 6     also sign (id, body) with sig_sign and verify that
 *
 * Checks, besides crashes and sanitizer reports: SIG_OK only when the
 * header really carries the HMAC of the content (recomputed here with
 * HMAC(), not signature.c's code); a failure says why and never shows
 * the correct signature; the message id is the id header's own value;
 * sig_secret_parse on the id text keeps its bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signature.h"

#define NOW 1614265330
#define TOL 300
/* The official Standard Webhooks secret, and Stripe's / GitHub's kind. */
#define STD_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define STD_SECRET2 "whsec_QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
#define RAW_SECRET "whsec_test"
#define RAW_SECRET2 "It's a Secret to Everybody"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct hdrs {
    const char *name[8];
    const char *value[8];
    int n;
};

static const char *
lookup_cb(void *arg, const char *name)
{
    struct hdrs *h = arg;

    for (int i = 0; i < h->n; i++)
        if (strcmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void
hset(struct hdrs *h, const char *name, const char *value)
{
    h->name[h->n] = name;
    h->value[h->n++] = value;
}

static void
fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_signature: %s (%s)\n", what,
            detail != NULL ? detail : "");
    abort();
}

/* The signature of PARTS as the scheme writes it, via HMAC() on one
 * buffer: base64 for Standard Webhooks, lowercase hex otherwise. */
static void
expected(enum sig_scheme scheme, const struct sig_secret *key, const char *a,
         const char *b, const void *body, size_t len, char out[80])
{
    size_t na = a ? strlen(a) : 0, nb = b ? strlen(b) : 0, n = 0;
    unsigned char *buf = malloc(na + nb + len + 3), mac[32];
    unsigned int maclen = 0;

    if (a != NULL) {
        memcpy(buf + n, a, na);
        n += na;
        buf[n++] = '.';
    }
    if (b != NULL) {
        memcpy(buf + n, b, nb);
        n += nb;
        buf[n++] = '.';
    }
    if (len > 0)
        memcpy(buf + n, body, len);
    n += len;
    if (HMAC(EVP_sha256(), key->key, (int)key->len, buf, n, mac, &maclen) ==
            NULL ||
        maclen != 32)
        fail("HMAC() failed", NULL);
    free(buf);
    if (scheme == SIG_STANDARD) {
        EVP_EncodeBlock((unsigned char *)out, mac, 32);
        return;
    }
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/* Whether HDR holds PREFIX immediately followed by SIG. */
static int
carries(const char *hdr, const char *prefix, const char *sig)
{
    char want[96];

    snprintf(want, sizeof(want), "%s%s", prefix, sig);
    return strstr(hdr, want) != NULL;
}

/* Whether S is 1..18 digits within TOL of NOW (a timestamp that must be
 * accepted). */
static int
ts_good(const char *s)
{
    long long v = 0;
    size_t n = strlen(s);

    if (n == 0 || n > 18 || strspn(s, "0123456789") != n)
        return 0;
    v = strtoll(s, NULL, 10);
    return v >= NOW - TOL && v <= NOW + TOL;
}

/* Entries in S split on SEP, blank ones not counted. */
static size_t
entries(const char *s, char sep)
{
    size_t n = 0;
    int any = 0;

    for (;; s++) {
        if (*s == sep || *s == '\0') {
            n += any;
            any = 0;
            if (*s == '\0')
                return n;
        } else if (*s != ' ' && *s != '\t') {
            any = 1;
        }
    }
}

/* The secret text must parse within bounds, or be refused with a reason;
 * a Standard Webhooks key re-encodes to its text. */
static void
check_secret(enum sig_scheme scheme, const char *text)
{
    struct sig_secret s;
    char err[256] = "", again[200];
    const char *b64 = text;
    size_t n;

    memset(&s, 0, sizeof(s));
    if (sig_secret_parse(scheme, text, &s, err, sizeof(err)) != 0) {
        if (err[0] == '\0' || s.len != 0)
            fail("sig_secret_parse refused without a reason", text);
        return;
    }
    if (s.len == 0 || s.len > sizeof(s.key))
        fail("sig_secret_parse gave a key of a bad length", text);
    if (scheme != SIG_STANDARD) {
        if (s.len != strlen(text) || memcmp(s.key, text, s.len) != 0)
            fail("a raw secret is not its bytes", text);
        return;
    }
    if (strncmp(b64, "whsec_", 6) == 0)
        b64 += 6;
    EVP_EncodeBlock((unsigned char *)again, s.key, (int)s.len);
    /* Padding may be left out; the last character may carry bits that
     * decoding drops. */
    n = strcspn(again, "=");
    if (strcspn(b64, "=") != n || strncmp(again, b64, n - 1) != 0)
        fail("a base64 secret does not encode back to its text", text);
}

/* Signs (ID, BODY) with sig_sign and verifies the headers it wrote. */
static void
check_sign(enum sig_scheme scheme, const struct sig_secret *key, const char *id,
           const void *body, size_t len)
{
    size_t cap = strlen(id) + 256;
    char *out = malloc(cap), detail[256], *line, *save = NULL;
    struct hdrs h = {.n = 0};
    const char *msg_id;
    enum sig_result r;

    if (sig_sign(scheme, key, id, NOW, body, len, out, cap) != 0)
        fail("sig_sign refused a big enough buffer", id);
    for (line = strtok_r(out, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strstr(line, ": ");

        if (colon == NULL || h.n == 8)
            fail("sig_sign wrote a line that is not a header", line);
        *colon = '\0';
        hset(&h, line, colon + 2);
    }
    r = sig_verify(scheme, key, 1, lookup_cb, &h, body, len, NOW, TOL, &msg_id,
                   detail, sizeof(detail));
    if (r != SIG_OK)
        fail("what sig_sign signed does not verify", detail);
    if (scheme != SIG_STRIPE && (msg_id == NULL || strcmp(msg_id, id) != 0))
        fail("a signed request gives back another message id", id);
    free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const std_names[2][3] = {
        {"svix-id", "svix-timestamp", "svix-signature"},
        {"webhook-id", "webhook-timestamp", "webhook-signature"}};
    struct sig_secret keys[2];
    struct hdrs h = {.n = 0};
    enum sig_scheme scheme;
    const char *field[3], *body, *msg_id, *want_id = NULL, *sig_hdr;
    char *copy, *fixed = NULL, detail[256], exp[2][80];
    size_t pos = 1, len, nsig;
    unsigned flags;
    enum sig_result r;
    int fam, st;

    if (size < 1)
        return 0;
    flags = data[0];
    scheme = (flags & 3) == 1   ? SIG_STRIPE
             : (flags & 3) == 2 ? SIG_GITHUB
                                : SIG_STANDARD;
    fam = (flags >> 2) & 1;
    /* Three NUL-terminated fields; what is left is the body. */
    copy = malloc(size + 3);
    memcpy(copy, data, size);
    memset(copy + size, 0, 3);
    for (int i = 0; i < 3; i++) {
        field[i] = copy + pos;
        pos += strlen(copy + pos) + 1;
        if (pos > size)
            pos = size;
    }
    body = copy + pos;
    len = size - pos;

    if (sig_secret_parse(scheme,
                         scheme == SIG_STANDARD ? STD_SECRET : RAW_SECRET,
                         &keys[0], detail, sizeof(detail)) != 0 ||
        sig_secret_parse(scheme,
                         scheme == SIG_STANDARD ? STD_SECRET2 : RAW_SECRET2,
                         &keys[1], detail, sizeof(detail)) != 0)
        fail("a fixed secret is refused", detail);
    check_secret(scheme, field[0]);

    /* The content's signature under each secret. */
    for (int k = 0; k < 2; k++) {
        if (scheme == SIG_STANDARD)
            expected(scheme, &keys[k], field[0], field[1], body, len, exp[k]);
        else if (scheme == SIG_STRIPE)
            expected(scheme, &keys[k], field[1], NULL, body, len, exp[k]);
        else
            expected(scheme, &keys[k], NULL, NULL, body, len, exp[k]);
    }
    sig_hdr = field[2];
    if (flags & 16) {
        const char *sig = exp[(flags >> 5) & 1];
        size_t cap = strlen(field[1]) + strlen(field[2]) + 128;

        fixed = malloc(cap);
        if (scheme == SIG_STANDARD)
            snprintf(fixed, cap, "%s v1,%s", field[2], sig);
        else if (scheme == SIG_STRIPE)
            snprintf(fixed, cap, "t=%s,%s,v1=%s", field[1], field[2], sig);
        else
            snprintf(fixed, cap, "sha256=%s", sig);
        sig_hdr = fixed;
    }
    switch (scheme) {
    case SIG_STANDARD:
        hset(&h, std_names[fam][0], field[0]);
        hset(&h, std_names[fam][1], field[1]);
        hset(&h, std_names[fam][2], sig_hdr);
        if (fam == 1 && (flags & 8)) {
            hset(&h, "svix-id", "msg_decoy");
            hset(&h, "svix-timestamp", field[1]);
        }
        want_id = field[0];
        break;
    case SIG_STRIPE:
        hset(&h, "stripe-signature", sig_hdr);
        break;
    case SIG_GITHUB:
        hset(&h, "x-hub-signature-256", sig_hdr);
        if (field[0][0] != '\0') {
            hset(&h, "x-github-delivery", field[0]);
            want_id = field[0];
        }
        break;
    }

    msg_id = (const char *)1;
    memset(detail, 'x', sizeof(detail));
    r = sig_verify(scheme, keys, 2, lookup_cb, &h, body, len, NOW, TOL, &msg_id,
                   detail, sizeof(detail));
    st = sig_status(r);
    if (st != (r == SIG_OK ? 200 : r <= SIG_BAD_TIMESTAMP ? 400 : 401))
        fail("sig_status does not match the result", sig_reason(r));
    if (memchr(detail, '\0', sizeof(detail)) == NULL)
        fail("the detail is not terminated", NULL);

    if (r == SIG_OK) {
        /* Sound: the correct signature is in the header, as an entry of
         * our version. For Stripe the content depends on t=, which may
         * differ from field 1 without a fix-up: try each t= in the
         * header. */
        int real = 0;

        for (int k = 0; k < 2; k++) {
            if (scheme == SIG_STANDARD)
                real |= carries(sig_hdr, "v1,", exp[k]);
            else if (scheme == SIG_GITHUB)
                real |= carries(sig_hdr, "sha256=", exp[k]);
        }
        if (scheme == SIG_STRIPE) {
            for (const char *t = strstr(sig_hdr, "t="); t != NULL && !real;
                 t = strstr(t + 1, "t=")) {
                size_t n = strcspn(t + 2, ",");
                char *ts = strndup(t + 2, n), got[80];

                while (n > 0 && (ts[n - 1] == ' ' || ts[n - 1] == '\t'))
                    ts[--n] = '\0';
                for (int k = 0; k < 2; k++) {
                    expected(scheme, &keys[k], ts, NULL, body, len, got);
                    real |= carries(sig_hdr, "v1=", got);
                }
                free(ts);
            }
        }
        if (!real)
            fail("accepted without the content's signature", sig_hdr);
        if (msg_id != want_id)
            fail("the message id is not the id header's value", msg_id);
    } else {
        if (msg_id != NULL)
            fail("a message id on failure", msg_id);
        if (detail[0] == '\0')
            fail("refused without a detail", sig_reason(r));
        if (strstr(detail, exp[0]) != NULL || strstr(detail, exp[1]) != NULL)
            fail("the detail shows the correct signature", detail);
    }

    /* Complete: a fixed-up, well-formed request verifies. */
    if (flags & 16) {
        int must = 0;

        nsig = strlen(sig_hdr);
        if (scheme == SIG_STANDARD)
            must = field[0][0] != '\0' && strlen(field[0]) <= 8192 &&
                   ts_good(field[1]) && nsig <= 8192 &&
                   entries(sig_hdr, ' ') <= 64;
        else if (scheme == SIG_STRIPE)
            must = ts_good(field[1]) && strchr(field[2], ',') == NULL &&
                   strchr(field[2], 't') == NULL && nsig <= 8192;
        else
            must = strlen(field[0]) <= 8192;
        if (must && r != SIG_OK)
            fail("a well-formed, correctly signed request is refused", detail);
    }

    if ((flags & 64) && strchr(field[0], '\n') == NULL && field[0][0] != '\0' &&
        strlen(field[0]) <= 8192)
        check_sign(scheme, &keys[(flags >> 5) & 1], field[0], body, len);

    free(fixed);
    free(copy);
    return 0;
}
