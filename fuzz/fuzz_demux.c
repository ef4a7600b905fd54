/* libFuzzer target: the emulator's datagram input path before any session
 * exists, with cookies on and an 8-byte CID, as deployed by default plus
 * CID: emu_demux_dispatch -> CID lookup (tls12_cid records), address
 * lookup, record parsing, ClientHello and cookie check, HelloVerifyRequest
 * (sent to a 127.0.0.0/8 address that nobody serves). Nothing may crash and
 * no session may ever be created, whatever arrives: the cookie cannot be
 * forged. Input: [a][port:2] then datagrams as in fz_emu_split. */
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
	g_srv = fz_emu_start(1, 8, NULL);
	return 0;
}

/* One datagram into the demux, as emu_demux_readable hands it on. */
static void feed(void *ctx, const uint8_t *buf, size_t len)
{
	struct from *f = ctx;
	emu_demux_dispatch(g_srv, buf, len, (struct sockaddr *)&f->ss, f->len);
	if (g_srv->sessions.count != 0)
		__builtin_trap(); /* per-peer state before a verified cookie */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct from f;
	if (size < 3)
		return 0;
	f.len = fz_emu_addr(data[0], (uint16_t)(data[1] << 8 | data[2]), &f.ss);
	fz_emu_split(data + 3, size - 3, feed, &f);
	return 0;
}
