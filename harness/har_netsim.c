#include "har_netsim.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lh_addr.h"
#include "lh_time.h"

/* How long a reordered datagram waits at most for a successor. */
#define REORDER_HOLD_MS 200
#define DGRAM_MAX 65535

static const char *const dir_names[2] = {"c2s", "s2c"};

/* Names the DTLS record type of a datagram's first record, for events. */
static const char *record_name(const unsigned char *d, size_t len)
{
	if (len == 0)
		return "empty";
	switch (d[0]) {
	case 20:
		return "change_cipher_spec";
	case 21:
		return "alert";
	case 22:
		return "handshake";
	case 23:
		return "application_data";
	case 25:
		return "tls12_cid";
	default:
		return "other";
	}
}

/* Text of an IPv4 address for events. */
static const char *addr_text(const struct sockaddr_in *a, char *buf)
{
	return lh_addr_format((const struct sockaddr *)a, buf, LH_ADDR_STRLEN);
}

/* One "netsim" event per decision about a datagram. */
static void note(struct har_netsim *ns, int dir, const char *action, unsigned flow,
		 const unsigned char *d, size_t len, const char *reason, int delay_ms)
{
	json_t *ev = json_pack("{s:f, s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "ts", lh_time_wall(),
			       "src", "netsim", "event", "datagram", "dir", dir_names[dir],
			       "action", action, "flow", (json_int_t)flow, "bytes", (json_int_t)len,
			       "record", record_name(d, len));
	if (reason)
		json_object_set_new(ev, "reason", json_string(reason));
	if (delay_ms > 0)
		json_object_set_new(ev, "delay_ms", json_integer(delay_ms));
	/* The address the server sees for this flow, to match its "peer". */
	for (size_t i = 0; i < ns->nat.n; i++) {
		char a[LH_ADDR_STRLEN];
		if (ns->nat.flows[i].id == flow)
			json_object_set_new(ev, "outside",
					    json_string(addr_text(&ns->nat.flows[i].outside, a)));
	}
	har_timeline_add(ns->tl, ev);
}

/* Other netsim events (rebind, blackhole, port_closed, ...). */
static void note_change(struct har_netsim *ns, const char *event, json_t *fields)
{
	json_t *ev =
	    json_pack("{s:f, s:s, s:s}", "ts", lh_time_wall(), "src", "netsim", "event", event);
	json_object_update(ev, fields);
	json_decref(fields);
	har_timeline_add(ns->tl, ev);
}

/* Ports tried for a UDP+TCP front pair before giving up. */
#define OPEN_TCP_ATTEMPTS 32

/* A non-blocking UDP socket bound to addr (port 0 = ephemeral); the bound
 * address is written back. Returns the fd or -1. */
static int udp_bind(struct sockaddr_in *addr)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*addr);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)addr, sizeof(*addr)) != 0 ||
	    getsockname(fd, (struct sockaddr *)addr, &len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The relay starts before the shim, so the client only ever knows its address. */
int har_netsim_open(struct har_netsim *ns, const char *server, uint64_t seed, const char *pcap_path,
		    struct har_timeline *tl, char *err, size_t errlen)
{
	memset(ns, 0, sizeof(*ns));
	ns->front_fd = -1;
	ns->spoof_fd = -1;
	ns->tl = tl;
	har_nat_init(&ns->nat);
	har_rng_seed(&ns->rng, seed);
	if (har_netsim_set_server(ns, server, err, errlen) != 0)
		return -1;
	ns->front.sin_family = AF_INET;
	ns->front.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ns->front_fd = udp_bind(&ns->front)) < 0) {
		snprintf(err, errlen, "cannot open the relay socket: %s", strerror(errno));
		return -1;
	}
	if (pcap_path && !(ns->pcap = har_pcap_open(pcap_path, err, errlen))) {
		har_netsim_close(ns);
		return -1;
	}
	return 0;
}

/* After an emulator restart the relay forwards to its address again. */
int har_netsim_set_server(struct har_netsim *ns, const char *server, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (lh_addr_parse(server, 0, &ss, &sslen) != 0 || ss.ss_family != AF_INET) {
		snprintf(err, errlen, "the emulator's address %s is not IPv4 host:port", server);
		return -1;
	}
	memcpy(&ns->server, &ss, sizeof(ns->server));
	return 0;
}

/* TLS clients use the same host:port as DTLS ones, just over TCP. The UDP
 * port was free, but some TCP socket (another job's connection) may hold
 * the same number: then the front moves to a new ephemeral UDP port and the
 * pair is tried again. The shim is not configured yet, so nobody knows the
 * old port. */
int har_netsim_open_tcp(struct har_netsim *ns, const char *tls_server, char *err, size_t errlen)
{
	for (int attempt = 0; attempt < OPEN_TCP_ATTEMPTS; attempt++) {
		if (har_tcprelay_open(&ns->tcp, ntohs(ns->front.sin_port), tls_server, ns->tl,
				      ns->pcap, err, errlen) == 0) {
			ns->tcp_open = 1;
			return 0;
		}
		if (errno != EADDRINUSE)
			return -1;
		struct sockaddr_in a = {.sin_family = AF_INET};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		int fd = udp_bind(&a);
		if (fd < 0) {
			snprintf(err, errlen, "cannot open the relay socket: %s", strerror(errno));
			return -1;
		}
		close(ns->front_fd);
		ns->front_fd = fd;
		ns->front = a;
	}
	return -1;
}

/* The shim is configured with this as its server address. */
void har_netsim_front_text(const struct har_netsim *ns, char *out, size_t size)
{
	char buf[LH_ADDR_STRLEN];
	snprintf(out, size, "%s", addr_text(&ns->front, buf));
}

/* The runner polls the relay together with the processes' pipes. */
int har_netsim_pollfds(const struct har_netsim *ns, struct pollfd *fds, int max)
{
	int n = 0;
	if (ns->front_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ns->front_fd, POLLIN, 0};
	for (size_t i = 0; i < ns->nat.n && n < max; i++)
		fds[n++] = (struct pollfd){ns->nat.flows[i].fd, POLLIN, 0};
	if (ns->spoof_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ns->spoof_fd, POLLIN, 0};
	if (ns->tcp_open)
		n += har_tcprelay_pollfds(&ns->tcp, fds + n, max - n);
	return n;
}

/* A spoof step re-sends what the client last sent, so it is kept. */
static void keep_last_c2s(struct har_netsim *ns, const unsigned char *d, size_t len)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (!copy)
		return; /* the previous copy stays: still a genuine client record */
	memcpy(copy, d, len);
	free(ns->last_c2s);
	ns->last_c2s = copy;
	ns->last_c2s_len = len;
}

/* Sends one datagram on the wire now, and logs and captures it. */
static void transmit(struct har_netsim *ns, int dir, unsigned flow_id, const unsigned char *d,
		     size_t len, const char *action, int delay_ms)
{
	struct har_nat_flow *f = NULL;
	for (size_t i = 0; i < ns->nat.n; i++)
		if (ns->nat.flows[i].id == flow_id)
			f = &ns->nat.flows[i];
	if (!f || (dir == HAR_NS_S2C && ns->front_fd < 0)) {
		note(ns, dir, "drop", flow_id, d, len, f ? "port_closed" : "flow_gone", 0);
		return;
	}
	int fd = dir == HAR_NS_C2S ? f->fd : ns->front_fd;
	const struct sockaddr_in *to = dir == HAR_NS_C2S ? &ns->server : &f->client;
	if (sendto(fd, d, len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		note(ns, dir, "drop", flow_id, d, len, strerror(errno), 0);
		return;
	}
	note(ns, dir, action, flow_id, d, len, NULL, delay_ms);
	if (dir == HAR_NS_C2S)
		keep_last_c2s(ns, d, len);
	if (dir == HAR_NS_C2S)
		har_pcap_write(ns->pcap, &f->outside, &ns->server, d, len);
	else
		har_pcap_write(ns->pcap, &ns->server, &f->outside, d, len);
}

/* Puts a datagram in the delay queue (or, if the queue is full, drops it). */
static void enqueue(struct har_netsim *ns, int dir, unsigned flow, const unsigned char *d,
		    size_t len, int delay_ms, int held, int dup)
{
	unsigned char *copy = malloc(len ? len : 1);
	if (ns->nq == HAR_NS_QUEUE_MAX || !copy) {
		free(copy);
		note(ns, dir, "drop", flow, d, len, "queue_full", 0);
		return;
	}
	memcpy(copy, d, len);
	ns->queue[ns->nq++] =
	    (struct har_ns_pkt){lh_time_mono_ms() + delay_ms, dir, flow, held, len, copy};
	/* A queued duplicate says so now: when it leaves it is an ordinary send. */
	const char *why =
	    held ? (dup ? "reorder,duplicate" : "reorder") : (dup ? "duplicate" : NULL);
	note(ns, dir, held ? "hold" : "delay", flow, d, len, why, delay_ms);
}

/* Sends and removes queue entry i. */
static void dequeue(struct har_netsim *ns, size_t i, const char *action)
{
	struct har_ns_pkt p = ns->queue[i];
	memmove(&ns->queue[i], &ns->queue[i + 1], (ns->nq - i - 1) * sizeof(p));
	ns->nq--;
	transmit(ns, p.dir, p.flow, p.data, p.len, action, 0);
	free(p.data);
}

/* A reordered datagram goes out right after the next one in its direction. */
static void release_held(struct har_netsim *ns, int dir)
{
	for (size_t i = 0; i < ns->nq; i++) {
		if (ns->queue[i].held && ns->queue[i].dir == dir) {
			dequeue(ns, i, "forward_reordered");
			return;
		}
	}
}

/* True when a datagram of this direction is being held for reordering. */
static int holding(const struct har_netsim *ns, int dir)
{
	for (size_t i = 0; i < ns->nq; i++)
		if (ns->queue[i].held && ns->queue[i].dir == dir)
			return 1;
	return 0;
}

/* Decides one copy's fate: held back, delayed or sent now. */
static void route_copy(struct har_netsim *ns, int dir, unsigned flow, const unsigned char *d,
		       size_t len, const char *action)
{
	const struct har_ns_profile *p = &ns->prof[dir];
	int delay = p->delay_ms;
	if (p->jitter_ms > 0)
		delay += (int)(har_rng_unit(&ns->rng) * (p->jitter_ms + 1));
	int dup = strcmp(action, "duplicate") == 0;
	if (!holding(ns, dir) && har_rng_chance(&ns->rng, p->reorder)) {
		enqueue(ns, dir, flow, d, len, delay + REORDER_HOLD_MS, 1, dup);
		return;
	}
	if (delay > 0) {
		enqueue(ns, dir, flow, d, len, delay, 0, dup);
		return;
	}
	transmit(ns, dir, flow, d, len, action, 0);
	release_held(ns, dir);
}

long har_netsim_corrupt_tail(unsigned char *d, size_t len, struct har_rng *rng)
{
	if (len == 0)
		return -1;
	size_t span = len < 8 ? len : 8;
	size_t off = len - 1 - (size_t)(har_rng_next(rng) % span);
	/* 1..255: the byte always changes, so the record never authenticates. */
	d[off] ^= (unsigned char)(1 + har_rng_next(rng) % 255);
	return (long)off;
}

/* A pending corrupt step alters this datagram (in a copy): a bit error the
 * link layer did not catch, which only the record's MAC can detect. */
static const unsigned char *maybe_corrupt(struct har_netsim *ns, int dir, unsigned flow,
					  const unsigned char *d, size_t len)
{
	static unsigned char buf[DGRAM_MAX];
	if (ns->corrupt_left[dir] <= 0 || len == 0 || len > sizeof(buf))
		return d;
	ns->corrupt_left[dir]--;
	memcpy(buf, d, len);
	long off = har_netsim_corrupt_tail(buf, len, &ns->rng);
	note_change(ns, "corrupt",
		    json_pack("{s:s, s:I, s:I, s:I, s:s, s:I}", "dir", dir_names[dir], "flow",
			      (json_int_t)flow, "offset", (json_int_t)off, "bytes", (json_int_t)len,
			      "record", record_name(d, len), "left",
			      (json_int_t)ns->corrupt_left[dir]));
	return buf;
}

/* The impairments, in the order a real path applies them. */
static void impair(struct har_netsim *ns, int dir, unsigned flow, const unsigned char *d,
		   size_t len)
{
	const struct har_ns_profile *p = &ns->prof[dir];
	d = maybe_corrupt(ns, dir, flow, d, len);
	if (p->mtu > 0 && len > (size_t)p->mtu) {
		note(ns, dir, "drop", flow, d, len, "mtu", 0);
		return;
	}
	if (har_rng_chance(&ns->rng, p->loss)) {
		note(ns, dir, "drop", flow, d, len, "loss", 0);
		return;
	}
	int dup = har_rng_chance(&ns->rng, p->dup);
	route_copy(ns, dir, flow, d, len, "forward");
	if (dup)
		route_copy(ns, dir, flow, d, len, "duplicate");
}

/* Sends what a pack step joined as one datagram (then through the other
 * impairments), and ends the step: reason "count" (all arrived), "timeout"
 * (max_ms passed first), "full" (the next would not fit) or "replaced". */
static void pack_flush(struct har_netsim *ns, int dir, const char *reason)
{
	struct har_ns_pack *p = &ns->pack[dir];
	size_t len = p->len;
	int n = p->n;

	p->want = p->n = 0;
	p->len = 0;
	if (n == 0)
		return;
	note_change(ns, "pack",
		    json_pack("{s:s, s:I, s:i, s:I, s:s}", "dir", dir_names[dir], "flow",
			      (json_int_t)p->flow, "datagrams", n, "bytes", (json_int_t)len,
			      "reason", reason));
	impair(ns, dir, p->flow, p->buf, len);
}

/* A pending pack step takes this datagram (returns 1) once its skip count
 * is spent; datagrams of other flows, or when memory fails, pass (0). */
static int pack_take(struct har_netsim *ns, int dir, unsigned flow, const unsigned char *d,
		     size_t len)
{
	struct har_ns_pack *p = &ns->pack[dir];

	if (p->want == 0)
		return 0;
	if (p->skip > 0) {
		p->skip--;
		return 0;
	}
	if ((p->n > 0 && p->flow != flow) || (!p->buf && !(p->buf = malloc(HAR_NS_PACK_MAX))))
		return 0;
	if (p->len + len > HAR_NS_PACK_MAX) {
		pack_flush(ns, dir, "full");
		return 0;
	}
	if (p->n == 0) {
		p->flow = flow;
		p->due = lh_time_mono_ms() + p->max_ms;
	}
	memcpy(p->buf + p->len, d, len);
	p->len += len;
	p->n++;
	note(ns, dir, "pack", flow, d, len, NULL, 0);
	if (p->n >= p->want)
		pack_flush(ns, dir, "count");
	return 1;
}

/* A datagram's way through the simulator: black hole, packing, the rest. */
static void route(struct har_netsim *ns, int dir, unsigned flow, const unsigned char *d, size_t len)
{
	if (ns->blackhole) {
		note(ns, dir, "drop", flow, d, len, "blackhole", 0);
		return;
	}
	if (!pack_take(ns, dir, flow, d, len))
		impair(ns, dir, flow, d, len);
}

/* A new client address gets a NAT flow with its own outside socket. */
static struct har_nat_flow *flow_for(struct har_netsim *ns, const struct sockaddr_in *client)
{
	struct har_nat_flow *f = har_nat_by_client(&ns->nat, client);
	struct sockaddr_in out = {.sin_family = AF_INET};
	char a[LH_ADDR_STRLEN], b[LH_ADDR_STRLEN];
	if (f)
		return f;
	out.sin_addr.s_addr = ns->nat.public_addr;
	int fd = udp_bind(&out);
	if (fd < 0)
		return NULL;
	if (!(f = har_nat_add(&ns->nat, client, fd, &out))) {
		close(fd);
		return NULL;
	}
	note_change(ns, "flow",
		    json_pack("{s:I, s:s, s:s}", "flow", (json_int_t)f->id, "client",
			      addr_text(client, a), "outside", addr_text(&out, b)));
	return f;
}

/* Reads what the client sent to the front socket. */
static void read_front(struct har_netsim *ns)
{
	static unsigned char buf[DGRAM_MAX];
	struct sockaddr_in from;
	for (int i = 0; i < 64 && ns->front_fd >= 0; i++) {
		socklen_t flen = sizeof(from);
		ssize_t n =
		    recvfrom(ns->front_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		struct har_nat_flow *f = flow_for(ns, &from);
		if (!f) {
			note(ns, HAR_NS_C2S, "drop", 0, buf, (size_t)n, "nat_table_full", 0);
			continue;
		}
		route(ns, HAR_NS_C2S, f->id, buf, (size_t)n);
	}
}

/* Reads what the server sent to a flow's outside socket. */
static void read_outside(struct har_netsim *ns, int fd)
{
	static unsigned char buf[DGRAM_MAX];
	struct sockaddr_in from;
	for (int i = 0; i < 64; i++) {
		struct har_nat_flow *f = har_nat_by_fd(&ns->nat, fd);
		socklen_t flen = sizeof(from);
		if (!f)
			return;
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 0)
			return;
		if (from.sin_addr.s_addr != ns->server.sin_addr.s_addr ||
		    from.sin_port != ns->server.sin_port) {
			note(ns, HAR_NS_S2C, "drop", f->id, buf, (size_t)n, "not_from_server", 0);
			continue;
		}
		route(ns, HAR_NS_S2C, f->id, buf, (size_t)n);
	}
}

/* What the server sends to a spoofed source never reaches the client: a
 * scenario asserts its absence (or presence) through these events. */
static void read_spoof(struct har_netsim *ns)
{
	static unsigned char buf[DGRAM_MAX];
	char a[LH_ADDR_STRLEN];
	for (int i = 0; i < 64; i++) {
		ssize_t n = recv(ns->spoof_fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		note_change(ns, "spoof_reply",
			    json_pack("{s:s, s:s, s:I, s:s}", "dir", "s2c", "to",
				      addr_text(&ns->spoof, a), "bytes", (json_int_t)n, "record",
				      record_name(buf, (size_t)n)));
	}
}

/* Dispatches readable sockets to the UDP or the TCP side. */
void har_netsim_ready(struct har_netsim *ns, const struct pollfd *fds, int n)
{
	if (ns->tcp_open)
		har_tcprelay_ready(&ns->tcp, fds, n);
	for (int i = 0; i < n; i++) {
		if (!(fds[i].revents & (POLLIN | POLLERR)) ||
		    (ns->tcp_open && har_tcprelay_owns(&ns->tcp, fds[i].fd)))
			continue;
		if (fds[i].fd == ns->front_fd)
			read_front(ns);
		else if (fds[i].fd == ns->spoof_fd)
			read_spoof(ns);
		else
			read_outside(ns, fds[i].fd);
	}
}

/* Delayed datagrams and pack steps bound the runner's poll timeout. */
int har_netsim_next_due(const struct har_netsim *ns)
{
	int64_t now = lh_time_mono_ms(), best = -1;
	for (size_t i = 0; i < ns->nq; i++) {
		int64_t left = ns->queue[i].due > now ? ns->queue[i].due - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	for (int d = 0; d < 2; d++) {
		int64_t left = ns->pack[d].due > now ? ns->pack[d].due - now : 0;
		if (ns->pack[d].n > 0 && (best < 0 || left < best))
			best = left;
	}
	return (int)best;
}

/* Releases delayed datagrams on time, and what they held back. */
void har_netsim_run_due(struct har_netsim *ns)
{
	int64_t now = lh_time_mono_ms();
	for (int d = 0; d < 2; d++)
		if (ns->pack[d].n > 0 && ns->pack[d].due <= now)
			pack_flush(ns, d, "timeout");
	for (size_t i = 0; i < ns->nq;) {
		if (ns->queue[i].due > now) {
			i++;
			continue;
		}
		int dir = ns->queue[i].dir, held = ns->queue[i].held;
		dequeue(ns, i, held ? "forward_reordered" : "forward");
		if (!held)
			release_held(ns, dir);
		i = 0;
	}
}

/* Gives every flow a new outside socket: a new port on the same address,
 * or a new address in 127.0.0.0/8 (addr, or the next free one). */
static int rebind(struct har_netsim *ns, int new_address, const char *addr, char *err,
		  size_t errlen)
{
	struct in_addr want = {0};
	char a[LH_ADDR_STRLEN], b[LH_ADDR_STRLEN];
	if (addr && (inet_pton(AF_INET, addr, &want) != 1 || !har_nat_is_loopback(want.s_addr))) {
		snprintf(err, errlen, "rebind address \"%s\" is not in 127.0.0.0/8", addr);
		return -1;
	}
	if (new_address)
		ns->nat.public_addr =
		    addr ? want.s_addr : har_nat_next_address(&ns->nat, ns->nat.public_addr);

	for (size_t i = 0; i < ns->nat.n; i++) {
		struct har_nat_flow *f = &ns->nat.flows[i];
		struct sockaddr_in out = f->outside, old = f->outside;
		out.sin_port = 0;
		if (new_address)
			out.sin_addr.s_addr = ns->nat.public_addr;
		int fd = udp_bind(&out);
		if (fd < 0) {
			snprintf(err, errlen, "cannot bind a socket for the rebind: %s",
				 strerror(errno));
			return -1;
		}
		close(har_nat_rebind(f, fd, &out));
		note_change(ns, "rebind",
			    json_pack("{s:I, s:s, s:s, s:s}", "flow", (json_int_t)f->id, "kind",
				      new_address ? "address" : "port", "old", addr_text(&old, a),
				      "new", addr_text(&out, b)));
	}
	return 0;
}

/* Closes or reopens the front socket: while closed the kernel answers the
 * client's datagrams with ICMP port unreachable (ECONNREFUSED for it). */
static int set_port_closed(struct har_netsim *ns, int closed, char *err, size_t errlen)
{
	if (closed == ns->port_closed)
		return 0;
	if (closed) {
		close(ns->front_fd);
		ns->front_fd = -1;
	} else {
		struct sockaddr_in a = ns->front;
		if ((ns->front_fd = udp_bind(&a)) < 0) {
			snprintf(err, errlen, "cannot reopen the relay port: %s", strerror(errno));
			return -1;
		}
	}
	ns->port_closed = closed;
	note_change(ns, "port_closed", json_pack("{s:b}", "on", closed));
	return 0;
}

/* {"direction":"c2s"|"s2c","count":N}: the next N datagrams that way get
 * a byte of their tail flipped. */
static int set_corrupt(struct har_netsim *ns, const json_t *c, char *err, size_t errlen)
{
	const char *dir = json_string_value(json_object_get(c, "direction"));
	json_int_t count = json_integer_value(json_object_get(c, "count"));
	if (!dir || (strcmp(dir, "c2s") != 0 && strcmp(dir, "s2c") != 0) || count < 0) {
		snprintf(err, errlen, "corrupt needs direction c2s or s2c and a count >= 0");
		return -1;
	}
	ns->corrupt_left[strcmp(dir, "c2s") == 0 ? HAR_NS_C2S : HAR_NS_S2C] = (int)count;
	return 0;
}

/* The socket a spoofed datagram leaves from: kept open (one address at a
 * time) so that answers sent to it are seen. */
static int spoof_socket(struct har_netsim *ns, const struct in_addr *want, char *err, size_t errlen)
{
	if (ns->spoof_fd >= 0 && ns->spoof.sin_addr.s_addr == want->s_addr)
		return 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr = *want};
	int fd = udp_bind(&a);
	if (fd < 0) {
		snprintf(err, errlen, "cannot bind the spoofing socket: %s", strerror(errno));
		return -1;
	}
	if (ns->spoof_fd >= 0)
		close(ns->spoof_fd);
	ns->spoof_fd = fd;
	ns->spoof = a;
	return 0;
}

/* {"from":"127.x.y.z","copy":"last_c2s"}: an on-path attacker replays the
 * client's last datagram from its own address (RFC 9146 §6). */
static int spoof(struct har_netsim *ns, const json_t *c, char *err, size_t errlen)
{
	const char *from = json_string_value(json_object_get(c, "from"));
	struct in_addr want;
	char a[LH_ADDR_STRLEN];
	if (!from || inet_pton(AF_INET, from, &want) != 1 || !har_nat_is_loopback(want.s_addr)) {
		snprintf(err, errlen, "spoof from \"%s\" is not in 127.0.0.0/8", from ? from : "");
		return -1;
	}
	if (ns->last_c2s_len == 0) {
		snprintf(err, errlen, "spoof: the client has sent nothing to the server yet");
		return -1;
	}
	if (spoof_socket(ns, &want, err, errlen) != 0)
		return -1;
	if (sendto(ns->spoof_fd, ns->last_c2s, ns->last_c2s_len, 0,
		   (const struct sockaddr *)&ns->server, sizeof(ns->server)) < 0) {
		snprintf(err, errlen, "spoof: sendto failed: %s", strerror(errno));
		return -1;
	}
	har_pcap_write(ns->pcap, &ns->spoof, &ns->server, ns->last_c2s, ns->last_c2s_len);
	note_change(ns, "spoof",
		    json_pack("{s:s, s:s, s:s, s:I, s:s}", "dir", "c2s", "from",
			      addr_text(&ns->spoof, a), "copy", "last_c2s", "bytes",
			      (json_int_t)ns->last_c2s_len, "record",
			      record_name(ns->last_c2s, ns->last_c2s_len)));
	return 0;
}

/* {"direction":"c2s"|"s2c","count":N,"skip":N,"max_ms":N}: the next count
 * datagrams that way (after skip) leave as one. A step still joining is
 * sent first with what it has. */
static int set_pack(struct har_netsim *ns, const json_t *c, char *err, size_t errlen)
{
	const char *dir = json_string_value(json_object_get(c, "direction"));
	json_int_t count = json_integer_value(json_object_get(c, "count"));
	json_t *skip = json_object_get(c, "skip"), *max = json_object_get(c, "max_ms");

	if (!dir || (strcmp(dir, "c2s") != 0 && strcmp(dir, "s2c") != 0) || count < 2 ||
	    count > 64 ||
	    (skip && (json_integer_value(skip) < 0 || json_integer_value(skip) > 64)) ||
	    (max && (json_integer_value(max) < 1 || json_integer_value(max) > 60000))) {
		snprintf(err, errlen,
			 "pack needs direction c2s or s2c, a count of 2..64, skip 0..64 and "
			 "max_ms 1..60000");
		return -1;
	}
	int d = strcmp(dir, "c2s") == 0 ? HAR_NS_C2S : HAR_NS_S2C;
	pack_flush(ns, d, "replaced");
	ns->pack[d].want = (int)count;
	ns->pack[d].skip = skip ? (int)json_integer_value(skip) : 0;
	ns->pack[d].max_ms = max ? (int)json_integer_value(max) : 1000;
	return 0;
}

/* Sets the impairment fields present in change for one direction. */
static void set_profile(struct har_ns_profile *p, const json_t *c)
{
	json_t *v;
	if ((v = json_object_get(c, "loss")))
		p->loss = json_number_value(v);
	if ((v = json_object_get(c, "dup")))
		p->dup = json_number_value(v);
	if ((v = json_object_get(c, "reorder")))
		p->reorder = json_number_value(v);
	if ((v = json_object_get(c, "delay_ms")))
		p->delay_ms = (int)json_integer_value(v);
	if ((v = json_object_get(c, "jitter_ms")))
		p->jitter_ms = (int)json_integer_value(v);
	if ((v = json_object_get(c, "mtu")))
		p->mtu = (int)json_integer_value(v);
}

/* Network steps and the initial profile go through the same code. */
int har_netsim_apply(struct har_netsim *ns, const json_t *change, char *err, size_t errlen)
{
	const char *rb = json_string_value(json_object_get(change, "rebind"));
	const char *dir = json_string_value(json_object_get(change, "direction"));
	const json_t *v;
	if (rb && ns->tcp_open)
		har_tcprelay_reset_all(&ns->tcp, "nat_rebind");
	if (rb && ns->nat.n > 0 &&
	    rebind(ns, strcmp(rb, "address") == 0,
		   json_string_value(json_object_get(change, "address")), err, errlen) != 0)
		return -1;
	if (!dir || strcmp(dir, "s2c") != 0)
		set_profile(&ns->prof[HAR_NS_C2S], change);
	if (!dir || strcmp(dir, "c2s") != 0)
		set_profile(&ns->prof[HAR_NS_S2C], change);
	if ((v = json_object_get(change, "blackhole")) && json_is_true(v) != ns->blackhole) {
		ns->blackhole = ns->tcp.blackhole = json_is_true(v);
		note_change(ns, "blackhole", json_pack("{s:b}", "on", ns->blackhole));
	}
	if ((v = json_object_get(change, "port_closed")) &&
	    (set_port_closed(ns, json_is_true(v), err, errlen) != 0 ||
	     (ns->tcp_open &&
	      har_tcprelay_port_closed(&ns->tcp, json_is_true(v), err, errlen) != 0)))
		return -1;
	if ((v = json_object_get(change, "corrupt")) && set_corrupt(ns, v, err, errlen) != 0)
		return -1;
	if ((v = json_object_get(change, "spoof")) && spoof(ns, v, err, errlen) != 0)
		return -1;
	if ((v = json_object_get(change, "pack")) && set_pack(ns, v, err, errlen) != 0)
		return -1;
	return 0;
}

/* Teardown frees every socket and queued datagram. */
void har_netsim_close(struct har_netsim *ns)
{
	if (ns->tcp_open)
		har_tcprelay_close(&ns->tcp);
	ns->tcp_open = 0;
	if (ns->front_fd >= 0)
		close(ns->front_fd);
	ns->front_fd = -1;
	for (size_t i = 0; i < ns->nat.n; i++)
		if (ns->nat.flows[i].fd >= 0)
			close(ns->nat.flows[i].fd);
	ns->nat.n = 0;
	if (ns->spoof_fd >= 0)
		close(ns->spoof_fd);
	ns->spoof_fd = -1;
	free(ns->last_c2s);
	ns->last_c2s = NULL;
	ns->last_c2s_len = 0;
	for (size_t i = 0; i < ns->nq; i++)
		free(ns->queue[i].data);
	ns->nq = 0;
	for (int d = 0; d < 2; d++) {
		free(ns->pack[d].buf);
		memset(&ns->pack[d], 0, sizeof(ns->pack[d]));
	}
	har_pcap_close(ns->pcap);
	ns->pcap = NULL;
}
