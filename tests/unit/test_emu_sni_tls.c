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
	struct tls_client c;
	tls_client_init(&c, sni, identity);
	client_attach(&c, port);
	int ret = mbedtls_ssl_handshake(&c.ssl);
	/* Drain before closing: unread data would make close() send a RST. */
	unsigned char sink[4096];
	shutdown(c.fd, SHUT_WR);
	while (recv(c.fd, sink, sizeof(sink), 0) > 0)
		;
	tls_client_free(&c);
	return ret;
}

/* The client's ClientHello record split into two records after `at` bytes
 * of its handshake message (a TLS peer may fragment any message). */
static void split_hello(struct tls_client *c, size_t at)
{
	uint8_t rec[sizeof(c->hello)];
	size_t body = c->hello_len - EMU_TLS_RECORD_HDR_LEN;
	assert_true(at > 0 && at < body && c->hello_len + EMU_TLS_RECORD_HDR_LEN <= sizeof(rec));
	memcpy(rec, c->hello, EMU_TLS_RECORD_HDR_LEN);
	rec[3] = (uint8_t)(at >> 8);
	rec[4] = (uint8_t)at;
	memcpy(rec + EMU_TLS_RECORD_HDR_LEN, c->hello + EMU_TLS_RECORD_HDR_LEN, at);
	uint8_t *second = rec + EMU_TLS_RECORD_HDR_LEN + at;
	memcpy(second, c->hello, EMU_TLS_RECORD_HDR_LEN);
	second[3] = (uint8_t)((body - at) >> 8);
	second[4] = (uint8_t)(body - at);
	memcpy(second + EMU_TLS_RECORD_HDR_LEN, c->hello + EMU_TLS_RECORD_HDR_LEN + at, body - at);
	c->hello_len += EMU_TLS_RECORD_HDR_LEN;
	memcpy(c->hello, rec, c->hello_len);
}

/* A handshake whose ClientHello (split into two records after split bytes
 * when split > 0) reaches the emulator one byte per write. */
static int tls_handshake_bytewise(int port, const char *sni, const char *identity, size_t split)
{
	struct tls_client c;
	tls_client_init(&c, sni, identity);
	client_hello(&c);
	if (split)
		split_hello(&c, split);
	client_attach(&c, port);
	send_bytewise(c.fd, c.hello, c.hello_len);
	int ret = mbedtls_ssl_handshake(&c.ssl);
	unsigned char sink[4096];
	shutdown(c.fd, SHUT_WR);
	while (recv(c.fd, sink, sizeof(sink), 0) > 0)
		;
	tls_client_free(&c);
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

/* As tls_vhosts, but a missing SNI gets the default vhost. */
static void tls_missing_default(struct emu_config *cfg)
{
	tls_vhosts(cfg);
	cfg->sni_reject_missing = 0;
}

/* An IP literal names no host (RFC 6066 §3): with "missing": "default" it
 * gets the default vhost like no SNI at all, still flagged, while unknown
 * names stay refused. */
static void tls_ip_literal_counts_as_missing(void **state)
{
	(void)state;
	start_server(tls_missing_default);
	int port = tls_port();
	assert_true(port > 0);
	assert_int_equal(tls_handshake(port, "127.0.0.1", "cid-dev"), 0);
	assert_true(events_have("\"sni\":\"127.0.0.1\",\"vhost\":\"default\"", 1));
	assert_true(events_have("\"violation\":\"ip_literal\"", 1));
	assert_int_equal(tls_handshake(port, "::1", "cid-dev"), 0);
	assert_true(events_have("\"sni\":\"::1\",\"vhost\":\"default\"", 1));
	assert_int_not_equal(tls_handshake(port, "b.example", "cid-dev"), 0);
	assert_true(events_have("\"name\":\"unrecognized_name\"", 1));
	assert_int_equal(stop_server(), 0);
}

/* The SNI is read from a ClientHello that arrives in pieces: the vhost is
 * picked before the handshake starts however the bytes are cut. */
static void tls_sni_from_bytewise_hello(void **state)
{
	(void)state;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tls_vhosts);
	int port = tls_port();
	assert_true(port > 0);
	/* Only the vhost knows "a-dev": the handshake completes only there. */
	assert_int_equal(tls_handshake_bytewise(port, "a.example", "a-dev", 0), 0);
	assert_true(events_have("\"sni\":\"a.example\",\"vhost\":\"a.example\"", 1));
	/* The same ClientHello in two records, cut inside the SNI extension. */
	assert_int_equal(tls_handshake_bytewise(port, "A.example", "a-dev", 60), 0);
	assert_true(events_have("\"sni\":\"A.example\",\"vhost\":\"a.example\"", 1));
	/* ... and right after the handshake header (Mbed TLS itself refuses
	 * a first fragment shorter than that). */
	assert_int_equal(tls_handshake_bytewise(port, "a.Example", "a-dev", 4), 0);
	assert_true(events_have("\"sni\":\"a.Example\",\"vhost\":\"a.example\"", 1));
	/* An unknown name is still refused by the policy, as before. */
	assert_int_not_equal(tls_handshake_bytewise(port, "b.example", "cid-dev", 0), 0);
	assert_true(events_have("\"description\":112,\"name\":\"unrecognized_name\"", 1));
	assert_int_equal(stop_server(), 0);
}

/* After the fatal alert that ends a failed handshake, the connection
 * lingers until the peer closes (so no RST overtakes the alert); a peer
 * that neither reads nor closes must not hold the emulator up meanwhile:
 * another client's whole handshake completes while the emulator still
 * holds the first connection open. */
static void tls_linger_does_not_block(void **state)
{
	(void)state;
	struct tls_client a;
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(tls_vhosts);
	int port = tls_port();
	assert_true(port > 0);
	/* A: a ClientHello for an unknown name, refused with a fatal alert. */
	tls_client_init(&a, "b.example", "cid-dev");
	client_hello(&a);
	client_attach(&a, port);
	assert_int_equal(send(a.fd, a.hello, a.hello_len, MSG_NOSIGNAL), (ssize_t)a.hello_len);
	assert_true(events_have("\"alert_sent\":{\"level\":2,\"description\":112", 1));
	/* B, while A neither reads nor closes. */
	assert_int_equal(tls_handshake(port, "a.example", "a-dev"), 0);
	assert_true(events_have("\"vhost\":\"a.example\"", 1));
	assert_true(server_end_held(port, local_port(a.fd)));
	/* A got the alert, then a FIN (not a RST). */
	uint8_t rec[7];
	assert_int_equal(recv(a.fd, rec, sizeof(rec), MSG_WAITALL), (ssize_t)sizeof(rec));
	assert_memory_equal(rec, "\x15\x03\x03\x00\x02\x02\x70", sizeof(rec));
	assert_int_equal(recv(a.fd, rec, sizeof(rec), 0), 0);
	/* A closes: the emulator lets go of its end. */
	int cport = local_port(a.fd);
	tls_client_free(&a);
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	while (server_end_held(port, cport) && lh_time_mono_ms() < end)
		usleep(10000);
	assert_false(server_end_held(port, cport));
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tls_sni_selects_vhost),
	    cmocka_unit_test(tls_sni_from_bytewise_hello),
	    cmocka_unit_test(tls_ip_literal_counts_as_missing),
	    cmocka_unit_test(tls_linger_does_not_block),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
