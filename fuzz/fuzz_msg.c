/* libFuzzer target: the emulator's CoAP message layer (emu_msg.c) and its
 * request layer (emu_request.c) on a plain CoAP session: de-duplication,
 * Block1 reassembly, responses matched to the emulator's own requests by
 * token and message id (piggybacked, separate, empty ACK, Reset), Observe
 * notifications, Block2 continuation, NSTART queueing. Each input starts
 * with a real Register of endpoint "fz" from 127.0.0.9; then each datagram
 * (fz_emu_split) has one directive byte: bit 3 first issues a server
 * request (bits 4-5: read, observe, cancel of the last observe, write);
 * bit 0 writes the token of live request (bits 1-2) into the message when
 * its token is 8 bytes, so the fuzzer reaches the matching code. Nothing may
 * crash, and the pending count never exceeds what was issued (plus one
 * Bootstrap-Finish per datagram, the default bootstrap config). */
#include <stdlib.h>
#include <string.h>

#include "emu_plain.h"
#include "emu_request.h"
#include "fz_emu.h"
#include "lh_hex.h"

static struct emu_server *g_srv;

struct fz_state {
	uint8_t tokens[4][8];
	int ntok;
	json_int_t last_observe;
	size_t issued;
	size_t datagrams; /* each may be a Bootstrap-Request: one Finish more */
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

/* Sends one datagram from the device's address and runs the loop. */
static void from_device(const uint8_t *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = fz_emu_addr(9, 5683, &ss);
	emu_plain_dispatch(g_srv, buf, len, (struct sockaddr *)&ss, sl);
	fz_emu_pump(g_srv, 0);
}

/* Registers "fz" with a well-formed request. */
static void register_device(void)
{
	static const uint8_t reg[] = {0x41, 0x02, 0x12, 0x34, 0x01, 0xb2, 'r', 'd', 0x4b, 'e',
				      'p',  '=',  'f',	'z',  '&',  'l',  't', '=', '6',  '0',
				      '0',  0xff, '<',	'/',  '3',  '/',  '0', '>'};
	from_device(reg, sizeof(reg));
}

/* Issues a server request as the directive says; keeps its token. */
static void issue(struct fz_state *st, uint8_t d)
{
	static const char *const methods[] = {"read", "observe", "cancel", "write"};
	char err[256];
	const char *m = methods[(d >> 4) & 3];
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "endpoint", "fz", "method", m, "path",
				"/3/0", "payload", "x");
	if (!strcmp(m, "cancel"))
		json_object_set_new(req, "request", json_integer(st->last_observe));
	json_t *r = emu_request_send(g_srv, req, err, sizeof(err));
	const char *tok = json_string_value(json_object_get(r, "token"));
	if (tok && lh_hex_decode(tok, st->tokens[st->ntok % 4], 8) == 8) {
		st->ntok++;
		st->issued++;
		if (!strcmp(m, "observe"))
			st->last_observe = json_integer_value(json_object_get(r, "request"));
	}
	json_decref(r);
	json_decref(req);
}

static void feed(void *ctx, const uint8_t *buf, size_t len)
{
	struct fz_state *st = ctx;
	if (len < 1)
		return;
	uint8_t d = buf[0], *msg = malloc(len - 1 ? len - 1 : 1);
	memcpy(msg, buf + 1, len - 1);
	if (d & 8)
		issue(st, d);
	if ((d & 1) && st->ntok && len - 1 >= 12 && (msg[0] & 0x0f) == 8)
		memcpy(msg + 4, st->tokens[((d >> 1) & 3) % (st->ntok < 4 ? st->ntok : 4)], 8);
	from_device(msg, len - 1);
	free(msg);
	st->datagrams++;
	if (emu_request_pending(g_srv) > st->issued + st->datagrams)
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_state st = {0};
	register_device();
	fz_emu_split(data, size, feed, &st);
	fz_emu_close_all(g_srv);
	/* Nothing carries over to the next input. */
	emu_request_fini(g_srv);
	if (emu_request_init(g_srv) < 0)
		abort();
	return 0;
}
