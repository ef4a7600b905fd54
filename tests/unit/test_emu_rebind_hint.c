/* End-to-end test of the rebind hint: a datagram no session claims, from
 * the IP of a live DTLS session but another port (a client whose port
 * changed without CID), is dropped as unknown_peer with a hint saying so;
 * from an IP without sessions, without one. Real emulator, real Mbed TLS
 * client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

/* The events line holding both needles, copied into line; 0 when none. */
static int event_line2(const char *a, const char *b, char *line, size_t size)
{
	FILE *f = fopen(events_path, "r");
	int found = 0;
	while (f && !found && fgets(line, (int)size, f))
		found = strstr(line, a) && strstr(line, b);
	if (f)
		fclose(f);
	return found;
}

/* Sends buf to the server's port from a fresh socket bound to ip. */
static void send_from(const char *ip, int port, const uint8_t *buf, size_t len)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(inet_pton(AF_INET, ip, &src.sin_addr), 1);
	assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof(src)), 0);
	dst.sin_port = htons((uint16_t)port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(sendto(fd, buf, len, 0, (struct sockaddr *)&dst, sizeof(dst)),
			 (ssize_t)len);
	close(fd);
}

static void unknown_peer_on_live_ip_gets_hint(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64], line[4096];
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(NULL);
	int port = server_port();
	assert_true(port > 0);
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &t.conf), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=hint&lt=60", loc, sizeof(loc)), 0x41);
	/* The client's last record again, as if its port had changed. */
	send_from("127.0.0.1", port, c.last_out, c.last_out_len);
	assert_true(events_have("\"hint\":\"the client's port probably changed without CID\"", 1));
	assert_true(event_line2("\"reason\":\"unknown_peer\"", "\"hint\"", line, sizeof(line)));
	assert_non_null(strstr(line, "\"peer\":\"127.0.0.1:"));
	/* From an IP with no session: no hint. */
	send_from("127.0.0.2", port, c.last_out, c.last_out_len);
	assert_true(events_have("\"peer\":\"127.0.0.2:", 1));
	assert_true(event_line2("\"peer\":\"127.0.0.2:", "unknown_peer", line, sizeof(line)));
	assert_null(strstr(line, "\"hint\""));
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unknown_peer_on_live_ip_gets_hint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
