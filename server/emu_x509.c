#include "emu_x509.h"

#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>
#include <string.h>
#include <time.h>

#include "emu_server.h"
#include "lh_event.h"
#include "lh_hex.h"

#define EMU_CERT_DER_MAX 2048

void emu_x509_fingerprint(const unsigned char *der, size_t len, char out[65])
{
	unsigned char digest[32];
	mbedtls_sha256(der, len, digest, 0);
	lh_hex_encode(digest, sizeof(digest), out);
}

int emu_x509_is_self_signed(const mbedtls_x509_crt *crt)
{
	unsigned char hash[MBEDTLS_MD_MAX_SIZE];
	mbedtls_md_type_t md = crt->MBEDTLS_PRIVATE(sig_md);
	const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
	/* Issuer == subject alone is only a claim: the signature must also
	 * verify with the certificate's own public key (RFC 5280 §6.1). */
	if (crt->issuer_raw.len != crt->subject_raw.len ||
	    memcmp(crt->issuer_raw.p, crt->subject_raw.p, crt->subject_raw.len) != 0 || !info ||
	    mbedtls_md(info, crt->tbs.p, crt->tbs.len, hash) != 0)
		return 0;
	return mbedtls_pk_verify_ext(crt->MBEDTLS_PRIVATE(sig_pk), crt->MBEDTLS_PRIVATE(sig_opts),
				     (mbedtls_pk_context *)&crt->pk, md, hash,
				     mbedtls_md_get_size(info), crt->MBEDTLS_PRIVATE(sig).p,
				     crt->MBEDTLS_PRIVATE(sig).len) == 0;
}

/* Prints one Mbed TLS failure with the file involved. */
static int fail(const char *what, const char *path, int err)
{
	char text[128];
	mbedtls_strerror(err, text, sizeof(text));
	fprintf(stderr, "lwm2m-emulator: %s %s: %s (%d)\n", what, path ? path : "", text, err);
	return -1;
}

/* "YYYYMMDDhhmmss" for t (UTC), as x509write wants validity dates. */
static void x509_time(time_t t, char out[16])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 16, "%Y%m%d%H%M%S", &tm);
}

/* Writes the self-signed certificate for key into der; returns its length. */
static int write_self_signed(struct emu_server *srv, mbedtls_pk_context *key, const char *cn,
			     unsigned char *buf, size_t size, const unsigned char **der)
{
	mbedtls_x509write_cert w;
	mbedtls_x509_san_list san = {.node = {.type = MBEDTLS_X509_SAN_DNS_NAME}};
	unsigned char serial[16];
	char from[16], to[16], name[300];
	time_t now = time(NULL);
	int ret;
	snprintf(name, sizeof(name), "CN=%s,O=lwm2m-harness", cn);
	san.node.san.unstructured_name.p = (unsigned char *)cn;
	san.node.san.unstructured_name.len = strlen(cn);
	x509_time(now - 86400, from);
	x509_time(now + 10L * 365 * 86400, to);
	mbedtls_ctr_drbg_random(&srv->drbg, serial, sizeof(serial));
	serial[0] &= 0x7f; /* positive */
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, key);
	mbedtls_x509write_crt_set_issuer_key(&w, key);
	if ((ret = mbedtls_x509write_crt_set_subject_name(&w, name)) ||
	    (ret = mbedtls_x509write_crt_set_issuer_name(&w, name)) ||
	    (ret = mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial))) ||
	    (ret = mbedtls_x509write_crt_set_validity(&w, from, to)) ||
	    (ret = mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1)) ||
	    (ret = mbedtls_x509write_crt_set_subject_alternative_name(&w, &san)))
		goto exit;
	ret = mbedtls_x509write_crt_der(&w, buf, size, mbedtls_ctr_drbg_random, &srv->drbg);
	if (ret > 0)
		*der = buf + size - ret; /* written at the end of buf */
exit:
	mbedtls_x509write_crt_free(&w);
	return ret;
}

/* Generates an EC P-256 key and a self-signed certificate for it. */
static int generate(struct emu_server *srv, struct emu_x509 *x, const char *cn)
{
	unsigned char buf[EMU_CERT_DER_MAX];
	const unsigned char *der = NULL;
	int ret = mbedtls_pk_setup(&x->key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
	if (ret == 0)
		ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(x->key),
					  mbedtls_ctr_drbg_random, &srv->drbg);
	if (ret == 0)
		ret = write_self_signed(srv, &x->key, cn, buf, sizeof(buf), &der);
	if (ret > 0)
		ret = mbedtls_x509_crt_parse_der(&x->chain, der, (size_t)ret);
	if (ret != 0)
		return fail("cannot generate the self-signed certificate", NULL, ret);
	x->generated = 1;
	return 0;
}

/* Loads the configured chain and key. */
static int load(struct emu_server *srv, struct emu_x509 *x, const struct emu_config *cfg)
{
	int ret = mbedtls_x509_crt_parse_file(&x->chain, cfg->cert_file);
	if (ret != 0)
		return fail("cannot read certificate chain", cfg->cert_file, ret);
	ret = mbedtls_pk_parse_keyfile(&x->key, cfg->key_file, NULL, mbedtls_ctr_drbg_random,
				       &srv->drbg);
	if (ret != 0)
		return fail("cannot read private key", cfg->key_file, ret);
	if (mbedtls_pk_check_pair(&x->chain.pk, &x->key, mbedtls_ctr_drbg_random, &srv->drbg))
		return fail("private key does not match the certificate in", cfg->cert_file, 0);
	return 0;
}

/* Reads the CA set for client authentication, if one is configured. */
static int load_ca(struct emu_x509 *x, const char *path)
{
	if (!path)
		return 0;
	int ret = mbedtls_x509_crt_parse_file(&x->ca, path);
	if (ret != 0)
		return fail("cannot read CA certificates", path, ret);
	x->have_ca = 1;
	return 0;
}

int emu_x509_setup(struct emu_server *srv, struct emu_x509 *x, mbedtls_ssl_config *conf,
		   const struct emu_config *c, const char *cn, const char *vhost)
{
	static const int modes[] = {MBEDTLS_SSL_VERIFY_NONE, MBEDTLS_SSL_VERIFY_OPTIONAL,
				    MBEDTLS_SSL_VERIFY_REQUIRED};
	static const char *const names[] = {"none", "optional", "required"};
	mbedtls_x509_crt_init(&x->chain);
	mbedtls_x509_crt_init(&x->ca);
	mbedtls_pk_init(&x->key);
	if ((c->cert_file ? load(srv, x, c) : generate(srv, x, cn)) < 0 ||
	    load_ca(x, c->ca_file) < 0)
		return -1;
	int ret = mbedtls_ssl_conf_own_cert(conf, &x->chain, &x->key);
	if (ret != 0)
		return fail("Mbed TLS refused the certificate", c->cert_file, ret);
	if (x->have_ca)
		mbedtls_ssl_conf_ca_chain(conf, &x->ca, NULL);
	mbedtls_ssl_conf_authmode(conf, modes[c->client_auth]);
	mbedtls_x509_dn_gets(x->subject, sizeof(x->subject), &x->chain.subject);
	emu_x509_fingerprint(x->chain.raw.p, x->chain.raw.len, x->fingerprint);
	x->self_signed = emu_x509_is_self_signed(&x->chain);
	lh_event_emitf("certificate", "{s:s, s:s, s:s, s:b, s:b, s:s, s:s?}", "vhost", vhost,
		       "subject", x->subject, "sha256", x->fingerprint, "self_signed",
		       x->self_signed, "generated", x->generated, "client_auth",
		       names[c->client_auth], "ca", c->ca_file);
	return 0;
}

void emu_x509_free(struct emu_x509 *x)
{
	mbedtls_x509_crt_free(&x->chain);
	mbedtls_x509_crt_free(&x->ca);
	mbedtls_pk_free(&x->key);
}

int emu_x509_setup_shared(struct emu_x509 *x, const struct emu_x509 *leaf, mbedtls_ssl_config *conf,
			  const struct emu_config *c)
{
	static const int modes[] = {MBEDTLS_SSL_VERIFY_NONE, MBEDTLS_SSL_VERIFY_OPTIONAL,
				    MBEDTLS_SSL_VERIFY_REQUIRED};
	mbedtls_x509_crt_init(&x->chain);
	mbedtls_x509_crt_init(&x->ca);
	mbedtls_pk_init(&x->key);
	if (load_ca(x, c->ca_file) < 0)
		return -1;
	/* Mbed TLS only reads them: the const is dropped for its API. */
	int ret = mbedtls_ssl_conf_own_cert(conf, (mbedtls_x509_crt *)&leaf->chain,
					    (mbedtls_pk_context *)&leaf->key);
	if (ret != 0)
		return fail("Mbed TLS refused the certificate", "(generated)", ret);
	if (x->have_ca)
		mbedtls_ssl_conf_ca_chain(conf, &x->ca, NULL);
	mbedtls_ssl_conf_authmode(conf, modes[c->client_auth]);
	x->generated = leaf->generated;
	x->self_signed = leaf->self_signed;
	memcpy(x->subject, leaf->subject, sizeof(x->subject));
	memcpy(x->fingerprint, leaf->fingerprint, sizeof(x->fingerprint));
	return 0;
}
