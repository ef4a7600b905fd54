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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(cache_resumption),
	    cmocka_unit_test(ticket_resumption),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
