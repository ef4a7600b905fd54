#ifndef FZ_EMU_H
#define FZ_EMU_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "emu_server.h"

/* The real emulator (server/), set up in the fuzzing process itself: DTLS on
 * 127.0.0.1 with an ephemeral port, plain CoAP on another one, events built
 * but not written. The fuzz targets feed datagrams straight to its demux and run
 * its loop's handlers for what follows (bridge, libcoap, timers). */

#define FZ_PSK_IDENTITY "fuzz"
#define FZ_PSK_HEX "00112233445566778899aabbccddeeff"

/* Starts the emulator once with cookies on/off, a CID length (-1 = CID
 * off) and optionally a control socket path. Aborts when it cannot start:
 * nothing could be fuzzed then. */
struct emu_server *fz_emu_start(int cookies, int cid_len, const char *control);
/* Stops the emulator fz_emu_start started and frees its config, so a
 * target that needs a fresh one per input (fuzz_state_bin) can start it
 * again without leaking. */
void fz_emu_stop(struct emu_server *srv);
/* Runs the loop's handlers for what is ready within wait_ms, then until
 * nothing more is ready (the bridge and libcoap hops take several rounds). */
void fz_emu_pump(struct emu_server *srv, int wait_ms);
/* Closes every session and lingering TLS connection, so one input cannot
 * leave state for the next. */
void fz_emu_close_all(struct emu_server *srv);
/* A loopback source address 127.0.0.a:port (never 0: the demux keys on it). */
socklen_t fz_emu_addr(uint8_t a, uint16_t port, struct sockaddr_storage *out);

/* Splits a fuzz input into datagrams, each a 2-byte big-endian length then
 * its bytes (the last one may be short), and calls fn with each copied into
 * a buffer of exactly its size, so ASan sees any read past its end. */
typedef void (*fz_dgram_fn)(void *ctx, const uint8_t *buf, size_t len);
void fz_emu_split(const uint8_t *data, size_t size, fz_dgram_fn fn, void *ctx);

#endif
