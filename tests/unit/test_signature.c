/* test_signature.c - unit tests for webhook signatures: the official
 * Standard Webhooks vectors, Stripe and GitHub.
 * SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "signature.h"
#include "tap.h"

/* webhooks.md §2.1, verbatim. */
#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET_BARE "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define TS 1614265330
#define TS_TEXT "1614265330"
#define PAYLOAD "{\"test\": 2432232314}"
#define SIG "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* §2.2: a well-formed but wrong signature, used as decoys. */
#define DECOY "Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
#define TOL 300

/* Stripe, checked by hand:
 *   printf '%s' '1614265330.{"id":"evt_1"}' |
 *       openssl dgst -sha256 -hmac 'whsec_test'
 * The key is the string "whsec_test" itself, not its base64 decoding. */
#define STRIPE_SECRET "whsec_test"
#define STRIPE_BODY "{\"id\":\"evt_1\"}"
#define STRIPE_SIG                                                             \
    "347e9afe3d74ec4c5cbefd270edc9246513ae3da7b375223e302560fbd4146eb"

/* GitHub's documented sample (webhooks.md §5.2). */
#define GH_SECRET "It's a Secret to Everybody"
#define GH_BODY "Hello, World!"
#define GH_SIG                                                                 \
    "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* Correct signatures: no failure detail may contain one. */
static const char *const secrets_out[] = {SIG, STRIPE_SIG, GH_SIG, "g0hM9SsE"};

/* The headers of one request: lower-case names as sig_verify asks. */
struct hdrs {
    const char *name[16];
    const char *value[16];
    int n;
    char buf[4096]; /* for headers parsed from sig_sign's output */
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
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->name[i], name) == 0) {
            h->value[i] = value;
            return;
        }
    }
    h->name[h->n] = name;
    h->value[h->n++] = value;
}

static void
hdel(struct hdrs *h, const char *name)
{
    for (int i = 0; i < h->n; i++) {
        if (strcmp(h->name[i], name) == 0) {
            h->name[i] = h->name[--h->n];
            h->value[i] = h->value[h->n];
            return;
        }
    }
}

/* Fills H from sig_sign's "name: value\n" lines. Returns the count. */
static int
hparse(struct hdrs *h, const char *text)
{
    char *line, *save = NULL;

    memset(h, 0, sizeof(*h));
    snprintf(h->buf, sizeof(h->buf), "%s", text);
    for (line = strtok_r(h->buf, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strstr(line, ": ");

        if (colon == NULL)
            return -1;
        *colon = '\0';
        hset(h, line, colon + 2);
    }
    return h->n;
}

/* The official request: svix-* or webhook-* names. */
static void
official(struct hdrs *h, const char *family, const char *sig)
{
    static char names[3][32];

    memset(h, 0, sizeof(*h));
    snprintf(names[0], sizeof(names[0]), "%s-id", family);
    snprintf(names[1], sizeof(names[1]), "%s-timestamp", family);
    snprintf(names[2], sizeof(names[2]), "%s-signature", family);
    hset(h, names[0], MSG_ID);
    hset(h, names[1], TS_TEXT);
    hset(h, names[2], sig);
}

static struct sig_secret
secret(enum sig_scheme scheme, const char *text)
{
    struct sig_secret s;
    char err[256] = "";

    memset(&s, 0, sizeof(s));
    if (sig_secret_parse(scheme, text, &s, err, sizeof(err)) != 0) {
        printf("# secret \"%s\" refused: %s\n", text, err);
        exit(1);
    }
    return s;
}

/* A failure detail names the check, lowercase with no final period, and
 * never carries a correct signature. */
static void
detail_ok(const char *detail, const char *what)
{
    size_t n = strlen(detail);
    int leak = 0;

    for (size_t i = 0; i < sizeof(secrets_out) / sizeof(secrets_out[0]); i++)
        leak |= strstr(detail, secrets_out[i]) != NULL;
    ok(n > 0 && !isupper((unsigned char)detail[0]) && detail[n - 1] != '.' &&
           !leak,
       "%s: the detail is lowercase, unfinished and keeps signatures out",
       what);
    if (n == 0 || leak)
        printf("#   detail \"%s\"\n", detail);
}

/* Verifies and checks the result; on failure also the detail (WHY is a
 * part it must contain, or NULL). Returns the message id. */
static const char *
check(enum sig_scheme scheme, const struct sig_secret *secrets, size_t n,
      struct hdrs *h, const void *body, size_t len, int64_t now,
      enum sig_result want, const char *why, const char *what)
{
    char detail[256];
    const char *id = (const char *)1;
    enum sig_result r;

    memset(detail, 'x', sizeof(detail));
    r = sig_verify(scheme, secrets, n, lookup_cb, h, body, len, now, TOL, &id,
                   detail, sizeof(detail));
    ok(r == want, "%s: %s", what, sig_reason(want));
    if (r != want)
        printf("#   got %s (%s)\n", sig_reason(r), detail);
    if (want != SIG_OK) {
        ok(id == NULL, "%s: no message id on failure", what);
        detail_ok(detail, what);
        if (why != NULL)
            has_str(detail, why, "%s: the detail says why", what);
    }
    return id;
}

/* base64(HMAC-SHA256(KEY, ID.TS.BODY)) with HMAC() itself, for
 * timestamps sig_sign would not write (leading zeros). */
static void
standard_sig(const struct sig_secret *key, const char *id, const char *ts,
             const char *body, char out[45])
{
    char content[512];
    unsigned char mac[32];
    unsigned int maclen = 0;
    int n = snprintf(content, sizeof(content), "%s.%s.%s", id, ts, body);

    HMAC(EVP_sha256(), key->key, (int)key->len, (unsigned char *)content,
         (size_t)n, mac, &maclen);
    EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
}

static void
test_scheme_parse(void)
{
    enum sig_scheme s = SIG_GITHUB;

    ok(sig_scheme_parse("standard-webhooks", &s) == 0 && s == SIG_STANDARD,
       "\"standard-webhooks\" is SIG_STANDARD");
    s = SIG_GITHUB;
    ok(sig_scheme_parse("svix", &s) == 0 && s == SIG_STANDARD,
       "\"svix\" is SIG_STANDARD");
    ok(sig_scheme_parse("stripe", &s) == 0 && s == SIG_STRIPE,
       "\"stripe\" is SIG_STRIPE");
    ok(sig_scheme_parse("github", &s) == 0 && s == SIG_GITHUB,
       "\"github\" is SIG_GITHUB");
    is_int(sig_scheme_parse("hmac", &s), -1, "\"hmac\" is refused");
    is_int(sig_scheme_parse("", &s), -1, "\"\" is refused");
}

/* Parses TEXT and checks it is refused with WHY, not quoting it. */
static void
secret_refused(enum sig_scheme scheme, const char *text, const char *why)
{
    struct sig_secret s;
    char err[256] = "";

    memset(&s, 0, sizeof(s));
    is_int(sig_secret_parse(scheme, text, &s, err, sizeof(err)), -1,
           "secret \"%.20s\" is refused", text);
    has_str(err, why, "secret \"%.20s\": the error says %s", text, why);
    ok(strlen(text) < 8 || strstr(err, text) == NULL,
       "secret \"%.20s\": the error does not quote it", text);
    is_int(s.len, 0, "secret \"%.20s\": the output is left alone", text);
}

static void
test_secret_parse(void)
{
    struct sig_secret a = secret(SIG_STANDARD, SECRET);
    struct sig_secret b = secret(SIG_STANDARD, SECRET_BARE);
    struct sig_secret s;
    char longer[256];

    is_int(a.len, 24, "the official secret decodes to 24 bytes");
    ok(a.len == b.len && memcmp(a.key, b.key, a.len) == 0,
       "with or without whsec_: the same key");
    s = secret(SIG_STANDARD, "QQ==");
    ok(s.len == 1 && s.key[0] == 'A', "\"QQ==\" is one byte");
    s = secret(SIG_STANDARD, "QQ");
    ok(s.len == 1 && s.key[0] == 'A', "\"QQ\" (unpadded) is one byte");
    s = secret(SIG_STANDARD, "QUI=");
    ok(s.len == 2 && memcmp(s.key, "AB", 2) == 0, "\"QUI=\" is two bytes");
    s = secret(SIG_STANDARD, "QUJD");
    ok(s.len == 3 && memcmp(s.key, "ABC", 3) == 0, "\"QUJD\" is three bytes");

    secret_refused(SIG_STANDARD, "", "empty");
    secret_refused(SIG_STANDARD, "whsec_", "empty");
    secret_refused(SIG_STANDARD, "whsec_not base64!", "not base64");
    secret_refused(SIG_STANDARD, "whsec_MfKQ9r8GKYqrTwjU-D8ILPZIo2LaLaSw",
                   "not base64");
    secret_refused(SIG_STANDARD, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwM",
                   "not base64"); /* 4n+1 characters */
    secret_refused(SIG_STANDARD, "QQ=", "not base64");
    secret_refused(SIG_STANDARD, "QQ===", "not base64");
    secret_refused(SIG_STANDARD, "QQ=A", "not base64");
    secret_refused(SIG_STANDARD, "====", "not base64");
    secret_refused(SIG_STANDARD, "QUJD ", "not base64");
    /* 128 bytes are 171 characters unpadded, 172 with '='. */
    memset(longer, 'A', 171);
    longer[171] = '\0';
    s = secret(SIG_STANDARD, longer);
    is_int(s.len, 128, "171 base64 characters: a 128-byte key");
    longer[171] = '=';
    longer[172] = '\0';
    s = secret(SIG_STANDARD, longer);
    is_int(s.len, 128, "the same with its '=': a 128-byte key");
    memset(longer, 'A', 172);
    secret_refused(SIG_STANDARD, longer, "longer than 128 bytes");
    memset(longer, 'A', 250);
    longer[250] = '\0';
    secret_refused(SIG_STANDARD, longer, "longer than 128 bytes");

    /* Stripe and GitHub: the string's bytes, whsec_ included. */
    s = secret(SIG_STRIPE, STRIPE_SECRET);
    ok(s.len == 10 && memcmp(s.key, "whsec_test", 10) == 0,
       "a Stripe secret is its bytes, whsec_ and all");
    s = secret(SIG_STRIPE, SECRET);
    ok(s.len == strlen(SECRET) && memcmp(s.key, SECRET, s.len) == 0,
       "a base64-looking Stripe secret is not decoded");
    s = secret(SIG_GITHUB, GH_SECRET);
    ok(s.len == strlen(GH_SECRET) && memcmp(s.key, GH_SECRET, s.len) == 0,
       "a GitHub secret is its bytes");
    secret_refused(SIG_STRIPE, "", "empty");
    secret_refused(SIG_GITHUB, "", "empty");
    memset(longer, 'a', 129);
    longer[129] = '\0';
    secret_refused(SIG_GITHUB, longer, "longer than 128 bytes");
    longer[128] = '\0';
    s = secret(SIG_GITHUB, longer);
    is_int(s.len, 128, "a 128-byte GitHub secret is fine");
}

static void
test_official_sign(void)
{
    struct sig_secret key = secret(SIG_STANDARD, SECRET);
    char out[512];

    is_int(sig_sign(SIG_STANDARD, &key, MSG_ID, TS, PAYLOAD, strlen(PAYLOAD),
                    out, sizeof(out)),
           0, "sig_sign: the official vector");
    is_str(out,
           "svix-id: " MSG_ID "\nsvix-timestamp: " TS_TEXT
           "\nsvix-signature: v1," SIG "\n",
           "sig_sign: the official headers, byte for byte");
    key = secret(SIG_STANDARD, SECRET_BARE);
    sig_sign(SIG_STANDARD, &key, MSG_ID, TS, PAYLOAD, strlen(PAYLOAD), out,
             sizeof(out));
    has_str(out, "v1," SIG "\n", "sig_sign: the same without whsec_");
    is_int(sig_sign(SIG_STANDARD, &key, MSG_ID, TS, PAYLOAD, strlen(PAYLOAD),
                    out, 60),
           -1, "sig_sign: too small a buffer is refused");
    is_str(out, "", "sig_sign: and leaves an empty string");
    is_int(sig_sign(SIG_STANDARD, &key, NULL, TS, PAYLOAD, strlen(PAYLOAD), out,
                    sizeof(out)),
           -1, "sig_sign: Standard Webhooks needs an id");
}

static void
test_official_verify(void)
{
    struct sig_secret key = secret(SIG_STANDARD, SECRET);
    struct sig_secret bare = secret(SIG_STANDARD, SECRET_BARE);
    struct sig_secret other = secret(SIG_STANDARD, "QUJD");
    struct sig_secret two[2];
    struct hdrs h;
    const char *id;
    char sig[64], out[512], detail[256];
    enum sig_result r;

    official(&h, "svix", "v1," SIG);
    id = check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
               NULL, "official vector, svix-*");
    ok(id == lookup_cb(&h, "svix-id"), "the message id is svix-id's value");
    check(SIG_STANDARD, &bare, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
          NULL, "official vector, secret without whsec_");
    official(&h, "webhook", "v1," SIG);
    id = check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
               NULL, "official vector, webhook-*");
    ok(id == lookup_cb(&h, "webhook-id"),
       "the message id is webhook-id's value");
    /* A NULL msg_id and no detail buffer are fine. */
    r = sig_verify(SIG_STANDARD, &key, 1, lookup_cb, &h, PAYLOAD,
                   strlen(PAYLOAD), TS, TOL, NULL, NULL, 0);
    is_int(r, SIG_OK, "msg_id and detail may be NULL");

    /* Family choice: svix-* whole wins; otherwise webhook-*. */
    official(&h, "webhook", "v1," SIG);
    hset(&h, "svix-id", MSG_ID);
    hset(&h, "svix-timestamp", TS_TEXT);
    id = check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
               NULL, "svix-signature missing: webhook-* is used");
    ok(id == lookup_cb(&h, "webhook-id"), "and gives webhook-id");
    hset(&h, "svix-signature", "v1," DECOY);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "no v1 signature matches",
          "svix-* whole: preferred over a valid webhook-*");
    hset(&h, "svix-signature", "");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "an empty svix-signature counts as missing");

    /* §2.2: each header missing. */
    official(&h, "webhook", "v1," SIG);
    hdel(&h, "webhook-id");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER, "missing header webhook-id (or svix-id)",
          "webhook-id missing");
    official(&h, "webhook", "v1," SIG);
    hdel(&h, "webhook-timestamp");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER,
          "missing header webhook-timestamp (or svix-timestamp)",
          "webhook-timestamp missing");
    official(&h, "webhook", "v1," SIG);
    hdel(&h, "webhook-signature");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER,
          "missing header webhook-signature (or svix-signature)",
          "webhook-signature missing");
    official(&h, "svix", "v1," SIG);
    hdel(&h, "svix-signature");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER,
          "missing header svix-signature (or webhook-signature)",
          "svix-signature missing");
    memset(&h, 0, sizeof(h));
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER, "missing header svix-id (or webhook-id)",
          "no headers at all");
    official(&h, "svix", "v1," SIG);
    hset(&h, "svix-id", "");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_MISSING_HEADER, "missing header svix-id", "an empty svix-id");

    /* §2.2: outside the tolerance by one second, each way; the edges
     * themselves pass. */
    official(&h, "webhook", "v1," SIG);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS + TOL + 1,
          SIG_TOO_OLD,
          "webhook-timestamp 1614265330 is 301 s old (tolerance 300 s)",
          "now - tolerance - 1");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS - TOL - 1,
          SIG_TOO_NEW,
          "webhook-timestamp 1614265330 is 301 s in the future"
          " (tolerance 300 s)",
          "now + tolerance + 1");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS + TOL, SIG_OK,
          NULL, "exactly tolerance old");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS - TOL, SIG_OK,
          NULL, "exactly tolerance ahead");
    official(&h, "svix", "v1," SIG);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD),
          TS + 178 * 86400 + 5, SIG_TOO_OLD,
          "timestamp 1614265330 is 178 days old (tolerance 300 s)",
          "the vector checked in real time");
    /* Fresh signatures at the window's edges, signed with sig_sign. */
    sig_sign(SIG_STANDARD, &key, MSG_ID, TS - TOL - 1, PAYLOAD, strlen(PAYLOAD),
             out, sizeof(out));
    hparse(&h, out);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_TOO_OLD,
          "is 301 s old", "signed now - tolerance - 1");
    sig_sign(SIG_STANDARD, &key, MSG_ID, TS + TOL + 1, PAYLOAD, strlen(PAYLOAD),
             out, sizeof(out));
    hparse(&h, out);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_TOO_NEW,
          "in the future", "signed now + tolerance + 1");

    /* The timestamp is base-10 digits and nothing else. */
    {
        static const char *const bad[] = {
            "abc",         "-1614265330", "+1614265330",     "1614265330.5",
            " 1614265330", "1614265330 ", "1614265330000ms", "0x6037",
            "1e9",         "١٦١٤٢٦٥٣٣٠"};

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            char what[64];

            official(&h, "svix", "v1," SIG);
            hset(&h, "svix-timestamp", bad[i]);
            snprintf(what, sizeof(what), "timestamp \"%s\"", bad[i]);
            check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
                  SIG_BAD_TIMESTAMP,
                  "svix-timestamp is not a whole number of seconds", what);
        }
        hset(&h, "svix-timestamp", "99999999999999999999");
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_BAD_TIMESTAMP, "svix-timestamp is out of range",
              "a timestamp beyond int64");
        hset(&h, "svix-timestamp", "9223372036854775807");
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_TOO_NEW, "in the future", "INT64_MAX as a timestamp");
        hset(&h, "svix-timestamp", "0");
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_TOO_OLD, "days old", "timestamp 0");
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), INT64_MIN,
              SIG_TOO_NEW, "in the future", "now INT64_MIN does not overflow");
    }
    /* The signed content uses the timestamp as sent: leading zeros. */
    standard_sig(&key, MSG_ID, "0" TS_TEXT, PAYLOAD, sig);
    snprintf(out, sizeof(out), "v1,%s", sig);
    official(&h, "svix", out);
    hset(&h, "svix-timestamp", "0" TS_TEXT);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "timestamp with a leading zero, signed as sent");
    official(&h, "svix", "v1," SIG);
    hset(&h, "svix-timestamp", "0" TS_TEXT);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          NULL, "the same value, differently written");

    /* §2.2: bad signature entries. */
    official(&h, "webhook", "v1,dawfeoifkpqwoekfpqoekf");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "no v1 signature matches (1 signature checked against 1 secret)",
          "v1,dawfeoifkpqwoekfpqoekf");
    official(&h, "webhook", "v1,");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "no v1 signature matches", "v1, (empty)");
    official(&h, "webhook", "v2," SIG);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "header webhook-signature has no v1 signature",
          "v2,<valid> is skipped");
    official(&h, "webhook", "v1a," SIG);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "has no v1 signature", "v1a,<valid> is skipped");
    official(&h, "webhook", "v1" SIG);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "has no v1 signature", "no comma");
    official(&h, "webhook", "v1," SIG ",x");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          NULL, "v1,<valid>,x is not <valid>");
    official(&h, "webhook", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          NULL, "the valid signature without its '='");
    official(&h, "webhook", "   ");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "has no v1 signature", "a signature of spaces");
    /* §2.2 "multi sig payload is valid". */
    official(&h, "webhook", "v1," DECOY " v2," DECOY " v1," SIG " v1," DECOY);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "a valid v1 among decoys and a v2");
    official(&h, "webhook", "v1," DECOY " v2," DECOY " v1," DECOY);
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "no v1 signature matches (2 signatures checked against 1 secret)",
          "decoys only");
    official(&h, "webhook", "  v1," DECOY "   v1," SIG "  ");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "runs of spaces between entries");

    /* A tampered body; rotation. */
    official(&h, "svix", "v1," SIG);
    check(SIG_STANDARD, &key, 1, &h, "{\"test\": 2432232315}", strlen(PAYLOAD),
          TS, SIG_NO_MATCH, "no v1 signature matches", "a tampered body");
    check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD) - 1, TS,
          SIG_NO_MATCH, NULL, "a truncated body");
    check(SIG_STANDARD, &other, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
          SIG_NO_MATCH, NULL, "the wrong secret");
    two[0] = other;
    two[1] = key;
    check(SIG_STANDARD, two, 2, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "rotation: the second secret matches");
    official(&h, "svix", "v1," DECOY " v1,abc");
    check(SIG_STANDARD, two, 2, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "no v1 signature matches (2 signatures checked against 2 secrets)",
          "rotation: the counts in the detail");
    official(&h, "svix", "v1," SIG);
    check(SIG_STANDARD, NULL, 0, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_NO_MATCH,
          "against 0 secrets", "no secrets at all");
    memset(&two[0], 0, sizeof(two[0]));
    check(SIG_STANDARD, two, 2, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK, NULL,
          "a zeroed secret is skipped, the next one matches");

    /* Bounds. */
    {
        static char big[9000], many[70 * 48];
        size_t n = 0;

        memset(big, 'a', sizeof(big) - 1);
        official(&h, "svix", big);
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_BAD_HEADER, "header svix-signature is longer than 8192",
              "a 9 KB signature header");
        official(&h, "svix", "v1," SIG);
        hset(&h, "svix-id", big);
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_BAD_HEADER, "header svix-id is longer than 8192",
              "a 9 KB id");
        official(&h, "svix", "v1," SIG);
        hset(&h, "webhook-signature", big);
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
              NULL, "a 9 KB header of the family not used");
        for (int i = 0; i < 63; i++)
            n += (size_t)snprintf(many + n, sizeof(many) - n, "v1,%s ", DECOY);
        snprintf(many + n, sizeof(many) - n, "v1,%s", SIG);
        official(&h, "svix", many);
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS, SIG_OK,
              NULL, "64 entries, the last one valid");
        snprintf(many + n, sizeof(many) - n, "v2,x v1,%s", SIG);
        check(SIG_STANDARD, &key, 1, &h, PAYLOAD, strlen(PAYLOAD), TS,
              SIG_BAD_HEADER, "has more than 64 entries", "65 entries");
    }

    /* §2.3: the spec's example body, and an empty body. */
    {
        static const char body[] =
            "{\"type\":\"contact.created\",\"timestamp\":"
            "\"2022-11-03T20:26:10.344522Z\",\"data\":{\"id\":"
            "\"1f81eb52-5198-4599-803e-771906343485\"}}";

        memset(&h, 0, sizeof(h));
        hset(&h, "webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W");
        hset(&h, "webhook-timestamp", "1674087231");
        hset(&h, "webhook-signature",
             "v1,ARw42xaAApl/nxRo+iPGYwSaMQaOwMo2eyH5JBRA+bQ=");
        check(SIG_STANDARD, &key, 1, &h, body, strlen(body), 1674087231, SIG_OK,
              NULL, "§2.3: the spec's example body");
        official(&h, "svix", "v1,v48jdbgvh29KJz2Qc+ghw8G6vG3nAKnujWBg8oM/62A=");
        check(SIG_STANDARD, &key, 1, &h, "", 0, TS, SIG_OK, NULL,
              "§2.3: an empty body");
        check(SIG_STANDARD, &key, 1, &h, NULL, 0, TS, SIG_OK, NULL,
              "§2.3: an empty body given as NULL");
        sig_sign(SIG_STANDARD, &key, MSG_ID, TS, "", 0, out, sizeof(out));
        has_str(out, "v1,v48jdbgvh29KJz2Qc+ghw8G6vG3nAKnujWBg8oM/62A=\n",
                "§2.3: sig_sign gives the empty body's vector");
    }

    /* The body is bytes: NULs count, and nothing past LEN is read. */
    {
        static const char body[] = "a\0b\0c";

        sig_sign(SIG_STANDARD, &key, MSG_ID, TS, body, 5, out, sizeof(out));
        hparse(&h, out);
        check(SIG_STANDARD, &key, 1, &h, body, 5, TS, SIG_OK, NULL,
              "a body with NUL bytes");
        check(SIG_STANDARD, &key, 1, &h, body, 1, TS, SIG_NO_MATCH, NULL,
              "the same body cut at its first NUL");
    }

    /* An unknown scheme is refused, not read out of bounds. */
    official(&h, "svix", "v1," SIG);
    r = sig_verify((enum sig_scheme)7, &key, 1, lookup_cb, &h, PAYLOAD,
                   strlen(PAYLOAD), TS, TOL, NULL, detail, sizeof(detail));
    ok(r != SIG_OK, "an unknown scheme never verifies");
}

static void
test_stripe(void)
{
    struct sig_secret key = secret(SIG_STRIPE, STRIPE_SECRET);
    struct sig_secret other = secret(SIG_STRIPE, "whsec_other");
    struct sig_secret b64 = secret(SIG_STANDARD, "d2hzZWNfdGVzdA==");
    struct hdrs h;
    const char *id;
    char out[512], hdr[512];

    /* The hand-checked vector, in the Stripe docs' layout. */
    memset(&h, 0, sizeof(h));
    hset(&h, "stripe-signature",
         "t=1614265330,v1=" STRIPE_SIG ",v0=6ffbb59b2300aae63f272406069a97"
         "88598b792a944a07aba816edb039989a39");
    id = check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
               SIG_OK, NULL, "stripe: the openssl-checked vector");
    ok(id == NULL, "stripe: no message id (it is in the body)");
    ok(b64.len == key.len && memcmp(b64.key, key.key, key.len) == 0,
       "(the same key bytes as a Standard Webhooks secret)");

    /* sig_sign, then verify. */
    is_int(sig_sign(SIG_STRIPE, &key, NULL, TS, STRIPE_BODY,
                    strlen(STRIPE_BODY), out, sizeof(out)),
           0, "stripe: sig_sign");
    is_str(out, "stripe-signature: t=" TS_TEXT ",v1=" STRIPE_SIG "\n",
           "stripe: sig_sign writes the vector");
    hparse(&h, out);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS, SIG_OK,
          NULL, "stripe: sig_sign's header verifies");
    check(SIG_STRIPE, &other, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_NO_MATCH,
          "no v1 signature matches (1 signature checked against 1 secret)",
          "stripe: the wrong secret");
    check(SIG_STRIPE, &key, 1, &h, "{\"id\":\"evt_2\"}", strlen(STRIPE_BODY),
          TS, SIG_NO_MATCH, NULL, "stripe: a tampered body");

    /* Several v1 (rotation on Stripe's side), v0 ignored. */
    snprintf(hdr, sizeof(hdr), "t=%s,v1=%064d,v0=%s,v1=%s,v1=abc", TS_TEXT, 0,
             STRIPE_SIG, STRIPE_SIG);
    hset(&h, "stripe-signature", hdr);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS, SIG_OK,
          NULL, "stripe: one valid v1 among several");
    snprintf(hdr, sizeof(hdr), "t=%s,v0=%s", TS_TEXT, STRIPE_SIG);
    hset(&h, "stripe-signature", hdr);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_NO_MATCH, "header stripe-signature has no v1 signature",
          "stripe: v0 only");
    snprintf(hdr, sizeof(hdr), "t=%s, v1=%s", TS_TEXT, STRIPE_SIG);
    hset(&h, "stripe-signature", hdr);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS, SIG_OK,
          NULL, "stripe: a space after the comma");
    hset(&h, "stripe-signature",
         "t=1614265330,v1=347E9AFE3D74EC4C5CBEFD270EDC9246513AE3DA7B375223"
         "E302560FBD4146EB");
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_NO_MATCH, NULL, "stripe: upper-case hex is not Stripe's");

    /* Time. */
    hset(&h, "stripe-signature", "t=" TS_TEXT ",v1=" STRIPE_SIG);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY),
          TS + TOL + 1, SIG_TOO_OLD,
          "stripe-signature timestamp 1614265330 is 301 s old",
          "stripe: an old t");
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY),
          TS - TOL - 1, SIG_TOO_NEW, "is 301 s in the future",
          "stripe: a t from the future");
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY),
          TS + 4 * 3600, SIG_TOO_OLD, "is 4 h old", "stripe: 4 hours old");
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS + 1800,
          SIG_TOO_OLD, "is 30 min old", "stripe: 30 min old");

    /* Malformed. */
    memset(&h, 0, sizeof(h));
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_MISSING_HEADER, "missing header stripe-signature",
          "stripe: no header");
    hset(&h, "stripe-signature", "v1=" STRIPE_SIG);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_BAD_HEADER, "header stripe-signature has no t= timestamp",
          "stripe: no t");
    hset(&h, "stripe-signature", "t=,v1=" STRIPE_SIG);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_BAD_TIMESTAMP, "stripe-signature timestamp is empty",
          "stripe: t empty");
    hset(&h, "stripe-signature", "t=16142653x0,v1=" STRIPE_SIG);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_BAD_TIMESTAMP,
          "stripe-signature timestamp is not a whole number of seconds",
          "stripe: t not a number");
    hset(&h, "stripe-signature", "t=" TS_TEXT ",t=" TS_TEXT ",v1=" STRIPE_SIG);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_BAD_HEADER, "more than one t=", "stripe: two t");
    hset(&h, "stripe-signature", "t=" TS_TEXT ",v1=");
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_NO_MATCH, "no v1 signature matches", "stripe: v1 empty");
    /* A Standard Webhooks header means nothing to Stripe. */
    sig_sign(SIG_STANDARD, &key, MSG_ID, TS, STRIPE_BODY, strlen(STRIPE_BODY),
             out, sizeof(out));
    hparse(&h, out);
    check(SIG_STRIPE, &key, 1, &h, STRIPE_BODY, strlen(STRIPE_BODY), TS,
          SIG_MISSING_HEADER, "missing header stripe-signature",
          "stripe: svix headers are not Stripe's");
}

static void
test_github(void)
{
    struct sig_secret key = secret(SIG_GITHUB, GH_SECRET);
    struct sig_secret other = secret(SIG_GITHUB, "It's a secret to everybody");
    struct hdrs h;
    const char *id;
    char out[512];

    memset(&h, 0, sizeof(h));
    hset(&h, "x-hub-signature-256", "sha256=" GH_SIG);
    hset(&h, "x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958");
    id = check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_OK,
               NULL, "github: the documented vector");
    ok(id == lookup_cb(&h, "x-github-delivery"),
       "github: the message id is x-github-delivery");
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), INT64_MAX, SIG_OK,
          NULL, "github: no timestamp, so no window");
    check(SIG_GITHUB, &other, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_NO_MATCH,
          "no sha256 signature matches (1 signature checked against 1"
          " secret)",
          "github: the wrong secret");
    check(SIG_GITHUB, &key, 1, &h, "Hello, World?", strlen(GH_BODY), 0,
          SIG_NO_MATCH, NULL, "github: a tampered body");
    hset(&h, "x-hub-signature-256",
         "sha256=857107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b04"
         "3e17");
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_NO_MATCH,
          NULL, "github: a wrong signature");
    hset(&h, "x-hub-signature-256", GH_SIG);
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_NO_MATCH,
          "header x-hub-signature-256 has no sha256 signature",
          "github: no sha256= prefix");
    hset(&h, "x-hub-signature-256", "sha1=" GH_SIG);
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_NO_MATCH,
          "has no sha256 signature", "github: sha1=");
    hset(&h, "x-hub-signature-256", "sha256=" GH_SIG ",sha256=" GH_SIG);
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_NO_MATCH,
          NULL, "github: one signature, not a list");
    hdel(&h, "x-hub-signature-256");
    check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0,
          SIG_MISSING_HEADER, "missing header x-hub-signature-256",
          "github: no signature header");

    /* sig_sign, with and without a delivery id. */
    is_int(sig_sign(SIG_GITHUB, &key, "d-1", 12345, GH_BODY, strlen(GH_BODY),
                    out, sizeof(out)),
           0, "github: sig_sign");
    is_str(out,
           "x-hub-signature-256: sha256=" GH_SIG "\nx-github-delivery: d-1\n",
           "github: sig_sign writes the documented vector");
    hparse(&h, out);
    id = check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_OK,
               NULL, "github: sig_sign's headers verify");
    is_str(id, "d-1", "github: and give the delivery id");
    sig_sign(SIG_GITHUB, &key, NULL, 0, GH_BODY, strlen(GH_BODY), out,
             sizeof(out));
    is_str(out, "x-hub-signature-256: sha256=" GH_SIG "\n",
           "github: sig_sign without an id");
    hparse(&h, out);
    id = check(SIG_GITHUB, &key, 1, &h, GH_BODY, strlen(GH_BODY), 0, SIG_OK,
               NULL, "github: verifies without x-github-delivery");
    ok(id == NULL, "github: no delivery header, no message id");
}

static void
test_status(void)
{
    static const struct {
        enum sig_result r;
        int status;
        const char *reason;
    } want[] = {
        {SIG_OK, 200, "ok"},
        {SIG_MISSING_HEADER, 400, "missing header"},
        {SIG_BAD_HEADER, 400, "bad header"},
        {SIG_BAD_TIMESTAMP, 400, "bad timestamp"},
        {SIG_TOO_OLD, 401, "too old"},
        {SIG_TOO_NEW, 401, "too new"},
        {SIG_NO_MATCH, 401, "no match"},
    };

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        is_int(sig_status(want[i].r), want[i].status, "sig_status(%s)",
               want[i].reason);
        is_str(sig_reason(want[i].r), want[i].reason, "sig_reason(%d)",
               (int)want[i].r);
    }
    is_int(sig_status((enum sig_result)99), 401,
           "sig_status of a non-result refuses");
    is_str(sig_reason((enum sig_result)99), "unknown",
           "sig_reason of a non-result");
}

int
main(void)
{
    test_scheme_parse();
    test_secret_parse();
    test_official_sign();
    test_official_verify();
    test_stripe();
    test_github();
    test_status();
    return done_testing();
}
