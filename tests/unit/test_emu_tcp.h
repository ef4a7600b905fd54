/* Shared helpers for the emulator's TLS-over-TCP tests (test_emu_tls.c,
 * test_emu_sni_tls.c, test_emu_clientauth.c): the TLS port from the events,
 * a bounded TCP connection, Mbed TLS bio callbacks on it, a PSK stream
 * client whose ClientHello can be kept and sent by hand, and what the
 * kernel says about the emulator's end of a connection. */
#ifndef TEST_EMU_TCP_H
#define TEST_EMU_TCP_H
#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "server/emu_record.h"
#include "test_emu_dtls.h"

/* The TLS port from the listening event. */
static inline int tls_port(void)
{
	char line[4096];
	int port = -1;
	assert_true(events_have("\"proto\":\"tls\"", 1));
	FILE *f = fopen(events_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"addr\":\"127.0.0.1:");
		if (p && strstr(line, "\"tls\""))
			port = atoi(p + strlen("\"addr\":\"127.0.0.1:"));
	}
	if (f)
		fclose(f);
	return port;
}

static inline int t_send(void *ctx, const unsigned char *buf, size_t len)
{
	ssize_t n = send(*(int *)ctx, buf, len, MSG_NOSIGNAL);
	return n < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)n;
}

static inline int t_recv(void *ctx, unsigned char *buf, size_t len)
{
	ssize_t n = recv(*(int *)ctx, buf, len, 0);
	return n < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : n == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : (int)n;
}

/* A TCP connection to the emulator's TLS port, with a 3 s receive bound. */
static inline int tcp_connect(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	struct timeval tv = {.tv_sec = 3};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* The local port of socket fd. */
static inline int local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	return ntohs(sa.sin_port);
}

/* Writes len bytes one send() each (Nagle off, so each byte is a segment of
 * its own); stops quietly when the emulator has closed the connection. */
static inline void send_bytewise(int fd, const uint8_t *p, size_t len)
{
	int one = 1;
	assert_int_equal(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	for (size_t i = 0; i < len; i++)
		if (send(fd, p + i, 1, MSG_NOSIGNAL) != 1)
			return;
}

/* Reads until the emulator ends the connection: 1 at EOF or a reset, 0
 * when the 3 s receive bound of tcp_connect passes first (a hang). */
static inline int closed_by_peer(int fd)
{
	uint8_t buf[512];
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return 1;
		if (n < 0)
			return 0;
	}
}

/* Whether some process still holds the emulator's end (local port sport)
 * of the connection from client port cport, as /proc/net/tcp tells: a
 * socket closed by its owner stays listed a while (FIN_WAIT2, TIME_WAIT)
 * but with inode 0. */
static inline int server_end_held(int sport, int cport)
{
	char line[512];
	int held = 0;
	FILE *f = fopen("/proc/net/tcp", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned lport, rport, st;
		unsigned long inode;
		if (sscanf(line,
			   " %*d: %*8[0-9A-Fa-f]:%x %*8[0-9A-Fa-f]:%x %x %*s %*s %*s %*u %*u %lu",
			   &lport, &rport, &st, &inode) == 4 &&
		    (int)lport == sport && (int)rport == cport)
			held |= inode != 0;
	}
	fclose(f);
	return held;
}

/* A TLS 1.2 PSK stream client (TLS-PSK-WITH-AES-128-GCM-SHA256) for
 * identity with the key run_server gives "cid-dev", sending sni (NULL:
 * none). Its ClientHello can be kept instead of sent (client_hello). */
struct tls_client {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
	mbedtls_ssl_context ssl;
	int fd;
	uint8_t hello[4096]; /* what the client sent before it wanted to read */
	size_t hello_len;
};

static inline void tls_client_init(struct tls_client *c, const char *sni, const char *identity)
{
	static const unsigned char key[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	static const int psk_suites[] = {MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256, 0};
	c->fd = -1;
	c->hello_len = 0;
	mbedtls_entropy_init(&c->ent);
	mbedtls_ctr_drbg_init(&c->drbg);
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_ssl_init(&c->ssl);
	assert_int_equal(mbedtls_ctr_drbg_seed(&c->drbg, mbedtls_entropy_func, &c->ent, NULL, 0),
			 0);
	assert_int_equal(mbedtls_ssl_config_defaults(&c->conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_STREAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(&c->conf, mbedtls_ctr_drbg_random, &c->drbg);
	mbedtls_ssl_conf_max_tls_version(&c->conf, MBEDTLS_SSL_VERSION_TLS1_2);
	assert_int_equal(mbedtls_ssl_conf_psk(&c->conf, key, sizeof(key),
					      (const unsigned char *)identity, strlen(identity)),
			 0);
	mbedtls_ssl_conf_ciphersuites(&c->conf, psk_suites);
	assert_int_equal(mbedtls_ssl_setup(&c->ssl, &c->conf), 0);
	if (sni)
		assert_int_equal(mbedtls_ssl_set_hostname(&c->ssl, sni), 0);
}

static inline void tls_client_free(struct tls_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	mbedtls_ssl_free(&c->ssl);
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_ctr_drbg_free(&c->drbg);
	mbedtls_entropy_free(&c->ent);
}

/* Client bio while the ClientHello is kept: sends go to c->hello. */
static inline int keep_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls_client *c = ctx;
	if (len > sizeof(c->hello) - c->hello_len)
		return MBEDTLS_ERR_SSL_ALLOC_FAILED;
	memcpy(c->hello + c->hello_len, buf, len);
	c->hello_len += len;
	return (int)len;
}

static inline int keep_recv(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return MBEDTLS_ERR_SSL_WANT_READ;
}

/* Runs the client until it waits for the server: its ClientHello (one
 * record, as Mbed TLS writes it) is then in c->hello, not on any wire.
 * Later reads and writes go through c->fd (client_attach). */
static inline void client_hello(struct tls_client *c)
{
	mbedtls_ssl_set_bio(&c->ssl, c, keep_send, keep_recv, NULL);
	assert_int_equal(mbedtls_ssl_handshake(&c->ssl), MBEDTLS_ERR_SSL_WANT_READ);
	assert_true(c->hello_len > EMU_TLS_RECORD_HDR_LEN);
	assert_int_equal(c->hello[0], EMU_CT_HANDSHAKE);
}

/* Connects the client to the emulator's TLS port (its bio from now on). */
static inline void client_attach(struct tls_client *c, int port)
{
	c->fd = tcp_connect(port);
	mbedtls_ssl_set_bio(&c->ssl, &c->fd, t_send, t_recv, NULL);
}

#endif
