/* The CoAP bridge: each established DTLS session (and each plain CoAP
 * peer) gets its own loopback UDP socket connected to the in-process libcoap
 * endpoint, so libcoap sees one stable peer per session (even when the
 * client's NAT address changes) and the LwM2M handlers find the session
 * again by that socket's port. */
#include "emu_server.h"
#include "emu_lwm2m.h"
#include "emu_plain.h"
#include "lh_event.h"
#include "lh_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define EMU_DGRAM_MAX 16384

int emu_bridge_open(struct emu_session *s)
{
	struct emu_server *srv = s->srv;
	struct sockaddr_in local = {.sin_family = AF_INET,
				    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t llen = sizeof(local);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_BRIDGE, s->id)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto err;
	if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0 ||
	    connect(fd, (struct sockaddr *)&srv->bridge_addr, sizeof(srv->bridge_addr)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		goto err;
	s->bridge_fd = fd;
	s->bridge_port = ntohs(local.sin_port);
	emu_sessions_index_port(&srv->sessions, s);
	return 0;
err:
	fprintf(stderr, "lwm2m-emulator: session %llu: bridge socket: %s\n",
		(unsigned long long)s->id, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

void emu_bridge_close(struct emu_session *s)
{
	emu_dedup_free(&s->dedup);
	if (s->coap_session)
		coap_session_release(s->coap_session);
	s->coap_session = NULL;
	if (s->bridge_fd < 0)
		return;
	epoll_ctl(s->srv->epfd, EPOLL_CTL_DEL, s->bridge_fd, NULL);
	close(s->bridge_fd);
	s->bridge_fd = -1;
}

/* CoAP from libcoap to the peer: encrypted, or as it is for plain CoAP. */
static void send_to_peer(struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (s->plain)
		emu_plain_send(s, buf, len);
	else
		emu_dtls_send_app(s, buf, len);
}

void emu_bridge_forward(struct emu_session *s, const uint8_t *buf, size_t len)
{
	if (s->bridge_fd < 0)
		return;
	const uint8_t *ack = NULL;
	size_t ack_len = 0;
	/* RFC 7252 §4.5: a retransmitted CON gets the same ACK, not a second run. */
	enum emu_dedup_verdict v =
	    s->tcp ? EMU_DEDUP_NEW
		   : emu_dedup_request(&s->dedup, buf, len, lh_time_mono_ms(), &ack, &ack_len);
	if (v != EMU_DEDUP_NEW) {
		lh_event_emitf("coap_duplicate", "{s:I, s:i, s:b}", "session", (json_int_t)s->id,
			       "mid", (int)(len >= 4 ? (buf[2] << 8 | buf[3]) : 0), "replayed",
			       v == EMU_DEDUP_REPLAY);
		if (v == EMU_DEDUP_REPLAY)
			send_to_peer(s, ack, ack_len);
		return;
	}
	emu_lwm2m_prepare(s->srv, buf, len);
	if (send(s->bridge_fd, buf, len, 0) < 0)
		fprintf(stderr, "lwm2m-emulator: session %llu: bridge send: %s\n",
			(unsigned long long)s->id, strerror(errno));
}

void emu_bridge_readable(struct emu_server *srv, uint64_t session_id)
{
	static uint8_t buf[EMU_DGRAM_MAX];
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, session_id);
	if (!s)
		return;
	for (;;) {
		ssize_t n = recv(s->bridge_fd, buf, sizeof(buf), 0);
		if (n <= 0)
			return;
		if (!s->tcp)
			emu_dedup_response(&s->dedup, buf, (size_t)n);
		send_to_peer(s, buf, (size_t)n);
	}
}
