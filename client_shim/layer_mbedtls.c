/* layer_mbedtls.c: the Mbed TLS reference implementation of the sl_layer.h
 * contract: lifecycle, handshake, send/receive, close; exported vtable. */
#include "client_shim/layer_mbedtls.h"

#include <arpa/inet.h>
#include <mbedtls/net_sockets.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Frees a socket and everything it owns (also on a half-built one). */
static void layer_cleanup(sl_socket_t **sockp)
{
	sl_socket_t *s = sockp ? *sockp : NULL;

	if (!s)
		return;
	layer_net_close(s);
	mbedtls_ssl_free(&s->ssl);
	mbedtls_ssl_config_free(&s->conf);
	mbedtls_ssl_session_free(&s->saved);
	mbedtls_x509_crt_free(&s->ca);
	mbedtls_x509_crl_free(&s->crl);
	mbedtls_x509_crt_free(&s->own_cert);
	mbedtls_pk_free(&s->own_key);
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_entropy_free(&s->entropy);
	layer_conf_free(s);
	free(s);
	*sockp = NULL;
}

/* Allocates a socket and validates/applies the configuration up front. */
static int layer_create(sl_socket_t **out, const sl_config_t *cfg, sl_error_t *err)
{
	sl_socket_t *s;
	int ret = ENOMEM;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return layer_err_set(err, ENOMEM, 0, "out of memory");
	s->fd = -1;
	s->recv_timeout_ms = 30000;
	mbedtls_ssl_init(&s->ssl);
	mbedtls_ssl_config_init(&s->conf);
	mbedtls_ssl_session_init(&s->saved);
	mbedtls_x509_crt_init(&s->ca);
	mbedtls_x509_crl_init(&s->crl);
	mbedtls_x509_crt_init(&s->own_cert);
	mbedtls_pk_init(&s->own_key);
	mbedtls_ctr_drbg_init(&s->drbg);
	mbedtls_entropy_init(&s->entropy);
	ret = layer_conf_copy(s, cfg, err);
	if (ret)
		goto err;
	ret = layer_conf_setup(s, cfg, err);
	if (ret)
		goto err;
	*out = s;
	return 0;
err:
	layer_cleanup(&s);
	return ret;
}

/* True when host is a numeric address (SNI must not carry one). */
static int is_ip_literal(const char *host)
{
	unsigned char tmp[16];

	return inet_pton(AF_INET, host, tmp) == 1 || inet_pton(AF_INET6, host, tmp) == 1;
}

/* (Re)prepares the context for a new connection: BIO, timer, SNI, CID, MTU. */
static int prepare_ssl(sl_socket_t *s, const char *host, sl_error_t *err)
{
	const char *name = s->sni ? s->sni : (is_ip_literal(host) ? NULL : host);
	int ret;

	if (s->ssl_ready)
		ret = mbedtls_ssl_session_reset(&s->ssl);
	else
		ret = mbedtls_ssl_setup(&s->ssl, &s->conf);
	if (ret)
		return layer_err_from_mbedtls(s, err, ret, "cannot set up the TLS context");
	s->ssl_ready = 1;
	mbedtls_ssl_set_bio(&s->ssl, s, layer_net_send, NULL, layer_net_recv_timeout);
	/* The retransmission timer is DTLS's; over TCP an expired one would make
	 * every later read fail with a timeout without reading (seen with 1.3). */
	if (s->cfg.transport == SL_TRANSPORT_DTLS)
		mbedtls_ssl_set_timer_cb(&s->ssl, &s->timer, mbedtls_timing_set_delay,
					 mbedtls_timing_get_delay);
	else
		mbedtls_ssl_set_timer_cb(&s->ssl, NULL, NULL, NULL);
	snprintf(s->host_name, sizeof(s->host_name), "%s", name ? name : "");
	/* No name (an IP literal and no SNI): Mbed TLS >= 3.6.3 would refuse to
	 * verify; an explicit NULL says the chain is checked, the name is not
	 * (layer_ipsan_check then checks the address against the IP SANs). */
	ret = mbedtls_ssl_set_hostname(&s->ssl, name && *name ? name : NULL);
	if (ret)
		return layer_err_from_mbedtls(s, err, ret, "bad SNI/host name");
	if (s->keylog_file)
		mbedtls_ssl_set_export_keys_cb(&s->ssl, layer_keylog_cb, s);
	if (s->cfg.transport == SL_TRANSPORT_DTLS && s->cfg.use_connection_id) {
		ret = mbedtls_ssl_set_cid(&s->ssl, MBEDTLS_SSL_CID_ENABLED, s->own_cid,
					  s->cfg.own_cid_len);
		if (ret)
			return layer_err_from_mbedtls(s, err, ret, "cannot enable the CID");
	}
	return 0;
}

/* Tells Mbed TLS the path MTU left after IP and UDP headers. */
static void apply_mtu(sl_socket_t *s)
{
	unsigned hdr = (s->peer.ss_family == AF_INET6 ? 40 : 20) + 8;

	if (s->cfg.transport == SL_TRANSPORT_DTLS && s->cfg.mtu > hdr)
		mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)(s->cfg.mtu - hdr));
}

/* Runs the handshake step by step so an abbreviated one can be told apart:
 * a full (D)TLS 1.2 handshake passes through ClientKeyExchange, a resumed one
 * goes from ServerHello straight to the server's ChangeCipherSpec; a full
 * TLS 1.3 certificate handshake passes through CertificateRequest. */
static int run_handshake(sl_socket_t *s, sl_error_t *err)
{
	int ret = 0, full = 0;

	s->session_resumed = 0;
	while (!mbedtls_ssl_is_handshake_over(&s->ssl)) {
		ret = mbedtls_ssl_handshake_step(&s->ssl);
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret)
			return layer_err_from_mbedtls(s, err, ret, "handshake failed");
		if (s->ssl.state == MBEDTLS_SSL_CLIENT_KEY_EXCHANGE ||
		    s->ssl.state == MBEDTLS_SSL_CERTIFICATE_REQUEST)
			full = 1;
	}
	/* TLS 1.3 with an external PSK never asks for certificates either: only
	 * certificate mode can tell a ticket resumption from a full handshake. */
	s->session_resumed = !full && (s->ssl.tls_version == MBEDTLS_SSL_VERSION_TLS1_2 ||
				       s->cfg.mode == SL_SECURITY_CERTIFICATE);
	return 0;
}

/* True when every DANE record is usage 0 or 1: constraints on a PKIX
 * validation, which then needs a trust store (RFC 6698 §2.1.1). */
static int dane_needs_pkix(const sl_socket_t *s)
{
	for (size_t i = 0; i < s->dane_count; i++)
		if (s->dane[i].rec.usage != SL_DANE_CA_CONSTRAINT &&
		    s->dane[i].rec.usage != SL_DANE_SERVICE_CERT_CONSTRAINT)
			return 0;
	return s->dane_count > 0;
}

/* Certificate mode needs something to trust unless validation is off. */
static int check_trust(sl_socket_t *s, sl_error_t *err)
{
	if (s->cfg.mode != SL_SECURITY_CERTIFICATE || !s->cfg.cert.server_cert_validation)
		return 0;
	if (!s->ca.raw.p && !s->dane_count)
		return layer_err_set(err, EINVAL, 0,
				     "server certificate validation is on but there is no trust "
				     "store and no DANE record: give one, or turn validation off");
	if (!s->ca.raw.p && dane_needs_pkix(s))
		return layer_err_set(err, EINVAL, 0,
				     "DANE usages 0 and 1 constrain a PKIX validation, which needs "
				     "a trust store: give one (or use usage 2 or 3)");
	return 0;
}

/* With DANE records the chain is verified in OPTIONAL mode: decide here. */
static int check_dane_verdict(sl_socket_t *s, sl_error_t *err)
{
	char info[160];
	uint32_t flags;

	if (!s->dane_count || s->cfg.mode != SL_SECURITY_CERTIFICATE ||
	    !s->cfg.cert.server_cert_validation)
		return 0;
	flags = mbedtls_ssl_get_verify_result(&s->ssl);
	if (!flags)
		return 0;
	mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
				       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
	mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	info[strcspn(info, "\n")] = 0;
	return layer_err_set(err, EPROTO, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED,
			     "server certificate matches no DANE record: %s", info);
}

/* Resolves, connects and either restores a saved context or handshakes. */
static int layer_connect(sl_socket_t *s, const char *host, const char *port, sl_error_t *err)
{
	int ret, restored = 0;

	if (s->fd >= 0)
		return layer_err_set(err, EISCONN, 0, "already connected; close first");
	if ((ret = check_trust(s, err)))
		return ret;
	memset(&s->last_alert, 0, sizeof(s->last_alert));
	s->dead = 0;
	s->records_in = 0;
	s->sent_since_in = 0;
	s->retransmitted = 0;
	s->unanswered = 0;
	s->session_resumed = 0;
	s->cid_resumed = 0;
	ret = layer_net_open(s, host, port, err);
	if (ret)
		return ret;
	ret = prepare_ssl(s, host, err);
	if (ret)
		goto err;
	ret = layer_resume_apply(s, &restored);
	if (ret)
		ret = prepare_ssl(s, host, err);
	if (ret)
		goto err;
	apply_mtu(s);
	/* Over TCP the handshake's reads are bounded by the max handshake time
	 * (over UDP Mbed TLS uses its retransmission timer instead). */
	mbedtls_ssl_conf_read_timeout(
	    &s->conf, s->cfg.transport == SL_TRANSPORT_TLS ? s->hs_timeouts.max_ms : 0);
	if (!restored && (ret = run_handshake(s, err)))
		goto err;
	if (!restored && (ret = check_dane_verdict(s, err)))
		goto err;
	if (!restored && (ret = layer_ipsan_check(s, host, err)))
		goto err;
	s->cid_resumed = restored;
	s->connected = 1;
	if (!restored)
		layer_resume_after_handshake(s);
	return 0;
err:
	layer_net_close(s);
	return ret;
}

/* Remembers how a connection died: a peer's close keeps the session, a
 * fatal error ends it (RFC 5246 7.2.2: no resumption after a fatal alert).
 * Socket errors such as ICMP port unreachable leave the session alone. */
static void note_failure(sl_socket_t *s, int ret)
{
	if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == MBEDTLS_ERR_NET_CONN_RESET)
		s->dead = LAYER_DEAD_CLOSED;
	else if (ret != MBEDTLS_ERR_NET_RECV_FAILED && ret != MBEDTLS_ERR_NET_SEND_FAILED)
		s->dead = LAYER_DEAD_FATAL;
}

/* Remembers what was sent: the same plaintext sent again with no record
 * received in between is a retransmission (CoAP retransmits a request the
 * peer never answered), the sign that the server may have lost us. A single
 * unanswered send (a response, a notification) proves nothing. */
static void note_sent(sl_socket_t *s, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	if (s->sent_since_in && h == s->last_sent)
		s->retransmitted = 1;
	s->last_sent = h;
	s->sent_since_in = 1;
}

/* Sends one datagram; larger than INNER_MTU is EMSGSIZE, as on a device. */
static int layer_send(sl_socket_t *s, const void *buf, size_t len, sl_error_t *err)
{
	size_t done = 0;
	int ret;

	if (!s->connected)
		return layer_err_set(err, ENOTCONN, 0, "not connected");
	if (s->cfg.transport == SL_TRANSPORT_DTLS && len > layer_inner_mtu(s))
		return layer_err_set(err, EMSGSIZE, 0, "%zu bytes exceed the inner MTU of %zu", len,
				     layer_inner_mtu(s));
	while (done < len) {
		ret = mbedtls_ssl_write(&s->ssl, (const unsigned char *)buf + done, len - done);
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE || ret == MBEDTLS_ERR_SSL_WANT_READ)
			continue;
		if (ret < 0) {
			note_failure(s, ret);
			return layer_err_from_mbedtls(s, err, ret, "send failed");
		}
		done += (size_t)ret;
	}
	note_sent(s, buf, len);
	return 0;
}

/* Drops the rest of a datagram that did not fit the caller's buffer. */
static void discard_rest(sl_socket_t *s)
{
	unsigned char scratch[256];

	while (mbedtls_ssl_get_bytes_avail(&s->ssl) > 0)
		if (mbedtls_ssl_read(&s->ssl, scratch, sizeof(scratch)) <= 0)
			break;
}

/* True when Mbed TLS holds decrypted or undecrypted data already read. */
static int has_buffered(sl_socket_t *s)
{
	return s->connected &&
	       (mbedtls_ssl_get_bytes_avail(&s->ssl) > 0 || mbedtls_ssl_check_pending(&s->ssl));
}

/* Receives one datagram (DTLS) or what is available (TLS) within the timeout. */
static int layer_receive(sl_socket_t *s, void *buf, size_t size, size_t *out_len, sl_error_t *err)
{
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	int ret;

	*out_len = 0;
	if (!s->connected)
		return layer_err_set(err, ENOTCONN, 0, "not connected");
	if (s->recv_timeout_ms == 0 && !has_buffered(s) && poll(&pfd, 1, 0) <= 0)
		return layer_err_set(err, ETIMEDOUT, 0, "no data");
	mbedtls_ssl_conf_read_timeout(&s->conf, s->recv_timeout_ms < 0 ? 0
						: s->recv_timeout_ms == 0
						    ? 1
						    : (uint32_t)s->recv_timeout_ms);
	for (;;) {
		ret = mbedtls_ssl_read(&s->ssl, buf, size);
		if (ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret != MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
			break;
		/* TLS 1.3: a ticket arrived after the handshake; keep it. */
		layer_resume_after_handshake(s);
	}
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_TIMEOUT)
		return layer_err_set(err, ETIMEDOUT, ret, "no data within %lld ms",
				     (long long)s->recv_timeout_ms);
	if (ret == 0) {
		s->dead = LAYER_DEAD_CLOSED;
		return layer_err_set(err, ECONNRESET, 0, "connection closed by the peer");
	}
	if (ret < 0) {
		note_failure(s, ret);
		return layer_err_from_mbedtls(s, err, ret, "receive failed");
	}
	*out_len = (size_t)ret;
	s->records_in++;
	s->sent_since_in = 0;
	s->retransmitted = 0;
	s->unanswered = 0;
	if (s->cfg.transport == SL_TRANSPORT_DTLS && mbedtls_ssl_get_bytes_avail(&s->ssl) > 0) {
		discard_rest(s);
		return layer_err_set(err, EMSGSIZE, 0, "datagram larger than the %zu-byte buffer",
				     size);
	}
	return 0;
}

/* Whether the context still proves anything: one the server never answered
 * on (restored and silent since, a request retransmitted without answer, or
 * one the caller gave up on, e.g. the server restarted without state) may be
 * one it has forgotten. Saving it again would make every later connect
 * restore the same dead context instead of handshaking; keeping only the
 * session lets the next connect handshake. The caller's word matters when
 * it gives up before CoAP's first retransmission (ACK_TIMEOUT is 2..3 s). */
static int context_answered(const sl_socket_t *s)
{
	if (s->cid_resumed && !s->records_in)
		return 0;
	return !s->retransmitted && !s->unanswered;
}

/* Ends the connection but keeps what resumption needs: with a CID the whole
 * context goes to the buffer (no close_notify: the session lives on). A
 * connection the peer closed keeps only its session; a fatal one nothing. */
static int layer_close(sl_socket_t *s)
{
	int kept_context = 0;

	if (s->connected && !s->dead)
		kept_context =
		    layer_resume_at_close(s, context_answered(s)) == LAYER_RESUME_CONTEXT;
	if (s->dead == LAYER_DEAD_FATAL)
		layer_resume_forget(s);
	if (s->connected && !kept_context && !s->dead)
		mbedtls_ssl_close_notify(&s->ssl);
	s->connected = 0;
	layer_net_close(s);
	return 0;
}

/* The descriptor the caller polls; -1 while not connected. */
static int layer_get_system_socket(sl_socket_t *s)
{
	return s->fd;
}

/* get_option, with HAS_BUFFERED_DATA answered here where the state lives. */
static int layer_get_option(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	if (opt == SL_OPT_HAS_BUFFERED_DATA) {
		v->flag = has_buffered(s);
		return 0;
	}
	return layer_opt_get(s, opt, v);
}

static const sl_vtable_t layer_vtable = {
    .abi_version = SL_ABI_VERSION,
    .size = sizeof(sl_vtable_t),
    .name = "mbedtls-" MBEDTLS_VERSION_STRING,
    .lacks = 0,
    .create = layer_create,
    .connect = layer_connect,
    .send = layer_send,
    .receive = layer_receive,
    .close = layer_close,
    .cleanup = layer_cleanup,
    .get_system_socket = layer_get_system_socket,
    .get_option = layer_get_option,
    .set_option = layer_opt_set,
};

/* The reference vtable, for the entry point and for layers built on it. */
const sl_vtable_t *layer_mbedtls_vtable(void)
{
	return &layer_vtable;
}
