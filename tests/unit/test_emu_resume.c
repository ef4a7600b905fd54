/* End-to-end test of session resumption against the real emulator: with the
 * session cache (tickets off) and with tickets (cache off) a saved session
 * resumes ("resumed":true); after `forget_sessions` on the control socket
 * the same saved session must fall back to a full handshake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/un.h>

#include "test_emu_dtls.h"

/* Session cache only, with a control socket. */
static void cache_only(struct emu_config *cfg)
{
	cfg->session_cache = 1;
	cfg->session_tickets = 0;
	cfg->control = strdup(test_ctl_path);
}

/* Session tickets only, with a control socket. */
static void tickets_only(struct emu_config *cfg)
{
	cfg->session_cache = 0;
	cfg->session_tickets = 1;
	cfg->control = strdup(test_ctl_path);
}

/* One handshake, optionally offering a saved session; saves the new one. */
static void connect_once(mbedtls_ssl_config *conf, mbedtls_ssl_session *saved, int offer, int port)
{
	mbedtls_ssl_context ssl;
	struct client c = {0};
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ssl_setup(&ssl, conf), 0);
	if (offer)
		assert_int_equal(mbedtls_ssl_set_session(&ssl, saved), 0);
	assert_int_equal(client_handshake(&ssl, &c, port), 0);
	mbedtls_ssl_session_free(saved);
	mbedtls_ssl_session_init(saved);
	assert_int_equal(mbedtls_ssl_get_session(&ssl, saved), 0);
	mbedtls_ssl_close_notify(&ssl);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
}

/* full, resumed (by "cache" or "ticket", as handshake_done must say),
 * forget, full again. */
static void resume_then_forget(test_emu_tweak_fn tweak, const char *by)
{
	char resumed_by[64];
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_session saved;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_resume_%d.ctl",
		 (int)getpid());
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_session_init(&saved);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf(&conf, &drbg);

	connect_once(&conf, &saved, 0, port);
	assert_true(events_have("\"resumed\":false", 1));
	connect_once(&conf, &saved, 1, port);
	assert_true(events_have("\"resumed\":true", 1));
	snprintf(resumed_by, sizeof(resumed_by), "\"resumed\":true,\"resumed_by\":\"%s\"", by);
	assert_true(events_have(resumed_by, 1));
	assert_true(events_have("\"cookie_verified\":true,\"cid_negotiated\":"
				"false,\"own_cid\":null,\"peer_cid\":null,\"identity\":\"cid-dev\"",
				1));
	assert_true(events_have("\"resumed\":false,\"resumed_by\":null", 1));
	test_control_ok("{\"cmd\":\"forget_sessions\"}\n");
	connect_once(&conf, &saved, 1, port);
	assert_true(events_have("\"resumed\":false", 2));
	assert_int_equal(events_have("\"resumed\":true", 1), 1);

	mbedtls_ssl_session_free(&saved);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	assert_int_equal(stop_server(), 0);
}

/* A second identity beside "cid-dev", for the identity memory. */
static void add_second_identity(struct emu_config *cfg)
{
	char err[256];
	if (emu_config_add_psk_text(cfg, "dev-two:0f0e0d0c0b0a09080706050403020100", err,
				    sizeof(err)) < 0)
		_exit(3);
}

static void cache_two(struct emu_config *cfg)
{
	cache_only(cfg);
	add_second_identity(cfg);
}

static void tickets_two(struct emu_config *cfg)
{
	tickets_only(cfg);
	add_second_identity(cfg);
}

/* handshake_done lines of resumed sessions that name identity, now. */
static int resumed_as(const char *identity)
{
	char line[4096], who[160];
	int n = 0;
	FILE *f = fopen(events_path, "r");
	snprintf(who, sizeof(who), "\"identity\":\"%s\"", identity);
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "\"handshake_done\"") && strstr(line, "\"resumed\":true") &&
		     strstr(line, who);
	if (f)
		fclose(f);
	return n;
}

/* Two devices handshake in full, then resume in the other order: each
 * resumed handshake_done must name the device's own identity, which only
 * the server's memory per session ID / ticket can tell (Mbed TLS's session
 * has no PSK identity). Fails when that memory's key is not unique per
 * session (e.g. a ticket keyed by its key name alone). */
static void identities_after_resume(test_emu_tweak_fn tweak)
{
	static const unsigned char key_two[16] = {15, 14, 13, 12, 11, 10, 9, 8,
						  7,  6,  5,  4,  3,  2,  1, 0};
	static const int suites[] = {MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, 0};
	struct test_dtls_conf one;
	mbedtls_ssl_config two;
	mbedtls_ssl_session saved_one, saved_two;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_resume_%d.ctl",
		 (int)getpid());
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	test_dtls_conf_init(&one);
	mbedtls_ssl_config_init(&two);
	assert_int_equal(mbedtls_ssl_config_defaults(&two, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_DATAGRAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&two, mbedtls_ctr_drbg_random, &one.drbg);
	assert_int_equal(mbedtls_ssl_conf_psk(&two, key_two, sizeof(key_two),
					      (const unsigned char *)"dev-two", 7),
			 0);
	mbedtls_ssl_conf_read_timeout(&two, 2000);
	mbedtls_ssl_conf_ciphersuites(&two, suites);
	mbedtls_ssl_session_init(&saved_one);
	mbedtls_ssl_session_init(&saved_two);

	connect_once(&one.conf, &saved_one, 0, port);
	connect_once(&two, &saved_two, 0, port);
	assert_true(events_have("\"resumed\":false", 2));
	connect_once(&two, &saved_two, 1, port);
	assert_true(events_have("\"resumed\":true", 1));
	assert_int_equal(resumed_as("dev-two"), 1);
	connect_once(&one.conf, &saved_one, 1, port);
	assert_true(events_have("\"resumed\":true", 2));
	assert_int_equal(resumed_as("cid-dev"), 1);
	assert_int_equal(resumed_as("dev-two"), 1);

	mbedtls_ssl_session_free(&saved_one);
	mbedtls_ssl_session_free(&saved_two);
	mbedtls_ssl_config_free(&two);
	test_dtls_conf_free(&one);
	assert_int_equal(stop_server(), 0);
}

static void cache_resumption(void **state)
{
	(void)state;
	resume_then_forget(cache_only, "cache");
}

static void ticket_resumption(void **state)
{
	(void)state;
	resume_then_forget(tickets_only, "ticket");
}

static void cache_identities(void **state)
{
	(void)state;
	identities_after_resume(cache_two);
}

static void ticket_identities(void **state)
{
	(void)state;
	identities_after_resume(tickets_two);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cache_resumption),
	    cmocka_unit_test(ticket_resumption),
	    cmocka_unit_test(cache_identities),
	    cmocka_unit_test(ticket_identities),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
