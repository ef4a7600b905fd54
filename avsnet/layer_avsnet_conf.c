/* layer_avsnet_conf.c: sl_config_t -> avs_net_ssl_configuration_t. Every
 * pointer avs_net keeps (timeouts, suites, file names, PSK) points into
 * copies owned here, so the caller's configuration may go away after create;
 * the resumption buffer alone stays the caller's (both contracts agree). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "avsnet/layer_avsnet.h"

/* A heap copy of an optional string; 0 when there was nothing to copy. */
static int dup_opt(char **out, const char *in)
{
	*out = NULL;
	if (!in)
		return 0;
	*out = strdup(in);
	return *out ? 0 : ENOMEM;
}

/* A heap copy of a byte string (PSK identity or key). */
static int dup_bytes(unsigned char **out, size_t *out_len, const void *in, size_t len)
{
	*out = NULL;
	*out_len = len;
	if (!len)
		return 0;
	*out = malloc(len);
	if (!*out)
		return ENOMEM;
	memcpy(*out, in, len);
	return 0;
}

/* sl_version_t -> the minimum version avs_net will negotiate. sl's
 * "default" is (D)TLS 1.2; avs_net's default is the library's choice. */
static avs_net_ssl_version_t version_of(sl_version_t v)
{
	return v == SL_VERSION_TLS1_3 ? AVS_NET_SSL_VERSION_TLSv1_3 : AVS_NET_SSL_VERSION_TLSv1_2;
}

/* PSK: identity and key as buffers (avs_crypto_psk_*_info_from_buffer). */
static int conf_psk(layer_avsnet_conf_t *c, const sl_config_t *cfg, sl_error_t *err)
{
	avs_net_psk_info_t psk;
	size_t id_len = cfg->psk.identity ? strlen(cfg->psk.identity) : 0;

	if (dup_bytes(&c->identity, &c->identity_len, cfg->psk.identity, id_len) ||
	    dup_bytes(&c->key, &c->key_len, cfg->psk.key, cfg->psk.key_len))
		return layer_avsnet_err_set(err, ENOMEM, "out of memory");
	memset(&psk, 0, sizeof(psk));
	psk.identity = avs_crypto_psk_identity_info_from_buffer(c->identity, c->identity_len);
	psk.key = avs_crypto_psk_key_info_from_buffer(c->key, c->key_len);
	c->ssl.security = avs_net_security_info_from_psk(psk);
	return 0;
}

/* Certificates: the files go to avs_crypto_*_info_from_file. The system
 * trust store is ignored: sl_layer.h trusts only what it is given. */
static int conf_cert(layer_avsnet_conf_t *c, const sl_config_t *cfg, sl_error_t *err)
{
	avs_net_certificate_info_t info;
	const sl_cert_t *in = &cfg->cert;

	if (dup_opt(&c->trust_store, in->trust_store_file) || dup_opt(&c->crl, in->crl_file) ||
	    dup_opt(&c->client_chain, in->client_chain_file) ||
	    dup_opt(&c->client_key, in->client_key_file) ||
	    dup_opt(&c->key_password, in->client_key_password))
		return layer_avsnet_err_set(err, ENOMEM, "out of memory");
	memset(&info, 0, sizeof(info));
	info.server_cert_validation = in->server_cert_validation != 0;
	info.ignore_system_trust_store = true;
	if (c->trust_store)
		info.trusted_certs = avs_crypto_certificate_chain_info_from_file(c->trust_store);
	if (c->crl)
		info.cert_revocation_lists = avs_crypto_cert_revocation_list_info_from_file(c->crl);
	if (c->client_chain)
		info.client_cert = avs_crypto_certificate_chain_info_from_file(c->client_chain);
	if (c->client_key)
		info.client_key =
		    avs_crypto_private_key_info_from_file(c->client_key, c->key_password);
	c->ssl.security = avs_net_security_info_from_certificates(info);
	return 0;
}

/* Ciphersuites as avs_net wants them: uint32_t IANA ids, a socket copy. */
static int conf_suites(layer_avsnet_conf_t *c, const sl_config_t *cfg, sl_error_t *err)
{
	size_t i;

	if (!cfg->ciphersuites || !cfg->num_ciphersuites)
		return 0;
	c->suites = calloc(cfg->num_ciphersuites, sizeof(*c->suites));
	if (!c->suites)
		return layer_avsnet_err_set(err, ENOMEM, "out of memory");
	for (i = 0; i < cfg->num_ciphersuites; i++)
		c->suites[i] = cfg->ciphersuites[i];
	c->ssl.ciphersuites.ids = c->suites;
	c->ssl.ciphersuites.num_ids = cfg->num_ciphersuites;
	return 0;
}

/* What sl_config_t can say and avs_net cannot: refused, never ignored. */
static int conf_refuse(const sl_config_t *cfg, sl_error_t *err)
{
	if (cfg->use_connection_id && cfg->own_cid_len)
		return layer_avsnet_err_set(err, ENOTSUP,
					    "own_cid: avs_net always uses a zero-length own "
					    "Connection ID (no avs_net_ssl_configuration_t field)");
	if (cfg->keylog_file)
		return layer_avsnet_err_set(err, ENOTSUP,
					    "keylog_file: avs_net has no key log in its public "
					    "configuration");
	if (cfg->resumption_buffer_size && !cfg->resumption_buffer)
		return layer_avsnet_err_set(err, EINVAL,
					    "resumption_buffer_size %zu with a NULL buffer",
					    cfg->resumption_buffer_size);
	return 0;
}

/* Handshake timeouts (0/0: sl's 1000..60000 ms) and the link MTU (0: 1500),
 * which avs_net takes as the backend socket's forced MTU. */
static void conf_link(layer_avsnet_conf_t *c, const sl_config_t *cfg)
{
	uint32_t min = cfg->handshake_timeouts.min_ms, max = cfg->handshake_timeouts.max_ms;

	if (!min && !max) {
		min = 1000;
		max = 60000;
	}
	c->hs.min = avs_time_duration_from_scalar(min, AVS_TIME_MS);
	c->hs.max = avs_time_duration_from_scalar(max, AVS_TIME_MS);
	c->ssl.dtls_handshake_timeouts = &c->hs;
	c->ssl.backend_configuration.forced_mtu = cfg->mtu ? (int)cfg->mtu : 1500;
}

/* Builds c->ssl from cfg; on error c holds what was copied (conf_free). */
int layer_avsnet_conf_build(layer_avsnet_conf_t *c, const sl_config_t *cfg,
			    avs_crypto_prng_ctx_t *prng, sl_error_t *err)
{
	int ret;

	memset(c, 0, sizeof(*c));
	ret = conf_refuse(cfg, err);
	if (ret)
		return ret;
	c->ssl.version = version_of(cfg->min_version);
	ret = cfg->mode == SL_SECURITY_PSK ? conf_psk(c, cfg, err) : conf_cert(c, cfg, err);
	if (!ret)
		ret = conf_suites(c, cfg, err);
	if (!ret && dup_opt(&c->sni, cfg->sni))
		ret = layer_avsnet_err_set(err, ENOMEM, "out of memory");
	if (ret)
		return ret;
	conf_link(c, cfg);
	c->ssl.session_resumption_buffer =
	    cfg->resumption_buffer_size ? cfg->resumption_buffer : NULL;
	c->ssl.session_resumption_buffer_size = cfg->resumption_buffer_size;
	c->ssl.server_name_indication = c->sni;
	c->ssl.use_connection_id = cfg->use_connection_id != 0;
	c->ssl.prng_ctx = prng;
	return 0;
}

/* Frees the copies; the PSK key is wiped first. */
void layer_avsnet_conf_free(layer_avsnet_conf_t *c)
{
	if (c->key)
		memset(c->key, 0, c->key_len);
	free(c->key);
	free(c->identity);
	free(c->suites);
	free(c->trust_store);
	free(c->crl);
	free(c->client_chain);
	free(c->client_key);
	free(c->key_password);
	free(c->sni);
	memset(c, 0, sizeof(*c));
}
