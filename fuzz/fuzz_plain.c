/* libFuzzer target: the emulator's plain CoAP input path (the CoAP port,
 * no DTLS): emu_plain_dispatch -> header check, session lookup or creation
 * (per source address, capped), de-duplication, the bridge, libcoap, and
 * the LwM2M handlers behind it (Register query and CoRE links, Update,
 * De-register, Bootstrap-Request), answers sent back to a 127.0.0.0/8
 * address nobody serves. Nothing may crash, and the session bookkeeping
 * must hold: every session is a plain one, never more than the limit, and
 * closing them all leaves none. Input: [a][port:2] then datagrams as in
 * fz_emu_split, sent alternately from port and port + 1 (two peers). */
#include <stdlib.h>

#include "emu_plain.h"
#include "fz_emu.h"

static struct emu_server *g_srv;

struct from {
	uint8_t a;
	uint16_t port;
	int turns;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_srv = fz_emu_start(1, -1, NULL);
	return 0;
}

/* The sessions all plain, counted right, within the limit. */
static void check_books(void)
{
	if (g_srv->plain_sessions != g_srv->sessions.count ||
	    g_srv->plain_sessions > g_srv->cfg->coap_max_sessions)
		__builtin_trap();
}

/* One datagram from the current peer, then the loop's turns that carry it
 * through the bridge to libcoap and the answer back. */
static void feed(void *ctx, const uint8_t *buf, size_t len)
{
	struct from *f = ctx;
	struct sockaddr_storage ss;
	socklen_t sl = fz_emu_addr(f->a, (uint16_t)(f->port + (f->turns++ & 1)), &ss);
	emu_plain_dispatch(g_srv, buf, len, (struct sockaddr *)&ss, sl);
	check_books();
	fz_emu_pump(g_srv, 0);
	check_books();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct from f = {0};
	if (size < 3)
		return 0;
	f.a = data[0];
	f.port = (uint16_t)(data[1] << 8 | data[2]);
	fz_emu_split(data + 3, size - 3, feed, &f);
	fz_emu_close_all(g_srv);
	if (g_srv->plain_sessions != 0 || g_srv->sessions.count != 0)
		__builtin_trap();
	return 0;
}
