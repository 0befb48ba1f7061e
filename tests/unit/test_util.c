/* test_util.c - unit tests for ULIDs, time formatting, files and backoff.
 * SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched.h"
#include "tap.h"
#include "util.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int
is_crockford(const char *s)
{
    for (; *s != '\0'; s++)
        if (strchr(crockford, *s) == NULL)
            return 0;
    return 1;
}

/* The millisecond time in a ULID's first 10 characters. */
static int64_t
ulid_ms(const char *id)
{
    int64_t t = 0;

    for (int i = 0; i < 10; i++)
        t = t * 32 + (strchr(crockford, id[i]) - crockford);
    return t;
}

static void
test_ulid(void)
{
    char id[ULID_LEN + 1], prev[ULID_LEN + 1];
    int64_t ms = 1700000000123LL, before, after;
    int sorted = 1, valid = 1, same_ms = 1;

    memset(id, '!', sizeof(id));
    ulid_new(id, ms);
    is_int(strlen(id), 26, "a ULID has 26 characters");
    ok(is_crockford(id), "of Crockford base32: %s", id);
    is_int(ulid_ms(id), ms, "its time part is the given ms");
    ok(id[0] <= '7', "the time fits ULID's 48 bits");

    /* Strictly increasing within one millisecond. */
    strcpy(prev, id);
    for (int i = 0; i < 1000; i++) {
        ulid_new(id, ms);
        if (strcmp(prev, id) >= 0)
            sorted = 0;
        if (strlen(id) != 26 || !is_crockford(id))
            valid = 0;
        if (ulid_ms(id) != ms)
            same_ms = 0;
        strcpy(prev, id);
    }
    ok(sorted, "1000 ULIDs in one ms sort strictly in creation order");
    ok(valid, "all well formed");
    ok(same_ms, "all carry that ms");

    /* And across milliseconds, with the clock. */
    sorted = 1;
    before = now_ms();
    ulid_new(prev, 0);
    for (int i = 0; i < 1000; i++) {
        ulid_new(id, 0);
        if (strcmp(prev, id) >= 0)
            sorted = 0;
        strcpy(prev, id);
    }
    after = now_ms();
    ok(sorted, "1000 ULIDs from the clock sort strictly in creation order");
    ok(ulid_ms(id) >= before && ulid_ms(id) <= after, "ms 0 means now");

    ulid_new(prev, ms + 1);
    ulid_new(id, ms + 2);
    ok(strcmp(prev, id) < 0, "a later ms sorts later");
    ok(strcmp(prev + 10, id + 10) != 0, "a new ms starts a new random part");
    ulid_new(id, 1);
    is_int(ulid_ms(id), 1, "ms 1 encodes as 1");
    ok(strncmp(id, "0000000001", 10) == 0, "as 0000000001...");
}

static void
test_time(void)
{
    char buf[32];

    time_format(0, buf, sizeof(buf));
    is_str(buf, "1970-01-01T00:00:00.000Z", "the epoch");
    time_format(1700000000123LL, buf, sizeof(buf));
    is_str(buf, "2023-11-14T22:13:20.123Z", "a time with milliseconds");
    time_format(951782400000LL, buf, sizeof(buf));
    is_str(buf, "2000-02-29T00:00:00.000Z", "a leap day");
    time_format(4102444799999LL, buf, sizeof(buf));
    is_str(buf, "2099-12-31T23:59:59.999Z", "the last ms before 2100");
    time_format(5, buf, sizeof(buf));
    is_str(buf, "1970-01-01T00:00:00.005Z", "milliseconds are zero-padded");
}

static void
test_files(void)
{
    char dir[] = "/tmp/fnhost-test-util-XXXXXX";
    char path[256], file[300];
    char *s;
    size_t len = 0;
    FILE *f;
    struct stat st;

    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    is_int(mkdir_p(path, 0700), 0, "mkdir_p makes nested folders");
    ok(stat(path, &st) == 0 && S_ISDIR(st.st_mode), "which exist");
    is_int(mkdir_p(path, 0700), 0, "and succeeds when they already exist");

    snprintf(file, sizeof(file), "%s/data.txt", path);
    f = fopen(file, "w");
    if (f != NULL) {
        for (int i = 0; i < 5000; i++)
            fputs("0123456789", f);
        fclose(f);
    }
    s = file_read(file, &len);
    is_int(len, 50000, "file_read reads a whole 50000-byte file");
    ok(s != NULL && strlen(s) == 50000 && s[49999] == '9',
       "NUL-terminated, with the last byte");
    free(s);

    snprintf(file, sizeof(file), "%s/missing", dir);
    errno = 0;
    s = file_read(file, NULL);
    ok(s == NULL && errno == ENOENT, "a missing file is NULL with ENOENT");

    snprintf(file, sizeof(file), "%s/a/b/c/data.txt/sub", dir);
    errno = 0;
    is_int(mkdir_p(file, 0700), -1, "mkdir_p under a file fails");
    is_int(errno, ENOTDIR, "with ENOTDIR");

    snprintf(file, sizeof(file), "%s/a/b/c/data.txt", dir);
    errno = 0;
    is_int(mkdir_p(file, 0700), -1, "mkdir_p of an existing file fails");
    is_int(errno, ENOTDIR, "with ENOTDIR, not as if it were a folder");

    is_int(rm_rf(dir), 0, "rm_rf removes the tree");
    ok(stat(dir, &st) != 0 && errno == ENOENT, "which is gone");
    is_int(rm_rf(dir), 0, "rm_rf of a missing path is fine");
}

static void
test_backoff(void)
{
    static const struct {
        unsigned attempt;
        int64_t ms;
    } want[] = {{0, 15000},
                {1, 30000},
                {2, 60000},
                {3, 120000},
                {4, 300000},
                {5, 600000},
                {6, 1200000},
                {7, 2400000},
                {8, 3600000},
                {9, 7200000},
                {10, 7200000},
                {30, 7200000},
                {4000000000u, 7200000}};

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        is_int(sched_backoff_ms(want[i].attempt), want[i].ms,
               "backoff after attempt %u is %lld ms", want[i].attempt,
               (long long)want[i].ms);
}

static void
test_path_absolute(void)
{
    char cwd[4096], want[4200], *p;

    if (getcwd(cwd, sizeof(cwd)) == NULL)
        cwd[0] = '\0';
    p = path_absolute("/var/lib/x/../y");
    is_str(p, "/var/lib/x/../y", "an absolute path is kept as it is");
    free(p);
    p = path_absolute("no-such-folder/sub");
    snprintf(want, sizeof(want), "%s/no-such-folder/sub", cwd);
    is_str(p, want, "a missing relative path is joined to the current one");
    free(p);
    p = path_absolute(".");
    is_str(p, cwd, "an existing one is resolved");
    free(p);
}

/* Whether json_append writes O as json-c prints it. */
static int
appends_as_json_c(struct json_object *o)
{
    struct text_buf b = {0};
    const char *want = json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
    int same;

    json_append(&b, o);
    same = b.len == strlen(want) && memcmp(b.s, want, b.len) == 0;
    if (!same)
        printf("# json-c: %s\n# json_append: %.*s\n", want, (int)b.len, b.s);
    free(b.s);
    return same;
}

/* The same for TEXT, parsed. */
static int
prints_as_json_c(const char *text)
{
    struct json_object *o = json_tokener_parse(text);
    int parsed = o != NULL || strcmp(text, "null") == 0;
    int same = parsed && appends_as_json_c(o);

    if (!parsed)
        printf("# cannot parse %s\n", text);
    json_object_put(o);
    return same;
}

/* The event text the store keeps is json_append's: it must be json-c's
 * byte for byte, whatever the JSON. */
static void
test_json_append(void)
{
    static const char *const cases[] = {
        "null", "true", "false", "0", "-1", "42",
        "9223372036854775807", "-9223372036854775808",
        "9223372036854775808", "18446744073709551615",
        "1.5", "-0.0", "1e400", "1.0E+2", "0.10", "\"\"",
        "\"a/b \\\\ \\\" \\b\\f\\n\\r\\t \\u0001\\u001f\\u007f\"",
        "\"caf\\u00e9 \xe2\x82\xac \\ud83d\\ude00 \\u0000 end\"",
        "[]", "{}", "[[],{},[null,1,\"x\"]]",
        "{\"a\":1,\"b\":[true,false,null],\"c\":{\"d\":{}}}",
        "{\"k/\\n\\\"\":\"v\",\"\":0,\"dup\":1,\"dup\":2}",
        ("{\"name\":\"clerk/user.created\",\"data\":{\"id\":\"user_29w\","
         "\"created_at\":1654012591514,\"n\":-3.25e-7,\"o\":[{\"x\":[]}]}}"),
    };
    int same = 0, n = (int)(sizeof(cases) / sizeof(cases[0]));
    struct json_object *o;

    for (int i = 0; i < n; i++)
        same += prints_as_json_c(cases[i]);
    is_int(same, n, "json_append prints what json-c prints");
    o = json_object_new_object();
    json_object_object_add(o, "u", json_object_new_uint64(7));
    json_object_object_add(o, "d", json_object_new_double(0.1));
    json_object_object_add(o, "s", json_object_new_string_len("a\0b", 3));
    ok(appends_as_json_c(o), "also values made in code, and a string"
                             " holding a NUL");
    json_object_put(o);
    {
        /* Escapes grow the text 6 to 1: many of them, past any room. */
        char *big = malloc(5001);

        for (int i = 0; i < 5000; i++)
            big[i] = "a\n\x01\"/"[i % 5];
        big[5000] = '\0';
        o = json_object_new_array();
        json_object_array_add(o, json_object_new_string(big));
        json_object_array_add(o, json_object_new_string(big + 4000));
        ok(appends_as_json_c(o), "strings of many escapes");
        json_object_put(o);
        free(big);
    }
    {
        /* Each byte that needs escaping (or nearly does) at each place of
         * a string read 8 bytes at a time, next to UTF-8. */
        static const char special[] = "\x01\x1f\"\\\n\x7f/ \x21\x5b\x5d\xff";
        int alike = 0, tries = 0;

        o = json_object_new_array();
        for (size_t k = 0; k < sizeof(special) - 1; k++) {
            for (int pos = 0; pos < 24; pos++) {
                char str[25];

                for (int i = 0; i < 24; i++)
                    str[i] = i % 7 == 3 ? '\xc3' : i % 7 == 4 ? '\xa9' : 'x';
                str[pos] = special[k];
                str[24] = '\0';
                json_object_array_put_idx(o, 0, json_object_new_string(str));
                alike += appends_as_json_c(o);
                tries++;
            }
        }
        is_int(alike, tries, "each special byte at each place");
        json_object_put(o);
    }
}

/* json_parse() reads U+1DA00 sent as an escaped pair as sent (json-c
 * 0.16 alone makes it U+FFFD), and the CLI's data files go through it. */
static void
test_json_parse_pairs(void)
{
    struct json_object *o = json_parse("[\"\\ud836\\ude00\",\"\\u00e9\"]");

    is_str(json_object_get_string(json_object_array_get_idx(o, 0)),
           "\xf0\x9d\xa8\x80", "json_parse: U+1DA00 as sent");
    is_str(json_object_get_string(json_object_array_get_idx(o, 1)),
           "\xc3\xa9", "json_parse: other escapes as before");
    json_object_put(o);
}

int
main(void)
{
    test_ulid();
    test_time();
    test_files();
    test_backoff();
    test_path_absolute();
    test_json_append();
    test_json_parse_pairs();
    return done_testing();
}
