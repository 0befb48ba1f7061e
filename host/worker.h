/* worker.h - a worker process: loads one generation, runs invocations.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_WORKER_H
#define FNHOST_WORKER_H

/* The exit status of a worker that could not load every plugin of its
 * generation: it never says it is ready, so it is given no run, and the
 * master starts another in its place after a growing delay. */
#define WORKER_EXIT_LOAD 3

/* Serves the master, reading RFD and writing WFD, until it closes its
 * pipe. Returns the process exit status. */
int worker_main(int rfd, int wfd);

/* `fnhost describe FILE`: loads FILE, calls load() with the plugin config
 * read as JSON from standard input, writes the descriptor as JSON (or
 * {"error": ...}) to fd 3, the master's pipe, and returns the exit
 * status. Internal: the master runs it. */
int describe_main(const char *path);

#endif
