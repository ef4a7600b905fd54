#include "emu_state.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/base64.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_server.h"
#include "emu_state_bin.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "emu_transport.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_file.h"
#include "lh_hex.h"
#include "lh_time.h"

#define EMU_STATE_VERSION 2
#define EMU_CTX_MAX 4096

/* ---- Advancing a saved context's outgoing record sequence number ----
 * Mbed TLS 3.6's mbedtls_ssl_context_save writes (library/ssl_tls.c):
 *   version[3] (major, minor, patch), format[5] (session flags[2],
 *   context flags[3]: bit 0 CID, 1 badmac (always), 2 anti-replay, 3 ALPN),
 *   session<4-byte length>, random[64], in_cid<1>, out_cid<1> (CID),
 *   badmac_seen[4], in_window_top[8] + in_window[8] (anti-replay),
 *   disable_datagram_packing[1], cur_out_ctr[8] (epoch[2] + seq[6]),
 *   mtu[2], alpn<1> (ALPN); nothing after.
 * There is no setter for cur_out_ctr, so the saved bytes are patched. */

#define CTX_FLAG_CID 0x01u
#define CTX_FLAG_BADMAC 0x02u
#define CTX_FLAG_REPLAY 0x04u
#define CTX_FLAG_ALPN 0x08u
#define SEQ_MAX ((UINT64_C(1) << 48) - 1)

/* The context flags this build's Mbed TLS writes: a blob with others was
 * made by a differently configured library and its layout is not ours. */
static unsigned ctx_flags_expected(void)
{
	unsigned f = CTX_FLAG_BADMAC;
#if defined(MBEDTLS_SSL_DTLS_CONNECTION_ID)
	f |= CTX_FLAG_CID;
#endif
#if defined(MBEDTLS_SSL_DTLS_ANTI_REPLAY)
	f |= CTX_FLAG_REPLAY;
#endif
#if defined(MBEDTLS_SSL_ALPN)
	f |= CTX_FLAG_ALPN;
#endif
	return f;
}

struct ctx_cur {
	uint8_t *p, *end;
};

/* Steps over n bytes; NULL when the blob is shorter (so no read past it). */
static uint8_t *ctx_take(struct ctx_cur *c, size_t n)
{
	uint8_t *at = c->p;
	if ((size_t)(c->end - c->p) < n)
		return NULL;
	c->p += n;
	return at;
}

/* Steps over a field with a 1-byte length prefix. */
static int ctx_take_vec8(struct ctx_cur *c)
{
	uint8_t *len = ctx_take(c, 1);
	return len && ctx_take(c, *len) ? 0 : -1;
}

/* Checks the 8-byte header: an Mbed TLS 3.6 blob, written by the library
 * this process runs (version bytes) with this build's context options. */
static const char *ctx_check_header(struct ctx_cur *c)
{
	unsigned v = mbedtls_version_get_number();
	const uint8_t *h = ctx_take(c, 8);
	if (!h)
		return "shorter than its header";
	if (h[0] != 3 || h[1] != 6)
		return "not an Mbed TLS 3.6 context (its layout is known for 3.6 only)";
	if (h[0] != (v >> 24 & 0xff) || h[1] != (v >> 16 & 0xff) || h[2] != (v >> 8 & 0xff))
		return "saved by another Mbed TLS version than the one running";
	if (h[5] != 0 || h[6] != 0 || h[7] != ctx_flags_expected())
		return "context format flags differ from this build's";
	return NULL;
}

/* Walks the fields before cur_out_ctr; NULL or the reason it cannot. */
static const char *ctx_skip_to_ctr(struct ctx_cur *c, unsigned flags)
{
	const uint8_t *len = ctx_take(c, 4);
	if (!len)
		return "truncated before the session";
	size_t session_len = (size_t)len[0] << 24 | (size_t)len[1] << 16 | len[2] << 8 | len[3];
	if (!ctx_take(c, session_len) || !ctx_take(c, 64))
		return "truncated in the session or transform";
	if ((flags & CTX_FLAG_CID) && (ctx_take_vec8(c) < 0 || ctx_take_vec8(c) < 0))
		return "truncated in the connection IDs";
	if (!ctx_take(c, 4) || ((flags & CTX_FLAG_REPLAY) && !ctx_take(c, 16)))
		return "truncated in the replay window";
	const uint8_t *packing = ctx_take(c, 1);
	if (!packing || *packing > 1)
		return "bad datagram-packing flag";
	return NULL;
}

int emu_state_ctx_advance(uint8_t *blob, size_t len, uint64_t margin, uint64_t *seq, char *why,
			  size_t why_size)
{
	struct ctx_cur c = {blob, blob + len};
	const char *bad = ctx_check_header(&c);
	uint8_t *ctr = NULL;
	if (!bad)
		bad = ctx_skip_to_ctr(&c, ctx_flags_expected());
	if (!bad && !(ctr = ctx_take(&c, 8)))
		bad = "truncated in the record counter";
	if (!bad &&
	    (!ctx_take(&c, 2) || ((ctx_flags_expected() & CTX_FLAG_ALPN) && ctx_take_vec8(&c) < 0)))
		bad = "truncated after the record counter";
	if (!bad && c.p != c.end)
		bad = "trailing bytes after the last field";
	/* After a DTLS 1.2 handshake without renegotiation the epoch is 1. */
	if (!bad && (ctr[0] != 0 || ctr[1] != 1))
		bad = "record epoch is not 1";
	uint64_t old = 0;
	for (int i = 2; !bad && i < 8; i++)
		old = old << 8 | ctr[i];
	if (!bad && (margin > SEQ_MAX || old > SEQ_MAX - margin))
		bad = "record sequence numbers exhausted";
	if (bad) {
		snprintf(why, why_size, "DTLS context refused: %s", bad);
		return -1;
	}
	for (int i = 7; i >= 2; i--)
		ctr[i] = (uint8_t)((old + margin) >> (8 * (7 - i)));
	*seq = old + margin;
	return 0;
}

/* Serializes one open session; NULL (and an event) when Mbed TLS cannot.
 * mbedtls_ssl_context_save resets the context: a live save (periodic, or
 * right after a restore) loads it straight back, so the session goes on
 * with the same keys and record counter. */
static json_t *save_session(struct emu_session *s, int live)
{
	unsigned char blob[EMU_CTX_MAX], b64[EMU_CTX_MAX * 2];
	size_t blen = 0, b64len = 0;
	char peer[LH_ADDR_STRLEN], cid[2 * EMU_CID_MAX + 1] = "";
	lh_hex_encode(s->cid, s->cid_indexed ? s->cid_len : 0, cid);
	lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer));
	int ret = mbedtls_ssl_context_save(&s->ssl, blob, sizeof(blob), &blen);
	if (ret == 0 && live && (ret = mbedtls_ssl_context_load(&s->ssl, blob, blen)) != 0) {
		/* context_load freed the context: this session cannot go on. */
		emu_session_close(s, "state_reload_failed");
		return NULL;
	}
	if (ret == 0 && live)
		mbedtls_ssl_set_mtu(&s->ssl, (uint16_t)emu_gen_cfg(s->srv)->mtu);
	if (ret == 0)
		ret = mbedtls_base64_encode(b64, sizeof(b64), &b64len, blob, blen);
	if (ret != 0) {
		lh_event_emitf("session_not_saved", "{s:I, s:s, s:i}", "session", (json_int_t)s->id,
			       "peer", peer, "mbedtls_error", ret);
		return NULL;
	}
	char lineage[2 * EMU_LINEAGE_LEN + 1] = "";
	lh_hex_encode(s->lineage, s->has_lineage ? EMU_LINEAGE_LEN : 0, lineage);
	return json_pack("{s:s?, s:I, s:s, s:s, s:s, s:s, s:I, s:s#, s:s}", "vhost",
			 s->vhost ? s->vhost->name : NULL, "id", (json_int_t)s->id, "peer", peer,
			 "identity", s->identity, "subject", s->subject, "own_cid", cid,
			 "last_order", (json_int_t)s->last_order, "context", (const char *)b64,
			 b64len, "lineage", lineage);
}

/* A hibernated session (emu_hibernate.h): its saved context as it is. */
static json_t *save_hib(const struct emu_hib *h)
{
	unsigned char b64[EMU_CTX_MAX * 3];
	size_t b64len = 0, il, sl;
	char peer[LH_ADDR_STRLEN], cid[2 * EMU_CID_MAX + 1] = "", id[EMU_PSK_IDENTITY_MAX + 1],
							 sub[256],
							 lineage[2 * EMU_LINEAGE_LEN + 1] = "";
	const char *ip = emu_hib_identity(h, &il), *sp = emu_hib_subject(h, &sl);
	if (mbedtls_base64_encode(b64, sizeof(b64), &b64len, emu_hib_blob(h), h->blob_len) != 0)
		return NULL;
	snprintf(id, sizeof(id), "%.*s", (int)il, ip);
	snprintf(sub, sizeof(sub), "%.*s", (int)sl, sp);
	lh_hex_encode(h->cid, (h->flags & EMU_HIB_CID_INDEXED) ? h->cid_len : 0, cid);
	lh_hex_encode(h->lineage, (h->flags & EMU_HIB_LINEAGE) ? EMU_LINEAGE_LEN : 0, lineage);
	return json_pack("{s:s?, s:I, s:s, s:s, s:s, s:s, s:I, s:s#, s:s}", "vhost",
			 h->vhost ? h->vhost->name : NULL, "id", (json_int_t)h->id, "peer",
			 lh_addr_format(&h->peer.sa, peer, sizeof(peer)), "identity", id, "subject",
			 sub, "own_cid", cid, "last_order", (json_int_t)h->last_order, "context",
			 (const char *)b64, b64len, "lineage", lineage);
}

/* One registration, with the time it has left and the session lineage
 * it was last seen on (so a resumption after the restart finds it). */
static json_t *save_reg(const struct emu_reg *r, int64_t now)
{
	char lineage[2 * EMU_LINEAGE_LEN + 1] = "";
	lh_hex_encode(r->lineage, r->has_lineage ? EMU_LINEAGE_LEN : 0, lineage);
	return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:O, s:I, s:I, s:I, s:s}", "location",
			 r->location, "endpoint", r->endpoint, "identity", r->identity, "lwm2m",
			 r->lwm2m, "binding", r->binding, "links", r->links, "lifetime",
			 (json_int_t)r->lifetime, "remaining_ms", (json_int_t)(r->expires_ms - now),
			 "session", (json_int_t)r->session, "lineage", lineage);
}

/* Reads a saved lineage (hex) into out; 1 when there is one. */
static int load_lineage(const json_t *j, uint8_t out[EMU_LINEAGE_LEN])
{
	const char *hex = json_string_value(json_object_get(j, "lineage"));
	return hex && lh_hex_decode(hex, out, EMU_LINEAGE_LEN) == EMU_LINEAGE_LEN;
}

/* Writes root to path atomically, readable by the owner only
 * (lh_file_replace_private), as one buffer: jansson's json_dumpfd makes one
 * write system call per token (seconds for a file of 10,000 sessions). */
static int write_private(const char *path, json_t *root, char *why, size_t why_size)
{
	char *text = json_dumps(root, JSON_INDENT(1));
	if (!text) {
		snprintf(why, why_size, "out of memory");
		return -1;
	}
	int ret = lh_file_replace_private(path, text, strlen(text), why, why_size);
	free(text);
	return ret;
}

/* SHA-256 (hex) over the canonical text of the document without its own
 * "sha256" member: compact, keys sorted, so key order and indentation in
 * the file do not matter but any changed value does. */
static int doc_digest(const json_t *root, char hex[65])
{
	uint8_t digest[32];
	json_t *copy = json_copy((json_t *)root);
	json_object_del(copy, "sha256");
	char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(copy);
	int ret = text ? mbedtls_sha256((const unsigned char *)text, strlen(text), digest, 0) : -1;
	free(text);
	if (ret == 0)
		lh_hex_encode(digest, sizeof(digest), hex);
	return ret;
}

/* Builds the document: every open DTLS session and every registration. */
static json_t *build_doc(struct emu_server *srv, int live)
{
	json_t *sessions = json_array(), *regs = json_array();
	struct emu_session *s, *stmp;
	struct emu_reg *r, *rtmp;
	int64_t now = lh_time_mono_ms();
	char hex[65];
	HASH_ITER(hh_id, srv->sessions.by_id, s, stmp)
	{
		/* A plain CoAP peer needs no saved state: its next datagram opens a
		 * new session, and its registration is saved below. A TLS
		 * connection dies with the process (Mbed TLS saves DTLS only). */
		json_t *js = s->state == EMU_SESS_OPEN && s->tp == &emu_transport_dtls
				 ? save_session(s, live)
				 : NULL;
		if (js)
			json_array_append_new(sessions, js);
	}
	for (struct emu_hib *h = emu_hib_first(srv); h; h = emu_hib_next(srv, h)) {
		json_t *js = save_hib(h);
		if (js)
			json_array_append_new(sessions, js);
	}
	HASH_ITER(hh_loc, srv->registry.by_loc, r, rtmp)
	json_array_append_new(regs, save_reg(r, now));
	json_t *root = json_pack("{s:i, s:f, s:o, s:o}", "version", EMU_STATE_VERSION, "saved_at",
				 lh_time_wall(), "sessions", sessions, "registrations", regs);
	if (root && doc_digest(root, hex) == 0)
		json_object_set_new(root, "sha256", json_string(hex));
	return root;
}

/* Saves now; trigger says why (shutdown, periodic, restore). A failure is
 * an event, not only a line on stderr: a test or operator must see that
 * crash safety is gone. */
static int state_save(struct emu_server *srv, const char *path, int mode, const char *trigger)
{
	if (emu_gen_cfg(srv)->state_binary)
		return emu_state_bin_save(srv, path, mode, trigger);
	char why[512] = "out of memory";
	json_t *root = build_doc(srv, mode == EMU_STATE_KEEP);
	int ret = root && json_object_get(root, "sha256")
		      ? write_private(path, root, why, sizeof(why))
		      : -1;
	if (ret == 0) {
		lh_event_emitf("state_saved", "{s:s, s:s, s:I, s:I}", "path", path, "trigger",
			       trigger, "sessions",
			       (json_int_t)json_array_size(json_object_get(root, "sessions")),
			       "registrations",
			       (json_int_t)json_array_size(json_object_get(root, "registrations")));
	} else {
		lh_event_emitf("state_save_failed", "{s:s, s:s, s:s}", "path", path, "trigger",
			       trigger, "reason", why);
		fprintf(stderr, "lwm2m-emulator: cannot write state %s: %s\n", path, why);
	}
	json_decref(root);
	return ret;
}

int emu_state_save(struct emu_server *srv, const char *path)
{
	return state_save(srv, path, emu_state_exit_fast() ? EMU_STATE_EXIT : EMU_STATE_SHUTDOWN,
			  "shutdown");
}

/* Sanitizer builds check that everything is freed at exit: they keep the
 * full teardown (so do runs with LWM2M_EMU_FULL_TEARDOWN=1, e.g. under
 * valgrind; =0 skips it even there, leaks then expected). */
#if defined(__SANITIZE_ADDRESS__)
#define EMU_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EMU_SANITIZED 1
#endif
#endif
#ifndef EMU_SANITIZED
#define EMU_SANITIZED 0
#endif

int emu_state_exit_fast(void)
{
	const char *full = getenv("LWM2M_EMU_FULL_TEARDOWN");
	if (full && strcmp(full, "0") == 0)
		return 1; /* even in a sanitizer build (to check the exit save's memory use) */
	return !EMU_SANITIZED && !(full && strcmp(full, "1") == 0);
}

void emu_state_tick(struct emu_server *srv, int64_t now)
{
	const struct emu_config *cfg = emu_gen_cfg(srv);
	if (!cfg->state || cfg->state_interval_s == 0)
		return;
	if (srv->next_state_save_ms == 0)
		srv->next_state_save_ms = now + (int64_t)cfg->state_interval_s * 1000;
	if (now < srv->next_state_save_ms)
		return;
	state_save(srv, cfg->state, EMU_STATE_KEEP, "periodic");
	srv->next_state_save_ms = now + (int64_t)cfg->state_interval_s * 1000;
}

/* The sequence numbers a restored context skips: at least 2^24, and 2^20
 * per second since the save (more records than the emulator can send in
 * that time), so none sent after the save and before a crash is reused. */
uint64_t emu_state_seq_margin(double saved_at)
{
	const double cap = (double)(UINT64_C(1) << 26); /* two years: still far from 2^48 */
	double since = lh_time_wall() - saved_at;
	uint64_t secs = 16;
	/* Bounded in double first: a file's saved_at may be anything (a
	 * century ahead, NaN), and the cast of an out-of-range double is
	 * undefined (fuzz_state_bin found it). */
	if (since >= cap)
		secs = UINT64_C(1) << 26;
	else if (since > 16)
		secs = (uint64_t)since + 1;
	return secs << 20;
}

/* Decodes a saved context and moves its record counter on by margin; -1
 * with why when the blob is not one whose layout can be verified. */
static int decode_context(const char *b64, uint64_t margin, uint8_t *blob, size_t *blen,
			  uint64_t *seq, char *why, size_t why_size)
{
	if (!b64 || mbedtls_base64_decode(blob, EMU_CTX_MAX, blen, (const unsigned char *)b64,
					  strlen(b64)) != 0) {
		snprintf(why, why_size, "not base64 or longer than %d bytes", EMU_CTX_MAX);
		return -1;
	}
	return emu_state_ctx_advance(blob, *blen, margin, seq, why, why_size);
}

/* Restores one session; returns its new id (0 when it could not be). */
static uint64_t load_session(struct emu_server *srv, const json_t *js, uint64_t margin)
{
	const char *peer_text = json_string_value(json_object_get(js, "peer"));
	const char *cid_hex = json_string_value(json_object_get(js, "own_cid"));
	unsigned char blob[EMU_CTX_MAX], cid[EMU_CID_MAX];
	int cid_len = cid_hex ? lh_hex_decode(cid_hex, cid, sizeof(cid)) : -1;
	size_t blen = 0;
	uint64_t seq = 0;
	struct sockaddr_storage peer;
	socklen_t plen;
	char err[256] = "malformed entry";
	struct emu_session *s = NULL;
	if (peer_text && cid_len >= 0 && lh_addr_parse(peer_text, 0, &peer, &plen) == 0 &&
	    decode_context(json_string_value(json_object_get(js, "context")), margin, blob, &blen,
			   &seq, err, sizeof(err)) == 0) {
		const char *vh = json_string_value(json_object_get(js, "vhost"));
		struct emu_vhost *v =
		    vh ? emu_vhost_find(srv, (const uint8_t *)vh, strlen(vh)) : NULL;
		s = emu_dtls_restore(srv, v, (struct sockaddr *)&peer, plen, cid, (size_t)cid_len,
				     blob, blen, err, sizeof(err));
	}
	if (!s) {
		lh_event_emitf("session_not_restored", "{s:O?, s:s}", "old_session",
			       json_object_get(js, "id"), "reason", err);
		return 0;
	}
	snprintf(s->identity, sizeof(s->identity), "%s",
		 json_string_value(json_object_get(js, "identity")) ?: "");
	snprintf(s->subject, sizeof(s->subject), "%s",
		 json_string_value(json_object_get(js, "subject")) ?: "");
	s->last_order = (uint64_t)json_integer_value(json_object_get(js, "last_order"));
	s->has_lineage = load_lineage(js, s->lineage);
	lh_event_emitf("session_restored", "{s:I, s:O?, s:s, s:s?, s:I}", "session",
		       (json_int_t)s->id, "old_session", json_object_get(js, "id"), "peer",
		       peer_text, "identity", s->identity[0] ? s->identity : NULL, "next_seq",
		       (json_int_t)seq);
	return s->id;
}

/* Restores one registration, re-pointing it at the restored session. */
static int load_reg(struct emu_server *srv, const json_t *jr, const json_t *ids)
{
	const char *loc = json_string_value(json_object_get(jr, "location"));
	const char *ep = json_string_value(json_object_get(jr, "endpoint"));
	const json_t *links = json_object_get(jr, "links");
	char old[32];
	struct emu_reg *r = NULL;
	if (loc && ep && json_is_array(links))
		r = emu_registry_restore(&srv->registry, loc, ep,
					 json_string_value(json_object_get(jr, "identity")),
					 (json_t *)links);
	if (!r)
		return -1;
	const char *lwm2m = json_string_value(json_object_get(jr, "lwm2m"));
	const char *b = json_string_value(json_object_get(jr, "binding"));
	r->lwm2m = emu_reg_text(lwm2m);
	r->binding = emu_reg_text(b);
	r->lifetime = (uint32_t)json_integer_value(json_object_get(jr, "lifetime"));
	emu_registry_set_expiry(&srv->registry, r,
				lh_time_mono_ms() +
				    json_integer_value(json_object_get(jr, "remaining_ms")));
	snprintf(old, sizeof(old), "%lld",
		 (long long)json_integer_value(json_object_get(jr, "session")));
	r->session = (uint64_t)json_integer_value(json_object_get(ids, old));
	uint8_t lineage[EMU_LINEAGE_LEN];
	if (load_lineage(jr, lineage))
		emu_registry_set_lineage(&srv->registry, r, lineage);
	return 0;
}

/* Applies a validated state document. */
static void load_doc(struct emu_server *srv, const char *path, const json_t *root)
{
	json_t *ids = json_object(); /* old session id -> new */
	const json_t *item;
	size_t i, nsess = 0, nregs = 0;
	uint64_t margin =
	    emu_state_seq_margin(json_number_value(json_object_get(root, "saved_at")));
	json_array_foreach(json_object_get(root, "sessions"), i, item)
	{
		uint64_t id = load_session(srv, item, margin);
		char old[32];
		snprintf(old, sizeof(old), "%lld",
			 (long long)json_integer_value(json_object_get(item, "id")));
		if (id) {
			json_object_set_new(ids, old, json_integer((json_int_t)id));
			nsess++;
		}
	}
	json_array_foreach(json_object_get(root, "registrations"), i, item)
	{
		if (load_reg(srv, item, ids) == 0)
			nregs++;
	}
	lh_event_emitf("state_restored", "{s:s, s:I, s:I}", "path", path, "sessions",
		       (json_int_t)nsess, "registrations", (json_int_t)nregs);
	json_decref(ids);
}

/* ---- Strict validation: every error names the JSON path at fault ---- */

/* Fails unless o[key] has the type; absent_ok/null_ok for optional ones. */
static int want(const json_t *o, const char *key, json_type type, int null_ok, const char *at,
		char *err, size_t err_size)
{
	static const char *const names[] = {"an object", "an array", "a string", "an integer",
					    "a number",	 "true",     "false",	 "null"};
	const json_t *v = json_object_get(o, key);
	if (v ? json_typeof(v) == type || (null_ok && json_is_null(v)) : null_ok)
		return 0;
	snprintf(err, err_size, "%s.%s: expected %s%s", at, key, names[type],
		 null_ok ? " or null" : "");
	return -1;
}

/* Rejects a second use of key (a session id, a CID, a location) in seen. */
static int unique(json_t *seen, const char *key, const char *at, char *err, size_t err_size)
{
	if (!json_object_get(seen, key))
		return json_object_set_new(seen, key, json_true());
	snprintf(err, err_size, "%s: duplicate %s", at, key);
	return -1;
}

/* One saved session: shape, unique id and CID, a verifiable context. */
static int check_session(const json_t *js, const char *at, json_t *seen, char *err, size_t err_size)
{
	uint8_t blob[EMU_CTX_MAX], cid[EMU_CID_MAX];
	size_t blen;
	uint64_t seq;
	char key[128], why[256];
	struct sockaddr_storage peer;
	socklen_t plen;
	if (!json_is_object(js))
		return snprintf(err, err_size, "%s: expected an object", at), -1;
	if (want(js, "id", JSON_INTEGER, 0, at, err, err_size) < 0 ||
	    want(js, "peer", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "own_cid", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "context", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "identity", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "subject", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "lineage", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(js, "last_order", JSON_INTEGER, 0, at, err, err_size) < 0 ||
	    want(js, "vhost", JSON_STRING, 1, at, err, err_size) < 0)
		return -1;
	const char *cid_hex = json_string_value(json_object_get(js, "own_cid"));
	if (lh_addr_parse(json_string_value(json_object_get(js, "peer")), 0, &peer, &plen) != 0)
		return snprintf(err, err_size, "%s.peer: not an address", at), -1;
	if (lh_hex_decode(cid_hex, cid, sizeof(cid)) < 0)
		return snprintf(err, err_size, "%s.own_cid: not hex of <= %d bytes", at,
				EMU_CID_MAX),
		       -1;
	snprintf(key, sizeof(key), "session id %lld",
		 (long long)json_integer_value(json_object_get(js, "id")));
	if (unique(seen, key, at, err, err_size) < 0)
		return -1;
	snprintf(key, sizeof(key), "CID %s", cid_hex);
	if (cid_hex[0] && unique(seen, key, at, err, err_size) < 0)
		return -1;
	if (decode_context(json_string_value(json_object_get(js, "context")), 1, blob, &blen, &seq,
			   why, sizeof(why)) < 0)
		return snprintf(err, err_size, "%s.context: %s", at, why), -1;
	return 0;
}

/* One saved registration: shape and a location used once. */
static int check_reg(const json_t *jr, const char *at, json_t *seen, char *err, size_t err_size)
{
	char key[300];
	if (!json_is_object(jr))
		return snprintf(err, err_size, "%s: expected an object", at), -1;
	if (want(jr, "location", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(jr, "endpoint", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(jr, "links", JSON_ARRAY, 0, at, err, err_size) < 0 ||
	    want(jr, "lifetime", JSON_INTEGER, 0, at, err, err_size) < 0 ||
	    want(jr, "remaining_ms", JSON_INTEGER, 0, at, err, err_size) < 0 ||
	    want(jr, "session", JSON_INTEGER, 0, at, err, err_size) < 0 ||
	    want(jr, "lineage", JSON_STRING, 0, at, err, err_size) < 0 ||
	    want(jr, "identity", JSON_STRING, 1, at, err, err_size) < 0 ||
	    want(jr, "lwm2m", JSON_STRING, 1, at, err, err_size) < 0 ||
	    want(jr, "binding", JSON_STRING, 1, at, err, err_size) < 0)
		return -1;
	snprintf(key, sizeof(key), "location %s",
		 json_string_value(json_object_get(jr, "location")));
	return unique(seen, key, at, err, err_size);
}

/* Version, checksum, then every entry. */
static int check_doc(const json_t *root, char *err, size_t err_size)
{
	char hex[65], at[64];
	const json_t *item;
	size_t i;
	int ret = -1;
	json_t *seen = json_object();
	if (!json_is_object(root)) {
		snprintf(err, err_size, "$: expected an object");
		goto exit;
	}
	const json_t *v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != EMU_STATE_VERSION) {
		snprintf(err, err_size, "$.version: unknown state version (this emulator reads %d)",
			 EMU_STATE_VERSION);
		goto exit;
	}
	if (want(root, "sha256", JSON_STRING, 0, "$", err, err_size) < 0 ||
	    want(root, "saved_at", JSON_REAL, 0, "$", err, err_size) < 0 ||
	    want(root, "sessions", JSON_ARRAY, 0, "$", err, err_size) < 0 ||
	    want(root, "registrations", JSON_ARRAY, 0, "$", err, err_size) < 0)
		goto exit;
	if (doc_digest(root, hex) != 0 ||
	    strcmp(hex, json_string_value(json_object_get(root, "sha256"))) != 0) {
		snprintf(err, err_size,
			 "$.sha256: checksum mismatch: the file is corrupt or was edited");
		goto exit;
	}
	json_array_foreach(json_object_get(root, "sessions"), i, item)
	{
		snprintf(at, sizeof(at), "$.sessions[%zu]", i);
		if (check_session(item, at, seen, err, err_size) < 0)
			goto exit;
	}
	json_array_foreach(json_object_get(root, "registrations"), i, item)
	{
		snprintf(at, sizeof(at), "$.registrations[%zu]", i);
		if (check_reg(item, at, seen, err, err_size) < 0)
			goto exit;
	}
	ret = 0;
exit:
	json_decref(seen);
	return ret;
}

/* Parses the whole file behind fd. Read in one buffer first: jansson's
 * json_loadfd reads one byte per system call (6 s for a 2.6 MB file of
 * 3000 sessions, twice per start). */
static json_t *load_fd(int fd, json_error_t *jerr)
{
	struct stat st;
	json_t *root = NULL;
	char *buf = fstat(fd, &st) == 0 ? malloc((size_t)st.st_size + 1) : NULL;
	size_t off = 0;
	while (buf && off < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + off, (size_t)st.st_size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (buf)
		root = json_loadb(buf, off, 0, jerr);
	else
		snprintf(jerr->text, sizeof(jerr->text), "cannot read it: %s", strerror(errno));
	free(buf);
	return root;
}

/* Reads and validates the state file. *root is NULL when there is none
 * (returns 0); -1 with err when it exists but is unusable. */
static int read_doc(const char *path, json_t **root, char *err, size_t err_size)
{
	json_error_t jerr = {.line = 0, .text = ""};
	*root = NULL;
	if (access(path, F_OK) != 0)
		return 0;
	/* Never read session keys through a link someone else planted. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_size, "%s", strerror(errno));
		return -1;
	}
	*root = load_fd(fd, &jerr);
	close(fd);
	if (!*root) {
		snprintf(err, err_size, "not JSON: %s (line %d)", jerr.text, jerr.line);
		return -1;
	}
	if (check_doc(*root, err, err_size) == 0)
		return 0;
	json_decref(*root);
	*root = NULL;
	return -1;
}

/* Before start, a path the emulator cannot save to is an error, not a
 * surprise at the first save: a temporary file is created and removed. */
static int probe_writable(const char *path, char *why, size_t why_size)
{
	char tmp[4200];
	int fd = lh_file_tmp_private(path, tmp, sizeof(tmp));
	if (fd < 0) {
		snprintf(why, why_size, "cannot create a file in its folder: %s", strerror(errno));
		return -1;
	}
	close(fd);
	unlink(tmp);
	return 0;
}

int emu_state_check(const char *path)
{
	char why[4400];
	json_t *root = NULL;
	if (lh_file_check_private(path, why, sizeof(why)) != 0) {
		fprintf(
		    stderr,
		    "lwm2m-emulator: --state %s refused: %s (the state file holds session keys: "
		    "use a file and folder only you own and can write, e.g. mode 0700)\n",
		    path, why);
		return -1;
	}
	if (probe_writable(path, why, sizeof(why)) != 0) {
		fprintf(stderr, "lwm2m-emulator: --state %s: %s\n", path, why);
		return -1;
	}
	if ((emu_state_bin_is(path) ? emu_state_bin_check(path, why, sizeof(why))
				    : read_doc(path, &root, why, sizeof(why))) != 0) {
		fprintf(stderr,
			"lwm2m-emulator: --state %s refused: %s; move it away to start without "
			"restoring\n",
			path, why);
		return -1;
	}
	json_decref(root);
	return 0;
}

int emu_state_load(struct emu_server *srv, const char *path)
{
	char err[512];
	json_t *root = NULL;
	if (emu_state_bin_is(path)) {
		int ret =
		    emu_state_bin_load(srv, path, emu_gen_cfg(srv)->state_binary, err, sizeof(err));
		if (ret == -1)
			fprintf(stderr,
				"lwm2m-emulator: --state %s refused: %s; move it away to start "
				"without restoring\n",
				path, err);
		if (ret != 0)
			return ret == 1 ? 0 : -1;
		return state_save(srv, path, EMU_STATE_KEEP, "restore");
	}
	if (read_doc(path, &root, err, sizeof(err)) != 0) {
		fprintf(stderr,
			"lwm2m-emulator: --state %s refused: %s; move it away to start "
			"without restoring\n",
			path, err);
		return -1;
	}
	if (!root)
		return 0;
	load_doc(srv, path, root);
	json_decref(root);
	/* The file stays (a crash before the next save restores it again), but
	 * it is rewritten now with the advanced record counters: a second
	 * restore from it must not reuse the sequence numbers this run sends. */
	return state_save(srv, path, EMU_STATE_KEEP, "restore");
}
