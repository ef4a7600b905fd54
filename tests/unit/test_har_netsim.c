/* Tests of the network simulator with real UDP sockets on 127.0.0.0/8: a
 * client socket talks to the relay's front, a server socket plays the
 * emulator. Checks forwarding both ways, NAT rebinding (port, address),
 * MTU drops, blackhole, duplication, the events and the port-closed
 * ICMP error the client sees. Every wait is bounded. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness/har_netsim.h"
#include "lh_addr.h"
#include "lh_time.h"

struct rig {
	struct har_netsim ns;
	struct har_timeline tl;
	int client; /* connected to the relay's front */
	int server; /* the "emulator" */
	struct sockaddr_in server_addr;
};

/* A UDP socket bound to 127.0.0.1:0. */
static int bound_socket(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);
	assert_true(fd >= 0);
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
	return fd;
}

static int setup(void **state)
{
	static struct rig r;
	char server[LH_ADDR_STRLEN], err[256];
	memset(&r, 0, sizeof(r));
	r.server = bound_socket(&r.server_addr);
	lh_addr_format((struct sockaddr *)&r.server_addr, server, sizeof(server));
	assert_int_equal(har_netsim_open(&r.ns, server, 7, NULL, &r.tl, err, sizeof(err)), 0);
	struct sockaddr_in unused;
	r.client = bound_socket(&unused);
	assert_int_equal(connect(r.client, (struct sockaddr *)&r.ns.front, sizeof(r.ns.front)), 0);
	*state = &r;
	return 0;
}

static int teardown(void **state)
{
	struct rig *r = *state;
	har_netsim_close(&r->ns);
	har_timeline_free(&r->tl);
	close(r->client);
	close(r->server);
	return 0;
}

/* Runs the relay for ms milliseconds. */
static void pump(struct rig *r, int ms)
{
	int64_t end = lh_time_mono_ms() + ms;
	while (lh_time_mono_ms() < end) {
		struct pollfd fds[HAR_NETSIM_MAX_FDS];
		int n = har_netsim_pollfds(&r->ns, fds, HAR_NETSIM_MAX_FDS);
		poll(fds, (nfds_t)n, 5);
		har_netsim_ready(&r->ns, fds, n);
		har_netsim_run_due(&r->ns);
	}
}

/* Receives one datagram within 50 ms of relaying; returns its length or -1. */
static ssize_t recv_from(struct rig *r, int fd, char *buf, size_t size, struct sockaddr_in *from)
{
	socklen_t flen = sizeof(*from);
	pump(r, 50);
	return recvfrom(fd, buf, size, MSG_DONTWAIT, (struct sockaddr *)from, &flen);
}

/* Number of timeline events of this name with this action (NULL: any). */
static size_t count(struct rig *r, const char *event, const char *action)
{
	json_t *m = action ? json_pack("{s:s, s:{s:s}}", "event", event, "fields", "action", action)
			   : json_pack("{s:s}", "event", event);
	size_t n = har_timeline_count(&r->tl, m, 0);
	json_decref(m);
	return n;
}

static void forwards_both_ways(void **state)
{
	struct rig *r = *state;
	char buf[64];
	struct sockaddr_in from;
	assert_int_equal(send(r->client, "\x17hello", 6, 0), 6);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 6);
	assert_memory_equal(buf, "\x17hello", 6);
	/* The server answers the NAT's outside address; the client gets it. */
	assert_int_equal(sendto(r->server, "back", 4, 0, (struct sockaddr *)&from, sizeof(from)),
			 4);
	assert_int_equal(recv_from(r, r->client, buf, sizeof(buf), &from), 4);
	assert_int_equal(count(r, "flow", NULL), 1);
	assert_int_equal(count(r, "datagram", "forward"), 2);
}

static void rebind_changes_source(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in a, b, c;
	send(r->client, "one", 3, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &a), 3);
	json_t *port = json_pack("{s:s}", "rebind", "port");
	assert_int_equal(har_netsim_apply(&r->ns, port, err, sizeof(err)), 0);
	send(r->client, "two", 3, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &b), 3);
	assert_int_equal(a.sin_addr.s_addr, b.sin_addr.s_addr);
	assert_int_not_equal(a.sin_port, b.sin_port);
	json_t *addr = json_pack("{s:s}", "rebind", "address");
	assert_int_equal(har_netsim_apply(&r->ns, addr, err, sizeof(err)), 0);
	send(r->client, "three", 5, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &c), 5);
	assert_string_equal(inet_ntoa(c.sin_addr), "127.0.0.2");
	/* Replies to the new address still reach the same client. */
	sendto(r->server, "ok", 2, 0, (struct sockaddr *)&c, sizeof(c));
	assert_int_equal(recv_from(r, r->client, buf, sizeof(buf), &a), 2);
	/* A flow opened after the rebind (a client that reconnected from a new
	 * port) goes out from the NAT's new address too, as a real NAT's. */
	struct sockaddr_in unused;
	int late = bound_socket(&unused);
	assert_int_equal(connect(late, (struct sockaddr *)&r->ns.front, sizeof(r->ns.front)), 0);
	send(late, "four", 4, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &b), 4);
	assert_string_equal(inet_ntoa(b.sin_addr), "127.0.0.2");
	assert_int_not_equal(b.sin_port, c.sin_port);
	close(late);
	/* Not loopback: refused with a reason. */
	json_t *bad = json_pack("{s:s, s:s}", "rebind", "address", "address", "10.0.0.1");
	assert_int_equal(har_netsim_apply(&r->ns, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "127.0.0.0/8"));
	assert_int_equal(count(r, "rebind", NULL), 2);
	json_decref(port);
	json_decref(addr);
	json_decref(bad);
}

static void mtu_and_blackhole_drop(void **state)
{
	struct rig *r = *state;
	char buf[512], err[256];
	struct sockaddr_in from;
	json_t *mtu = json_pack("{s:i, s:s}", "mtu", 100, "direction", "c2s");
	assert_int_equal(har_netsim_apply(&r->ns, mtu, err, sizeof(err)), 0);
	memset(buf, 0x17, sizeof(buf));
	send(r->client, buf, 101, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), -1);
	send(r->client, buf, 100, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 100);
	json_t *hole = json_pack("{s:b}", "blackhole", 1);
	assert_int_equal(har_netsim_apply(&r->ns, hole, err, sizeof(err)), 0);
	send(r->client, buf, 10, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), -1);
	assert_int_equal(count(r, "datagram", "drop"), 2);
	json_decref(mtu);
	json_decref(hole);
}

static void duplication_sends_twice(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in from;
	json_t *dup = json_pack("{s:f}", "dup", 1.0);
	assert_int_equal(har_netsim_apply(&r->ns, dup, err, sizeof(err)), 0);
	send(r->client, "x", 1, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 1);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 1);
	assert_int_equal(count(r, "datagram", "duplicate"), 1);
	json_decref(dup);
}

static void port_closed_refuses(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in from;
	json_t *on = json_pack("{s:b}", "port_closed", 1);
	json_t *off = json_pack("{s:b}", "port_closed", 0);
	assert_int_equal(har_netsim_apply(&r->ns, on, err, sizeof(err)), 0);
	send(r->client, "x", 1, 0);
	pump(r, 20);
	/* The kernel's ICMP port unreachable surfaces on the connected socket. */
	assert_int_equal(recv(r->client, buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, ECONNREFUSED);
	assert_int_equal(har_netsim_apply(&r->ns, off, err, sizeof(err)), 0);
	send(r->client, "y", 1, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 1);
	json_decref(on);
	json_decref(off);
}

/* A pack step lets skip datagrams pass, joins the next count into one
 * (bytes in order), then forwards as before; a partial pack leaves after
 * max_ms with what it has. Bad parameters are refused with a reason. */
static void pack_joins_datagrams(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in from;
	json_t *pack =
	    json_pack("{s:{s:s, s:i, s:i}}", "pack", "direction", "c2s", "count", 2, "skip", 1);
	json_t *partial =
	    json_pack("{s:{s:s, s:i, s:i}}", "pack", "direction", "c2s", "count", 3, "max_ms", 30);
	json_t *bad = json_pack("{s:{s:s, s:i}}", "pack", "direction", "c2s", "count", 1);
	assert_int_equal(har_netsim_apply(&r->ns, pack, err, sizeof(err)), 0);
	send(r->client, "\x17one", 4, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 4);
	send(r->client, "\x17two", 4, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), -1);
	send(r->client, "\x17three", 6, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 10);
	assert_memory_equal(buf, "\x17two\x17three", 10);
	send(r->client, "\027four", 5, 0);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 5);
	assert_int_equal(count(r, "datagram", "pack"), 2);
	assert_int_equal(count(r, "pack", NULL), 1);
	assert_int_equal(har_netsim_apply(&r->ns, partial, err, sizeof(err)), 0);
	send(r->client, "\027five", 5, 0);
	pump(r, 60);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 5);
	assert_int_equal(count(r, "pack", NULL), 2);
	assert_int_equal(har_netsim_apply(&r->ns, bad, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "count of 2..64"));
	json_decref(pack);
	json_decref(partial);
	json_decref(bad);
}

/* A TCP listener on 127.0.0.1:port (0 = any); the bound port is returned
 * in *port. */
static int tcp_listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A TCP listener on port, or -1 when something else already has it. */
static int tcp_squat(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0)
		return fd;
	assert_int_equal(errno, EADDRINUSE);
	close(fd);
	return -1;
}

/* The TCP relay needs the UDP front's port number; when some TCP socket
 * holds it, the front moves to a port free for both, and TLS clients can
 * connect there. */
static void tcp_front_moves_when_port_taken(void **state)
{
	struct rig *r = *state;
	char tls[LH_ADDR_STRLEN], err[256];
	int tls_port = 0, taken = ntohs(r->ns.front.sin_port);
	int emu = tcp_listener(&tls_port);
	/* Another test running beside this one may hold that TCP port already:
	 * then it is taken without our squatter, which is what is tested. */
	int squatter = tcp_squat(taken);
	snprintf(tls, sizeof(tls), "127.0.0.1:%d", tls_port);
	assert_int_equal(har_netsim_open_tcp(&r->ns, tls, err, sizeof(err)), 0);
	assert_int_not_equal(ntohs(r->ns.front.sin_port), taken);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c, (struct sockaddr *)&r->ns.front, sizeof(r->ns.front)), 0);
	close(c);
	if (squatter >= 0)
		close(squatter);
	close(emu);
}

/* The flipped byte is always in the last 8 (the MAC/tag area) and differs. */
static void corrupt_tail_flips_one_tail_byte(void **state)
{
	(void)state;
	struct har_rng rng;
	unsigned char d[40], orig[40];
	har_rng_seed(&rng, 11);
	for (int round = 0; round < 200; round++) {
		size_t len = 1 + (size_t)round % sizeof(d);
		for (size_t i = 0; i < len; i++)
			d[i] = orig[i] = (unsigned char)(i * 7 + round);
		long off = har_netsim_corrupt_tail(d, len, &rng);
		size_t first = len > 8 ? len - 8 : 0, changed = 0;
		assert_true(off >= (long)first && off < (long)len);
		for (size_t i = 0; i < len; i++)
			changed += d[i] != orig[i];
		assert_int_equal(changed, 1);
		assert_int_not_equal(d[off], orig[off]);
	}
	assert_int_equal(har_netsim_corrupt_tail(d, 0, &rng), -1);
}

/* corrupt alters exactly the next N datagrams of its direction. */
static void corrupt_step_alters_next_n(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in from;
	json_t *c = json_pack("{s:{s:s, s:i}}", "corrupt", "direction", "c2s", "count", 2);
	assert_int_equal(har_netsim_apply(&r->ns, c, err, sizeof(err)), 0);
	json_decref(c);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(send(r->client, "\027abcdefghij", 11, 0), 11);
		assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &from), 11);
		assert_memory_equal(buf, "\027ab", 3); /* only the last 8 bytes may change */
		if (i < 2)
			assert_memory_not_equal(buf, "\027abcdefghij", 11);
		else
			assert_memory_equal(buf, "\027abcdefghij", 11);
	}
	assert_int_equal(count(r, "corrupt", NULL), 2);
	json_t *bad = json_pack("{s:{s:s, s:i}}", "corrupt", "direction", "both", "count", 1);
	assert_int_equal(har_netsim_apply(&r->ns, bad, err, sizeof(err)), -1);
	json_decref(bad);
}

/* spoof re-sends the last c2s datagram from another loopback address. */
static void spoof_replays_last_from_new_address(void **state)
{
	struct rig *r = *state;
	char buf[64], err[256];
	struct sockaddr_in real, spoofed;
	json_t *sp = json_pack("{s:{s:s, s:s}}", "spoof", "from", "127.0.0.9", "copy", "last_c2s");
	assert_int_equal(har_netsim_apply(&r->ns, sp, err, sizeof(err)), -1); /* nothing yet */
	assert_int_equal(send(r->client, "\x19record", 7, 0), 7);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &real), 7);
	assert_int_equal(har_netsim_apply(&r->ns, sp, err, sizeof(err)), 0);
	json_decref(sp);
	assert_int_equal(recv_from(r, r->server, buf, sizeof(buf), &spoofed), 7);
	assert_memory_equal(buf, "\x19record", 7);
	assert_string_equal(inet_ntoa(spoofed.sin_addr), "127.0.0.9");
	assert_int_equal(count(r, "spoof", NULL), 1);
	/* An answer to the spoofed address is seen, and not given to the client. */
	sendto(r->server, "back", 4, 0, (struct sockaddr *)&spoofed, sizeof(spoofed));
	pump(r, 50);
	assert_int_equal(count(r, "spoof_reply", NULL), 1);
	assert_int_equal(recv(r->client, buf, sizeof(buf), MSG_DONTWAIT), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(forwards_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(rebind_changes_source, setup, teardown),
	    cmocka_unit_test_setup_teardown(mtu_and_blackhole_drop, setup, teardown),
	    cmocka_unit_test_setup_teardown(duplication_sends_twice, setup, teardown),
	    cmocka_unit_test_setup_teardown(port_closed_refuses, setup, teardown),
	    cmocka_unit_test_setup_teardown(pack_joins_datagrams, setup, teardown),
	    cmocka_unit_test_setup_teardown(tcp_front_moves_when_port_taken, setup, teardown),
	    cmocka_unit_test(corrupt_tail_flips_one_tail_byte),
	    cmocka_unit_test_setup_teardown(corrupt_step_alters_next_n, setup, teardown),
	    cmocka_unit_test_setup_teardown(spoof_replays_last_from_new_address, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
