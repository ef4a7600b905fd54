/* Unit tests for the shim's loopback relay (UDP): once the current libcoap
 * session's address is set, datagrams from any other socket (a dropped
 * session still retransmitting) are discarded and counted, replies go to the
 * current session even before it has sent anything, and discard empties
 * what a dropped session had already queued. TCP (TLS mode): reading never
 * blocks, with or without a libcoap connection to accept. Loopback only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client_shim/shim_relay.h"

/* A UDP socket on 127.0.0.1, any port; its address in a. */
static int udp_any(struct sockaddr_in *a)
{
	socklen_t len = sizeof(*a);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)a, &len), 0);
	return fd;
}

/* Sends text to the relay and waits until the relay socket is readable. */
static void send_to(int fd, const shim_relay_t *r, const char *text)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};

	assert_int_equal(
	    sendto(fd, text, strlen(text), 0, (const struct sockaddr *)&r->addr, r->addr_len),
	    (ssize_t)strlen(text));
	assert_int_equal(poll(&p, 1, 2000), 1);
}

static void only_the_current_session_is_relayed(void **state)
{
	struct sockaddr_in old_a, new_a;
	int old_fd = udp_any(&old_a), new_fd = udp_any(&new_a);
	shim_relay_t r;
	char buf[64];
	ssize_t n;

	(void)state;
	assert_int_equal(shim_relay_open(&r, 0), 0);
	/* The old session talks first: learnt, relayed. */
	send_to(old_fd, &r, "old-1");
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), 5);
	/* It queues a retransmission, then is replaced and dropped. */
	send_to(old_fd, &r, "old-2");
	shim_relay_set_coap(&r, &new_a, sizeof(new_a));
	shim_relay_discard(&r);
	assert_true(shim_relay_read(&r, buf, sizeof(buf)) < 0); /* nothing left */
	/* A late retransmission of the old session: discarded and counted. */
	send_to(old_fd, &r, "old-3");
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), 0);
	assert_int_equal(r.stale, 1);
	/* The server's reply reaches the new session before it sent anything. */
	assert_int_equal(shim_relay_write(&r, "reply", 5), 0);
	n = recv(new_fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "reply", 5);
	assert_true(recv(old_fd, buf, sizeof(buf), MSG_DONTWAIT) < 0);
	/* The new session's own datagrams pass. */
	send_to(new_fd, &r, "new-1");
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), 5);
	assert_memory_equal(buf, "new-1", 5);
	assert_int_equal(r.stale, 1);
	shim_relay_close(&r);
	close(old_fd);
	close(new_fd);
}

/* Connects a TCP client to the relay's listener and waits until it is
 * ready to accept. */
static int tcp_to(const shim_relay_t *r)
{
	struct pollfd p = {.fd = r->fd, .events = POLLIN};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (const struct sockaddr *)&r->addr, r->addr_len), 0);
	assert_int_equal(poll(&p, 1, 2000), 1);
	return fd;
}

/* The TLS-mode hang: after a reset the shim dropped libcoap's connection and
 * read the relay again before libcoap reconnected; a blocking accept froze
 * the shim (no reply, quit ignored). SIGALRM ends the test if it blocks. */
static void stream_read_never_blocks(void **state)
{
	shim_relay_t r;
	char buf[64];
	int fd;

	(void)state;
	alarm(5);
	assert_int_equal(shim_relay_open(&r, 1), 0);
	errno = 0;
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
	fd = tcp_to(&r);
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), 0); /* accepted */
	assert_true(r.conn_fd >= 0);
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), -1); /* no data yet */
	assert_int_equal(write(fd, "abc", 3), 3);
	assert_int_equal(shim_relay_write(&r, "xyz", 3), 0);
	assert_int_equal(read(fd, buf, 3), 3);
	assert_memory_equal(buf, "xyz", 3);
	/* libcoap's connection goes away (the shim dropped its session). */
	shim_relay_drop_conn(&r);
	close(fd);
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), -1);
	assert_int_equal(r.conn_fd, -1);
	/* It reconnects: accepted on the next read. */
	fd = tcp_to(&r);
	assert_int_equal(shim_relay_read(&r, buf, sizeof(buf)), 0);
	assert_true(r.conn_fd >= 0);
	alarm(0);
	shim_relay_close(&r);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(only_the_current_session_is_relayed),
	    cmocka_unit_test(stream_read_never_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
