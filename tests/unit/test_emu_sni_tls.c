/* End-to-end test of SNI virtual hosts over TLS/TCP (CoAP over TLS, RFC
 * 8323) against the real emulator and a real Mbed TLS stream client: as
 * for DTLS, the SNI picks the vhost (its own PSK table), an unknown or
 * missing name is refused with unrecognized_name when configured so, and
 * an IP literal as SNI is flagged as an RFC 6066 violation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <mbedtls/net_sockets.h>
#include <sys/time.h>

#include "test_emu_tcp.h"

/* TLS on an ephemeral port; one vhost with its own PSK (same key bytes,
 * identity "a-dev"); unknown names rejected. */
static void tls_vhosts(struct emu_config *cfg)
{
	char err[256];
	json_t *j =
	    json_loads("{\"sni\":{\"unknown\":\"reject\"},\"vhosts\":[{\"name\":\"A.example\","
		       "\"psk\":[{\"identity\":\"a-dev\",\"key_hex\":"
		       "\"00112233445566778899aabbccddeeff\"}]}]}",
		       0, NULL);
	if (!j || emu_config_apply_json(cfg, j, err, sizeof(err)) < 0)
		_exit(5);
	json_decref(j);
	cfg->tls_port = 0;
}

/* One TLS 1.2 PSK handshake with the given SNI (NULL: none) and identity. */
static int tls_handshake(int port, const char *sni, const char *identity)
{
	static const unsigned char key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const int psk_suites[] = {MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256, 0};
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int fd = tcp_connect(port);
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
	assert_int_equal(mbedtls_ssl_conf_psk(&conf, key, sizeof(key),
					      (const unsigned char *)identity, strlen(identity)),
			 0);
	mbedtls_ssl_conf_ciphersuites(&conf, psk_suites);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	if (sni)
		assert_int_equal(mbedtls_ssl_set_hostname(&ssl, sni), 0);
	mbedtls_ssl_set_bio(&ssl, &fd, t_send, t_recv, NULL);
	int ret = mbedtls_ssl_handshake(&ssl);
	/* Drain before closing: unread data would make close() send a RST. */
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

static void tls_sni_selects_vhost(void **state)
{
	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tls_vhosts);
	int port = tls_port();
	assert_true(port > 0);
	/* The vhost's own identity works there, case-insensitively. */
	assert_int_equal(tls_handshake(port, "a.EXAMPLE", "a-dev"), 0);
	assert_true(events_have("\"sni\":\"a.EXAMPLE\",\"vhost\":\"a.example\"", 1));
	/* The default vhost's identity does not. */
	assert_int_not_equal(tls_handshake(port, "a.example", "cid-dev"), 0);
	assert_true(events_have("\"name\":\"unknown_psk_identity\"", 1));
	/* Unknown name: refused with unrecognized_name (112). */
	assert_int_not_equal(tls_handshake(port, "b.example", "cid-dev"), 0);
	assert_true(events_have("\"description\":112,\"name\":\"unrecognized_name\"", 1));
	/* No SNI follows the unknown-name policy: refused the same way. */
	assert_int_not_equal(tls_handshake(port, NULL, "cid-dev"), 0);
	assert_true(events_have("\"description\":112,\"name\":\"unrecognized_name\"", 2));
	assert_int_equal(events_have("\"sni\":null,\"vhost\":\"default\"", 0), 0);
	/* An IP literal is not a valid SNI (RFC 6066 §3): flagged. */
	assert_int_not_equal(tls_handshake(port, "127.0.0.1", "cid-dev"), 0);
	assert_true(events_have("\"violation\":\"ip_literal\"", 1));
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_sni_selects_vhost),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
