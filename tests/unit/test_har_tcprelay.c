/* Tests of the simulator's TCP relay with real sockets on loopback: bytes
 * flow both ways through it, a half-close is passed on while the other way
 * keeps flowing, a reset reaches the other side as a reset, a NAT rebind
 * resets the connection, a blackhole swallows bytes and a closed port
 * refuses new connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/har_tcprelay.h"
#include "lh_addr.h"
#include "lh_time.h"

struct rig {
	struct har_tcprelay r;
	struct har_timeline tl;
	int listener; /* the "emulator" */
	int client;
	int server; /* accepted by the emulator */
};

/* Runs the relay for ms milliseconds. */
static void pump(struct rig *g, int ms)
{
	int64_t end = lh_time_mono_ms() + ms;
	while (lh_time_mono_ms() < end) {
		struct pollfd fds[1 + 2 * HAR_TCP_MAX_CONNS];
		int n = har_tcprelay_pollfds(&g->r, fds, 1 + 2 * HAR_TCP_MAX_CONNS);
		poll(fds, (nfds_t)n, 5);
		har_tcprelay_ready(&g->r, fds, n);
	}
}

/* A client socket connected (non-blocking) to the relay's front. */
static int connect_client(struct rig *g)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	int rc = connect(fd, (struct sockaddr *)&g->r.front, sizeof(g->r.front));
	assert_true(rc == 0 || errno == EINPROGRESS);
	return fd;
}

static int setup(void **state)
{
	static struct rig g;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);
	char server[LH_ADDR_STRLEN], err[256];
	memset(&g, 0, sizeof(g));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	g.listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(g.listener, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(g.listener, 4), 0);
	getsockname(g.listener, (struct sockaddr *)&a, &alen);
	lh_addr_format((struct sockaddr *)&a, server, sizeof(server));
	assert_int_equal(har_tcprelay_open(&g.r, 0, server, &g.tl, NULL, err, sizeof(err)), 0);
	g.client = connect_client(&g);
	pump(&g, 50);
	g.server = accept4(g.listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	assert_true(g.server >= 0);
	pump(&g, 20);
	*state = &g;
	return 0;
}

static int teardown(void **state)
{
	struct rig *g = *state;
	har_tcprelay_close(&g->r);
	har_timeline_free(&g->tl);
	close(g->client);
	close(g->server);
	close(g->listener);
	return 0;
}

/* Number of "tcp" events with this action. */
static size_t count(struct rig *g, const char *action)
{
	json_t *m = json_pack("{s:s, s:{s:s}}", "event", "tcp", "fields", "action", action);
	size_t n = har_timeline_count(&g->tl, m, 0);
	json_decref(m);
	return n;
}

static void relays_both_ways(void **state)
{
	struct rig *g = *state;
	char buf[64];
	assert_int_equal(send(g->client, "hello", 5, 0), 5);
	pump(g, 30);
	assert_int_equal(recv(g->server, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(send(g->server, "world!", 6, 0), 6);
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 6);
	assert_int_equal(count(g, "accept"), 1);
	assert_int_equal(count(g, "connect"), 1);
	assert_int_equal(count(g, "forward"), 2);
	/* The server closing is passed on as a FIN; the connection ends once
	 * the client closes too. */
	close(g->server);
	g->server = -1;
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 0);
	assert_int_equal(count(g, "shutdown"), 1);
	assert_int_equal(count(g, "close"), 0);
	close(g->client);
	g->client = -1;
	pump(g, 30);
	assert_int_equal(count(g, "close"), 1);
	assert_int_equal(g->r.n, 0);
}

/* The TLS server that refuses a client certificate: it sends its alert and
 * half-closes while the client still writes the rest of its flight. The
 * client must read the alert and then EOF, never a reset, and its later
 * writes must reach the server (which reads them until the client's FIN). */
static void server_half_close_keeps_client_flight(void **state)
{
	struct rig *g = *state;
	char buf[64];
	assert_int_equal(send(g->server, "alert!!", 7, 0), 7);
	assert_int_equal(shutdown(g->server, SHUT_WR), 0);
	pump(g, 30);
	assert_int_equal(send(g->client, "second", 6, MSG_NOSIGNAL), 6);
	pump(g, 30);
	assert_int_equal(send(g->client, "third", 5, MSG_NOSIGNAL), 5);
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 7);
	assert_memory_equal(buf, "alert!!", 7);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 0);
	assert_int_equal(recv(g->server, buf, sizeof(buf), 0), 11);
	assert_memory_equal(buf, "secondthird", 11);
	assert_int_equal(count(g, "shutdown"), 1);
	assert_int_equal(count(g, "reset") + count(g, "close"), 0);
	/* The client's FIN then ends the connection cleanly. */
	close(g->client);
	g->client = -1;
	pump(g, 30);
	assert_int_equal(recv(g->server, buf, sizeof(buf), 0), 0);
	assert_int_equal(count(g, "shutdown"), 2);
	assert_int_equal(count(g, "close"), 1);
	assert_int_equal(g->r.n, 0);
}

/* The mirror image: a client that half-closes still gets the reply. */
static void client_half_close_keeps_reply(void **state)
{
	struct rig *g = *state;
	char buf[64];
	assert_int_equal(shutdown(g->client, SHUT_WR), 0);
	pump(g, 30);
	assert_int_equal(recv(g->server, buf, sizeof(buf), 0), 0);
	assert_int_equal(send(g->server, "reply", 5, MSG_NOSIGNAL), 5);
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "reply", 5);
	assert_int_equal(count(g, "shutdown"), 1);
	assert_int_equal(count(g, "reset") + count(g, "close"), 0);
}

/* A server that aborts (RST) resets the client too, not a clean EOF. */
static void server_reset_propagates(void **state)
{
	struct rig *g = *state;
	struct linger lg = {1, 0};
	char buf[8];
	setsockopt(g->server, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(g->server);
	g->server = -1;
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(count(g, "reset"), 1);
	assert_int_equal(g->r.n, 0);
}

/* After a full close, the server's kernel answers the client's next bytes
 * with a RST, and the client must see that reset as through a real path. */
static void server_close_then_client_bytes_reset(void **state)
{
	struct rig *g = *state;
	char buf[8];
	close(g->server);
	g->server = -1;
	pump(g, 30);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), 0);
	assert_int_equal(send(g->client, "late", 4, MSG_NOSIGNAL), 4);
	pump(g, 30);
	assert_int_equal(count(g, "reset"), 1);
	assert_int_equal(g->r.n, 0);
	assert_int_equal(send(g->client, "later", 5, MSG_NOSIGNAL), -1);
	assert_true(errno == EPIPE || errno == ECONNRESET);
}

static void rebind_resets(void **state)
{
	struct rig *g = *state;
	char buf[8];
	har_tcprelay_reset_all(&g->r, "nat_rebind");
	pump(g, 20);
	assert_int_equal(recv(g->client, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(count(g, "reset"), 1);
	assert_int_equal(g->r.n, 0);
}

static void blackhole_swallows(void **state)
{
	struct rig *g = *state;
	char buf[8];
	g->r.blackhole = 1;
	send(g->client, "lost", 4, 0);
	pump(g, 30);
	assert_int_equal(recv(g->server, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(count(g, "drop"), 1);
}

static void closed_port_refuses(void **state)
{
	struct rig *g = *state;
	char err[128];
	assert_int_equal(har_tcprelay_port_closed(&g->r, 1, err, sizeof(err)), 0);
	int fd = connect_client(g);
	struct pollfd p = {fd, POLLOUT, 0};
	poll(&p, 1, 200);
	int e = 0;
	socklen_t len = sizeof(e);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
	assert_int_equal(e, ECONNREFUSED);
	close(fd);
	assert_int_equal(har_tcprelay_port_closed(&g->r, 0, err, sizeof(err)), 0);
	fd = connect_client(g);
	pump(g, 30);
	assert_int_equal(g->r.n, 2);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(relays_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(server_half_close_keeps_client_flight, setup, teardown),
	    cmocka_unit_test_setup_teardown(client_half_close_keeps_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(server_reset_propagates, setup, teardown),
	    cmocka_unit_test_setup_teardown(server_close_then_client_bytes_reset, setup, teardown),
	    cmocka_unit_test_setup_teardown(rebind_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(blackhole_swallows, setup, teardown),
	    cmocka_unit_test_setup_teardown(closed_port_refuses, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
