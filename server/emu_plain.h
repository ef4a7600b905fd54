#ifndef EMU_PLAIN_H
#define EMU_PLAIN_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Plain CoAP over UDP (the CoAP port, 5683 by default). Each peer address
 * gets a session like a DTLS one, minus the security: the same CoAP layer
 * (so the same de-duplication, the same LwM2M handlers, and
 * server-initiated requests through the control API), the same faults, the
 * same events and control listing. A session is created by the first CoAP
 * request from an address (a spoofed source costs one session, so their
 * number is capped) and closed after $.coap.idle_timeout seconds without a
 * datagram, unless the registration made on it is still alive. */

struct emu_server;
struct emu_session;

/* Opens the public socket on bind:coap_port; returns the port, or -1 after
 * printing why. */
int emu_plain_open(struct emu_server *srv);
/* Closes the public socket (sessions are closed by the caller). */
void emu_plain_close(struct emu_server *srv);
/* Routes one datagram (read by emu_demux_readable, after faults) to its session, creating it for a
 * request from a new address; anything else is dropped and counted. */
void emu_plain_dispatch(struct emu_server *srv, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t from_len);
/* True when buf holds a CoAP message header this server can route (RFC
 * 7252 §3: version 1, token length 0..8, the token present). */
int emu_plain_is_coap(const uint8_t *buf, size_t len);

#endif
