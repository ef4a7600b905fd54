/* shim_resume_file.c: save/load of the caller-owned resumption buffer. */
#include "client_shim/shim_resume_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client_shim/shim_reply.h"
#include "lh_file.h"

/* True when the buffer holds nothing (all zero). */
static int buffer_empty(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return 0;
	return 1;
}

/* Writes all of len bytes to fd. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Saves through a temporary file and rename, so a crash leaves no half file
 * (the saved session holds its master secret: owner-only). */
int shim_resume_file_save(shim_client_t *c, const char *path, json_t *fields, sl_error_t *err)
{
	char tmp[4096];
	int fd, ret = EIO;

	if (!c->configured || !c->rbuf)
		return shim_reply_err_set(err, EINVAL,
					  "no resumption buffer: configure with "
					  "resumption_buffer_size > 0 first");
	/* A fresh O_EXCL 0600 name: a link planted at PATH.tmp is never followed. */
	fd = lh_file_tmp_private(path, tmp, sizeof(tmp));
	if (fd < 0)
		return shim_reply_err_set(err, errno, "cannot write next to %s: %s", path,
					  strerror(errno));
	if (write_all(fd, c->rbuf, c->rbuf_size) || fsync(fd)) {
		ret = shim_reply_err_set(err, errno ? errno : EIO, "cannot write %s: %s", tmp,
					 strerror(errno));
		close(fd);
		goto err;
	}
	if (close(fd) || rename(tmp, path)) {
		ret = shim_reply_err_set(err, errno, "cannot save %s: %s", path, strerror(errno));
		goto err;
	}
	json_object_set_new(fields, "bytes", json_integer((json_int_t)c->rbuf_size));
	json_object_set_new(fields, "empty", json_boolean(buffer_empty(c->rbuf, c->rbuf_size)));
	return 0;
err:
	unlink(tmp);
	return ret;
}

/* Loads a saved buffer; a damaged one is the layer's to reject at connect. */
int shim_resume_file_load(shim_client_t *c, const char *path, json_t *fields, sl_error_t *err)
{
	FILE *f;
	size_t n;
	int extra;

	if (!c->configured || !c->rbuf)
		return shim_reply_err_set(err, EINVAL,
					  "no resumption buffer: configure with "
					  "resumption_buffer_size > 0 first");
	if (c->connected)
		return shim_reply_err_set(err, EISCONN, "connected: load before connect");
	f = fopen(path, "rb");
	if (!f)
		return shim_reply_err_set(err, errno, "cannot read %s: %s", path, strerror(errno));
	memset(c->rbuf, 0, c->rbuf_size);
	n = fread(c->rbuf, 1, c->rbuf_size, f);
	extra = fgetc(f);
	fclose(f);
	if (extra != EOF) {
		memset(c->rbuf, 0, c->rbuf_size);
		return shim_reply_err_set(err, EINVAL,
					  "%s is larger than the %zu-byte resumption buffer; "
					  "configure a larger resumption_buffer_size",
					  path, c->rbuf_size);
	}
	json_object_set_new(fields, "bytes", json_integer((json_int_t)n));
	json_object_set_new(fields, "empty", json_boolean(buffer_empty(c->rbuf, c->rbuf_size)));
	return 0;
}
