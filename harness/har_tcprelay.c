#include "har_tcprelay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lh_addr.h"
#include "lh_time.h"

enum { C2S, S2C };

static const char *const dir_names[2] = {"c2s", "s2c"};

/* One "netsim" event about a TCP connection or a chunk of its bytes. */
static void note(struct har_tcprelay *r, const struct har_tcp_conn *c, const char *action, int dir,
		 size_t bytes, const char *reason)
{
	char a[LH_ADDR_STRLEN];
	json_t *ev = json_pack("{s:f, s:s, s:s, s:s, s:I}", "ts", lh_time_wall(), "src", "netsim",
			       "event", "tcp", "action", action, "conn", (json_int_t)c->id);
	if (dir >= 0) {
		json_object_set_new(ev, "dir", json_string(dir_names[dir]));
		if (bytes > 0) /* a chunk; a "shutdown" (FIN) has none */
			json_object_set_new(ev, "bytes", json_integer((json_int_t)bytes));
	} else {
		json_object_set_new(
		    ev, "client",
		    json_string(lh_addr_format((const struct sockaddr *)&c->client, a, sizeof(a))));
	}
	if (reason)
		json_object_set_new(ev, "reason", json_string(reason));
	har_timeline_add(r->tl, ev);
}

/* A non-blocking TCP socket bound to addr (port 0 = any); the bound address
 * is written back. Listens when backlog > 0. Returns the fd or -1. */
static int tcp_socket(struct sockaddr_in *addr, int backlog)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    (backlog > 0 && listen(fd, backlog) != 0) ||
	    getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* Opened only for TLS scenarios, on the UDP front's port number. */
int har_tcprelay_open(struct har_tcprelay *r, int port, const char *server, struct har_timeline *tl,
		      struct har_pcap *pcap, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(r, 0, sizeof(*r));
	r->lfd = -1;
	r->tl = tl;
	r->pcap = pcap;
	r->next_id = 1;
	if (lh_addr_parse(server, 0, &ss, &sslen) != 0 || ss.ss_family != AF_INET) {
		snprintf(err, errlen, "the emulator's TLS address %s is not IPv4 host:port",
			 server);
		return -1;
	}
	memcpy(&r->server, &ss, sizeof(r->server));
	r->front.sin_family = AF_INET;
	r->front.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->front.sin_port = htons((uint16_t)port);
	if ((r->lfd = tcp_socket(&r->front, 8)) < 0) {
		int e = errno; /* the caller retries on EADDRINUSE */
		snprintf(err, errlen, "cannot listen for TLS on 127.0.0.1:%d: %s", port,
			 strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

/* True when the socket that dir reads from is finished both ways: its FIN
 * was read and ours was sent. Poll would report POLLHUP on it forever while
 * the other way still drains, so it is left out. */
static int side_done(const struct har_tcp_conn *c, int dir)
{
	return c->q[dir].eof && c->q[!dir].shut;
}

/* Asks only for what can progress, so a full buffer means backpressure. */
int har_tcprelay_pollfds(const struct har_tcprelay *r, struct pollfd *fds, int max)
{
	int n = 0;
	if (r->lfd >= 0 && n < max)
		fds[n++] = (struct pollfd){r->lfd, POLLIN, 0};
	for (size_t i = 0; i < r->n && n + 2 <= max; i++) {
		const struct har_tcp_conn *c = r->conns[i];
		short cev = 0, sev = 0;
		if (!c->connecting && !c->q[C2S].eof && c->q[C2S].len < HAR_TCP_BUF)
			cev |= POLLIN;
		if (c->q[S2C].len > 0)
			cev |= POLLOUT;
		if (c->connecting || c->q[C2S].len > 0)
			sev |= POLLOUT;
		if (!c->connecting && !c->q[S2C].eof && c->q[S2C].len < HAR_TCP_BUF)
			sev |= POLLIN;
		fds[n++] = (struct pollfd){side_done(c, C2S) ? -1 : c->cfd, cev, 0};
		fds[n++] = (struct pollfd){side_done(c, S2C) ? -1 : c->sfd, sev, 0};
	}
	return n;
}

/* Lets the simulator route readiness to the right side. */
int har_tcprelay_owns(const struct har_tcprelay *r, int fd)
{
	if (fd < 0)
		return 0;
	if (fd == r->lfd)
		return 1;
	for (size_t i = 0; i < r->n; i++)
		if (r->conns[i]->cfd == fd || r->conns[i]->sfd == fd)
			return 1;
	return 0;
}

/* Closes a socket so that the peer gets a RST rather than a FIN. */
static void close_reset(int fd)
{
	struct linger lg = {1, 0};
	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Ends connection i; with reset, both sides get a RST. Without, both FINs
 * were already passed on (and captured) by forward_dir. */
static void drop_conn(struct har_tcprelay *r, size_t i, int reset, const char *why)
{
	struct har_tcp_conn *c = r->conns[i];
	note(r, c, reset ? "reset" : "close", -1, 0, why);
	if (r->pcap && !c->connecting && reset)
		har_pcap_write_tcp(r->pcap, &c->outside, &r->server, c->q[C2S].seq, c->q[S2C].seq,
				   HAR_TCP_RST | HAR_TCP_ACK, NULL, 0);
	if (reset) {
		close_reset(c->cfd);
		close_reset(c->sfd);
	} else {
		close(c->cfd);
		close(c->sfd);
	}
	free(c);
	r->conns[i] = r->conns[--r->n];
}

/* Captures the three-way handshake the server saw, so the stream decodes. */
static void capture_syn(struct har_tcprelay *r, struct har_tcp_conn *c)
{
	struct har_pcap *p = r->pcap;
	c->q[C2S].seq = 1000;
	c->q[S2C].seq = 5000;
	har_pcap_write_tcp(p, &c->outside, &r->server, c->q[C2S].seq++, 0, HAR_TCP_SYN, NULL, 0);
	har_pcap_write_tcp(p, &r->server, &c->outside, c->q[S2C].seq++, c->q[C2S].seq,
			   HAR_TCP_SYN | HAR_TCP_ACK, NULL, 0);
	har_pcap_write_tcp(p, &c->outside, &r->server, c->q[C2S].seq, c->q[S2C].seq, HAR_TCP_ACK,
			   NULL, 0);
}

/* A new client connection: open the matching one to the server. */
static void accept_one(struct har_tcprelay *r)
{
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	int cfd = accept4(r->lfd, (struct sockaddr *)&from, &flen, SOCK_NONBLOCK | SOCK_CLOEXEC);
	struct har_tcp_conn *c = NULL;
	if (cfd < 0)
		return;
	if (r->n == HAR_TCP_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
		close_reset(cfd);
		return;
	}
	c->id = r->next_id++;
	c->cfd = cfd;
	c->client = from;
	c->outside.sin_family = AF_INET;
	c->outside.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->sfd = tcp_socket(&c->outside, 0);
	r->conns[r->n++] = c;
	note(r, c, "accept", -1, 0, NULL);
	if (c->sfd < 0 || (connect(c->sfd, (struct sockaddr *)&r->server, sizeof(r->server)) != 0 &&
			   errno != EINPROGRESS)) {
		drop_conn(r, r->n - 1, 1, strerror(errno));
		return;
	}
	c->connecting = 1;
}

/* The server side finished connecting (or failed to). Returns -1 if the
 * connection was dropped. */
static int finish_connect(struct har_tcprelay *r, size_t i)
{
	struct har_tcp_conn *c = r->conns[i];
	int e = 0;
	socklen_t len = sizeof(e);
	getsockopt(c->sfd, SOL_SOCKET, SO_ERROR, &e, &len);
	if (e != 0) {
		drop_conn(r, i, 1, strerror(e));
		return -1;
	}
	c->connecting = 0;
	note(r, c, "connect", -1, 0, NULL);
	if (r->pcap)
		capture_syn(r, c);
	return 0;
}

/* The socket a direction reads from: its sender. */
static int src_fd(const struct har_tcp_conn *c, int dir)
{
	return dir == C2S ? c->cfd : c->sfd;
}

/* The socket a direction writes to: its receiver. */
static int dst_fd(const struct har_tcp_conn *c, int dir)
{
	return dir == C2S ? c->sfd : c->cfd;
}

/* Writes what is queued in one direction; keeps the rest. Returns 0 or the
 * error of the receiving side. */
static int flush(struct har_tcp_conn *c, int dir)
{
	struct har_tcp_pipe *q = &c->q[dir];
	while (q->len > 0) {
		ssize_t n = send(dst_fd(c, dir), q->buf, q->len, MSG_NOSIGNAL);
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
		memmove(q->buf, q->buf + n, q->len - (size_t)n);
		q->len -= (size_t)n;
	}
	return 0;
}

/* Reads what one side sent and queues it for the other (or drops it in a
 * blackhole); its FIN is noted for forward_dir. Returns 0 or the error (a
 * RST from that side). */
static int pull(struct har_tcprelay *r, struct har_tcp_conn *c, int dir)
{
	struct har_tcp_pipe *q = &c->q[dir];
	ssize_t n = recv(src_fd(c, dir), q->buf + q->len, sizeof(q->buf) - q->len, 0);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : errno;
	if (n == 0) {
		q->eof = 1;
		return 0;
	}
	if (r->blackhole) {
		note(r, c, "drop", dir, (size_t)n, "blackhole");
		return 0;
	}
	note(r, c, "forward", dir, (size_t)n, NULL);
	if (dir == C2S)
		har_pcap_write_tcp(r->pcap, &c->outside, &r->server, q->seq, c->q[S2C].seq,
				   HAR_TCP_PSH | HAR_TCP_ACK, q->buf + q->len, (size_t)n);
	else
		har_pcap_write_tcp(r->pcap, &r->server, &c->outside, q->seq, c->q[C2S].seq,
				   HAR_TCP_PSH | HAR_TCP_ACK, q->buf + q->len, (size_t)n);
	q->seq += (uint32_t)n;
	q->len += (size_t)n;
	return 0;
}

/* Reads the sender of dir when poll says it has bytes, its FIN or an
 * error. After its FIN (or while the queue is full) only an error is left
 * to collect, which poll reports whatever was asked. Returns 0 or it. */
static int read_side(struct har_tcprelay *r, struct har_tcp_conn *c, int dir, short rev)
{
	int e = 0;
	socklen_t len = sizeof(e);
	if (!(rev & (POLLIN | POLLHUP | POLLERR)))
		return 0;
	if (!c->q[dir].eof && c->q[dir].len < HAR_TCP_BUF)
		return pull(r, c, dir);
	if (rev & POLLERR)
		getsockopt(src_fd(c, dir), SOL_SOCKET, SO_ERROR, &e, &len);
	return e;
}

/* The FIN in the capture, from the side that sent it; it takes one
 * sequence number, so the other way's acknowledgements count it. */
static void capture_fin(struct har_tcprelay *r, struct har_tcp_conn *c, int dir)
{
	struct har_tcp_pipe *q = &c->q[dir];
	if (dir == C2S)
		har_pcap_write_tcp(r->pcap, &c->outside, &r->server, q->seq, c->q[S2C].seq,
				   HAR_TCP_FIN | HAR_TCP_ACK, NULL, 0);
	else
		har_pcap_write_tcp(r->pcap, &r->server, &c->outside, q->seq, c->q[C2S].seq,
				   HAR_TCP_FIN | HAR_TCP_ACK, NULL, 0);
	q->seq++;
}

/* Writes what is queued one way; once the sender's FIN is read and all
 * before it written, passes the FIN on (shutdown), as a NAT forwards a
 * half-close: the other way stays open, so a server that sends an alert
 * and half-closes still reads the rest of the client's flight and the
 * client reads the alert, not a RST. Returns 0 or the receiver's error. */
static int forward_dir(struct har_tcprelay *r, struct har_tcp_conn *c, int dir)
{
	struct har_tcp_pipe *q = &c->q[dir];
	int e = flush(c, dir);
	if (e != 0 || !q->eof || q->shut || q->len > 0)
		return e;
	if (shutdown(dst_fd(c, dir), SHUT_WR) != 0)
		return errno;
	q->shut = 1;
	note(r, c, "shutdown", dir, 0, NULL);
	capture_fin(r, c, dir);
	return 0;
}

/* A RST (or a socket error) on one side reaches the other side as a RST,
 * after whatever it was still owed: a NAT forwards the segments in order. */
static void reset_conn(struct har_tcprelay *r, size_t i, int side, int e)
{
	char why[128];
	snprintf(why, sizeof(why), "%s: %s", side == C2S ? "client" : "server", strerror(e));
	flush(r->conns[i], C2S);
	flush(r->conns[i], S2C);
	drop_conn(r, i, 1, why);
}

/* Services one connection given the poll results of its two sockets; it
 * ends when both ways have passed their FIN on, or at the first error.
 * Returns -1 when the connection was dropped. */
static int service(struct har_tcprelay *r, size_t i, short crev, short srev)
{
	struct har_tcp_conn *c = r->conns[i];
	int e, side = C2S; /* C2S: the client's socket failed, S2C: the server's */
	if (c->connecting) {
		if ((srev & (POLLOUT | POLLERR | POLLHUP)) && finish_connect(r, i) != 0)
			return -1;
		return 0;
	}
	if ((e = read_side(r, c, C2S, crev)) == 0 && (e = read_side(r, c, S2C, srev)) != 0)
		side = S2C;
	if (e == 0 && (e = forward_dir(r, c, C2S)) != 0)
		side = S2C;
	if (e == 0 && (e = forward_dir(r, c, S2C)) != 0)
		side = C2S;
	if (e != 0) {
		reset_conn(r, i, side, e);
		return -1;
	}
	if (c->q[C2S].shut && c->q[S2C].shut) {
		drop_conn(r, i, 0, "both sides closed");
		return -1;
	}
	return 0;
}

/* The poll result of fd among fds (0 when absent). */
static short revents_of(const struct pollfd *fds, int n, int fd)
{
	for (int i = 0; i < n; i++)
		if (fds[i].fd == fd)
			return fds[i].revents;
	return 0;
}

/* Accepts, connects and shovels bytes for every connection. */
void har_tcprelay_ready(struct har_tcprelay *r, const struct pollfd *fds, int n)
{
	if (r->lfd >= 0 && (revents_of(fds, n, r->lfd) & POLLIN))
		accept_one(r);
	for (size_t i = r->n; i > 0; i--) {
		struct har_tcp_conn *c = r->conns[i - 1];
		service(r, i - 1, revents_of(fds, n, c->cfd), revents_of(fds, n, c->sfd));
	}
}

/* A NAT mapping change kills TCP flows; both ends must see it. */
void har_tcprelay_reset_all(struct har_tcprelay *r, const char *why)
{
	while (r->n > 0)
		drop_conn(r, r->n - 1, 1, why);
}

/* A closed port refuses new connections; existing ones stay. */
int har_tcprelay_port_closed(struct har_tcprelay *r, int closed, char *err, size_t errlen)
{
	if (closed == r->port_closed)
		return 0;
	if (closed) {
		close(r->lfd);
		r->lfd = -1;
	} else if ((r->lfd = tcp_socket(&r->front, 8)) < 0) {
		snprintf(err, errlen, "cannot reopen the TLS relay port: %s", strerror(errno));
		return -1;
	}
	r->port_closed = closed;
	return 0;
}

/* Teardown closes every socket. */
void har_tcprelay_close(struct har_tcprelay *r)
{
	while (r->n > 0) {
		struct har_tcp_conn *c = r->conns[--r->n];
		close(c->cfd);
		close(c->sfd);
		free(c);
	}
	if (r->lfd >= 0)
		close(r->lfd);
	r->lfd = -1;
}
