/* plugin_log.c - what plugin code writes to stdout and stderr, as log
 * lines marked as the plugin's.
 * SPDX-License-Identifier: Apache-2.0
 *
 * In a worker or a describe process, fds 1 and 2 become a pipe that a
 * thread reads: each line a plugin prints becomes "[plugin] NAME: text",
 * escaped like any log line, so no plugin can write a line that passes
 * for the host's. A thread because a plugin prints while it runs, on the
 * one thread the process has: nobody else could empty the pipe, and a
 * full pipe would block the plugin. */
#include "plugin_log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#endif

#include "log.h"

/* Longer lines are cut into pieces of this size, each a line. */
#define PIECE 1024

/* The plugin whose output follows, as the stream itself says: a NUL, the
 * name and a newline, written where the worker switches plugins, so every
 * line is named by what ran when it was written, not when it was read. A
 * plugin can write one too, but it could as well write to the host's own
 * fds: the marking is against lines that pass for the host's, not
 * against a plugin lying on purpose. */
#define MARK '\0'

static char first_name[128] = "?";
/* The name the stream last said (the worker's thread only). */
static char current[128];
static pthread_t reader;
static int running;
static int saved_out = -1, saved_err = -1;

void
plugin_log_set_plugin(const char *name)
{
    char mark[160];
    int n;

    if (!running)
        return;
    /* What stdio holds was written before the switch. */
    fflush(stdout);
    fflush(stderr);
    /* Only a switch is marked: a marker per invocation cost a write and
     * a wake of the reader each, about a tenth of the 3-step runs a
     * second. A line a plugin leaves unfinished is ended by the next
     * switch, or at the stop. */
    if (strncmp(current, name, sizeof(current) - 1) == 0)
        return;
    snprintf(current, sizeof(current), "%s", name);
    n = snprintf(mark, sizeof(mark), "%c%.120s\n", MARK, name);
    (void)!write(STDERR_FILENO, mark, (size_t)n);
}

static void
emit(const char *name, const char *s, size_t n)
{
    log_context(NULL, NULL, name, -1, NULL);
    log_info("plugin", "%s: %.*s", name, (int)n, s);
}

static void *
reader_main(void *arg)
{
    int fd = (int)(long)arg;
    char buf[PIECE], name[128];
    size_t len = 0;
    ssize_t n;

    memcpy(name, first_name, sizeof(name));
    for (;;) {
        n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        for (;;) {
            char *nl = memchr(buf, '\n', len), *mark = memchr(buf, MARK, len);
            size_t end;

            if (mark != NULL && (nl == NULL || mark < nl)) {
                /* The line so far is the last of the plugin before. */
                if (mark > buf)
                    emit(name, buf, (size_t)(mark - buf));
                memmove(buf, mark, len - (size_t)(mark - buf));
                len -= (size_t)(mark - buf);
                nl = memchr(buf, '\n', len);
                if (nl == NULL)
                    break; /* the rest of the name is on its way */
                end = (size_t)(nl - buf);
                snprintf(name, sizeof(name), "%.*s", (int)end - 1, buf + 1);
            } else if (nl != NULL) {
                end = (size_t)(nl - buf);
                emit(name, buf, end);
            } else {
                break;
            }
            memmove(buf, buf + end + 1, len - end - 1);
            len -= end + 1;
        }
        if (len == sizeof(buf)) {
            emit(name, buf, len);
            len = 0;
        }
    }
    if (len > 0)
        emit(name, buf, len);
    close(fd);
    return NULL;
}

int
plugin_log_start(const char *name)
{
    int p[2];

    snprintf(first_name, sizeof(first_name), "%s", name);
    snprintf(current, sizeof(current), "%s", name);
    saved_out = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    saved_err = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
    if (saved_err < 0 || pipe2(p, O_CLOEXEC) != 0) {
        log_warn("plugin", "plugin output goes out unmarked: %s",
                 strerror(errno));
        return -1;
    }
    /* The host's own lines, and the sanitizers' reports, go where they
     * went: a report written into the pipe would die with the process. */
    log_set_fd(saved_err);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_report_fd((void *)(long)saved_err);
#endif
    if (pthread_create(&reader, NULL, reader_main, (void *)(long)p[0]) != 0) {
        log_warn("plugin", "plugin output goes out unmarked: no thread");
        close(p[0]);
        close(p[1]);
        return -1;
    }
    running = 1;
    dup2(p[1], STDOUT_FILENO);
    dup2(p[1], STDERR_FILENO);
    close(p[1]);
    return 0;
}

void
plugin_log_stop(void)
{
    struct timespec until;

    if (!running)
        return;
    running = 0;
    fflush(stdout);
    fflush(stderr);
    /* Our ends closed, the reader sees the end of what was written; a
     * process the plugin started may still hold one, so the wait is
     * bounded. */
    dup2(saved_out >= 0 ? saved_out : saved_err, STDOUT_FILENO);
    dup2(saved_err, STDERR_FILENO);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    if (pthread_timedjoin_np(reader, NULL, &until) != 0)
        pthread_detach(reader);
    log_set_fd(STDERR_FILENO);
#if defined(__SANITIZE_ADDRESS__)
    __sanitizer_set_report_fd((void *)(long)STDERR_FILENO);
#endif
    if (saved_out >= 0)
        close(saved_out);
    close(saved_err);
    saved_out = saved_err = -1;
}
