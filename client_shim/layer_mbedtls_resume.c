/* layer_mbedtls_resume.c: the caller-owned resumption buffer. It holds a
 * plain session after a fresh handshake, or the whole connection context
 * (mbedtls_ssl_context_save) when a CID was negotiated, so that a rebooted
 * client can continue sending without a handshake.
 *
 * Format: "SLRB" | version 1 | kind (1 session, 2 context) | 0 0 |
 *         blob length (u32 BE) | FNV-1a-32 of blob (u32 BE) | blob */
#include "client_shim/layer_mbedtls.h"

#include <stdlib.h>
#include <string.h>

#define RB_MAGIC "SLRB"
#define RB_VERSION 1
#define RB_HDR 16

/* FNV-1a: catches a truncated or damaged blob before Mbed TLS parses it. */
static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ *p++) * 16777619u;
	return h;
}

/* Writes v big-endian. */
static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Reads a big-endian u32. */
static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Wraps a blob in the buffer format; -1 when it does not fit. */
long layer_resume_pack(unsigned char *buf, size_t size, int kind, const unsigned char *blob,
		       size_t blob_len)
{
	if (!buf || size < RB_HDR || blob_len > size - RB_HDR || blob_len > UINT32_MAX)
		return -1;
	memcpy(buf, RB_MAGIC, 4);
	buf[4] = RB_VERSION;
	buf[5] = (unsigned char)kind;
	buf[6] = buf[7] = 0;
	put_u32(buf + 8, (uint32_t)blob_len);
	put_u32(buf + 12, fnv1a(blob, blob_len));
	if (blob_len)
		memmove(buf + RB_HDR, blob, blob_len);
	return (long)(RB_HDR + blob_len);
}

/* Finds the blob; NONE for an empty, foreign, truncated or damaged buffer. */
int layer_resume_unpack(const unsigned char *buf, size_t size, const unsigned char **blob,
			size_t *blob_len)
{
	uint32_t len;

	*blob = NULL;
	*blob_len = 0;
	if (!buf || size < RB_HDR || memcmp(buf, RB_MAGIC, 4) || buf[4] != RB_VERSION)
		return LAYER_RESUME_NONE;
	if (buf[5] != LAYER_RESUME_SESSION && buf[5] != LAYER_RESUME_CONTEXT)
		return LAYER_RESUME_NONE;
	len = get_u32(buf + 8);
	if (len == 0 || len > size - RB_HDR || fnv1a(buf + RB_HDR, len) != get_u32(buf + 12))
		return LAYER_RESUME_NONE;
	*blob = buf + RB_HDR;
	*blob_len = len;
	return buf[5];
}

/* Marks the caller's buffer empty (a loaded context must never be reused). */
static void wipe_buffer(sl_socket_t *s)
{
	if (s->cfg.resumption_buffer && s->cfg.resumption_buffer_size >= RB_HDR)
		memset(s->cfg.resumption_buffer, 0, RB_HDR);
}

/* True when this connection negotiated a CID (so its context is worth keeping). */
static int cid_negotiated(sl_socket_t *s)
{
	unsigned char peer[MBEDTLS_SSL_CID_OUT_LEN_MAX];
	size_t len = 0;
	int enabled = 0;

	if (s->cfg.transport != SL_TRANSPORT_DTLS || !s->cfg.use_connection_id)
		return 0;
	if (mbedtls_ssl_get_peer_cid(&s->ssl, &enabled, peer, &len))
		return 0;
	return enabled == MBEDTLS_SSL_CID_ENABLED;
}

/* Serializes the live context into the buffer (the context is reset). */
static int store_context(sl_socket_t *s)
{
	unsigned char *buf = s->cfg.resumption_buffer;
	size_t size = s->cfg.resumption_buffer_size, olen = 0;

	if (size < RB_HDR)
		return -1;
	if (mbedtls_ssl_context_save(&s->ssl, buf + RB_HDR, size - RB_HDR, &olen))
		return -1;
	return layer_resume_pack(buf, size, LAYER_RESUME_CONTEXT, buf + RB_HDR, olen) < 0 ? -1 : 0;
}

/* Serializes the current session into the buffer. */
static int store_session(sl_socket_t *s)
{
	unsigned char *buf = s->cfg.resumption_buffer;
	size_t size = s->cfg.resumption_buffer_size, olen = 0;

	if (size < RB_HDR ||
	    mbedtls_ssl_session_save(&s->saved, buf + RB_HDR, size - RB_HDR, &olen))
		return -1;
	return layer_resume_pack(buf, size, LAYER_RESUME_SESSION, buf + RB_HDR, olen) < 0 ? -1 : 0;
}

/* After a handshake: keeps the session in memory and in the buffer. Without
 * a buffer (NULL or size 0) nothing is kept: like a device with no storage,
 * and like avs_net, every connect is then a full handshake. */
int layer_resume_after_handshake(sl_socket_t *s)
{
	mbedtls_ssl_session_free(&s->saved);
	mbedtls_ssl_session_init(&s->saved);
	s->have_saved = 0;
	if (!s->cfg.resumption_buffer || !s->cfg.resumption_buffer_size)
		return LAYER_RESUME_NONE;
	s->have_saved = mbedtls_ssl_get_session(&s->ssl, &s->saved) == 0;
	if (s->have_saved && s->cfg.resumption_buffer && store_session(s) == 0)
		return LAYER_RESUME_SESSION;
	return LAYER_RESUME_NONE;
}

/* At close: with a CID negotiated (and context_ok), keeps the whole context
 * (which resets ssl); otherwise the buffer keeps the session, so that the
 * next connect handshakes (abbreviated if the server still knows it).
 * Returns the kind stored. */
int layer_resume_at_close(sl_socket_t *s, int context_ok)
{
	if (s->cfg.resumption_buffer && context_ok && cid_negotiated(s) && store_context(s) == 0)
		return LAYER_RESUME_CONTEXT;
	if (s->cfg.resumption_buffer && s->have_saved && store_session(s) == 0)
		return LAYER_RESUME_SESSION;
	return LAYER_RESUME_NONE;
}

/* After a fatal error neither the session nor a context may be reused. */
void layer_resume_forget(sl_socket_t *s)
{
	wipe_buffer(s);
	mbedtls_ssl_session_free(&s->saved);
	mbedtls_ssl_session_init(&s->saved);
	s->have_saved = 0;
}

/* Loads a saved context; on failure Mbed TLS has freed ssl, so it is
 * re-initialised and the caller prepares it again (full handshake). */
static int apply_context(sl_socket_t *s, const unsigned char *blob, size_t len, int *restored)
{
	if (mbedtls_ssl_context_load(&s->ssl, blob, len) != 0) {
		mbedtls_ssl_init(&s->ssl);
		s->ssl_ready = 0;
		wipe_buffer(s);
		return 1;
	}
	mbedtls_ssl_set_bio(&s->ssl, s, layer_net_send, NULL, layer_net_recv_timeout);
	mbedtls_ssl_set_timer_cb(&s->ssl, &s->timer, mbedtls_timing_set_delay,
				 mbedtls_timing_get_delay);
	wipe_buffer(s);
	*restored = 1;
	return 0;
}

/* A session of a suite we no longer offer would make the server fail the
 * handshake ("required cipher missing"): such a session is not offered. */
static int suite_offered(const sl_socket_t *s, int suite)
{
	const int *p;

	if (!s->suites)
		return 1;
	for (p = s->suites; *p; p++)
		if (*p == suite)
			return 1;
	return 0;
}

/* Offers a saved session for an abbreviated handshake; a bad blob is ignored. */
static void apply_session(sl_socket_t *s, const unsigned char *blob, size_t len)
{
	mbedtls_ssl_session tmp;

	mbedtls_ssl_session_init(&tmp);
	if (mbedtls_ssl_session_load(&tmp, blob, len) == 0 && suite_offered(s, tmp.ciphersuite) &&
	    mbedtls_ssl_set_session(&s->ssl, &tmp) == 0) {
		mbedtls_ssl_session_free(&s->saved);
		s->saved = tmp;
		s->have_saved = 1;
		return;
	}
	mbedtls_ssl_session_free(&tmp);
}

/* Before a connect: restores a context (no handshake needed), or offers a
 * session. Returns nonzero when the context must be prepared again. */
int layer_resume_apply(sl_socket_t *s, int *restored)
{
	const unsigned char *blob;
	size_t len;
	int kind;

	*restored = 0;
	kind = layer_resume_unpack(s->cfg.resumption_buffer, s->cfg.resumption_buffer_size, &blob,
				   &len);
	if (kind == LAYER_RESUME_CONTEXT && s->cfg.transport == SL_TRANSPORT_DTLS)
		return apply_context(s, blob, len, restored);
	if (kind == LAYER_RESUME_SESSION)
		apply_session(s, blob, len);
	else if (s->have_saved)
		mbedtls_ssl_set_session(&s->ssl, &s->saved);
	return 0;
}
