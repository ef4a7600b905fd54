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
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&ssl);
	mbedtls_ssl_conf_handshake_timeout(&t.conf, 200, 3200);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &t.conf), 0);
	int ret = client_handshake(&ssl, &c, port);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	test_dtls_conf_free(&t);
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

/* Client bio that also keeps the last ClientHello it sent (the one with
 * the cookie, once the HelloVerifyRequest came). */
static uint8_t g_hello[1024];
static size_t g_hello_len;
static int keep_hello_send(void *ctx, const unsigned char *buf, size_t len)
{
	if (len > 13 && len <= sizeof(g_hello) && buf[0] == 22 && buf[13] == 1) {
		memcpy(g_hello, buf, len);
		g_hello_len = len;
	}
	return c_send(ctx, buf, len);
}

/* The cookie-bearing ClientHello arriving again after the handshake (a late
 * retransmission, or a duplicate from the network) is dropped as such: the
 * session it created is not torn down as if the client had restarted. */
static void duplicate_client_hello_keeps_session(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_dup_%d.sock", (int)getpid());
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tweak);
	int port = server_port();
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &t.conf), 0);
	c.fd = new_socket(port);
	mbedtls_ssl_set_bio(&ssl, &c, keep_hello_send, NULL, c_recv);
	mbedtls_ssl_set_timer_cb(&ssl, &c, c_set_timer, c_get_timer);
	int ret;
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	while ((ret = mbedtls_ssl_handshake(&ssl)) != 0 && lh_time_mono_ms() < end)
		assert_true(ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_TIMEOUT);
	assert_int_equal(ret, 0);
	assert_true(g_hello_len > 0);
	assert_int_equal(send(c.fd, g_hello, g_hello_len, 0), (ssize_t)g_hello_len);
	assert_true(events_have("\"reason\":\"duplicate_client_hello\"", 1));
	/* The session still serves the client. */
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=dup", loc, sizeof(loc)), 0x41);
	assert_int_equal(events_have("\"reason\":\"client_reconnect\"", 0), 0);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
	unlink(test_ctl_path);
}

/* Client bio that counts the ClientHellos it sends. */
static int g_hellos;
static int count_hello_send(void *ctx, const unsigned char *buf, size_t len)
{
	if (len > 13 && buf[0] == 22 && buf[13] == 1)
		g_hellos++;
	return c_send(ctx, buf, len);
}

/* Slow server retransmissions: a half-open handshake outlives the test's
 * waits, so only a restart the server recognises can succeed in time. */
static void slow_tweak(struct emu_config *cfg)
{
	tweak(cfg);
	cfg->hs_min_ms = 1000;
	cfg->hs_max_ms = 60000;
}

/* A UDP socket on local port lport (SO_REUSEADDR), connected to the server. */
static int socket_on_port(int lport, int port)
{
	struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons((uint16_t)lport)};
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
	me.sin_addr.s_addr = sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&me, sizeof(me)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* A device that reboots in the middle of its handshake (after its cookie
 * ClientHello made the server set up a session) and starts again from the
 * same address and port: its new handshake completes at once, replacing
 * the half-open one, instead of being fed to it and dropped until that one
 * times out (minutes with real timers). */
static void restart_mid_handshake_same_port(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_context a, b;
	struct client ca = {0}, cb = {0};
	struct sockaddr_in me;
	socklen_t me_len = sizeof(me);
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_rst_%d.sock", (int)getpid());
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(slow_tweak);
	int port = server_port();
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&a);
	assert_int_equal(mbedtls_ssl_setup(&a, &t.conf), 0);
	ca.fd = new_socket(port);
	mbedtls_ssl_set_bio(&a, &ca, count_hello_send, NULL, c_recv);
	mbedtls_ssl_set_timer_cb(&a, &ca, c_set_timer, c_get_timer);
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	g_hellos = 0;
	while (g_hellos < 2 && lh_time_mono_ms() < end) {
		int ret = mbedtls_ssl_handshake_step(&a);
		assert_true(ret == 0 || ret == MBEDTLS_ERR_SSL_WANT_READ ||
			    ret == MBEDTLS_ERR_SSL_TIMEOUT);
	}
	assert_int_equal(g_hellos, 2);
	assert_true(events_have("\"event\":\"handshake_started\"", 1));
	/* The device reboots: same port, new context, new random. */
	assert_int_equal(getsockname(ca.fd, (struct sockaddr *)&me, &me_len), 0);
	close(ca.fd);
	mbedtls_ssl_free(&a);
	mbedtls_ssl_init(&b);
	assert_int_equal(mbedtls_ssl_setup(&b, &t.conf), 0);
	cb.fd = socket_on_port(ntohs(me.sin_port), port);
	mbedtls_ssl_set_bio(&b, &cb, c_send, NULL, c_recv);
	mbedtls_ssl_set_timer_cb(&b, &cb, c_set_timer, c_get_timer);
	int ret;
	end = lh_time_mono_ms() + WAIT_MS;
	while ((ret = mbedtls_ssl_handshake(&b)) != 0 && lh_time_mono_ms() < end)
		assert_true(ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_TIMEOUT);
	assert_int_equal(ret, 0);
	assert_true(events_have("\"reason\":\"client_reconnect\"", 1));
	assert_true(events_have("\"event\":\"handshake_done\"", 1));
	close(cb.fd);
	mbedtls_ssl_free(&b);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
	unlink(test_ctl_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rotation_after_hvr_forces_second_hvr),
	    cmocka_unit_test(duplicate_client_hello_keeps_session),
	    cmocka_unit_test(restart_mid_handshake_same_port),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
