/* newplugin.h - `fnhost new-plugin NAME`: a ready-to-build plugin folder.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_NEWPLUGIN_H
#define FNHOST_NEWPLUGIN_H

/* Writes DIR (a new folder) with NAME.c, Makefile, test_NAME.c,
 * event.json and README.md. Returns the exit status, after printing what
 * was written or why not. */
int newplugin_main(const char *name, const char *dir);

#endif
