#ifndef EMU_CTXPOOL_H
#define EMU_CTXPOOL_H
#include <mbedtls/ssl.h>
#include <stdint.h>

/* A bounded free list of set-up DTLS contexts (emu_ctxpool.c): a new
 * handshake takes one that mbedtls_ssl_session_reset made fresh instead of
 * allocating and zeroing its ~33 KB of record buffers again. Contexts are
 * moved in and out by value, so sessions keep theirs embedded. */

struct emu_server;

/* Most contexts kept for reuse; beyond that they are freed. */
#define EMU_CTXPOOL_MAX 64

struct emu_ctxpool_stats {
	uint64_t reused;  /* handshakes that took a pooled context */
	uint64_t created; /* contexts set up from scratch */
};

int emu_ctxpool_init(struct emu_server *srv);
/* Frees every pooled context and the pool. */
void emu_ctxpool_fini(struct emu_server *srv);
/* Fills ssl (uninitialised) with a context set up for conf: a pooled one
 * when it was set up for the same conf, else a new one. Returns 0, or an
 * Mbed TLS error (ssl is then initialised and may be freed). The caller
 * sets every per-session setting again (bio, timer, user data, client
 * transport id, CID, MTU, key export): a reset context has none of the
 * previous peer's. */
int emu_ctxpool_get(struct emu_server *srv, mbedtls_ssl_context *ssl,
		    const mbedtls_ssl_config *conf);
/* Takes a context that is done with: its callbacks are detached and it is
 * reset at once (the previous peer's keys, session, transform and buffers
 * wiped), then kept when it belongs to the current default config and the
 * pool has room, else freed. ssl is left initialised and empty. */
void emu_ctxpool_put(struct emu_server *srv, mbedtls_ssl_context *ssl);
/* Frees every pooled context (the config they use is being replaced). */
void emu_ctxpool_clear(struct emu_server *srv);
struct emu_ctxpool_stats emu_ctxpool_stats(const struct emu_server *srv);

#endif
