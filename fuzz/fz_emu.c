/* The in-process emulator for the fuzz targets (see fz_emu.h). */
#include "fz_emu.h"
#include "emu_control.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "emu_linger.h"
#include "lh_event.h"
#include "lh_time.h"

static struct emu_config g_cfg;
static struct emu_server g_srv;

struct emu_server *fz_emu_start(int cookies, int cid_len, const char *control)
{
	char err[256];
	emu_config_defaults(&g_cfg);
	snprintf(g_cfg.bind, sizeof(g_cfg.bind), "127.0.0.1");
	g_cfg.coap_port = 0; /* fuzz_plain's way in; nobody else sends there */
	g_cfg.dtls_port = 0;
	g_cfg.cookies = cookies;
	g_cfg.cid_enabled = cid_len >= 0;
	g_cfg.cid_length = cid_len >= 0 ? cid_len : 8;
	g_cfg.control = control ? strdup(control) : NULL;
	/* FUZZ_EVENTS=1 shows the emulator's events (to read a crash). */
	lh_event_init(getenv("FUZZ_EVENTS") ? stderr : NULL, "emulator", NULL, NULL);
	if (emu_config_add_psk_text(&g_cfg, FZ_PSK_IDENTITY ":" FZ_PSK_HEX, err, sizeof(err)) < 0 ||
	    emu_config_finish(&g_cfg, err, sizeof(err)) < 0 ||
	    emu_server_init(&g_srv, &g_cfg) < 0) {
		fprintf(stderr, "fz_emu: the emulator does not start: %s\n", err);
		abort();
	}
	return &g_srv;
}

/* See fz_emu.h. */
void fz_emu_stop(struct emu_server *srv)
{
	emu_server_fini(srv);
	emu_config_free(&g_cfg);
}

/* The emulator's own loop step: first a wait for what the input caused, then
 * immediate turns while anything is still ready (bounded). */
void fz_emu_pump(struct emu_server *srv, int wait_ms)
{
	int n = emu_server_step(srv, wait_ms);
	for (int rounds = 0; n > 0 && rounds < 64; rounds++)
		n = emu_server_step(srv, 0);
	emu_control_sweep(srv);
}

void fz_emu_close_all(struct emu_server *srv)
{
	struct emu_session *s, *tmp;
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	{
		emu_session_close(s, "fuzz_reset");
	}
	/* TLS connections closed after an alert may linger: close them too. */
	emu_linger_close_all(srv);
}

socklen_t fz_emu_addr(uint8_t a, uint16_t port, struct sockaddr_storage *out)
{
	struct sockaddr_in *in = (struct sockaddr_in *)out;
	memset(out, 0, sizeof(*out));
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(0x7f000000u | (a ? a : 1u));
	in->sin_port = htons(port ? port : 9);
	return sizeof(*in);
}

void fz_emu_split(const uint8_t *data, size_t size, fz_dgram_fn fn, void *ctx)
{
	while (size >= 2) {
		size_t len = ((size_t)data[0] << 8) | data[1];
		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		uint8_t *copy = malloc(len ? len : 1);
		if (!copy)
			abort();
		memcpy(copy, data, len);
		fn(ctx, copy, len);
		free(copy);
		data += len;
		size -= len;
	}
}
