/* End-to-end test of the idle timeout of open DTLS sessions
 * ($.dtls.idle_timeout) against the real emulator and real Mbed TLS
 * clients: a silent session without a registration is closed with reason
 * idle_timeout, while an older, just as silent session whose registration
 * is alive is kept and still answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

/* One second of silence is enough; a second device with its own
 * identity (with one shared identity, a new handshake would carry the one
 * registered device along: emu_device.c). */
static void short_idle(struct emu_config *cfg)
{
	char err[128];
	cfg->dtls_idle_s = 1;
	if (emu_config_add_psk_text(cfg, "idle-b:00112233445566778899aabbccddeeff", err,
				    sizeof(err)) < 0)
		_exit(3);
}

/* The events line holding needle, copied into line; 0 when none. */
static int event_line(const char *needle, char *line, size_t size)
{
	FILE *f = fopen(events_path, "r");
	int found = 0;
	while (f && !found && fgets(line, (int)size, f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
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

static void silent_unregistered_session_expires(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_config conf_b;
	mbedtls_ssl_context a, b;
	struct client ca = {0}, cb = {0};
	char loc[64], path[80], line[4096];
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(short_idle);
	int port = server_port();
	assert_true(port > 0);
	test_dtls_conf_init(&t);
	mbedtls_ssl_config_init(&conf_b);
	client_conf_id(&conf_b, &t.drbg, "idle-b");
	mbedtls_ssl_init(&a);
	mbedtls_ssl_init(&b);
	assert_int_equal(mbedtls_ssl_setup(&a, &t.conf), 0);
	assert_int_equal(mbedtls_ssl_setup(&b, &conf_b), 0);
	/* Session 1 registers (lifetime 60 s), session 2 does not. */
	assert_int_equal(client_handshake(&a, &ca, port), 0);
	assert_int_equal(coap_request(&a, 0x02, "rd", "ep=idle-a&lt=60", loc, sizeof(loc)), 0x41);
	assert_int_equal(client_handshake(&b, &cb, port), 0);
	/* Session 2 goes once silent for a second; session 1, silent for
	 * longer, had its idle check first and was kept. */
	assert_true(events_have("\"reason\":\"idle_timeout\"", 1));
	assert_true(event_line("\"reason\":\"idle_timeout\"", line, sizeof(line)));
	assert_non_null(strstr(line, "\"session\":2,"));
	assert_int_equal(count_lines("\"reason\":\"idle_timeout\""), 1);
	/* ... and session 1 still answers: an Update on it. */
	snprintf(path, sizeof(path), "%s", loc);
	assert_int_equal(coap_request(&a, 0x02, path, NULL, NULL, 0), 0x44);
	close(ca.fd);
	close(cb.fd);
	mbedtls_ssl_free(&a);
	mbedtls_ssl_free(&b);
	mbedtls_ssl_config_free(&conf_b);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(silent_unregistered_session_expires),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
