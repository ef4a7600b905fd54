/* CoAP over TLS over TCP (RFC 8323): a TCP listener; each connection gets
 * an Mbed TLS stream context (same PSKs, certificate, CA and resumption as
 * DTLS); its plaintext goes to the session's CoAP layer (emu_msg.c), which
 * does the RFC 8323 framing and signalling. Sessions share the DTLS session table,
 * events and control commands. As the DTLS demux does, the first ClientHello
 * is read and its SNI parsed before the context is set up, with the named
 * vhost's config; Mbed TLS then reads those bytes again from the buffer. */
#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_resume.h"
#include "emu_tls.h"
#include "emu_demux.h"

#include <errno.h>
#include <mbedtls/error.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_keylog.h"
#include "emu_linger.h"
#include "emu_record.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

#define EMU_TLS_BUF 16384
/* How long a full kernel buffer may take to drain: wall time (lh_time_real_ms). */
#define EMU_TLS_SEND_WAIT_MS 1000
/* The ClientHello, with its record headers, must fit in one max-size record. */
#define EMU_TLS_HELLO_MAX (EMU_TLS_RECORD_HDR_LEN + EMU_TLS_RECORD_MAX)
#define EMU_TLS_HELLO_FIRST 512 /* the hello buffer's first size; it doubles */
#define EMU_TLS_DRAIN_MAX 65536 /* read at most this much when closing at once */

/* What a TLS connection needs besides its session, from accept to close:
 * the bytes read before its Mbed TLS context could be set up (replayed to
 * it first), and the peer's record framing as Mbed TLS reads it, which
 * tells the alert the peer sent without Mbed TLS's private fields. */
struct emu_tls_conn {
	int fd; /* the connection's socket (the session's tcp_fd) */
	struct emu_session *s;
	uint8_t *hello; /* read before setup and not yet replayed; NULL: none */
	size_t hello_len, hello_cap, hello_off;
	struct emu_tls_hello_scan scan;
	int ready;	    /* the Mbed TLS context is set up */
	uint8_t rec_hdr[5]; /* the peer's current record: header, */
	size_t rec_pos;	    /* header bytes seen, */
	size_t rec_left;    /* body bytes still to come, */
	uint8_t rec_body[2];
	int encrypted; /* its ChangeCipherSpec went by: records are opaque */
	int alert[2];  /* the last record, when a plaintext alert: level, description */
};

/* Forgets a connection's extra state (its fd is the caller's to close). */
static void conn_free(struct emu_tls_conn *c)
{
	if (!c)
		return;
	c->s->tls = NULL;
	free(c->hello);
	free(c);
}

/* TLS output: the socket is non-blocking; a full buffer waits a bounded
 * time rather than dropping bytes of a stream. */
static int tls_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct emu_session *s = ((struct emu_tls_conn *)ctx)->s;
	int level, desc;
	/* Remember the first alert this side sends, for handshake_failed. */
	if (s->alert_sent[0] == 0 && emu_record_tls_alert(buf, len, &level, &desc) == 0) {
		s->alert_sent[0] = level;
		s->alert_sent[1] = desc;
	}
	lh_event_flush(); /* what led to these bytes is logged before a peer sees them */
	ssize_t n = send(s->tcp_fd, buf, len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		struct pollfd p = {.fd = s->tcp_fd, .events = POLLOUT};
		if (poll(&p, 1, (int)lh_time_real_ms(EMU_TLS_SEND_WAIT_MS)) == 1)
			n = send(s->tcp_fd, buf, len, MSG_NOSIGNAL);
	}
	if (n < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE
				       : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	s->bytes_out += (uint64_t)n;
	return (int)n;
}

/* Reads and drops what the peer already sent (bounded), so that close()
 * has no unread input to answer with a RST. */
static void drain_now(int fd)
{
	uint8_t buf[4096];
	for (size_t total = 0; total < EMU_TLS_DRAIN_MAX;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n <= 0)
			return;
		total += (size_t)n;
	}
}

/* Closing a TCP socket with unread input sends a RST instead of a FIN, and
 * the RST can hit the client while it still writes its flight, which then
 * fails with ECONNRESET before it ever reads our alert. So: FIN after what
 * was sent (SHUT_WR); after a fatal alert the connection lingers in the
 * loop (emu_linger.c), its input read and dropped, until the peer closes or
 * EMU_LINGER_MS pass; otherwise, or when too many linger already, what is
 * already there is read and the socket closed at once. */
void emu_tls_close(struct emu_session *s, int after_alert)
{
	int fd = s->tcp_fd;
	conn_free(s->tls);
	s->tcp_fd = -1;
	if (shutdown(fd, SHUT_WR) < 0) {
		close(fd);
		return;
	}
	if (after_alert && emu_linger_add(s->srv, fd) == 0)
		return;
	drain_now(fd);
	close(fd);
}

/* The body length in the header of the peer's current record. */
static size_t record_len(const struct emu_tls_conn *c)
{
	return (size_t)c->rec_hdr[3] << 8 | c->rec_hdr[4];
}

/* Notes a record of the peer's that Mbed TLS has now read whole. */
static void record_done(struct emu_tls_conn *c)
{
	int alert = c->rec_hdr[0] == EMU_CT_ALERT && c->rec_hdr[3] == 0 && c->rec_hdr[4] == 2;
	c->alert[0] = alert ? c->rec_body[0] : 0;
	c->alert[1] = alert ? c->rec_body[1] : 0;
	c->encrypted = c->rec_hdr[0] == EMU_CT_CHANGE_CIPHER_SPEC;
	c->rec_pos = 0;
}

/* Follows the record framing of the bytes handed to Mbed TLS: until the
 * peer's ChangeCipherSpec its records are plaintext, so the last one read
 * before Mbed TLS reports a fatal alert is that alert. */
static void track_records(struct emu_tls_conn *c, const uint8_t *p, size_t n)
{
	while (n > 0 && !c->encrypted) {
		if (c->rec_pos < sizeof(c->rec_hdr)) {
			c->rec_hdr[c->rec_pos++] = *p++;
			n--;
			if (c->rec_pos < sizeof(c->rec_hdr))
				continue;
			c->rec_left = record_len(c);
			if (c->rec_left == 0)
				record_done(c);
			continue;
		}
		size_t at = record_len(c) - c->rec_left;
		size_t take = n < c->rec_left ? n : c->rec_left;
		for (size_t i = 0; i < take && at + i < sizeof(c->rec_body); i++)
			c->rec_body[at + i] = p[i];
		c->rec_left -= take;
		p += take;
		n -= take;
		if (c->rec_left == 0)
			record_done(c);
	}
}

/* TLS input: first the bytes read before setup, then the socket. */
static int tls_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct emu_tls_conn *c = ctx;
	ssize_t n;
	if (c->hello) {
		n = (ssize_t)(len < c->hello_len - c->hello_off ? len
								: c->hello_len - c->hello_off);
		memcpy(buf, c->hello + c->hello_off, (size_t)n);
		c->hello_off += (size_t)n;
		if (c->hello_off == c->hello_len) {
			free(c->hello);
			c->hello = NULL;
		}
	} else {
		n = recv(c->fd, buf, len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return MBEDTLS_ERR_SSL_WANT_READ;
		if (n < 0)
			return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
		if (n == 0)
			return MBEDTLS_ERR_SSL_CONN_EOF;
		c->s->bytes_in += (uint64_t)n;
	}
	track_records(c, buf, (size_t)n);
	return (int)n;
}

/* A stream config with the same knobs as the DTLS one of config c: TLS
 * 1.2, c's suites (else the server's), PSKs, resumption, leaf's chain and
 * key, x's client CA set, c's auth mode, and the same SNI and certificate
 * callbacks, so vhosts and their policies work as for DTLS. */
int emu_tls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf, const struct emu_config *c,
		       const struct emu_x509 *leaf, const struct emu_x509 *x)
{
	static const int modes[] = {MBEDTLS_SSL_VERIFY_NONE, MBEDTLS_SSL_VERIFY_OPTIONAL,
				    MBEDTLS_SSL_VERIFY_REQUIRED};
	int ret = mbedtls_ssl_config_defaults(
	    conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &srv->drbg);
	mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_2);
	mbedtls_ssl_conf_psk_cb(conf, emu_dtls_psk_cb, srv);
	if (c->ciphersuites[0])
		mbedtls_ssl_conf_ciphersuites(conf, c->ciphersuites);
	else if (emu_gen_cfg(srv)->ciphersuites[0])
		mbedtls_ssl_conf_ciphersuites(conf, emu_gen_cfg(srv)->ciphersuites);
	mbedtls_ssl_conf_sni(conf, emu_vhost_sni_cb, srv);
	mbedtls_ssl_conf_cert_cb(conf, emu_vhost_cert_cb);
	emu_resume_conf(srv, conf);
	/* Mbed TLS only reads them: the const is dropped for its API. */
	ret = mbedtls_ssl_conf_own_cert(conf, (mbedtls_x509_crt *)&leaf->chain,
					(mbedtls_pk_context *)&leaf->key);
	if (x->have_ca)
		mbedtls_ssl_conf_ca_chain(conf, (mbedtls_x509_crt *)&x->ca, NULL);
	mbedtls_ssl_conf_authmode(conf, modes[c->client_auth]);
	return ret;
}

/* The listening socket on bind:tls_port; returns the port or -1. */
static int open_listener(struct emu_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_TLS_LISTEN, 0)};
	if (lh_addr_parse(emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->tls_port, &ss, &len) < 0)
		return -1;
	srv->tls_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->tls_fd < 0 ||
	    setsockopt(srv->tls_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(srv->tls_fd, (struct sockaddr *)&ss, len) < 0 || listen(srv->tls_fd, 128) < 0 ||
	    getsockname(srv->tls_fd, (struct sockaddr *)&ss, &len) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->tls_fd, &ev) < 0) {
		if (errno == EADDRINUSE && !emu_gen_cfg(srv)->tls_port_given) {
			lh_event_emitf("listen_skipped", "{s:s, s:i, s:s}", "proto", "tls", "port",
				       emu_gen_cfg(srv)->tls_port, "reason",
				       "port in use (default port)");
			close(srv->tls_fd);
			srv->tls_fd = -1;
			return 0;
		}
		fprintf(stderr, "lwm2m-emulator: cannot listen for TLS on %s port %d: %s\n",
			emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->tls_port, strerror(errno));
		return -1;
	}
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int emu_tls_init(struct emu_server *srv)
{
	char text[128];
	mbedtls_ssl_config_init(&srv->tls_conf);
	srv->tls_fd = -1;
	if (emu_gen_cfg(srv)->tls_port == EMU_PORT_OFF)
		return 0;
	int ret = emu_tls_setup_conf(srv, &srv->tls_conf, srv->cfg, &srv->x509, &srv->x509);
	if (ret != 0) {
		mbedtls_strerror(ret, text, sizeof(text));
		fprintf(stderr, "lwm2m-emulator: TLS setup failed: %s\n", text);
		return -1;
	}
	srv->tls_port_bound = open_listener(srv);
	return srv->tls_port_bound < 0 ? -1 : 0; /* 0: skipped (see open_listener) */
}

void emu_tls_fini(struct emu_server *srv)
{
	if (srv->tls_fd >= 0)
		close(srv->tls_fd);
	srv->tls_fd = -1;
	/* After emu_server_fini closed the sessions, some of which may linger. */
	emu_linger_close_all(srv);
	mbedtls_ssl_config_free(&srv->tls_conf);
}

/* A new connection holds a TLS connection and a handshake of $.limits
 * until it closes (or its handshake is done). Returns 0, or -1 when a
 * bound is reached (nothing taken). */
static int admit(struct emu_server *srv)
{
	if (emu_limit_take(srv, EMU_LIMIT_TLS_CONNECTIONS, 1, "a TLS connection") < 0)
		return -1;
	if (emu_limit_take(srv, EMU_LIMIT_HANDSHAKES, 1, "a TLS handshake") == 0)
		return 0;
	emu_limit_give(srv, EMU_LIMIT_TLS_CONNECTIONS, 1);
	return -1;
}

/* Accepts one connection: a session and its connection state; the Mbed TLS
 * context is set up once the ClientHello is in (hello_setup). */
static void accept_one(struct emu_server *srv, int fd, const struct sockaddr *peer, socklen_t plen)
{
	if (admit(srv) < 0) {
		close(fd);
		return;
	}
	struct emu_session *s = calloc(1, sizeof(*s));
	struct emu_tls_conn *c = calloc(1, sizeof(*c));
	struct epoll_event ev = {.events = EPOLLIN};
	char addr[LH_ADDR_STRLEN];
	if (!s || !c) {
		free(s);
		free(c);
		close(fd);
		emu_limit_give(srv, EMU_LIMIT_TLS_CONNECTIONS, 1);
		emu_limit_give(srv, EMU_LIMIT_HANDSHAKES, 1);
		return;
	}
	s->srv = srv;
	s->tp = &emu_transport_tls;
	s->tcp_fd = fd;
	s->cookie_verified = 0; /* no cookies in TLS; TCP validated the address */
	memcpy(&s->peer, peer, plen);
	s->peer_len = plen;
	s->addr_key_len = emu_addr_key(peer, s->addr_key);
	s->addr_key[s->addr_key_len++] = EMU_ADDR_KEY_TCP_MARK;
	s->started_ms = lh_time_mono_ms();
	mbedtls_ssl_init(&s->ssl);
	emu_sessions_add(&srv->sessions, s);
	c->fd = fd;
	c->s = s;
	s->tls = c;
	ev.data.u64 = EMU_FD_TAG(EMU_FD_TLS_CONN, s->id);
	if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		emu_session_close(s, "setup_failed");
		return;
	}
	lh_event_emitf("handshake_started", "{s:I, s:s, s:s, s:b}", "session", (json_int_t)s->id,
		       "peer", lh_addr_format(peer, addr, sizeof(addr)), "transport", "tls",
		       "cookie_verified", 0);
	/* Mbed TLS has no timers on a stream: the handshake gets the DTLS one's
	 * longest time ($.dtls.handshake_timeout_ms.max) as a deadline, so a
	 * peer that connects and stalls does not hold its session forever. */
	s->timer_gen++;
	s->timer_fin = s->started_ms + emu_gen_cfg(srv)->hs_max_ms;
	(void)emu_timers_push(&srv->timers, s->timer_fin, s->id, s->timer_gen);
}

/* The handshake deadline of a TLS connection passed: fails and closes it
 * unless the handshake is done. */
static void tls_timer(struct emu_session *s)
{
	if (s->state == EMU_SESS_OPEN)
		return;
	s->timer_fin = 0;
	emu_dtls_report_failed(s, MBEDTLS_ERR_SSL_TIMEOUT);
	emu_session_close(s, "handshake_timeout");
}

void emu_tls_accept(struct emu_server *srv)
{
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(srv->tls_fd, (struct sockaddr *)&peer, &plen,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		accept_one(srv, fd, (struct sockaddr *)&peer, plen);
	}
}

/* Hands decrypted bytes to the session's CoAP layer; -1 when the session
 * was closed. */
static int read_app(struct emu_session *s)
{
	static uint8_t buf[EMU_TLS_BUF];
	for (;;) {
		int ret = mbedtls_ssl_read(&s->ssl, buf, sizeof(buf));
		if (ret > 0) {
			if (emu_msg_input(s, buf, (size_t)ret) < 0)
				return -1;
			continue;
		}
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		/* mbedtls_ssl_read reports the peer's FIN without close_notify as 0. */
		emu_session_close(s, ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY	   ? "close_notify"
				     : ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF ? "tcp_closed"
										   : "tls_error");
		return -1;
	}
}

/* A fatal alert from the peer: Mbed TLS returned right after reading it,
 * so it is the last record track_records saw, if that was plaintext (a
 * TLS 1.2 peer's handshake alerts are: they come before its
 * ChangeCipherSpec; an encrypted one is left unnamed). */
static void note_alert_received(struct emu_session *s, const struct emu_tls_conn *c, int ret)
{
	if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE || c->alert[0] == 0)
		return;
	s->alert_recv[0] = c->alert[0];
	s->alert_recv[1] = c->alert[1];
}

/* Ends a connection whose first bytes are no ClientHello: it closes like a
 * failed handshake (handshake_started was reported at accept); reason,
 * when given, is reported as record_dropped, as the DTLS demux does. */
static int hello_fail(struct emu_tls_conn *c, int err, const char *reason)
{
	struct emu_session *s = c->s;
	if (reason)
		emu_demux_drop(s->srv, (struct sockaddr *)&s->peer, reason, c->hello_len);
	emu_dtls_report_failed(s, err);
	emu_session_close(s, "handshake_failed");
	return -1;
}

/* Reports what the scan found wrong, with the Mbed TLS error closest to it
 * (the one Mbed TLS itself returned for such bytes when it read them
 * first). A fatal alert instead of a ClientHello is a client that gave up:
 * reported as received, like any other. */
static int hello_refuse(struct emu_tls_conn *c, int status)
{
	const uint8_t *r = c->hello + c->scan.off;
	switch (status) {
	case EMU_TLS_HELLO_NOT_HANDSHAKE:
		if (r[0] == EMU_CT_ALERT && r[3] == 0 && r[4] == 2 &&
		    r[5] == MBEDTLS_SSL_ALERT_LEVEL_FATAL) {
			c->s->alert_recv[0] = r[5];
			c->s->alert_recv[1] = r[6];
			return hello_fail(c, MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE, NULL);
		}
		return hello_fail(c, MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE, "not_handshake");
	case EMU_TLS_HELLO_NOT_CLIENT_HELLO:
		return hello_fail(c, MBEDTLS_ERR_SSL_UNEXPECTED_MESSAGE, "not_client_hello");
	case EMU_TLS_HELLO_OVERSIZED_RECORD:
		return hello_fail(c, MBEDTLS_ERR_SSL_INVALID_RECORD, "oversized_record");
	case EMU_TLS_HELLO_OVERSIZED:
		return hello_fail(c, MBEDTLS_ERR_SSL_DECODE_ERROR, "oversized_client_hello");
	default:
		return hello_fail(c, MBEDTLS_ERR_SSL_INVALID_RECORD, "not_tls");
	}
}

/* Sets the Mbed TLS context up with the config of the vhost the
 * ClientHello's SNI names (the default one's without SNI or for an unknown
 * name, where the SNI callback applies the policy), of the current
 * generation, which the session holds from now on. Returns 1, or -1 when
 * the session was closed. */
static int hello_setup(struct emu_tls_conn *c)
{
	static uint8_t msg[EMU_TLS_HELLO_MAX];
	struct emu_session *s = c->s;
	struct emu_server *srv = s->srv;
	struct emu_client_hello ch;
	if (emu_record_tls_client_hello(c->hello, c->hello_len, msg, sizeof(msg), &ch) == 0 &&
	    ch.sni)
		s->vhost = emu_vhost_find(srv, ch.sni, ch.sni_len);
	emu_gen_hold(s);
	if (mbedtls_ssl_setup(&s->ssl, s->vhost ? &s->vhost->tls_conf : emu_gen_tls_conf(srv)) !=
	    0) {
		emu_session_close(s, "setup_failed");
		return -1;
	}
	mbedtls_ssl_set_user_data_p(&s->ssl, s);
	mbedtls_ssl_set_bio(&s->ssl, c, tls_send, tls_recv, NULL);
	emu_dtls_keys_attach(s);
	c->ready = 1;
	return 1;
}

/* Makes room for more of the ClientHello: the buffer doubles up to
 * EMU_TLS_HELLO_MAX. Returns 0, or -1 when out of memory. */
static int hello_room(struct emu_tls_conn *c)
{
	if (c->hello_len < c->hello_cap)
		return 0;
	size_t cap = c->hello_cap ? 2 * c->hello_cap : EMU_TLS_HELLO_FIRST;
	uint8_t *p = realloc(c->hello, cap < EMU_TLS_HELLO_MAX ? cap : EMU_TLS_HELLO_MAX);
	if (!p)
		return -1;
	c->hello = p;
	c->hello_cap = cap < EMU_TLS_HELLO_MAX ? cap : EMU_TLS_HELLO_MAX;
	return 0;
}

/* Reads the connection's first bytes until its whole first handshake
 * message is in (any number of reads), then sets the context up. Returns 1
 * when set up, 0 to wait for more, -1 when the session was closed. */
static int hello_read(struct emu_tls_conn *c)
{
	for (;;) {
		if (hello_room(c) < 0)
			return hello_fail(c, MBEDTLS_ERR_SSL_ALLOC_FAILED, "out_of_memory");
		ssize_t n = recv(c->fd, c->hello + c->hello_len, c->hello_cap - c->hello_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return hello_fail(
			    c, n == 0 ? MBEDTLS_ERR_SSL_CONN_EOF : MBEDTLS_ERR_SSL_INTERNAL_ERROR,
			    c->hello_len ? "truncated_record" : NULL);
		c->hello_len += (size_t)n;
		c->s->bytes_in += (uint64_t)n;
		int st = emu_record_tls_hello_scan(&c->scan, c->hello, c->hello_len,
						   EMU_TLS_HELLO_MAX - EMU_TLS_RECORD_HDR_LEN);
		if (st == EMU_TLS_HELLO_MORE && c->hello_len == EMU_TLS_HELLO_MAX)
			st = EMU_TLS_HELLO_OVERSIZED;
		if (st == EMU_TLS_HELLO_DONE)
			return hello_setup(c);
		if (st != EMU_TLS_HELLO_MORE)
			return hello_refuse(c, st);
	}
}

void emu_tls_readable(struct emu_server *srv, uint64_t session_id)
{
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, session_id);
	struct emu_tls_conn *c = s ? s->tls : NULL;
	if (!c || (!c->ready && hello_read(c) < 1))
		return;
	if (s->state == EMU_SESS_OPEN) {
		read_app(s);
		return;
	}
	srv->current = s;
	int ret = mbedtls_ssl_handshake(&s->ssl);
	srv->current = NULL;
	if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
		return;
	if (ret != 0) {
		note_alert_received(s, c, ret);
		emu_dtls_send_failure_alert(s, ret);
		emu_dtls_report_failed(s, ret);
		emu_session_close(s, "handshake_failed");
		return;
	}
	s->state = EMU_SESS_OPEN;
	if (emu_dtls_established(s) == 0)
		read_app(s);
}

/* Writes CoAP to the stream whole: Mbed TLS may take it in several
 * records (tls_send waits a bounded time for room). */
static void tls_send_app(struct emu_session *s, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		int ret = mbedtls_ssl_write(&s->ssl, buf, len);
		if (ret <= 0) {
			fprintf(stderr, "lwm2m-emulator: session %llu: TLS write failed (%d)\n",
				(unsigned long long)s->id, ret);
			return;
		}
		buf += ret;
		len -= (size_t)ret;
	}
}

/* The TCP side of closing: out of the loop, then a FIN that does not
 * overtake what was sent. */
static void tls_teardown(struct emu_session *s)
{
	emu_limit_give(s->srv, EMU_LIMIT_TLS_CONNECTIONS, 1);
	if (s->tcp_fd < 0)
		return;
	epoll_ctl(s->srv->epfd, EPOLL_CTL_DEL, s->tcp_fd, NULL);
	emu_tls_close(s, s->alert_sent[0] == MBEDTLS_SSL_ALERT_LEVEL_FATAL);
}

const struct emu_transport emu_transport_tls = {
    .name = "tls",
    .proto = COAP_PROTO_TCP,
    .secure = 1,
    .send = tls_send_app,
    .timer = tls_timer,
    .teardown = tls_teardown,
};
