/* The public UDP socket: every datagram is routed in O(1) to its session by
 * CID (record type 25) or by peer address; the rest goes to the stateless
 * cookie exchange, which allocates nothing. */
#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_demux.h"

#include <errno.h>
#include <string.h>

#include "emu_plain.h"
#include "emu_record.h"
#include "emu_udp.h"
#include "lh_addr.h"
#include "lh_event.h"

#define EMU_READS_PER_WAKEUP 64

void emu_demux_drop(struct emu_server *srv, const struct sockaddr *peer, const char *reason,
		    size_t bytes)
{
	char addr[LH_ADDR_STRLEN];
	srv->stats.records_dropped++;
	lh_event_emitf("record_dropped", "{s:s, s:s, s:I}", "peer",
		       lh_addr_format(peer, addr, sizeof(addr)), "reason", reason, "bytes",
		       (json_int_t)bytes);
}

/* True when the datagram starts with an epoch-0 ClientHello that starts a
 * handshake of its own, not the one s is in: any on an open session; on a
 * session still in its handshake, one with another random (the one that
 * set it up, retransmitted, stays with it). A device that reboots in the
 * middle of a handshake comes back from the same address and port: its
 * new ClientHello must not be fed to the half-open handshake, whose Mbed
 * TLS context drops it as an old message until that handshake times out. */
static int restarts(const struct emu_session *s, const uint8_t *buf, size_t len)
{
	struct emu_record rec;
	struct emu_client_hello ch;
	if (emu_record_parse(buf, len, 0, &rec) < 0 || emu_record_client_hello(&rec, &ch) < 0)
		return 0;
	return s->state == EMU_SESS_OPEN ||
	       memcmp(s->hello_random, ch.random, sizeof(s->hello_random)) != 0;
}

/* A tls12_cid record: find the session by the CID this server assigned. */
static void dispatch_cid(struct emu_server *srv, const uint8_t *buf, size_t len,
			 const struct sockaddr *from, socklen_t from_len)
{
	int known = emu_vhost_cid_len(srv, buf + 11, len > 11 ? len - 11 : 0);
	size_t cid_len = known < 0 ? 0 : (size_t)known;
	struct emu_session *s;
	if (len < EMU_RECORD_HDR_LEN + cid_len) {
		emu_demux_drop(srv, from, "truncated_record", len);
		return;
	}
	s = known < 0 ? NULL : emu_sessions_by_cid(&srv->sessions, buf + 11, cid_len);
	if (!s && known >= 0 && emu_hib_route_cid(srv, buf + 11, cid_len, buf, len, from, from_len))
		return;
	if (!s) {
		emu_demux_drop(srv, from, "unknown_cid", len);
		return;
	}
	uint8_t key[EMU_ADDR_KEY_MAX];
	size_t klen = emu_addr_key(from, key);
	if (klen == s->addr_key_len && memcmp(key, s->addr_key, klen) == 0)
		emu_dtls_input(s, buf, len);
	else
		emu_dtls_input_moved(s, buf, len, from, from_len);
}

void emu_demux_dispatch(struct emu_server *srv, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t from_len)
{
	if (len > 0 && buf[0] == EMU_CT_TLS12_CID && srv->cid_any) {
		dispatch_cid(srv, buf, len, from, from_len);
		return;
	}
	struct emu_session *s = emu_sessions_by_addr(&srv->sessions, from);
	/* A fresh ClientHello on a session's address is a client that
	 * restarted (RFC 6347 §4.2.8): it goes through the cookie again, and
	 * only a verified one replaces the session (emu_dtls_new_peer). */
	if (s && !restarts(s, buf, len)) {
		emu_dtls_input(s, buf, len);
		return;
	}
	if (!s && emu_hib_route_addr(srv, buf, len, from, from_len))
		return;
	emu_dtls_new_peer(srv, buf, len, from, from_len);
}

void emu_demux_route(struct emu_server *srv, enum emu_path path, const uint8_t *buf, size_t len,
		     const struct sockaddr *from, socklen_t from_len)
{
	if (path == EMU_PATH_COAP)
		emu_plain_dispatch(srv, buf, len, from, from_len);
	else
		emu_demux_dispatch(srv, buf, len, from, from_len);
}

/* One datagram of a batch: counted, checked for size, passed through the
 * faults, routed. */
static void demux_one(struct emu_server *srv, void *ctx, const uint8_t *buf, size_t len, size_t cap,
		      const struct sockaddr *from, socklen_t from_len)
{
	enum emu_path path = *(const enum emu_path *)ctx;
	srv->stats.datagrams_in++;
	if (len > cap) {
		emu_demux_drop(srv, from, "oversized_datagram", len);
		return;
	}
	if (emu_faults_filter(srv, EMU_DIR_IN, path, buf, len, from, from_len))
		return;
	emu_demux_route(srv, path, buf, len, from, from_len);
}

void emu_demux_readable(struct emu_server *srv, enum emu_path path)
{
	int fd = path == EMU_PATH_COAP ? srv->coap_fd : srv->dtls_fd;
	/* Bounded per wakeup, so one busy socket cannot starve the others. */
	for (int read = 0; read < EMU_READS_PER_WAKEUP;) {
		int n = emu_udp_read_batch(srv, fd, demux_one, &path);
		if (n == 0)
			return;
		read += n;
	}
}
