#ifndef EMU_DEDUP_H
#define EMU_DEDUP_H
#include <stddef.h>
#include <stdint.h>

/* CoAP message deduplication (RFC 7252 §4.5) for one DTLS session, done in
 * the bridge because libcoap 4.3.1 hands retransmitted Confirmable requests
 * to the handlers again (a lost ACK would register an endpoint twice). The
 * last few CON request MIDs are remembered for EXCHANGE_LIFETIME with the
 * ACK that answered them, which is replayed to duplicates. */

#define EMU_DEDUP_SLOTS 4
#define EMU_EXCHANGE_LIFETIME_MS 247000

struct emu_dedup_slot {
	int used;
	uint16_t mid;
	int64_t at;
	uint8_t *ack; /* the piggybacked response, NULL until seen */
	size_t ack_len;
};

struct emu_dedup {
	struct emu_dedup_slot slot[EMU_DEDUP_SLOTS];
	unsigned next;
};

enum emu_dedup_verdict { EMU_DEDUP_NEW, EMU_DEDUP_REPLAY, EMU_DEDUP_DROP };

/* A datagram from the client. NEW: pass it to libcoap; REPLAY: send back
 * *ack (owned by d) instead; DROP: a duplicate whose answer is not known. */
enum emu_dedup_verdict emu_dedup_request(struct emu_dedup *d, const uint8_t *buf, size_t len,
					 int64_t now, const uint8_t **ack, size_t *ack_len);
/* A datagram from libcoap to the client: remembers it if it ACKs a
 * remembered request. */
void emu_dedup_response(struct emu_dedup *d, const uint8_t *buf, size_t len);
void emu_dedup_free(struct emu_dedup *d);

#endif
