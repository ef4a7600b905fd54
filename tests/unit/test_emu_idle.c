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

/* Idle timeout 3 s, a control socket for the status counters. */
static void idle_with_control(struct emu_config *cfg)
{
	cfg->dtls_idle_s = 3;
	cfg->control = strdup(test_ctl_path);
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

/* Session 1 stays open and silent while 600 more handshake and close:
 * each leaves its retransmission and idle entries stale in the timer heap,
 * past the 1024 that start a compaction. Session 1's idle entry is live
 * and must survive it: session 1 still times out. Fails when the
 * compaction drops live entries (session 1 would stay forever). */
static void idle_timer_survives_compaction(void **state)
{
	(void)state;
	struct test_dtls_conf t;
	mbedtls_ssl_context a;
	struct client ca = {0};
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_idle_%d.ctl", (int)getpid());
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(idle_with_control);
	int port = server_port();
	assert_true(port > 0);
	test_dtls_conf_init(&t);
	mbedtls_ssl_init(&a);
	assert_int_equal(mbedtls_ssl_setup(&a, &t.conf), 0);
	assert_int_equal(client_handshake(&a, &ca, port), 0);
	int64_t started = lh_time_mono_ms();
	for (int i = 0; i < 600; i++) {
		mbedtls_ssl_context c;
		struct client cc = {0};
		mbedtls_ssl_init(&c);
		assert_int_equal(mbedtls_ssl_setup(&c, &t.conf), 0);
		assert_int_equal(client_handshake(&c, &cc, port), 0);
		mbedtls_ssl_close_notify(&c);
		close(cc.fd);
		mbedtls_ssl_free(&c);
	}
	assert_true(events_have("\"reason\":\"close_notify\"", 600));
	long long dropped = status_counter("timer_entries_dropped");
	/* The churn must end before session 1's deadline for the check to
	 * mean anything; on a machine that slow, say so. */
	if (lh_time_mono_ms() - started < 2500) {
		assert_int_equal(count_lines("\"reason\":\"idle_timeout\""), 0);
		assert_true(dropped > 0);
	} else {
		print_message(
		    "churn took %lld ms: compaction not checked before the idle deadline\n",
		    (long long)(lh_time_mono_ms() - started));
	}
	assert_true(events_have("\"reason\":\"idle_timeout\"", 1));
	close(ca.fd);
	mbedtls_ssl_free(&a);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(silent_unregistered_session_expires),
	    cmocka_unit_test(idle_timer_survives_compaction),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
