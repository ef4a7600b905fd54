#ifndef EMU_TRANSPORT_H
#define EMU_TRANSPORT_H
#include <coap3/coap.h>
#include <stddef.h>
#include <stdint.h>

/* The session contract: what shared code may do with a session, whatever
 * carries it. One table per transport (DTLS in emu_dtls.c, TLS over TCP in
 * emu_tls.c, plain CoAP in emu_plain.c), as Redis's ConnectionType and
 * libcoap's per-backend files; shared code never asks which one it has. */

struct emu_session;

struct emu_transport {
	const char *name;   /* "dtls", "tls", "coap": events and listings */
	coap_proto_t proto; /* CoAP framing on it: datagrams (UDP) or RFC 8323 (TCP) */
	int secure;	    /* (D)TLS: alerts can be sent, contexts saved */
	/* Sends one CoAP message (a datagram, or bytes of the stream). */
	void (*send)(struct emu_session *s, const uint8_t *buf, size_t len);
	/* The session's timer popped (handshake, retransmission, idle). */
	void (*timer)(struct emu_session *s);
	/* Releases what the transport holds for s (sockets, counters). */
	void (*teardown)(struct emu_session *s);
};

extern const struct emu_transport emu_transport_dtls;
extern const struct emu_transport emu_transport_tls;
extern const struct emu_transport emu_transport_plain;

#endif
