/* Shared helpers for the emulator's TLS-over-TCP tests (test_emu_tls.c,
 * test_emu_sni_tls.c, test_emu_clientauth.c): the TLS port from the events,
 * a bounded TCP connection, and Mbed TLS bio callbacks on it. */
#ifndef TEST_EMU_TCP_H
#define TEST_EMU_TCP_H
#include <mbedtls/net_sockets.h>
#include <sys/socket.h>
#include <sys/time.h>

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

#endif
