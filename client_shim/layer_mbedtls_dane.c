/* layer_mbedtls_dane.c: DANE TLSA records (RFC 6698/7671) as LwM2M
 * Certificate Usage uses them: usage 2 (trust anchor) replaces the trust
 * store, usage 3 matches the end entity without PKIX, usages 0/1 add a match
 * on top of PKIX validation. Mbed TLS's verify callback applies them. */
#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/md.h>

/* Copies the records (validated) so the caller's memory may go away. */
int layer_dane_set(sl_socket_t *s, const sl_dane_tlsa_t *recs, size_t count)
{
	size_t i;

	if (count > LAYER_DANE_MAX || (count && !recs))
		return EINVAL;
	/* Validation off means "accept any server certificate" (Anjay only
	 * builds records when it validates): records would be silently ignored,
	 * so the contradiction is refused instead. */
	if (count && s->cfg.mode == SL_SECURITY_CERTIFICATE && !s->cfg.cert.server_cert_validation)
		return EINVAL;
	for (i = 0; i < count; i++)
		if ((unsigned)recs[i].usage > 3 || (unsigned)recs[i].selector > 1 ||
		    (unsigned)recs[i].matching > 2 || !recs[i].data || !recs[i].data_len ||
		    recs[i].data_len > LAYER_DANE_DATA_MAX)
			return EINVAL;
	for (i = 0; i < count; i++) {
		s->dane[i].rec = recs[i];
		memcpy(s->dane[i].data, recs[i].data, recs[i].data_len);
		s->dane[i].rec.data = s->dane[i].data;
	}
	s->dane_count = count;
	if (s->cfg.mode != SL_SECURITY_CERTIFICATE || !s->cfg.cert.server_cert_validation)
		return 0;
	/* OPTIONAL: Mbed TLS would refuse a missing trust store before asking
	 * the callback; layer_connect checks the verdict after the handshake. */
	mbedtls_ssl_conf_authmode(&s->conf, count ? MBEDTLS_SSL_VERIFY_OPTIONAL
						  : MBEDTLS_SSL_VERIFY_REQUIRED);
	mbedtls_ssl_conf_verify(&s->conf, count ? layer_dane_verify_cb : NULL, count ? s : NULL);
	return 0;
}

/* Compares (or hashes then compares) the selected bytes with the record. */
int layer_dane_match(const sl_dane_tlsa_t *rec, const unsigned char *der, size_t der_len,
		     const unsigned char *spki, size_t spki_len)
{
	const unsigned char *p = rec->selector == SL_DANE_SELECTOR_SPKI ? spki : der;
	size_t n = rec->selector == SL_DANE_SELECTOR_SPKI ? spki_len : der_len;
	unsigned char hash[64];
	const mbedtls_md_info_t *md;

	if (!p || !n)
		return 0;
	if (rec->matching == SL_DANE_MATCH_FULL)
		return rec->data_len == n && memcmp(rec->data, p, n) == 0;
	md = mbedtls_md_info_from_type(rec->matching == SL_DANE_MATCH_SHA256 ? MBEDTLS_MD_SHA256
									     : MBEDTLS_MD_SHA512);
	if (!md || mbedtls_md(md, p, n, hash) != 0)
		return 0;
	return rec->data_len == mbedtls_md_get_size(md) &&
	       memcmp(rec->data, hash, rec->data_len) == 0;
}

/* Matches one certificate against one record. */
static int match_crt(const sl_dane_tlsa_t *rec, const mbedtls_x509_crt *crt)
{
	return layer_dane_match(rec, crt->raw.p, crt->raw.len, crt->pk_raw.p, crt->pk_raw.len);
}

/* Usage 2: a presented certificate (or the record's own full certificate)
 * matching the record becomes the only trust anchor for the chain. */
static int trust_anchor_ok(sl_socket_t *s, const sl_dane_tlsa_t *rec, mbedtls_x509_crt *ee)
{
	mbedtls_x509_crt ta;
	const mbedtls_x509_crt *c;
	uint32_t flags = 0;
	int ok = 0, loaded = -1;

	mbedtls_x509_crt_init(&ta);
	for (c = ee; c && loaded != 0; c = c->next)
		if (match_crt(rec, c))
			loaded = mbedtls_x509_crt_parse_der(&ta, c->raw.p, c->raw.len);
	if (loaded != 0 && rec->selector == SL_DANE_SELECTOR_CERT &&
	    rec->matching == SL_DANE_MATCH_FULL)
		loaded = mbedtls_x509_crt_parse_der(&ta, rec->data, rec->data_len);
	if (loaded == 0)
		ok = mbedtls_x509_crt_verify(ee, &ta, s->crl.raw.p ? &s->crl : NULL,
					     s->host_name[0] ? s->host_name : NULL, &flags, NULL,
					     NULL) == 0;
	mbedtls_x509_crt_free(&ta);
	return ok;
}

/* Decides one record for the end entity ee, given the PKIX verdict. */
static int record_ok(sl_socket_t *s, const sl_dane_tlsa_t *rec, mbedtls_x509_crt *ee, int pkix_ok)
{
	const mbedtls_x509_crt *c;

	switch (rec->usage) {
	case SL_DANE_DOMAIN_ISSUED_CERT:
		return match_crt(rec, ee);
	case SL_DANE_SERVICE_CERT_CONSTRAINT:
		return pkix_ok && match_crt(rec, ee);
	case SL_DANE_CA_CONSTRAINT:
		if (pkix_ok && s->dane_ca_matched)
			return 1;
		for (c = ee->next; pkix_ok && c; c = c->next)
			if (match_crt(rec, c))
				return 1;
		return 0;
	case SL_DANE_TRUST_ANCHOR_ASSERTION:
		return trust_anchor_ok(s, rec, ee);
	default:
		return 0;
	}
}

/* Verify callback: hides the chain's flags until the end entity (depth 0),
 * where the records decide; any matching record accepts the chain. */
int layer_dane_verify_cb(void *ctx, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	sl_socket_t *s = ctx;
	int pkix_ok;
	size_t i;

	if (!s->dane_count)
		return 0;
	if (depth > 0) {
		/* The path Mbed TLS built may hold CAs the server did not send. */
		for (i = 0; i < s->dane_count; i++)
			if (s->dane[i].rec.usage == SL_DANE_CA_CONSTRAINT &&
			    match_crt(&s->dane[i].rec, crt))
				s->dane_ca_matched = 1;
		s->dane_upper_flags |= *flags;
		*flags = 0;
		return 0;
	}
	pkix_ok = s->ca.raw.p && (s->dane_upper_flags | *flags) == 0;
	s->dane_upper_flags = 0;
	for (i = 0; i < s->dane_count; i++)
		if (record_ok(s, &s->dane[i].rec, crt, pkix_ok))
			break;
	s->dane_ca_matched = 0;
	if (i < s->dane_count)
		*flags = 0;
	else
		*flags |= MBEDTLS_X509_BADCERT_NOT_TRUSTED;
	return 0;
}
