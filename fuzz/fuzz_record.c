/* libFuzzer target: the emulator's hand-written DTLS framing (server/
 * emu_record.c), which reads every datagram before any per-peer state
 * exists: record header with and without CID, ClientHello and cookie, plain
 * alerts, and the HelloVerifyRequest written back; and the scan of a TLS
 * stream's first bytes for its ClientHello and SNI. */
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

/* The TLS stream scan: fed the input one byte longer at a time (the most
 * reads a stream can be cut into), it must stop where a scan of the whole
 * input says, never look past what it was given, and a ClientHello it
 * calls complete must parse. */
static void scan_stream(const uint8_t *data, size_t size)
{
	static uint8_t msg[EMU_TLS_RECORD_HDR_LEN + EMU_TLS_RECORD_MAX];
	struct emu_tls_hello_scan whole = {0}, sc = {0};
	struct emu_client_hello ch;
	int all = emu_record_tls_hello_scan(&whole, data, size, EMU_TLS_RECORD_MAX), st = 0;
	size_t n = 0;
	while (n < size && st == EMU_TLS_HELLO_MORE) {
		st = emu_record_tls_hello_scan(&sc, data, ++n, EMU_TLS_RECORD_MAX);
		if (sc.off > n)
			__builtin_trap();
	}
	if (st != all)
		__builtin_trap(); /* cut into reads, the stream must scan the same */
	if (st == EMU_TLS_HELLO_DONE &&
	    emu_record_tls_client_hello(data, n, msg, sizeof(msg), &ch) == 0 && ch.sni &&
	    (ch.sni < msg || ch.sni + ch.sni_len > msg + sizeof(msg)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first byte picks the CID length (0..32), the rest is the datagram. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	walk_records(data + 1, size - 1, data[0] % 33);
	walk_records(data, size, 0);
	scan_stream(data, size);
	return 0;
}
