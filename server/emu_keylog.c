#include "emu_keylog.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lh_event.h"
#include "lh_hex.h"

static FILE *g_keylog;

int emu_keylog_open(const char *path)
{
	g_keylog = fopen(path, "a");
	if (!g_keylog) {
		fprintf(stderr, "lwm2m-emulator: --keylog %s: %s\n", path, strerror(errno));
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
