#include "emu_faults.h"

#include <stdlib.h>
#include <string.h>

#include "emu_server.h"
#include "emu_demux.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

struct emu_delayed {
	int64_t due;
	enum emu_dir dir;
	enum emu_path path;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	size_t len;
	struct emu_delayed *next;
	uint8_t data[];
};

/* Reports a fault that just fired. */
static void applied(struct emu_server *srv, const char *fault, enum emu_dir dir,
		    const struct sockaddr *peer, size_t len, uint32_t left)
{
	char addr[LH_ADDR_STRLEN];
	srv->faults.applied++;
	lh_event_emitf("fault_applied", "{s:s, s:s, s:s, s:I, s:I}", "fault", fault, "direction",
		       dir == EMU_DIR_IN ? "in" : "out", "peer",
		       lh_addr_format(peer, addr, sizeof(addr)), "bytes", (json_int_t)len,
		       "remaining", (json_int_t)left);
}

/* Queues a copy of the datagram, keeping the queue in due order. */
static int enqueue(struct emu_server *srv, enum emu_dir dir, enum emu_path path, const uint8_t *buf,
		   size_t len, const struct sockaddr *peer, socklen_t peer_len)
{
	struct emu_delayed *d = malloc(sizeof(*d) + len);
	if (!d)
		return -1;
	d->due = lh_time_mono_ms() + srv->faults.delay_ms[dir];
	d->dir = dir;
	d->path = path;
	memcpy(&d->peer, peer, peer_len);
	d->peer_len = peer_len;
	d->len = len;
	memcpy(d->data, buf, len);
	struct emu_delayed **p = &srv->faults.queue;
	while (*p && (*p)->due <= d->due)
		p = &(*p)->next;
	d->next = *p;
	*p = d;
	return 0;
}

int emu_faults_filter(struct emu_server *srv, enum emu_dir dir, enum emu_path path,
		      const uint8_t *buf, size_t len, const struct sockaddr *peer,
		      socklen_t peer_len)
{
	struct emu_faults *f = &srv->faults;
	if (f->stopped) {
		applied(srv, "stop_answering", dir, peer, len, 0);
		return 1;
	}
	if (f->drop[dir] > 0) {
		f->drop[dir]--;
		applied(srv, "drop", dir, peer, len, f->drop[dir]);
		return 1;
	}
	if (f->delay[dir] > 0 && enqueue(srv, dir, path, buf, len, peer, peer_len) == 0) {
		f->delay[dir]--;
		applied(srv, "delay", dir, peer, len, f->delay[dir]);
		return 1;
	}
	return 0;
}

int64_t emu_faults_run(struct emu_server *srv, int64_t now)
{
	struct emu_delayed *d;
	while ((d = srv->faults.queue) != NULL && d->due <= now) {
		srv->faults.queue = d->next;
		int fd = d->path == EMU_PATH_COAP ? srv->coap_fd : srv->dtls_fd;
		if (d->dir == EMU_DIR_OUT)
			sendto(fd, d->data, d->len, 0, (struct sockaddr *)&d->peer, d->peer_len);
		else
			emu_demux_route(srv, d->path, d->data, d->len, (struct sockaddr *)&d->peer,
					d->peer_len);
		free(d);
	}
	return srv->faults.queue ? srv->faults.queue->due - now : -1;
}

int emu_faults_rotate_cookie(struct emu_server *srv)
{
	mbedtls_ssl_cookie_free(&srv->cookie);
	mbedtls_ssl_cookie_init(&srv->cookie);
	return mbedtls_ssl_cookie_setup(&srv->cookie, mbedtls_ctr_drbg_random, &srv->drbg) == 0
		   ? 0
		   : -1;
}

void emu_faults_hvr_sent(struct emu_server *srv, const struct sockaddr *peer, size_t len)
{
	if (!srv->faults.rotate_after_hvr)
		return;
	/* One-shot: disarmed before rotating, so a failed rotation is not
	 * retried on every later HelloVerifyRequest. The cookie just sent now
	 * no longer verifies: the client's next ClientHello carries a cookie
	 * made with the old secret, which is what this fault is for. */
	srv->faults.rotate_after_hvr = 0;
	if (emu_faults_rotate_cookie(srv) < 0)
		return;
	applied(srv, "rotate_cookie_secret", EMU_DIR_OUT, peer, len, 0);
}

void emu_faults_fini(struct emu_server *srv)
{
	while (srv->faults.queue) {
		struct emu_delayed *d = srv->faults.queue;
		srv->faults.queue = d->next;
		free(d);
	}
}
