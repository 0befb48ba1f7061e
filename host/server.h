/* server.h - `fnhost serve`: wires the store, plugins, workers and HTTP.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_SERVER_H
#define FNHOST_SERVER_H

struct config;

/* Runs the daemon until SIGTERM or SIGINT. Returns the exit status. */
int server_main(struct config *cfg);

/* The plugin folder to use: the configured one, else ./plugins if it has
 * any .so, else the plugins folder next to this binary (build/plugins in
 * a checkout). New string. */
char *server_plugins_dir(const struct config *cfg);

#endif
