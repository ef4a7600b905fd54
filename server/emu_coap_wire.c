/* CoAP message encoding for the emulator's in-process CoAP layer. */
#include "emu_coap_wire.h"

#include <stdio.h>
#include <string.h>

void emu_coap_msg_init(struct emu_coap_msg *m, int type, int code, uint16_t mid,
		       const uint8_t *token, size_t token_len)
{
	m->body_len = 0;
	m->last_opt = 0;
	m->has_payload = 0;
	m->type = type;
	m->code = code;
	m->mid = mid;
	m->overflow = token_len > sizeof(m->token);
	m->token_len = m->overflow ? 0 : token_len;
	if (m->token_len)
		memcpy(m->token, token, m->token_len);
}

void emu_coap_msg_opt(struct emu_coap_msg *m, uint16_t num, const void *val, size_t len)
{
	uint8_t *body = m->buf + EMU_COAP_HDR_ROOM;
	size_t room = EMU_COAP_BODY_MAX - m->body_len;
	if (m->overflow || num < m->last_opt ||
	    coap_opt_encode_size(num - m->last_opt, len) > room) {
		m->overflow = 1;
		return;
	}
	size_t n = coap_opt_encode(body + m->body_len, room, num - m->last_opt, val, len);
	if (n == 0) {
		m->overflow = 1;
		return;
	}
	m->body_len += n;
	m->last_opt = num;
}

void emu_coap_msg_opt_uint(struct emu_coap_msg *m, uint16_t num, unsigned val)
{
	uint8_t b[4];
	emu_coap_msg_opt(m, num, b, coap_encode_var_safe(b, sizeof(b), val));
}

void emu_coap_msg_opt_path(struct emu_coap_msg *m, uint16_t num, const char *path)
{
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n)
			emu_coap_msg_opt(m, num, p, n);
		p += n;
	}
}

void emu_coap_msg_payload(struct emu_coap_msg *m, const uint8_t *data, size_t len)
{
	uint8_t *body = m->buf + EMU_COAP_HDR_ROOM;
	if (len == 0 || m->overflow)
		return;
	if (len + 1 > EMU_COAP_BODY_MAX - m->body_len) {
		m->overflow = 1;
		return;
	}
	body[m->body_len++] = 0xff;
	memcpy(body + m->body_len, data, len);
	m->body_len += len;
	m->has_payload = 1;
}

/* RFC 8323 §3.2: Len nibble and the extended length that follows it. */
static size_t tcp_len_field(size_t body, uint8_t *nibble, uint8_t ext[4])
{
	if (body < 13) {
		*nibble = (uint8_t)body;
		return 0;
	}
	if (body < 269) {
		*nibble = 13;
		ext[0] = (uint8_t)(body - 13);
		return 1;
	}
	if (body < 65805) {
		*nibble = 14;
		ext[0] = (uint8_t)((body - 269) >> 8);
		ext[1] = (uint8_t)(body - 269);
		return 2;
	}
	*nibble = 15;
	size_t v = body - 65805;
	for (int i = 0; i < 4; i++)
		ext[i] = (uint8_t)(v >> (24 - 8 * i));
	return 4;
}

const uint8_t *emu_coap_msg_frame(struct emu_coap_msg *m, coap_proto_t proto, size_t *len)
{
	uint8_t hdr[EMU_COAP_HDR_ROOM], ext[4], nibble;
	size_t h = 0;
	if (m->overflow)
		return NULL;
	if (proto == COAP_PROTO_TCP || proto == COAP_PROTO_TLS) {
		size_t n = tcp_len_field(m->body_len, &nibble, ext);
		hdr[h++] = (uint8_t)(nibble << 4 | m->token_len);
		memcpy(hdr + h, ext, n);
		h += n;
		hdr[h++] = (uint8_t)m->code;
	} else {
		hdr[h++] = (uint8_t)(1 << 6 | (m->type & 3) << 4 | m->token_len);
		hdr[h++] = (uint8_t)m->code;
		hdr[h++] = (uint8_t)(m->mid >> 8);
		hdr[h++] = (uint8_t)m->mid;
	}
	memcpy(hdr + h, m->token, m->token_len);
	h += m->token_len;
	uint8_t *start = m->buf + EMU_COAP_HDR_ROOM - h;
	memcpy(start, hdr, h);
	*len = h + m->body_len;
	return start;
}

size_t emu_coap_tcp_frame_len(const uint8_t *buf, size_t avail)
{
	static const size_t ext_len[16] = {[13] = 1, [14] = 2, [15] = 4};
	static const size_t base[16] = {[13] = 13, [14] = 269, [15] = 65805};
	if (avail < 1)
		return 0;
	size_t nibble = buf[0] >> 4, tkl = buf[0] & 0x0f, e = ext_len[nibble];
	if (avail < 1 + e)
		return 0;
	size_t body = nibble < 13 ? nibble : base[nibble];
	size_t v = 0;
	for (size_t i = 0; i < e; i++)
		v = v << 8 | buf[1 + i];
	body += v;
	return 1 + e + 1 + tkl + body;
}

const char *emu_coap_code_text(int code, char buf[8])
{
	/* "c.dd", without printf: every request's event has one. */
	unsigned detail = (unsigned)code & 0x1fu;
	buf[0] = (char)('0' + (((unsigned)code >> 5) & 7u));
	buf[1] = '.';
	buf[2] = (char)('0' + detail / 10);
	buf[3] = (char)('0' + detail % 10);
	buf[4] = '\0';
	return buf;
}
