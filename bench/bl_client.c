/* bl_client: the per-client state machine of the load generator (see
 * bl_client.h). Sockets are non-blocking and connected, so a datagram on a
 * client's socket is from the server and the kernel does the demultiplexing;
 * that keeps the generator's own cost per record small next to the server's. */
#include "bl_client.h"

#include <errno.h>
#include <mbedtls/net_sockets.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BL_MAX_ERRORS_PRINTED 5
#define BL_BACKOFF_US 100000
#define BL_LINKS "</1/0>,</3/0>"
#define BL_LIFETIME 86400

/* The first few errors say what went wrong; thousands would drown it. */
void bl_client_error(struct bl_bench *b, const struct bl_client *c, const char *fmt, ...)
{
	va_list ap;
	if (b->errors_printed >= BL_MAX_ERRORS_PRINTED)
		return;
	fprintf(stderr, "bench_load: client %u: ", c->idx);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (++b->errors_printed == BL_MAX_ERRORS_PRINTED)
		fprintf(stderr, "bench_load: (further errors are only counted)\n");
}

/* BIO: a datagram the socket cannot take now is dropped like on a real
 * network; DTLS retransmission or the request timeout covers it. */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct bl_client *c = ctx;
	ssize_t n = send(c->fd, buf, len, 0);
	if (n >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)
		return (int)len;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

/* The kernel's receive stamp of a datagram read with recvmsg, 0 without. */
static int64_t rx_stamp(struct msghdr *mh)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
			return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
		}
	return 0;
}

/* BIO: ECONNREFUSED (ICMP port unreachable) ends the client at once. In
 * updates mode the datagram's kernel arrival time is kept (rx_rt): the round
 * trip without the time the answer waited for a busy or preempted generator. */
static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct bl_client *c = ctx;
	union {
		char buf[CMSG_SPACE(sizeof(struct timespec))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.buf,
			    .msg_controllen = sizeof(ctl)};
	ssize_t n = recvmsg(c->fd, &mh, 0);
	if (n >= 0) {
		c->rx_rt = rx_stamp(&mh);
		return (int)n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

/* See bl_client.h. */
int bl_udp_socket(const struct sockaddr *src, socklen_t src_len, const struct sockaddr *server,
		  socklen_t server_len, int family)
{
	struct sockaddr_storage at;
	int e, fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (src_len && bind(fd, src, src_len) < 0) {
		if (src->sa_family != AF_INET || !((const struct sockaddr_in *)src)->sin_port)
			goto err;
		/* The fixed port is taken by a wildcard socket: any port will do. */
		memcpy(&at, src, src_len);
		((struct sockaddr_in *)&at)->sin_port = 0;
		if (bind(fd, (struct sockaddr *)&at, src_len) < 0)
			goto err;
	}
	if (server && connect(fd, server, server_len) < 0)
		goto err;
	return fd;
err:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

/* See bl_client.h. */
int bl_udp_open(struct in_addr base, uint32_t per_addr, uint32_t idx, int fixed_port,
		const struct sockaddr_in *server)
{
	struct sockaddr_in src = {.sin_family = AF_INET};
	src.sin_addr.s_addr = htonl(ntohl(base.s_addr) + idx / per_addr);
	src.sin_port = fixed_port ? htons((uint16_t)(BL_PARK_PORT0 + idx % per_addr)) : 0;
	return bl_udp_socket((struct sockaddr *)&src, sizeof(src), (const struct sockaddr *)server,
			     server ? sizeof(*server) : 0, AF_INET);
}

/* Binds to a loopback source address chosen by idx (one address gives at
 * most ~28k ephemeral ports) and connects to the server. Parked clients free
 * their port: a fixed one per client keeps a later client from reusing it,
 * which the server would take for a restart. */
static int open_socket(struct bl_bench *b, struct bl_client *c)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = c->idx};
	int e, one = 1, fd = bl_udp_open(b->src_base, b->per_addr, c->idx, b->park, &b->server);
	if (fd < 0)
		return -1;
	if (b->mode == BL_MODE_UPDATES)
		(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
	if (epoll_ctl(b->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	c->fd = fd;
	return 0;
}

/* A failed client: handshakes mode tries again after a pause (so an
 * unreachable server is not spun on); the others leave it closed. */
static void fail(struct bl_bench *b, struct bl_client *c)
{
	bl_client_close(b, c, 0);
	if (b->mode == BL_MODE_HANDSHAKES) {
		c->state = BL_BACKOFF;
		c->wake_us = bl_mono_us() + BL_BACKOFF_US;
	}
}

/* See bl_client.h; the handshake starts here (ClientHello sent). */
int bl_client_open(struct bl_bench *b, struct bl_client *c)
{
	int ret;
	if (open_socket(b, c) < 0) {
		bl_client_error(b, c, "socket: %s", strerror(errno));
		goto err;
	}
	c->has_ssl = 1;
	ret = bl_tls_client_setup(&b->tls, &c->ssl, &c->timer);
	if (ret != 0) {
		char e[160];
		bl_client_error(b, c, "ssl setup: %s", bl_tls_strerror(ret, e, sizeof(e)));
		goto err;
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	c->state = BL_HANDSHAKE;
	c->op_start_us = bl_mono_us();
	if (b->mode != BL_MODE_HANDSHAKES)
		b->in_setup++;
	bl_client_step(b, c);
	return 0;
err:
	b->c.hs_err++;
	fail(b, c);
	return -1;
}

/* See bl_client.h; keeps the in_setup and registered counts right. */
void bl_client_close(struct bl_bench *b, struct bl_client *c, int notify)
{
	if (c->state == BL_HANDSHAKE || c->state == BL_REGISTER)
		b->in_setup -= b->mode != BL_MODE_HANDSHAKES;
	if (c->state == BL_READY || c->state == BL_UPDATE || c->state == BL_PARKED)
		b->registered--;
	if (c->has_ssl && notify && c->state >= BL_REGISTER)
		mbedtls_ssl_close_notify(&c->ssl);
	if (c->has_ssl)
		mbedtls_ssl_free(&c->ssl);
	c->has_ssl = 0;
	if (c->fd >= 0) {
		epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = BL_FREE;
}

/* The clock of the kernel's receive stamps (SO_TIMESTAMPNS), in ns. */
static int64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Encrypts and sends one CoAP request; the answer is matched by token. */
static void send_request(struct bl_bench *b, struct bl_client *c, int reg)
{
	uint8_t pdu[256];
	char ep[96];
	size_t len;
	int ret;
	c->mid++;
	memcpy(c->token, &c->mid, sizeof(c->mid));
	memcpy(c->token + 2, &c->idx, 2);
	snprintf(ep, sizeof(ep), "%s%u", b->ep_prefix, c->idx);
	len = reg ? bl_coap_register(pdu, sizeof(pdu), c->mid, c->token, ep, BL_LIFETIME, BL_LINKS)
		  : bl_coap_update(pdu, sizeof(pdu), c->mid, c->token, c->location);
	ret = mbedtls_ssl_write(&c->ssl, pdu, len);
	c->state = reg ? BL_REGISTER : BL_UPDATE;
	c->op_start_us = bl_mono_us();
	c->op_start_rt = realtime_ns();
	c->wake_us = c->op_start_us + (int64_t)b->req_timeout_ms * 1000;
	if (ret < 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE) {
		char e[160];
		bl_client_error(b, c, "write: %s", bl_tls_strerror(ret, e, sizeof(e)));
		reg ? b->c.reg_err++ : b->c.upd_err++;
		fail(b, c);
	}
}

/* See bl_client.h. */
void bl_client_update(struct bl_bench *b, struct bl_client *c)
{
	send_request(b, c, 0);
}

/* Handshakes mode: count it, close cleanly and start the next one. */
static void handshake_done(struct bl_bench *b, struct bl_client *c)
{
	b->c.hs_ok++;
	bl_stats_add(&b->hs_lat, (uint64_t)(bl_mono_us() - c->op_start_us));
	if (b->mode != BL_MODE_HANDSHAKES) {
		send_request(b, c, 1);
		return;
	}
	c->state = BL_REGISTER; /* established: close() sends close_notify */
	bl_client_close(b, c, 1);
	if (b->running)
		bl_client_open(b, c);
}

/* Drops the client's side of a registered session without a close_notify:
 * over UDP the server cannot tell, and keeps the session, so N sessions no
 * longer need N fds here (the fd hard limit may be below N). */
static void park(struct bl_bench *b, struct bl_client *c)
{
	mbedtls_ssl_free(&c->ssl);
	c->has_ssl = 0;
	epoll_ctl(b->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->state = BL_PARKED;
}

/* The Register answer: keep the Location-Path for the Updates. */
static void registered(struct bl_bench *b, struct bl_client *c, const struct bl_coap_msg *m)
{
	char code[8];
	int ok = m->code == 0x41 && m->location[0];
	if (!ok && !b->any_code) {
		bl_client_error(b, c, "Register answered %s%s", bl_coap_code_str(m->code, code),
				m->code == 0x41 ? " without Location-Path" : "");
		b->c.reg_err++;
		fail(b, c);
		return;
	}
	/* A peer that is no LwM2M server: Updates go to /rd, whatever it says. */
	snprintf(c->location, sizeof(c->location), "%s", ok ? m->location : "/rd");
	b->c.reg_ok++;
	b->in_setup--;
	b->registered++;
	c->state = BL_READY;
	if (b->running && b->mode == BL_MODE_UPDATES && b->rate == 0)
		bl_client_update(b, c);
	if (b->park)
		park(b, c);
}

/* The Update answer: one round trip measured; the next one starts
 * at once while the phase runs (closed loop). */
static void updated(struct bl_bench *b, struct bl_client *c, const struct bl_coap_msg *m)
{
	char code[8];
	c->state = BL_READY;
	if (m->code == 0x44 || b->any_code) {
		b->c.upd_ok++;
		bl_stats_add(&b->lat, (uint64_t)(bl_mono_us() - c->op_start_us));
		if (c->rx_rt > c->op_start_rt)
			bl_stats_add(&b->lat_rx, (uint64_t)(c->rx_rt - c->op_start_rt) / 1000);
	} else {
		bl_client_error(b, c, "Update of %s answered %s", c->location,
				bl_coap_code_str(m->code, code));
		b->c.upd_err++;
	}
	if (b->running && b->rate == 0) /* paced (--rate): bench_load sends */
		bl_client_update(b, c);
}

/* One decrypted CoAP message: the answer to our request, or noise. */
static void on_coap(struct bl_bench *b, struct bl_client *c, const uint8_t *buf, size_t len)
{
	struct bl_coap_msg m;
	if (bl_coap_parse(buf, len, &m) < 0)
		return;
	if (m.type == BL_COAP_CON) { /* a separate response (or a request): ACK it */
		uint8_t ack[8];
		size_t n = bl_coap_empty_ack(ack, sizeof(ack), m.mid);
		mbedtls_ssl_write(&c->ssl, ack, n);
	}
	if (m.code == 0 || m.token_len != BL_COAP_TOKEN_LEN ||
	    memcmp(m.token, c->token, BL_COAP_TOKEN_LEN) != 0)
		return; /* empty ACK (separate response follows), or not ours */
	if (c->state == BL_REGISTER)
		registered(b, c, &m);
	else if (c->state == BL_UPDATE)
		updated(b, c, &m);
}

/* Drives the handshake as far as the datagrams received allow. */
static void step_handshake(struct bl_bench *b, struct bl_client *c)
{
	char e[160];
	int ret = mbedtls_ssl_handshake(&c->ssl);
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return;
	if (ret == 0) {
		handshake_done(b, c);
		return;
	}
	bl_client_error(b, c, "handshake: %s", bl_tls_strerror(ret, e, sizeof(e)));
	b->c.hs_err++;
	fail(b, c);
}

/* Reads every record waiting; stops when the client is closed meanwhile. */
static void step_read(struct bl_bench *b, struct bl_client *c)
{
	uint8_t buf[2048];
	for (;;) {
		int ret = mbedtls_ssl_read(&c->ssl, buf, sizeof(buf));
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return;
		if (ret <= 0) {
			char e[160];
			bl_client_error(b, c, "read: %s", bl_tls_strerror(ret, e, sizeof(e)));
			c->state == BL_REGISTER ? b->c.reg_err++ : b->c.upd_err++;
			fail(b, c);
			return;
		}
		on_coap(b, c, buf, (size_t)ret);
		if (!c->has_ssl) /* closed, failed or parked meanwhile */
			return;
	}
}

/* Dispatches by state; see bl_client.h. */
void bl_client_step(struct bl_bench *b, struct bl_client *c)
{
	if (c->state == BL_HANDSHAKE)
		step_handshake(b, c);
	else if (c->state >= BL_REGISTER)
		step_read(b, c);
}

/* Timers are polled, not armed: one scan of all clients every 50 ms
 * costs less than a timer per client. */
void bl_client_tick(struct bl_bench *b, struct bl_client *c, int64_t now)
{
	if (c->state == BL_HANDSHAKE && bl_timer_get(&c->timer) > 0) {
		step_handshake(b, c); /* Mbed TLS retransmits or gives up */
	} else if (c->state == BL_BACKOFF && now >= c->wake_us) {
		c->state = BL_FREE;
		if (b->running)
			bl_client_open(b, c);
	} else if ((c->state == BL_REGISTER || c->state == BL_UPDATE) && now >= c->wake_us) {
		bl_client_error(b, c, "%s: no answer within %u ms",
				c->state == BL_REGISTER ? "Register" : "Update", b->req_timeout_ms);
		b->c.timeouts++;
		if (c->state == BL_REGISTER) {
			fail(b, c);
			return;
		}
		c->state = BL_READY;
		if (b->running && b->rate == 0)
			bl_client_update(b, c);
	}
}
