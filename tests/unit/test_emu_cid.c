/* End-to-end test of the emulator's DTLS Connection ID handling, with the
 * real server (in a child process, real sockets on 127.0.0.1) and a real
 * Mbed TLS client that asks for a zero-length CID of its own (as Anjay
 * does). Checks: Register works, a rebound client keeps its session (RFC
 * 9146 §6, peer_address_changed), and a replayed or forged record from a
 * third address does not move the session. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/un.h>

#include "test_emu_dtls.h"

/* The server assigns 4-byte CIDs, has a control socket, and closes a
 * session after 20 bad-MAC records on its own address. */
static void cid_on(struct emu_config *cfg)
{
	cfg->cid_enabled = 1;
	cfg->cid_length = 4;
	cfg->badmac_limit = 20;
	cfg->control = strdup(test_ctl_path);
}

/* The id of the newest established session, from handshake_done. */
static long long last_session_id(void)
{
	char line[4096];
	long long id = -1;
	FILE *f = fopen(events_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"session\":");
		if (p && strstr(line, "\"handshake_done\""))
			id = atoll(p + strlen("\"session\":"));
	}
	if (f)
		fclose(f);
	return id;
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_cid_%d.sock", (int)getpid());
	start_server(cid_on);
	return 0;
}

/* A clean SIGTERM shutdown exits 0. */
static int teardown(void **state)
{
	(void)state;
	return stop_server();
}

static void rebinding_with_cid(void **state)
{
	(void)state;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64], own_cid_seen[64];
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf(&conf, &drbg);
	assert_int_equal(mbedtls_ssl_conf_cid(&conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_true(events_have("\"cid_negotiated\":true", 1));
	assert_true(events_have("\"peer_cid\":\"\"", 1)); /* zero-length client CID */
	assert_true(events_have("\"cookie_verified\":true", 1));

	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=cid-test&lt=60", loc, sizeof(loc)),
			 0x41);
	assert_int_equal(strncmp(loc, "rd/", 3), 0);
	snprintf(own_cid_seen, sizeof(own_cid_seen), "\"endpoint\":\"cid-test\"");
	assert_true(events_have(own_cid_seen, 1));

	/* NAT rebinding: same session, new source port. */
	int old_fd = c.fd;
	c.fd = new_socket(port);
	assert_int_equal(coap_request(&ssl, 0x02, loc, NULL, NULL, 0), 0x44);
	assert_true(events_have("\"peer_address_changed\"", 1));

	/* A replay of that record from a third address must not move it. */
	int third = new_socket(port);
	assert_int_equal(send(third, c.last_out, c.last_out_len, 0), (ssize_t)c.last_out_len);
	assert_true(events_have("address_change_unauthenticated", 1));
	/* Nor may a forged record carrying the right CID. */
	uint8_t forged[64];
	memcpy(forged, c.last_out, 16);
	memset(forged + 16, 0x42, sizeof(forged) - 16);
	forged[8] = 0x7f; /* a higher sequence number */
	forged[15] = 0;
	forged[16] = sizeof(forged) - 17;
	assert_int_equal(send(third, forged, sizeof(forged), 0), (ssize_t)sizeof(forged));
	assert_true(events_have("address_change_unauthenticated", 2));
	/* The session still answers at the second address only. */
	assert_int_equal(coap_request(&ssl, 0x02, loc, NULL, NULL, 0), 0x44);
	assert_int_equal(events_have("\"peer_address_changed\"", 1), 1);
	/* Deregister, then the location is gone: 4.04. */
	assert_int_equal(coap_request(&ssl, 0x04, loc, NULL, NULL, 0), 0x42);
	assert_int_equal(coap_request(&ssl, 0x02, loc, NULL, NULL, 0), 0x84);

	close(third);
	close(old_fd);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

/* Sends buf from the session's own socket (its own peer address). */
static void send_raw(int fd, const uint8_t *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, 0), (ssize_t)len);
}

/* Records that do not authenticate but come from the session's own peer
 * address (what an off-path attacker spoofing UDP sends) are dropped and
 * counted; the session lives on (RFC 6347 §4.1.2.7). */
static void spoofed_from_own_address(void **state)
{
	(void)state;
	/* The plaintext record fuzz_session found to close a session. */
	static const uint8_t found[] = {0x16, 0xff, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00,
					0x00, 0x04, 0x00, 0x00, 0x01, 0x00, 0x04};
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	uint8_t forged[64], junk[40];
	int port = server_port();
	int closed = events_have("\"session_closed\"", 0);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf(&conf, &drbg);
	assert_int_equal(mbedtls_ssl_conf_cid(&conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=spoof-test&lt=60", loc, sizeof(loc)),
			 0x41);
	send_raw(c.fd, found, sizeof(found));
	/* A bad-MAC tls12_cid record with the session's CID, newer seq. */
	memcpy(forged, c.last_out, 16);
	memset(forged + 16, 0x42, sizeof(forged) - 16);
	forged[8] = 0x7f;
	forged[15] = 0;
	forged[16] = sizeof(forged) - 17;
	send_raw(c.fd, forged, sizeof(forged));
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)(0x17 + i * 7);
	send_raw(c.fd, junk, sizeof(junk));
	assert_true(events_have("\"reason\":\"bad_record_mac\"", 1));
	assert_true(events_have("\"reason\":\"invalid_record\"", 2));
	assert_int_equal(coap_request(&ssl, 0x02, loc, NULL, NULL, 0), 0x44);
	assert_int_equal(events_have("\"session_closed\"", 0), closed);
	/* A fatal alert from the control API frees the session: the reply must
	 * still name it by its id (it once read the freed memory). */
	char req[128], reply[512], want[64];
	long long id = last_session_id();
	snprintf(req, sizeof(req), "{\"cmd\":\"send_alert\",\"session\":%lld,\"description\":40}\n",
		 id);
	test_control(req, reply, sizeof(reply));
	snprintf(want, sizeof(want), "\"session\":%lld,", id);
	if (!strstr(reply, want) || !strstr(reply, "\"ok\":true"))
		fail_msg("send_alert reply %s lacks %s", reply, want);
	assert_true(events_have("fatal_alert_sent", 1));
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

/* With dtls.badmac_limit set, that many bad-MAC records on the session's
 * own address close it (RFC 6347 §4.1.2.7); fewer do not. */
static void bad_mac_limit_closes(void **state)
{
	(void)state;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	uint8_t forged[64];
	int port = server_port();
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf(&conf, &drbg);
	assert_int_equal(mbedtls_ssl_conf_cid(&conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(&ssl, &conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	assert_int_equal(coap_request(&ssl, 0x02, "rd", "ep=badmac-test&lt=60", loc, sizeof(loc)),
			 0x41);
	memcpy(forged, c.last_out, 16);
	memset(forged + 16, 0x42, sizeof(forged) - 16);
	forged[15] = 0;
	forged[16] = sizeof(forged) - 17;
	for (int i = 0; i < 19; i++) {
		forged[8] = (uint8_t)(0x60 + i); /* each newer: not a replay */
		send_raw(c.fd, forged, sizeof(forged));
	}
	assert_int_equal(coap_request(&ssl, 0x02, loc, NULL, NULL, 0), 0x44);
	assert_int_equal(events_have("bad_mac_limit", 0), 0);
	forged[8] = 0x7e;
	send_raw(c.fd, forged, sizeof(forged));
	assert_true(events_have("\"reason\":\"bad_mac_limit\"", 1));
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rebinding_with_cid),
	    cmocka_unit_test(spoofed_from_own_address),
	    cmocka_unit_test(bad_mac_limit_closes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
