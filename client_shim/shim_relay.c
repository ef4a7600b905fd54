/* shim_relay.c: the loopback hop between libcoap and the socket layer. */
#include "client_shim/shim_relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

/* Binds a socket of the wanted type to 127.0.0.1 on a free port. */
int shim_relay_open(shim_relay_t *r, int stream)
{
	struct sockaddr_in *in = (struct sockaddr_in *)&r->addr;
	int ret = EIO;

	memset(r, 0, sizeof(*r));
	r->stream = stream;
	r->conn_fd = -1;
	/* Non-blocking: the shim only ever waits in its poll loop, so an accept
	 * with no pending connection (libcoap has not reconnected yet after a
	 * reset) must say "nothing" instead of hanging every command. */
	r->fd =
	    socket(AF_INET, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r->fd < 0)
		return errno;
	in->sin_family = AF_INET;
	in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->addr_len = sizeof(*in);
	if (bind(r->fd, (struct sockaddr *)&r->addr, r->addr_len) != 0 ||
	    getsockname(r->fd, (struct sockaddr *)&r->addr, &r->addr_len) != 0 ||
	    (stream && listen(r->fd, 1) != 0)) {
		ret = errno;
		goto err;
	}
	return 0;
err:
	close(r->fd);
	r->fd = -1;
	return ret;
}

/* Closes the accepted connection only. */
void shim_relay_drop_conn(shim_relay_t *r)
{
	if (r->conn_fd >= 0)
		close(r->conn_fd);
	r->conn_fd = -1;
}

/* Closes everything. */
void shim_relay_close(shim_relay_t *r)
{
	shim_relay_drop_conn(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}

/* UDP: discards every datagram queued on the relay (they come from a
 * libcoap session that was just dropped, and must not reach the server). */
void shim_relay_discard(shim_relay_t *r)
{
	char b[1];
	int i;

	for (i = 0; !r->stream && r->fd >= 0 && i < 1024; i++)
		if (recv(r->fd, b, sizeof(b), MSG_DONTWAIT | MSG_TRUNC) < 0)
			break;
}

/* UDP: the socket; TCP: the connection once accepted, else the listener. */
int shim_relay_poll_fd(const shim_relay_t *r)
{
	return r->stream && r->conn_fd >= 0 ? r->conn_fd : r->fd;
}

/* Same IPv4/IPv6 address and port (sockaddr padding is not compared). */
static int same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	const struct sockaddr_in *a4 = (const void *)a, *b4 = (const void *)b;
	const struct sockaddr_in6 *a6 = (const void *)a, *b6 = (const void *)b;

	if (a->ss_family != b->ss_family)
		return 0;
	if (a->ss_family == AF_INET)
		return a4->sin_port == b4->sin_port && a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	return a->ss_family == AF_INET6 && a6->sin6_port == b6->sin6_port &&
	       !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
}

/* One datagram from libcoap. Once the current session's address is known,
 * a datagram from any other socket (a dropped session still retransmitting)
 * is discarded: 0 is returned and stale counts it. */
static ssize_t read_datagram(shim_relay_t *r, void *buf, size_t size)
{
	struct sockaddr_storage from;
	socklen_t len = sizeof(from);
	ssize_t n = recvfrom(r->fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&from, &len);

	if (n < 0)
		return n;
	if (r->coap_len && !same_addr(&from, &r->coap)) {
		r->stale++;
		return 0;
	}
	memcpy(&r->coap, &from, len);
	r->coap_len = len;
	return n;
}

/* Sets the address of the current libcoap session (UDP): replies go there
 * even before it has sent anything, and nothing else is relayed. */
void shim_relay_set_coap(shim_relay_t *r, const void *addr, socklen_t len)
{
	memset(&r->coap, 0, sizeof(r->coap));
	r->coap_len = len <= sizeof(r->coap) ? len : 0;
	if (r->coap_len)
		memcpy(&r->coap, addr, len);
}

/* Reads one datagram (learning libcoap's address) or a chunk of the stream.
 * Never blocks: no pending connection or no data is -1 with EAGAIN. */
ssize_t shim_relay_read(shim_relay_t *r, void *buf, size_t size)
{
	ssize_t n;

	if (!r->stream)
		return read_datagram(r, buf, size);
	if (r->conn_fd < 0) {
		/* The connection itself stays blocking (reads use MSG_DONTWAIT):
		 * a stream write must not stop half-way through a CoAP message. */
		r->conn_fd = accept4(r->fd, NULL, NULL, SOCK_CLOEXEC);
		return r->conn_fd < 0 ? -1 : 0;
	}
	n = recv(r->conn_fd, buf, size, MSG_DONTWAIT);
	if (n == 0)
		shim_relay_drop_conn(r);
	return n;
}

/* Writes to libcoap: one datagram, or the whole chunk on the stream. */
int shim_relay_write(shim_relay_t *r, const void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	if (!r->stream)
		return r->coap_len && sendto(r->fd, buf, len, 0, (struct sockaddr *)&r->coap,
					     r->coap_len) == (ssize_t)len
			   ? 0
			   : -1;
	while (r->conn_fd >= 0 && done < len) {
		n = send(r->conn_fd, (const char *)buf + done, len - done, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		done += (size_t)n;
	}
	return done == len ? 0 : -1;
}
