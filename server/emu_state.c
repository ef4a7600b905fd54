#include "emu_state.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/base64.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "emu_server.h"
#include "emu_dtls.h"
#include "emu_vhost.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_file.h"
#include "lh_hex.h"
#include "lh_time.h"

#define EMU_STATE_VERSION 1
#define EMU_CTX_MAX 4096

/* Serializes one open session; NULL (and an event) when Mbed TLS cannot. */
static json_t *save_session(struct emu_session *s)
{
	unsigned char blob[EMU_CTX_MAX], b64[EMU_CTX_MAX * 2];
	size_t blen = 0, b64len = 0;
	char peer[LH_ADDR_STRLEN], cid[2 * EMU_CID_MAX + 1] = "";
	lh_hex_encode(s->cid, s->cid_indexed ? s->cid_len : 0, cid);
	lh_addr_format((struct sockaddr *)&s->peer, peer, sizeof(peer));
	int ret = mbedtls_ssl_context_save(&s->ssl, blob, sizeof(blob), &blen);
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

/* Writes root to path atomically, readable by the owner only: through a
 * fresh temporary file (O_EXCL, 0600) in the same folder, fsync and rename,
 * so a link planted at a predictable name is never written through. */
static int write_private(const char *path, json_t *root)
{
	char tmp[4200];
	int ret = -1;
	int fd = lh_file_tmp_private(path, tmp, sizeof(tmp));
	if (fd < 0)
		goto exit;
	if (json_dumpfd(root, fd, JSON_INDENT(1)) == 0 && fsync(fd) == 0)
		ret = 0;
	close(fd);
	if (ret == 0 && rename(tmp, path) != 0)
		ret = -1;
	if (ret != 0)
		unlink(tmp);
exit:
	if (ret != 0)
		fprintf(stderr, "lwm2m-emulator: cannot write state %s: %s\n", path,
			strerror(errno));
	return ret;
}

int emu_state_check(const char *path)
{
	char why[4400];
	if (lh_file_check_private(path, why, sizeof(why)) == 0)
		return 0;
	fprintf(stderr,
		"lwm2m-emulator: --state %s refused: %s (the state file holds session keys: "
		"use a file and folder only you own and can write, e.g. mode 0700)\n",
		path, why);
	return -1;
}

int emu_state_save(struct emu_server *srv, const char *path)
{
	json_t *sessions = json_array(), *regs = json_array();
	struct emu_session *s, *stmp;
	struct emu_reg *r, *rtmp;
	int64_t now = lh_time_mono_ms();
	HASH_ITER(hh_id, srv->sessions.by_id, s, stmp)
	{
		/* A plain CoAP peer needs no saved state: its next datagram opens a
		 * new session, and its registration is saved below. */
		json_t *js = s->state == EMU_SESS_OPEN && s->tp->secure ? save_session(s) : NULL;
		if (js)
			json_array_append_new(sessions, js);
	}
	HASH_ITER(hh_loc, srv->registry.by_loc, r, rtmp)
	json_array_append_new(regs, save_reg(r, now));
	json_t *root = json_pack("{s:i, s:f, s:o, s:o}", "version", EMU_STATE_VERSION, "saved_at",
				 lh_time_wall(), "sessions", sessions, "registrations", regs);
	int ret = write_private(path, root);
	if (ret == 0)
		lh_event_emitf("state_saved", "{s:s, s:I, s:I}", "path", path, "sessions",
			       (json_int_t)json_array_size(sessions), "registrations",
			       (json_int_t)json_array_size(regs));
	json_decref(root);
	return ret;
}

/* Restores one session; returns its new id (0 when it could not be). */
static uint64_t load_session(struct emu_server *srv, const json_t *js)
{
	const char *peer_text = json_string_value(json_object_get(js, "peer"));
	const char *b64 = json_string_value(json_object_get(js, "context"));
	const char *cid_hex = json_string_value(json_object_get(js, "own_cid"));
	unsigned char blob[EMU_CTX_MAX], cid[EMU_CID_MAX];
	int cid_len = cid_hex ? lh_hex_decode(cid_hex, cid, sizeof(cid)) : -1;
	size_t blen = 0;
	struct sockaddr_storage peer;
	socklen_t plen;
	char err[128] = "malformed entry";
	struct emu_session *s = NULL;
	if (peer_text && b64 && cid_len >= 0 && lh_addr_parse(peer_text, 0, &peer, &plen) == 0 &&
	    mbedtls_base64_decode(blob, sizeof(blob), &blen, (const unsigned char *)b64,
				  strlen(b64)) == 0) {
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
	lh_event_emitf("session_restored", "{s:I, s:O?, s:s, s:s?}", "session", (json_int_t)s->id,
		       "old_session", json_object_get(js, "id"), "peer", peer_text, "identity",
		       s->identity[0] ? s->identity : NULL);
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
	r->lwm2m = lwm2m ? strdup(lwm2m) : NULL;
	r->binding = b ? strdup(b) : NULL;
	r->lifetime = (uint32_t)json_integer_value(json_object_get(jr, "lifetime"));
	r->expires_ms = lh_time_mono_ms() + json_integer_value(json_object_get(jr, "remaining_ms"));
	snprintf(old, sizeof(old), "%lld",
		 (long long)json_integer_value(json_object_get(jr, "session")));
	r->session = (uint64_t)json_integer_value(json_object_get(ids, old));
	uint8_t lineage[EMU_LINEAGE_LEN];
	if (load_lineage(jr, lineage))
		emu_registry_set_lineage(&srv->registry, r, lineage);
	return 0;
}

/* Applies a parsed state document. */
static void load_doc(struct emu_server *srv, const char *path, const json_t *root)
{
	json_t *ids = json_object(); /* old session id -> new */
	const json_t *item;
	size_t i, nsess = 0, nregs = 0;
	json_array_foreach(json_object_get(root, "sessions"), i, item)
	{
		uint64_t id = load_session(srv, item);
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

int emu_state_load(struct emu_server *srv, const char *path)
{
	json_error_t jerr = {.line = 0, .text = ""};
	if (access(path, F_OK) != 0)
		return 0;
	/* Never read session keys through a link someone else planted. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	json_t *root = fd >= 0 ? json_loadfd(fd, 0, &jerr) : NULL;
	if (fd < 0)
		snprintf(jerr.text, sizeof(jerr.text), "%s", strerror(errno));
	else
		close(fd);
	if (!root || json_integer_value(json_object_get(root, "version")) != EMU_STATE_VERSION) {
		fprintf(stderr,
			"lwm2m-emulator: --state %s: %s (line %d); move it away to start "
			"without restoring\n",
			path, root ? "unknown state version" : jerr.text, jerr.line);
		json_decref(root);
		return -1;
	}
	load_doc(srv, path, root);
	json_decref(root);
	/* Consumed: a second start must not reuse spent sequence numbers. */
	unlink(path);
	return 0;
}
