#ifndef EMU_AMP_H
#define EMU_AMP_H
#include <stddef.h>
#include <stdint.h>

/* The anti-amplification limit of a DTLS handshake whose address is not
 * validated (cookies off; RFC 9147 §5.1): at most 3x the bytes received go
 * out. What is over budget is held back and released (first fit, in order)
 * as the peer's retransmitted ClientHellos raise the budget, instead of
 * being dropped while Mbed TLS believes it was sent (each retransmission
 * would then restart the flight, and a flight over 3x a ClientHello never
 * completed). Budget goes to what the peer was not sent yet: the handshake
 * fragments that went out are remembered (message_seq, byte range), so
 * Mbed TLS's retransmissions of them (same packing, or repacked into
 * 508-byte datagrams from its second retransmission on, RFC 6347
 * §4.1.1.1) are not sent again while anything new waits, and a held
 * datagram is not held twice. At most EMU_AMP_QUEUE_MAX bytes are held per
 * session (beyond, datagrams are dropped). */

#define EMU_AMP_QUEUE_MAX 65536

struct emu_session;

/* Sends one datagram to the peer (the session's wire): the length sent, or
 * a negative Mbed TLS error. */
typedef int (*emu_amp_send_fn)(struct emu_session *s, const uint8_t *buf, size_t len);

/* True when s's output is limited: a handshake on an unvalidated address. */
int emu_amp_limited(const struct emu_session *s);
/* Takes buf when it must not go out now: held back (over the budget),
 * a retransmission of a held datagram (not held twice), or dropped (queue
 * full), with an amplification_limited event; returns 1 then, or 0 when
 * buf fits the budget and should be sent now. */
int emu_amp_hold(struct emu_session *s, const uint8_t *buf, size_t len);
/* Sends the held datagrams the budget now allows (first fit, in order),
 * with an amplification_released event; frees the queue once output is no
 * longer limited (the handshake is over). */
void emu_amp_release(struct emu_session *s, emu_amp_send_fn send);
/* Frees what s holds (the session is closing). */
void emu_amp_free(struct emu_session *s);

#endif
