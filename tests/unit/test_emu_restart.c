/* End-to-end test of graceful restart: a CID session and its registration
 * survive an emulator restart with --state (the client updates without a new
 * handshake), and are gone after a restart without it (records with the old
 * CID are dropped as unknown). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

static char state_path[64];
static int fixed_port;
static int use_state;

/* CID 6, a fixed port after the first start, and the state file. */
static void tweak(struct emu_config *cfg)
{
	cfg->cid_enabled = 1;
	cfg->cid_length = 6;
	cfg->dtls_port = fixed_port;
	if (use_state)
		cfg->state = strdup(state_path);
}

/* A CID client registered with a fresh emulator; returns the port. */
static int connect_and_register(mbedtls_ssl_config *conf, mbedtls_ssl_context *ssl,
				struct client *c, char *loc, size_t loc_size)
{
	fixed_port = 0;
	start_server(tweak);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(mbedtls_ssl_conf_cid(conf, 0, MBEDTLS_SSL_UNEXPECTED_CID_IGNORE), 0);
	assert_int_equal(mbedtls_ssl_setup(ssl, conf), 0);
	assert_int_equal(mbedtls_ssl_set_cid(ssl, MBEDTLS_SSL_CID_ENABLED, NULL, 0), 0);
	assert_int_equal(client_handshake(ssl, c, port), 0);
	assert_int_equal(coap_request(ssl, 0x02, "rd", "ep=restart-dev&lt=300", loc, loc_size),
			 0x41);
	return port;
}

/* Runs one restart and returns the code of the Update sent after it (-1
 * when nothing came back). */
static int update_after_restart(int with_state)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	struct client c = {0};
	char loc[64];
	use_state = with_state;
	snprintf(state_path, sizeof(state_path), "/tmp/test_emu_state_%d.json", (int)getpid());
	unlink(state_path);
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0), 0);
	client_conf(&conf, &drbg);
	int port = connect_and_register(&conf, &ssl, &c, loc, sizeof(loc));
	assert_int_equal(stop_server(), 0);
	assert_int_equal(access(state_path, F_OK) == 0, with_state);

	fixed_port = port;
	start_server(tweak);
	assert_int_equal(server_port(), port);
	if (with_state)
		assert_true(events_have("\"event\":\"state_restored\"", 1));
	int code = coap_request(&ssl, 0x02, loc, "lt=300", NULL, 0);
	if (with_state) {
		assert_true(events_have("\"code\":\"2.04\"", 1));
		assert_int_equal(events_have("handshake_started", 1), 0);
		assert_int_equal(access(state_path, F_OK), 0); /* kept: crash-safe */
	} else {
		assert_true(events_have("\"reason\":\"unknown_cid\"", 1));
	}
	assert_int_equal(stop_server(), 0);
	unlink(state_path);
	close(c.fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return code;
}

static void restart_with_state_keeps_session(void **state)
{
	(void)state;
	assert_int_equal(update_after_restart(1), 0x44);
}

static void restart_without_state_loses_it(void **state)
{
	(void)state;
	assert_int_equal(update_after_restart(0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(restart_with_state_keeps_session),
	    cmocka_unit_test(restart_without_state_loses_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
