#include "emu_dedup.h"

#include <stdlib.h>
#include <string.h>

#define COAP_TYPE_CON 0
#define COAP_TYPE_ACK 2
#define COAP_TYPE_RST 3

/* The slot remembering mid, or NULL. */
static struct emu_dedup_slot *find(struct emu_dedup *d, uint16_t mid, int64_t now)
{
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++) {
		struct emu_dedup_slot *s = &d->slot[i];
		if (s->used && s->mid == mid && now - s->at < EMU_EXCHANGE_LIFETIME_MS)
			return s;
	}
	return NULL;
}

enum emu_dedup_verdict emu_dedup_request(struct emu_dedup *d, const uint8_t *buf, size_t len,
					 int64_t now, const uint8_t **ack, size_t *ack_len)
{
	/* Only CoAP 1 Confirmable requests (code class 0, code != 0). */
	if (len < 4 || (buf[0] >> 6) != 1 || ((buf[0] >> 4) & 3) != COAP_TYPE_CON || buf[1] == 0 ||
	    (buf[1] >> 5) != 0)
		return EMU_DEDUP_NEW;
	uint16_t mid = (uint16_t)(buf[2] << 8 | buf[3]);
	struct emu_dedup_slot *s = find(d, mid, now);
	if (s && s->ack) {
		*ack = s->ack;
		*ack_len = s->ack_len;
		return EMU_DEDUP_REPLAY;
	}
	if (s)
		return EMU_DEDUP_DROP;
	s = &d->slot[d->next++ % EMU_DEDUP_SLOTS];
	free(s->ack);
	*s = (struct emu_dedup_slot){.used = 1, .mid = mid, .at = now};
	return EMU_DEDUP_NEW;
}

void emu_dedup_response(struct emu_dedup *d, const uint8_t *buf, size_t len)
{
	if (len < 4 || (buf[0] >> 6) != 1)
		return;
	int type = (buf[0] >> 4) & 3;
	if (type != COAP_TYPE_ACK && type != COAP_TYPE_RST)
		return;
	uint16_t mid = (uint16_t)(buf[2] << 8 | buf[3]);
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++) {
		struct emu_dedup_slot *s = &d->slot[i];
		if (!s->used || s->mid != mid || s->ack)
			continue;
		s->ack = malloc(len);
		if (s->ack) {
			memcpy(s->ack, buf, len);
			s->ack_len = len;
		}
		return;
	}
}

void emu_dedup_free(struct emu_dedup *d)
{
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++)
		free(d->slot[i].ack);
	memset(d, 0, sizeof(*d));
}
