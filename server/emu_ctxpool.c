/* The free list behind emu_ctxpool.h. A context is reset when it comes
 * back, not when it goes out again: the previous peer's secrets do not
 * linger in the pool, and the next handshake starts at once. Only
 * contexts of the current default DTLS config are kept, and the pool is
 * emptied when a reload replaces that config, so no pooled context can
 * outlive the config it points at. */
#include "emu_server.h"
#include "emu_ctxpool.h"

#include <stdlib.h>
#include <string.h>

#include "emu_reload.h"

struct emu_ctxpool {
	const mbedtls_ssl_config *conf; /* what the pooled contexts were set up for */
	size_t count;
	struct emu_ctxpool_stats stats;
	mbedtls_ssl_context ctx[EMU_CTXPOOL_MAX];
};

int emu_ctxpool_init(struct emu_server *srv)
{
	srv->ctxpool = calloc(1, sizeof(*srv->ctxpool));
	if (!srv->ctxpool) {
		fprintf(stderr, "lwm2m-emulator: out of memory for the context pool\n");
		return -1;
	}
	return 0;
}

void emu_ctxpool_clear(struct emu_server *srv)
{
	struct emu_ctxpool *p = srv->ctxpool;
	if (!p)
		return;
	while (p->count > 0)
		mbedtls_ssl_free(&p->ctx[--p->count]);
	p->conf = NULL;
}

void emu_ctxpool_fini(struct emu_server *srv)
{
	emu_ctxpool_clear(srv);
	free(srv->ctxpool);
	srv->ctxpool = NULL;
}

struct emu_ctxpool_stats emu_ctxpool_stats(const struct emu_server *srv)
{
	struct emu_ctxpool_stats none = {0, 0};
	return srv->ctxpool ? srv->ctxpool->stats : none;
}

int emu_ctxpool_get(struct emu_server *srv, mbedtls_ssl_context *ssl,
		    const mbedtls_ssl_config *conf)
{
	struct emu_ctxpool *p = srv->ctxpool;
	if (p && p->count > 0 && p->conf == conf) {
		/* A move: the pool's slot owns nothing afterwards. */
		memcpy(ssl, &p->ctx[--p->count], sizeof(*ssl));
		p->stats.reused++;
		return 0;
	}
	if (p)
		p->stats.created++;
	mbedtls_ssl_init(ssl);
	return mbedtls_ssl_setup(ssl, conf);
}

/* Points nothing of the context at the session that is going away: the
 * reset below, and whoever takes the context next, must not reach it. */
static void detach(mbedtls_ssl_context *ssl)
{
	mbedtls_ssl_set_bio(ssl, NULL, NULL, NULL, NULL);
	mbedtls_ssl_set_timer_cb(ssl, NULL, NULL, NULL);
	mbedtls_ssl_set_user_data_p(ssl, NULL);
	mbedtls_ssl_set_export_keys_cb(ssl, NULL, NULL);
}

void emu_ctxpool_put(struct emu_server *srv, mbedtls_ssl_context *ssl)
{
	struct emu_ctxpool *p = srv->ctxpool;
	const mbedtls_ssl_config *conf = mbedtls_ssl_context_get_config(ssl);
	int keep = p && conf && conf == emu_gen_conf(srv) && p->count < EMU_CTXPOOL_MAX &&
		   (p->count == 0 || p->conf == conf);
	if (keep) {
		detach(ssl);
		/* CID off until the next session asks for its own. */
		keep = mbedtls_ssl_set_cid(ssl, MBEDTLS_SSL_CID_DISABLED, NULL, 0) == 0 &&
		       mbedtls_ssl_session_reset(ssl) == 0;
	}
	if (!keep) {
		mbedtls_ssl_free(ssl);
		mbedtls_ssl_init(ssl);
		return;
	}
	p->conf = conf;
	memcpy(&p->ctx[p->count++], ssl, sizeof(*ssl));
	mbedtls_ssl_init(ssl); /* moved: the session's copy owns nothing */
}
