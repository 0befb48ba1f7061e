/* backup.h - copies of the store: fnhost backup and fnhost restore.
 * SPDX-License-Identifier: Apache-2.0 */
#ifndef FNHOST_BACKUP_H
#define FNHOST_BACKUP_H

#include <stddef.h>
#include <stdint.h>

/* What a copy holds, read from it once it is made. */
struct backup_info {
    int64_t events, runs;
    int64_t live;  /* runs not ended: they go on from the copy */
    int64_t bytes; /* the copy's size */
};

/* Copies the store of STATE_DIR to FILE while a host may be serving it:
 * every commit made before the copy began is in it. FILE is replaced
 * only by a whole, checked copy. 0, or -1 with ERR. */
int backup_store(const char *state_dir, const char *file,
                 struct backup_info *info, char *err, size_t errlen);

/* Makes FILE (a backup) the store of STATE_DIR (created if missing),
 * which no host may be serving; the store it had is moved aside, its
 * new name in *ASIDE (new; NULL when it had none). FILE is checked
 * first: one that is not a whole fnhost store replaces nothing. 0, or
 * -1 with ERR. */
int restore_store(const char *state_dir, const char *file, char **aside,
                  struct backup_info *info, char *err, size_t errlen);

#endif
