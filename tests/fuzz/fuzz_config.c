/* fuzz_config.c - libFuzzer target for config files (config_load_file).
 * SPDX-License-Identifier: Apache-2.0
 *
 * The input is the file. On success every setting must be in the range
 * config_set enforces; on failure the error must name a line the file
 * has ("config PATH: line N: ..."). A last line without a newline is the
 * same line with one: adding it must change nothing. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const uint8_t *data, size_t size, const char *err)
{
    fprintf(stderr, "fuzz_config: %s\nerror: %s\nfile: %.*s\n", what, err,
            (int)size, (const char *)data);
    abort();
}

static void
check_loaded(const struct config *c, const uint8_t *data, size_t size)
{
    if (c->workers < 0 || c->workers > 256 || c->retries < 0 ||
        c->retries > 20 || c->timeout_ms < 1 || c->max_body < 1024 ||
        !(c->backoff_scale >= 0 && c->backoff_scale <= 1000) ||
        c->dedup_window_ms < 0)
        fail("a setting is out of range after a good load", data, size, "");
    for (size_t i = 0; i < c->nfunctions; i++) {
        const struct config_function *f = &c->functions[i];

        for (size_t k = 0; k < fnopt_count; k++) {
            const struct fnopt *o = &fnopt_table[k];
            double v = o->type == FNOPT_SCALE ? f->set.v[k].d
                                              : (double)f->set.v[k].i;

            if ((f->set.mask & (1u << k)) && !(v >= o->lo && v <= o->hi))
                fail("a function setting is out of range", data, size, "");
        }
    }
}

/* The line named in ERR after PATH, or -1. */
static long
err_line(const char *err, const char *path)
{
    const char *p;
    size_t n = strlen(path);

    if (strncmp(err, "config ", 7) != 0 || strncmp(err + 7, path, n) != 0)
        return -1;
    p = err + 7 + n;
    if (strncmp(p, ": line ", 7) != 0)
        return -1;
    return strtol(p + 7, NULL, 10);
}

/* Loads DATA, plus a newline if NEWLINE, from the memfd at PATH. */
static int
load(int fd, const char *path, const uint8_t *data, size_t size,
     int newline, char *err, size_t errlen)
{
    struct config c;
    int rc;

    if (ftruncate(fd, 0) != 0 ||
        (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size) ||
        (newline && pwrite(fd, "\n", 1, (off_t)size) != 1)) {
        perror("fuzz_config: writing the memfd");
        abort();
    }
    config_init(&c);
    err[0] = '\0';
    rc = config_load_file(&c, path, err, errlen);
    if (rc == 0)
        check_loaded(&c, data, size);
    config_free(&c);
    return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    char err[1024], err2[1024];
    long lines = 0, line;
    int rc;

    if (fd < 0) {
        fd = memfd_create("fuzz_config.ini", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (size > 0 && data[size - 1] != '\n')
        lines++;

    rc = load(fd, path, data, size, 0, err, sizeof(err));
    if (rc != 0 && strstr(err, "cannot read it") == NULL) {
        line = err_line(err, path);
        if (line < 1 || line > lines)
            fail("the error names a line the file does not have", data, size,
                 err);
    }
    if (size > 0 && data[size - 1] != '\n' &&
        (load(fd, path, data, size, 1, err2, sizeof(err2)) != rc ||
         strcmp(err, err2) != 0)) {
        fprintf(stderr, "fuzz_config: with a final newline: %s\n", err2);
        fail("a final newline changes the result", data, size, err);
    }
    return 0;
}
