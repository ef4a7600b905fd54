/* End-to-end test of the rotate_cookie_secret after=hvr fault: armed over
 * the control socket, it rotates the cookie key right after the next
 * HelloVerifyRequest, so a real Mbed TLS client's second ClientHello carries
 * a stale cookie. The server must answer it with a fresh HelloVerifyRequest
 * (cookie_rejected, RFC 6347 §4.2.1) that the client accepts, and the
 * handshake must complete; the fault fires once only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "test_emu_dtls.h"

/* Cookies on, fast retransmissions, a control socket. */
static void tweak(struct emu_config *cfg)
{
	cfg->cookies = 1;
	cfg->hs_min_ms = 200;
	cfg->hs_max_ms = 3200;
	cfg->control = strdup(test_ctl_path);
}

/* One PSK handshake from a fresh port; returns Mbed TLS's result. */
static int psk_handshake(int port)
{
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
	client_conf(&conf, &drbg);
	mbedtls_ssl_conf_handshake_timeout(&conf, 200, 3200);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	int ret = client_handshake(&ssl, &c, port);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return ret;
}

static void rotation_after_hvr_forces_second_hvr(void **state)
{
	(void)state;
	char reply[512];
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_ctl_%d.sock", (int)getpid());
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	test_control("{\"cmd\":\"rotate_cookie_secret\",\"after\":\"later\"}\n", reply,
		     sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":false"));
	test_control("{\"cmd\":\"rotate_cookie_secret\",\"after\":\"hvr\"}\n", reply,
		     sizeof(reply));
	assert_non_null(strstr(reply, "\"armed\":\"hvr\""));
	assert_int_equal(psk_handshake(port), 0);
	assert_true(events_have("\"fault\":\"rotate_cookie_secret\"", 1));
	assert_true(events_have("\"cookie_rejected\":true", 1));
	assert_true(events_have("\"event\":\"handshake_done\"", 1));
	/* One-shot: a second client gets one HVR and no rejected cookie. */
	assert_int_equal(psk_handshake(port), 0);
	assert_true(events_have("\"event\":\"handshake_done\"", 2));
	assert_int_equal(events_have("\"fault\":\"rotate_cookie_secret\"", 1), 1);
	assert_int_equal(events_have("\"cookie_rejected\":true", 1), 1);
	assert_int_equal(events_have("\"cookie_rejected\":false", 2), 2);
	assert_int_equal(stop_server(), 0);
	unlink(test_ctl_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rotation_after_hvr_forces_second_hvr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
