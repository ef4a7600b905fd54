/* End-to-end test of a full CID space: with 1-byte CIDs the server has 256
 * of them. The real server (child process, 127.0.0.1) takes 256 PSK
 * handshakes from a real Mbed TLS client, then refuses the 257th ClientHello
 * with record_dropped cid_space_full instead of searching for a free CID
 * forever, and keeps serving. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

#define CID_SPACE 256

/* 1-byte CIDs, cookies off (fewer round trips), a control socket. */
static void one_byte_cids(struct emu_config *cfg)
{
	cfg->cid_enabled = 1;
	cfg->cid_length = 1;
	cfg->cookies = 0;
	cfg->control = strdup(test_ctl_path);
}

/* One PSK handshake with CID from a fresh port, left open in *fd so the
 * port is not reused (a reused address would be a client restart, which
 * frees the old session's CID); returns Mbed TLS's result. */
static int one_handshake(int port, mbedtls_ssl_config *conf, int *fd)
{
	mbedtls_ssl_context ssl;
	struct client c = {0};
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, conf), 0);
	/* Ask for the server's CID (none of our own, as Anjay does). */
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	int ret = client_handshake(&ssl, &c, port);
	*fd = c.fd;
	mbedtls_ssl_free(&ssl);
	return ret;
}

static void full_cid_space_refuses(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	char reply[1024];
	static int fds[CID_SPACE + 1];
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_cidspace_%d.sock",
		 (int)getpid());
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(one_byte_cids);
	int port = server_port();
	test_dtls_conf_init(&t);
	assert_int_equal(mbedtls_ssl_conf_cid(&t.conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	mbedtls_ssl_conf_handshake_timeout(&t.conf, 200, 800);
	for (int i = 0; i < CID_SPACE; i++)
		assert_int_equal(one_handshake(port, &t.conf, &fds[i]), 0);
	assert_int_not_equal(one_handshake(port, &t.conf, &fds[CID_SPACE]), 0);
	assert_true(events_have("\"reason\":\"cid_space_full\"", 1));
	test_control("{\"cmd\":\"status\"}\n", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"sessions\":256"));
	for (int i = 0; i <= CID_SPACE; i++)
		close(fds[i]);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_cid_space_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
