/* fl_net: the fleet's sockets and the loop's input (see fl_fleet.h). Each
 * epoll entry carries a 64-bit tag: the kind (a device's own socket, a pool
 * socket) and an index, never a pointer. A pool socket receives for many
 * devices: the record's CID (the device's own, FL_CID_LEN bytes) names the
 * device, whose context is restored if it was hibernated. */
#include "fl_fleet.h"
#include "bl_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define TAG_OWN 0ULL
#define TAG_POOL 1ULL
#define TAG(kind, i) ((kind) << 32 | (uint64_t)(i))
#define REC_CID 25	      /* tls12_cid (RFC 9146) */
#define REC_HDR_CID 11	      /* type, version, epoch, sequence: the CID follows */
#define POOL_BURST 64	      /* datagrams read from one pool socket per wakeup */
#define POOL_RCVBUF (4 << 20) /* bursts of answers must not overflow it */

/* Adds fd to the loop under tag; -1 with errno. */
static int watch(struct fl_fleet *f, int fd, uint64_t tag)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
	return epoll_ctl(f->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The source for slot idx of base. On IPv4 loopback every per slots take
 * the next address (base + idx / per) and, with fixed_port, slot idx keeps
 * port BL_PARK_PORT0 + idx % per, so no later device reuses an address the
 * server may still hold a session for (it would take that for a client
 * restart and close it): a million devices need ~50 addresses. Anywhere
 * else the host has one address to send from: the given one, or (none
 * given) the wildcard, so the kernel's route picks it, with a port the
 * kernel picks. Returns the length to bind, 0 for no bind at all. */
static socklen_t src_for(const struct fl_addr *base, uint32_t per, uint32_t idx, int fixed_port,
			 struct sockaddr_storage *src)
{
	if (!base->len)
		return 0;
	*src = base->ss;
	if (fl_addr_is_v4_loopback(base)) {
		struct sockaddr_in *in = (struct sockaddr_in *)src;
		in->sin_addr.s_addr = htonl(ntohl(in->sin_addr.s_addr) + idx / per);
		in->sin_port = fixed_port ? htons((uint16_t)(BL_PARK_PORT0 + idx % per)) : 0;
	}
	return base->len;
}

/* A UDP socket of the server's family from slot idx of base (src_for),
 * connected to the server when connected is set. -1 with errno. */
static int udp_open(const struct fl_opts *o, const struct fl_addr *base, uint32_t per, uint32_t idx,
		    int connected)
{
	struct sockaddr_storage src;
	socklen_t slen = src_for(base, per, idx, connected, &src);
	return bl_udp_socket((struct sockaddr *)&src, slen,
			     connected ? (const struct sockaddr *)&o->server.ss : NULL,
			     o->server.len, o->server.ss.ss_family);
}

/* See fl_fleet.h. */
int fl_net_probe(const struct fl_opts *o)
{
	int fd = udp_open(o, &o->src_base, o->per_addr, 0, 1);
	if (fd < 0)
		return -1;
	close(fd);
	if (!o->cid)
		return 0;
	fd = udp_open(o, &o->pool_base, 1, 0, 0);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* The epoll set and, with CID, the pool: one socket per pool slot (its own
 * 127.x address on IPv4 loopback), unconnected, sending with sendto. */
int fl_net_init(struct fl_fleet *f)
{
	int rcvbuf = POOL_RCVBUF;
	f->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (f->epfd < 0)
		return -1;
	if (!f->o.cid)
		return 0;
	f->pool_fd = calloc(f->o.pool_n, sizeof(*f->pool_fd));
	if (!f->pool_fd)
		return -1;
	for (uint32_t i = 0; i < f->o.pool_n; i++)
		f->pool_fd[i] = -1;
	for (uint32_t i = 0; i < f->o.pool_n; i++) {
		int fd = udp_open(&f->o, &f->o.pool_base, 1, i, 0);
		if (fd < 0)
			return -1;
		f->pool_fd[i] = fd;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
		if (watch(f, fd, TAG(TAG_POOL, i)) < 0)
			return -1;
	}
	return 0;
}

/* Closes the pool and the epoll set (devices are dropped by the caller). */
void fl_net_free(struct fl_fleet *f)
{
	for (uint32_t i = 0; f->pool_fd && i < f->o.pool_n; i++)
		if (f->pool_fd[i] >= 0)
			close(f->pool_fd[i]);
	free(f->pool_fd);
	f->pool_fd = NULL;
	if (f->epfd >= 0)
		close(f->epfd);
	f->epfd = -1;
}

/* See fl_fleet.h: the device's own source (src_for), connected. */
int fl_net_own_socket(struct fl_fleet *f, struct fl_dev *d)
{
	int e, fd = udp_open(&f->o, &f->o.src_base, f->o.per_addr, d->idx, 1);
	if (fd < 0)
		return -1;
	if (watch(f, fd, TAG(TAG_OWN, d->idx)) < 0) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	d->fd = fd;
	return 0;
}

/* See fl_fleet.h. */
void fl_net_close_own(struct fl_fleet *f, struct fl_dev *d)
{
	if (d->fd < 0)
		return;
	epoll_ctl(f->epfd, EPOLL_CTL_DEL, d->fd, NULL);
	close(d->fd);
	d->fd = -1;
}

/* The device a record on a pool socket is for: by our own CID. NULL for
 * anything else (a record without CID, a CID we never gave out, another
 * sender than the server). */
static struct fl_dev *by_cid(struct fl_fleet *f, const uint8_t *buf, size_t len,
			     const struct sockaddr_storage *from, socklen_t flen)
{
	uint32_t v = 0;
	if (len < REC_HDR_CID + FL_CID_LEN || buf[0] != REC_CID ||
	    !fl_addr_equal(&f->o.server, (const struct sockaddr *)from, flen))
		return NULL;
	for (int i = 0; i < FL_CID_LEN; i++)
		v = v << 8 | buf[REC_HDR_CID + i];
	if (v == 0 || v > f->o.n)
		return NULL;
	return &f->devs[v - 1];
}

/* Up to POOL_BURST datagrams from pool socket i, each to its device. */
static void pool_readable(struct fl_fleet *f, uint32_t i)
{
	uint8_t buf[2048];
	for (int k = 0; k < POOL_BURST; k++) {
		struct sockaddr_storage from;
		socklen_t flen = sizeof(from);
		ssize_t n =
		    recvfrom(f->pool_fd[i], buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		struct fl_dev *d;
		if (n < 0)
			return;
		d = by_cid(f, buf, (size_t)n, &from, flen);
		if (!d) {
			f->c.unmatched++;
			continue;
		}
		f->rx_buf = buf;
		f->rx_len = (size_t)n;
		fl_dev_readable(f, d);
		f->rx_buf = NULL;
	}
}

/* See fl_fleet.h: one epoll_wait and what it reported. */
void fl_net_poll(struct fl_fleet *f, int timeout_ms)
{
	struct epoll_event ev[256];
	int n = epoll_wait(f->epfd, ev, 256, timeout_ms);
	for (int i = 0; i < n; i++) {
		uint64_t tag = ev[i].data.u64;
		uint32_t idx = (uint32_t)tag;
		if (tag >> 32 == TAG_POOL)
			pool_readable(f, idx);
		else if (idx < f->o.n && f->devs[idx].fd >= 0)
			fl_dev_readable(f, &f->devs[idx]);
	}
}

/* See fl_fleet.h: O(1), the array keeps each device's position. */
void fl_active_add(struct fl_fleet *f, struct fl_dev *d)
{
	if (d->active_pos != FL_NO_POS)
		return;
	d->active_pos = f->n_active;
	f->active[f->n_active++] = d->idx;
}

/* See fl_fleet.h: the last entry takes the freed place. */
void fl_active_del(struct fl_fleet *f, struct fl_dev *d)
{
	uint32_t pos = d->active_pos, last;
	if (pos == FL_NO_POS)
		return;
	last = f->active[--f->n_active];
	f->active[pos] = last;
	f->devs[last].active_pos = pos;
	d->active_pos = FL_NO_POS;
}
