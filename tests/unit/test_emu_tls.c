/* End-to-end test of CoAP-over-TLS handshake failures against the real
 * emulator (child process, TCP on 127.0.0.1) and a real Mbed TLS stream
 * client: handshake_failed must name the alert the emulator sent (wrong
 * PSK: bad_record_mac) and the alert it received (a client that aborts with
 * handshake_failure), as it does for DTLS; a stalled handshake ends at the
 * handshake deadline. */
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

/* A connection whose first bytes are sent one per write; returns whether
 * the emulator then closed it (EOF or reset) rather than waiting on. */
static int first_bytes_close(int port, const uint8_t *bytes, size_t len)
{
	int fd = tcp_connect(port);
	send_bytewise(fd, bytes, len);
	int closed = closed_by_peer(fd);
	close(fd);
	return closed;
}

/* Whatever a connection starts with that is not a ClientHello ends it at
 * once: record_dropped says what it was, handshake_failed and
 * session_closed follow as for any failed handshake. */
static void tls_first_bytes_refused(void **state)
{
	(void)state;
	static const uint8_t http[] = "GET / HTTP/1.1\r\n\r\n";
	static const uint8_t app_data[] = {23, 3, 3, 0, 3, 1, 2, 3};
	static const uint8_t server_hello[] = {22, 3, 3, 0, 8, 2, 0, 0, 4, 3, 3, 0, 0};
	static const uint8_t big_record[] = {22, 3, 3, 0x40, 0x01, 1, 0, 0, 1};
	static const uint8_t big_hello[] = {22, 3, 3, 0x40, 0x00, 1, 0xff, 0xff, 0xff};
	static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 48};
	static const uint8_t cut[] = {22, 3, 1, 0};
	start_server(tls_on);
	int port = tls_port();
	assert_true(port > 0);
	assert_true(first_bytes_close(port, http, sizeof(http) - 1));
	assert_true(events_have("\"reason\":\"not_tls\"", 1));
	assert_true(first_bytes_close(port, app_data, sizeof(app_data)));
	assert_true(events_have("\"reason\":\"not_handshake\",\"bytes\":8}", 1));
	assert_true(first_bytes_close(port, server_hello, sizeof(server_hello)));
	assert_true(events_have("\"reason\":\"not_client_hello\"", 1));
	assert_true(first_bytes_close(port, big_record, sizeof(big_record)));
	assert_true(events_have("\"reason\":\"oversized_record\"", 1));
	assert_true(first_bytes_close(port, big_hello, sizeof(big_hello)));
	assert_true(events_have("\"reason\":\"oversized_client_hello\"", 1));
	/* A client that gives up with an alert before any ClientHello. */
	assert_true(first_bytes_close(port, alert, sizeof(alert)));
	assert_true(events_have("\"alert_received\":{\"level\":2,\"description\":48", 1));
	/* A record cut short by the peer's FIN. */
	int fd = tcp_connect(port);
	send_bytewise(fd, cut, sizeof(cut));
	shutdown(fd, SHUT_WR);
	assert_true(closed_by_peer(fd));
	close(fd);
	assert_true(events_have("\"reason\":\"truncated_record\",\"bytes\":4}", 1));
	assert_true(events_have("\"event\":\"handshake_failed\"", 7));
	assert_true(events_have("\"reason\":\"handshake_failed\"}", 7));
	assert_int_equal(stop_server(), 0);
}

/* TLS, and a 1 s handshake deadline. */
static void tls_fast_deadline(struct emu_config *cfg)
{
	cfg->tls_port = 0;
	cfg->hs_min_ms = 250;
	cfg->hs_max_ms = 1000;
}

/* A peer that connects and stalls, before or inside its ClientHello, is
 * failed with reason timeout and closed at the handshake deadline; a peer
 * that completes the handshake and closes TCP is reported as tcp_closed. */
static void tls_stalled_handshake_times_out(void **state)
{
	(void)state;
	static const unsigned char right[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
						0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const uint8_t half_hello[] = {22, 3, 1, 0, 80, 1, 0, 0, 76, 3, 3};
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tls_fast_deadline);
	int port = tls_port();
	assert_true(port > 0);
	int silent = tcp_connect(port), half = tcp_connect(port);
	send_bytewise(half, half_hello, sizeof(half_hello));
	assert_true(closed_by_peer(silent));
	assert_true(closed_by_peer(half));
	close(silent);
	close(half);
	assert_true(events_have("\"reason\":\"timeout\"", 2));
	assert_true(events_have("\"reason\":\"handshake_timeout\"", 2));
	assert_int_equal(tls_handshake(port, right, 0), 0);
	assert_true(events_have("\"reason\":\"tcp_closed\"", 1));
	/* The finished handshake's deadline passes without effect. */
	usleep(1200 * 1000);
	assert_int_equal(events_have("\"reason\":\"timeout\"", 2), 2);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_failures_name_alerts),
	    cmocka_unit_test(tls_first_bytes_refused),
	    cmocka_unit_test(tls_stalled_handshake_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
