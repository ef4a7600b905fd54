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
#include <libgen.h>
#include <limits.h>

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

/* <build>/certs (this binary is <build>/tests/NAME), where `make certs`
 * put the test PKI. */
static void find_certs(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(out, size, "%s/certs", dirname(dirname(exe)));
}

static char large_chain[PATH_MAX + 64], large_key[PATH_MAX + 64];

/* Cookies off and the test PKI's server/large-chain certificate: six
 * intermediates, a flight of over 5 KiB, many times a ClientHello. */
static void large_chain_no_cookies(struct emu_config *cfg)
{
	cfg->cookies = 0;
	cfg->hs_min_ms = 200;
	cfg->hs_max_ms = 6400;
	cfg->cert_file = strdup(large_chain);
	cfg->key_file = strdup(large_key);
}

/* Bytes on the client's wire, both ways, until the handshake is done. */
struct counting_client {
	struct client c;
	size_t sent, received;
};

static int count_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct counting_client *cc = ctx;
	int n = c_send(&cc->c, buf, len);
	cc->sent += n > 0 ? (size_t)n : 0;
	return n;
}

static int count_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
	struct counting_client *cc = ctx;
	int n = c_recv(&cc->c, buf, len, timeout);
	cc->received += n > 0 ? (size_t)n : 0;
	return n;
}

/* A certificate handshake offering every suite this Mbed TLS has, as
 * Mbed TLS's own ssl_client2 does, with the client's default
 * retransmissions shortened (50 ms doubling to 3.2 s: 7 ClientHellos). */
static int large_handshake(int port, struct counting_client *cc)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int ret;
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
	mbedtls_ssl_conf_handshake_timeout(&conf, 50, 3200);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	cc->c.fd = new_socket(port);
	mbedtls_ssl_set_bio(&ssl, cc, count_send, NULL, count_recv);
	mbedtls_ssl_set_timer_cb(&ssl, &cc->c, c_set_timer, c_get_timer);
	/* Bounded by the client's own retransmission limit (6.35 s): it then
	 * fails with MBEDTLS_ERR_SSL_TIMEOUT. */
	int64_t end = lh_time_mono_ms() + 20000;
	while ((ret = mbedtls_ssl_handshake(&ssl)) == MBEDTLS_ERR_SSL_WANT_READ &&
	       lh_time_mono_ms() < end)
		;
	close(cc->c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return ret;
}

/* Without cookies the large flight goes out only as the client's
 * retransmitted ClientHellos pay for it (3x what arrived, RFC 9147 §5.1):
 * what is over budget must be held back and released later, not dropped
 * while Mbed TLS is told it was sent (then every retransmission restarted
 * the flight and the handshake never completed). */
static void large_chain_completes_within_budget(void **state)
{
	(void)state;
	char certs[PATH_MAX];
	struct counting_client cc = {0};
	find_certs(certs, sizeof(certs));
	snprintf(large_chain, sizeof(large_chain), "%s/server/large-chain.chain.pem", certs);
	snprintf(large_key, sizeof(large_key), "%s/server/large-chain.key", certs);
	if (access(large_chain, R_OK) != 0)
		skip(); /* no test PKI: run `make certs` */
	start_server(large_chain_no_cookies);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(large_handshake(port, &cc), 0);
	assert_true(events_have("\"event\":\"amplification_released\"", 1));
	assert_true(events_have("\"cookie_verified\":false,\"cid_negotiated\"", 1));
	/* The client's own count: never more than 3x what it sent. */
	assert_true(cc.received > 5000);
	assert_true(cc.received <= 3 * cc.sent);
	assert_int_equal(stop_server(), 0);
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
	    cmocka_unit_test(large_chain_completes_within_budget),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
