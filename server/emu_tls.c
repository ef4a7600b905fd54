/* CoAP over TLS over TCP (RFC 8323): a TCP listener; each connection gets
 * an Mbed TLS stream context (same PSKs, certificate, CA and resumption as
 * DTLS) and a loopback TCP bridge to libcoap's TCP endpoint, which does the
 * RFC 8323 framing and signalling. Sessions share the DTLS session table,
 * events and control commands. */
#include "emu_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <mbedtls/error.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "emu_keylog.h"
#include "emu_record.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

#define EMU_TLS_BUF 16384
#define EMU_TLS_SEND_WAIT_MS 1000
#define EMU_TLS_LINGER_MS 200

/* TLS output: the socket is non-blocking; a full buffer waits a bounded
 * time rather than dropping bytes of a stream. */
static int tls_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct emu_session *s = ctx;
	int level, desc;
	/* Remember the first alert this side sends, for handshake_failed. */
	if (s->alert_sent[0] == 0 && emu_record_tls_alert(buf, len, &level, &desc) == 0) {
		s->alert_sent[0] = level;
		s->alert_sent[1] = desc;
	}
	ssize_t n = send(s->tcp_fd, buf, len, MSG_NOSIGNAL);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		struct pollfd p = {.fd = s->tcp_fd, .events = POLLOUT};
		if (poll(&p, 1, EMU_TLS_SEND_WAIT_MS) == 1)
			n = send(s->tcp_fd, buf, len, MSG_NOSIGNAL);
	}
	if (n < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_WRITE
				       : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	s->bytes_out += (uint64_t)n;
	return (int)n;
}

/* Closing a TCP socket with unread input sends a RST instead of a FIN, and
 * the RST can hit the client while it still writes its flight, which then
 * fails with ECONNRESET before it ever reads our alert. So: FIN after what
 * was sent (SHUT_WR), read and discard the peer's input, and after a fatal
 * alert wait a bounded time for the peer to close first; then close. */
void emu_tls_close_fd(int fd, int after_alert)
{
	uint8_t buf[4096];
	int64_t deadline = lh_time_mono_ms() + (after_alert ? EMU_TLS_LINGER_MS : 0);
	if (shutdown(fd, SHUT_WR) == 0) {
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			int64_t left = deadline - lh_time_mono_ms();
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
				break;
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (n < 0 && (left <= 0 || poll(&p, 1, (int)left) <= 0))
				break;
			if (n > 0 && left <= 0 && !after_alert)
				break;
		}
	}
	close(fd);
}

/* TLS input straight from the socket. */
static int tls_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct emu_session *s = ctx;
	ssize_t n = recv(s->tcp_fd, buf, len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (n < 0)
		return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	if (n == 0)
		return MBEDTLS_ERR_SSL_CONN_EOF;
	s->bytes_in += (uint64_t)n;
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
	else if (srv->cfg->ciphersuites[0])
		mbedtls_ssl_conf_ciphersuites(conf, srv->cfg->ciphersuites);
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
	if (lh_addr_parse(srv->cfg->bind, srv->cfg->tls_port, &ss, &len) < 0)
		return -1;
	srv->tls_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->tls_fd < 0 ||
	    setsockopt(srv->tls_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(srv->tls_fd, (struct sockaddr *)&ss, len) < 0 || listen(srv->tls_fd, 128) < 0 ||
	    getsockname(srv->tls_fd, (struct sockaddr *)&ss, &len) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->tls_fd, &ev) < 0) {
		if (errno == EADDRINUSE && !srv->cfg->tls_port_given) {
			lh_event_emitf("listen_skipped", "{s:s, s:i, s:s}", "proto", "tls", "port",
				       srv->cfg->tls_port, "reason", "port in use (default port)");
			close(srv->tls_fd);
			srv->tls_fd = -1;
			return 0;
		}
		fprintf(stderr, "lwm2m-emulator: cannot listen for TLS on %s port %d: %s\n",
			srv->cfg->bind, srv->cfg->tls_port, strerror(errno));
		return -1;
	}
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

int emu_tls_init(struct emu_server *srv)
{
	char text[128];
	mbedtls_ssl_config_init(&srv->tls_conf);
	srv->tls_fd = -1;
	if (srv->cfg->tls_port == EMU_PORT_OFF)
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
	mbedtls_ssl_config_free(&srv->tls_conf);
}

/* The loopback TCP connection to libcoap's TCP endpoint. */
static int open_bridge(struct emu_session *s)
{
	struct emu_server *srv = s->srv;
	struct sockaddr_in local;
	socklen_t llen = sizeof(local);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_BRIDGE, s->id)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* Loopback connect completes at once; the socket is non-blocking after. */
	if (connect(fd, (struct sockaddr *)&srv->tcp_bridge_addr, sizeof(srv->tcp_bridge_addr)) <
		0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	s->bridge_fd = fd;
	s->bridge_port = ntohs(local.sin_port);
	emu_sessions_index_port(&srv->sessions, s);
	return 0;
}

/* Accepts one connection and sets its TLS context up. */
static void accept_one(struct emu_server *srv, int fd, const struct sockaddr *peer, socklen_t plen)
{
	struct emu_session *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};
	char addr[LH_ADDR_STRLEN];
	if (!s) {
		close(fd);
		return;
	}
	s->srv = srv;
	s->tcp = 1;
	s->tcp_fd = fd;
	s->bridge_fd = -1;
	s->cookie_verified = 0; /* no cookies in TLS; TCP validated the address */
	memcpy(&s->peer, peer, plen);
	s->peer_len = plen;
	s->addr_key_len = emu_addr_key(peer, s->addr_key);
	s->addr_key[s->addr_key_len++] = EMU_ADDR_KEY_TCP_MARK;
	s->started_ms = lh_time_mono_ms();
	mbedtls_ssl_init(&s->ssl);
	emu_sessions_add(&srv->sessions, s);
	ev.data.u64 = EMU_FD_TAG(EMU_FD_TLS_CONN, s->id);
	/* The default vhost's config of the current generation; the SNI
	 * callback moves the handshake to a named vhost's (emu_vhost.c). */
	emu_gen_hold(s);
	if (mbedtls_ssl_setup(&s->ssl, emu_gen_tls_conf(srv)) != 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		emu_dtls_close(s, "setup_failed");
		return;
	}
	mbedtls_ssl_set_user_data_p(&s->ssl, s);
	mbedtls_ssl_set_bio(&s->ssl, s, tls_send, tls_recv, NULL);
	emu_keylog_attach(&s->ssl);
	lh_event_emitf("handshake_started", "{s:I, s:s, s:s, s:b}", "session", (json_int_t)s->id,
		       "peer", lh_addr_format(peer, addr, sizeof(addr)), "transport", "tls",
		       "cookie_verified", 0);
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

/* Relays decrypted bytes to libcoap; -1 when the session was closed. */
static int read_app(struct emu_session *s)
{
	static uint8_t buf[EMU_TLS_BUF];
	for (;;) {
		int ret = mbedtls_ssl_read(&s->ssl, buf, sizeof(buf));
		if (ret > 0) {
			if (send(s->bridge_fd, buf, (size_t)ret, MSG_NOSIGNAL) != ret) {
				emu_dtls_close(s, "bridge_failed");
				return -1;
			}
			continue;
		}
		if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
			return 0;
		emu_dtls_close(s, ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ? "close_notify"
				  : ret == MBEDTLS_ERR_SSL_CONN_EOF	   ? "tcp_closed"
									   : "tls_error");
		return -1;
	}
}

/* A fatal alert from the peer: the stream arrives in arbitrary pieces, so
 * the alert is read where Mbed TLS parsed it (its current message), which
 * holds level and description when it returned FATAL_ALERT_MESSAGE. */
static void note_alert_received(struct emu_session *s, int ret)
{
	const unsigned char *msg = s->ssl.MBEDTLS_PRIVATE(in_msg);
	if (ret != MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE || !msg ||
	    s->ssl.MBEDTLS_PRIVATE(in_msgtype) != EMU_CT_ALERT)
		return;
	s->alert_recv[0] = msg[0];
	s->alert_recv[1] = msg[1];
}

void emu_tls_readable(struct emu_server *srv, uint64_t session_id)
{
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, session_id);
	if (!s)
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
		note_alert_received(s, ret);
		emu_dtls_send_failure_alert(s, ret);
		emu_dtls_report_failed(s, ret);
		emu_dtls_close(s, "handshake_failed");
		return;
	}
	s->state = EMU_SESS_OPEN;
	emu_dtls_report_done(s);
	if (open_bridge(s) < 0) {
		emu_dtls_close(s, "bridge_failed");
		return;
	}
	read_app(s);
}
