#include "lh_file.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A secret file must be ours and a plain file, whatever was there before. */
static int check_fd(int fd, const char *path, char *why, size_t why_size)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		snprintf(why, why_size, "%s: %s", path,
			 S_ISREG(st.st_mode) ? "owned by another user" : "not a regular file");
		errno = EPERM;
		return -1;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		snprintf(why, why_size, "%s: cannot make it private: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int lh_file_open_private(const char *path, int append, char *why, size_t why_size)
{
	int flags = O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
	int fd = open(path, flags | O_NONBLOCK, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(why, why_size, "%s: %s", path,
			 e == ELOOP ? "is a symbolic link (refused for a secret file)"
				    : strerror(e));
		errno = e;
		return -1;
	}
	if (check_fd(fd, path, why, why_size) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	/* O_NONBLOCK only kept a FIFO from blocking the open; writes block. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int lh_file_tmp_private(const char *path, char *tmp, size_t tmp_size)
{
	if (snprintf(tmp, tmp_size, "%s.tmp.XXXXXX", path) >= (int)tmp_size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkostemp(tmp, O_CLOEXEC);
}

/* One path (the file with lstat, the folder with stat) against the rules. */
static int check_one(const char *path, int is_dir, char *why, size_t why_size)
{
	struct stat st;
	const char *what = NULL;
	if ((is_dir ? stat(path, &st) : lstat(path, &st)) < 0) {
		if (errno == ENOENT && !is_dir)
			return 0;
		snprintf(why, why_size, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (is_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		what = is_dir ? "is not a folder" : "is not a regular file (a link or other)";
	else if (st.st_uid != geteuid())
		what = "is owned by another user";
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		what = "is writable by group or others";
	if (!what)
		return 0;
	snprintf(why, why_size, "%s%s %s", is_dir ? "folder " : "", path, what);
	return -1;
}

int lh_file_check_private(const char *path, char *why, size_t why_size)
{
	char *copy = strdup(path);
	int ret = -1;
	if (!copy) {
		snprintf(why, why_size, "%s: out of memory", path);
		return -1;
	}
	if (check_one(dirname(copy), 1, why, why_size) == 0 &&
	    check_one(path, 0, why, why_size) == 0)
		ret = 0;
	free(copy);
	return ret;
}

/* Writes all of buf to fd; 0, or -1 with errno set. */
static int write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? (errno = EIO, -1) : -1;
		off += (size_t)n;
	}
	return 0;
}

int lh_file_replace_private(const char *path, const void *buf, size_t len, char *why,
			    size_t why_size)
{
	char tmp[4200];
	int ret = -1;
	int fd = lh_file_tmp_private(path, tmp, sizeof(tmp));
	if (fd < 0) {
		snprintf(why, why_size, "cannot create a temporary file next to it: %s",
			 strerror(errno));
		return -1;
	}
	if (write_all(fd, buf, len) == 0 && fsync(fd) == 0)
		ret = 0;
	else
		snprintf(why, why_size, "write/fsync: %s", strerror(errno));
	close(fd);
	if (ret == 0 && rename(tmp, path) != 0) {
		snprintf(why, why_size, "rename: %s", strerror(errno));
		ret = -1;
	}
	if (ret != 0)
		unlink(tmp);
	return ret;
}
