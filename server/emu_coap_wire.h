#ifndef EMU_COAP_WIRE_H
#define EMU_COAP_WIRE_H
#include <coap3/coap.h>
#include <stddef.h>
#include <stdint.h>

/* CoAP message encoding, the part libcoap's public API leaves out: a
 * message is built option by option (coap_opt_encode does each option's
 * delta and length) and framed for UDP (RFC 7252 §3) or for TCP/TLS
 * (RFC 8323 §3.2) at the end. Decoding is libcoap's coap_pdu_parse. */

#define EMU_COAP_HDR_ROOM 16   /* the largest header: TCP 1+4+1 plus an 8-byte token */
#define EMU_COAP_BODY_MAX 8192 /* options + payload of one message */
#define EMU_COAP_TCP_MAX 65536 /* largest RFC 8323 frame this server reads */

#define EMU_COAP_CON 0
#define EMU_COAP_NON 1
#define EMU_COAP_ACK 2
#define EMU_COAP_RST 3

/* CoAP over TCP signalling codes (RFC 8323 §5). */
#define EMU_COAP_CSM 0xe1
#define EMU_COAP_PING 0xe2
#define EMU_COAP_PONG 0xe3
#define EMU_COAP_RELEASE 0xe4
#define EMU_COAP_ABORT 0xe5

struct emu_coap_msg {
	uint8_t buf[EMU_COAP_HDR_ROOM + EMU_COAP_BODY_MAX];
	size_t body_len;   /* options + payload, from buf + EMU_COAP_HDR_ROOM */
	uint16_t last_opt; /* options must be added in increasing order */
	int type, code, overflow;
	int has_payload; /* nothing may follow the payload */
	uint16_t mid;
	uint8_t token[8];
	size_t token_len;
};

/* Starts a message (type and mid are ignored on TCP). */
void emu_coap_msg_init(struct emu_coap_msg *m, int type, int code, uint16_t mid,
		       const uint8_t *token, size_t token_len);
/* Appends an option; numbers must not decrease. */
void emu_coap_msg_opt(struct emu_coap_msg *m, uint16_t num, const void *val, size_t len);
/* Appends an unsigned-integer option in its shortest form. */
void emu_coap_msg_opt_uint(struct emu_coap_msg *m, uint16_t num, unsigned val);
/* Appends one Uri-Path (or Location-Path, ...) option per segment of "/a/b". */
void emu_coap_msg_opt_path(struct emu_coap_msg *m, uint16_t num, const char *path);
/* Appends the payload (after the 0xFF marker); the last thing added. */
void emu_coap_msg_payload(struct emu_coap_msg *m, const uint8_t *data, size_t len);
/* Frames the message for proto; returns where it starts and its length in
 * *len, or NULL when it did not fit (overflow). */
const uint8_t *emu_coap_msg_frame(struct emu_coap_msg *m, coap_proto_t proto, size_t *len);

/* The size of the RFC 8323 frame that starts at buf (avail bytes there):
 * 0 when more bytes are needed to tell, else the whole frame's length
 * (which may exceed avail). */
size_t emu_coap_tcp_frame_len(const uint8_t *buf, size_t avail);

/* "2.05" for a code. */
const char *emu_coap_code_text(int code, char buf[8]);

#endif
