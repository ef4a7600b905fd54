/* Batched datagram I/O on the public UDP sockets: one recvmmsg reads what
 * a readable event holds (up to a batch), and the datagrams a loop turn
 * produces leave in one sendmmsg per socket when the turn ends, instead of
 * one system call per datagram each way. The layers above (the DTLS send
 * callback, the cookie exchange) hand over finished datagrams and never
 * see the queue. */
#include "emu_server.h"
#include "emu_udp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lh_event.h"

#define EMU_UDP_RX_BATCH 32
#define EMU_UDP_RX_CAP 16384 /* a larger datagram is reported as truncated */
#define EMU_UDP_TX_MAX 64
#define EMU_UDP_TX_ARENA (256 * 1024)
/* Longest a queued datagram waits for the rest of its turn: a turn of
 * expensive datagrams (ECDHE handshakes, ~1.5 ms each) must not hold the
 * first answers back until the last is computed. */
#define EMU_UDP_MAX_HOLD_NS 250000

struct emu_udp_rx {
	struct mmsghdr msgs[EMU_UDP_RX_BATCH];
	struct iovec iov[EMU_UDP_RX_BATCH];
	struct sockaddr_storage from[EMU_UDP_RX_BATCH];
	uint8_t buf[EMU_UDP_RX_BATCH][EMU_UDP_RX_CAP];
	int used; /* slots the last recvmmsg filled (to arm again), or all */
};

struct emu_udp {
	/* The send queue: datagrams in order, their bytes in one arena. */
	struct mmsghdr msgs[EMU_UDP_TX_MAX];
	struct iovec iov[EMU_UDP_TX_MAX];
	struct sockaddr_storage to[EMU_UDP_TX_MAX];
	int fd[EMU_UDP_TX_MAX];
	size_t count, used;
	/* When the work behind the oldest queued datagram began (the read of
	 * the datagram it answers, or its queuing); 0: nothing held. */
	int64_t first_ns;
	uint8_t arena[EMU_UDP_TX_ARENA];
	struct emu_udp_rx *rx; /* allocated on the first read */
};

/* CLOCK_MONOTONIC in ns (vDSO, no system call). */
static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void emu_udp_socket_setup(int fd, const char *what)
{
	int want = EMU_UDP_RCVBUF, got = 0;
	socklen_t len = sizeof(got);
	/* The kernel doubles what it grants (bookkeeping): half is the room. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0 || got / 2 < want)
		fprintf(stderr,
			"lwm2m-emulator: %s socket: receive buffer %d KiB, not the %d KiB asked "
			"(raise net.core.rmem_max): bursts beyond it are dropped by the kernel\n",
			what, got / 2 / 1024, want / 1024);
}

int emu_udp_init(struct emu_server *srv)
{
	srv->udp = calloc(1, sizeof(*srv->udp));
	if (!srv->udp) {
		fprintf(stderr, "lwm2m-emulator: out of memory for the UDP queues\n");
		return -1;
	}
	return 0;
}

void emu_udp_fini(struct emu_server *srv)
{
	if (!srv->udp)
		return;
	emu_udp_flush(srv);
	free(srv->udp->rx);
	free(srv->udp);
	srv->udp = NULL;
}

size_t emu_udp_pending(const struct emu_server *srv)
{
	return srv->udp ? srv->udp->count : 0;
}

/* Sends entries [from, to) that share one socket; a datagram the kernel
 * refuses is counted and skipped, so one bad destination cannot hold back
 * the others. */
static void send_run(struct emu_server *srv, size_t from, size_t to)
{
	struct emu_udp *u = srv->udp;
	size_t i = from;
	while (i < to) {
		int n = sendmmsg(u->fd[i], &u->msgs[i], (unsigned)(to - i), 0);
		if (n > 0) {
			i += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		srv->stats.datagrams_out_failed++;
		i++;
	}
}

void emu_udp_flush(struct emu_server *srv)
{
	struct emu_udp *u = srv->udp;
	if (!u || u->count == 0)
		return;
	lh_event_flush(); /* what led to these datagrams is logged before a peer sees them */
	size_t start = 0;
	for (size_t i = 1; i <= u->count; i++)
		if (i == u->count || u->fd[i] != u->fd[start]) {
			send_run(srv, start, i);
			start = i;
		}
	u->count = 0;
	u->used = 0;
	u->first_ns = 0;
}

/* One datagram at once, for what the queue cannot hold (larger than its
 * arena, or sent before the queue exists). */
static int send_now(struct emu_server *srv, int fd, const void *buf, size_t len,
		    const struct sockaddr *peer, socklen_t peer_len)
{
	lh_event_flush();
	if (sendto(fd, buf, len, 0, peer, peer_len) >= 0)
		return 0;
	srv->stats.datagrams_out_failed++;
	return -1;
}

int emu_udp_send(struct emu_server *srv, int fd, const void *buf, size_t len,
		 const struct sockaddr *peer, socklen_t peer_len)
{
	struct emu_udp *u = srv->udp;
	if (!u || len > EMU_UDP_TX_ARENA || peer_len > sizeof(u->to[0])) {
		emu_udp_flush(srv); /* keep the order */
		return send_now(srv, fd, buf, len, peer, peer_len);
	}
	if (u->count == EMU_UDP_TX_MAX || u->used + len > EMU_UDP_TX_ARENA)
		emu_udp_flush(srv);
	if (u->first_ns == 0)
		u->first_ns = mono_ns();
	size_t i = u->count++;
	memcpy(u->arena + u->used, buf, len);
	memcpy(&u->to[i], peer, peer_len);
	u->iov[i] = (struct iovec){.iov_base = u->arena + u->used, .iov_len = len};
	u->msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &u->to[i],
						  .msg_namelen = peer_len,
						  .msg_iov = &u->iov[i],
						  .msg_iovlen = 1}};
	u->fd[i] = fd;
	u->used += len;
	return 0;
}

/* Sends the queue when the work behind its oldest datagram began long
 * enough ago. */
static void flush_if_old(struct emu_server *srv)
{
	struct emu_udp *u = srv->udp;
	if (u->count > 0 && mono_ns() - u->first_ns >= EMU_UDP_MAX_HOLD_NS)
		emu_udp_flush(srv);
}

/* Points the receive slots the last call filled at their buffer and
 * address again (recvmmsg overwrites their lengths and flags; it leaves the
 * slots it did not fill alone). */
static void rx_arm(struct emu_udp_rx *rx)
{
	for (int i = 0; i < rx->used; i++) {
		rx->iov[i] = (struct iovec){.iov_base = rx->buf[i], .iov_len = EMU_UDP_RX_CAP};
		rx->msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_name = &rx->from[i],
							   .msg_namelen = sizeof(rx->from[i]),
							   .msg_iov = &rx->iov[i],
							   .msg_iovlen = 1}};
	}
}

int emu_udp_read_batch(struct emu_server *srv, int fd, emu_udp_datagram_fn fn, void *ctx)
{
	struct emu_udp *u = srv->udp;
	if (!u->rx) {
		if (!(u->rx = malloc(sizeof(*u->rx)))) {
			fprintf(stderr, "lwm2m-emulator: out of memory for the UDP read batch\n");
			return 0;
		}
		u->rx->used = EMU_UDP_RX_BATCH;
	}
	struct emu_udp_rx *rx = u->rx;
	rx_arm(rx);
	/* MSG_TRUNC: each length is the datagram's real one, so an oversized
	 * datagram is seen as such rather than cut silently. */
	int n = recvmmsg(fd, rx->msgs, EMU_UDP_RX_BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL);
	rx->used = n > 0 ? n : 0;
	if (n > 0 && (uint64_t)n > srv->stats.read_batch_max)
		srv->stats.read_batch_max = (uint64_t)n;
	for (int i = 0; i < n; i++) {
		/* An answer is held from when its question is read: an
		 * expensive one (an ECDHE ClientHello) goes out at once. */
		if (u->count == 0)
			u->first_ns = mono_ns();
		fn(srv, ctx, rx->buf[i], rx->msgs[i].msg_len, EMU_UDP_RX_CAP,
		   (struct sockaddr *)&rx->from[i], rx->msgs[i].msg_hdr.msg_namelen);
		flush_if_old(srv);
	}
	return n > 0 ? n : 0;
}
