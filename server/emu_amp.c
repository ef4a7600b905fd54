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

/* Bytes [lo, hi) of handshake message seq that went out. */
struct emu_amp_range {
	uint16_t seq;
	uint32_t lo, hi;
};

/* Sent ranges remembered; beyond, every fragment counts as new. */
#define AMP_RANGES 64

struct emu_amp {
	struct emu_amp_dgram *head, *tail;
	size_t bytes; /* held now */
	struct emu_amp_range sent[AMP_RANGES];
	size_t nsent;
};

/* DTLS record header: type, version (2), epoch (2), sequence number (6),
 * length (2); handshake fragment header: type, length (3), message_seq
 * (2), fragment_offset (3), fragment_length (3). */
#define AMP_HDR 13
#define AMP_SEQ_AT 5
#define AMP_LEN_AT 11
#define AMP_CT_HANDSHAKE 22
#define AMP_HS_HDR 12

/* One handshake fragment of an epoch-0 record. */
struct emu_amp_frag {
	uint16_t seq;
	uint32_t lo, hi;
};

int emu_amp_limited(const struct emu_session *s)
{
	return !s->cookie_verified && s->state == EMU_SESS_HANDSHAKE;
}

/* True when len more bytes would exceed 3x what was received. */
static int over_budget(const struct emu_session *s, size_t len)
{
	return s->bytes_out + len > 3 * s->bytes_in;
}

static uint32_t get24(const uint8_t *p)
{
	return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}

/* The record at off in buf (len bytes): its end, or 0 when it overruns. */
static size_t record_end(const uint8_t *buf, size_t len, size_t off)
{
	size_t end =
	    off + AMP_HDR + ((size_t)buf[off + AMP_LEN_AT] << 8) + buf[off + AMP_LEN_AT + 1];
	return end <= len ? end : 0;
}

/* The handshake fragment of the record at off (ending at end): 0 with *f,
 * or -1 for any other record (those always count as new). */
static int fragment_of(const uint8_t *buf, size_t off, size_t end, struct emu_amp_frag *f)
{
	const uint8_t *h = buf + off + AMP_HDR;
	if (buf[off] != AMP_CT_HANDSHAKE || buf[off + 3] != 0 || buf[off + 4] != 0 ||
	    end - off < AMP_HDR + AMP_HS_HDR)
		return -1;
	f->seq = (uint16_t)((h[4] << 8) | h[5]);
	f->lo = get24(h + 6);
	f->hi = f->lo + get24(h + 9);
	return 0;
}

/* Bytes of fragment f not yet sent. */
static uint32_t unsent_bytes(const struct emu_amp *q, const struct emu_amp_frag *f)
{
	uint32_t covered = 0;
	for (size_t i = 0; q && i < q->nsent; i++) {
		const struct emu_amp_range *r = &q->sent[i];
		uint32_t lo = r->lo > f->lo ? r->lo : f->lo, hi = r->hi < f->hi ? r->hi : f->hi;
		if (r->seq == f->seq && hi > lo)
			covered += hi - lo;
	}
	return f->hi - f->lo > covered ? f->hi - f->lo - covered : 0;
}

/* Whether a datagram carries anything the peer was not sent yet: a
 * retransmission (same packing or repacked smaller) of what went out is
 * worth budget only once nothing new is waiting. */
static int has_news(const struct emu_amp *q, const uint8_t *buf, size_t len)
{
	struct emu_amp_frag f;
	size_t off = 0, end;
	if (!q || q->nsent >= AMP_RANGES)
		return 1;
	while (off + AMP_HDR <= len && (end = record_end(buf, len, off)) != 0) {
		if (fragment_of(buf, off, end, &f) < 0 || unsent_bytes(q, &f) > 0)
			return 1;
		off = end;
	}
	return off != len;
}

/* Adds fragment f to the sent ranges, merged with those it touches. */
static void note_range(struct emu_amp *q, struct emu_amp_frag f)
{
	for (size_t i = 0; i < q->nsent;) {
		struct emu_amp_range *r = &q->sent[i];
		if (r->seq != f.seq || r->hi < f.lo || f.hi < r->lo) {
			i++;
			continue;
		}
		f.lo = r->lo < f.lo ? r->lo : f.lo;
		f.hi = r->hi > f.hi ? r->hi : f.hi;
		*r = q->sent[--q->nsent];
	}
	if (q->nsent < AMP_RANGES)
		q->sent[q->nsent++] = (struct emu_amp_range){f.seq, f.lo, f.hi};
}

/* Remembers the handshake fragments of a datagram that went out. */
static void note_sent(struct emu_amp *q, const uint8_t *buf, size_t len)
{
	struct emu_amp_frag f;
	size_t off = 0, end;
	while (off + AMP_HDR <= len && (end = record_end(buf, len, off)) != 0) {
		if (fragment_of(buf, off, end, &f) == 0)
			note_range(q, f);
		off = end;
	}
}

/* Whether two datagrams carry the same records but for their sequence
 * numbers: Mbed TLS retransmits a flight with fresh record sequence
 * numbers and otherwise the same bytes (same fragments, same packing). */
static int same_records(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t off = 0, end;
	while (off + AMP_HDR <= len && (end = record_end(a, len, off)) != 0) {
		if (memcmp(a + off, b + off, AMP_SEQ_AT) != 0 ||
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
static int enqueue(struct emu_amp *q, const uint8_t *buf, size_t len)
{
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

/* What to do with a datagram Mbed TLS is sending: NULL = send it now. */
static const char *decide(struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_amp *q = s->amp;
	if (!has_news(q, buf, len))
		return q->head || over_budget(s, len) ? "already_sent" : NULL;
	if (already_held(q, buf, len))
		return "duplicate";
	if (!over_budget(s, len))
		return NULL;
	return enqueue(q, buf, len) < 0 ? "dropped" : "held";
}

int emu_amp_hold(struct emu_session *s, const uint8_t *buf, size_t len)
{
	char peer[LH_ADDR_STRLEN];
	if (!s->amp && !(s->amp = calloc(1, sizeof(*s->amp))))
		return over_budget(s, len); /* out of memory: the plain limit */
	const char *action = decide(s, buf, len);
	if (!action) {
		note_sent(s->amp, buf, len);
		return 0;
	}
	/* A retransmission of what is queued or went out costs no event: its
	 * content is not lost, and Mbed TLS retransmits whole flights. */
	if (strcmp(action, "duplicate") == 0 || strcmp(action, "already_sent") == 0)
		return 1;
	if (strcmp(action, "held") == 0) {
		s->bytes_held += len;
		s->srv->stats.bytes_held += len;
	}
	lh_event_emitf("amplification_limited", "{s:I, s:s, s:I, s:I, s:I, s:s, s:I}", "session",
		       (json_int_t)s->id, "peer",
		       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)), "bytes",
		       (json_int_t)len, "bytes_in", (json_int_t)s->bytes_in, "bytes_out",
		       (json_int_t)s->bytes_out, "action", action, "queued",
		       (json_int_t)s->amp->bytes);
	return 1;
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

/* Sends d if it fits the budget and still carries news. 1: d is done
 * with (sent, or nothing left in it worth sending), 0: it stays. */
static int release_one(struct emu_session *s, struct emu_amp_dgram *d, emu_amp_send_fn send,
		       size_t *bytes)
{
	if (!has_news(s->amp, d->data, d->len))
		return 1;
	if (over_budget(s, d->len) || send(s, d->data, d->len) < 0)
		return 0;
	note_sent(s->amp, d->data, d->len);
	*bytes += d->len;
	return 1;
}

void emu_amp_release(struct emu_session *s, emu_amp_send_fn send)
{
	struct emu_amp *q = s->amp;
	size_t bytes = 0, count = 0;
	if (!q || !emu_amp_limited(s)) {
		emu_amp_free(s);
		return;
	}
	/* First fit, in order: a datagram too large for the budget yet must
	 * not keep smaller ones behind it waiting (the peer reassembles
	 * handshake fragments in any order). */
	struct emu_amp_dgram **link = &q->head, *last = NULL, *d;
	while ((d = *link) != NULL) {
		size_t before = bytes;
		if (!release_one(s, d, send, &bytes)) {
			last = d;
			link = &d->next;
			continue;
		}
		count += bytes > before;
		q->bytes -= d->len;
		*link = d->next;
		free(d);
	}
	q->tail = last;
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
