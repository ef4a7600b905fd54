/* layer_mbedtls_opt.c: get/set options (receive timeout, MTU, resumption
 * flags, negotiated suite and CID, last alert, DANE records). */
#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/ssl_ciphersuites.h>

/* The largest payload one record can carry inside the link MTU: Mbed TLS
 * derives it from the MTU and the negotiated suite's record expansion. */
size_t layer_inner_mtu(sl_socket_t *s)
{
	int n;

	if (!s->connected)
		return 0;
	n = mbedtls_ssl_get_max_out_record_payload(&s->ssl);
	return n > 0 ? (size_t)n : 0;
}

/* Fills the negotiated suite (IANA id and Mbed TLS name). */
static int get_suite(sl_socket_t *s, sl_option_value_t *v)
{
	const char *name;

	memset(&v->suite, 0, sizeof(v->suite));
	if (!s->connected)
		return ENOTCONN;
	v->suite.id = (uint16_t)mbedtls_ssl_get_ciphersuite_id_from_ssl(&s->ssl);
	name = mbedtls_ssl_get_ciphersuite(&s->ssl);
	snprintf(v->suite.name, sizeof(v->suite.name), "%s", name ? name : "");
	return 0;
}

/* Fills own and peer CID; negotiated = 0 when the peer did not take it. */
static int get_cid(sl_socket_t *s, sl_option_value_t *v)
{
	int enabled = 0;

	memset(&v->cid, 0, sizeof(v->cid));
	if (!s->connected)
		return ENOTCONN;
	if (s->cfg.transport != SL_TRANSPORT_DTLS)
		return 0;
	if (mbedtls_ssl_get_peer_cid(&s->ssl, &enabled, v->cid.peer, &v->cid.peer_len))
		return 0;
	v->cid.negotiated = enabled == MBEDTLS_SSL_CID_ENABLED;
	if (v->cid.negotiated &&
	    mbedtls_ssl_get_own_cid(&s->ssl, &enabled, v->cid.own, &v->cid.own_len))
		v->cid.own_len = 0;
	return 0;
}

/* Reads one option; EINVAL for an unknown or write-only one. */
int layer_opt_get(sl_socket_t *s, sl_option_t opt, sl_option_value_t *v)
{
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
		v->i64 = s->recv_timeout_ms;
		return 0;
	case SL_OPT_SESSION_RESUMED:
		v->flag = s->session_resumed;
		return 0;
	case SL_OPT_CONNECTION_ID_RESUMED:
		v->flag = s->cid_resumed;
		return 0;
	case SL_OPT_INNER_MTU:
		v->u64 = layer_inner_mtu(s);
		return s->connected ? 0 : ENOTCONN;
	case SL_OPT_MTU:
		v->u64 = s->cfg.mtu;
		return 0;
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		v->timeouts = s->hs_timeouts;
		return 0;
	case SL_OPT_CIPHERSUITE:
		return get_suite(s, v);
	case SL_OPT_CONNECTION_ID:
		return get_cid(s, v);
	case SL_OPT_LAST_ALERT:
		v->alert = s->last_alert;
		return 0;
	case SL_OPT_BYTES_SENT:
		v->u64 = s->bytes_sent;
		return 0;
	case SL_OPT_BYTES_RECEIVED:
		v->u64 = s->bytes_received;
		return 0;
	default:
		return EINVAL;
	}
}

/* Writes one option; EINVAL for a read-only one or a value out of range. */
int layer_opt_set(sl_socket_t *s, sl_option_t opt, const sl_option_value_t *v)
{
	switch (opt) {
	case SL_OPT_RECV_TIMEOUT:
		if (v->i64 < -1 || v->i64 > UINT32_MAX)
			return EINVAL;
		s->recv_timeout_ms = v->i64;
		return 0;
	case SL_OPT_MTU:
		if (v->u64 < 68 || v->u64 > 65535)
			return EINVAL;
		s->cfg.mtu = (uint32_t)v->u64;
		if (s->connected && s->cfg.transport == SL_TRANSPORT_DTLS)
			mbedtls_ssl_set_mtu(
			    &s->ssl,
			    (uint16_t)(s->cfg.mtu - (s->peer.ss_family == AF_INET6 ? 48 : 28)));
		return 0;
	case SL_OPT_DTLS_HANDSHAKE_TIMEOUTS:
		if (!v->timeouts.min_ms || v->timeouts.min_ms > v->timeouts.max_ms)
			return EINVAL;
		s->hs_timeouts = v->timeouts;
		mbedtls_ssl_conf_handshake_timeout(&s->conf, v->timeouts.min_ms,
						   v->timeouts.max_ms);
		return 0;
	case SL_OPT_DANE_TLSA:
		return layer_dane_set(s, v->dane.records, v->dane.count);
	case SL_OPT_REQUEST_UNANSWERED:
		/* Only news if nothing came back since the last send. */
		if (v->flag && s->connected && s->sent_since_in)
			s->unanswered = 1;
		return 0;
	default:
		return EINVAL;
	}
}
