#include "emu_keylog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lh_event.h"
#include "lh_file.h"
#include "lh_hex.h"

static FILE *g_keylog;

/* Opens the NSS key log (appending) that --keylog names. */
int emu_keylog_open(const char *path)
{
	char why[512];
	/* Session secrets: owner-only, never through a planted link. */
	int fd = lh_file_open_private(path, 1, why, sizeof(why));
	g_keylog = fd >= 0 ? fdopen(fd, "a") : NULL;
	if (!g_keylog) {
		fprintf(stderr, "lwm2m-emulator: --keylog %s\n", fd >= 0 ? strerror(errno) : why);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	fprintf(stderr,
		"\n"
		"*** WARNING: --keylog is on: every TLS secret is written to %s.\n"
		"*** Anyone with that file can decrypt all captured traffic.\n"
		"*** Use it for debugging only, never with real devices' keys.\n\n",
		path);
	lh_event_emitf("keylog_enabled", "{s:s}", "path", path);
	return 0;
}

void emu_keylog_close(void)
{
	if (g_keylog)
		fclose(g_keylog);
	g_keylog = NULL;
}

void emu_keylog_write(const unsigned char client_random[32], const unsigned char *secret,
		      size_t secret_len)
{
	char cr[65], ms[2 * 48 + 1];
	if (!g_keylog || secret_len != 48)
		return;
	lh_hex_encode(client_random, 32, cr);
	lh_hex_encode(secret, secret_len, ms);
	fprintf(g_keylog, "CLIENT_RANDOM %s %s\n", cr, ms);
	fflush(g_keylog);
}
