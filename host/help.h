/* help.h - the command line's tables and `fnhost help`, written from them.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_HELP_H
#define FNHOST_HELP_H

#include <stddef.h>
#include <stdio.h>

struct cli;

/* An option of the client commands (the settings' flags come from
 * config_settings). Its value goes to the const char * (or, without a
 * METAVAR, the int) at OFFSET in struct cli. */
struct cli_option {
    const char *name;    /* "url": --url */
    const char *metavar; /* "URL"; NULL: a switch */
    size_t offset;
    const char *help;
};

/* A command: one row is its name, its usage, its help and its handler
 * (tmux's cmd_entry). */
struct cmd_entry {
    const char *name;
    const char *usage;   /* after the name: "NAME --data JSON|@FILE" */
    const char *summary; /* one line, for fnhost help */
    const char *options; /* the options it reads, by option name or
                            setting key: "url state json"; "*": every
                            setting */
    int (*exec)(struct cli *c);
    int flags;
};

/* The command runs before options and settings are read, on the raw
 * arguments (help, version). */
#define CMD_RAW 0x1

/* The tables end with a row whose name is NULL. */

/* `fnhost help`: every command, setting, webhook key and option. */
void help_print_all(FILE *f, const struct cmd_entry *cmds,
                    const struct cli_option *opts);

/* `fnhost help CMD`: its usage, summary and the options it reads. */
void help_print_command(FILE *f, const struct cmd_entry *cmd,
                        const struct cli_option *opts);

/* The README's tables, to paste or compare: WHAT is "settings",
 * "webhook" or "commands". Returns 0, or -1 if WHAT is none of them. */
int help_print_markdown(FILE *f, const char *what,
                        const struct cmd_entry *cmds);

#endif
