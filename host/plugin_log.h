/* plugin_log.h - what plugin code writes to stdout and stderr, as log
 * lines marked as the plugin's.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_PLUGIN_LOG_H
#define FNHOST_PLUGIN_LOG_H

/* In a process that runs plugin code: from now on what anything writes
 * to fds 1 and 2 comes out as "[plugin] NAME: line" log lines, and the
 * host's own lines go to the stderr it had. Returns -1 (and logs why)
 * if it cannot, and output then goes out unmarked, as before. */
int plugin_log_start(const char *name);

/* Which plugin the lines read from now on are said to come from. */
void plugin_log_set_plugin(const char *name);

/* Puts fds 1 and 2 back and writes what is left of the output (waiting
 * at most 2 s for processes the plugin started and left running). */
void plugin_log_stop(void);

#endif
