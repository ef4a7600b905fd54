/* What the reference layer keeps at close on a DTLS connection with a CID,
 * against an in-process Mbed TLS server on loopback UDP. A context the
 * server answered on is kept (the next connect restores it, no handshake);
 * one with a send the server never answered (as after a server restart
 * without state) proves nothing and must not be kept, or every later
 * connect would restore the same dead context: only the session is kept,
 * so the next connect handshakes. "Never answered" is a request sent again
 * (the same plaintext, as CoAP retransmits) with no record in between; one
 * unanswered send (a response, a notification) keeps the context. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_shim/layer_mbedtls.h"

#define WAIT_MS 5000
#define SRV_IDLE_MS 3000 /* the server gives up after this much silence */

static const unsigned char psk[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* The server side: an unconnected UDP socket that answers whoever spoke last
 * (the client's port changes between connects; the CID names the session). */
typedef struct {
	int fd;
	struct sockaddr_storage peer;
	socklen_t peer_len;
} server_t;

/* Sends to the last peer. */
static int srv_send(void *ctx, const unsigned char *buf, size_t len)
{
	server_t *s = ctx;
	ssize_t n = sendto(s->fd, buf, len, 0, (struct sockaddr *)&s->peer, s->peer_len);

	return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

/* Receives one datagram within timeout_ms and remembers who sent it. */
static int srv_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms)
{
	server_t *s = ctx;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms ? (int)timeout_ms : SRV_IDLE_MS) <= 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	s->peer_len = sizeof(s->peer);
	n = recvfrom(s->fd, buf, len, 0, (struct sockaddr *)&s->peer, &s->peer_len);
	return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

/* One handshake, then "ping" is answered with "pong" and anything else is
 * read and left unanswered, until the client falls silent. */
static void serve(mbedtls_ssl_context *ssl)
{
	unsigned char buf[256];
	int ret;

	do
		ret = mbedtls_ssl_handshake(ssl);
	while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (ret)
		return;
	for (;;) {
		ret = mbedtls_ssl_read(ssl, buf, sizeof(buf));
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		if (ret <= 0)
			return;
		if (ret == 4 && !memcmp(buf, "ping", 4) &&
		    mbedtls_ssl_write(ssl, (const unsigned char *)"pong", 4) != 4)
			return;
	}
}

/* The server thread: DTLS 1.2, PSK, a 4-byte CID, no cookies. */
static void *server_main(void *arg)
{
	static const unsigned char cid[4] = {0xc1, 0xd0, 0x00, 0x01};
	server_t *s = arg;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	mbedtls_timing_delay_context timer;

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT))
		goto cleanup;
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_read_timeout(&conf, SRV_IDLE_MS);
	mbedtls_ssl_conf_dtls_cookies(&conf, NULL, NULL, NULL);
	if (mbedtls_ssl_conf_psk(&conf, psk, sizeof(psk), (const unsigned char *)"dev1", 4) ||
	    mbedtls_ssl_conf_cid(&conf, sizeof(cid), MBEDTLS_SSL_UNEXPECTED_CID_IGNORE) ||
	    mbedtls_ssl_setup(&ssl, &conf) ||
	    mbedtls_ssl_set_cid(&ssl, MBEDTLS_SSL_CID_ENABLED, cid, sizeof(cid)))
		goto cleanup;
	mbedtls_ssl_set_bio(&ssl, s, srv_send, NULL, srv_recv);
	mbedtls_ssl_set_timer_cb(&ssl, &timer, mbedtls_timing_set_delay, mbedtls_timing_get_delay);
	serve(&ssl);
cleanup:
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return NULL;
}

/* A UDP socket on 127.0.0.1, any port; writes the port as text. */
static int bind_any(char *port, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	snprintf(port, size, "%u", ntohs(a.sin_port));
	return fd;
}

/* What the caller's buffer holds now. */
static int buffer_kind(const unsigned char *rb, size_t size)
{
	const unsigned char *blob;
	size_t len;

	return layer_resume_unpack(rb, size, &blob, &len);
}

/* Sends "ping" and expects "pong" back. */
static void ping(const sl_vtable_t *vt, sl_socket_t *s)
{
	unsigned char buf[16];
	sl_error_t err;
	size_t n = 0;

	memset(&err, 0, sizeof(err));
	assert_int_equal(vt->send(s, "ping", 4, &err), 0);
	assert_int_equal(vt->receive(s, buf, sizeof(buf), &n, &err), 0);
	assert_memory_equal(buf, "pong", 4);
}

/* Connects and checks whether the context was restored (no handshake). */
static void connect_expect(const sl_vtable_t *vt, sl_socket_t *s, const char *port, int restored)
{
	sl_option_value_t v;
	sl_error_t err;

	memset(&err, 0, sizeof(err));
	assert_int_equal(vt->connect(s, "127.0.0.1", port, &err), 0);
	assert_int_equal(vt->get_option(s, SL_OPT_CONNECTION_ID_RESUMED, &v), 0);
	assert_int_equal(v.flag, restored);
}

static void unanswered_context_is_not_kept(void **state)
{
	static unsigned char rb[4096];
	const sl_vtable_t *vt = sl_layer_entry();
	server_t srv = {.fd = -1};
	sl_option_value_t v = {.i64 = WAIT_MS};
	sl_socket_t *s = NULL;
	sl_config_t c;
	sl_error_t err;
	pthread_t th;
	char port[8];

	(void)state;
	srv.fd = bind_any(port, sizeof(port));
	assert_true(srv.fd >= 0);
	assert_int_equal(pthread_create(&th, NULL, server_main, &srv), 0);
	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	c.transport = SL_TRANSPORT_DTLS;
	c.mode = SL_SECURITY_PSK;
	c.psk.identity = "dev1";
	c.psk.key = psk;
	c.psk.key_len = sizeof(psk);
	c.use_connection_id = 1;
	c.resumption_buffer = rb;
	c.resumption_buffer_size = sizeof(rb);
	assert_int_equal(vt->create(&s, &c, &err), 0);
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	/* Answered: the context is worth keeping and is restored. */
	connect_expect(vt, s, port, 0);
	ping(vt, s);
	assert_int_equal(vt->close(s), 0);
	assert_int_equal(buffer_kind(rb, sizeof(rb)), LAYER_RESUME_CONTEXT);
	/* One unanswered send (a response, a notification) proves nothing. */
	connect_expect(vt, s, port, 1);
	ping(vt, s);
	assert_int_equal(vt->send(s, "quiet", 5, &err), 0);
	assert_int_equal(vt->close(s), 0);
	assert_int_equal(buffer_kind(rb, sizeof(rb)), LAYER_RESUME_CONTEXT);
	/* A retransmission without answer: only the session may be kept. */
	connect_expect(vt, s, port, 1);
	ping(vt, s);
	assert_int_equal(vt->send(s, "quiet", 5, &err), 0);
	assert_int_equal(vt->send(s, "quiet", 5, &err), 0);
	assert_int_equal(vt->close(s), 0);
	assert_int_equal(buffer_kind(rb, sizeof(rb)), LAYER_RESUME_SESSION);
	vt->cleanup(&s);
	pthread_join(th, NULL);
	close(srv.fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(unanswered_context_is_not_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
