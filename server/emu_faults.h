#ifndef EMU_FAULTS_H
#define EMU_FAULTS_H
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Fault injection driven by the control socket: drop or delay the next N
 * datagrams in either direction, stop answering altogether, or rotate the
 * cookie secret right after the next HelloVerifyRequest. Every fault that
 * fires emits `fault_applied`. */

struct emu_server;
struct emu_delayed;

enum emu_dir { EMU_DIR_IN = 0, EMU_DIR_OUT = 1 };
/* Which public socket a datagram uses: a delayed one goes back there. */
enum emu_path { EMU_PATH_DTLS = 0, EMU_PATH_COAP = 1 };

struct emu_faults {
	uint32_t drop[2];  /* datagrams left to drop, per direction */
	uint32_t delay[2]; /* datagrams left to delay */
	uint32_t delay_ms[2];
	int stopped;		   /* read and discard everything */
	int rotate_after_hvr;	   /* one-shot: new cookie key after the next HVR */
	struct emu_delayed *queue; /* delayed datagrams, in due order */
	uint64_t applied;
};

/* Decides the fate of one datagram: 0 = pass on now, 1 = consumed (dropped
 * or queued for later). */
int emu_faults_filter(struct emu_server *srv, enum emu_dir dir, enum emu_path path,
		      const uint8_t *buf, size_t len, const struct sockaddr *peer,
		      socklen_t peer_len);
/* Delivers delayed datagrams that are due; returns ms until the next one, or -1. */
int64_t emu_faults_run(struct emu_server *srv, int64_t now);
/* A fresh cookie key: every cookie handed out so far stops verifying.
 * 0, or -1 when Mbed TLS could not set one up. */
int emu_faults_rotate_cookie(struct emu_server *srv);
/* Called once a HelloVerifyRequest of len bytes went out to peer: fires the
 * armed rotate-after-HVR fault, if any. */
void emu_faults_hvr_sent(struct emu_server *srv, const struct sockaddr *peer, size_t len);
/* Frees queued datagrams. */
void emu_faults_fini(struct emu_server *srv);

#endif
