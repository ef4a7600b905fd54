/* libFuzzer target: the emulator's handshake path once a session exists.
 * Cookies are off here, so the first ClientHello from an address creates a
 * session at once (the fuzzer cannot forge a cookie) and every later
 * datagram of the input reaches that session's Mbed TLS handshake through
 * the demux: ClientHello extensions (CID, SNI, tickets), key exchange,
 * alerts, retransmissions, the 3x amplification limit, CID records during
 * the handshake. Sessions are closed after each input. Input: [a][port:2]
 * then datagrams as in fz_emu_split. */
#include <stdlib.h>

#include "fz_emu.h"
#include "emu_demux.h"

static struct emu_server *g_srv;

struct from {
	struct sockaddr_storage ss;
	socklen_t len;
};

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	g_srv = fz_emu_start(0, 4, NULL);
	return 0;
}

/* One datagram into the demux, then whatever it caused (bridge, timers). */
static void feed(void *ctx, const uint8_t *buf, size_t len)
{
	struct from *f = ctx;
	emu_demux_dispatch(g_srv, buf, len, (struct sockaddr *)&f->ss, f->len);
	fz_emu_pump(g_srv, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct from f;
	if (size < 3)
		return 0;
	f.len = fz_emu_addr(data[0], (uint16_t)(data[1] << 8 | data[2]), &f.ss);
	fz_emu_split(data + 3, size - 3, feed, &f);
	fz_emu_close_all(g_srv);
	return 0;
}
