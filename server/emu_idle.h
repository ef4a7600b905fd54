#ifndef EMU_IDLE_H
#define EMU_IDLE_H

/* The idle timeout of open DTLS sessions ($.dtls.idle_timeout): a session
 * whose peer sent nothing that authenticates for that long, and that holds
 * no live registration, is closed (session_closed reason idle_timeout). A
 * device that rebound to a new port without CID leaves such a session
 * behind for good otherwise; a registered device, however quiet, keeps its
 * session while its registration lives (the server must reach it). Uses
 * the session's one timer slot, which Mbed TLS no longer needs once the
 * handshake is over (see emu_dtls.c's timer callbacks). */

struct emu_session;

/* An authenticated datagram reached open session s: it is not idle. Arms
 * the idle timer when none is armed (0 = off: nothing is armed). */
void emu_idle_touch(struct emu_session *s);
/* The idle timer of open session s popped: closes it when silent past the
 * timeout and holding no live registration, else re-arms. Returns 1 when
 * s was closed (and freed), else 0. */
int emu_idle_timer(struct emu_session *s);
/* Whether a live registration still uses s: the one place that knows how
 * registrations point at sessions. */
int emu_idle_holds_registration(const struct emu_session *s);

#endif
