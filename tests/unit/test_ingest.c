/* test_ingest.c - unit tests for reading event API bodies into events.
 * SPDX-License-Identifier: Apache-2.0 */
#include <json-c/json.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ingest.h"
#include "tap.h"
#include "util.h"

#define NOW 1700000000000LL

static char err[512];

static struct json_object *
parse(const char *body)
{
    err[0] = '\0';
    return ingest_parse(body, strlen(body), NOW, err, sizeof(err));
}

/* The member KEY of OBJ, or NULL. */
static struct json_object *
get(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;

    if (obj == NULL || !json_object_object_get_ex(obj, key, &v))
        return NULL;
    return v;
}

static int
has(struct json_object *obj, const char *key)
{
    return obj != NULL && json_object_object_get_ex(obj, key, NULL);
}

static const char *
str(struct json_object *obj, const char *key)
{
    struct json_object *v = get(obj, key);

    return v != NULL && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v)
               : NULL;
}

static size_t
len(struct json_object *arr)
{
    return arr != NULL && json_object_is_type(arr, json_type_array)
               ? json_object_array_length(arr)
               : (size_t)-1;
}

static struct json_object *
at(struct json_object *arr, size_t i)
{
    return len(arr) != (size_t)-1 && i < len(arr)
               ? json_object_array_get_idx(arr, i)
               : NULL;
}

/* Checks BODY is refused and the error contains each of the NULL-ended
 * fragments. */
static void
refused(const char *what, const char *body, ...)
{
    struct json_object *o = parse(body);
    va_list ap;
    const char *want;

    ok(o == NULL, "%s: refused", what);
    json_object_put(o);
    va_start(ap, body);
    while ((want = va_arg(ap, const char *)) != NULL)
        has_str(err, want, "%s: the error says \"%s\"", what, want);
    va_end(ap);
}

static void
test_single(void)
{
    struct json_object *o, *e;

    o = parse("{\"name\":\"app/user.created\",\"data\":{\"x\":1},"
              "\"ts\":1690000000000}");
    is_int(len(o), 1, "one object: an array of one event");
    e = at(o, 0);
    is_str(str(e, "name"), "app/user.created", "name kept");
    is_int(json_object_get_int(get(get(e, "data"), "x")), 1, "data kept");
    is_int(json_object_get_int64(get(e, "ts")), 1690000000000LL,
           "a given ts is kept");
    ok(!has(e, "id"), "no id when none was sent");
    ok(!has(e, "v"), "no v when none was sent");
    is_int(json_object_object_length(e), 3, "only name, data and ts");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\"}");
    e = at(o, 0);
    is_int(json_object_get_int64(get(e, "ts")), NOW, "missing ts is now");
    ok(json_object_is_type(get(e, "data"), json_type_object) &&
           json_object_object_length(get(e, "data")) == 0,
       "missing data becomes {}");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"ts\":0,\"data\":null}");
    e = at(o, 0);
    is_int(json_object_get_int64(get(e, "ts")), NOW, "ts 0 is now");
    ok(json_object_is_type(get(e, "data"), json_type_object),
       "data null becomes {}");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"ts\":1.69e12}");
    is_int(json_object_get_int64(get(at(o, 0), "ts")), 1690000000000LL,
           "a whole ts written as a double is accepted");
    json_object_put(o);

    o = parse(" \n\t{\"name\":\"a/b\"}\r\n ");
    ok(o != NULL, "whitespace around the value is fine");
    json_object_put(o);
}

static void
test_array(void)
{
    struct json_object *o;

    o = parse("[{\"name\":\"a/1\"},{\"name\":\"a/2\",\"ts\":1690000000001},"
              "{\"name\":\"a/3\"}]");
    is_int(len(o), 3, "an array of 3 gives 3 events");
    is_str(str(at(o, 0), "name"), "a/1", "first in order");
    is_str(str(at(o, 1), "name"), "a/2", "second in order");
    is_str(str(at(o, 2), "name"), "a/3", "third in order");
    is_int(json_object_get_int64(get(at(o, 1), "ts")), 1690000000001LL,
           "each event keeps its own ts");
    is_int(json_object_get_int64(get(at(o, 2), "ts")), NOW,
           "and defaults on its own");
    json_object_put(o);

    o = parse("[]");
    ok(o != NULL && len(o) == 0, "an empty array gives an empty array");
    json_object_put(o);

    o = parse("[ ]");
    ok(o != NULL && len(o) == 0, "so does one with a space in it");
    json_object_put(o);
}

static void
test_fields(void)
{
    struct json_object *o, *d;
    const char *body = "{\"name\":\"a/b\",\"data\":{\"_inngest\":{\"fn\":1},"
                       "\"keep\":\"yes\",\"n\":2},\"id\":\"evt-1\","
                       "\"v\":\"2024-01-01.1\"}";

    o = parse(body);
    d = get(at(o, 0), "data");
    ok(d != NULL && !has(d, "_inngest"), "data._inngest is stripped");
    is_str(str(d, "keep"), "yes", "other data keys are kept");
    is_int(json_object_get_int(get(d, "n")), 2, "all of them");
    is_str(str(at(o, 0), "id"), "evt-1", "a non-empty id is kept");
    is_str(str(at(o, 0), "v"), "2024-01-01.1", "v is kept");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"id\":\"\"}");
    ok(o != NULL && !has(at(o, 0), "id"), "an empty id is dropped");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"id\":null}");
    ok(o != NULL && !has(at(o, 0), "id"), "a null id is dropped");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"extra\":1,\"user\":{\"u\":1}}");
    ok(o != NULL && !has(at(o, 0), "extra"),
       "unknown top-level fields are not carried over");
    ok(o != NULL && has(at(o, 0), "user"),
       "the deprecated user object is kept, as Inngest does");
    json_object_put(o);

    o = parse("{\"name\":\"a/b\",\"data\":{\"_inngest\":1}}");
    d = get(at(o, 0), "data");
    ok(d != NULL && json_object_object_length(d) == 0,
       "data with only _inngest becomes {}");
    json_object_put(o);
}

static void
test_errors(void)
{
    char big[512 + 64];

    refused("malformed JSON", "{\"name\":", "not valid JSON", NULL);
    refused("broken JSON", "{name: 1}", "not valid JSON", NULL);
    refused("trailing garbage", "{\"name\":\"a/b\"} x", "not valid JSON",
            "after the value", NULL);
    refused("a second value", "{\"name\":\"a/b\"}{\"name\":\"a/c\"}",
            "after the value", NULL);
    refused("empty body", "", "empty", NULL);
    refused("blank body", "  \n ", "empty", NULL);
    refused("a string", "\"app/user.created\"",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    refused("a number", "42 ",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    /* json-c only knows a bare number or literal ended when the input does:
     * without a trailing byte these once came back as invalid JSON. */
    refused("a bare 42", "42",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    refused("a bare true", "true",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    refused("a bare null", "null",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    /* json-c returns NULL for a parsed null, with no error: that is a
     * value, not invalid JSON. */
    refused("null and a newline", "null\n",
            "Request body must contain an event object or an array of event"
            " objects",
            NULL);
    refused("an array of strings", "[\"a/b\"]", "events[0]",
            "must be a JSON object", NULL);

    refused("events[1] without a name", "[{\"name\":\"a/b\"},{\"data\":{}}]",
            "events[1]", "\"name\" is required", NULL);
    refused("an empty name", "[{\"name\":\"a/b\"},{\"name\":\"\"}]",
            "events[1]", "non-empty string", NULL);
    refused("a numeric name", "[{\"name\":\"a/b\"},{\"name\":5}]", "events[1]",
            "must be a non-empty string", NULL);
    refused("a single object without a name", "{\"data\":{}}",
            "event:", "\"name\" is required", NULL);
    memset(big, 'x', sizeof(big));
    memcpy(big, "{\"name\":\"", 9);
    memcpy(big + 9 + 513, "\"}", 3);
    refused("a 513-byte name", big, "longer than 512 bytes", NULL);
    refused("a name with a NUL", "{\"name\":\"a\\u0000b\"}", "NUL", NULL);

    refused("inngest/function.failed", "{\"name\":\"inngest/function.failed\"}",
            "reserved", "inngest/function.failed", NULL);
    refused("INNGEST/x", "[{\"name\":\"a/b\"},{\"name\":\"INNGEST/x\"}]",
            "events[1]", "reserved", NULL);

    refused("data an array", "{\"name\":\"a/b\",\"data\":[1]}",
            "\"data\" must be an object", NULL);
    refused("data a string", "[{\"name\":\"a/b\",\"data\":\"x\"}]",
            "events[0] (a/b)", "\"data\" must be an object", NULL);
    refused("ts a string", "{\"name\":\"a/b\",\"ts\":\"1700000000000\"}",
            "\"ts\" must be an integer number of milliseconds", NULL);
    refused("ts with a fraction", "{\"name\":\"a/b\",\"ts\":1700000000000.5}",
            "\"ts\" must be an integer", NULL);
    refused("ts in seconds", "{\"name\":\"a/b\",\"ts\":5}",
            "outside 1980..2100", "milliseconds", NULL);
    refused("ts in seconds, realistic", "{\"name\":\"a/b\",\"ts\":1700000000}",
            "outside 1980..2100", NULL);
    refused("ts in microseconds", "{\"name\":\"a/b\",\"ts\":1700000000000000}",
            "outside 1980..2100", NULL);
    refused("negative ts", "{\"name\":\"a/b\",\"ts\":-1}", "outside 1980..2100",
            NULL);
    refused("id a number", "[{\"name\":\"a/b\"},{\"name\":\"a/c\",\"id\":7}]",
            "events[1]", "\"id\" must be a string", NULL);
}

static void
test_limits(void)
{
    size_t n = INGEST_MAX_EVENTS + 1, cap = n * 16 + 16, off = 0;
    char *body = malloc(cap);
    struct json_object *o;

    body[off++] = '[';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(body + off, cap - off, "%s{\"name\":\"a/b\"}",
                                i ? "," : "");
    body[off++] = ']';
    body[off] = '\0';
    o = parse(body);
    ok(o == NULL, "5001 events are refused");
    has_str(err, "too many events", "the error says too many events");
    has_str(err, "5000", "and names the limit");
    json_object_put(o);

    /* Exactly the limit is fine: drop the last event. */
    off = strlen(body) - strlen(",{\"name\":\"a/b\"}]");
    body[off++] = ']';
    body[off] = '\0';
    o = parse(body);
    is_int(len(o), INGEST_MAX_EVENTS, "5000 events are accepted");
    json_object_put(o);
    free(body);

    /* Nesting deep enough to blow a naive recursive parser: refused. */
    {
        char deep[1024];
        int d = 0;

        off = (size_t)snprintf(deep, sizeof(deep),
                               "{\"name\":\"a/b\","
                               "\"data\":");
        for (d = 0; d < 100; d++)
            deep[off++] = '[';
        for (d = 0; d < 100; d++)
            deep[off++] = ']';
        deep[off++] = '}';
        deep[off] = '\0';
        o = parse(deep);
        ok(o == NULL, "JSON nested 100 deep is refused");
        has_str(err, "not valid JSON", "as invalid JSON, with a reason");
        json_object_put(o);
    }

    /* The body need not be NUL-terminated: LEN bounds the read. */
    {
        const char *two = "{\"name\":\"a/b\"}GARBAGE";

        o = ingest_parse(two, 14, NOW, err, sizeof(err));
        ok(o != NULL && len(o) == 1, "only LEN bytes are read");
        json_object_put(o);
        o = ingest_parse("42}", 2, NOW, err, sizeof(err));
        ok(o == NULL, "a bare number ending at LEN is read as 42");
        has_str(err, "must contain an event object",
                "and refused as not an event");
        json_object_put(o);
    }

    /* UTF-8 is checked wherever a sequence starts, after ASCII runs of
     * every length (the check skips ASCII a word at a time). */
    {
        static const char *const bad[] = {"\xc0\xaf", "\xed\xa0\x80",
                                          "\xff", "\xf4\x90\x80\x80",
                                          "\xe2\x82"};
        static const char good[] =
            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
        int refused = 0, kept = 0, tries = 0;

        for (int pad = 0; pad < 20; pad++) {
            char text[128];

            for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
                snprintf(text, sizeof(text),
                         "{\"name\":\"a/b\",\"data\":"
                         "{\"s\":\"%.*s%s\"}}",
                         pad, "xxxxxxxxxxxxxxxxxxxx", bad[k]);
                o = parse(text);
                refused += o == NULL && strstr(err, "not UTF-8") != NULL;
                json_object_put(o);
                tries++;
            }
            snprintf(text, sizeof(text),
                     "{\"name\":\"a/b\",\"data\":{\"s\":\"%.*s%s\"}}",
                     pad, "xxxxxxxxxxxxxxxxxxxx", good);
            o = parse(text);
            kept += o != NULL;
            json_object_put(o);
        }
        is_int(refused, tries, "a bad sequence after any run of ASCII is"
                               " refused as not UTF-8");
        is_int(kept, 20, "and good ones after any run are kept");
    }

    /* A tiny error buffer is truncated, not overrun. */
    {
        char small[8];

        memset(small, 'z', sizeof(small));
        o = ingest_parse("[{}]", 4, NOW, small, sizeof(small));
        ok(o == NULL && memchr(small, '\0', sizeof(small)) != NULL,
           "a short error buffer still holds a terminated string");
    }
}

/* What json-c reads but would store changed, and the edges of the strict
 * reading that refuses it (json_check_strict()). */
static void
test_strict(void)
{
    static const char *const taken[] = {
        "{\"name\":\"a/b\",\"data\":{\"n\":18446744073709551615}}",
        "{\"name\":\"a/b\",\"data\":{\"n\":-9223372036854775808}}",
        "{\"name\":\"a/b\",\"data\":{\"n\":[0,-0,1.5e+3,2E-2,-0.0,1e300]}}",
        "{\"name\":\"a/b\",\"data\":{\"s\":\"\\ud83d\\ude00\\u00e9\\/\\b\"}}",
        "{\"name\":\"a/b\",\"data\":{\"s\":\"\xf0\x9f\x98\x80\","
        "\"e\":{},\"a\":[]}}",
        " [ {\"name\":\"a/b\"} , {\"name\":\"a/c\",\"data\":{\"t\":true,"
        "\"f\":false,\"z\":null}} ] \n",
    };
    struct json_object *o;

    for (size_t i = 0; i < sizeof(taken) / sizeof(*taken); i++) {
        o = parse(taken[i]);
        ok(o != NULL, "strict JSON is taken: %s", taken[i]);
        if (o == NULL)
            printf("# %s\n", err);
        json_object_put(o);
    }
    refused("2^64", "{\"name\":\"a/b\",\"data\":{\"n\":18446744073709551616}}",
            "integer beyond 64 bits", NULL);
    refused("-2^63 - 1",
            "{\"name\":\"a/b\",\"data\":{\"n\":-9223372036854775809}}",
            "integer beyond 64 bits", NULL);
    refused("a big integer in an array",
            "[{\"name\":\"a/b\",\"data\":{\"n\":[1,"
            "99999999999999999999999]}}]",
            "integer beyond 64 bits", "at byte 30", NULL);
    refused("a raw newline in a string", "{\"name\":\"a/b\",\"data\":"
            "{\"s\":\"a\nb\"}}", "control character", NULL);
    refused("a raw DEL is fine, a raw U+001F is not",
            "{\"name\":\"a\x7f/b\",\"data\":{\"s\":\"\x1f\"}}",
            "control character", NULL);
    refused("a lone high surrogate at the end",
            "{\"name\":\"a/b\",\"data\":{\"s\":\"x\\ud800\"}}",
            "lone surrogate", NULL);
    refused("a high surrogate before a non-surrogate",
            "{\"name\":\"a/b\",\"data\":{\"s\":\"\\ud800\\u0041\"}}",
            "lone surrogate", NULL);
    refused("two high surrogates",
            "{\"name\":\"a/b\",\"data\":{\"s\":\"\\udbff\\udbff\"}}",
            "lone surrogate", NULL);
    refused("a lone low surrogate", "{\"name\":\"a/b\",\"id\":\"\\udfff\"}",
            "lone surrogate", NULL);
}

/* The fast path against the tree: BODY's ingest_scan() either declines
 * (FAST 0 expects that) or gives exactly ingest_parse()'s events, each as
 * the text json_append() writes, with the same name, id and ts. */
static void
fast(const char *what, const char *body, int want_fast)
{
    struct json_object *tree;
    struct ingest_batch b;
    int got;

    err[0] = '\0';
    tree = ingest_parse(body, strlen(body), NOW, err, sizeof(err));
    got = ingest_scan(body, strlen(body), NOW, &b);
    is_int(got, want_fast, "fast path %s: %s", want_fast ? "takes" : "leaves",
           what);
    if (got && tree == NULL) {
        ok(0, "fast path took what the tree refuses (%s): %s", err, what);
    } else if (got) {
        int same = b.n == json_object_array_length(tree);

        for (size_t i = 0; same && i < b.n; i++) {
            struct json_object *ev = json_object_array_get_idx(tree, i);
            struct json_object *id = get(ev, "id");
            struct text_buf t = {0};

            json_append(&t, ev);
            text_append(&t, "", 1);
            if (strcmp(t.s, b.evs[i].json) != 0) {
                printf("#   tree: %s\n", t.s);
                printf("#   fast: %s\n", b.evs[i].json);
                same = 0;
            }
            same = same &&
                   strcmp(b.evs[i].name,
                          json_object_get_string(get(ev, "name"))) == 0 &&
                   b.evs[i].ts == json_object_get_int64(get(ev, "ts")) &&
                   ((id == NULL && b.evs[i].id == NULL) ||
                    (id != NULL && b.evs[i].id != NULL &&
                     strcmp(json_object_get_string(id), b.evs[i].id) == 0));
            free(t.s);
        }
        ok(same, "fast path writes what the tree does: %s", what);
    }
    ingest_batch_free(&b);
    json_object_put(tree);
}

/* A refused body leaves nothing behind for the next one: json-c's
 * tokener, reset, kept the high surrogate of a bad \u escape, and the
 * next body's \u escape gained a U+FFFD. */
static void
test_after_refusal(void)
{
    struct json_object *evs;

    ok(parse("{\"me\":\"y\\ud83d\\udeude00\"}") == NULL,
       "a broken surrogate pair is refused");
    evs = parse("{\"name\":\"a/b\",\"data\":{\"s\":\"x\\ud799y\"}}");
    is_str(json_object_get_string(get(get(json_object_array_get_idx(evs, 0),
                                          "data"), "s")),
           "x\xed\x9e\x99y", "the next body's \\u escape is read as sent");
    json_object_put(evs);
}

/* json-c 0.16 reads an escaped pair as U+FFFD when its code point's low
 * 16 bits look like a surrogate (U+1D800..U+1DFFF, U+2D800.., CJK
 * ideographs among them), which Python's json.dumps() escapes: both paths
 * store the character. */
static void
test_misread_pairs(void)
{
    struct json_object *evs, *d;

    evs = parse("{\"name\":\"a/b\",\"data\":{\"s\":\"x\\ud836\\ude00y\","
                "\"t\":\"\\ud876\\udc00\\ud83d\\ude00\\udbff\\udfff\","
                "\"u\":\"\\\\ud836\\\\ude00\"}}");
    d = get(json_object_array_get_idx(evs, 0), "data");
    is_str(json_object_get_string(get(d, "s")), "x\xf0\x9d\xa8\x80y",
           "U+1DA00 sent as \\ud836\\ude00 is stored as sent");
    is_str(json_object_get_string(get(d, "t")),
           "\xf0\xad\xa0\x80\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
           "U+2D800 beside pairs json-c reads well");
    is_str(json_object_get_string(get(d, "u")), "\\ud836\\ude00",
           "an escaped backslash before \"ud836\" is not an escape");
    json_object_put(evs);
    fast("a pair json-c 0.16 reads as U+FFFD",
         "{\"name\":\"a\\ud836\\ude00\",\"data\":{\"\\ud876\\udfff\":"
         "\"x\\ud836\\ude00\\\\ud836\"}}", 1);
    ok(parse("{\"name\":\"a\\ud836\\ude00\",\"x\":1,}") == NULL,
       "a body with such a pair is still refused when it is not JSON");
    ok(parse("\"\\ud836\\ude0") == NULL && parse("\"\\") == NULL,
       "a body that ends inside an escape is refused");
}

/* A member the fast path does not write is still read by json-c, which
 * counts a scalar inside the deepest container as a level: 64 levels of
 * it are refused there, though json_check_strict() takes them. */
static void
test_fast_deep(void)
{
    static const char *const members[] = {"x", "v", "user"};
    char body[256], *p;

    for (size_t m = 0; m < sizeof(members) / sizeof(members[0]); m++) {
        char what[64];

        p = body + sprintf(body, "{\"name\":\"a\",\"%s\":", members[m]);
        memset(p, '[', 63);
        p += 63;
        *p++ = '1';
        memset(p, ']', 63);
        p += 63;
        strcpy(p, "}");
        snprintf(what, sizeof(what), "64 levels in \"%s\", which it drops",
                 members[m]);
        ok(parse(body) == NULL, "the tree refuses %s", what);
        fast(what, body, 0);
    }
    p = body + sprintf(body, "[{\"name\":\"a\",\"x\":");
    memset(p, '[', 40);
    p += 40;
    memset(p, ']', 40);
    p += 40;
    strcpy(p, "}]");
    fast("42 levels, some in a member it drops", body, 1);
}

/* The body is not NUL-terminated (evbuffer_pullup()): both paths read
 * BODY placed right before a page that cannot be read, so a read past its
 * end faults here even without a sanitizer. */
static void
at_page_end(const char *what, const char *body)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = strlen(body);
    char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct json_object *tree;
    struct ingest_batch b;
    int got;

    if (m == MAP_FAILED || n > page || mprotect(m + page, page, PROT_NONE)) {
        ok(0, "a guard page for: %s", what);
        return;
    }
    memcpy(m + page - n, body, n);
    tree = ingest_parse(m + page - n, n, NOW, err, sizeof(err));
    got = ingest_scan(m + page - n, n, NOW, &b);
    ok(!got || tree != NULL, "read to its last byte and no further: %s",
       what);
    ingest_batch_free(&b);
    json_object_put(tree);
    munmap(m, 2 * page);
}

static void
test_body_end(void)
{
    static const char *const bodies[] = {
        "{\"name\":\"a\",\"data\":{\"x\":1}}",
        "[{\"name\":\"a\",\"data\":{\"x\":[1.5e3,true,null]}}]",
        "{\"name\":\"a\"} \n\t",
        "{\"name\":\"a\",\"ts\":17",
        "{\"name\":\"a\",\"data\":{\"x\":-",
        "{\"name\":\"a\",\"data\":{\"x\":1e",
        "{\"name\":\"a\",\"data\":{\"x\":tru",
        "{\"name\":\"a\",\"data\":{\"x\":\"abcdefghijklmnop",
        "{\"name\":\"a\",\"data\":{\"x\":\"abc\\",
        "{\"name\":\"a\",\"data\":{\"x\":\"\\ud83d\\ude0",
        "{\"name\":\"a\",\"data\":{\"x\":\"\\ud83d",
        "{\"name\":\"a\",\"data\":{\"x\":\"\xe2\x82",
        "[{\"name\":\"a\"}",
        "[{\"name\":\"a\"},",
        "{\"name\":\"a\",\"x\":[[[{\"y\":\"",
        "1",
        "-",
        "\"",
        "[",
    };

    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        char what[64];
        size_t k;

        /* TAP takes one line of text. */
        for (k = 0; bodies[i][k] != '\0' && k < sizeof(what) - 1; k++)
            what[k] = bodies[i][k] >= 0x20 && bodies[i][k] < 0x7f
                          ? bodies[i][k]
                          : '?';
        what[k] = '\0';
        at_page_end(what, bodies[i]);
    }
}

static void
test_fast(void)
{
    fast("the bench's Clerk event",
         "{\"name\": \"clerk/user.created\", \"data\": {\"id\": \"user_1\","
         " \"email_addresses\": [{\"email_address\": \"a@b.c\", \"n\": 1}],"
         " \"f\": 1.50, \"g\": -0, \"h\": [true, false, null, -1e-5],"
         " \"big\": 18446744073709551615, \"neg\": -9223372036854775808},"
         " \"ts\": 1700000000001, \"v\": \"2024-01-01.1\"}", 1);
    fast("an array, with ids, users and ignored members",
         "[{\"name\":\"a/b\",\"id\":\"x\",\"user\":{\"u\":1},\"other\":[1]},"
         " {\"name\":\"a/c\",\"id\":\"\",\"v\":5,\"user\":3,\"data\":null}]", 1);
    fast("escapes everywhere",
         "{\"name\":\"a\\/b\\u00e9\",\"id\":\"\\ud83d\\ude00\",\"data\":"
         "{\"k\\n\":\"\\\"q\\\\\\b\\f\\r\\t\\u0000\\u001f\\u20ac\",\"\\u0041\":\"\\/\"}}",
         1);
    fast("raw UTF-8 and DEL", "{\"name\":\"a/\xc3\xa9\x7f\",\"data\":"
         "{\"\xe2\x82\xac\":\"\xf0\x9f\x98\x80\"}}", 1);
    fast("whitespace of every kind", " \t\r\n[ {\n\"name\" : \"a/b\" ,"
         " \"data\" : { \"a\" : [ 1 , { } , [ ] ] } } ] \n", 1);
    fast("ts null and 0 mean now", "[{\"name\":\"a\",\"ts\":null},"
         "{\"name\":\"b\",\"ts\":0},{\"name\":\"c\",\"ts\":-0}]", 1);
    fast("same key in different objects",
         "{\"name\":\"a\",\"data\":{\"a\":{\"a\":1},\"b\":{\"a\":2}}}", 1);
    fast("many keys (the key set grows)",
         "{\"name\":\"a\",\"data\":{\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,"
         "\"k5\":5,\"k6\":6,\"k7\":7,\"k8\":8,\"k9\":9,\"k10\":10,\"k11\":11,"
         "\"k12\":12,\"k13\":13,\"k14\":14,\"k15\":15,\"k16\":16,\"k17\":17,"
         "\"k18\":18,\"k19\":19,\"k20\":20,\"k21\":21,\"k22\":22,\"k23\":23,"
         "\"k24\":24,\"k25\":25,\"k26\":26,\"k27\":27,\"k28\":28,\"k29\":29,"
         "\"k30\":30,\"k31\":31,\"k32\":32,\"k33\":33,\"k34\":34,\"k35\":35,"
         "\"k36\":36,\"k37\":37,\"k38\":38,\"k39\":39,\"k40\":40,\"k41\":41,"
         "\"k42\":42,\"k43\":43,\"k44\":44,\"k45\":45,\"k46\":46,\"k47\":47,"
         "\"k48\":48,\"k49\":49,\"k50\":50,\"k51\":51,\"k52\":52,\"k53\":53,"
         "\"k54\":54,\"k55\":55,\"k56\":56,\"k57\":57,\"k58\":58,\"k59\":59,"
         "\"k60\":60,\"k61\":61,\"k62\":62,\"k63\":63,\"k64\":64,\"k65\":65,"
         "\"k66\":66,\"k67\":67,\"k68\":68,\"k69\":69,\"k70\":70}}", 1);
    /* What it leaves to the tree: each either refused there, or taken in
     * a form one pass cannot write. */
    fast("a duplicate key in data", "{\"name\":\"a\",\"data\":{\"x\":1,"
         "\"y\":2,\"x\":3}}", 0);
    fast("a duplicate key spelled with an escape", "{\"name\":\"a\","
         "\"data\":{\"x\":1,\"\\u0078\":3}}", 0);
    fast("a duplicate name", "{\"name\":\"a\",\"name\":\"b\"}", 0);
    fast("data._inngest", "{\"name\":\"a\",\"data\":{\"_inngest\":1}}", 0);
    fast("a key with a NUL", "{\"name\":\"a\",\"data\":{\"a\\u0000b\":1}}",
         0);
    fast("a double ts", "{\"name\":\"a\",\"ts\":1700000000000.0}", 0);
    fast("a ts that is true", "{\"name\":\"a\",\"ts\":true}", 0);
    fast("a ts that is a string", "{\"name\":\"a\",\"ts\":\"1\"}", 0);
    fast("a ts out of range", "{\"name\":\"a\",\"ts\":5}", 0);
    fast("an infinite double", "{\"name\":\"a\",\"data\":{\"x\":1e400}}", 0);
    fast("an infinite double in a member it drops",
         "{\"name\":\"a\",\"xs\":[{\"y\":10e7713}]}", 0);
    fast("an infinite double in v", "{\"name\":\"a\",\"v\":-1e999}", 0);
    fast("a finite double in a member it drops",
         "{\"name\":\"a\",\"xs\":[{\"y\":1.5e3, \"z\": [true,false,null,\"\\\"]\"]}]}", 1);
    fast("no name", "{\"data\":{}}", 0);
    fast("an empty name", "{\"name\":\"\"}", 0);
    fast("a name with a NUL", "{\"name\":\"a\\u0000\"}", 0);
    fast("a reserved name", "{\"name\":\"Inngest/x\"}", 0);
    fast("data that is a list", "{\"name\":\"a\",\"data\":[]}", 0);
    fast("an id that is a number", "{\"name\":\"a\",\"id\":1}", 0);
    fast("an empty array", "[]", 0);
    fast("an array holding a number", "[{\"name\":\"a\"},1]", 0);
    fast("a string body", "\"a\"", 0);
    fast("not JSON", "{\"name\":\"a\",}", 0);
    fast("nothing", "  ", 0);
    test_fast_deep();
    test_body_end();
}

int
main(void)
{
    test_fast();
    test_misread_pairs();
    test_after_refusal();
    test_single();
    test_array();
    test_fields();
    test_errors();
    test_limits();
    test_strict();
    return done_testing();
}
