/* proc_peek.c - test plugin: what a plugin can read of the host's secrets.
 * SPDX-License-Identifier: Apache-2.0
 *
 * A worker runs plugin code as the host's user, so it may read its parent
 * (the master) through /proc. The handler reads /proc/<parent>/environ,
 * /proc/<parent>/cmdline and its own /proc/self/environ, and outputs, for
 * each, how many bytes it read and which of the event's "needles" it
 * found (by index: the output itself must not repeat a secret), so a
 * test can tell "read and not found" from "could not read". Its load()
 * logs whether it sees FNHOST_API_KEY.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fnhost.h>

/* The whole of PATH (NUL bytes and all) in *BUF, its length in *LEN. */
static int
slurp(const char *path, char **buf, size_t *len)
{
    size_t cap = 65536;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *len = 0;
    *buf = NULL;
    if (fd < 0)
        return -1;
    *buf = malloc(cap);
    while (*buf != NULL && (r = read(fd, *buf + *len, cap - *len)) > 0) {
        *len += (size_t)r;
        if (*len == cap)
            *buf = realloc(*buf, cap *= 2);
    }
    close(fd);
    return *buf != NULL ? 0 : -1;
}

static int
contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);

    for (size_t i = 0; k > 0 && i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0)
            return 1;
    return 0;
}

/* {"bytes": N, "found": [indexes of NEEDLES in the file at PATH]} */
static struct json_object *
peek(const char *path, struct json_object *needles)
{
    struct json_object *o = json_object_new_object();
    struct json_object *found = json_object_new_array();
    char *buf;
    size_t len;

    if (slurp(path, &buf, &len) == 0) {
        for (size_t i = 0; i < json_object_array_length(needles); i++)
            if (contains(buf, len, json_object_get_string(
                                       json_object_array_get_idx(needles,
                                                                 i))))
                json_object_array_add(found, json_object_new_int((int)i));
    }
    free(buf);
    json_object_object_add(o, "bytes", json_object_new_int64((int64_t)len));
    json_object_object_add(o, "found", found);
    return o;
}

static int
proc_peek(struct fh_ctx *ctx, const struct fh_event *ev)
{
    struct json_object *needles = NULL, *out = json_object_new_object();
    char path[64];

    if (!json_object_object_get_ex(fh_event_data(ev), "needles", &needles) ||
        !json_object_is_type(needles, json_type_array)) {
        json_object_put(out);
        return fh_fail(ctx, FH_NO_RETRY, "data.needles must be an array");
    }
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
    json_object_object_add(out, "parent_environ", peek(path, needles));
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)getppid());
    json_object_object_add(out, "parent_cmdline", peek(path, needles));
    json_object_object_add(out, "own_environ",
                           peek("/proc/self/environ", needles));
    return fh_set_output(ctx, out);
}

/* Says whether load() sees a secret variable: `fnhost check` runs it in
 * a child that inherits the CLI's environment. */
static int
proc_peek_load(struct fh_ctx *ctx)
{
    fh_log(ctx, FH_LOG_INFO, "load() sees FNHOST_API_KEY: %s",
           getenv("FNHOST_API_KEY") != NULL ? "yes" : "no");
    return FH_OK;
}

static const struct fh_function functions[] = {
    {.id = "proc-peek", .triggers = FH_EVENTS("test/proc-peek"),
     .run = proc_peek},
    FH_FUNCTIONS_END};

FH_PLUGIN(.name = "proc-peek", .version = "1.0.0", .functions = functions,
          .load = proc_peek_load);
