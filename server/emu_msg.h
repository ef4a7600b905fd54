#ifndef EMU_MSG_H
#define EMU_MSG_H
#include <coap3/coap.h>
#include <stddef.h>
#include <stdint.h>

#include "emu_coap_wire.h"
#include "emu_dedup.h"

/* The CoAP message layer, in-process on each session's plaintext: one parse
 * per message (libcoap's coap_pdu_parse), de-duplication of Confirmable
 * requests with the cached response (RFC 7252 §4.5), Block1 reassembly of a
 * large Register/Update (RFC 7959; bounded and timed out), RFC 8323
 * framing and signalling on TLS, and malformed input answered as RFC 7252
 * says without ending the session. Requests go to the LwM2M layer
 * (emu_lwm2m.c), responses to the request layer (emu_request.c). */

#define EMU_BLOCK1_MAX 65536 /* a reassembled request body, at most */

struct emu_session;
struct emu_block1;

/* A session's CoAP state. */
struct emu_msg_state {
	struct emu_dedup dedup;
	uint16_t next_mid;
	uint8_t *rx; /* TCP: bytes of a frame not complete yet */
	size_t rx_len, rx_cap;
	struct emu_block1 *b1; /* the Block1 transfer in progress, NULL: none */
};

/* A request as the LwM2M layer sees it (payload reassembled). */
struct emu_coap_req {
	const coap_pdu_t *pdu;
	int code;
	const char *path; /* "rd/5a3f" (Uri-Path segments joined by '/'), NUL-terminated */
	size_t path_len;
	const char *query; /* "ep=x&lt=60", NUL-terminated, "" when none */
	size_t query_len;
	const uint8_t *payload;
	size_t payload_len;
};

/* The session carries CoAP from now on (handshake done, or a plain peer's
 * first request): picks its message ids; on TLS sends the CSM. */
void emu_msg_open(struct emu_session *s);
/* Frees what the session's CoAP state holds. */
void emu_msg_close(struct emu_session *s);
/* Plaintext from the peer: a datagram, or stream bytes on TLS. Returns 0,
 * or -1 when the session was closed (and freed) on the way. */
int emu_msg_input(struct emu_session *s, const uint8_t *buf, size_t len);
/* Frames m for the session's transport and sends it. Returns 0 or -1 (too
 * large). */
int emu_msg_send(struct emu_session *s, struct emu_coap_msg *m);
/* A fresh message id on s. */
uint16_t emu_msg_next_mid(struct emu_session *s);

#endif
