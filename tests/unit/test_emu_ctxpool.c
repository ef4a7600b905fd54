/* End-to-end test of the context pool (server/emu_ctxpool.c) against the
 * real emulator: a second client whose handshake runs on the context the
 * first one left behind (the status counters say it was reused) gets a
 * full handshake of its own: its own PSK identity, no resumption of the
 * first client's session even when it offers it, a fresh CID, and working
 * application data. Resumption is off on the server, so any "resumed"
 * could only come from state left in the context. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/un.h>

#include "test_emu_dtls.h"

/* CIDs on, resumption off, a second identity, a control socket. */
static void pool_server(struct emu_config *cfg)
{
	char err[256];
	cfg->cid_enabled = 1;
	cfg->cid_length = 6;
	cfg->session_cache = 0;
	cfg->session_tickets = 0;
	cfg->control = strdup(test_ctl_path);
	if (emu_config_add_psk_text(cfg, "other-dev:0f0e0d0c0b0a09080706050403020100", err,
				    sizeof(err)) < 0)
		_exit(3);
}

/* The value of "key":"..." in the nth (1-based) handshake_done line, or "". */
static void handshake_field(int nth, const char *key, char *out, size_t size)
{
	char line[4096], needle[64];
	int seen = 0;
	FILE *f = fopen(events_path, "r");
	out[0] = '\0';
	snprintf(needle, sizeof(needle), "\"%s\":", key);
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "\"handshake_done\"") || ++seen != nth)
			continue;
		const char *p = strstr(line, needle);
		if (p) {
			p += strlen(needle);
			size_t n = strcspn(p, ",}");
			snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), p);
		}
	}
	if (f)
		fclose(f);
}

/* Lines of the events file holding needle, now (no waiting). */
static int lines_with(const char *needle)
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

/* A number among the status counters. */
static long long status_counter(const char *name)
{
	char reply[4096], needle[64];
	test_control("{\"cmd\":\"status\"}\n", reply, sizeof(reply));
	snprintf(needle, sizeof(needle), "\"%s\":", name);
	const char *p = strstr(reply, needle);
	assert_non_null(p);
	return atoll(p + strlen(needle));
}

/* A PSK client of identity with a CID; optionally offering saved. */
static void client_run(mbedtls_ssl_config *conf, mbedtls_ssl_session *saved, int offer, int port)
{
	mbedtls_ssl_context ssl;
	struct client c = {0};
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	if (offer)
		assert_int_equal(mbedtls_ssl_set_session(&ssl, saved), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	/* The context carries CoAP: a GET of an unknown path is answered. */
	assert_true(coap_request(&ssl, 0x01, "nothing/here", NULL, NULL, 0) > 0);
	if (!offer)
		assert_int_equal(mbedtls_ssl_get_session(&ssl, saved), 0);
	mbedtls_ssl_close_notify(&ssl);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
}

/* A client config for identity with the key pool_server gave it. */
static void conf_for(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg, const char *identity,
		     const unsigned char *key)
{
	static const int suites[] = {MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, 0};
	assert_int_equal(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_DATAGRAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, drbg);
	assert_int_equal(
	    mbedtls_ssl_conf_psk(conf, key, 16, (const unsigned char *)identity, strlen(identity)),
	    0);
	mbedtls_ssl_conf_read_timeout(conf, 2000);
	mbedtls_ssl_conf_ciphersuites(conf, suites);
	assert_int_equal(mbedtls_ssl_conf_cid(conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
}

static void reused_context_is_clean(void **state)
{
	static const unsigned char key_a[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
						0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const unsigned char key_b[16] = {15, 14, 13, 12, 11, 10, 9, 8,
						7,  6,	5,  4,	3,  2,	1, 0};
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf_a, conf_b;
	mbedtls_ssl_session saved;
	char cid_a[64], cid_b[64], id_b[64], resumed_b[16];
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_ctxpool_%d.ctl",
		 (int)getpid());
	start_server(pool_server);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf_a);
	mbedtls_ssl_config_init(&conf_b);
	mbedtls_ssl_session_init(&saved);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	conf_for(&conf_a, &drbg, "cid-dev", key_a);
	conf_for(&conf_b, &drbg, "other-dev", key_b);

	client_run(&conf_a, &saved, 0, port);
	assert_true(events_have("\"reason\":\"close_notify\"", 1));
	long long reused = status_counter("contexts_reused");
	/* B offers A's session: only state left in the context could resume it. */
	client_run(&conf_b, &saved, 1, port);
	assert_true(events_have("\"event\":\"handshake_done\"", 2));
	assert_true(status_counter("contexts_reused") > reused);
	handshake_field(1, "own_cid", cid_a, sizeof(cid_a));
	handshake_field(2, "own_cid", cid_b, sizeof(cid_b));
	handshake_field(2, "identity", id_b, sizeof(id_b));
	handshake_field(2, "resumed", resumed_b, sizeof(resumed_b));
	assert_string_equal(id_b, "\"other-dev\"");
	assert_string_equal(resumed_b, "false");
	assert_true(strlen(cid_a) == 14 && strlen(cid_b) == 14); /* "..." of 6 bytes */
	assert_string_not_equal(cid_a, cid_b);
	assert_int_equal(lines_with("\"event\":\"handshake_failed\""), 0);

	mbedtls_ssl_session_free(&saved);
	mbedtls_ssl_config_free(&conf_a);
	mbedtls_ssl_config_free(&conf_b);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(reused_context_is_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
