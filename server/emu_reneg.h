#ifndef EMU_RENEG_H
#define EMU_RENEG_H
#include <stddef.h>
#include <stdint.h>

/* Renegotiation attempts on open DTLS sessions. Mbed TLS (renegotiation
 * disabled, its default) answers a ClientHello inside an established
 * session with a no_renegotiation warning alert and goes on: nothing in
 * mbedtls_ssl_read's result says so, and the record is encrypted. So the
 * read is wrapped: an alert-only datagram Mbed TLS sends inside a read that
 * did not fail is that refusal (the only other thing Mbed TLS sends while
 * reading an open session is a retransmitted last flight, which starts
 * with a ChangeCipherSpec), and renegotiation_refused names the session.
 * (A HelloRequest sent to a server is dropped by Mbed TLS without a trace:
 * only servers send it.) */

struct emu_session;

/* mbedtls_ssl_read on open session s, reporting a refused renegotiation. */
int emu_reneg_read(struct emu_session *s, unsigned char *buf, size_t len);
/* Mbed TLS is sending buf on s: counts alert-only datagrams while
 * emu_reneg_read is reading. */
void emu_reneg_note_output(struct emu_session *s, const uint8_t *buf, size_t len);

#endif
