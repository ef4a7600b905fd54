/* The reference layer over TLS/TCP against an in-process Mbed TLS server
 * that writes the way networks deliver: a record cut into 16-byte TCP
 * segments (the layer must assemble it across many receive calls without
 * losing state, as the shim calls it: poll, then receive with timeout 0),
 * and three records in one segment read through a small buffer (a stream,
 * no EMSGSIZE; what is left is always visible: HAS_BUFFERED_DATA for bytes
 * inside the layer, poll() for bytes still in the socket). Also a
 * message larger than one TLS record goes out whole. Loopback only; every
 * wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_shim/include/sl_layer.h"

#define A_LEN 3000  /* one record, trickled */
#define B_LEN 100   /* each of three records sent in one segment */
#define C_LEN 20000 /* client to server: more than one record */
#define WAIT_MS 10000

static const unsigned char psk[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

/* The server side: socket, how it writes, what it concluded. */
typedef struct {
	int lfd, fd;
	size_t chunk; /* bytes per send(); 0 = hold everything */
	unsigned char held[4096];
	size_t held_len;
	int ok; /* 1 when it received the client's message intact */
	char why[128];
} server_t;

/* Deterministic contents, different per message (tag). */
static unsigned char pattern(int tag, size_t i)
{
	return (unsigned char)((i * 7 + (size_t)tag * 31) % 251);
}

/* Sends in chunks of s->chunk bytes (TCP_NODELAY, a pause between them), or
 * holds the bytes when chunk is 0 so that several records leave in one send. */
static int srv_send(void *ctx, const unsigned char *buf, size_t len)
{
	server_t *s = ctx;
	size_t n = s->chunk && len > s->chunk ? s->chunk : len;
	struct timespec pause = {0, 3000000}; /* > the layer's 1 ms poll */
	ssize_t w;

	if (!s->chunk) {
		if (len > sizeof(s->held) - s->held_len)
			return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
		memcpy(s->held + s->held_len, buf, len);
		s->held_len += len;
		return (int)len;
	}
	w = send(s->fd, buf, n, MSG_NOSIGNAL);
	nanosleep(&pause, NULL);
	return w < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)w;
}

/* Blocking receive bounded by poll. */
static int srv_recv(void *ctx, unsigned char *buf, size_t len)
{
	server_t *s = ctx;
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	ssize_t r;

	if (poll(&p, 1, WAIT_MS) <= 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	r = recv(s->fd, buf, len, 0);
	return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

/* Writes len bytes of pattern(tag) as one mbedtls_ssl_write (one record). */
static int srv_write(mbedtls_ssl_context *ssl, int tag, size_t len)
{
	unsigned char buf[A_LEN];
	size_t i;
	int ret;

	for (i = 0; i < len; i++)
		buf[i] = pattern(tag, i);
	while ((ret = mbedtls_ssl_write(ssl, buf, len)) == MBEDTLS_ERR_SSL_WANT_WRITE)
		;
	return ret == (int)len ? 0 : -1;
}

/* Reads the client's C_LEN bytes and checks them. */
static void srv_read_c(server_t *s, mbedtls_ssl_context *ssl)
{
	static unsigned char buf[C_LEN];
	size_t got = 0, i;
	int ret;

	while (got < C_LEN) {
		ret = mbedtls_ssl_read(ssl, buf + got, C_LEN - got);
		if (ret <= 0) {
			snprintf(s->why, sizeof(s->why), "server read: -0x%04x after %zu", -ret,
				 got);
			return;
		}
		got += (size_t)ret;
	}
	for (i = 0; i < C_LEN; i++)
		if (buf[i] != pattern(3, i)) {
			snprintf(s->why, sizeof(s->why), "server: byte %zu differs", i);
			return;
		}
	s->ok = 1;
}

/* The exchange, server side: handshake and A in 16-byte segments, then B1..B3
 * in one segment, then C from the client, then close_notify. */
static void serve(server_t *s, mbedtls_ssl_context *ssl)
{
	struct pollfd p = {.fd = s->lfd, .events = POLLIN};
	int one = 1, ret;

	if (poll(&p, 1, WAIT_MS) <= 0 || (s->fd = accept(s->lfd, NULL, NULL)) < 0)
		return;
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	mbedtls_ssl_set_bio(ssl, s, srv_send, srv_recv, NULL);
	s->chunk = 16;
	while ((ret = mbedtls_ssl_handshake(ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
	       ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		;
	if (ret || srv_write(ssl, 1, A_LEN))
		return;
	s->chunk = 0;
	if (srv_write(ssl, 20, B_LEN) || srv_write(ssl, 21, B_LEN) || srv_write(ssl, 22, B_LEN))
		return;
	if (send(s->fd, s->held, s->held_len, MSG_NOSIGNAL) != (ssize_t)s->held_len)
		return;
	s->chunk = 4096;
	srv_read_c(s, ssl);
	mbedtls_ssl_close_notify(ssl);
}

/* Thread body: a TLS 1.2 PSK server for one connection. */
static void *server_main(void *arg)
{
	server_t *s = arg;
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_ssl_config_init(&conf);
	mbedtls_ssl_init(&ssl);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent, NULL, 0) ||
	    mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
					MBEDTLS_SSL_PRESET_DEFAULT))
		goto cleanup;
	mbedtls_ssl_conf_rng(&conf, mbedtls_ctr_drbg_random, &drbg);
	mbedtls_ssl_conf_max_tls_version(&conf, MBEDTLS_SSL_VERSION_TLS1_2);
	if (mbedtls_ssl_conf_psk(&conf, psk, sizeof(psk), (const unsigned char *)"dev1", 4) ||
	    mbedtls_ssl_setup(&ssl, &conf))
		goto cleanup;
	serve(s, &ssl);
cleanup:
	if (s->fd >= 0)
		close(s->fd);
	mbedtls_ssl_free(&ssl);
	mbedtls_ssl_config_free(&conf);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return NULL;
}

/* A listening socket on 127.0.0.1, any port; writes the port as text. */
static int listen_any(char *port, size_t size)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    getsockname(fd, (struct sockaddr *)&a, &len) || listen(fd, 1))
		return -1;
	snprintf(port, size, "%u", ntohs(a.sin_port));
	return fd;
}

/* Collects want bytes the way the shim does: poll the system socket, then
 * receive with timeout 0 (ETIMEDOUT = the record is not complete yet). */
static size_t receive_polled(const sl_vtable_t *vt, sl_socket_t *s, unsigned char *out, size_t want,
			     int *timeouts)
{
	struct pollfd p = {.fd = vt->get_system_socket(s), .events = POLLIN};
	sl_error_t err;
	size_t got = 0, n;
	int i, ret;

	for (i = 0; i < 2000 && got < want; i++) {
		if (poll(&p, 1, 20) < 0)
			break;
		memset(&err, 0, sizeof(err));
		n = 0;
		ret = vt->receive(s, out + got, want - got, &n, &err);
		if (ret == ETIMEDOUT) {
			(*timeouts)++;
			continue;
		}
		assert_int_equal(ret, 0);
		got += n;
	}
	return got;
}

/* The client side, through the layer's vtable. */
static void partial_and_coalesced_reads(void **state)
{
	static unsigned char buf[C_LEN];
	const sl_vtable_t *vt = sl_layer_entry();
	server_t srv = {.fd = -1};
	sl_option_value_t v;
	sl_socket_t *s = NULL;
	sl_config_t c;
	struct pollfd p = {.events = POLLIN};
	sl_error_t err;
	pthread_t th;
	char port[8];
	size_t got, n, i;
	int timeouts = 0, ret;

	(void)state;
	srv.lfd = listen_any(port, sizeof(port));
	assert_true(srv.lfd >= 0);
	assert_int_equal(pthread_create(&th, NULL, server_main, &srv), 0);
	memset(&c, 0, sizeof(c));
	memset(&err, 0, sizeof(err));
	c.transport = SL_TRANSPORT_TLS;
	c.mode = SL_SECURITY_PSK;
	c.psk.identity = "dev1";
	c.psk.key = psk;
	c.psk.key_len = sizeof(psk);
	assert_int_equal(vt->create(&s, &c, &err), 0);
	v.i64 = WAIT_MS;
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	ret = vt->connect(s, "127.0.0.1", port, &err);
	if (ret)
		fail_msg("connect: %s", err.message);

	/* A: one 3000-byte record in 16-byte segments, received in pieces. */
	v.i64 = 0;
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	got = receive_polled(vt, s, buf, A_LEN, &timeouts);
	assert_int_equal(got, A_LEN);
	for (i = 0; i < A_LEN; i++)
		assert_int_equal(buf[i], pattern(1, i));
	assert_true(timeouts > 0); /* it did arrive in pieces */

	/* B: three records in one segment, read through a 64-byte buffer. */
	got = receive_polled(vt, s, buf, 64, &timeouts);
	assert_int_equal(got, 64);
	p.fd = vt->get_system_socket(s);
	assert_int_equal(vt->get_option(s, SL_OPT_HAS_BUFFERED_DATA, &v), 0);
	assert_true(v.flag);
	while (got < 3 * B_LEN) {
		/* Never stranded: what is left is either inside the layer (the
		 * flag says so) or in the socket (poll sees it). Mbed TLS reads
		 * a record at a time, so B2 and B3 wait in the kernel. */
		assert_int_equal(vt->get_option(s, SL_OPT_HAS_BUFFERED_DATA, &v), 0);
		if (!v.flag)
			assert_int_equal(poll(&p, 1, 0), 1);
		n = 0;
		assert_int_equal(vt->receive(s, buf + got,
					     64 < 3 * B_LEN - got ? 64 : 3 * B_LEN - got, &n, &err),
				 0);
		assert_true(n > 0 && n <= 64);
		got += n;
	}
	for (i = 0; i < 3 * B_LEN; i++)
		assert_int_equal(buf[i], pattern(20 + (int)(i / B_LEN), i % B_LEN));
	assert_int_equal(vt->get_option(s, SL_OPT_HAS_BUFFERED_DATA, &v), 0);
	assert_false(v.flag);

	/* C: more than one record's worth from the client, in one send. */
	for (i = 0; i < C_LEN; i++)
		buf[i] = pattern(3, i);
	assert_int_equal(vt->send(s, buf, C_LEN, &err), 0);
	v.i64 = WAIT_MS;
	assert_int_equal(vt->set_option(s, SL_OPT_RECV_TIMEOUT, &v), 0);
	ret = vt->receive(s, buf, sizeof(buf), &n, &err);
	assert_int_equal(ret, ECONNRESET); /* the server's close_notify after C */
	pthread_join(th, NULL);
	close(srv.lfd);
	if (!srv.ok)
		fail_msg("%s", srv.why[0] ? srv.why : "server gave up early");
	vt->cleanup(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(partial_and_coalesced_reads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
