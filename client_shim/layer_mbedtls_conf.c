/* layer_mbedtls_conf.c: copies the caller's configuration and turns it into
 * an mbedtls_ssl_config (PSK or certificates, suites, CID, timeouts). */
#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <psa/crypto.h>

/* strdup that keeps NULL as NULL and reports allocation failure. */
static int dup_str(char **dst, const char *src)
{
	*dst = NULL;
	if (!src)
		return 0;
	*dst = strdup(src);
	return *dst ? 0 : -1;
}

/* True for suites whose key exchange uses a pre-shared key. */
static int suite_is_psk(const mbedtls_ssl_ciphersuite_t *cs)
{
	switch (cs->key_exchange) {
	case MBEDTLS_KEY_EXCHANGE_PSK:
	case MBEDTLS_KEY_EXCHANGE_DHE_PSK:
	case MBEDTLS_KEY_EXCHANGE_ECDHE_PSK:
	case MBEDTLS_KEY_EXCHANGE_RSA_PSK:
		return 1;
	default:
		return 0;
	}
}

/* Without a configured list, offers only the library's suites that fit the
 * security mode (as Anjay does): a server must not pick a certificate suite
 * for a PSK client, nor a PSK suite for a certificate client. */
static int default_suites(sl_socket_t *s, sl_error_t *err)
{
	const int *all = mbedtls_ssl_list_ciphersuites();
	const mbedtls_ssl_ciphersuite_t *cs;
	size_t n = 0, i;

	while (all[n])
		n++;
	s->suites = calloc(n + 1, sizeof(int));
	if (!s->suites)
		return layer_err_set(err, ENOMEM, 0, "out of memory");
	for (i = 0, n = 0; all[i]; i++) {
		cs = mbedtls_ssl_ciphersuite_from_id(all[i]);
		if (cs && cs->min_tls_version <= MBEDTLS_SSL_VERSION_TLS1_2 &&
		    suite_is_psk(cs) == (s->cfg.mode == SL_SECURITY_PSK))
			s->suites[n++] = all[i];
	}
	if (!n)
		return layer_err_set(err, EINVAL, 0, "this Mbed TLS has no suite for the %s mode",
				     s->cfg.mode == SL_SECURITY_PSK ? "PSK" : "certificate");
	return 0;
}

/* Copies the ciphersuite list, checking each IANA id is one Mbed TLS knows. */
static int copy_suites(sl_socket_t *s, const sl_config_t *cfg, sl_error_t *err)
{
	size_t i;

	if (!cfg->num_ciphersuites)
		return s->cfg.min_version == SL_VERSION_TLS1_3 ? 0 : default_suites(s, err);
	s->suites = calloc(cfg->num_ciphersuites + 1, sizeof(int));
	s->suites_iana = calloc(cfg->num_ciphersuites, sizeof(uint16_t));
	if (!s->suites || !s->suites_iana)
		return layer_err_set(err, ENOMEM, 0, "out of memory");
	for (i = 0; i < cfg->num_ciphersuites; i++) {
		if (!mbedtls_ssl_ciphersuite_from_id(cfg->ciphersuites[i]))
			return layer_err_set(err, EINVAL, 0,
					     "ciphersuite 0x%04X (%u) is unknown to this Mbed TLS "
					     "build; use an IANA id it supports, e.g. 0xC0A8",
					     cfg->ciphersuites[i], cfg->ciphersuites[i]);
		s->suites[i] = cfg->ciphersuites[i];
		s->suites_iana[i] = cfg->ciphersuites[i];
	}
	s->cfg.ciphersuites = s->suites_iana;
	return 0;
}

/* Checks the parts of a configuration that do not need Mbed TLS. */
static int check_config(const sl_config_t *cfg, sl_error_t *err)
{
	if (cfg->transport != SL_TRANSPORT_DTLS && cfg->transport != SL_TRANSPORT_TLS)
		return layer_err_set(err, EINVAL, 0, "transport must be DTLS or TLS");
	if (cfg->mode == SL_SECURITY_PSK &&
	    (!cfg->psk.identity || !cfg->psk.key || !cfg->psk.key_len || cfg->psk.key_len > 64))
		return layer_err_set(err, EINVAL, 0,
				     "PSK mode needs an identity and a key of 1..64 bytes");
	if (cfg->use_connection_id && cfg->own_cid_len > SL_CID_MAX)
		return layer_err_set(err, EINVAL, 0, "own CID is %zu bytes; at most %d",
				     cfg->own_cid_len, SL_CID_MAX);
	if (cfg->min_version == SL_VERSION_TLS1_3 && cfg->transport == SL_TRANSPORT_DTLS)
		return layer_err_set(err, EINVAL, 0,
				     "DTLS 1.3 is not available in Mbed TLS; use 1.2 or TLS");
	if (cfg->use_connection_id && cfg->transport != SL_TRANSPORT_DTLS)
		return layer_err_set(err, EINVAL, 0, "a Connection ID needs DTLS");
	if (cfg->handshake_timeouts.min_ms > cfg->handshake_timeouts.max_ms)
		return layer_err_set(err, EINVAL, 0, "handshake timeout min %u > max %u ms",
				     cfg->handshake_timeouts.min_ms,
				     cfg->handshake_timeouts.max_ms);
	return 0;
}

/* Deep-copies the configuration so the caller may free theirs after create
 * (except the resumption buffer, which stays theirs, as in avs_net). */
int layer_conf_copy(sl_socket_t *s, const sl_config_t *cfg, sl_error_t *err)
{
	int ret = check_config(cfg, err);

	if (ret)
		return ret;
	s->cfg = *cfg;
	memset(&s->cfg.cert, 0, sizeof(s->cfg.cert));
	s->cfg.cert.server_cert_validation = cfg->cert.server_cert_validation;
	s->cfg.ciphersuites = NULL;
	if (dup_str(&s->psk_identity, cfg->psk.identity) || dup_str(&s->sni, cfg->sni) ||
	    dup_str(&s->keylog_file, cfg->keylog_file))
		return layer_err_set(err, ENOMEM, 0, "out of memory");
	s->cfg.psk.identity = s->psk_identity;
	s->cfg.sni = s->sni;
	s->cfg.keylog_file = s->keylog_file;
	if (cfg->psk.key_len) {
		s->psk_key = malloc(cfg->psk.key_len);
		if (!s->psk_key)
			return layer_err_set(err, ENOMEM, 0, "out of memory");
		memcpy(s->psk_key, cfg->psk.key, cfg->psk.key_len);
	}
	s->cfg.psk.key = s->psk_key;
	if (cfg->use_connection_id && cfg->own_cid_len)
		memcpy(s->own_cid, cfg->own_cid, cfg->own_cid_len);
	s->cfg.own_cid = s->own_cid;
	s->hs_timeouts = cfg->handshake_timeouts;
	if (!s->hs_timeouts.min_ms && !s->hs_timeouts.max_ms) {
		s->hs_timeouts.min_ms = 1000;
		s->hs_timeouts.max_ms = 60000;
	}
	if (!s->cfg.mtu)
		s->cfg.mtu = 1500;
	return copy_suites(s, cfg, err);
}

/* Reports a certificate file problem with the file name and Mbed TLS's words. */
static int file_err(sl_error_t *err, int ret, const char *what, const char *path)
{
	char text[96];

	mbedtls_strerror(ret, text, sizeof(text));
	return layer_err_set(err, EINVAL, ret, "cannot load %s '%s': %s", what, path, text);
}

/* Loads the trust store, CRLs, client chain and key named in the config. */
static int load_certs(sl_socket_t *s, const sl_cert_t *c, sl_error_t *err)
{
	int ret;

	if (c->trust_store_file && (ret = mbedtls_x509_crt_parse_file(&s->ca, c->trust_store_file)))
		return file_err(err, ret, "trust store", c->trust_store_file);
	if (c->crl_file && (ret = mbedtls_x509_crl_parse_file(&s->crl, c->crl_file)))
		return file_err(err, ret, "CRL file", c->crl_file);
	if (!c->client_chain_file != !c->client_key_file)
		return layer_err_set(err, EINVAL, 0,
				     "client certificate chain and key must be given together");
	if (!c->client_chain_file)
		return 0;
	if ((ret = mbedtls_x509_crt_parse_file(&s->own_cert, c->client_chain_file)))
		return file_err(err, ret, "client certificate chain", c->client_chain_file);
	ret = mbedtls_pk_parse_keyfile(&s->own_key, c->client_key_file, c->client_key_password,
				       mbedtls_ctr_drbg_random, &s->drbg);
	if (ret)
		return file_err(err, ret, "client private key", c->client_key_file);
	if ((ret = mbedtls_ssl_conf_own_cert(&s->conf, &s->own_cert, &s->own_key)))
		return file_err(err, ret, "client certificate", c->client_chain_file);
	return 0;
}

/* Sets PSK or certificate credentials on the config. */
static int conf_security(sl_socket_t *s, const sl_config_t *in, sl_error_t *err)
{
	int ret;

	if (s->cfg.mode == SL_SECURITY_PSK) {
		ret = mbedtls_ssl_conf_psk(&s->conf, s->psk_key, s->cfg.psk.key_len,
					   (const unsigned char *)s->psk_identity,
					   strlen(s->psk_identity));
		if (ret && s->cfg.psk.key_len > MBEDTLS_PSK_MAX_LEN)
			return layer_err_set(
			    err, EINVAL, ret,
			    "PSK rejected by Mbed TLS (%d): the key is %zu bytes, this "
			    "build allows at most MBEDTLS_PSK_MAX_LEN = %d",
			    ret, (size_t)s->cfg.psk.key_len, MBEDTLS_PSK_MAX_LEN);
		return ret ? layer_err_set(err, EINVAL, ret, "PSK rejected by Mbed TLS (%d)", ret)
			   : 0;
	}
	ret = load_certs(s, &in->cert, err);
	if (ret)
		return ret;
	mbedtls_ssl_conf_ca_chain(&s->conf, s->ca.raw.p ? &s->ca : NULL,
				  s->crl.raw.p ? &s->crl : NULL);
	mbedtls_ssl_conf_authmode(&s->conf, s->cfg.cert.server_cert_validation
						? MBEDTLS_SSL_VERIFY_REQUIRED
						: MBEDTLS_SSL_VERIFY_NONE);
	return 0;
}

/* Versions, suites, CID and timeouts: the parts that do not depend on mode. */
static int conf_protocol(sl_socket_t *s, sl_error_t *err)
{
	mbedtls_ssl_protocol_version version;
	int ret;

	/* 1.2 unless 1.3 is asked for (TLS only): one version, never a downgrade. */
	version = s->cfg.min_version == SL_VERSION_TLS1_3 ? MBEDTLS_SSL_VERSION_TLS1_3
							  : MBEDTLS_SSL_VERSION_TLS1_2;
	mbedtls_ssl_conf_min_tls_version(&s->conf, version);
	mbedtls_ssl_conf_max_tls_version(&s->conf, version);
	if (s->suites)
		mbedtls_ssl_conf_ciphersuites(&s->conf, s->suites);
	mbedtls_ssl_conf_handshake_timeout(&s->conf, s->hs_timeouts.min_ms, s->hs_timeouts.max_ms);
	mbedtls_ssl_conf_rng(&s->conf, mbedtls_ctr_drbg_random, &s->drbg);
	if (s->cfg.use_connection_id) {
		ret = mbedtls_ssl_conf_cid(&s->conf, s->cfg.own_cid_len,
					   MBEDTLS_SSL_UNEXPECTED_CID_IGNORE);
		if (ret)
			return layer_err_set(err, EINVAL, ret, "CID length %zu rejected",
					     s->cfg.own_cid_len);
	}
	return 0;
}

/* Builds the RNG, the mbedtls_ssl_config and the context: done once, at
 * create, so bad files or suites are reported before any traffic. */
int layer_conf_setup(sl_socket_t *s, const sl_config_t *in, sl_error_t *err)
{
	static const char pers[] = "sl_layer_mbedtls";
	int ret, transport;

	if (psa_crypto_init() != PSA_SUCCESS)
		return layer_err_set(err, EIO, 0, "psa_crypto_init failed");
	ret = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func, &s->entropy,
				    (const unsigned char *)pers, sizeof(pers) - 1);
	if (ret)
		return layer_err_set(err, EIO, ret, "cannot seed the RNG (%d)", ret);
	transport = s->cfg.transport == SL_TRANSPORT_DTLS ? MBEDTLS_SSL_TRANSPORT_DATAGRAM
							  : MBEDTLS_SSL_TRANSPORT_STREAM;
	ret = mbedtls_ssl_config_defaults(&s->conf, MBEDTLS_SSL_IS_CLIENT, transport,
					  MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret)
		return layer_err_set(err, EIO, ret, "mbedtls_ssl_config_defaults failed (%d)", ret);
	if ((ret = conf_protocol(s, err)))
		return ret;
	return conf_security(s, in, err);
}

/* Releases what layer_conf_copy and layer_conf_setup allocated. */
void layer_conf_free(sl_socket_t *s)
{
	free(s->psk_identity);
	if (s->psk_key)
		mbedtls_platform_zeroize(s->psk_key, s->cfg.psk.key_len);
	free(s->psk_key);
	free(s->sni);
	free(s->keylog_file);
	free(s->suites);
	free(s->suites_iana);
}
