/* Hibernation of idle DTLS sessions; see emu_hibernate.h. */
#include "emu_hibernate.h"
#include "lh_hash.h"

#include <malloc.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "emu_ctxpool.h"
#include "emu_demux.h"
#include "emu_dtls.h"
#include "emu_peer_ip.h"
#include "emu_record.h"
#include "emu_reload.h"
#include "emu_server.h"
#include "emu_transport.h"
#include "emu_vhost.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

/* A saved context is a few hundred bytes (PSK), up to a few KiB with a
 * client certificate kept (MBEDTLS_SSL_KEEP_PEER_CERTIFICATE). */
#define EMU_HIB_BLOB_MAX 8192
/* Heap returned to the kernel (malloc_trim) once this much was freed. */
#define EMU_HIB_TRIM_BYTES (4u << 20)

const uint8_t *emu_hib_blob(const struct emu_hib *h)
{
	return h->tail;
}

const char *emu_hib_identity(const struct emu_hib *h, size_t *len)
{
	*len = h->identity_len;
	return (const char *)h->tail + h->blob_len;
}

const char *emu_hib_subject(const struct emu_hib *h, size_t *len)
{
	*len = h->subject_len;
	return (const char *)h->tail + h->blob_len + h->identity_len;
}

/* The SNI as sent, in the tail after the subject. */
static const char *hib_sni(const struct emu_hib *h)
{
	return (const char *)h->tail + h->blob_len + h->identity_len + h->subject_len;
}

const char *emu_hib_sni(const struct emu_hib *h, size_t *len)
{
	*len = h->sni_len;
	return hib_sni(h);
}

const struct emu_hib *emu_hib_find(struct emu_server *srv, uint64_t id)
{
	return emu_hib_index_find(&srv->hib.by_id, (const uint8_t *)&id, sizeof(id));
}

/* What one hibernated session holds (for `ctl status` and the pool). */
static size_t hib_size(const struct emu_hib *h)
{
	return sizeof(*h) + h->blob_len + h->identity_len + h->subject_len + h->sni_len +
	       h->dedup_len;
}

/* The packed dedup state at the end of the tail. */
static uint8_t *hib_dedup(struct emu_hib *h)
{
	return h->tail + h->blob_len + h->identity_len + h->subject_len + h->sni_len;
}

/* Maps one more 1 MiB chunk for the pool. */
static int pool_grow(struct emu_hib_pool *p)
{
	size_t size = 1u << 20;
	uint8_t *c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED)
		return -1;
	*(void **)c = p->chunks;
	p->chunks = c;
	p->mapped += size;
	p->cur = c + 16;
	p->end = c + size;
	return 0;
}

/* size zeroed bytes: from the pool (its class's free list, else carved
 * from the current chunk), or from malloc when larger than the pool's. */
static void *pool_alloc(struct emu_hib_pool *p, size_t size)
{
	size_t cls = (size + 15) / 16;
	void *at;
	if (size > EMU_HIB_POOL_MAX)
		return calloc(1, size);
	if (p->free[cls]) {
		at = p->free[cls];
		p->free[cls] = *(void **)at;
	} else {
		if ((size_t)(p->end - p->cur) < cls * 16 && pool_grow(p) < 0)
			return NULL;
		at = p->cur;
		p->cur += cls * 16;
	}
	memset(at, 0, cls * 16);
	return at;
}

/* Gives back what pool_alloc gave for size. */
static void pool_free(struct emu_hib_pool *p, void *at, size_t size)
{
	if (!at)
		return;
	if (size > EMU_HIB_POOL_MAX) {
		free(at);
		return;
	}
	size_t cls = (size + 15) / 16;
	*(void **)at = p->free[cls];
	p->free[cls] = at;
}

/* Unmaps every pool chunk (after every hib is gone). */
static void pool_fini(struct emu_hib_pool *p)
{
	while (p->chunks) {
		void *next = *(void **)p->chunks;
		munmap(p->chunks, 1u << 20);
		p->chunks = next;
	}
	memset(p, 0, sizeof(*p));
}

/* Frees h (its pool slot or heap block) and what it holds. */
static void hib_free(struct emu_server *srv, struct emu_hib *h)
{
	pool_free(&srv->hib.pool, h, hib_size(h));
}

/* The packed size of the live slots of d (0: none). */
static size_t dedup_packed_len(const struct emu_dedup *d)
{
	size_t n = 0;
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++)
		if (d->slot[i].used)
			n += 12 + d->slot[i].ack_len;
	return n ? n + 1 : 0;
}

/* Drops the slots of d older than EXCHANGE_LIFETIME: a duplicate that late
 * is a new request anyway. */
static void dedup_prune(struct emu_dedup *d, int64_t now)
{
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++) {
		struct emu_dedup_slot *sl = &d->slot[i];
		if (sl->used && (now - sl->at >= EMU_EXCHANGE_LIFETIME_MS || sl->ack_len > 2048)) {
			free(sl->ack);
			memset(sl, 0, sizeof(*sl));
		}
	}
}

/* Packs the live slots of d into out (dedup_packed_len bytes). */
static void dedup_pack(const struct emu_dedup *d, uint8_t *out)
{
	uint8_t *p = out + 1;
	out[0] = 0;
	for (unsigned i = 0; i < EMU_DEDUP_SLOTS; i++) {
		const struct emu_dedup_slot *sl = &d->slot[i];
		uint16_t len = (uint16_t)sl->ack_len;
		if (!sl->used)
			continue;
		out[0]++;
		memcpy(p, &sl->mid, 2);
		memcpy(p + 2, &sl->at, 8);
		memcpy(p + 10, &len, 2);
		memcpy(p + 12, sl->ack, len);
		p += 12 + len;
	}
}

/* Rebuilds a session's dedup state from h's packed slots. */
static void dedup_unpack(struct emu_hib *h, struct emu_dedup *d)
{
	const uint8_t *p = hib_dedup(h);
	unsigned n = h->dedup_len ? p[0] : 0;
	p++;
	for (unsigned i = 0; i < n && i < EMU_DEDUP_SLOTS; i++) {
		struct emu_dedup_slot *sl = &d->slot[i];
		uint16_t len;
		sl->used = 1;
		memcpy(&sl->mid, p, 2);
		memcpy(&sl->at, p + 2, 8);
		memcpy(&len, p + 10, 2);
		sl->ack = len ? malloc(len) : NULL;
		if (sl->ack)
			memcpy(sl->ack, p + 12, len);
		sl->ack_len = sl->ack ? len : 0;
		p += 12 + len;
	}
	d->next = n;
}

/* A zeroed hib with room for the blob, the three strings and dedup_len. */
static struct emu_hib *hib_alloc(struct emu_server *srv, size_t blob_len, const char *identity,
				 const char *subject, const char *sni, size_t dedup_len)
{
	size_t il = strlen(identity), sl = strlen(subject), nl = strlen(sni);
	if (blob_len > EMU_HIB_BLOB_MAX)
		return NULL;
	struct emu_hib *h =
	    pool_alloc(&srv->hib.pool, sizeof(*h) + blob_len + il + sl + nl + dedup_len);
	if (!h)
		return NULL;
	h->dedup_len = (uint16_t)dedup_len;
	h->blob_len = (uint16_t)blob_len;
	h->identity_len = (uint16_t)il;
	h->subject_len = (uint16_t)sl;
	h->sni_len = (uint16_t)nl;
	memcpy(h->tail + blob_len, identity, il);
	memcpy(h->tail + blob_len + il, subject, sl);
	memcpy(h->tail + blob_len + il + sl, sni, nl);
	return h;
}

/* Indexes h by id, CID (when its session was found by one) and address.
 * -1 (h in no index) when the id table cannot grow. */
static int hib_index(struct emu_hibernation *t, struct emu_hib *h)
{
	if (emu_hib_index_add(&t->by_id, h) < 0) {
		fprintf(stderr, "lwm2m-emulator: out of memory indexing hibernated session %llu\n",
			(unsigned long long)h->id);
		return -1;
	}
	/* By CID, or by address without one (a CID client's records all carry
	 * it). A table that cannot grow leaves the session to its expiry. */
	if (emu_hib_index_add((h->flags & EMU_HIB_CID_INDEXED) ? &t->by_cid : &t->by_addr, h) < 0)
		fprintf(stderr, "lwm2m-emulator: out of memory indexing hibernated session %llu\n",
			(unsigned long long)h->id);
	t->count++;
	t->bytes += hib_size(h);
	return 0;
}

/* Removes h from every index (h itself stays). */
static void hib_unindex(struct emu_hibernation *t, struct emu_hib *h)
{
	emu_hib_index_del(&t->by_id, h);
	emu_hib_index_del((h->flags & EMU_HIB_CID_INDEXED) ? &t->by_cid : &t->by_addr, h);
	t->count--;
	t->bytes -= hib_size(h);
}

/* Fills a fresh hib from live session s (whose context was just saved). */
static struct emu_hib *hib_from_session(struct emu_session *s, const uint8_t *blob, size_t blen)
{
	struct emu_hib *h;
	if (s->peer_len > sizeof(h->peer) || s->addr_key_len > sizeof(h->addr_key))
		return NULL;
	dedup_prune(&s->msg.dedup, lh_time_mono_ms());
	size_t dlen = dedup_packed_len(&s->msg.dedup);
	h = hib_alloc(s->srv, blen, s->identity, s->subject, s->sni, dlen);
	if (!h)
		return NULL;
	if (dlen)
		dedup_pack(&s->msg.dedup, hib_dedup(h));
	memcpy(h->tail, blob, blen);
	h->id = s->id;
	memcpy(&h->peer, &s->peer, s->peer_len);
	h->peer_len = (uint8_t)s->peer_len;
	memcpy(h->addr_key, s->addr_key, s->addr_key_len);
	h->addr_key_len = (uint8_t)s->addr_key_len;
	memcpy(h->cid, s->cid, s->cid_len);
	h->cid_len = (uint8_t)s->cid_len;
	h->flags = (s->has_lineage ? EMU_HIB_LINEAGE : 0) | (s->resumed ? EMU_HIB_RESUMED : 0) |
		   (s->cookie_verified ? EMU_HIB_COOKIE : 0) |
		   (s->cid_indexed ? EMU_HIB_CID_INDEXED : 0);
	h->next_mid = s->msg.next_mid;
	h->bad_macs = s->bad_macs;
	h->timer_gen = s->timer_gen;
	h->timer_fin = s->timer_fin;
	h->started_ms = s->started_ms;
	h->last_in_ms = s->last_in_ms;
	h->last_order = s->last_order;
	h->bytes_in = s->bytes_in;
	h->bytes_out = s->bytes_out;
	memcpy(h->lineage, s->lineage, sizeof(h->lineage));
	memcpy(h->hello_random, s->hello_random, sizeof(h->hello_random));
	memcpy(h->location, s->location, sizeof(h->location));
	h->vhost = s->vhost;
	h->gen = s->gen;
	h->conf = s->ssl.MBEDTLS_PRIVATE(conf);
	return h;
}

/* Whether s may be hibernated at all: an open DTLS session with nothing in
 * flight that lives only in its emu_session (a Block1 transfer, datagrams
 * held by the amplification limit, a datagram being read, records joined
 * into one datagram by $.dtls.pack_records). */
static int eligible(const struct emu_session *s)
{
	return s->tp == &emu_transport_dtls && s->state == EMU_SESS_OPEN && !s->amp && !s->msg.b1 &&
	       !s->in_buf && !s->pack_len;
}

/* Frees live session s whose state moved to a hib: everything but what the
 * hib took over (its credentials generation, its place per peer IP). */
static void free_live(struct emu_server *srv, struct emu_session *s)
{
	if (s->hib_woken)
		srv->hib.awake--;
	emu_sessions_remove(&srv->sessions, s);
	/* Freed, not pooled: the save reset it already (a pool would reset it
	 * again), and returning the memory is what hibernation is for. */
	mbedtls_ssl_free(&s->ssl);
	free(s->pack_buf); /* empty: eligible() */
	free(s);
}

/* Reports a hibernation (formatted only when someone reads events). */
static void report_put(const struct emu_hib *h, const char *reason)
{
	char peer[LH_ADDR_STRLEN];
	if (!lh_event_wanted())
		return;
	lh_event_emitf("session_hibernated", "{s:I, s:s, s:s, s:I}", "session", (json_int_t)h->id,
		       "peer", lh_addr_format(&h->peer.sa, peer, sizeof(peer)), "reason", reason,
		       "context_bytes", (json_int_t)h->blob_len);
}

/* Mbed TLS refused to save s (data pending, e.g. the last handshake flight
 * not yet acknowledged by application data): it stays live and is retried
 * after another quiet period. */
static int put_refused(struct emu_session *s, int ret)
{
	s->srv->hib.stats.save_failed++;
	s->hib_active_ms = lh_time_mono_ms();
	(void)ret;
	return -1;
}

int emu_hib_put(struct emu_session *s, const char *reason)
{
	static uint8_t blob[EMU_HIB_BLOB_MAX];
	struct emu_server *srv = s->srv;
	size_t blen = 0;
	if (!eligible(s))
		return -1;
	int ret = mbedtls_ssl_context_save(&s->ssl, blob, sizeof(blob), &blen);
	if (ret != 0)
		return put_refused(s, ret);
	struct emu_hib *h = hib_from_session(s, blob, blen);
	if (h && hib_index(&srv->hib, h) < 0) {
		hib_free(srv, h);
		h = NULL;
	}
	if (!h) {
		/* The save reset the context: load it back, or lose the session. */
		if (mbedtls_ssl_context_load(&s->ssl, blob, blen) != 0)
			emu_session_close(s, "hibernate_failed");
		else
			mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(srv)->mtu);
		return put_refused(s, ret);
	}
	emu_dedup_free(&s->msg.dedup); /* packed into h */
	free_live(srv, s);
	srv->hib.stats.hibernated++;
	srv->hib.freed_since_trim += 2 * MBEDTLS_SSL_IN_CONTENT_LEN;
	report_put(h, reason);
	return 0;
}

/* The live session's fields from h (the context is set up separately). */
static void session_from_hib(struct emu_server *srv, struct emu_session *s, const struct emu_hib *h)
{
	size_t il, sl;
	const char *id = emu_hib_identity(h, &il), *sub = emu_hib_subject(h, &sl);
	s->srv = srv;
	s->id = h->id;
	s->tp = &emu_transport_dtls;
	s->tcp_fd = -1;
	s->state = EMU_SESS_OPEN;
	memcpy(&s->peer, &h->peer, h->peer_len);
	s->peer_len = h->peer_len;
	memcpy(s->addr_key, h->addr_key, h->addr_key_len);
	s->addr_key_len = h->addr_key_len;
	memcpy(s->cid, h->cid, h->cid_len);
	s->cid_len = h->cid_len;
	s->msg.next_mid = h->next_mid;
	s->bad_macs = h->bad_macs;
	s->timer_gen = h->timer_gen;
	s->timer_fin = h->timer_fin;
	s->started_ms = h->started_ms;
	s->last_in_ms = h->last_in_ms;
	s->last_order = h->last_order;
	s->bytes_in = h->bytes_in;
	s->bytes_out = h->bytes_out;
	memcpy(s->lineage, h->lineage, sizeof(s->lineage));
	s->has_lineage = !!(h->flags & EMU_HIB_LINEAGE);
	s->resumed = !!(h->flags & EMU_HIB_RESUMED);
	s->cookie_verified = !!(h->flags & EMU_HIB_COOKIE);
	memcpy(s->hello_random, h->hello_random, sizeof(s->hello_random));
	memcpy(s->location, h->location, sizeof(s->location));
	memcpy(s->identity, id, il);
	memcpy(s->subject, sub, sl);
	memcpy(s->sni, hib_sni(h), h->sni_len);
	s->vhost = h->vhost;
	s->gen = h->gen;
}

/* Rebuilds h's Mbed TLS context in s: setup on the config it was made
 * with, this server's callbacks, then the saved state. Returns an Mbed TLS
 * code (the context is freed on error). */
static int context_from_hib(struct emu_session *s, const struct emu_hib *h)
{
	/* A pooled context set up for this config when there is one
	 * (emu_ctxpool.h): no record buffers allocated and zeroed again. */
	int ret = emu_ctxpool_get(s->srv, &s->ssl, h->conf);
	if (ret == 0)
		ret = mbedtls_ssl_set_client_transport_id(&s->ssl, s->addr_key, s->addr_key_len);
	if (ret == 0) {
		emu_dtls_attach(s);
		ret = mbedtls_ssl_context_load(&s->ssl, emu_hib_blob(h), h->blob_len);
	}
	if (ret != 0)
		emu_ctxpool_put(s->srv, &s->ssl);
	else
		mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(s->srv)->mtu);
	return ret;
}

/* Ends a hibernated session for good (idle timeout, shutdown, a client
 * that restarted, a context that no longer loads). */
static void hib_close(struct emu_server *srv, struct emu_hib *h, const char *reason)
{
	char peer[LH_ADDR_STRLEN];
	lh_event_emitf("session_closed", "{s:I, s:s, s:s, s:b}", "session", (json_int_t)h->id,
		       "peer", lh_addr_format(&h->peer.sa, peer, sizeof(peer)), "reason", reason,
		       "hibernated", 1);
	hib_unindex(&srv->hib, h);
	emu_peer_ip_remove(srv, &h->peer.sa);
	struct emu_gen *gen = h->gen;
	hib_free(srv, h);
	emu_gen_release(srv, gen);
}

/* A device left hibernated session id for certain (emu_device.c): ends it,
 * unless another device has registered on it since. Returns whether it
 * ended. */
int emu_hib_supersede(struct emu_server *srv, uint64_t id, const char *location)
{
	struct emu_hib *h = emu_hib_index_find(&srv->hib.by_id, (const uint8_t *)&id, sizeof(id));
	if (!h || strcmp(h->location, location) != 0)
		return 0;
	hib_close(srv, h, "superseded");
	return 1;
}

/* The wake bound is reached: one event per second at most. */
static void report_limit(struct emu_server *srv, uint32_t max)
{
	int64_t now = lh_time_mono_ms();
	srv->hib.stats.wake_limit_drops++;
	if (now - srv->hib.limit_reported_ms < 1000 && srv->hib.limit_reported_ms)
		return;
	srv->hib.limit_reported_ms = now;
	lh_event_emitf("wake_limit_reached", "{s:I, s:I, s:I}", "max", (json_int_t)max, "awake",
		       (json_int_t)srv->hib.awake, "dropped",
		       (json_int_t)srv->hib.stats.wake_limit_drops);
}

/* Reports a wake (formatted only when someone reads events). */
static void report_wake(const struct emu_session *s, const char *why, int64_t slept_ms)
{
	char peer[LH_ADDR_STRLEN];
	if (!lh_event_wanted())
		return;
	lh_event_emitf("session_woken", "{s:I, s:s, s:s, s:I}", "session", (json_int_t)s->id,
		       "peer",
		       lh_addr_format((const struct sockaddr *)&s->peer, peer, sizeof(peer)),
		       "reason", why, "hibernated_ms", (json_int_t)slept_ms);
}

/* Restores h into a live session with the same id, CID and address. NULL
 * when the wake bound is reached (h stays) or the context does not load
 * (h is closed). */
static struct emu_session *wake(struct emu_server *srv, struct emu_hib *h, const char *why)
{
	uint32_t max = emu_gen_cfg(srv)->hibernate_max_awake;
	if (srv->hib.awake >= max) {
		report_limit(srv, max);
		return NULL;
	}
	struct emu_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	session_from_hib(srv, s, h);
	if (context_from_hib(s, h) != 0) {
		free(s);
		hib_close(srv, h, "wake_failed");
		return NULL;
	}
	hib_unindex(&srv->hib, h);
	emu_sessions_insert(&srv->sessions, s);
	if (h->flags & EMU_HIB_CID_INDEXED)
		emu_sessions_index_cid(&srv->sessions, s);
	dedup_unpack(h, &s->msg.dedup);
	s->hib_woken = 1;
	s->hib_active_ms = lh_time_mono_ms();
	srv->hib.awake++;
	srv->hib.stats.woken++;
	report_wake(s, why, s->hib_active_ms - h->last_in_ms);
	hib_free(srv, h);
	return s;
}

/* After a datagram woke session id: if none of it authenticated (bad MAC,
 * replay, garbage), the session goes straight back to sleep, counted. */
static void settle(struct emu_server *srv, uint64_t id, uint64_t bytes_before)
{
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, id);
	if (!s || !s->hib_woken || s->bytes_in != bytes_before)
		return;
	if (emu_hib_put(s, "unauthenticated") == 0)
		srv->hib.stats.rehibernated_unauthenticated++;
}

int emu_hib_route_cid(struct emu_server *srv, const uint8_t *cid, size_t cid_len,
		      const uint8_t *buf, size_t len, const struct sockaddr *from,
		      socklen_t from_len)
{
	struct emu_hib *h = NULL;
	uint8_t key[EMU_ADDR_KEY_MAX];
	h = emu_hib_index_find(&srv->hib.by_cid, cid, cid_len);
	if (!h)
		return 0;
	struct emu_session *s = wake(srv, h, "record");
	if (!s) {
		emu_demux_drop(srv, from, "wake_limit", len);
		return 1;
	}
	uint64_t id = s->id, before = s->bytes_in;
	size_t klen = emu_addr_key(from, key);
	if (klen == s->addr_key_len && memcmp(key, s->addr_key, klen) == 0)
		emu_dtls_input(s, buf, len);
	else
		emu_dtls_input_moved(s, buf, len, from, from_len);
	settle(srv, id, before);
	return 1;
}

/* A ClientHello from a hibernated session's address: a retransmission of
 * the one that set it up is dropped; otherwise the cookie exchange runs,
 * and once a new handshake from there has begun the old session is closed,
 * as for a live one (client_reconnect), without waking it. */
static void client_hello_on(struct emu_server *srv, struct emu_hib *h, const uint8_t *buf,
			    size_t len, const struct emu_client_hello *ch,
			    const struct sockaddr *from, socklen_t from_len)
{
	if (memcmp(ch->random, h->hello_random, sizeof(h->hello_random)) == 0) {
		emu_demux_drop(srv, from, "duplicate_client_hello", len);
		return;
	}
	emu_dtls_new_peer(srv, buf, len, from, from_len);
	if (emu_sessions_by_addr(&srv->sessions, from))
		hib_close(srv, h, "client_reconnect");
}

int emu_hib_route_addr(struct emu_server *srv, const uint8_t *buf, size_t len,
		       const struct sockaddr *from, socklen_t from_len)
{
	struct emu_hib *h = NULL;
	struct emu_record rec;
	struct emu_client_hello ch;
	uint8_t key[EMU_ADDR_KEY_MAX];
	size_t klen = emu_addr_key(from, key);
	if (klen)
		h = emu_hib_index_find(&srv->hib.by_addr, key, klen);
	if (!h)
		return 0;
	if (emu_record_parse(buf, len, 0, &rec) == 0 && emu_record_client_hello(&rec, &ch) == 0) {
		client_hello_on(srv, h, buf, len, &ch, from, from_len);
		return 1;
	}
	struct emu_session *s = wake(srv, h, "record");
	if (!s) {
		emu_demux_drop(srv, from, "wake_limit", len);
		return 1;
	}
	uint64_t id = s->id, before = s->bytes_in;
	emu_dtls_input(s, buf, len);
	settle(srv, id, before);
	return 1;
}

struct emu_session *emu_hib_session(struct emu_server *srv, uint64_t id, char *err, size_t err_size)
{
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, id);
	struct emu_hib *h = NULL;
	if (s)
		return s;
	h = emu_hib_index_find(&srv->hib.by_id, (const uint8_t *)&id, sizeof(id));
	if (!h)
		return NULL;
	s = wake(srv, h, "request");
	if (!s && err)
		snprintf(err, err_size,
			 "session %llu is hibernated and cannot be woken now: "
			 "$.dtls.hibernate_max_awake (%u) sessions are awake",
			 (unsigned long long)id, emu_gen_cfg(srv)->hibernate_max_awake);
	return s;
}

/* Re-arms a hibernated session's idle timer at due. */
static void hib_arm(struct emu_server *srv, struct emu_hib *h, int64_t due)
{
	h->timer_gen++;
	h->timer_fin = due;
	if (emu_timers_push(&srv->timers, due, h->id, h->timer_gen) < 0)
		fprintf(stderr, "lwm2m-emulator: out of memory for a timer (session %llu)\n",
			(unsigned long long)h->id);
}

/* Whether a live registration still uses hibernated session h (as
 * emu_idle_holds_registration for a live one). */
static int hib_holds_registration(struct emu_server *srv, const struct emu_hib *h)
{
	struct emu_reg *r = h->location[0] ? emu_registry_find(&srv->registry, h->location) : NULL;
	return r && r->session == h->id && r->expires_ms > lh_time_mono_ms();
}

void emu_hib_timer(struct emu_server *srv, uint64_t id, uint32_t gen)
{
	struct emu_hib *h = NULL;
	int64_t now = lh_time_mono_ms(), ms = (int64_t)emu_gen_cfg(srv)->dtls_idle_s * 1000;
	h = emu_hib_index_find(&srv->hib.by_id, (const uint8_t *)&id, sizeof(id));
	if (!h || gen != h->timer_gen || h->timer_fin == 0)
		return;
	h->timer_fin = 0;
	if (ms == 0)
		return;
	if (now < h->last_in_ms + ms)
		hib_arm(srv, h, h->last_in_ms + ms);
	else if (hib_holds_registration(srv, h))
		hib_arm(srv, h, now + ms);
	else
		hib_close(srv, h, "idle_timeout");
}

void emu_hib_forget(struct emu_session *s)
{
	if (s->hib_woken)
		s->srv->hib.awake--;
	s->hib_woken = 0;
}

/* Hibernates the live sessions quiet for after ms, and notes when the next
 * one can be due (see sweep_floor_ms): one not eligible or refused now is
 * tried again at the next sweep, as before. */
static void sweep_live(struct emu_server *srv, int64_t now, int64_t after)
{
	struct emu_session *s, *tmp;
	int64_t next = now + after; /* any session active from now on */
	if (after == srv->hib.sweep_after_ms && now < srv->hib.sweep_floor_ms)
		return;
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	{
		int64_t active =
		    s->last_in_ms > s->hib_active_ms ? s->last_in_ms : s->hib_active_ms;
		if (now - active < after) {
			if (active + after < next)
				next = active + after;
		} else if (!eligible(s) || emu_hib_put(s, "idle") < 0) {
			next = now;
		}
	}
	srv->hib.sweep_after_ms = after;
	srv->hib.sweep_floor_ms = next;
}

void emu_hib_sweep(struct emu_server *srv, int64_t now)
{
	int64_t after = (int64_t)emu_gen_cfg(srv)->hibernate_after_s * 1000;
	if (after > 0)
		sweep_live(srv, now, after);
	/* The freed record buffers go back to the kernel, not only to malloc's
	 * free lists: idle memory is what hibernation is for. */
	if (srv->hib.freed_since_trim >= EMU_HIB_TRIM_BYTES) {
		malloc_trim(0);
		srv->hib.freed_since_trim = 0;
	}
}

void emu_hib_fini(struct emu_server *srv)
{
	/* From the first slot on: a close shifts later entries back into the
	 * freed slot, so the walk stays there until it is empty (O(slots);
	 * restarting from slot 0 each time took minutes at 10^6). */
	size_t pos = 0;
	for (struct emu_hib *h; (h = emu_hib_index_from(&srv->hib.by_id, &pos));)
		hib_close(srv, h, "shutdown");
	emu_hib_index_free(&srv->hib.by_id);
	pool_fini(&srv->hib.pool);
	emu_hib_index_free(&srv->hib.by_cid);
	emu_hib_index_free(&srv->hib.by_addr);
}

void emu_hib_init(struct emu_server *srv)
{
	srv->hib.by_id.kind = EMU_HIB_KEY_ID;
	srv->hib.by_cid.kind = EMU_HIB_KEY_CID;
	srv->hib.by_addr.kind = EMU_HIB_KEY_ADDR;
	/* Mbed TLS's two ~16.6 KiB record buffers per live context: mapped on
	 * their own (not carved from the heap), so that hibernating a session
	 * hands them back to the kernel whole instead of leaving holes that the
	 * long-lived small allocations then pin. */
	if (emu_gen_cfg(srv)->hibernate_after_s > 0 && !srv->hib.malloc_tuned) {
		mallopt(M_MMAP_THRESHOLD, 16 * 1024);
		srv->hib.malloc_tuned = 1;
	}
}

/* The fields of a restored hib from the state file's entry. */
static int hib_from_saved(struct emu_hib *h, const struct emu_hib_saved *in)
{
	if (in->peer_len > sizeof(h->peer) || in->cid_len > sizeof(h->cid))
		return -1;
	memcpy(h->tail, in->blob, in->blob_len);
	memcpy(&h->peer, in->peer, in->peer_len);
	h->peer_len = (uint8_t)in->peer_len;
	h->addr_key_len = (uint8_t)emu_addr_key(in->peer, h->addr_key);
	memcpy(h->cid, in->cid, in->cid_len);
	h->cid_len = (uint8_t)in->cid_len;
	h->flags = EMU_HIB_COOKIE | (in->cid_len ? EMU_HIB_CID_INDEXED : 0) |
		   (in->lineage ? EMU_HIB_LINEAGE : 0);
	if (in->lineage)
		memcpy(h->lineage, in->lineage, sizeof(h->lineage));
	h->last_order = in->last_order;
	h->started_ms = h->last_in_ms = lh_time_mono_ms();
	h->vhost = in->vhost;
	return h->addr_key_len ? 0 : -1;
}

struct emu_hib *emu_hib_restore(struct emu_server *srv, const struct emu_hib_saved *in)
{
	struct emu_hib *h = hib_alloc(srv, in->blob_len, in->identity, in->subject, "", 0);
	int64_t idle = (int64_t)emu_gen_cfg(srv)->dtls_idle_s * 1000;
	if (!h)
		return NULL;
	/* CIDs are unique in a validated file; at start nothing else has one. */
	if (hib_from_saved(h, in) < 0) {
		hib_free(srv, h);
		return NULL;
	}
	h->id = srv->sessions.next_id++;
	/* At start, before any reload: the server's own generation (NULL). */
	h->gen = srv->gen;
	h->conf = in->vhost ? &in->vhost->conf : emu_gen_conf(srv);
	if (hib_index(&srv->hib, h) < 0) {
		hib_free(srv, h);
		return NULL;
	}
	emu_peer_ip_add(srv, in->peer);
	if (idle > 0)
		hib_arm(srv, h, h->last_in_ms + idle);
	return h;
}

void emu_hib_reserve(struct emu_server *srv, size_t n)
{
	(void)emu_hib_index_reserve(&srv->hib.by_id, n);
	(void)emu_hib_index_reserve(&srv->hib.by_cid, n);
	(void)emu_hib_index_reserve(&srv->hib.by_addr, n);
}

struct emu_hib *emu_hib_first(struct emu_server *srv)
{
	return emu_hib_index_next(&srv->hib.by_id, NULL);
}

struct emu_hib *emu_hib_next(struct emu_server *srv, struct emu_hib *h)
{
	return emu_hib_index_next(&srv->hib.by_id, h);
}
