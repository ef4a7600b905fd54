/* End-to-end test of $.limits with the real emulator in a child process:
 * handshakes in progress, TLS connections, control clients, Block1 bytes
 * and requests per device are each bounded, and each refusal is reported
 * (`limit_reached`) while what is already held keeps working. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"
#include "test_coap_plain.h"

static void tweak(struct emu_config *cfg)
{
	cfg->coap_port = 0;
	cfg->tls_port = 0;
	cfg->cookies = 0;
	cfg->control = strdup(test_ctl_path);
	cfg->limits[EMU_LIMIT_HANDSHAKES] = 2;
	cfg->limits[EMU_LIMIT_TLS_CONNECTIONS] = 1;
	cfg->limits[EMU_LIMIT_CONTROL_CLIENTS] = 2;
	cfg->limits[EMU_LIMIT_BLOCK1_BYTES] = 32;
	cfg->requests_per_device = 2;
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_limits_%d.sock",
		 (int)getpid());
	start_server(tweak);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return stop_server();
}

/* Starts a DTLS handshake (the ClientHello goes out) and leaves it there. */
static void start_handshake(struct test_dtls_conf *t, mbedtls_ssl_context *ssl, struct client *c)
{
	mbedtls_ssl_init(ssl);
	assert_int_equal(mbedtls_ssl_setup(ssl, &t->conf), 0);
	c->fd = new_socket(server_port());
	mbedtls_ssl_set_bio(ssl, c, c_send, NULL, c_recv);
	mbedtls_ssl_set_timer_cb(ssl, c, c_set_timer, c_get_timer);
	mbedtls_ssl_handshake_step(ssl); /* HELLO_REQUEST -> CLIENT_HELLO */
	mbedtls_ssl_handshake_step(ssl); /* the ClientHello goes out */
}

static void handshakes_in_progress(void **state)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl[3];
	struct client c[3] = {{0}};
	(void)state;
	test_dtls_conf_init(&t);
	for (int i = 0; i < 3; i++)
		start_handshake(&t, &ssl[i], &c[i]);
	assert_true(events_have("\"event\":\"handshake_started\"", 2));
	assert_true(events_have("\"limit\":\"limits.handshakes\"", 1));
	assert_true(events_have("\"reason\":\"handshake_limit\"", 1));
	for (int i = 0; i < 3; i++) {
		mbedtls_ssl_free(&ssl[i]);
		close(c[i].fd);
	}
	test_dtls_conf_free(&t);
}

/* A TCP connection to the TLS port; 1 when the server closed it at once. */
static int tls_refused(int fd)
{
	char b;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 500) == 1 && recv(fd, &b, 1, 0) == 0;
}

static void tls_connections(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)server_port_of("tls"))};
	int fd[2];
	(void)state;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int i = 0; i < 2; i++) {
		fd[i] = socket(AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	assert_true(events_have("\"limit\":\"limits.tls_connections\"", 1));
	assert_false(tls_refused(fd[0]));
	assert_true(tls_refused(fd[1]));
	close(fd[0]);
	close(fd[1]);
	/* Its handshake slot is free again once the server saw it go. */
	assert_true(events_have("\"event\":\"session_closed\"", 1));
}

static void control_clients(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd[3];
	(void)state;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", test_ctl_path);
	for (int i = 0; i < 3; i++) {
		fd[i] = socket(AF_UNIX, SOCK_STREAM, 0);
		assert_int_equal(connect(fd[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	assert_true(events_have("\"limit\":\"limits.control_clients\"", 1));
	assert_true(tls_refused(fd[2])); /* closed at once, like a refused TLS peer */
	for (int i = 0; i < 3; i++)
		close(fd[i]);
}

/* Block1 blocks beyond 32 bytes of reassembly (all sessions): 4.13. */
static void block1_bytes(void **state)
{
	uint8_t req[128], out[64];
	int last = 0;
	(void)state;
	int fd = new_socket(server_port_of("coap"));
	for (unsigned num = 0; num < 3; num++) {
		size_t n = 0;
		uint8_t blk = (uint8_t)(num << 4 | 8);
		last = 0;
		req[n++] = COAP_CON | 1;
		req[n++] = 0x02;
		req[n++] = 0x62;
		req[n++] = (uint8_t)num;
		req[n++] = 0x5b;
		n += put_option(req + n, &last, 11, "rd", 2);
		n += put_option(req + n, &last, 15, "ep=lim-b1", 9);
		n += put_option(req + n, &last, 27, &blk, 1);
		req[n++] = 0xff;
		memset(req + n, 'x', 16);
		n += 16;
		assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
		assert_true(recv_within(fd, out, sizeof(out)) >= 4);
		assert_int_equal(out[1], num < 2 ? 0x5f : 0x8d); /* 2.31, 2.31, 4.13 */
	}
	assert_true(events_have("\"limit\":\"limits.block1_bytes\"", 1));
	close(fd);
}

/* A device that never answers holds at most 2 requests. */
static void requests_per_device(void **state)
{
	uint8_t req[128], ack[64];
	char reply[1024];
	(void)state;
	int fd = new_socket(server_port_of("coap"));
	size_t n = build_request(req, 0x02, 0x6300, "rd", "ep=lim-req&lt=60", "</3/0>");
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, ack, sizeof(ack)) >= 4);
	const char *read = "{\"cmd\":\"request\",\"endpoint\":\"lim-req\",\"method\":\"read\","
			   "\"path\":\"/3/0\"}\n";
	test_control_ok(read);
	test_control_ok(read);
	test_control(read, reply, sizeof(reply));
	assert_non_null(strstr(reply, "requests_per_device"));
	assert_true(events_have("\"limit\":\"limits.requests_per_device\"", 1));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_connections),	   cmocka_unit_test(handshakes_in_progress),
	    cmocka_unit_test(control_clients),	   cmocka_unit_test(block1_bytes),
	    cmocka_unit_test(requests_per_device),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
