/* Unit tests for DANE TLSA in the Mbed TLS layer: record matching (selector
 * x matching type) and the verdict of each LwM2M Certificate Usage on real
 * certificates generated here (a CA, an end entity it signed, a stranger). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context ca_key, ee_key, other_key;
	mbedtls_x509_crt chain; /* end entity, then the CA, as a server sends them */
	mbedtls_x509_crt other; /* self-signed, unrelated */
	sl_socket_t *s;
} fixture_t;

/* A fresh P-256 key. */
static void gen_key(fixture_t *f, mbedtls_pk_context *k)
{
	mbedtls_pk_init(k);
	assert_int_equal(mbedtls_pk_setup(k, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*k),
					     mbedtls_ctr_drbg_random, &f->drbg),
			 0);
}

/* Issues a certificate for subject_key signed by issuer_key, appended to out. */
static void issue(fixture_t *f, const char *subject, const char *issuer, mbedtls_pk_context *sk,
		  mbedtls_pk_context *ik, int is_ca, mbedtls_x509_crt *out)
{
	mbedtls_x509write_cert w;
	unsigned char buf[2048], serial[1] = {is_ca ? 1 : 2};
	int len;

	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, sk);
	mbedtls_x509write_crt_set_issuer_key(&w, ik);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, subject), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, issuer), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial_raw(&w, serial, 1), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959"),
			 0);
	assert_int_equal(mbedtls_x509write_crt_set_basic_constraints(&w, is_ca, -1), 0);
	len = mbedtls_x509write_crt_der(&w, buf, sizeof(buf), mbedtls_ctr_drbg_random, &f->drbg);
	assert_true(len > 0);
	assert_int_equal(mbedtls_x509_crt_parse_der(out, buf + sizeof(buf) - len, (size_t)len), 0);
	mbedtls_x509write_crt_free(&w);
}

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&f->entropy);
	mbedtls_ctr_drbg_init(&f->drbg);
	assert_int_equal(
	    mbedtls_ctr_drbg_seed(&f->drbg, mbedtls_entropy_func, &f->entropy, NULL, 0), 0);
	gen_key(f, &f->ca_key);
	gen_key(f, &f->ee_key);
	gen_key(f, &f->other_key);
	mbedtls_x509_crt_init(&f->chain);
	mbedtls_x509_crt_init(&f->other);
	issue(f, "CN=server.test", "CN=Test CA", &f->ee_key, &f->ca_key, 0, &f->chain);
	issue(f, "CN=Test CA", "CN=Test CA", &f->ca_key, &f->ca_key, 1, &f->chain);
	issue(f, "CN=Stranger", "CN=Stranger", &f->other_key, &f->other_key, 1, &f->other);
	f->s = calloc(1, sizeof(*f->s));
	assert_non_null(f->s);
	mbedtls_ssl_config_init(&f->s->conf);
	mbedtls_x509_crt_init(&f->s->ca);
	mbedtls_x509_crl_init(&f->s->crl);
	f->s->cfg.mode = SL_SECURITY_CERTIFICATE;
	f->s->cfg.cert.server_cert_validation = 1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;

	mbedtls_ssl_config_free(&f->s->conf);
	mbedtls_x509_crt_free(&f->s->ca);
	free(f->s);
	mbedtls_x509_crt_free(&f->chain);
	mbedtls_x509_crt_free(&f->other);
	mbedtls_pk_free(&f->ca_key);
	mbedtls_pk_free(&f->ee_key);
	mbedtls_pk_free(&f->other_key);
	mbedtls_ctr_drbg_free(&f->drbg);
	mbedtls_entropy_free(&f->entropy);
	free(f);
	return 0;
}

/* A record over crt's bytes (selector), hashed as matching says. */
static sl_dane_tlsa_t record(const mbedtls_x509_crt *crt, int usage, int selector, int matching,
			     unsigned char *store)
{
	const mbedtls_x509_buf *b = selector ? &crt->pk_raw : &crt->raw;
	sl_dane_tlsa_t r = {(sl_dane_usage_t)usage, (sl_dane_selector_t)selector,
			    (sl_dane_matching_t)matching, store, b->len};

	if (matching == 0)
		memcpy(store, b->p, b->len);
	else {
		mbedtls_md_type_t t = matching == 1 ? MBEDTLS_MD_SHA256 : MBEDTLS_MD_SHA512;
		assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(t), b->p, b->len, store), 0);
		r.data_len = matching == 1 ? 32 : 64;
	}
	return r;
}

/* Runs the verify callback over the chain as Mbed TLS would (CA first). */
static uint32_t verdict(fixture_t *f, uint32_t ca_flags, uint32_t ee_flags)
{
	uint32_t total = 0, fl = ca_flags;

	assert_int_equal(layer_dane_verify_cb(f->s, f->chain.next, 1, &fl), 0);
	total |= fl;
	fl = ee_flags;
	assert_int_equal(layer_dane_verify_cb(f->s, &f->chain, 0, &fl), 0);
	return total | fl;
}

static void matching_types_and_selectors(void **state)
{
	fixture_t *f = *state;
	unsigned char d[2048];
	sl_dane_tlsa_t r;
	int sel, m;

	for (sel = 0; sel <= 1; sel++)
		for (m = 0; m <= 2; m++) {
			r = record(&f->chain, 3, sel, m, d);
			assert_true(layer_dane_match(&r, f->chain.raw.p, f->chain.raw.len,
						     f->chain.pk_raw.p, f->chain.pk_raw.len));
			assert_false(layer_dane_match(&r, f->other.raw.p, f->other.raw.len,
						      f->other.pk_raw.p, f->other.pk_raw.len));
			d[r.data_len - 1] ^= 0x80;
			assert_false(layer_dane_match(&r, f->chain.raw.p, f->chain.raw.len,
						      f->chain.pk_raw.p, f->chain.pk_raw.len));
		}
	r = record(&f->chain, 3, 0, 1, d);
	r.data_len = 31;
	assert_false(layer_dane_match(&r, f->chain.raw.p, f->chain.raw.len, f->chain.pk_raw.p,
				      f->chain.pk_raw.len));
}

static void set_rejects_bad_records(void **state)
{
	fixture_t *f = *state;
	unsigned char d[64];
	sl_dane_tlsa_t r = record(&f->chain, 3, 1, 1, d);

	r.usage = 4;
	assert_int_equal(layer_dane_set(f->s, &r, 1), EINVAL);
	r.usage = 3;
	r.matching = 3;
	assert_int_equal(layer_dane_set(f->s, &r, 1), EINVAL);
	r.matching = 1;
	r.data_len = 0;
	assert_int_equal(layer_dane_set(f->s, &r, 1), EINVAL);
	assert_int_equal(layer_dane_set(f->s, &r, LAYER_DANE_MAX + 1), EINVAL);
	assert_int_equal(f->s->dane_count, 0);
}

/* Validation off accepts any certificate: records given with it would be
 * ignored, so they are refused (clearing them is still allowed). */
static void set_refuses_records_with_validation_off(void **state)
{
	fixture_t *f = *state;
	unsigned char d[64];
	sl_dane_tlsa_t r = record(&f->chain, 3, 1, 1, d);

	f->s->cfg.cert.server_cert_validation = 0;
	assert_int_equal(layer_dane_set(f->s, &r, 1), EINVAL);
	assert_int_equal(f->s->dane_count, 0);
	assert_int_equal(layer_dane_set(f->s, NULL, 0), 0);
}

static void usage3_pins_end_entity_without_pkix(void **state)
{
	fixture_t *f = *state;
	unsigned char d[64];
	sl_dane_tlsa_t r = record(&f->chain, 3, 1, 1, d);

	assert_int_equal(layer_dane_set(f->s, &r, 1), 0);
	/* No trust store: Mbed TLS flags the chain untrusted; the pin wins. */
	assert_int_equal(verdict(f, MBEDTLS_X509_BADCERT_NOT_TRUSTED, 0), 0);
	r = record(&f->other, 3, 1, 1, d);
	assert_int_equal(layer_dane_set(f->s, &r, 1), 0);
	assert_true(verdict(f, 0, 0) & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

static void usage2_makes_the_ca_the_only_anchor(void **state)
{
	fixture_t *f = *state;
	unsigned char d[2048];
	sl_dane_tlsa_t r = record(f->chain.next, 2, 0, 1, d);

	assert_int_equal(layer_dane_set(f->s, &r, 1), 0);
	assert_int_equal(verdict(f, MBEDTLS_X509_BADCERT_NOT_TRUSTED, 0), 0);
	/* The stranger as anchor does not validate the chain. */
	r = record(&f->other, 2, 0, 0, d);
	assert_int_equal(layer_dane_set(f->s, &r, 1), 0);
	assert_true(verdict(f, 0, 0) & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

static void usages0_1_need_pkix_too(void **state)
{
	fixture_t *f = *state;
	unsigned char d1[64], d0[64];
	sl_dane_tlsa_t r1 = record(&f->chain, 1, 0, 1, d1), r0 = record(f->chain.next, 0, 1, 2, d0);

	assert_int_equal(layer_dane_set(f->s, &r1, 1), 0);
	/* No trust store: PKIX fails, so the match alone is not enough. */
	assert_true(verdict(f, 0, 0) & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
	assert_int_equal(
	    mbedtls_x509_crt_parse_der(&f->s->ca, f->chain.next->raw.p, f->chain.next->raw.len), 0);
	assert_int_equal(verdict(f, 0, 0), 0);
	/* PKIX says expired: usage 1 does not override it. */
	assert_true(verdict(f, 0, MBEDTLS_X509_BADCERT_EXPIRED) & MBEDTLS_X509_BADCERT_EXPIRED);
	assert_int_equal(layer_dane_set(f->s, &r0, 1), 0);
	assert_int_equal(verdict(f, 0, 0), 0);
	r0 = record(&f->other, 0, 1, 2, d0);
	assert_int_equal(layer_dane_set(f->s, &r0, 1), 0);
	assert_true(verdict(f, 0, 0) & MBEDTLS_X509_BADCERT_NOT_TRUSTED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(matching_types_and_selectors, setup, teardown),
	    cmocka_unit_test_setup_teardown(set_rejects_bad_records, setup, teardown),
	    cmocka_unit_test_setup_teardown(set_refuses_records_with_validation_off, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(usage3_pins_end_entity_without_pkix, setup, teardown),
	    cmocka_unit_test_setup_teardown(usage2_makes_the_ca_the_only_anchor, setup, teardown),
	    cmocka_unit_test_setup_teardown(usages0_1_need_pkix_too, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
