/* End-to-end test of refused renegotiation: a real Mbed TLS client with
 * renegotiation enabled sends a ClientHello inside its established DTLS
 * session (with and without CID); the emulator's Mbed TLS refuses it with
 * a no_renegotiation warning alert, the emulator reports
 * renegotiation_refused naming the session, and the session stays open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

static int with_cid;

/* CIDs on (8 bytes) when with_cid. */
static void tweak(struct emu_config *cfg)
{
	cfg->cid_enabled = with_cid;
	cfg->cid_length = 8;
}

/* How many events lines hold needle now (no waiting). */
static int count_lines(const char *needle)
{
	char line[4096];
	int n = 0;
	FILE *f = fopen(events_path, "r");
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return n;
}

/* Handshake, then one renegotiation attempt; the server must refuse it. */
static void refused(int port)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	test_dtls_conf_init(&t);
	mbedtls_ssl_conf_renegotiation(&t.conf, MBEDTLS_SSL_RENEGOTIATION_ENABLED);
	if (with_cid)
		assert_int_equal(
		    mbedtls_ssl_conf_cid(&t.conf, 4, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &t.conf), 0);
	if (with_cid)
		assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED,
						     (const unsigned char *)"\x01\x02\x03\x04", 4),
				 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_true(
	    events_have(with_cid ? "\"cid_negotiated\":true" : "\"cid_negotiated\":false", 1));
	/* The client's renegotiation ClientHello; the server's answer (an
	 * alert, not a ServerHello) ends the client's wait either way. */
	(void)mbedtls_ssl_renegotiate(&ssl);
	assert_true(events_have("\"event\":\"renegotiation_refused\",\"session\":1,", 1));
	assert_true(events_have("\"description\":100,\"name\":\"no_renegotiation\"", 1));
	assert_int_equal(count_lines("\"event\":\"session_closed\""), 0);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	test_dtls_conf_free(&t);
}

/* Runs refused() against a fresh server, CIDs on or off. */
static void run(int cid)
{
	with_cid = cid;
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	refused(port);
	assert_int_equal(stop_server(), 0);
}

static void renegotiation_refused_plain_records(void **state)
{
	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	run(0);
}

/* With CID the records are tls12_cid: the alert is told by its size. */
static void renegotiation_refused_cid_records(void **state)
{
	(void)state;
	run(1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(renegotiation_refused_plain_records),
	    cmocka_unit_test(renegotiation_refused_cid_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
