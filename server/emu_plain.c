/* Plain CoAP over UDP: the public socket, one session per peer address, and
 * the idle timer. Everything CoAP happens in the session's CoAP layer
 * (emu_msg.c), exactly as for DTLS sessions; see emu_plain.h. */
#include "emu_plain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "emu_device.h"
#include "emu_server.h"
#include "emu_reload.h"
#include "emu_demux.h"
#include "emu_udp.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

int emu_plain_open(struct emu_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_PLAIN, 0)};
	if (lh_addr_parse(emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->coap_port, &ss, &len) < 0)
		goto err;
	srv->coap_fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->coap_fd < 0 || bind(srv->coap_fd, (struct sockaddr *)&ss, len) < 0 ||
	    getsockname(srv->coap_fd, (struct sockaddr *)&ss, &len) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->coap_fd, &ev) < 0)
		goto err;
	emu_udp_socket_setup(srv->coap_fd, "CoAP");
	return ntohs(((struct sockaddr_in *)&ss)->sin_port); /* v6: same offset */
err:
	fprintf(stderr, "lwm2m-emulator: cannot listen for CoAP on %s port %d: %s\n",
		emu_gen_cfg(srv)->bind, emu_gen_cfg(srv)->coap_port, strerror(errno));
	return -1;
}

void emu_plain_close(struct emu_server *srv)
{
	if (srv->coap_fd >= 0)
		close(srv->coap_fd);
	srv->coap_fd = -1;
}

int emu_plain_is_coap(const uint8_t *buf, size_t len)
{
	return len >= 4 && (buf[0] >> 6) == 1 && (buf[0] & 0x0f) <= 8 &&
	       len >= 4 + (size_t)(buf[0] & 0x0f);
}

/* A request code (class 0, not Empty): only a request may open a session,
 * so stray ACKs, RSTs and pings from unknown addresses cost nothing. */
static int is_request(const uint8_t *buf)
{
	return buf[1] != 0 && (buf[1] >> 5) == 0;
}

/* (Re-)arms the idle timer at due. */
static void arm_idle(struct emu_session *s, int64_t due)
{
	s->timer_gen++;
	s->timer_fin = due;
	if (emu_timers_push(&s->srv->timers, due, s->id, s->timer_gen) < 0)
		fprintf(stderr, "lwm2m-emulator: out of memory for a timer (session %llu)\n",
			(unsigned long long)s->id);
}

/* A session for a new peer; NULL when out of memory. */
static struct emu_session *session_open(struct emu_server *srv, const uint8_t *key, size_t klen,
					const struct sockaddr *peer, socklen_t peer_len)
{
	char addr[LH_ADDR_STRLEN];
	struct emu_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->srv = srv;
	s->tp = &emu_transport_plain;
	s->state = EMU_SESS_OPEN;
	s->tcp_fd = -1;
	memcpy(&s->peer, peer, peer_len);
	s->peer_len = peer_len;
	memcpy(s->addr_key, key, klen);
	s->addr_key_len = klen;
	s->started_ms = s->last_in_ms = lh_time_mono_ms();
	mbedtls_ssl_init(&s->ssl); /* never set up; freeing it is then a no-op */
	emu_sessions_add(&srv->sessions, s);
	srv->plain_sessions++;
	lh_event_emitf("session_opened", "{s:I, s:s, s:s}", "session", (json_int_t)s->id, "peer",
		       lh_addr_format(peer, addr, sizeof(addr)), "transport", "coap");
	arm_idle(s, s->started_ms + (int64_t)emu_gen_cfg(srv)->coap_idle_s * 1000);
	emu_msg_open(s);
	emu_device_session_ready(s);
	return s;
}

void emu_plain_dispatch(struct emu_server *srv, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t from_len)
{
	uint8_t key[EMU_ADDR_KEY_MAX];
	size_t klen = emu_addr_key(from, key);
	if (klen == 0)
		return;
	key[klen++] = EMU_ADDR_KEY_PLAIN_MARK;
	if (!emu_plain_is_coap(buf, len)) {
		emu_demux_drop(srv, from, "malformed_coap", len);
		return;
	}
	struct emu_session *s = emu_sessions_by_key(&srv->sessions, key, klen);
	if (!s && !is_request(buf)) {
		emu_demux_drop(srv, from, "no_coap_session", len);
		return;
	}
	if (!s && srv->plain_sessions >= emu_gen_cfg(srv)->coap_max_sessions) {
		emu_demux_drop(srv, from, "coap_session_limit", len);
		return;
	}
	if (!s && !(s = session_open(srv, key, klen, from, from_len)))
		return;
	s->last_in_ms = lh_time_mono_ms();
	s->bytes_in += len;
	emu_msg_input(s, buf, len);
}

/* Sends CoAP to the session's peer (through the faults). */
static void plain_send(struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_server *srv = s->srv;
	if (emu_faults_filter(srv, EMU_DIR_OUT, EMU_PATH_COAP, buf, len,
			      (struct sockaddr *)&s->peer, s->peer_len))
		return;
	lh_event_flush(); /* what led to this datagram is logged before a peer sees it */
	ssize_t n = sendto(srv->coap_fd, buf, len, 0, (struct sockaddr *)&s->peer, s->peer_len);
	if (n < 0) {
		fprintf(stderr, "lwm2m-emulator: session %llu: send: %s\n",
			(unsigned long long)s->id, strerror(errno));
		return;
	}
	s->bytes_out += (uint64_t)n;
}

/* The session's idle timer popped: closes it or re-arms the timer. */
static void plain_timer(struct emu_session *s)
{
	int64_t now = lh_time_mono_ms();
	int64_t idle_ms = (int64_t)emu_gen_cfg(s->srv)->coap_idle_s * 1000;
	if (now < s->last_in_ms + idle_ms) {
		arm_idle(s, s->last_in_ms + idle_ms);
		return;
	}
	if (emu_device_of(s)) {
		arm_idle(s, now + idle_ms);
		return;
	}
	emu_session_close(s, "idle");
}

/* A plain session holds one slot of $.coap.max_sessions. */
static void plain_teardown(struct emu_session *s)
{
	s->srv->plain_sessions--;
}

const struct emu_transport emu_transport_plain = {
    .name = "coap",
    .proto = COAP_PROTO_UDP,
    .secure = 0,
    .send = plain_send,
    .timer = plain_timer,
    .teardown = plain_teardown,
};
