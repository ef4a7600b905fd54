/* layer_mbedtls_net.c: the layer's own UDP/TCP socket and the Mbed TLS BIO
 * callbacks on it (poll-based receive timeout, errno kept for the caller). */
#include "client_shim/layer_mbedtls.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>

/* connect() bounded by the maximum handshake time: a TCP peer that never
 * answers must not hold the caller for the kernel's two minutes. */
static int connect_bounded(int fd, const struct addrinfo *ai, uint32_t timeout_ms)
{
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	int flags = fcntl(fd, F_GETFL), soerr = 0, pr;
	socklen_t len = sizeof(soerr);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS)
		return errno;
	do
		pr = poll(&pfd, 1, (int)timeout_ms);
	while (pr < 0 && errno == EINTR);
	if (pr == 0)
		return ETIMEDOUT;
	if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return errno;
	if (soerr)
		return soerr;
	return fcntl(fd, F_SETFL, flags) < 0 ? errno : 0;
}

/* Connects a socket of the transport's type to the first address that works. */
static int try_connect(sl_socket_t *s, struct addrinfo *ai)
{
	int one = 1, fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);

	if (fd < 0)
		return -1;
	/* TLS records are small and latency matters more than segment count. */
	if (ai->ai_socktype == SOCK_STREAM &&
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		s->net_errno = errno;
	s->net_errno = ai->ai_socktype == SOCK_STREAM
			   ? connect_bounded(fd, ai, s->hs_timeouts.max_ms)
			   : (connect(fd, ai->ai_addr, ai->ai_addrlen) ? errno : 0);
	if (s->net_errno) {
		close(fd);
		return -1;
	}
	memcpy(&s->peer, ai->ai_addr, ai->ai_addrlen);
	s->peer_len = ai->ai_addrlen;
	return fd;
}

/* Resolves host:port and connects: a connected UDP socket so that ICMP port
 * unreachable comes back as ECONNREFUSED, like on a device. */
int layer_net_open(sl_socket_t *s, const char *host, const char *port, sl_error_t *err)
{
	struct addrinfo hints, *res = NULL, *ai;
	int ret, fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->cfg.transport == SL_TRANSPORT_TLS ? SOCK_STREAM : SOCK_DGRAM;
	ret = getaddrinfo(host, port, &hints, &res);
	if (ret != 0)
		return layer_err_set(err, EINVAL, 0, "cannot resolve %s:%s: %s", host, port,
				     gai_strerror(ret));
	s->net_errno = 0;
	for (ai = res; ai && fd < 0; ai = ai->ai_next)
		fd = try_connect(s, ai);
	freeaddrinfo(res);
	if (fd < 0)
		return layer_err_set(err, s->net_errno ? s->net_errno : EIO, 0,
				     "cannot connect to %s:%s: %s", host, port,
				     strerror(s->net_errno ? s->net_errno : EIO));
	s->fd = fd;
	return 0;
}

/* Closes the system socket (the TLS state is handled by the caller). */
void layer_net_close(sl_socket_t *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

/* BIO send: one datagram, or as much of the stream as the kernel takes. */
int layer_net_send(void *ctx, const unsigned char *buf, size_t len)
{
	sl_socket_t *s = ctx;
	ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0) {
		s->bytes_sent += (uint64_t)n;
		return (int)n;
	}
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	s->net_errno = errno;
	return errno == ECONNRESET || errno == EPIPE ? MBEDTLS_ERR_NET_CONN_RESET
						     : MBEDTLS_ERR_NET_SEND_FAILED;
}

/* BIO receive: waits up to timeout_ms (0 = forever, as Mbed TLS means it). */
int layer_net_recv_timeout(void *ctx, unsigned char *buf, size_t len, uint32_t timeout_ms)
{
	sl_socket_t *s = ctx;
	struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
	ssize_t n;
	int pr;

	do
		pr = poll(&pfd, 1, timeout_ms ? (int)timeout_ms : -1);
	while (pr < 0 && errno == EINTR);
	if (pr == 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	n = recv(s->fd, buf, len, 0);
	if (n > 0) {
		s->bytes_received += (uint64_t)n;
		return (int)n;
	}
	if (n == 0 && s->cfg.transport == SL_TRANSPORT_TLS)
		return MBEDTLS_ERR_NET_CONN_RESET;
	if (n == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	s->net_errno = errno;
	return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
}
