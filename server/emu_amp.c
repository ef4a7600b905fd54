/* The anti-amplification queue of an unvalidated DTLS handshake; see
 * emu_amp.h. */
#include "emu_amp.h"

#include <stdlib.h>
#include <string.h>

#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"

/* One datagram held back, in a FIFO. */
struct emu_amp_dgram {
	struct emu_amp_dgram *next;
	size_t len;
	uint8_t data[];
};

struct emu_amp {
	struct emu_amp_dgram *head, *tail;
	size_t bytes; /* held now */
};

/* DTLS record header: type, version (2), epoch (2), sequence number (6),
 * length (2). */
#define AMP_HDR 13
#define AMP_SEQ_AT 5
#define AMP_LEN_AT 11

int emu_amp_limited(const struct emu_session *s)
{
	return !s->cookie_verified && s->state == EMU_SESS_HANDSHAKE && !s->tcp;
}

int emu_amp_must_hold(const struct emu_session *s, size_t len)
{
	return (s->amp && s->amp->head) || s->bytes_out + len > 3 * s->bytes_in;
}

/* Whether two datagrams carry the same records but for their sequence
 * numbers: Mbed TLS retransmits a flight with fresh record sequence
 * numbers and otherwise the same bytes (same fragments, same packing). */
static int same_records(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t off = 0;
	while (off + AMP_HDR <= len) {
		size_t end =
		    off + AMP_HDR + ((size_t)a[off + AMP_LEN_AT] << 8) + a[off + AMP_LEN_AT + 1];
		if (end > len || memcmp(a + off, b + off, AMP_SEQ_AT) != 0 ||
		    memcmp(a + off + AMP_LEN_AT, b + off + AMP_LEN_AT, end - off - AMP_LEN_AT) != 0)
			return 0;
		off = end;
	}
	return memcmp(a + off, b + off, len - off) == 0;
}

/* True when the queue already holds this datagram (a retransmission). */
static int already_held(const struct emu_amp *q, const uint8_t *buf, size_t len)
{
	for (const struct emu_amp_dgram *d = q ? q->head : NULL; d; d = d->next)
		if (d->len == len && same_records(d->data, buf, len))
			return 1;
	return 0;
}

/* Appends a copy of buf; -1 when the queue is full or memory is out. */
static int enqueue(struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (!s->amp && !(s->amp = calloc(1, sizeof(*s->amp))))
		return -1;
	struct emu_amp *q = s->amp;
	struct emu_amp_dgram *d =
	    q->bytes + len <= EMU_AMP_QUEUE_MAX ? malloc(sizeof(*d) + len) : NULL;
	if (!d)
		return -1;
	d->next = NULL;
	d->len = len;
	memcpy(d->data, buf, len);
	if (q->tail)
		q->tail->next = d;
	else
		q->head = d;
	q->tail = d;
	q->bytes += len;
	return 0;
}

void emu_amp_hold(struct emu_session *s, const uint8_t *buf, size_t len)
{
	char peer[LH_ADDR_STRLEN];
	const char *action = "held";
	if (already_held(s->amp, buf, len))
		action = "duplicate";
	else if (enqueue(s, buf, len) < 0)
		action = "dropped";
	if (action[0] == 'h') {
		s->bytes_held += len;
		s->srv->stats.bytes_held += len;
	}
	lh_event_emitf("amplification_limited", "{s:I, s:s, s:I, s:I, s:I, s:s, s:I}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "bytes",
		       (json_int_t)len, "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
		       (json_int_t)s->bytes_out, "action", action, "queued",
		       (json_int_t)(s->amp ? s->amp->bytes : 0));
}

/* Reports what one release sent. */
static void report_released(const struct emu_session *s, size_t bytes, size_t count)
{
	char peer[LH_ADDR_STRLEN];
	lh_event_emitf("amplification_released", "{s:I, s:s, s:I, s:I, s:I, s:I, s:I}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "bytes",
		       (json_int_t)bytes, "datagrams", (json_int_t)count, "bytes_in",
		       (json_int_t)s->bytes_in, "bytes_out", (json_int_t)s->bytes_out, "queued",
		       (json_int_t)s->amp->bytes);
}

void emu_amp_release(struct emu_session *s, emu_amp_send_fn send)
{
	struct emu_amp *q = s->amp;
	size_t bytes = 0, count = 0;
	if (!q)
		return;
	if (!emu_amp_limited(s)) {
		emu_amp_free(s);
		return;
	}
	while (q->head && s->bytes_out + q->head->len <= 3 * s->bytes_in) {
		struct emu_amp_dgram *d = q->head;
		/* A full socket buffer: keep it for the next release. */
		if (send(s, d->data, d->len) < 0)
			break;
		bytes += d->len;
		count++;
		q->bytes -= d->len;
		q->head = d->next;
		if (!q->head)
			q->tail = NULL;
		free(d);
	}
	if (count)
		report_released(s, bytes, count);
}

void emu_amp_free(struct emu_session *s)
{
	struct emu_amp *q = s->amp;
	if (!q)
		return;
	while (q->head) {
		struct emu_amp_dgram *d = q->head;
		q->head = d->next;
		free(d);
	}
	free(q);
	s->amp = NULL;
}
