/* layer_mbedtls_ipsan.c: the server name check when the URI host is an IP
 * literal and no SNI is configured. RFC 6066 forbids an IP address as SNI,
 * so Mbed TLS is given no host name and checks no name at all; the address
 * is checked here against the certificate's iPAddress SANs instead. */
#include "client_shim/layer_mbedtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

/* Parses host as IPv4 or IPv6; returns the address length, 0 if not one. */
static size_t parse_ip(const char *host, unsigned char out[16])
{
	if (inet_pton(AF_INET, host, out) == 1)
		return 4;
	if (inet_pton(AF_INET6, host, out) == 1)
		return 16;
	return 0;
}

/* True when one of crt's subjectAltName iPAddress entries is ip. */
int layer_ipsan_match(const mbedtls_x509_crt *crt, const unsigned char *ip, size_t ip_len)
{
	const mbedtls_x509_sequence *cur;
	mbedtls_x509_subject_alternative_name san;
	int found = 0;

	for (cur = &crt->subject_alt_names; cur && cur->buf.p && !found; cur = cur->next) {
		memset(&san, 0, sizeof(san));
		if (mbedtls_x509_parse_subject_alt_name(&cur->buf, &san) != 0)
			continue;
		found = san.type == MBEDTLS_X509_SAN_IP_ADDRESS &&
			san.san.unstructured_name.len == ip_len &&
			memcmp(san.san.unstructured_name.p, ip, ip_len) == 0;
		mbedtls_x509_free_subject_alt_name(&san);
	}
	return found;
}

/* After the handshake: with validation on, no SNI and an IP literal host,
 * the certificate must name that address. DANE records decide on their own
 * (RFC 7671: DANE-EE ignores names), so they skip this check. */
int layer_ipsan_check(sl_socket_t *s, const char *host, sl_error_t *err)
{
	const mbedtls_x509_crt *peer;
	unsigned char ip[16];
	size_t ip_len;

	if (s->cfg.mode != SL_SECURITY_CERTIFICATE || !s->cfg.cert.server_cert_validation ||
	    s->dane_count || s->host_name[0] || !(ip_len = parse_ip(host, ip)))
		return 0;
	peer = mbedtls_ssl_get_peer_cert(&s->ssl);
	if (peer && layer_ipsan_match(peer, ip, ip_len))
		return 0;
	mbedtls_ssl_send_alert_message(&s->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
				       MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
	return layer_err_set(err, EPROTO, MBEDTLS_ERR_X509_CERT_VERIFY_FAILED,
			     "server certificate has no IP SAN %s (no SNI configured): set sni "
			     "to a name it carries, or turn validation off",
			     host);
}
