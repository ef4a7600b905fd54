/* End-to-end tests of client authentication failures against the real
 * emulator (child process on 127.0.0.1) and a real Mbed TLS client, with
 * the test PKI of `make certs` (<build>/certs, found from this binary's
 * path): a CertificateVerify that does not verify gets decrypt_error and a
 * missing required certificate handshake_failure, on the wire, so the client
 * fails at once with the alert instead of at its handshake timeout; over
 * TLS/TCP an untrusted certificate's unknown_ca reaches the client before
 * the connection closes (no RST first). Also: `self_signed` in the
 * `certificate` event means what it says for a certificate from a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libgen.h>
#include <limits.h>
#include <mbedtls/net_sockets.h>
#include <sys/time.h>

#include "server/emu_x509.h"
#include "test_emu_tcp.h"

static char certs[PATH_MAX];
static const char *server_cert = "server/localhost.chain.pem";
static const char *server_key = "server/localhost.key";

/* <build>/certs (this binary is <build>/tests/NAME), where `make certs` put the test PKI. */
static void find_certs(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(certs, sizeof(certs), "%s/certs", dirname(dirname(exe)));
	assert_int_equal(access(certs, R_OK), 0);
}

/* The server: server_cert/key, client CA bundle, client auth required;
 * TLS/TCP on an ephemeral port too. */
static void cert_required(struct emu_config *cfg)
{
	char text[4 * PATH_MAX], err[256];
	snprintf(text, sizeof(text),
		 "{\"certificate\":{\"cert\":\"%s/%s\",\"key\":\"%s/%s\",\"ca\":\"%s/ca/"
		 "bundle.pem\",\"client_auth\":\"required\"}}",
		 certs, server_cert, certs, server_key, certs);
	json_t *j = json_loads(text, 0, NULL);
	if (!j || emu_config_apply_json(cfg, j, err, sizeof(err)) < 0)
		_exit(5);
	json_decref(j);
	cfg->tls_port = 0;
}

struct cert_client {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_x509_crt crt;
	mbedtls_pk_context key;
};

/* A certificate client (transport: MBEDTLS_SSL_TRANSPORT_*) presenting
 * certs/client/<name>.chain.pem (NULL: no certificate). Short handshake
 * timeouts: without the server's alert the test fails in about a second. */
static void client_init(struct cert_client *c, int transport, const char *name)
{
	char crt[PATH_MAX + 64], key[PATH_MAX + 64];
	mbedtls_entropy_init(&c->ent);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_ssl_init(&c->ssl);
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->key);
	assert_int_equal(mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, NULL, 0),
			 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT, transport,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE); /* not under test */
	mbedtls_ssl_conf_handshake_timeout(&c->conf, 300, 1200);
	mbedtls_ssl_conf_read_timeout(&c->conf, 1500);
	if (name) {
		snprintf(crt, sizeof(crt), "%s/client/%s.chain.pem", certs, name);
		snprintf(key, sizeof(key), "%s/client/%s.key", certs, name);
		assert_int_equal(mbedtls_x509_crt_parse_file(&c->crt, crt), 0);
		assert_int_equal(
		    mbedtls_pk_parse_keyfile(&c->key, key, NULL, mbedtls_ctr_drbg_random, &c->drbg),
		    0);
		assert_int_equal(mbedtls_ssl_conf_own_cert(&c->conf, &c->crt, &c->key), 0);
	}
	assert_int_equal(mbedtls_ssl_setup(&c->ssl, &c->conf), 0);
}

static void client_free(struct cert_client *c)
{
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->key);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->ent);
}

/* The alert description the client received, or -1 when its handshake
 * failed without one (a timeout, a reset connection). */
static int received_alert(struct cert_client *c, int ret)
{
	if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE)
		return -1;
	return c->ssl.MBEDTLS_PRIVATE(in_msg)[1];
}

/* One DTLS handshake presenting client/<name> (NULL: none); returns the
 * alert the server sent, as the client received it, or -1. */
static int dtls_alert(int port, const char *name)
{
	struct cert_client c;
	struct client io = {0};
	client_init(&c, MBEDTLS_SSL_TRANSPORT_DATAGRAM, name);
	int64_t start = lh_time_mono_ms();
	int ret = client_handshake(&c.ssl, &io, port);
	int alert = received_alert(&c, ret);
	/* The alert must come at once, not after the client gave up. */
	if (lh_time_mono_ms() - start > 1000)
		alert = -2;
	close(io.fd);
	client_free(&c);
	return alert;
}

static void dtls_client_auth_failures_send_alerts(void **state)
{
	(void)state;
	find_certs();
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(cert_required);
	int port = server_port();
	assert_true(port > 0);
	assert_int_equal(dtls_alert(port, "key-mismatch"), MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR);
	assert_true(events_have("\"reason\":\"client_signature_invalid\"", 1));
	assert_true(events_have("\"alert_sent\":{\"level\":2,\"description\":51", 1));
	assert_int_equal(dtls_alert(port, NULL), MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
	assert_true(events_have("\"alert_sent\":{\"level\":2,\"description\":40", 1));
	assert_int_equal(dtls_alert(port, "dev1"), -1); /* it succeeds: no alert */
	assert_true(events_have("\"event\":\"handshake_done\"", 1));
	assert_int_equal(stop_server(), 0);
}

/* One TLS/TCP handshake presenting client/<name>; the alert received, or
 * -1 (e.g. the connection was reset before the client could read it). */
static int tls_alert(int port, const char *name)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	struct cert_client c;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	client_init(&c, MBEDTLS_SSL_TRANSPORT_STREAM, name);
	mbedtls_ssl_set_bio(&c.ssl, &fd, t_send, t_recv, NULL);
	int alert = received_alert(&c, mbedtls_ssl_handshake(&c.ssl));
	close(fd);
	client_free(&c);
	return alert;
}

static void tls_alerts_reach_the_client(void **state)
{
	(void)state;
	find_certs();
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	start_server(cert_required);
	int port = tls_port();
	assert_true(port > 0);
	/* Repeated: a RST overtaking the alert is a race, not a certainty. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(tls_alert(port, "untrusted"), MBEDTLS_SSL_ALERT_MSG_UNKNOWN_CA);
	assert_int_equal(tls_alert(port, "key-mismatch"), MBEDTLS_SSL_ALERT_MSG_DECRYPT_ERROR);
	assert_int_equal(tls_alert(port, NULL), MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
	assert_int_equal(stop_server(), 0);
}

/* self_signed for certificates from files: the PKI's self-signed server
 * certificate and root are, a CA-issued leaf is not. */
static void self_signed_is_checked(void **state)
{
	static const struct {
		const char *file;
		int self_signed;
	} cases[] = {{"server/selfsigned.crt", 1},
		     {"ca/root.crt", 1},
		     {"server/localhost.crt", 0},
		     {"client/dev1.crt", 0},
		     {"ca/intermediate.crt", 0}};
	(void)state;
	find_certs();
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[PATH_MAX + 64];
		mbedtls_x509_crt crt;
		mbedtls_x509_crt_init(&crt);
		snprintf(path, sizeof(path), "%s/%s", certs, cases[i].file);
		assert_int_equal(mbedtls_x509_crt_parse_file(&crt, path), 0);
		assert_int_equal(emu_x509_is_self_signed(&crt), cases[i].self_signed);
		mbedtls_x509_crt_free(&crt);
	}
}

/* The events of a server started with the self-signed certificate from a
 * file say self_signed: true (and generated: false). */
static void self_signed_event(void **state)
{
	(void)state;
	find_certs();
	server_cert = "server/selfsigned.crt";
	server_key = "server/selfsigned.key";
	start_server(cert_required);
	assert_true(events_have("\"self_signed\":true,\"generated\":false", 1));
	assert_int_equal(stop_server(), 0);
	server_cert = "server/localhost.chain.pem";
	server_key = "server/localhost.key";
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dtls_client_auth_failures_send_alerts),
	    cmocka_unit_test(tls_alerts_reach_the_client),
	    cmocka_unit_test(self_signed_is_checked),
	    cmocka_unit_test(self_signed_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
