/* help.c - `fnhost help` and the README's tables, written from the tables
 * of commands, options and settings, so that the help cannot drift from
 * what the code accepts.
 * SPDX-License-Identifier: Apache-2.0 */
#include "help.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "util.h"

#define HELP_COL 28   /* where the explanations start */
#define HELP_WIDTH 79 /* and the column they do not pass */

/* Prints "  LEFT" and TEXT word-wrapped from HELP_COL; a LEFT too long to
 * leave room gets a line of its own. */
static void
wrap(FILE *f, const char *left, const char *text)
{
    size_t col = 2 + strlen(left);
    int first = 1;

    fprintf(f, "  %s", left);
    if (col > HELP_COL - 2) {
        fputc('\n', f);
        col = 0;
    }
    fprintf(f, "%*s", (int)(HELP_COL - col), "");
    col = HELP_COL;
    for (const char *p = text + strspn(text, " "); *p != '\0';) {
        size_t n = strcspn(p, " ");

        if (!first && col + 1 + n > HELP_WIDTH) {
            fprintf(f, "\n%*s", HELP_COL, "");
            col = HELP_COL;
        } else if (!first) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, n, f);
        col += n;
        first = 0;
        p += n;
        p += strspn(p, " ");
    }
    fputc('\n', f);
}

static const char *
setting_default(const struct config_setting *s)
{
    return s->def_doc ? s->def_doc : s->def ? s->def : "none";
}

static void
print_setting(FILE *f, const struct config_setting *s)
{
    char left[80], text[512];

    if (s->flag != NULL)
        snprintf(left, sizeof(left), "%s%s%s", s->flag,
                 s->metavar ? " " : "", s->metavar ? s->metavar : "");
    else
        snprintf(left, sizeof(left), "[server] %s", s->key);
    snprintf(text, sizeof(text), "%s (default: %s; %s)", s->help,
             setting_default(s), s->env);
    wrap(f, left, text);
}

static void
print_webhook_key(FILE *f, const struct config_setting *s)
{
    char text[512];

    if (s->flag != NULL)
        snprintf(text, sizeof(text), "%s (default: %s; also %s %s, %s)",
                 s->help, setting_default(s), s->flag, s->metavar, s->env);
    else
        snprintf(text, sizeof(text), "%s (default: %s)", s->help,
                 setting_default(s));
    wrap(f, s->key, text);
}

static void
print_option(FILE *f, const struct cli_option *o)
{
    char left[80];

    snprintf(left, sizeof(left), "--%s%s%s", o->name, o->metavar ? " " : "",
             o->metavar ? o->metavar : "");
    wrap(f, left, o->help);
}

static void
print_usage(FILE *f, const struct cmd_entry *c)
{
    char left[200];

    snprintf(left, sizeof(left), "%s%s%s", c->name, *c->usage ? " " : "",
             c->usage);
    wrap(f, left, c->summary);
}

static void
print_webhook_keys(FILE *f)
{
    fputs("\n[webhook NAME] keys of --config (a signed webhook source,"
          " POST /webhooks/NAME):\n", f);
    for (size_t i = 0; i < config_nwebhook_settings; i++)
        print_webhook_key(f, &config_webhook_settings[i]);
}

void
help_print_all(FILE *f, const struct cmd_entry *cmds,
               const struct cli_option *opts)
{
    fputs("usage: fnhost COMMAND [OPTIONS]   (fnhost help COMMAND: one"
          " command)\n\ncommands:\n", f);
    for (const struct cmd_entry *c = cmds; c->name != NULL; c++)
        print_usage(f, c);
    fputs("\nsettings: a flag, an FNHOST_* variable or a [server] key of"
          " --config\n(flags win over the environment, which wins over the"
          " file):\n", f);
    for (size_t i = 0; i < config_nsettings; i++)
        print_setting(f, &config_settings[i]);
    print_webhook_keys(f);
    fputs("\noptions of the client commands:\n", f);
    for (const struct cli_option *o = opts; o->name != NULL; o++)
        print_option(f, o);
}

void
help_print_command(FILE *f, const struct cmd_entry *cmd,
                   const struct cli_option *opts)
{
    char *names = xstrdup(cmd->options), *save = NULL;
    int webhook_keys = 0, header = 0;

    fprintf(f, "usage: fnhost %s%s%s\n", cmd->name, *cmd->usage ? " " : "",
            cmd->usage);
    wrap(f, "", cmd->summary);
    for (char *t = strtok_r(names, " ", &save); t != NULL;
         t = strtok_r(NULL, " ", &save)) {
        const struct config_setting *s = config_setting_find(t);
        const struct cli_option *o = opts;

        if (!header) {
            fputs("\noptions:\n", f);
            header = 1;
        }
        while (o->name != NULL && strcmp(o->name, t) != 0)
            o++;
        if (strcmp(t, "*") == 0) {
            for (size_t i = 0; i < config_nsettings; i++)
                print_setting(f, &config_settings[i]);
        } else if (strcmp(t, "webhook-keys") == 0) {
            webhook_keys = 1;
        } else if (o->name != NULL) {
            print_option(f, o);
        } else if (s != NULL) {
            print_setting(f, s);
        }
    }
    free(names);
    if (webhook_keys)
        print_webhook_keys(f);
}

/* Writes TEXT for a markdown table cell: '|' would end the cell. */
static void
md_cell(FILE *f, const char *text, int code)
{
    fputs(code ? " `" : " ", f);
    for (const char *p = text; *p != '\0'; p++) {
        if (*p == '|')
            fputc('\\', f);
        fputc(*p, f);
    }
    fputs(code ? "` |" : " |", f);
}

int
help_print_markdown(FILE *f, const char *what, const struct cmd_entry *cmds)
{
    char buf[200];

    if (strcmp(what, "settings") == 0) {
        fputs("| setting (`[server]` key) | flag | environment | default |"
              " meaning |\n|---|---|---|---|---|\n", f);
        for (size_t i = 0; i < config_nsettings; i++) {
            const struct config_setting *s = &config_settings[i];

            snprintf(buf, sizeof(buf), "%s%s%s", s->flag ? s->flag : "",
                     s->metavar ? " " : "", s->metavar ? s->metavar : "");
            fputc('|', f);
            md_cell(f, s->key, 1);
            md_cell(f, s->flag ? buf : "—", s->flag != NULL);
            md_cell(f, s->env ? s->env : "—", s->env != NULL);
            md_cell(f, setting_default(s), s->def_doc == NULL);
            md_cell(f, s->help, 0);
            fputc('\n', f);
        }
    } else if (strcmp(what, "webhook") == 0) {
        fputs("| key | meaning | default |\n|---|---|---|\n", f);
        for (size_t i = 0; i < config_nwebhook_settings; i++) {
            const struct config_setting *s = &config_webhook_settings[i];

            fputc('|', f);
            md_cell(f, s->key, 1);
            md_cell(f, s->help, 0);
            if (s->flag != NULL) {
                snprintf(buf, sizeof(buf), "%s; also `%s %s` or `%s`",
                         setting_default(s), s->flag, s->metavar, s->env);
                md_cell(f, buf, 0);
            } else {
                md_cell(f, setting_default(s), s->def_doc == NULL);
            }
            fputc('\n', f);
        }
    } else if (strcmp(what, "commands") == 0) {
        fputs("| command | what it does |\n|---|---|\n", f);
        for (const struct cmd_entry *c = cmds; c->name != NULL; c++) {
            snprintf(buf, sizeof(buf), "fnhost %s%s%s", c->name,
                     *c->usage ? " " : "", c->usage);
            fputc('|', f);
            md_cell(f, buf, 1);
            md_cell(f, c->summary, 0);
            fputc('\n', f);
        }
    } else {
        return -1;
    }
    return 0;
}
