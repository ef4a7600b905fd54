/* layer_avsnet.c: the sl_layer.h vtable over one avs_net (D)TLS socket.
 * Each sl operation is one avs_net public call (avs_net_dtls_socket_create /
 * avs_net_ssl_socket_create, avs_net_socket_connect, _send, _receive, _close,
 * _cleanup, _get_opt, _set_opt, _get_system); what differs between the two
 * contracts is handled here and listed in docs/socket-layer.md. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "avsnet/layer_avsnet.h"

#ifndef LAYER_AVSNET_NAME
#define LAYER_AVSNET_NAME "avsnet"
#endif
#ifndef LAYER_AVSNET_LACKS
#define LAYER_AVSNET_LACKS SL_LACKS_KEYLOG
#endif

/* avs_net creates the TCP/UDP socket under a (D)TLS one only at its first
 * connect, and until then refuses socket options (EBADF). The same socket,
 * made from the same backend_configuration and attached with
 * avs_net_socket_decorate (the public way, which leaves an unconnected
 * backend for connect to use), lets the receive timeout be set before the
 * first connect too. The (D)TLS socket owns it from then on. A socket that
 * cannot be decorated (a custom one may not implement it) is used as it is:
 * options set before its first connect are then applied after it. */
static void attach_backend(sl_socket_t *s, avs_net_socket_t *sock)
{
	avs_net_socket_t *backend = NULL;
	const avs_net_socket_configuration_t *bc = &s->conf.ssl.backend_configuration;
	avs_error_t e = s->transport == SL_TRANSPORT_TLS ? avs_net_tcp_socket_create(&backend, bc)
							 : avs_net_udp_socket_create(&backend, bc);

	if (avs_is_ok(e))
		e = avs_net_socket_decorate(sock, backend);
	if (avs_is_err(e))
		avs_net_socket_cleanup(&backend);
}

/* avs_net_*_socket_create does no I/O: whatever it refuses (AVS_EPROTO for
 * a PSK too long for the library, a TLS library code for a key that does not
 * fit the certificate, ...) is a bad configuration, EINVAL in sl_layer.h. */
static int create_refused(sl_socket_t *s, sl_error_t *err, avs_error_t e)
{
	int code = layer_avsnet_err(s, err, e, "avs_net refused the configuration");

	if (code == ENOMEM)
		return code;
	if (err)
		err->code = EINVAL;
	return EINVAL;
}

/* (Re)creates the avs_net socket from s->conf. avs_net takes DANE and the
 * MTU only at creation, so set_option recreates a socket that is not
 * connected; the session survives in the caller's resumption buffer. */
int layer_avsnet_open(sl_socket_t *s, int dane, sl_error_t *err)
{
	avs_net_socket_t *sock = NULL;
	avs_error_t e;
	int ret;

	if (s->conf.ssl.security.mode == AVS_NET_SECURITY_CERTIFICATE)
		s->conf.ssl.security.data.cert.dane = dane != 0;
	e = s->transport == SL_TRANSPORT_TLS ? avs_net_ssl_socket_create(&sock, &s->conf.ssl)
					     : avs_net_dtls_socket_create(&sock, &s->conf.ssl);
	if (avs_is_err(e))
		return create_refused(s, err, e);
	attach_backend(s, sock);
	avs_net_socket_cleanup(&s->avs);
	s->avs = sock;
	s->has_dane = dane != 0;
	if (s->recv_timeout_ms >= -1) {
		sl_option_value_t v = {.i64 = s->recv_timeout_ms};
		ret = layer_avsnet_set_option(s, SL_OPT_RECV_TIMEOUT, &v);
		if (ret)
			return layer_avsnet_err_set(err, ret, "cannot set the receive timeout");
	}
	return 0;
}

/* Frees everything create() made, in the order avs_net needs (the socket
 * uses the PRNG until its cleanup). */
static void avsnet_cleanup(sl_socket_t **sock)
{
	sl_socket_t *s = sock ? *sock : NULL;

	if (!s)
		return;
	avs_net_socket_cleanup(&s->avs);
	avs_crypto_prng_free(&s->prng);
	layer_avsnet_conf_free(&s->conf);
	free(s);
	*sock = NULL;
}

/* create: configuration copied, PRNG made, avs_net socket created. */
static int avsnet_create(sl_socket_t **out, const sl_config_t *cfg, sl_error_t *err)
{
	sl_socket_t *s;
	int ret;

	*out = NULL;
	if (cfg->transport != SL_TRANSPORT_DTLS && cfg->transport != SL_TRANSPORT_TLS)
		return layer_avsnet_err_set(err, EINVAL, "transport %d: not DTLS or TLS",
					    (int)cfg->transport);
	s = calloc(1, sizeof(*s));
	if (!s)
		return layer_avsnet_err_set(err, ENOMEM, "out of memory");
	s->transport = cfg->transport;
	s->recv_timeout_ms = -2; /* avs_net's own default until set */
	s->prng = avs_crypto_prng_new(NULL, NULL);
	if (!s->prng) {
		ret = layer_avsnet_err_set(err, EIO, "avs_crypto_prng_new failed");
		goto err;
	}
	ret = layer_avsnet_conf_build(&s->conf, cfg, s->prng, err);
	if (!ret)
		ret = layer_avsnet_open(s, 0, err);
	if (ret)
		goto err;
	*out = s;
	return 0;
err:
	avsnet_cleanup(&s);
	return ret;
}

/* avs_net's TLS (TCP) handshake reads with the socket's receive timeout
 * (its DTLS one uses dtls_handshake_timeouts); sl_layer.h bounds both by the
 * handshake timeouts. During a TLS connect the receive timeout is therefore
 * the maximum handshake timeout; the caller's is put back (or, on a socket
 * that had no backend to take it before, applied) afterwards. */
static int connect_timeout(sl_socket_t *s, int during)
{
	avs_net_socket_opt_value_t a;

	if (!during && s->recv_timeout_ms >= -1) {
		sl_option_value_t v = {.i64 = s->recv_timeout_ms};
		return layer_avsnet_set_option(s, SL_OPT_RECV_TIMEOUT, &v);
	}
	if (s->transport != SL_TRANSPORT_TLS)
		return 0;
	memset(&a, 0, sizeof(a));
	a.recv_timeout = during ? s->conf.hs.max : AVS_NET_SOCKET_DEFAULT_RECV_TIMEOUT;
	return layer_avsnet_errno(
	    avs_net_socket_set_opt(s->avs, AVS_NET_SOCKET_OPT_RECV_TIMEOUT, a));
}

/* connect: resolve + handshake, or (avs_net with a CID context in the
 * buffer) a restore without one; avs_net decides, CONNECTION_ID_RESUMED tells. */
static int avsnet_connect(sl_socket_t *s, const char *host, const char *port, sl_error_t *err)
{
	avs_error_t e;
	int ret;

	if (s->connected)
		return layer_avsnet_err_set(err, EISCONN, "already connected");
	memset(&s->last_alert, 0, sizeof(s->last_alert));
	(void)connect_timeout(s, 1); /* fails only on an undecorated socket */
	e = avs_net_socket_connect(s->avs, host, port);
	if (avs_is_err(e))
		return layer_avsnet_err(s, err, e, "avs_net_socket_connect");
	s->connected = 1;
	ret = connect_timeout(s, 0);
	if (ret)
		return layer_avsnet_err_set(err, ret, "cannot restore the receive timeout");
	return 0;
}

/* send: one datagram (DTLS) or the whole buffer (TLS). */
static int avsnet_send(sl_socket_t *s, const void *buf, size_t len, sl_error_t *err)
{
	avs_error_t e;

	if (!s->connected)
		return layer_avsnet_err_set(err, ENOTCONN, "not connected");
	e = avs_net_socket_send(s->avs, buf, len);
	return avs_is_err(e) ? layer_avsnet_err(s, err, e, "avs_net_socket_send") : 0;
}

/* receive: within the receive timeout. avs_net reports the peer's
 * close_notify (and, for TLS, the TCP EOF) as success with 0 bytes, for
 * DTLS too (avs_commons' Mbed TLS socket returns MBEDTLS_ERR_SSL_PEER_CLOSE_
 * NOTIFY as AVS_OK); sl_layer.h calls that ECONNRESET. An empty DTLS record
 * looks the same through avs_net; no LwM2M peer sends one (CoAP needs 4). */
static int avsnet_receive(sl_socket_t *s, void *buf, size_t size, size_t *out_len, sl_error_t *err)
{
	avs_error_t e;

	*out_len = 0;
	if (!s->connected)
		return layer_avsnet_err_set(err, ENOTCONN, "not connected");
	e = avs_net_socket_receive(s->avs, out_len, buf, size);
	if (avs_is_err(e))
		return layer_avsnet_err(s, err, e, "avs_net_socket_receive");
	if (*out_len == 0 && size > 0)
		return layer_avsnet_err_set(err, ECONNRESET,
					    "the server closed the connection (avs_net: 0 bytes)");
	return 0;
}

/* close: avs_net writes the session (or CID context) to the caller's buffer
 * and closes; the socket can connect again. */
static int avsnet_close(sl_socket_t *s)
{
	avs_error_t e = avs_net_socket_close(s->avs);

	s->connected = 0;
	return layer_avsnet_errno(e);
}

/* The descriptor avs_net polls on: avs_net_socket_get_system points at it. */
static int avsnet_get_system_socket(sl_socket_t *s)
{
	const void *fd = s->connected ? avs_net_socket_get_system(s->avs) : NULL;

	return fd ? *(const int *)fd : -1;
}

static const sl_vtable_t avsnet_vtable = {
    .abi_version = SL_ABI_VERSION,
    .size = sizeof(sl_vtable_t),
    .name = LAYER_AVSNET_NAME,
    .lacks = LAYER_AVSNET_LACKS,
    .create = avsnet_create,
    .connect = avsnet_connect,
    .send = avsnet_send,
    .receive = avsnet_receive,
    .close = avsnet_close,
    .cleanup = avsnet_cleanup,
    .get_system_socket = avsnet_get_system_socket,
    .get_option = layer_avsnet_get_option,
    .set_option = layer_avsnet_set_option,
};

/* The entry point lwm2m-client-shim --layer looks up (SL_ENTRY_SYMBOL). */
const sl_vtable_t *sl_layer_entry(void)
{
	return &avsnet_vtable;
}
