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
	r->fd = socket(AF_INET, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
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

/* UDP: the socket; TCP: the connection once accepted, else the listener. */
int shim_relay_poll_fd(const shim_relay_t *r)
{
	return r->stream && r->conn_fd >= 0 ? r->conn_fd : r->fd;
}

/* Reads one datagram (learning libcoap's address) or a chunk of the stream. */
ssize_t shim_relay_read(shim_relay_t *r, void *buf, size_t size)
{
	ssize_t n;

	if (!r->stream) {
		r->coap_len = sizeof(r->coap);
		return recvfrom(r->fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)&r->coap,
				&r->coap_len);
	}
	if (r->conn_fd < 0) {
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
