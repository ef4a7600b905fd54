#ifndef EMU_STATE_H
#define EMU_STATE_H

struct emu_server;

#include <stddef.h>
#include <stdint.h>

/* Crash-safe restart (--state FILE): every state_interval seconds and on
 * SIGTERM the established sessions (mbedtls_ssl_context_save) and the
 * registrations are written to FILE atomically (temp + fsync + rename, mode
 * 0600: it holds session keys, with a SHA-256 over its canonical JSON). On
 * start they are read back (the file stays), each context's outgoing record
 * counter is moved past any number it can have used after the save, and the
 * file is rewritten at once, so a CID client keeps talking without a new
 * handshake even after kill -9. Without --state a restart loses everything,
 * as a real restart does. */

/* Writes the state file at shutdown. Returns 0 or -1 (event + stderr say
 * why). When emu_state_exit_fast(), the live DTLS contexts are consumed by
 * the save (the caller exits without tearing them down). */
int emu_state_save(struct emu_server *srv, const char *path);
/* 1 when a shutdown whose state save succeeded may exit without the
 * per-session teardown (freeing 100k contexts, their buffers, the
 * hibernated records and registrations: seconds of work nobody needs once
 * the state is durable); 0 in sanitizer builds and with
 * LWM2M_EMU_FULL_TEARDOWN=1, which free everything (=0: 1 even there). */
int emu_state_exit_fast(void);
/* Saves with the live sessions kept running, when state_interval seconds
 * have passed since the last save (called from the event loop). */
void emu_state_tick(struct emu_server *srv, int64_t now);
/* Restores from the state file if it exists. Returns 0 (also when there is
 * no file), or -1 when the file exists but cannot be used. */
int emu_state_load(struct emu_server *srv, const char *path);
/* Checked before start: the file (if any) and its folder must be this
 * user's and not writable by others, a file must be creatable there, and
 * an existing file must validate (version, checksum, shape, no duplicate
 * sessions or CIDs, verifiable contexts). Returns 0, or -1 (stderr names
 * the path, or the JSON path, and why). */
int emu_state_check(const char *path);

/* The sequence numbers a restored context skips, for a file saved at
 * saved_at (wall clock): at least 2^24, and 2^20 per second since. */
uint64_t emu_state_seq_margin(double saved_at);
/* Moves the outgoing record sequence number (cur_out_ctr) of a context
 * saved by Mbed TLS 3.6's mbedtls_ssl_context_save on by margin, in place;
 * *seq gets the new number. Refuses (-1, why) a blob whose layout it cannot
 * verify: another version or build options, wrong lengths, trailing bytes,
 * an epoch other than 1, or a counter that would overflow 48 bits. */
int emu_state_ctx_advance(uint8_t *blob, size_t len, uint64_t margin, uint64_t *seq, char *why,
			  size_t why_size);

#endif
