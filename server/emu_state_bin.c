/* The binary state file; see emu_state_bin.h for the layout and why. */
#include "emu_state_bin.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "emu_hibernate.h"
#include "emu_reload.h"
#include "emu_server.h"
#include "emu_state.h"
#include "emu_transport.h"
#include "emu_vhost.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_file.h"
#include "lh_time.h"

#define HDR_LEN 40
#define CTX_MAX 8192
#define NSTR_NONE 0xffffu

/* ---- Checksum ---- */

/* A 64-bit finalizer (MurmurHash3's fmix64): every input bit reaches
 * every output bit. */
static uint64_t fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= UINT64_C(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64_C(0xc4ceb9fe1a85ec53);
	return k ^ (k >> 33);
}

/* Four independent lanes (so the multiplies overlap), each step a
 * bijection of the lane for a given word: a single changed word always
 * changes the result, more changes do with probability 2^-64. */
uint64_t emu_state_bin_checksum(const uint8_t *buf, size_t len)
{
	uint64_t lane[4] = {UINT64_C(0x243f6a8885a308d3), UINT64_C(0x13198a2e03707344),
			    UINT64_C(0xa4093822299f31d0), UINT64_C(0x082efa98ec4e6c89)};
	const uint64_t mul = UINT64_C(0x9e3779b97f4a7c15);
	size_t i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		uint64_t *l = &lane[(i >> 3) & 3];
		*l = ((*l ^ w) * mul);
		*l = (*l << 31) | (*l >> 33);
	}
	uint64_t last = 0;
	memcpy(&last, buf + i, len - i);
	lane[0] = (lane[0] ^ last) * mul;
	uint64_t h = (uint64_t)len;
	for (int k = 0; k < 4; k++)
		h = (h ^ fmix64(lane[k] + (uint64_t)k)) * mul;
	return fmix64(h);
}

/* This process's CPU time in ms: the cost of a save or restore apart from
 * what other processes on the machine take (wall time is reported too). */
static int64_t cpu_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- Writing ---- */

struct wr {
	uint8_t *buf;
	size_t len, cap;
	int oom;
};

/* One pair of record buffers that live contexts saved at exit borrow. */
struct emu_state_scratch {
	uint8_t *in, *out;
	size_t len;
};

/* Makes room for n more bytes (doubling); 0 or -1 (oom set). */
static int wr_room(struct wr *w, size_t n)
{
	if (w->oom)
		return -1;
	if (w->len + n <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 1 << 16;
	while (cap < w->len + n)
		cap *= 2;
	uint8_t *p = realloc(w->buf, cap);
	if (!p) {
		w->oom = 1;
		return -1;
	}
	w->buf = p;
	w->cap = cap;
	return 0;
}

static void wr_bytes(struct wr *w, const void *p, size_t n)
{
	if (n && wr_room(w, n) == 0) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
}

/* An unsigned integer of size bytes, little-endian. */
static void wr_uint(struct wr *w, uint64_t v, size_t size)
{
	uint8_t b[8];
	for (size_t i = 0; i < size; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	wr_bytes(w, b, size);
}

/* A string with a size-byte length (its length must fit: callers bound it). */
static void wr_str(struct wr *w, const void *p, size_t n, size_t size)
{
	wr_uint(w, n, size);
	wr_bytes(w, p, n);
}

/* An optional string (NULL: the absent marker). */
static void wr_nstr(struct wr *w, const char *s)
{
	if (!s || strlen(s) >= NSTR_NONE)
		wr_uint(w, NSTR_NONE, 2);
	else
		wr_str(w, s, strlen(s), 2);
}

/* The peer address: family, address bytes, port. */
static void wr_addr(struct wr *w, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		wr_uint(w, 4, 1);
		wr_bytes(w, &in->sin_addr, 4);
		wr_uint(w, ntohs(in->sin_port), 2);
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		wr_uint(w, 6, 1);
		wr_bytes(w, &in6->sin6_addr, 16);
		wr_uint(w, ntohs(in6->sin6_port), 2);
	}
}

/* One session record from its parts, up to its context (live or
 * hibernated): the context follows as a str16. */
static void wr_session_head(struct wr *w, uint64_t id, const struct emu_vhost *v,
			    const struct sockaddr *peer, const uint8_t *cid, size_t cid_len,
			    const char *identity, size_t il, const char *subject, size_t sl,
			    const uint8_t *lineage, uint64_t last_order)
{
	wr_uint(w, id, 8);
	wr_str(w, v ? v->name : "", v ? strlen(v->name) : 0, 1);
	wr_addr(w, peer);
	wr_str(w, cid, cid_len, 1);
	wr_str(w, identity, il, 2);
	wr_str(w, subject, sl, 2);
	wr_uint(w, lineage != NULL, 1);
	wr_bytes(w, lineage ? lineage : (const uint8_t *)"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	wr_uint(w, last_order, 8);
}

/* A hibernated session: its blob is written as it is. */
static void wr_hib(struct wr *w, const struct emu_hib *h)
{
	size_t il, sl;
	const char *id = emu_hib_identity(h, &il), *sub = emu_hib_subject(h, &sl);
	wr_session_head(w, h->id, h->vhost, &h->peer.sa, h->cid,
			(h->flags & EMU_HIB_CID_INDEXED) ? h->cid_len : 0, id, il, sub, sl,
			(h->flags & EMU_HIB_LINEAGE) ? h->lineage : NULL, h->last_order);
	wr_str(w, emu_hib_blob(h), h->blob_len, 2);
}

/* Gives the scratch record buffers room for in and out bytes (grown, never
 * shrunk); 0 or -1. */
static int scratch_fit(struct emu_state_scratch *sc, size_t in, size_t out)
{
	size_t need = in > out ? in : out;
	if (sc->len >= need)
		return 0;
	uint8_t *a = realloc(sc->in, need), *b = a ? realloc(sc->out, need) : NULL;
	if (a)
		sc->in = a;
	if (!b)
		return -1;
	sc->out = b;
	sc->len = need;
	return 0;
}

/* How many bytes of a record buffer the reset zeroes: its length where
 * Mbed TLS tracks one per context, else the same for every context (what
 * malloc gave the first one: reading it costs a cache miss per buffer). */
static size_t buf_len(const mbedtls_ssl_context *ssl, const unsigned char *buf,
		      const struct emu_state_scratch *sc)
{
#if defined(MBEDTLS_SSL_VARIABLE_BUFFER_LENGTH)
	(void)sc;
	return buf == ssl->MBEDTLS_PRIVATE(in_buf) ? ssl->MBEDTLS_PRIVATE(in_buf_len)
						   : ssl->MBEDTLS_PRIVATE(out_buf_len);
#else
	(void)ssl;
	return sc->len ? sc->len : malloc_usable_size((void *)buf);
#endif
}

/* mbedtls_ssl_context_save for a context the exit will not tear down: it
 * resets the context after serializing (zeroing both ~16.6 KiB record
 * buffers, which for 100k sessions faults in and writes 3.3 GB, and
 * allocating a fresh handshake), so its record buffers are swapped for one
 * scratch pair first (zeroed while in cache), and what the reset allocated
 * is freed at once (the next session reuses it, still hot). The session's
 * own buffers are left to the exit, which hands them back whole. ssl is
 * left empty (initialised) on success, unchanged on failure. */
static int ctx_save_for_exit(mbedtls_ssl_context *ssl, struct emu_state_scratch *sc, uint8_t *out,
			     size_t cap, size_t *len)
{
	unsigned char *in = ssl->MBEDTLS_PRIVATE(in_buf), *ob = ssl->MBEDTLS_PRIVATE(out_buf);
	if (!in || !ob || scratch_fit(sc, buf_len(ssl, in, sc), buf_len(ssl, ob, sc)) < 0)
		return mbedtls_ssl_context_save(ssl, out, cap, len);
	ssl->MBEDTLS_PRIVATE(in_buf) = sc->in;
	ssl->MBEDTLS_PRIVATE(out_buf) = sc->out;
	int ret = mbedtls_ssl_context_save(ssl, out, cap, len);
	if (ret != 0) {
		ssl->MBEDTLS_PRIVATE(in_buf) = in;
		ssl->MBEDTLS_PRIVATE(out_buf) = ob;
		return ret;
	}
	ssl->MBEDTLS_PRIVATE(in_buf) = ssl->MBEDTLS_PRIVATE(out_buf) = NULL;
	mbedtls_ssl_free(ssl);
	mbedtls_ssl_init(ssl);
	return 0;
}

/* A live session, serialized straight into the file: the blob a
 * hibernation would make, without what a process about to exit does not
 * need (freeing, indexing). The periodic save (EMU_STATE_KEEP) loads it
 * straight back, as the JSON writer does; at shutdown the context is left
 * reset, for the teardown to free, or (EMU_STATE_EXIT) consumed. 0, or -1
 * when it could not be saved (event). */
static int wr_live(struct wr *w, struct emu_session *s, int mode, struct emu_state_scratch *sc)
{
	size_t at = w->len, blen = 0;
	char peer[LH_ADDR_STRLEN];
	wr_session_head(w, s->id, s->vhost, (struct sockaddr *)&s->peer, s->cid,
			s->cid_indexed ? s->cid_len : 0, s->identity, strlen(s->identity),
			s->subject, strlen(s->subject), s->has_lineage ? s->lineage : NULL,
			s->last_order);
	if (wr_room(w, 2 + CTX_MAX) < 0)
		return -1;
	uint8_t *blob = w->buf + w->len + 2;
	int ret = mode == EMU_STATE_EXIT ? ctx_save_for_exit(&s->ssl, sc, blob, CTX_MAX, &blen)
					 : mbedtls_ssl_context_save(&s->ssl, blob, CTX_MAX, &blen);
	if (ret == 0 && mode == EMU_STATE_KEEP &&
	    (ret = mbedtls_ssl_context_load(&s->ssl, blob, blen)) != 0) {
		w->len = at;
		emu_session_close(s, "state_reload_failed");
		return -1;
	}
	if (ret != 0) {
		w->len = at;
		lh_event_emitf("session_not_saved", "{s:I, s:s, s:i}", "session", (json_int_t)s->id,
			       "peer",
			       lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer)),
			       "mbedtls_error", ret);
		return -1;
	}
	if (mode == EMU_STATE_KEEP)
		mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(s->srv)->mtu);
	w->buf[w->len] = (uint8_t)blen;
	w->buf[w->len + 1] = (uint8_t)(blen >> 8);
	w->len += 2 + blen;
	return 0;
}

/* One registration record. */
static void wr_reg(struct wr *w, const struct emu_reg *r, int64_t now)
{
	size_t n = json_array_size(r->links);
	wr_str(w, r->location, strlen(r->location), 1);
	wr_str(w, r->endpoint, strlen(r->endpoint) < NSTR_NONE ? strlen(r->endpoint) : 0, 2);
	wr_nstr(w, r->identity);
	wr_nstr(w, r->lwm2m);
	wr_nstr(w, r->binding);
	wr_uint(w, n, 4);
	for (size_t i = 0; i < n; i++) {
		const char *l = json_string_value(json_array_get(r->links, i));
		size_t len = l ? strlen(l) : 0;
		wr_str(w, l ? l : "", len < NSTR_NONE ? len : 0, 2);
	}
	wr_uint(w, r->lifetime, 4);
	wr_uint(w, (uint64_t)(r->expires_ms - now), 8);
	wr_uint(w, r->session, 8);
	wr_uint(w, (uint64_t)r->has_lineage, 1);
	wr_bytes(w, r->lineage, 16);
}

/* Every session (live ones serialized now, hibernated ones as they are),
 * then every registration; *nsess gets the sessions written. */
static void wr_body(struct wr *w, struct emu_server *srv, int mode, uint64_t *nsess)
{
	struct emu_session *s, *tmp;
	struct emu_reg *r, *rtmp;
	struct emu_state_scratch sc = {0};
	int64_t now = lh_time_mono_ms();
	*nsess = 0;
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	{
		if (s->state == EMU_SESS_OPEN && s->tp == &emu_transport_dtls)
			*nsess += wr_live(w, s, mode, &sc) == 0;
	}
	free(sc.in);
	free(sc.out);
	for (struct emu_hib *h = emu_hib_first(srv); h; h = emu_hib_next(srv, h)) {
		wr_hib(w, h);
		(*nsess)++;
	}
	HASH_ITER(hh_loc, srv->registry.by_loc, r, rtmp)
	wr_reg(w, r, now);
}

/* Patches the counts into the header and appends the checksum. */
static void wr_finish(struct wr *w, uint64_t nsess, uint64_t nregs)
{
	for (int i = 0; i < 8 && !w->oom; i++) {
		w->buf[24 + i] = (uint8_t)(nsess >> (8 * i));
		w->buf[32 + i] = (uint8_t)(nregs >> (8 * i));
	}
	if (!w->oom)
		wr_uint(w, emu_state_bin_checksum(w->buf, w->len), 8);
}

/* The outcome of a write (ret 0: state_saved with the counts and costs
 * since t0, c0; else state_save_failed and stderr with why). */
static void saved_event(int ret, const char *path, const char *trigger, const char *why,
			uint64_t nsess, uint64_t nregs, size_t bytes, int64_t t0, int64_t c0)
{
	if (ret == 0)
		lh_event_emitf("state_saved", "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "path",
			       path, "trigger", trigger, "format", "binary", "sessions",
			       (json_int_t)nsess, "registrations", (json_int_t)nregs, "bytes",
			       (json_int_t)bytes, "ms", (json_int_t)(lh_time_mono_ms() - t0),
			       "cpu_ms", (json_int_t)(cpu_ms() - c0));
	else {
		lh_event_emitf("state_save_failed", "{s:s, s:s, s:s}", "path", path, "trigger",
			       trigger, "reason", why);
		fprintf(stderr, "lwm2m-emulator: cannot write state %s: %s\n", path, why);
	}
}

int emu_state_bin_save(struct emu_server *srv, const char *path, int mode, const char *trigger)
{
	struct wr w = {0};
	char why[512] = "out of memory";
	uint64_t nsess = 0, at;
	double now = lh_time_wall();
	int64_t t0 = lh_time_mono_ms(), c0 = cpu_ms();
	memcpy(&at, &now, 8);
	wr_bytes(&w, EMU_STATE_BIN_MAGIC, 8);
	wr_uint(&w, EMU_STATE_BIN_VERSION, 4);
	wr_uint(&w, 0, 4);
	wr_uint(&w, at, 8);
	wr_uint(&w, 0, 8); /* counts, patched below */
	wr_uint(&w, 0, 8);
	wr_body(&w, srv, mode, &nsess);
	wr_finish(&w, nsess, srv->registry.count);
	int ret = w.oom ? -1 : lh_file_replace_private(path, w.buf, w.len, why, sizeof(why));
	saved_event(ret, path, trigger, why, nsess, srv->registry.count, w.len, t0, c0);
	free(w.buf);
	return ret;
}

/* ---- Reading ---- */

struct rd {
	uint8_t *p, *end, *base;
	const char *rec; /* "session", "registration": for messages */
	uint64_t idx;	 /* which one */
	char *err;
	size_t err_size;
	int bad;
};

/* Fails the read once, naming the record, field and offset. */
static void rd_fail(struct rd *r, const char *field, const char *why)
{
	if (r->bad++)
		return;
	snprintf(r->err, r->err_size, "%s %llu: %s at byte %zu: %s", r->rec,
		 (unsigned long long)r->idx, field, (size_t)(r->p - r->base), why);
}

/* n bytes of field, or NULL (failed) past the end. */
static uint8_t *rd_take(struct rd *r, size_t n, const char *field)
{
	if (r->bad)
		return NULL;
	if ((size_t)(r->end - r->p) < n) {
		rd_fail(r, field, "truncated");
		return NULL;
	}
	uint8_t *at = r->p;
	r->p += n;
	return at;
}

static uint64_t rd_uint(struct rd *r, size_t size, const char *field)
{
	const uint8_t *b = rd_take(r, size, field);
	uint64_t v = 0;
	for (size_t i = 0; b && i < size; i++)
		v |= (uint64_t)b[i] << (8 * i);
	return v;
}

/* A string of at most max bytes with a size-byte length, no NUL inside. */
static const char *rd_str(struct rd *r, size_t size, size_t max, size_t *len, const char *field)
{
	*len = (size_t)rd_uint(r, size, field);
	if (!r->bad && *len > max)
		rd_fail(r, field, "too long");
	const char *s = (const char *)rd_take(r, *len, field);
	if (s && memchr(s, '\0', *len))
		rd_fail(r, field, "contains a NUL byte");
	return r->bad ? NULL : s;
}

/* Copies a string field into a C string of size (longer ones failed). */
static void rd_cstr(struct rd *r, size_t lsize, char *out, size_t size, const char *field)
{
	size_t len;
	const char *s = rd_str(r, lsize, size - 1, &len, field);
	memcpy(out, s ? s : "", s ? len : 0);
	out[s ? len : 0] = '\0';
}

struct bsess {
	uint64_t id, last_order;
	char vhost[256], identity[EMU_PSK_IDENTITY_MAX + 1], subject[256];
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t cid[EMU_CID_MAX];
	size_t cid_len, ctx_len;
	uint8_t lineage[16];
	int has_lineage;
	uint8_t *ctx;
};

/* The peer address of a session record. */
static void rd_addr(struct rd *r, struct bsess *s)
{
	unsigned fam = (unsigned)rd_uint(r, 1, "peer family");
	memset(&s->peer, 0, sizeof(s->peer));
	if (!r->bad && fam != 4 && fam != 6)
		rd_fail(r, "peer family", "neither 4 nor 6");
	const uint8_t *a = rd_take(r, fam == 6 ? 16 : 4, "peer address");
	uint16_t port = (uint16_t)rd_uint(r, 2, "peer port");
	if (r->bad)
		return;
	if (fam == 4) {
		struct sockaddr_in *in = (struct sockaddr_in *)&s->peer;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, a, 4);
		in->sin_port = htons(port);
		s->peer_len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->peer;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, a, 16);
		in6->sin6_port = htons(port);
		s->peer_len = sizeof(*in6);
	}
}

/* An optional 16-byte lineage with its presence byte. */
static int rd_lineage(struct rd *r, uint8_t out[16])
{
	unsigned has = (unsigned)rd_uint(r, 1, "lineage flag");
	const uint8_t *l = rd_take(r, 16, "lineage");
	if (!r->bad && has > 1)
		rd_fail(r, "lineage flag", "neither 0 nor 1");
	if (l)
		memcpy(out, l, 16);
	return has == 1;
}

/* One session record; the context is checked (and its record counter moved
 * on by margin, in place). */
static void rd_session(struct rd *r, struct bsess *s, uint64_t margin)
{
	size_t len;
	char why[256];
	uint64_t seq;
	s->id = rd_uint(r, 8, "id");
	rd_cstr(r, 1, s->vhost, sizeof(s->vhost), "vhost");
	rd_addr(r, s);
	/* A CID is bytes (any value), not text. */
	s->cid_len = (size_t)rd_uint(r, 1, "own_cid length");
	if (!r->bad && s->cid_len > EMU_CID_MAX)
		rd_fail(r, "own_cid", "longer than 32 bytes");
	const uint8_t *cid = rd_take(r, s->cid_len, "own_cid");
	if (cid)
		memcpy(s->cid, cid, s->cid_len);
	rd_cstr(r, 2, s->identity, sizeof(s->identity), "identity");
	rd_cstr(r, 2, s->subject, sizeof(s->subject), "subject");
	s->has_lineage = rd_lineage(r, s->lineage);
	s->last_order = rd_uint(r, 8, "last_order");
	s->ctx_len = (size_t)rd_uint(r, 2, "context length");
	s->ctx = rd_take(r, s->ctx_len, "context");
	(void)len;
	if (s->ctx &&
	    emu_state_ctx_advance(s->ctx, s->ctx_len, margin, &seq, why, sizeof(why)) < 0) {
		r->p -= s->ctx_len;
		rd_fail(r, "context", why);
	}
}

struct breg {
	char location[EMU_LOCATION_MAX];
	char *endpoint, *identity, *lwm2m, *binding;
	json_t *links;
	uint32_t lifetime;
	int64_t remaining_ms;
	uint64_t session;
	uint8_t lineage[16];
	int has_lineage;
};

/* An optional string, malloc'd (NULL when absent or failed). */
static char *rd_nstr(struct rd *r, const char *field)
{
	uint8_t *at = r->p;
	size_t len = (size_t)rd_uint(r, 2, field);
	if (r->bad || len == NSTR_NONE)
		return NULL;
	r->p = at;
	const char *s = rd_str(r, 2, NSTR_NONE - 1, &len, field);
	return s ? strndup(s, len) : NULL;
}

/* The links of the registration restored before: their bytes in the file
 * and the array the registry shares for them. A fleet's registrations
 * mostly carry the same links, and the next one with the same bytes takes
 * that array (the registry then finds its entry by the pointer) instead of
 * a new JSON array built, written out as text and looked up. */
struct links_memo {
	const uint8_t *raw;
	size_t len;
	json_t *links; /* a reference, or NULL */
};

/* The link-values of a registration (count, then each string), checked;
 * into a JSON array when links is not NULL. */
static void rd_links_into(struct rd *r, json_t *links)
{
	uint32_t n = (uint32_t)rd_uint(r, 4, "links count");
	if (!r->bad && n > (size_t)(r->end - r->p) / 2)
		rd_fail(r, "links count", "more links than bytes left");
	for (uint32_t i = 0; i < n && !r->bad; i++) {
		size_t len;
		const char *l = rd_str(r, 2, NSTR_NONE - 1, &len, "link");
		if (l && links)
			json_array_append_new(links, json_stringn(l, len));
	}
}

/* The link-values as the JSON array the registry keeps: the memo's when the
 * bytes are the same, else a new one (and the memo forgets its array until
 * the caller gives it this record's). Without a memo (the check walk) they
 * are only checked: NULL. */
static json_t *rd_links(struct rd *r, struct links_memo *m)
{
	uint8_t *at = r->p;
	json_t *links;
	rd_links_into(r, NULL);
	if (!m || r->bad)
		return NULL;
	size_t len = (size_t)(r->p - at);
	if (m->links && len == m->len && memcmp(at, m->raw, len) == 0)
		return json_incref(m->links);
	json_decref(m->links);
	*m = (struct links_memo){.raw = at, .len = len};
	links = json_array();
	r->p = at;
	rd_links_into(r, links);
	return links;
}

/* One registration record (strings malloc'd; breg_free releases them);
 * its links with the memo (see rd_links). */
static void rd_reg(struct rd *r, struct breg *g, struct links_memo *m)
{
	size_t len;
	rd_cstr(r, 1, g->location, sizeof(g->location), "location");
	if (!r->bad && strncmp(g->location, "/rd/", 4) != 0)
		rd_fail(r, "location", "does not start with /rd/");
	const char *ep = rd_str(r, 2, NSTR_NONE - 1, &len, "endpoint");
	if (ep && len == 0)
		rd_fail(r, "endpoint", "empty");
	g->endpoint = ep && len ? strndup(ep, len) : NULL;
	g->identity = rd_nstr(r, "identity");
	g->lwm2m = rd_nstr(r, "lwm2m");
	g->binding = rd_nstr(r, "binding");
	g->links = rd_links(r, m);
	g->lifetime = (uint32_t)rd_uint(r, 4, "lifetime");
	g->remaining_ms = (int64_t)rd_uint(r, 8, "remaining_ms");
	g->session = rd_uint(r, 8, "session");
	g->has_lineage = rd_lineage(r, g->lineage);
}

static void breg_free(struct breg *g)
{
	free(g->endpoint);
	free(g->identity);
	free(g->lwm2m);
	free(g->binding);
	json_decref(g->links);
	memset(g, 0, sizeof(*g));
}

/* ---- The document ---- */

struct bdoc {
	uint8_t *buf;
	size_t len;
	uint64_t nsess, nregs;
	double saved_at;
	struct stat st; /* the file read: which one, and as of when */
};

/* Reads the whole file (never through a link) into doc->buf. */
static int read_all(const char *path, struct bdoc *doc, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &doc->st) != 0) {
		snprintf(err, err_size, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	doc->len = (size_t)doc->st.st_size;
	doc->buf = malloc(doc->len ? doc->len : 1);
	size_t off = 0;
	while (doc->buf && off < doc->len) {
		ssize_t n = read(fd, doc->buf + off, doc->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!doc->buf || off != doc->len) {
		snprintf(err, err_size, "cannot read it: %s",
			 doc->buf ? strerror(errno) : "no memory");
		return -1;
	}
	return 0;
}

/* The smallest records: sessions and registrations cannot be more than the
 * file's bytes allow (so a forged count allocates nothing big). */
#define SESS_MIN 64
#define REG_MIN 48

/* Magic, version, flags, counts, checksum. */
static int check_header(struct bdoc *doc, char *err, size_t err_size)
{
	const uint8_t *b = doc->buf;
	uint64_t v[5] = {0}, sum = 0;
	if (doc->len < HDR_LEN + 8 || memcmp(b, EMU_STATE_BIN_MAGIC, 8) != 0)
		return snprintf(err, err_size, "header: not a binary state file"), -1;
	for (int f = 0; f < 5; f++)
		for (int i = 0; i < 8 && f * 8 + i < 32; i++)
			v[f] |= (uint64_t)b[8 + f * 8 + i] << (8 * i);
	uint32_t version = (uint32_t)v[0], flags = (uint32_t)(v[0] >> 32);
	memcpy(&doc->saved_at, b + 16, 8);
	for (int i = 0; i < 8; i++) {
		doc->nsess |= (uint64_t)b[24 + i] << (8 * i);
		doc->nregs |= (uint64_t)b[32 + i] << (8 * i);
		sum |= (uint64_t)b[doc->len - 8 + i] << (8 * i);
	}
	if (version != EMU_STATE_BIN_VERSION)
		return snprintf(
			   err, err_size,
			   "header: version: unknown state version %u (this emulator reads %d)",
			   version, EMU_STATE_BIN_VERSION),
		       -1;
	if (flags != 0)
		return snprintf(err, err_size, "header: flags: unknown flags 0x%x", flags), -1;
	if (emu_state_bin_checksum(b, doc->len - 8) != sum)
		return snprintf(err, err_size,
				"checksum: mismatch: the file is corrupt or was edited"),
		       -1;
	if (doc->nsess > doc->len / SESS_MIN || doc->nregs > doc->len / REG_MIN)
		return snprintf(err, err_size, "header: counts: more records than the file holds"),
		       -1;
	return 0;
}

/* A key that must be unique in the file: kind, length, bytes; the record. */
struct ukey {
	uint8_t kind, len, b[38];
	uint64_t rec;
};

static int ukey_cmp(const void *a, const void *b)
{
	const struct ukey *x = a, *y = b;
	if (x->kind != y->kind || x->len != y->len)
		return x->kind != y->kind ? (int)x->kind - (int)y->kind : (int)x->len - (int)y->len;
	return memcmp(x->b, y->b, x->len);
}

/* A duplicate among n keys (sorted in place), or -1. */
static long find_dup_sorted(struct ukey *keys, size_t n)
{
	qsort(keys, n, sizeof(*keys), ukey_cmp);
	for (size_t i = 1; i < n; i++)
		if (ukey_cmp(&keys[i - 1], &keys[i]) == 0)
			return (long)i;
	return -1;
}

/* A key's slot in find_dup's set: one lane over its words, then the
 * finalizer (the file's four-lane checksum spent ~280 instructions on each
 * of a 100k-session file's 500k keys). Equal keys hash equal; a collision
 * only costs a compare. */
static uint64_t ukey_hash(const struct ukey *k)
{
	const uint64_t mul = UINT64_C(0x9e3779b97f4a7c15);
	uint64_t h = (uint64_t)k->kind << 8 | k->len;
	for (size_t i = 0; i < k->len; i += 8) {
		uint64_t w = 0;
		memcpy(&w, k->b + i, k->len - i < 8 ? k->len - i : 8);
		h = (h ^ w) * mul;
		h = (h << 31) | (h >> 33);
	}
	return fmix64(h);
}

/* The first key equal to an earlier one, or -1: a set of the keys (open
 * addressing on their 64-bit hash, exact compare on a hit), O(n) where
 * sorting 400k keys of a 100k-session file took ~100 ms. Out of memory:
 * the sort instead. */
static long find_dup(struct ukey *keys, size_t n)
{
	size_t cap = 16;
	while (cap < 2 * n)
		cap *= 2;
	uint32_t *slot = n < UINT32_MAX ? calloc(cap, sizeof(*slot)) : NULL; /* index + 1 */
	long dup = -1;
	if (!slot)
		return find_dup_sorted(keys, n);
	for (size_t i = 0; i < n && dup < 0; i++) {
		size_t j = (size_t)ukey_hash(&keys[i]) & (cap - 1);
		while (slot[j] && dup < 0) {
			if (ukey_cmp(&keys[slot[j] - 1], &keys[i]) == 0)
				dup = (long)i;
			j = (j + 1) & (cap - 1);
		}
		slot[j] = (uint32_t)(i + 1);
	}
	free(slot);
	return dup;
}

/* Names a duplicate key for the error message. */
static void dup_msg(const struct ukey *k, char *err, size_t err_size)
{
	static const char *const what[] = {"session id", "own_cid", "location", "endpoint"};
	char hex[2 * sizeof(k->b) + 1];
	for (size_t i = 0; i < k->len; i++)
		snprintf(hex + 2 * i, 3, "%02x", k->b[i]);
	hex[2 * k->len] = '\0';
	snprintf(err, err_size, "%s %llu: duplicate %s (hex %s)",
		 k->kind >= 2 ? "registration" : "session", (unsigned long long)k->rec,
		 what[k->kind], hex);
}

/* An endpoint's key: its length, a 64-bit checksum of it and its first 28
 * bytes (equal keys for different names would need all three to agree). */
static void ep_key(struct ukey *k, const char *ep, uint64_t rec)
{
	size_t len = strlen(ep);
	uint64_t sum = emu_state_bin_checksum((const uint8_t *)ep, len);
	*k = (struct ukey){.kind = 3, .len = 38, .rec = rec};
	memcpy(k->b, &len, 2);
	memcpy(k->b + 2, &sum, 8);
	memcpy(k->b + 10, ep, len < 28 ? len : 28);
}

/* Walks every record once: bounds, shapes, contexts (counters moved on by
 * margin in place); collects the keys that must be unique. */
static int walk(struct bdoc *doc, uint64_t margin, struct ukey *keys, size_t *nkeys, char *err,
		size_t err_size)
{
	struct rd r = {
	    doc->buf + HDR_LEN, doc->buf + doc->len - 8, doc->buf, "session", 0, err, err_size, 0};
	struct bsess *s = malloc(sizeof(*s));
	struct breg g = {0};
	*nkeys = 0;
	for (uint64_t i = 0; s && !r.bad && i < doc->nsess; i++) {
		r.idx = i;
		rd_session(&r, s, margin);
		if (r.bad) /* s is not to be trusted: its CID length may be any byte */
			break;
		keys[(*nkeys)++] = (struct ukey){.kind = 0, .len = 8, .rec = i};
		memcpy(keys[*nkeys - 1].b, &s->id, 8);
		if (s->cid_len) {
			keys[*nkeys] =
			    (struct ukey){.kind = 1, .len = (uint8_t)s->cid_len, .rec = i};
			memcpy(keys[(*nkeys)++].b, s->cid, s->cid_len);
		}
	}
	for (uint64_t i = 0; s && !r.bad && i < doc->nregs; i++) {
		r.rec = "registration";
		r.idx = i;
		rd_reg(&r, &g, NULL);
		if (r.bad) {
			breg_free(&g);
			break;
		}
		keys[*nkeys] =
		    (struct ukey){.kind = 2, .len = (uint8_t)strlen(g.location), .rec = i};
		memcpy(keys[(*nkeys)++].b, g.location, strlen(g.location));
		if (g.endpoint)
			ep_key(&keys[(*nkeys)++], g.endpoint, i);
		breg_free(&g);
	}
	if (!s)
		snprintf(err, err_size, "out of memory");
	if (s && !r.bad && r.p != r.end)
		rd_fail(&r, "end", "trailing bytes after the last record");
	free(s);
	return s && !r.bad ? 0 : -1;
}

/* Walks every record of a document whose header checked out and checks
 * that ids, CIDs and locations are unique. */
static int validate_body(struct bdoc *doc, uint64_t margin, char *err, size_t err_size)
{
	struct ukey *keys = NULL;
	size_t nkeys = 0;
	int ret = -1;
	keys = malloc(sizeof(*keys) * (2 * doc->nsess + 2 * doc->nregs + 1));
	if (!keys) {
		snprintf(err, err_size, "out of memory for %llu sessions",
			 (unsigned long long)doc->nsess);
		goto exit;
	}
	if (walk(doc, margin, keys, &nkeys, err, err_size) < 0)
		goto exit;
	long dup = find_dup(keys, nkeys);
	if (dup >= 0) {
		dup_msg(&keys[dup], err, err_size);
		goto exit;
	}
	ret = 0;
exit:
	free(keys);
	return ret;
}

int emu_state_bin_is(const char *path)
{
	char magic[8];
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
	if (fd >= 0)
		close(fd);
	return n == (ssize_t)sizeof(magic) && memcmp(magic, EMU_STATE_BIN_MAGIC, 8) == 0;
}

/* The document emu_state_bin_check validated before start, for
 * emu_state_bin_load to use instead of reading and validating the file a
 * second time (100k sessions: 40 MB, a few hundred ms). Only the file's
 * bytes: nothing of a server. */
static struct {
	char *path;
	struct bdoc doc;
	int64_t ms, cpu_ms; /* what the check took */
} prechecked;

static void prechecked_clear(void)
{
	free(prechecked.path);
	free(prechecked.doc.buf);
	memset(&prechecked, 0, sizeof(prechecked));
}

/* Reads and validates path, record counters moved on in place by the
 * margin of its saved_at (what a restore then uses as it is). */
static int read_valid(const char *path, struct bdoc *doc, char *err, size_t err_size)
{
	if (read_all(path, doc, err, err_size) < 0 || check_header(doc, err, err_size) < 0 ||
	    validate_body(doc, emu_state_seq_margin(doc->saved_at), err, err_size) < 0) {
		free(doc->buf);
		memset(doc, 0, sizeof(*doc));
		return -1;
	}
	return 0;
}

int emu_state_bin_check(const char *path, char *err, size_t err_size)
{
	struct bdoc doc = {0};
	int64_t t0 = lh_time_mono_ms(), c0 = cpu_ms();
	prechecked_clear();
	if (read_valid(path, &doc, err, err_size) < 0)
		return -1;
	prechecked.path = strdup(path);
	if (prechecked.path) {
		prechecked.doc = doc;
		prechecked.ms = lh_time_mono_ms() - t0;
		prechecked.cpu_ms = cpu_ms() - c0;
	} else
		free(doc.buf);
	return 0;
}

/* Whether st is the file that was read for doc (same inode, size and
 * modification time): else it was replaced or changed since. */
static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* The validated document of path: the one checked before start when the
 * file is still that one (the margin it was moved on by then still covers
 * every record the previous process sent), else read and validated now. */
static int take_doc(const char *path, struct bdoc *doc, int64_t check[2], char *err,
		    size_t err_size)
{
	struct stat st;
	int fresh = prechecked.path && strcmp(prechecked.path, path) == 0 &&
		    lstat(path, &st) == 0 && same_file(&st, &prechecked.doc.st);
	if (fresh) {
		*doc = prechecked.doc;
		prechecked.doc.buf = NULL;
		check[0] = prechecked.ms;
		check[1] = prechecked.cpu_ms;
	}
	prechecked_clear();
	return fresh ? 0 : read_valid(path, doc, err, err_size);
}

/* old session id -> new, sorted by old for bsearch. */
struct idmap {
	uint64_t old;
	struct emu_hib *h;
};

static int idmap_cmp(const void *a, const void *b)
{
	const struct idmap *x = a, *y = b;
	return x->old < y->old ? -1 : x->old > y->old;
}

/* Restores one validated session as a hibernated one (NULL: not). */
static struct emu_hib *apply_session(struct emu_server *srv, const struct bsess *s)
{
	struct emu_vhost *v =
	    s->vhost[0] ? emu_vhost_find(srv, (const uint8_t *)s->vhost, strlen(s->vhost)) : NULL;
	struct emu_hib_saved in = {
	    .vhost = v,
	    .peer = (const struct sockaddr *)&s->peer,
	    .peer_len = s->peer_len,
	    .cid = s->cid,
	    .cid_len = s->cid_len,
	    .blob = s->ctx,
	    .blob_len = s->ctx_len,
	    .identity = s->identity,
	    .subject = s->subject,
	    .lineage = s->has_lineage ? s->lineage : NULL,
	    .last_order = s->last_order,
	};
	struct emu_hib *h = emu_hib_restore(srv, &in);
	if (!h) {
		lh_event_emitf("session_not_restored", "{s:I, s:s}", "old_session",
			       (json_int_t)s->id, "reason", "out of memory or CID taken");
		return NULL;
	}
	/* No session_restored per session (the JSON format has them): at the
	 * scale this format is for, state_restored sums them up. */
	return h;
}

/* Restores one validated registration, re-pointed at its new session;
 * NULL when it could not be. */
static struct emu_reg *apply_reg(struct emu_server *srv, struct breg *g, const struct idmap *map,
				 size_t n)
{
	struct emu_reg *r = emu_registry_restore_new(&srv->registry, g->location, g->endpoint,
						     g->identity, g->links);
	if (!r)
		return NULL;
	struct idmap key = {.old = g->session}, *m = bsearch(&key, map, n, sizeof(*map), idmap_cmp);
	r->lwm2m = emu_reg_text(g->lwm2m); /* g's own copies go with breg_free */
	r->binding = emu_reg_text(g->binding);
	r->lifetime = g->lifetime;
	emu_registry_set_expiry(&srv->registry, r, lh_time_mono_ms() + g->remaining_ms);
	r->session = m ? m->h->id : 0;
	if (m) /* the idle timeout must see the registration it holds */
		memcpy(m->h->location, r->location, sizeof(m->h->location));
	if (g->has_lineage)
		emu_registry_set_lineage(&srv->registry, r, g->lineage);
	return r;
}

/* Second walk of a validated document: every record applied. */
static void apply(struct emu_server *srv, struct bdoc *doc, struct idmap *map, size_t *nsess,
		  size_t *nregs)
{
	char err[8];
	struct rd r = {
	    doc->buf + HDR_LEN, doc->buf + doc->len - 8, doc->buf, "", 0, err, sizeof(err), 0};
	struct bsess *s = malloc(sizeof(*s));
	struct breg g = {0};
	struct links_memo memo = {0};
	size_t n = 0;
	for (uint64_t i = 0; s && i < doc->nsess; i++) {
		rd_session(&r, s, 0);
		struct emu_hib *h = apply_session(srv, s);
		if (h)
			map[n++] = (struct idmap){s->id, h};
		if (n == 1 && h) /* the tables exist now: sized for all at once */
			emu_hib_reserve(srv, doc->nsess);
	}
	free(s);
	*nsess = n;
	qsort(map, n, sizeof(*map), idmap_cmp);
	*nregs = 0;
	for (uint64_t i = 0; i < doc->nregs; i++) {
		rd_reg(&r, &g, &memo);
		struct emu_reg *reg = apply_reg(srv, &g, map, n);
		if (reg && !memo.links) /* the array the registry shares for these bytes */
			memo.links = json_incref(reg->links);
		*nregs += reg != NULL;
		breg_free(&g);
		if (*nregs == 1)
			emu_registry_reserve(&srv->registry, doc->nregs);
	}
	json_decref(memo.links);
}

/* Rewrites the file after a restore from the restored document itself:
 * record counters already moved on, saved_at now, a new checksum. The
 * content a save of the restored sessions would write (but for their ids,
 * which the file's registrations match), without serializing them again.
 * 0, or -1 (event + stderr, as a failed save). */
static int rewrite_doc(struct bdoc *doc, const char *path)
{
	char why[512];
	int64_t t0 = lh_time_mono_ms(), c0 = cpu_ms();
	double now = lh_time_wall();
	uint64_t at, sum;
	memcpy(&at, &now, 8);
	for (int i = 0; i < 8; i++)
		doc->buf[16 + i] = (uint8_t)(at >> (8 * i));
	sum = emu_state_bin_checksum(doc->buf, doc->len - 8);
	for (int i = 0; i < 8; i++)
		doc->buf[doc->len - 8 + i] = (uint8_t)(sum >> (8 * i));
	int ret = lh_file_replace_private(path, doc->buf, doc->len, why, sizeof(why));
	saved_event(ret, path, "restore", why, doc->nsess, doc->nregs, doc->len, t0, c0);
	return ret;
}

int emu_state_bin_load(struct emu_server *srv, const char *path, int rewrite, char *err,
		       size_t err_size)
{
	struct bdoc doc = {0};
	struct idmap *map = NULL;
	size_t nsess = 0, nregs = 0;
	int64_t t0 = lh_time_mono_ms(), c0 = cpu_ms();
	int64_t check[2] = {-1, -1};
	int ret = -1;
	if (take_doc(path, &doc, check, err, err_size) < 0)
		goto exit;
	map = malloc(sizeof(*map) * (doc.nsess + 1));
	if (!map) {
		snprintf(err, err_size, "out of memory");
		goto exit;
	}
	apply(srv, &doc, map, &nsess, &nregs);
	/* check_ms: the validation before start, when the load used it (-1:
	 * the load validated the file itself, within ms). */
	lh_event_emitf("state_restored", "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "path", path,
		       "format", "binary", "sessions", (json_int_t)nsess, "registrations",
		       (json_int_t)nregs, "ms", (json_int_t)(lh_time_mono_ms() - t0), "cpu_ms",
		       (json_int_t)(cpu_ms() - c0), "check_ms", (json_int_t)check[0],
		       "check_cpu_ms", (json_int_t)check[1]);
	ret = 0;
	/* Everything came back: the document is what a save would write. */
	if (rewrite && nsess == doc.nsess && nregs == doc.nregs)
		ret = rewrite_doc(&doc, path) == 0 ? 1 : -2;
exit:
	free(map);
	free(doc.buf);
	return ret;
}
