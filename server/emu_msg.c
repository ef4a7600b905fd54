/* The CoAP message layer on a session's plaintext (see emu_msg.h). */
#include "emu_msg.h"

#include <stdlib.h>
#include <string.h>

#include "emu_device.h"
#include "emu_lwm2m.h"
#include "emu_request.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

#define EMU_MSG_RX_MAX (EMU_COAP_TCP_MAX + 8)

struct emu_block1 {
	int code;
	uint8_t token[8]; /* of the block that started it */
	size_t token_len;
	char *key; /* path + '?' + query: which request the blocks build */
	uint32_t next_num;
	uint8_t *buf;
	size_t len;
	int64_t started;
};

/* Is this session's CoAP framed as a stream (RFC 8323)? */
static int is_stream(const struct emu_session *s)
{
	return s->tp->proto == COAP_PROTO_TCP;
}

static void reject(struct emu_session *s, const uint8_t *buf, size_t len, const char *reason);

/* Reports malformed CoAP, naming what was wrong. */
static void malformed(struct emu_session *s, const char *reason, size_t bytes)
{
	char peer[LH_ADDR_STRLEN];
	lh_event_emitf("malformed_coap", "{s:I, s:s, s:s, s:s, s:I}", "session", (json_int_t)s->id,
		       "peer", lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)),
		       "transport", s->tp->name, "reason", reason, "bytes", (json_int_t)bytes);
}

uint16_t emu_msg_next_mid(struct emu_session *s)
{
	return s->msg.next_mid++;
}

int emu_msg_send(struct emu_session *s, struct emu_coap_msg *m)
{
	size_t len;
	const uint8_t *wire = emu_coap_msg_frame(m, s->tp->proto, &len);
	if (!wire)
		return -1;
	if (!is_stream(s) && m->type == EMU_COAP_ACK)
		emu_dedup_response(&s->msg.dedup, wire, len);
	s->tp->send(s, wire, len);
	return 0;
}

void emu_msg_open(struct emu_session *s)
{
	struct emu_coap_msg m;
	uint8_t r[2];
	mbedtls_ctr_drbg_random(&s->srv->drbg, r, sizeof(r));
	s->msg.next_mid = (uint16_t)(r[0] << 8 | r[1]);
	if (!is_stream(s))
		return;
	/* RFC 8323 §5.3: both sides start with a CSM. Block-wise transfer is
	 * not offered (so no BERT); the size is what this server reads. */
	emu_coap_msg_init(&m, 0, EMU_COAP_CSM, 0, NULL, 0);
	emu_coap_msg_opt_uint(&m, 2, EMU_COAP_BODY_MAX);
	emu_msg_send(s, &m);
}

/* Drops a Block1 transfer in progress, giving its bytes back. */
static void block1_free(struct emu_server *srv, struct emu_msg_state *st)
{
	if (!st->b1)
		return;
	emu_limit_give(srv, EMU_LIMIT_BLOCK1_BYTES, st->b1->len);
	free(st->b1->key);
	free(st->b1->buf);
	free(st->b1);
	st->b1 = NULL;
}

void emu_msg_close(struct emu_session *s)
{
	emu_dedup_free(&s->msg.dedup);
	block1_free(s->srv, &s->msg);
	free(s->msg.rx);
	s->msg.rx = NULL;
	s->msg.rx_len = s->msg.rx_cap = 0;
}

/* Starts the answer to a request: piggybacked on the ACK of a CON, a NON
 * of its own for a NON, untyped on TLS. */
static void answer_init(struct emu_session *s, const coap_pdu_t *pdu, struct emu_coap_msg *m,
			int code)
{
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	int con = coap_pdu_get_type(pdu) == COAP_MESSAGE_CON;
	uint16_t mid = con ? (uint16_t)coap_pdu_get_mid(pdu) : emu_msg_next_mid(s);
	emu_coap_msg_init(m, con ? EMU_COAP_ACK : EMU_COAP_NON, code, mid, tok.s, tok.length);
}

/* Answers with a bare code (errors, 2.31 Continue). */
static void answer_code(struct emu_session *s, const coap_pdu_t *pdu, int code, int block1,
			int size1)
{
	struct emu_coap_msg m;
	answer_init(s, pdu, &m, code);
	if (block1 >= 0)
		emu_coap_msg_opt_uint(&m, COAP_OPTION_BLOCK1, (unsigned)block1);
	if (size1 >= 0)
		emu_coap_msg_opt_uint(&m, COAP_OPTION_SIZE1, (unsigned)size1);
	emu_msg_send(s, &m);
}

/* Joins Uri-Path (or Uri-Query) into a NUL-terminated string. */
static char *join_options(const coap_pdu_t *pdu, int query, size_t *len)
{
	coap_string_t *str = query ? coap_get_query(pdu) : coap_get_uri_path(pdu);
	char *out = malloc(str ? str->length + 1 : 1);
	*len = 0;
	if (out && str) {
		memcpy(out, str->s, str->length);
		*len = str->length;
	}
	if (out)
		out[*len] = '\0';
	coap_delete_string(str);
	return out;
}

/* Runs a complete request through the LwM2M layer and sends its answer. */
static void dispatch_request(struct emu_session *s, const coap_pdu_t *pdu, const uint8_t *data,
			     size_t len, int block1)
{
	struct emu_coap_req req = {
	    .pdu = pdu, .code = coap_pdu_get_code(pdu), .payload = data, .payload_len = len};
	struct emu_coap_msg m;
	char *path = join_options(pdu, 0, &req.path_len);
	char *query = join_options(pdu, 1, &req.query_len);
	if (!path || !query)
		goto exit;
	req.path = path;
	req.query = query;
	answer_init(s, pdu, &m, 0);
	emu_lwm2m_request(s, &req, &m);
	if (block1 >= 0)
		emu_coap_msg_opt_uint(&m, COAP_OPTION_BLOCK1, (unsigned)block1);
	if (m.code == 0 || emu_msg_send(s, &m) < 0)
		answer_code(s, pdu, COAP_RESPONSE_CODE_INTERNAL_ERROR, -1, -1);
exit:
	free(path);
	free(query);
}

/* "path?query" of a request: what consecutive Block1 blocks must share. */
static char *block1_key(const coap_pdu_t *pdu)
{
	size_t plen, qlen;
	char *p = join_options(pdu, 0, &plen), *q = join_options(pdu, 1, &qlen);
	char *key = p && q ? malloc(plen + qlen + 2) : NULL;
	if (key)
		sprintf(key, "%s?%s", p, q);
	free(p);
	free(q);
	return key;
}

/* Reports a Block1 transfer that failed, and answers code. */
static void block1_refuse(struct emu_session *s, const coap_pdu_t *pdu, const char *reason,
			  int code, int size1)
{
	char text[8];
	lh_event_emitf("block1_refused", "{s:I, s:s, s:s}", "session", (json_int_t)s->id, "reason",
		       reason, "code", emu_coap_code_text(code, text));
	block1_free(s->srv, &s->msg);
	answer_code(s, pdu, code, -1, size1);
}

/* Starts a transfer at block 0 (dropping one that never finished). */
static int block1_start(struct emu_session *s, const coap_pdu_t *pdu)
{
	struct emu_block1 *b = calloc(1, sizeof(*b));
	if (s->msg.b1)
		lh_event_emitf("block1_abandoned", "{s:I, s:I}", "session", (json_int_t)s->id,
			       "bytes", (json_int_t)s->msg.b1->len);
	block1_free(s->srv, &s->msg);
	if (!b || !(b->key = block1_key(pdu))) {
		free(b);
		return -1;
	}
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	b->code = coap_pdu_get_code(pdu);
	b->started = lh_time_mono_ms();
	b->token_len = tok.length <= sizeof(b->token) ? tok.length : 0;
	memcpy(b->token, tok.s, b->token_len);
	s->msg.b1 = b;
	return 0;
}

/* Appends one block; -1 when it would exceed EMU_BLOCK1_MAX for the
 * transfer or $.limits.block1_bytes for all of them. */
static int block1_append(struct emu_server *srv, struct emu_block1 *b, const uint8_t *data,
			 size_t len)
{
	if (b->len + len > EMU_BLOCK1_MAX)
		return -1;
	if (len == 0)
		return 0;
	if (emu_limit_take(srv, EMU_LIMIT_BLOCK1_BYTES, len, "a Block1 block") < 0)
		return -1;
	uint8_t *n = realloc(b->buf, b->len + len + 1);
	if (!n) {
		emu_limit_give(srv, EMU_LIMIT_BLOCK1_BYTES, len);
		return -1;
	}
	memcpy(n + b->len, data, len);
	b->buf = n;
	b->len += len;
	return 0;
}

/* Is this block the next one of the transfer in progress? */
static int block1_matches(struct emu_session *s, const coap_pdu_t *pdu, const coap_block_t *blk)
{
	struct emu_block1 *b = s->msg.b1;
	if (!b || blk->num != b->next_num || b->code != (int)coap_pdu_get_code(pdu) ||
	    lh_time_mono_ms() - b->started > EMU_EXCHANGE_LIFETIME_MS)
		return 0;
	char *key = block1_key(pdu);
	int same = key && strcmp(key, b->key) == 0;
	free(key);
	return same;
}

/* The Size1 a request announces, or -1. */
static long long size1_of(const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, COAP_OPTION_SIZE1, &it);
	return o ? (long long)coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : -1;
}

/* RFC 7959 §2.5: collects the blocks of a large request; runs it once the
 * last one is in. Memory is bounded by EMU_BLOCK1_MAX per session. */
static void block1_input(struct emu_session *s, const coap_pdu_t *pdu, const coap_block_t *blk,
			 const uint8_t *data, size_t len)
{
	if (size1_of(pdu) > EMU_BLOCK1_MAX) {
		block1_refuse(s, pdu, "size1_too_large", COAP_RESPONSE_CODE_REQUEST_TOO_LARGE,
			      EMU_BLOCK1_MAX);
		return;
	}
	if (blk->num == 0 && block1_start(s, pdu) < 0) {
		answer_code(s, pdu, COAP_RESPONSE_CODE_INTERNAL_ERROR, -1, -1);
		return;
	}
	if (!block1_matches(s, pdu, blk)) {
		block1_refuse(s, pdu, s->msg.b1 ? "out_of_order" : "no_transfer",
			      COAP_RESPONSE_CODE_INCOMPLETE, -1);
		return;
	}
	if (block1_append(s->srv, s->msg.b1, data, len) < 0) {
		block1_refuse(s, pdu, "too_large", COAP_RESPONSE_CODE_REQUEST_TOO_LARGE,
			      EMU_BLOCK1_MAX);
		return;
	}
	s->msg.b1->next_num++;
	unsigned opt = blk->num << 4 | (blk->m ? 8u : 0u) | blk->szx;
	if (blk->m) {
		answer_code(s, pdu, COAP_RESPONSE_CODE_CONTINUE, (int)opt, -1);
		return;
	}
	struct emu_block1 *b = s->msg.b1;
	s->msg.b1 = NULL;
	dispatch_request(s, pdu, b->buf, b->len, (int)opt);
	emu_limit_give(s->srv, EMU_LIMIT_BLOCK1_BYTES, b->len);
	free(b->key);
	free(b->buf);
	free(b);
}

/* A request that is not a block of the transfer in progress but carries
 * its token: the client reused a token while its request is pending. */
static int token_reused(struct emu_session *s, const coap_pdu_t *pdu, int is_block)
{
	struct emu_block1 *b = s->msg.b1;
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	if (!b || is_block || tok.length != b->token_len || memcmp(tok.s, b->token, tok.length))
		return 0;
	return 1;
}

/* A request: de-duplicated (UDP), reassembled (Block1), then handled. */
static void request_input(struct emu_session *s, const coap_pdu_t *pdu, const uint8_t *raw,
			  size_t raw_len)
{
	const uint8_t *ack, *data = NULL;
	size_t ack_len, len = 0;
	coap_block_t blk;
	if (!is_stream(s)) {
		enum emu_dedup_verdict v = emu_dedup_request(&s->msg.dedup, raw, raw_len,
							     lh_time_mono_ms(), &ack, &ack_len);
		if (v != EMU_DEDUP_NEW) {
			lh_event_emitf("coap_duplicate", "{s:I, s:i, s:b}", "session",
				       (json_int_t)s->id, "mid", coap_pdu_get_mid(pdu), "replayed",
				       v == EMU_DEDUP_REPLAY);
			if (v == EMU_DEDUP_REPLAY)
				s->tp->send(s, ack, ack_len);
			return;
		}
	}
	coap_get_data(pdu, &len, &data);
	int is_block = coap_get_block(pdu, COAP_OPTION_BLOCK1, &blk);
	if (token_reused(s, pdu, is_block))
		reject(s, raw, raw_len, "token_reused");
	else if (is_block)
		block1_input(s, pdu, &blk, data, len);
	else
		dispatch_request(s, pdu, data, len, -1);
}

/* RFC 8323 §5: signalling on TLS. Returns -1 when the session was closed. */
static int signal_input(struct emu_session *s, const coap_pdu_t *pdu)
{
	struct emu_coap_msg m;
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	int code = coap_pdu_get_code(pdu);
	if (code == EMU_COAP_PING) {
		emu_coap_msg_init(&m, 0, EMU_COAP_PONG, 0, tok.s, tok.length);
		emu_msg_send(s, &m);
	} else if (code == EMU_COAP_RELEASE || code == EMU_COAP_ABORT) {
		emu_session_close(s, code == EMU_COAP_RELEASE ? "coap_release" : "coap_abort");
		return -1;
	}
	return 0; /* CSM and Pong need nothing */
}

/* What is wrong with a message libcoap would not parse, from its header. */
static const char *malformed_reason(const struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (is_stream(s))
		return (buf[0] & 0x0f) > 8 ? "token_length" : "bad_options_or_payload_marker";
	if (len < 4)
		return "truncated_header";
	if ((buf[0] >> 6) != 1)
		return "bad_version";
	if ((buf[0] & 0x0f) > 8)
		return "token_length";
	if (len < 4u + (buf[0] & 0x0f))
		return "truncated_token";
	return "bad_options_or_payload_marker";
}

/* Answers a Confirmable datagram with a Reset (nothing on TLS). */
static void reset(struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_coap_msg m;
	if (is_stream(s) || len < 4 || (buf[0] >> 6) != 1 || ((buf[0] >> 4) & 3) != EMU_COAP_CON)
		return;
	emu_coap_msg_init(&m, EMU_COAP_RST, 0, (uint16_t)(buf[2] << 8 | buf[3]), NULL, 0);
	emu_msg_send(s, &m);
}

/* RFC 7252 §4.2/4.3: a Confirmable message that cannot be processed gets
 * a Reset; anything else is ignored. Either way the session lives. */
static void reject(struct emu_session *s, const uint8_t *buf, size_t len, const char *reason)
{
	malformed(s, reason, len);
	reset(s, buf, len);
}

/* One whole message. Returns -1 when the session was closed. */
static int message_input(struct emu_session *s, const uint8_t *buf, size_t len)
{
	int ret = 0;
	coap_pdu_t *pdu = coap_pdu_init(0, 0, 0, len);
	if (!pdu)
		return 0;
	if (len == 0 || !coap_pdu_parse(s->tp->proto, buf, len, pdu)) {
		reject(s, buf, len, len ? malformed_reason(s, buf, len) : "empty");
		goto exit;
	}
	int code = coap_pdu_get_code(pdu);
	if (is_stream(s) && (code >> 5) == 7)
		ret = signal_input(s, pdu);
	else if (code == 0 && coap_pdu_get_type(pdu) == COAP_MESSAGE_CON)
		reset(s, buf, len); /* CoAP ping (RFC 7252 §4.3): RST is the pong */
	else if (code != 0 && (code >> 5) == 0)
		request_input(s, pdu, buf, len);
	else
		emu_request_input(s, pdu);
	if (ret == 0)
		emu_device_heard(s);
exit:
	coap_delete_pdu(pdu);
	return ret;
}

/* RFC 8323: cuts the stream into frames; keeps the tail for later. */
static int stream_input(struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_msg_state *st = &s->msg;
	if (st->rx_len + len > st->rx_cap) {
		size_t cap = st->rx_len + len;
		uint8_t *n = cap <= EMU_MSG_RX_MAX ? realloc(st->rx, cap) : NULL;
		if (!n) {
			malformed(s, "frame_too_large", st->rx_len + len);
			emu_session_close(s, "coap_frame_too_large");
			return -1;
		}
		st->rx = n;
		st->rx_cap = cap;
	}
	memcpy(st->rx + st->rx_len, buf, len);
	st->rx_len += len;
	size_t off = 0;
	for (;;) {
		size_t flen = emu_coap_tcp_frame_len(st->rx + off, st->rx_len - off);
		if (flen == 0 || flen > st->rx_len - off)
			break;
		if (message_input(s, st->rx + off, flen) < 0)
			return -1;
		off += flen;
	}
	memmove(st->rx, st->rx + off, st->rx_len - off);
	st->rx_len -= off;
	return 0;
}

int emu_msg_input(struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (is_stream(s))
		return stream_input(s, buf, len);
	return message_input(s, buf, len);
}
