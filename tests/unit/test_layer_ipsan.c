/* Unit tests for the IP literal name check of the Mbed TLS layer: with no
 * SNI and an IP literal host, the server certificate must carry that address
 * as an iPAddress SAN (a DNS SAN or the CN spelling the address does not
 * count), and only validation off (or DANE records) skips the check.
 * Certificates are generated here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <mbedtls/ecp.h>
#include <psa/crypto.h>
#include <stdlib.h>
#include <string.h>

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static mbedtls_pk_context key;
static mbedtls_x509_crt crt; /* SAN: IP 127.0.0.1, DNS 127.0.0.2; CN=127.0.0.3 */

/* Adds a SAN of the given type holding len bytes of p to the list. */
static void san(mbedtls_x509_san_list *node, int type, const void *p, size_t len,
		mbedtls_x509_san_list *next)
{
	memset(node, 0, sizeof(*node));
	node->node.type = type;
	node->node.san.unstructured_name.p = (unsigned char *)(uintptr_t)p;
	node->node.san.unstructured_name.len = len;
	node->next = next;
}

static int setup(void **state)
{
	static const unsigned char ip[4] = {127, 0, 0, 1};
	unsigned char serial[1] = {7};
	mbedtls_x509_san_list dns_node, ip_node;
	mbedtls_x509write_cert w;
	unsigned char buf[1024];
	int len;

	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0), 0);
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_setup(&key, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key),
					     mbedtls_ctr_drbg_random, &drbg),
			 0);
	san(&dns_node, MBEDTLS_X509_SAN_DNS_NAME, "127.0.0.2", 9, NULL);
	san(&ip_node, MBEDTLS_X509_SAN_IP_ADDRESS, ip, sizeof(ip), &dns_node);
	mbedtls_x509write_crt_init(&w);
	mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&w, &key);
	mbedtls_x509write_crt_set_issuer_key(&w, &key);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&w, "CN=127.0.0.3"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&w, "CN=127.0.0.3"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial_raw(&w, serial, 1), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&w, "20200101000000", "20991231235959"),
			 0);
	assert_int_equal(mbedtls_x509write_crt_set_subject_alternative_name(&w, &ip_node), 0);
	len = mbedtls_x509write_crt_der(&w, buf, sizeof(buf), mbedtls_ctr_drbg_random, &drbg);
	assert_true(len > 0);
	mbedtls_x509_crt_init(&crt);
	assert_int_equal(mbedtls_x509_crt_parse_der(&crt, buf + sizeof(buf) - len, (size_t)len), 0);
	mbedtls_x509write_crt_free(&w);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mbedtls_x509_crt_free(&crt);
	mbedtls_pk_free(&key);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return 0;
}

static void only_ip_sans_name_an_address(void **state)
{
	static const unsigned char a1[4] = {127, 0, 0, 1}, a2[4] = {127, 0, 0, 2},
				   a3[4] = {127, 0, 0, 3}, v6[16] = {[15] = 1};

	(void)state;
	assert_true(layer_ipsan_match(&crt, a1, sizeof(a1)));
	assert_false(layer_ipsan_match(&crt, a2, sizeof(a2))); /* only a DNS SAN */
	assert_false(layer_ipsan_match(&crt, a3, sizeof(a3))); /* only the CN */
	assert_false(layer_ipsan_match(&crt, v6, sizeof(v6)));
}

/* Which connections the check applies to; one with no peer certificate to
 * show (nothing was verified) fails with EPROTO and a clear message. */
static void check_applies_to_validated_ip_hosts_only(void **state)
{
	sl_socket_t *s = calloc(1, sizeof(*s));
	sl_error_t err;

	(void)state;
	assert_non_null(s);
	mbedtls_ssl_init(&s->ssl);
	s->cfg.mode = SL_SECURITY_CERTIFICATE;
	s->cfg.cert.server_cert_validation = 1;
	memset(&err, 0, sizeof(err));
	assert_int_equal(layer_ipsan_check(s, "127.0.0.1", &err), EPROTO);
	assert_non_null(strstr(err.message, "no IP SAN 127.0.0.1"));
	assert_int_equal(layer_ipsan_check(s, "server.test", &err), 0); /* a name: Mbed TLS */
	strcpy(s->host_name, "server.test");				/* SNI configured */
	assert_int_equal(layer_ipsan_check(s, "127.0.0.1", &err), 0);
	s->host_name[0] = 0;
	s->cfg.cert.server_cert_validation = 0;
	assert_int_equal(layer_ipsan_check(s, "127.0.0.1", &err), 0);
	s->cfg.mode = SL_SECURITY_PSK;
	s->cfg.cert.server_cert_validation = 1;
	assert_int_equal(layer_ipsan_check(s, "::1", &err), 0);
	mbedtls_ssl_free(&s->ssl);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_ip_sans_name_an_address),
	    cmocka_unit_test(check_applies_to_validated_ip_hosts_only),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
