/* End-to-end test of CoAP-over-TLS handshake failures against the real
 * emulator (child process, TCP on 127.0.0.1) and a real Mbed TLS stream
 * client: handshake_failed must name the alert the emulator sent (wrong
 * PSK: bad_record_mac) and the alert it received (a client that aborts with
 * handshake_failure), as it does for DTLS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mbedtls/net_sockets.h>
#include <sys/time.h>

#include "test_emu_tcp.h"

/* TLS on an ephemeral port besides DTLS. */
static void tls_on(struct emu_config *cfg)
{
	cfg->tls_port = 0;
}

/* Runs the client's handshake up to the server's last hello message, then
 * aborts it with a fatal handshake_failure alert, as a client that dislikes
 * what the server offered does. */
static int abort_with_alert(mbedtls_ssl_context *ssl)
{
	while (ssl->MBEDTLS_PRIVATE(state) < MBEDTLS_SSL_CLIENT_CERTIFICATE)
		if (mbedtls_ssl_handshake_step(ssl) != 0)
			return -1;
	mbedtls_ssl_send_alert_message(ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
				       MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
	return -1;
}

/* One TLS handshake of the PSK client "cid-dev" with psk_key (16 bytes);
 * with abort set, the client aborts it with an alert of its own. */
static int tls_handshake(int port, const unsigned char *psk_key, int abort)
{
	static const int psk_suites[] = {MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256, 0};
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int fd = tcp_connect(port), ret;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_STREAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
	assert_int_equal(
	    mbedtls_ssl_conf_psk(&conf, psk_key, 16, (const unsigned char *)"cid-dev", 7), 0);
	mbedtls_ssl_conf_ciphersuites(&conf, psk_suites);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	mbedtls_ssl_set_bio(&ssl, &fd, t_send, t_recv, NULL);
	ret = abort ? abort_with_alert(&ssl) : mbedtls_ssl_handshake(&ssl);
	/* Drain before closing: unread data would make close() send a RST,
	 * which discards the alert before the emulator reads it. */
	unsigned char sink[4096];
	shutdown(fd, SHUT_WR);
	while (recv(fd, sink, sizeof(sink), 0) > 0)
		;
	close(fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return ret;
}

static void tls_failures_name_alerts(void **state)
{
	(void)state;
	static const unsigned char wrong[16] = {0xde, 0xad};
	static const unsigned char right[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
						0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tls_on);
	int port = tls_port();
	assert_true(port > 0);
	assert_int_not_equal(tls_handshake(port, wrong, 0), 0);
	assert_true(events_have("\"alert_sent\":{\"level\":2,\"description\":20", 1));
	assert_int_not_equal(tls_handshake(port, right, 1), 0);
	assert_true(events_have("\"alert_received\":{\"level\":2,\"description\":40", 1));
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_failures_name_alerts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
