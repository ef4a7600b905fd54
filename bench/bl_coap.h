/* bl_coap: the few CoAP messages (RFC 7252) the load generator sends, written
 * by hand, and just enough parsing of the answers to follow a registration:
 * the code, the token, the type and the Location-Path. */
#ifndef BL_COAP_H
#define BL_COAP_H

#include <stddef.h>
#include <stdint.h>

#define BL_COAP_TOKEN_LEN 4
#define BL_COAP_LOCATION_MAX 128

enum bl_coap_type { BL_COAP_CON = 0, BL_COAP_NON = 1, BL_COAP_ACK = 2, BL_COAP_RST = 3 };

struct bl_coap_msg {
	enum bl_coap_type type;
	uint8_t code; /* class << 5 | detail: 2.01 is 0x41 */
	uint16_t mid;
	uint8_t token[8];
	size_t token_len;
	char location[BL_COAP_LOCATION_MAX]; /* "/rd/abc", "" when none */
	char uri[BL_COAP_LOCATION_MAX];	     /* Uri-Path of a request: "/3/0/1", "" when none */
	int32_t observe;		     /* Observe option value, -1 when absent */
	int32_t accept;			     /* Accept option value, -1 when absent */
	int has_query;			     /* a Uri-Query option (Write-Attributes, Discover) */
};

/* What an answer (piggybacked ACK or a notification) carries. */
struct bl_coap_reply {
	enum bl_coap_type type;
	uint8_t code;
	uint16_t mid;
	const uint8_t *token;
	size_t token_len;
	int32_t observe;	/* -1: no Observe option */
	int32_t content_format; /* -1: no Content-Format option (and no payload) */
	const uint8_t *payload;
	size_t payload_len;
};

/* POST /rd?ep=EP&lt=LT&lwm2m=1.0&b=U with the link-format payload LINKS. Returns the
 * length written to out, or 0 when it does not fit in out_size. */
size_t bl_coap_register(uint8_t *out, size_t out_size, uint16_t mid, const uint8_t *token,
			const char *ep, unsigned lt, const char *links);

/* POST LOCATION ("/rd/abc", split at '/'), no payload: an Update. */
size_t bl_coap_update(uint8_t *out, size_t out_size, uint16_t mid, const uint8_t *token,
		      const char *location);

/* An empty ACK for MID (to a separate CON response). */
size_t bl_coap_empty_ack(uint8_t *out, size_t out_size, uint16_t mid);

/* A response (ACK to a request, or a NON notification) as r says. */
size_t bl_coap_reply(uint8_t *out, size_t out_size, const struct bl_coap_reply *r);

/* Parses a datagram; -1 when it is not a CoAP 1 message. */
int bl_coap_parse(const uint8_t *buf, size_t len, struct bl_coap_msg *msg);

/* "2.01" for 0x41, into a caller's buffer of at least 5 bytes. */
const char *bl_coap_code_str(uint8_t code, char out[8]);

#endif
