/* End-to-end test that the device is the unit, with the real emulator in a
 * child process and real Mbed TLS DTLS clients on 127.0.0.1: a device that
 * reconnects and resumes its session (cache or ticket) and sends nothing
 * more is still reached by a server-initiated Read, on its new session; the
 * same after a new full handshake with an identity only it has; the old
 * session is closed as superseded when the move is certain, hibernated or
 * not (a hibernated one was left open before: seen failing without
 * emu_hib_supersede). And sessions
 * hold no descriptor: a hundred of them leave the server's fd count where
 * one left it. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"

static void cache_and_control(struct emu_config *cfg)
{
	cfg->session_cache = 1;
	cfg->session_tickets = 0;
	cfg->control = strdup(test_ctl_path);
}

static void tickets_and_control(struct emu_config *cfg)
{
	cfg->session_cache = 0;
	cfg->session_tickets = 1;
	cfg->control = strdup(test_ctl_path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_device_%d.sock",
		 (int)getpid());
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	return 0;
}

/* Handshake (offering saved when given), then Register ep when ep. */
static void connect_dev(mbedtls_ssl_context *ssl, struct client *c, mbedtls_ssl_config *conf,
			mbedtls_ssl_session *saved, const char *ep)
{
	char query[96], loc[64];
	mbedtls_ssl_init(ssl);
	assert_int_equal(mbedtls_ssl_setup(ssl, conf), 0);
	if (saved)
		assert_int_equal(mbedtls_ssl_set_session(ssl, saved), 0);
	assert_int_equal(client_handshake(ssl, c, server_port()), 0);
	if (!ep)
		return;
	snprintf(query, sizeof(query), "ep=%s&lt=600", ep);
	assert_int_equal(coap_request(ssl, 0x02, "rd", query, loc, sizeof(loc)), 0x41);
}

/* Asks the emulator to Read /3/0 of ep; the device (ssl) must get the GET
 * and its answer must come back decoded. */
static void read_reaches(mbedtls_ssl_context *ssl, const char *ep, const char *text)
{
	char line[256];
	uint8_t req[512], resp[64];
	snprintf(
	    line, sizeof(line),
	    "{\"cmd\":\"request\",\"endpoint\":\"%s\",\"method\":\"read\",\"path\":\"/3/0\"}\n",
	    ep);
	test_control_ok(line);
	int n = mbedtls_ssl_read(ssl, req, sizeof(req));
	assert_true(n >= 4);
	assert_int_equal(req[0] >> 4, 0x4); /* CON */
	assert_int_equal(req[1], 0x01);	    /* GET */
	size_t tkl = req[0] & 0x0f, m = 0;
	resp[m++] = (uint8_t)(0x60 | tkl); /* ACK */
	resp[m++] = 0x45;		   /* 2.05 */
	resp[m++] = req[2];
	resp[m++] = req[3];
	memcpy(resp + m, req + 4, tkl);
	m += tkl;
	resp[m++] = 0xc0; /* Content-Format (12): 0, text/plain */
	resp[m++] = 0xff;
	memcpy(resp + m, text, strlen(text));
	m += strlen(text);
	assert_int_equal(mbedtls_ssl_write(ssl, resp, m), (int)m);
	char needle[128];
	snprintf(needle, sizeof(needle), "\"decoded\":\"%s\"", text);
	assert_true(events_have(needle, 1));
}

/* Register, drop the connection without a word (a reboot, a NAT that
 * forgot us), resume from a new port, send nothing: still reachable. */
static void resumed_without_update(test_emu_tweak_fn tweak)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context a, b;
	struct client ca = {0}, cb = {0};
	mbedtls_ssl_session saved;
	start_server(tweak);
	test_dtls_conf_init(&t);
	mbedtls_ssl_session_init(&saved);
	connect_dev(&a, &ca, &t.conf, NULL, "dev-resume");
	assert_int_equal(mbedtls_ssl_get_session(&a, &saved), 0);
	close(ca.fd);
	connect_dev(&b, &cb, &t.conf, &saved, NULL);
	assert_true(events_have("\"resumed\":true", 1));
	assert_true(events_have("\"event\":\"device_moved\"", 1));
	assert_true(events_have("\"reason\":\"resumed\"", 1));
	assert_true(events_have("\"reason\":\"superseded\"", 1));
	read_reaches(&b, "dev-resume", "after-resume");
	mbedtls_ssl_free(&a);
	mbedtls_ssl_free(&b);
	close(cb.fd);
	mbedtls_ssl_session_free(&saved);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

static void resumed_cache(void **state)
{
	(void)state;
	resumed_without_update(cache_and_control);
}

static void resumed_ticket(void **state)
{
	(void)state;
	resumed_without_update(tickets_and_control);
}

/* Tickets, and sessions hibernated after 1 s of quiet. */
static void tickets_hibernating(struct emu_config *cfg)
{
	tickets_and_control(cfg);
	cfg->hibernate_after_s = 1;
}

/* The device's old session is hibernated when it resumes from a new port:
 * it is closed as superseded all the same (it was left to its idle
 * timeout, still listed as the device's session). */
static void resumed_after_hibernation(void **state)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context a, b;
	struct client ca = {0}, cb = {0};
	mbedtls_ssl_session saved;
	(void)state;
	start_server(tickets_hibernating);
	test_dtls_conf_init(&t);
	mbedtls_ssl_session_init(&saved);
	connect_dev(&a, &ca, &t.conf, NULL, "dev-hib");
	assert_int_equal(mbedtls_ssl_get_session(&a, &saved), 0);
	assert_true(events_have("\"event\":\"session_hibernated\"", 1));
	close(ca.fd);
	connect_dev(&b, &cb, &t.conf, &saved, NULL);
	assert_true(events_have("\"old_session_hibernated\":true", 1));
	assert_true(events_have("\"reason\":\"superseded\",\"hibernated\":true", 1));
	read_reaches(&b, "dev-hib", "after-hibernation");
	mbedtls_ssl_free(&a);
	mbedtls_ssl_free(&b);
	close(cb.fd);
	mbedtls_ssl_session_free(&saved);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

/* A new full handshake with the identity exactly one registered device
 * has, and no Register: the device follows it (the old session is left to
 * expire: the identity alone does not prove it is the same device). */
static void full_handshake_same_identity(void **state)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context a, b;
	struct client ca = {0}, cb = {0};
	(void)state;
	start_server(cache_and_control);
	test_dtls_conf_init(&t);
	connect_dev(&a, &ca, &t.conf, NULL, "dev-ident");
	connect_dev(&b, &cb, &t.conf, NULL, NULL);
	assert_true(events_have("\"reason\":\"identity\"", 1));
	read_reaches(&b, "dev-ident", "after-full");
	mbedtls_ssl_free(&a);
	mbedtls_ssl_free(&b);
	close(ca.fd);
	close(cb.fd);
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

/* Open descriptors of the server process. */
static int server_fds(void)
{
	char path[64];
	int n = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)server_pid);
	DIR *d = opendir(path);
	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* No socket per session: 1 session and 100 sessions, the same fd count. */
static void no_descriptor_per_session(void **state)
{
	enum { N = 100 };
	struct test_dtls_conf t;
	static mbedtls_ssl_context ssl[N];
	static struct client c[N];
	(void)state;
	start_server(cache_and_control);
	test_dtls_conf_init(&t);
	connect_dev(&ssl[0], &c[0], &t.conf, NULL, "fd-0");
	int one = server_fds();
	for (int i = 1; i < N; i++)
		connect_dev(&ssl[i], &c[i], &t.conf, NULL, NULL);
	assert_true(events_have("\"event\":\"handshake_done\"", N));
	assert_int_equal(server_fds(), one);
	for (int i = 0; i < N; i++) {
		mbedtls_ssl_free(&ssl[i]);
		close(c[i].fd);
	}
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

/* Ends the server a failed test left running (test_emu_dtls.h). */
static int reap_server(void **state)
{
	(void)state;
	test_server_reap();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(resumed_cache, reap_server),
	    cmocka_unit_test_teardown(resumed_ticket, reap_server),
	    cmocka_unit_test_teardown(resumed_after_hibernation, reap_server),
	    cmocka_unit_test_teardown(full_handshake_same_identity, reap_server),
	    cmocka_unit_test_teardown(no_descriptor_per_session, reap_server),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
