#include "emu_record.h"

#include <string.h>

/* Big-endian reads; the wire format is network order throughout. */
static uint32_t get_be(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Big-endian writes, mirror of get_be. */
static void put_be(uint8_t *p, uint64_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[n - 1 - i] = (uint8_t)(v >> (8 * i));
}

/* Record header (RFC 6347 §4.1) with the optional CID of RFC 9146 §4. */
int emu_record_parse(const uint8_t *buf, size_t len, size_t cid_len, struct emu_record *out)
{
	memset(out, 0, sizeof(*out));
	if (len < EMU_RECORD_HDR_LEN)
		return -1;
	out->type = buf[0];
	out->version = (uint16_t)get_be(buf + 1, 2);
	if (out->version != 0xfeff && out->version != 0xfefd)
		return -1;
	out->epoch = (uint16_t)get_be(buf + 3, 2);
	out->seq = ((uint64_t)get_be(buf + 5, 2) << 32) | get_be(buf + 7, 4);
	size_t off = 11;
	if (out->type == EMU_CT_TLS12_CID) {
		if (len < EMU_RECORD_HDR_LEN + cid_len)
			return -1;
		out->cid = buf + off;
		out->cid_len = cid_len;
		off += cid_len;
	}
	size_t body_len = get_be(buf + off, 2);
	off += 2;
	if (body_len > len - off)
		return -1;
	out->body = buf + off;
	out->body_len = body_len;
	out->total_len = off + body_len;
	return 0;
}

/* Skips an opaque vector with a length prefix of n bytes; NULL if truncated. */
static const uint8_t *skip_vec(const uint8_t *p, const uint8_t *end, size_t n)
{
	if ((size_t)(end - p) < n)
		return NULL;
	size_t l = get_be(p, n);
	p += n;
	if ((size_t)(end - p) < l)
		return NULL;
	return p + l;
}

/* Reads the host_name out of a server_name extension body. */
static void parse_server_name(const uint8_t *p, const uint8_t *end, struct emu_client_hello *out)
{
	if (end - p < 2 || (size_t)(end - p - 2) < get_be(p, 2))
		return;
	end = p + 2 + get_be(p, 2);
	p += 2;
	while (end - p >= 3) {
		size_t len = get_be(p + 1, 2);
		if ((size_t)(end - p - 3) < len)
			return;
		if (p[0] == 0) {
			out->sni = p + 3;
			out->sni_len = len;
			return;
		}
		p += 3 + len;
	}
}

/* Walks cipher_suites, compression_methods and the extensions after the
 * cookie, looking for server_name (type 0). */
static void find_sni(const uint8_t *p, const uint8_t *end, struct emu_client_hello *out)
{
	p = skip_vec(p, end, 2);
	p = p ? skip_vec(p, end, 1) : NULL;
	if (!p || end - p < 2)
		return;
	const uint8_t *ext_end = p + 2 + get_be(p, 2);
	if (ext_end > end)
		return;
	for (p += 2; ext_end - p >= 4;) {
		size_t type = get_be(p, 2), len = get_be(p + 2, 2);
		if ((size_t)(ext_end - p - 4) < len)
			return;
		if (type == 0) {
			parse_server_name(p + 4, p + 4 + len, out);
			return;
		}
		p += 4 + len;
	}
}

/* The fields every ClientHello starts with (RFC 5246 §7.4.1.2): version,
 * random and session_id. Returns where the next field starts (the cookie in
 * DTLS, cipher_suites in TLS), or NULL when they are truncated. */
static const uint8_t *skip_hello_head(const uint8_t *p, const uint8_t *end)
{
	if (end - p < 34)
		return NULL;
	return skip_vec(p + 34, end, 1);
}

/* ClientHello (RFC 6347 §4.2.1): version, random, session_id, cookie, ... */
int emu_record_client_hello(const struct emu_record *rec, struct emu_client_hello *out)
{
	memset(out, 0, sizeof(*out));
	if (rec->type != EMU_CT_HANDSHAKE || rec->epoch != 0 || rec->body_len < EMU_HS_HDR_LEN)
		return -1;
	const uint8_t *h = rec->body;
	if (h[0] != EMU_HS_CLIENT_HELLO)
		return -1;
	size_t msg_len = get_be(h + 1, 3);
	size_t frag_off = get_be(h + 6, 3);
	size_t frag_len = get_be(h + 9, 3);
	out->msg_seq = (uint16_t)get_be(h + 4, 2);
	if (frag_len > rec->body_len - EMU_HS_HDR_LEN || frag_off + frag_len > msg_len)
		return -1;
	out->fragmented = frag_off != 0 || frag_len != msg_len;
	const uint8_t *end = h + EMU_HS_HDR_LEN + frag_len;
	/* The cookie sits in the first 2+32+1+32+1+255 bytes: parse what is here. */
	const uint8_t *p = skip_hello_head(h + EMU_HS_HDR_LEN, end);
	if (!p || p >= end)
		return -1;
	out->random = h + EMU_HS_HDR_LEN + 2; /* after client_version */
	size_t clen = *p++;
	if ((size_t)(end - p) < clen)
		return -1;
	out->cookie = p;
	out->cookie_len = clen;
	/* Extensions are optional: a malformed tail only means "no SNI". */
	find_sni(p + clen, end, out);
	return 0;
}

/* HelloVerifyRequest: the record echoes the ClientHello's record sequence
 * number (RFC 6347 §4.2.1) and carries DTLS 1.0 as the spec recommends. */
size_t emu_record_write_hvr(uint8_t *out, size_t size, uint64_t rec_seq, const uint8_t *cookie,
			    size_t cookie_len)
{
	return emu_record_write_hvr_seq(out, size, rec_seq, 0, cookie, cookie_len);
}

/* message_seq echoes the ClientHello's, as Mbed TLS's own (stateful) server
 * does: RFC 6347 §4.2.2 has each answer continue the client's numbering. */
size_t emu_record_write_hvr_seq(uint8_t *out, size_t size, uint64_t rec_seq, uint16_t msg_seq,
				const uint8_t *cookie, size_t cookie_len)
{
	size_t body = 3 + cookie_len;
	size_t total = EMU_RECORD_HDR_LEN + EMU_HS_HDR_LEN + body;
	if (cookie_len > EMU_COOKIE_MAX || size < total)
		return 0;
	uint8_t *p = out;
	p[0] = EMU_CT_HANDSHAKE;
	put_be(p + 1, 0xfeff, 2);
	put_be(p + 3, 0, 2);
	put_be(p + 5, rec_seq & 0xffffffffffffULL, 6);
	put_be(p + 11, EMU_HS_HDR_LEN + body, 2);
	p += EMU_RECORD_HDR_LEN;
	p[0] = EMU_HS_HELLO_VERIFY_REQUEST;
	put_be(p + 1, body, 3);
	put_be(p + 4, msg_seq, 2);
	put_be(p + 6, 0, 3);
	put_be(p + 9, body, 3);
	p += EMU_HS_HDR_LEN;
	put_be(p, 0xfeff, 2);
	p[2] = (uint8_t)cookie_len;
	memcpy(p + 3, cookie, cookie_len);
	return total;
}

/* Alerts are readable only before encryption starts (epoch 0). */
int emu_record_alert(const struct emu_record *rec, int *level, int *description)
{
	if (rec->type != EMU_CT_ALERT || rec->epoch != 0 || rec->body_len != 2)
		return -1;
	*level = rec->body[0];
	*description = rec->body[1];
	return 0;
}

/* One comparable number, so "newer than the last accepted" is a plain <. */
uint64_t emu_record_order(const struct emu_record *rec)
{
	return ((uint64_t)rec->epoch << 48) | rec->seq;
}

/* TLS (stream) records have a 5-byte header (RFC 5246 §6.2.1): type,
 * version 3.x, length. Mbed TLS hands each whole record to the send
 * callback, so a plaintext alert is a 2-byte body; an encrypted one is
 * longer (explicit IV or nonce and tag) and not readable here. */
int emu_record_tls_alert(const uint8_t *buf, size_t len, int *level, int *description)
{
	while (len >= EMU_TLS_RECORD_HDR_LEN && buf[1] == 3) {
		size_t body = (size_t)buf[3] << 8 | buf[4];
		if (body > len - EMU_TLS_RECORD_HDR_LEN)
			return -1;
		if (buf[0] == EMU_CT_ALERT && body == 2) {
			*level = buf[5];
			*description = buf[6];
			return 0;
		}
		buf += EMU_TLS_RECORD_HDR_LEN + body;
		len -= EMU_TLS_RECORD_HDR_LEN + body;
	}
	return -1;
}

/* A TLS record header's first bytes, as far as they are there: a content
 * type TLS 1.2 knows (change_cipher_spec .. heartbeat) and version 3.x. */
static int tls_header_ok(const uint8_t *r, size_t avail)
{
	if (avail >= 1 && (r[0] < EMU_CT_CHANGE_CIPHER_SPEC || r[0] > EMU_CT_HEARTBEAT))
		return 0;
	return avail < 2 || r[1] == 3;
}

/* The handshake bytes of the record being scanned (have of them so far):
 * the message type must be ClientHello and its length within max_msg. */
static int scan_handshake(struct emu_tls_hello_scan *sc, const uint8_t *body, size_t have,
			  size_t max_msg)
{
	for (size_t i = 0; i < have && sc->hs_len + i < sizeof(sc->hs_hdr); i++)
		sc->hs_hdr[sc->hs_len + i] = body[i];
	size_t seen = sc->hs_len + have;
	if (seen >= 1 && sc->hs_hdr[0] != EMU_HS_CLIENT_HELLO)
		return EMU_TLS_HELLO_NOT_CLIENT_HELLO;
	if (seen < sizeof(sc->hs_hdr))
		return EMU_TLS_HELLO_MORE;
	size_t msg = sizeof(sc->hs_hdr) + get_be(sc->hs_hdr + 1, 3);
	if (msg > max_msg)
		return EMU_TLS_HELLO_OVERSIZED;
	return seen >= msg ? EMU_TLS_HELLO_DONE : EMU_TLS_HELLO_MORE;
}

/* Every check runs on the bytes already there, so garbage is refused at its
 * first wrong byte and a stream cut anywhere only asks for more. */
int emu_record_tls_hello_scan(struct emu_tls_hello_scan *sc, const uint8_t *buf, size_t len,
			      size_t max_msg)
{
	for (;;) {
		const uint8_t *r = buf + sc->off;
		size_t avail = len - sc->off;
		if (!tls_header_ok(r, avail))
			return EMU_TLS_HELLO_NOT_TLS;
		if (avail < EMU_TLS_RECORD_HDR_LEN)
			return EMU_TLS_HELLO_MORE;
		size_t rlen = get_be(r + 3, 2), have = avail - EMU_TLS_RECORD_HDR_LEN;
		if (rlen > EMU_TLS_RECORD_MAX)
			return EMU_TLS_HELLO_OVERSIZED_RECORD;
		if (have > rlen)
			have = rlen;
		if (r[0] != EMU_CT_HANDSHAKE)
			return have < rlen ? EMU_TLS_HELLO_MORE : EMU_TLS_HELLO_NOT_HANDSHAKE;
		int st = scan_handshake(sc, r + EMU_TLS_RECORD_HDR_LEN, have, max_msg);
		if (st != EMU_TLS_HELLO_MORE || have < rlen)
			return st;
		sc->hs_len += rlen;
		sc->off += EMU_TLS_RECORD_HDR_LEN + rlen;
	}
}

/* Copies the first handshake message out of the handshake records at buf
 * into msg. Returns its length, or 0 when it is not all there or does not
 * fit. */
static size_t gather_handshake(const uint8_t *buf, size_t len, uint8_t *msg, size_t size)
{
	size_t got = 0, want = 0;
	while (len >= EMU_TLS_RECORD_HDR_LEN && buf[0] == EMU_CT_HANDSHAKE &&
	       (want == 0 || got < want)) {
		size_t rlen = get_be(buf + 3, 2), n = len - EMU_TLS_RECORD_HDR_LEN;
		n = n < rlen ? n : rlen;
		n = n < size - got ? n : size - got;
		memcpy(msg + got, buf + EMU_TLS_RECORD_HDR_LEN, n);
		got += n;
		if (got >= 4)
			want = 4 + get_be(msg + 1, 3);
		if (n < rlen)
			break;
		buf += EMU_TLS_RECORD_HDR_LEN + rlen;
		len -= EMU_TLS_RECORD_HDR_LEN + rlen;
	}
	return want != 0 && got >= want ? want : 0;
}

/* TLS ClientHello (RFC 5246 §7.4.1.2): the same head and extensions as the
 * DTLS one, without the cookie. */
int emu_record_tls_client_hello(const uint8_t *buf, size_t len, uint8_t *msg, size_t msg_size,
				struct emu_client_hello *out)
{
	memset(out, 0, sizeof(*out));
	size_t n = gather_handshake(buf, len, msg, msg_size);
	if (n < 4 || msg[0] != EMU_HS_CLIENT_HELLO)
		return -1;
	const uint8_t *p = skip_hello_head(msg + 4, msg + n);
	if (!p)
		return -1;
	/* Extensions are optional: a malformed tail only means "no SNI". */
	find_sni(p, msg + n, out);
	return 0;
}
