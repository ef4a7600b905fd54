/* End-to-end test of the anti-amplification limit (RFC 9147 §5.1) with
 * cookies off: a certificate flight is far larger than three times a
 * ClientHello, so the emulator holds bytes back (amplification_limited)
 * until the client's retransmissions have paid for them, and the handshake
 * still completes. With cookies on, nothing is ever held back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

static int cookies;

/* Cookies on or off, fast retransmissions. */
static void tweak(struct emu_config *cfg)
{
	cfg->cookies = cookies;
	cfg->hs_min_ms = 200;
	cfg->hs_max_ms = 3200;
}

/* A certificate-suite handshake (no server verification: the test is about
 * bytes on the wire, not trust). */
static int cert_handshake(int port)
{
	static const int suites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 0};
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_DATAGRAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_ciphersuites(&conf, suites);
	mbedtls_ssl_conf_handshake_timeout(&conf, 200, 3200);
	mbedtls_ssl_conf_read_timeout(&conf, 2000);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	int ret = client_handshake(&ssl, &c, port);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return ret;
}

static void cookies_off_limits_output(void **state)
{
	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	cookies = 0;
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(cert_handshake(port), 0);
	assert_true(events_have("\"event\":\"amplification_limited\"", 1));
	assert_true(events_have("\"cookie_verified\":false,\"cid_negotiated\"", 1));
	assert_int_equal(stop_server(), 0);
}

static void cookies_on_never_limits(void **state)
{
	(void)state;
	cookies = 1;
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(cert_handshake(port), 0);
	assert_true(events_have("\"cookie_verified\":true,\"cid_negotiated\"", 1));
	assert_int_equal(events_have("amplification_limited", 1), 0);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cookies_off_limits_output),
	    cmocka_unit_test(cookies_on_never_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
