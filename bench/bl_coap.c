/* bl_coap: hand-written CoAP for the load generator (see bl_coap.h). Written
 * by hand rather than with libcoap's PDU API so that the generator's own cost
 * per request stays a few hundred nanoseconds and it shares no code with the
 * server it measures. */
#include "bl_coap.h"

#include <stdio.h>
#include <string.h>

#define OPT_OBSERVE 6
#define OPT_LOCATION_PATH 8
#define OPT_URI_PATH 11
#define OPT_CONTENT_FORMAT 12
#define OPT_URI_QUERY 15
#define OPT_ACCEPT 17
#define CODE_POST 0x02
#define CF_LINK_FORMAT 40

struct writer {
	uint8_t *p;
	size_t len, size;
	unsigned last_opt;
	int overflow;
};

/* Appends n bytes; an overflow is remembered and reported once at the end. */
static void put(struct writer *w, const void *data, size_t n)
{
	if (w->overflow || w->size - w->len < n) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->len, data, n);
	w->len += n;
}

/* The 4-bit delta/length nibble and its 0..2 extension bytes (RFC 7252 §3.1). */
static unsigned nibble(size_t v, uint8_t ext[2], size_t *ext_len)
{
	if (v < 13) {
		*ext_len = 0;
		return (unsigned)v;
	}
	if (v < 269) {
		ext[0] = (uint8_t)(v - 13);
		*ext_len = 1;
		return 13;
	}
	ext[0] = (uint8_t)((v - 269) >> 8);
	ext[1] = (uint8_t)(v - 269);
	*ext_len = 2;
	return 14;
}

/* Options must come in ascending number order; callers do that. */
static void put_option(struct writer *w, unsigned number, const void *val, size_t len)
{
	uint8_t d_ext[2], l_ext[2];
	size_t d_len, l_len;
	unsigned d = nibble(number - w->last_opt, d_ext, &d_len);
	unsigned l = nibble(len, l_ext, &l_len);
	uint8_t head = (uint8_t)(d << 4 | l);
	put(w, &head, 1);
	put(w, d_ext, d_len);
	put(w, l_ext, l_len);
	put(w, val, len);
	w->last_opt = number;
}

/* Version 1, type, token length, code, message ID, token. */
static void put_header(struct writer *w, enum bl_coap_type type, uint8_t code, uint16_t mid,
		       const uint8_t *token, size_t token_len)
{
	uint8_t h[4] = {(uint8_t)(1 << 6 | type << 4 | token_len), code, (uint8_t)(mid >> 8),
			(uint8_t)mid};
	put(w, h, sizeof(h));
	put(w, token, token_len);
}

/* See bl_coap.h. Options in ascending order: 11, 12, 15 x 4. The version
 * and binding are what an LwM2M 1.0 device over UDP sends: Wakaama's server
 * refuses a Register without lwm2m= (4.00), which LwM2M 1.1 makes
 * mandatory. */
size_t bl_coap_register(uint8_t *out, size_t out_size, uint16_t mid, const uint8_t *token,
			const char *ep, unsigned lt, const char *links)
{
	struct writer w = {.p = out, .size = out_size};
	char q_ep[96], q_lt[24];
	uint8_t cf = CF_LINK_FORMAT;
	int n_ep = snprintf(q_ep, sizeof(q_ep), "ep=%s", ep);
	int n_lt = snprintf(q_lt, sizeof(q_lt), "lt=%u", lt);
	if (n_ep < 0 || (size_t)n_ep >= sizeof(q_ep) || n_lt < 0)
		return 0;
	put_header(&w, BL_COAP_CON, CODE_POST, mid, token, BL_COAP_TOKEN_LEN);
	put_option(&w, OPT_URI_PATH, "rd", 2);
	put_option(&w, OPT_CONTENT_FORMAT, &cf, 1);
	put_option(&w, OPT_URI_QUERY, q_ep, (size_t)n_ep);
	put_option(&w, OPT_URI_QUERY, q_lt, (size_t)n_lt);
	put_option(&w, OPT_URI_QUERY, "lwm2m=1.0", 9);
	put_option(&w, OPT_URI_QUERY, "b=U", 3);
	put(&w, "\xff", 1);
	put(&w, links, strlen(links));
	return w.overflow ? 0 : w.len;
}

/* See bl_coap.h. One Uri-Path option per segment of the location. */
size_t bl_coap_update(uint8_t *out, size_t out_size, uint16_t mid, const uint8_t *token,
		      const char *location)
{
	struct writer w = {.p = out, .size = out_size};
	const char *seg = location;
	put_header(&w, BL_COAP_CON, CODE_POST, mid, token, BL_COAP_TOKEN_LEN);
	while (*seg) {
		const char *end;
		if (*seg == '/') {
			seg++;
			continue;
		}
		end = strchr(seg, '/');
		if (!end)
			end = seg + strlen(seg);
		put_option(&w, OPT_URI_PATH, seg, (size_t)(end - seg));
		seg = end;
	}
	return w.overflow ? 0 : w.len;
}

/* See bl_coap.h. */
size_t bl_coap_empty_ack(uint8_t *out, size_t out_size, uint16_t mid)
{
	struct writer w = {.p = out, .size = out_size};
	put_header(&w, BL_COAP_ACK, 0, mid, NULL, 0);
	return w.overflow ? 0 : w.len;
}

/* A uint option value in the fewest bytes (RFC 7252 §3.2: 0 is empty). */
static size_t uint_bytes(uint32_t v, uint8_t out[4])
{
	size_t n = 0;
	for (int shift = 24; shift >= 0; shift -= 8)
		if (n || v >> shift & 0xff)
			out[n++] = (uint8_t)(v >> shift);
	return n;
}

/* See bl_coap.h. Options in ascending order: Observe (6), Content-Format (12). */
size_t bl_coap_reply(uint8_t *out, size_t out_size, const struct bl_coap_reply *r)
{
	struct writer w = {.p = out, .size = out_size};
	uint8_t obs[3], cf[4];
	put_header(&w, r->type, r->code, r->mid, r->token, r->token_len);
	if (r->observe >= 0) {
		uint32_t v = (uint32_t)r->observe & 0xffffff; /* 3 bytes, RFC 7641 §3.4 */
		obs[0] = (uint8_t)(v >> 16);
		obs[1] = (uint8_t)(v >> 8);
		obs[2] = (uint8_t)v;
		put_option(&w, OPT_OBSERVE, obs, sizeof(obs));
	}
	if (r->content_format >= 0) {
		put_option(&w, OPT_CONTENT_FORMAT, cf, uint_bytes((uint32_t)r->content_format, cf));
		put(&w, "\xff", 1);
		put(&w, r->payload, r->payload_len);
	}
	return w.overflow ? 0 : w.len;
}

/* Appends "/seg" to a path buffer; a segment that does not fit is cut off. */
static void path_append(char *path, size_t size, const uint8_t *seg, size_t len)
{
	size_t used = strlen(path);
	if (used + 1 + len >= size)
		return;
	path[used++] = '/';
	memcpy(path + used, seg, len);
	path[used + len] = '\0';
}

/* An Observe (0..3 bytes) or Accept (0..2) value, network order; -2 when
 * longer than the option allows, so that it matches no known value. */
static int32_t uint_value(const uint8_t *p, size_t len, size_t max)
{
	uint32_t v = 0;
	if (len > max)
		return -2;
	for (size_t i = 0; i < len; i++)
		v = v << 8 | p[i];
	return (int32_t)v;
}

/* Reads one extended delta or length; -1 past the end or on the reserved 15. */
static int read_ext(unsigned nib, const uint8_t **p, const uint8_t *end, size_t *v)
{
	if (nib < 13) {
		*v = nib;
		return 0;
	}
	if (nib == 13 && end - *p >= 1) {
		*v = 13 + (*p)[0];
		*p += 1;
		return 0;
	}
	if (nib == 14 && end - *p >= 2) {
		*v = 269 + ((size_t)(*p)[0] << 8 | (*p)[1]);
		*p += 2;
		return 0;
	}
	return -1;
}

/* Location-Path and Uri-Path as "/a/b", Observe, Accept and whether a
 * Uri-Query came; the rest are skipped. */
static int parse_options(const uint8_t *p, const uint8_t *end, struct bl_coap_msg *msg)
{
	unsigned number = 0;
	while (p < end && *p != 0xff) {
		size_t delta, len;
		uint8_t head = *p++;
		if (read_ext(head >> 4, &p, end, &delta) < 0 ||
		    read_ext(head & 0x0f, &p, end, &len) < 0 || (size_t)(end - p) < len)
			return -1;
		number += (unsigned)delta;
		if (number == OPT_LOCATION_PATH)
			path_append(msg->location, sizeof(msg->location), p, len);
		else if (number == OPT_URI_PATH)
			path_append(msg->uri, sizeof(msg->uri), p, len);
		else if (number == OPT_OBSERVE)
			msg->observe = uint_value(p, len, 3);
		else if (number == OPT_ACCEPT)
			msg->accept = uint_value(p, len, 2);
		else if (number == OPT_URI_QUERY)
			msg->has_query = 1;
		p += len;
	}
	return 0;
}

/* See bl_coap.h; checks the header before trusting any length in it. */
int bl_coap_parse(const uint8_t *buf, size_t len, struct bl_coap_msg *msg)
{
	memset(msg, 0, sizeof(*msg));
	msg->observe = -1;
	msg->accept = -1;
	if (len < 4 || buf[0] >> 6 != 1 || (buf[0] & 0x0f) > 8 || len < 4u + (buf[0] & 0x0f))
		return -1;
	msg->type = (enum bl_coap_type)(buf[0] >> 4 & 3);
	msg->token_len = buf[0] & 0x0f;
	msg->code = buf[1];
	msg->mid = (uint16_t)(buf[2] << 8 | buf[3]);
	memcpy(msg->token, buf + 4, msg->token_len);
	return parse_options(buf + 4 + msg->token_len, buf + len, msg);
}

/* For error messages: the code as a human reads it. */
const char *bl_coap_code_str(uint8_t code, char out[8])
{
	snprintf(out, 8, "%u.%02u", code >> 5, code & 0x1fu);
	return out;
}
