/* say.h - fixtures: one line appended to DIR/log, which a test reads.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FIXTURE_SAY_H
#define FIXTURE_SAY_H

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Appends LINE to DIR/log in one write, so that lines of several
 * workers never interleave. */
static inline void
say(const char *dir, const char *line)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof(path), "%s/log", dir);
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd >= 0) {
        (void)!write(fd, line, strlen(line));
        close(fd);
    }
}

#endif
