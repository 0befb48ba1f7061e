/* fnhost_check.h - the checks a plugin's descriptor must pass, one copy
 * shared by the host's loader and the SDK's test harness, so `make check`
 * refuses exactly what fnhost would refuse, in the same words.
 * SPDX-License-Identifier: Apache-2.0
 *
 * Internal to fnhost and its SDK: everything here is static and may change
 * between releases. */
#ifndef FNHOST_CHECK_H_
#define FNHOST_CHECK_H_

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fnhost.h"
#include "fnhost_duration.h"

/* The smallest descriptor a 1.x plugin can have: 1.0's. */
#define FH_PLUGIN_SIZE_1_0_ (offsetof(struct fh_plugin, spare) + 4 * sizeof(void *))

static int
fh_check_fail_(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fh_check_fail_(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int
fh_check_trigger_(const char *t, char *err, size_t errlen)
{
    size_t n = strlen(t);
    const char *star = strchr(t, '*');

    if (n == 0)
        return fh_check_fail_(err, errlen, "a trigger is empty");
    if (n > 255)
        return fh_check_fail_(err, errlen, "trigger \"%.40s...\" is longer than 255"
                                 " bytes", t);
    for (const char *p = t; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return fh_check_fail_(err, errlen, "trigger \"%s\" has a space or control"
                                     " character", t);
    if (star != NULL &&
        (star != t + n - 1 || n < 2 || (star[-1] != '/' && star[-1] != '.')))
        return fh_check_fail_(err, errlen, "trigger \"%s\": a wildcard may only end"
                                 " the name, right after '/' or '.'", t);
    return 0;
}

static int
fh_check_functions_(const struct fh_plugin *p, char *err, size_t errlen)
{
    const struct fh_function *f;

    for (f = p->functions; f->id != NULL || f->run != NULL; f++) {
        char why[256];
        int64_t ms;

        if (f->id == NULL || *f->id == '\0')
            return fh_check_fail_(err, errlen, "function %d has no id",
                        (int)(f - p->functions));
        if (strlen(f->id) > 128 || strchr(f->id, ' ') != NULL)
            return fh_check_fail_(err, errlen, "function \"%.40s\": an id is at most"
                                     " 128 characters, without spaces", f->id);
        if (f->run == NULL)
            return fh_check_fail_(err, errlen, "function \"%s\" has no handler", f->id);
        if (f->triggers == NULL || f->triggers[0] == NULL)
            return fh_check_fail_(err, errlen, "function \"%s\" has no trigger", f->id);
        for (const char *const *t = f->triggers; *t != NULL; t++) {
            if (t - f->triggers >= 10)
                return fh_check_fail_(err, errlen, "function \"%s\" has more than 10"
                                         " triggers", f->id);
            if (fh_check_trigger_(*t, why, sizeof(why)) != 0)
                return fh_check_fail_(err, errlen, "function \"%s\": %s", f->id, why);
        }
        if (f->retries < FH_RETRIES_NONE || f->retries > 20)
            return fh_check_fail_(err, errlen, "function \"%s\": retries %d is out of"
                                     " range (0..20, or FH_RETRIES_NONE)",
                        f->id, f->retries);
        if (f->timeout != NULL &&
            fh_duration_parse_(f->timeout, &ms, why, sizeof(why)) != 0)
            return fh_check_fail_(err, errlen, "function \"%s\": timeout: %s", f->id,
                        why);
        if (f->timeout != NULL && ms < 1)
            return fh_check_fail_(err, errlen, "function \"%s\": timeout: must be at"
                                     " least 1ms, got \"%s\"", f->id,
                        f->timeout);
        for (const struct fh_function *g = p->functions; g < f; g++)
            if (strcmp(g->id, f->id) == 0)
                return fh_check_fail_(err, errlen, "duplicate function id \"%s\"",
                            f->id);
    }
    return 0;
}

/* Checks descriptor P as fnhost does before loading a plugin, most basic
 * first: magic, ABI version, size, name, version, then every function.
 * Returns 0, or -1 with the reason in ERR. */
static int
fh_check_descriptor_(const struct fh_plugin *p, char *err, size_t errlen)
{
    if (p == NULL)
        return fh_check_fail_(err, errlen, "fh_plugin_entry() returned NULL");
    if (p->magic != FH_ABI_MAGIC)
        return fh_check_fail_(err, errlen, "bad magic 0x%08x: not an fnhost"
                                           " plugin descriptor", p->magic);
    if (p->abi_major != FH_ABI_MAJOR || p->abi_minor > FH_ABI_MINOR)
        return fh_check_fail_(err, errlen,
                              "built for ABI %u.%u, host has %u.%u%s",
                              p->abi_major, p->abi_minor, FH_ABI_MAJOR,
                              FH_ABI_MINOR,
                              p->abi_major > FH_ABI_MAJOR ||
                                      (p->abi_major == FH_ABI_MAJOR &&
                                       p->abi_minor > FH_ABI_MINOR)
                                  ? ": upgrade fnhost"
                                  : ": rebuild the plugin against this"
                                    " fnhost");
    if (p->size < FH_PLUGIN_SIZE_1_0_)
        return fh_check_fail_(err, errlen, "descriptor is %u bytes, smaller"
                                           " than ABI 1.0's %zu",
                              p->size, FH_PLUGIN_SIZE_1_0_);
    if (p->name == NULL || *p->name == '\0')
        return fh_check_fail_(err, errlen, "descriptor has no name");
    if (strlen(p->name) > 64 || strpbrk(p->name, " /[]") != NULL)
        return fh_check_fail_(err, errlen, "plugin name \"%.64s\" must be at"
                                           " most 64 characters without"
                                           " spaces, '/' or brackets",
                              p->name);
    if (p->version == NULL)
        return fh_check_fail_(err, errlen, "plugin %s has no version",
                              p->name);
    if (p->functions == NULL)
        return fh_check_fail_(err, errlen, "plugin %s has no function table",
                              p->name);
    return fh_check_functions_(p, err, errlen);
}

#endif
