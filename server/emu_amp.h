#ifndef EMU_AMP_H
#define EMU_AMP_H
#include <stddef.h>
#include <stdint.h>

/* The anti-amplification limit of a DTLS handshake whose address is not
 * validated (cookies off; RFC 9147 §5.1): at most 3x the bytes received go
 * out. What is over budget is held back in order and released as the peer's
 * retransmitted ClientHellos raise the budget, instead of being dropped
 * while Mbed TLS believes it was sent (each retransmission would then
 * restart the flight, and a flight over 3x a ClientHello never completes).
 * A retransmission of a held datagram (same records but for the record
 * sequence numbers) is not held twice, so the queue holds at most one copy
 * of the flight per packing (Mbed TLS repacks a flight into 508-byte
 * datagrams from its second retransmission on, RFC 6347 §4.1.1.1), and
 * never more than EMU_AMP_QUEUE_MAX bytes (beyond, datagrams are dropped). */

#define EMU_AMP_QUEUE_MAX 65536

struct emu_session;

/* Sends one datagram to the peer (the session's wire): the length sent, or
 * a negative Mbed TLS error. */
typedef int (*emu_amp_send_fn)(struct emu_session *s, const uint8_t *buf, size_t len);

/* True when s's output is limited: a handshake on an unvalidated address. */
int emu_amp_limited(const struct emu_session *s);
/* True when buf must be held back instead of sent: over the budget, or
 * behind datagrams already held (order is kept). */
int emu_amp_must_hold(const struct emu_session *s, size_t len);
/* Holds buf back (or drops it when the queue is full), with an
 * amplification_limited event. */
void emu_amp_hold(struct emu_session *s, const uint8_t *buf, size_t len);
/* Sends the held datagrams the budget now allows, in order, with an
 * amplification_released event; frees the queue once output is no longer
 * limited (the handshake is over). */
void emu_amp_release(struct emu_session *s, emu_amp_send_fn send);
/* Frees what s holds (the session is closing). */
void emu_amp_free(struct emu_session *s);

#endif
