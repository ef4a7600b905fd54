#ifndef LH_FILE_H
#define LH_FILE_H
#include <stddef.h>

/* Secret-bearing files (key logs, saved session state): owner-only, never
 * through a symbolic link, never another user's file. */

/* Opens path for writing (O_APPEND when append, else O_TRUNC), created 0600
 * with O_NOFOLLOW. An existing file must be a regular file owned by this
 * user; its mode is narrowed to 0600. Returns the fd, or -1 with why filled
 * in (errno set). */
int lh_file_open_private(const char *path, int append, char *why, size_t why_size);

/* Creates "<path>.tmp.XXXXXX" next to path (O_CREAT|O_EXCL, 0600, so no
 * planted file or link is ever followed) and writes its name into tmp.
 * Returns the fd or -1 with errno set. */
int lh_file_tmp_private(const char *path, char *tmp, size_t tmp_size);

/* Replaces path with len bytes of buf atomically, readable by the owner
 * only: a fresh private temporary file next to it (lh_file_tmp_private),
 * every byte written, fsync, rename; so a crash leaves either the old file
 * or the new one, never half of one. Returns 0, or -1 with why filled
 * (which step failed and errno's text) and the temporary file removed. */
int lh_file_replace_private(const char *path, const void *buf, size_t len, char *why,
			    size_t why_size);

/* Refuses a secret file's place when path (if it exists) is not a regular
 * file, or is owned by another user, or is writable by group or others, or
 * when its folder is owned by another user or writable by group or others.
 * Returns 0, or -1 with why naming the path at fault. */
int lh_file_check_private(const char *path, char *why, size_t why_size);

#endif
