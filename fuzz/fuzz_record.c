/* libFuzzer target: the emulator's hand-written DTLS framing (server/
 * emu_record.c), which reads every datagram before any per-peer state
 * exists: record header with and without CID, ClientHello and cookie, plain
 * alerts, and the HelloVerifyRequest written back. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "emu_record.h"

/* Walks every record of a datagram with a given CID length. */
static void walk_records(const uint8_t *data, size_t size, size_t cid_len)
{
	struct emu_record rec;
	while (size > 0 && emu_record_parse(data, size, cid_len, &rec) == 0) {
		struct emu_client_hello ch;
		int level, desc;
		if (rec.total_len == 0 || rec.total_len > size)
			__builtin_trap(); /* the parser must always make progress inside buf */
		if (emu_record_client_hello(&rec, &ch) == 0) {
			uint8_t out[600];
			size_t n = emu_record_write_hvr(out, sizeof(out), rec.seq, ch.cookie,
							ch.cookie_len);
			if (n && (out[0] != EMU_CT_HANDSHAKE || n < EMU_RECORD_HDR_LEN))
				__builtin_trap();
		}
		(void)emu_record_alert(&rec, &level, &desc);
		(void)emu_record_order(&rec);
		data += rec.total_len;
		size -= rec.total_len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte picks the CID length (0..32), the rest is the datagram. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	walk_records(data + 1, size - 1, data[0] % 33);
	walk_records(data, size, 0);
	return 0;
}
