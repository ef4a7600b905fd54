/* The control commands: status and listings, and the faults a scenario
 * needs (forget sessions, rotate cookie secret, drop/delay records, send an
 * alert, close silently, stop answering, reload). */
#include "emu_control_cmd.h"

#include <malloc.h>
#include <mbedtls/ssl.h>
#include <string.h>

#include "emu_device.h"
#include "emu_hibernate.h"
#include "emu_request.h"
#include "emu_server.h"
#include "emu_resume.h"
#include "emu_vhost.h"
#include "emu_control.h"
#include "emu_ctxpool.h"
#include "lh_addr.h"
#include "lh_hex.h"
#include "lh_time.h"

typedef json_t *(*cmd_fn)(struct emu_server *srv, const json_t *req, char *err, size_t size);

/* Checks req has only the given argument keys (plus cmd and id). */
static int check_args(const json_t *req, const char *const *allowed, char *err, size_t size)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)req, key, v)
	{
		int ok = !strcmp(key, "cmd") || !strcmp(key, "id");
		for (size_t i = 0; allowed && allowed[i] && !ok; i++)
			ok = !strcmp(key, allowed[i]);
		if (!ok) {
			snprintf(err, size, "unknown argument \"%s\"", key);
			return -1;
		}
	}
	return 0;
}

/* Reads an integer argument within [min, max], with a default when absent
 * (def < 0 makes it required). */
static int arg_int(const json_t *req, const char *key, long long def, long long min, long long max,
		   long long *out, char *err, size_t size)
{
	const json_t *v = json_object_get(req, key);
	if (!v && def >= 0) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(err, size, "\"%s\": expected integer %lld..%lld", key, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* The session named by the "session" argument. */
static struct emu_session *arg_session(struct emu_server *srv, const json_t *req, char *err,
				       size_t size)
{
	long long id;
	if (arg_int(req, "session", -1, 1, 0x00ffffffffffffffLL, &id, err, size) < 0)
		return NULL;
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, (uint64_t)id);
	if (!s)
		snprintf(err, size, "no session %lld (see the \"sessions\" command)", id);
	return s;
}

/* Directions from "in", "out" or "both" (default both). */
static int arg_dirs(const json_t *req, int dirs[2], char *err, size_t size)
{
	const json_t *v = json_object_get(req, "direction");
	const char *d = v ? json_string_value(v) : "both";
	if (!d || (strcmp(d, "in") && strcmp(d, "out") && strcmp(d, "both"))) {
		snprintf(err, size, "\"direction\": expected \"in\", \"out\" or \"both\"");
		return -1;
	}
	dirs[EMU_DIR_IN] = strcmp(d, "out") != 0;
	dirs[EMU_DIR_OUT] = strcmp(d, "in") != 0;
	return 0;
}

/* The hibernation counters (emu_hibernate.h) for `status`. */
static json_t *hib_status(const struct emu_server *srv)
{
	const struct emu_hibernation *h = &srv->hib;
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "hibernated",
			 (json_int_t)h->count, "awake", (json_int_t)h->awake, "bytes",
			 (json_int_t)h->bytes, "hibernations", (json_int_t)h->stats.hibernated,
			 "wakes", (json_int_t)h->stats.woken, "rehibernated_unauthenticated",
			 (json_int_t)h->stats.rehibernated_unauthenticated, "wake_limit_drops",
			 (json_int_t)h->stats.wake_limit_drops, "save_refused",
			 (json_int_t)h->stats.save_failed);
}

static json_t *cmd_status(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	const struct emu_stats *st = &srv->stats;
	struct emu_ctxpool_stats pool = emu_ctxpool_stats(srv);
	if (check_args(req, NULL, err, size) < 0)
		return NULL;
	json_t *out = json_pack(
	    "{s:I, s:I, s:I, s:i, s:i, s:b, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I}}",
	    "uptime_ms", (json_int_t)(lh_time_mono_ms() - srv->started_ms), "sessions",
	    (json_int_t)srv->sessions.count, "registrations", (json_int_t)srv->registry.count,
	    "dtls_port", srv->dtls_port_bound, "coap_port", srv->coap_port_bound, "stopped",
	    srv->faults.stopped, "counters", "datagrams_in", (json_int_t)st->datagrams_in,
	    "hello_verify_sent", (json_int_t)st->hello_verify_sent, "handshakes_done",
	    (json_int_t)st->handshakes_done, "handshakes_failed", (json_int_t)st->handshakes_failed,
	    "records_dropped", (json_int_t)st->records_dropped, "bytes_held",
	    (json_int_t)st->bytes_held, "registrations", (json_int_t)st->registrations,
	    "peer_address_changes", (json_int_t)st->peer_address_changes, "faults_applied",
	    (json_int_t)srv->faults.applied, "datagrams_out_failed",
	    (json_int_t)st->datagrams_out_failed, "contexts_reused", (json_int_t)pool.reused,
	    "contexts_created", (json_int_t)pool.created, "read_batch_max",
	    (json_int_t)st->read_batch_max, "timer_entries_dropped",
	    (json_int_t)st->timer_entries_dropped);
	if (out)
		json_object_set_new(out, "hibernation", hib_status(srv));
	/* What the heap holds and keeps free: how compact the state is, and
	 * how much of RSS is fragmentation. */
	struct mallinfo2 mi = mallinfo2();
	if (out)
		json_object_set_new(out, "heap",
				    json_pack("{s:I, s:I, s:I}", "in_use", (json_int_t)mi.uordblks,
					      "free", (json_int_t)mi.fordblks, "mmapped",
					      (json_int_t)mi.hblkhd));
	return out;
}

/* What a session's (D)TLS negotiated, for listings and the dashboard:
 * ciphersuite, SNI and the vhost it chose (null: the default one), and how
 * long ago the peer last sent something. */
static json_t *session_tls_json(const struct emu_session *s)
{
	const char *suite = s->tp->secure && s->state == EMU_SESS_OPEN
				? mbedtls_ssl_get_ciphersuite(&s->ssl)
				: NULL;
	int64_t seen = s->last_in_ms ? s->last_in_ms : s->started_ms;
	return json_pack("{s:s?, s:s?, s:s?, s:I}", "suite", suite, "sni",
			 s->sni[0] ? s->sni : NULL, "vhost", s->vhost ? s->vhost->name : NULL,
			 "last_seen_ms", (json_int_t)(lh_time_mono_ms() - seen));
}

/* One session as JSON for the listing. */
static json_t *session_json(const struct emu_session *s)
{
	char peer[LH_ADDR_STRLEN], cid[2 * EMU_CID_MAX + 1] = "";
	lh_hex_encode(s->cid, s->cid_len, cid);
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?, s:b, s:I, s:s?, s:b}", "session",
			      (json_int_t)s->id, "transport", s->tp->name, "peer",
			      lh_addr_format((const struct sockaddr *)&s->peer, peer, sizeof(peer)),
			      "state", s->state == EMU_SESS_OPEN ? "open" : "handshake", "identity",
			      s->identity[0] ? s->identity : NULL, "own_cid",
			      s->cid_indexed ? cid : NULL, "cookie_verified", s->cookie_verified,
			      "age_ms", (json_int_t)(lh_time_mono_ms() - s->started_ms), "location",
			      s->location[0] ? s->location : NULL, "resumed", s->resumed);
	json_t *tls = session_tls_json(s);
	json_object_update(o, tls);
	json_decref(tls);
	return o;
}

/* A hibernated session for the listing: what it keeps without waking
 * (no suite: that is inside the saved context). A device that sleeps for
 * hours must not vanish from `sessions` or the dashboard. */
static json_t *hib_json(const struct emu_hib *h)
{
	char peer[LH_ADDR_STRLEN], cid[2 * EMU_CID_MAX + 1] = "", id[256], sni[256];
	size_t id_len, sni_len;
	const char *ident = emu_hib_identity(h, &id_len), *name = emu_hib_sni(h, &sni_len);
	int64_t now = lh_time_mono_ms();
	lh_hex_encode(h->cid, h->cid_len, cid);
	snprintf(id, sizeof(id), "%.*s", (int)id_len, ident);
	snprintf(sni, sizeof(sni), "%.*s", (int)sni_len, name);
	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s?, s:s?, s:b, s:I, s:s?, s:b, s:s?, s:s?, s:I, "
	    "s:b}",
	    "session", (json_int_t)h->id, "transport", "dtls", "peer",
	    lh_addr_format(&h->peer.sa, peer, sizeof(peer)), "state", "hibernated", "identity",
	    id[0] ? id : NULL, "own_cid", h->cid_len ? cid : NULL, "cookie_verified",
	    (h->flags & EMU_HIB_COOKIE) != 0, "age_ms", (json_int_t)(now - h->started_ms),
	    "location", h->location[0] ? h->location : NULL, "resumed",
	    (h->flags & EMU_HIB_RESUMED) != 0, "sni", sni[0] ? sni : NULL, "vhost",
	    h->vhost ? h->vhost->name : NULL, "last_seen_ms",
	    (json_int_t)(now - (h->last_in_ms ? h->last_in_ms : h->started_ms)), "hibernated", 1);
}

static json_t *cmd_sessions(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	struct emu_session *s, *tmp;
	json_t *arr = json_array();
	if (check_args(req, NULL, err, size) < 0) {
		json_decref(arr);
		return NULL;
	}
	HASH_ITER(hh_id, srv->sessions.by_id, s, tmp)
	json_array_append_new(arr, session_json(s));
	for (const struct emu_hib *h = emu_hib_first(srv); h;
	     h = emu_hib_next(srv, (struct emu_hib *)h))
		json_array_append_new(arr, hib_json(h));
	return json_pack("{s:o}", "sessions", arr);
}

/* One registration (device) for the listing, with its queue and the
 * session that carries it now (transport, peer, suite, SNI, CID, resumed,
 * last seen: what the dashboard shows per device). */
static json_t *client_json(struct emu_server *srv, const struct emu_reg *r, int64_t now)
{
	struct emu_session *s = emu_sessions_by_id(&srv->sessions, r->session);
	json_t *o = json_pack(
	    "{s:s, s:s, s:I, s:I, s:I, s:s?, s:s?, s:s?, s:O, s:b, s:b, s:I}", "endpoint",
	    r->endpoint, "location", r->location, "lifetime", (json_int_t)r->lifetime,
	    "expires_in_ms", (json_int_t)(r->expires_ms - now), "session", (json_int_t)r->session,
	    "identity", r->identity, "lwm2m", r->lwm2m, "binding", r->binding, "links", r->links,
	    "queue_mode", r->queue_mode, "asleep", emu_device_asleep(srv, r), "queued",
	    (json_int_t)emu_request_queued(srv, r->endpoint));
	const struct emu_hib *h = s ? NULL : emu_hib_find(srv, r->session);
	json_object_set_new(o, "carrier", s ? session_json(s) : h ? hib_json(h) : json_null());
	return o;
}

static json_t *cmd_clients(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	struct emu_reg *r, *tmp;
	json_t *arr = json_array();
	int64_t now = lh_time_mono_ms();
	if (check_args(req, NULL, err, size) < 0) {
		json_decref(arr);
		return NULL;
	}
	HASH_ITER(hh_loc, srv->registry.by_loc, r, tmp)
	json_array_append_new(arr, client_json(srv, r, now));
	return json_pack("{s:o}", "clients", arr);
}

/* rotate_cookie_secret: now, or (after=hvr) armed as a one-shot fault that
 * fires right after the next HelloVerifyRequest, which a scenario cannot do
 * itself because nothing runs while the client connects. */
static json_t *cmd_rotate_cookie_secret(struct emu_server *srv, const json_t *req, char *err,
					size_t size)
{
	static const char *const args[] = {"after", NULL};
	const json_t *after = json_object_get(req, "after");
	if (check_args(req, args, err, size) < 0)
		return NULL;
	if (after) {
		const char *a = json_string_value(after);
		if (!a || strcmp(a, "hvr") != 0) {
			snprintf(err, size, "\"after\": expected \"hvr\"");
			return NULL;
		}
		srv->faults.rotate_after_hvr = 1;
		return json_pack("{s:s}", "armed", "hvr");
	}
	if (emu_faults_rotate_cookie(srv) < 0) {
		snprintf(err, size, "Mbed TLS could not set up a new cookie key");
		return NULL;
	}
	return json_object();
}

static json_t *cmd_forget_sessions(struct emu_server *srv, const json_t *req, char *err,
				   size_t size)
{
	if (check_args(req, NULL, err, size) < 0)
		return NULL;
	return emu_resume_forget(srv);
}

/* drop/delay: arm a fault for the next N datagrams. */
static json_t *arm_fault(struct emu_server *srv, const json_t *req, int delay, char *err,
			 size_t size)
{
	static const char *const drop_args[] = {"direction", "count", NULL};
	static const char *const delay_args[] = {"direction", "count", "ms", NULL};
	int dirs[2];
	long long count, ms = 0;
	if (check_args(req, delay ? delay_args : drop_args, err, size) < 0 ||
	    arg_dirs(req, dirs, err, size) < 0 ||
	    arg_int(req, "count", 1, 0, 1000000, &count, err, size) < 0 ||
	    (delay && arg_int(req, "ms", -1, 0, 600000, &ms, err, size) < 0))
		return NULL;
	for (int d = 0; d < 2; d++) {
		if (!dirs[d])
			continue;
		if (delay) {
			srv->faults.delay[d] = (uint32_t)count;
			srv->faults.delay_ms[d] = (uint32_t)ms;
		} else {
			srv->faults.drop[d] = (uint32_t)count;
		}
	}
	return json_pack("{s:I, s:I}", "in", (json_int_t)(dirs[0] ? count : 0), "out",
			 (json_int_t)(dirs[1] ? count : 0));
}

static json_t *cmd_drop(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	return arm_fault(srv, req, 0, err, size);
}

static json_t *cmd_delay(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	return arm_fault(srv, req, 1, err, size);
}

static json_t *cmd_send_alert(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	static const char *const args[] = {"session", "level", "description", NULL};
	long long level, desc;
	struct emu_session *s;
	if (check_args(req, args, err, size) < 0 || !(s = arg_session(srv, req, err, size)) ||
	    arg_int(req, "level", 2, 1, 2, &level, err, size) < 0 ||
	    arg_int(req, "description", -1, 0, 255, &desc, err, size) < 0)
		return NULL;
	if (!s->tp->secure) {
		snprintf(err, size,
			 "session %llu is plain CoAP: it has no (D)TLS to send an alert on",
			 (unsigned long long)s->id);
		return NULL;
	}
	uint64_t id = s->id;
	int ret =
	    mbedtls_ssl_send_alert_message(&s->ssl, (unsigned char)level, (unsigned char)desc);
	if (ret != 0) {
		snprintf(err, size, "Mbed TLS refused to send the alert (%d)", ret);
		return NULL;
	}
	/* After a fatal alert a real server forgets the connection (s is then
	 * freed: only id is used below). */
	if (level == 2)
		emu_session_close(s, "fatal_alert_sent");
	return json_pack("{s:I, s:i, s:i}", "session", (json_int_t)id, "level", (int)level,
			 "description", (int)desc);
}

static json_t *cmd_close_session(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	static const char *const args[] = {"session", "silent", NULL};
	struct emu_session *s;
	const json_t *silent = json_object_get(req, "silent");
	if (check_args(req, args, err, size) < 0 || !(s = arg_session(srv, req, err, size)))
		return NULL;
	if (silent && !json_is_boolean(silent)) {
		snprintf(err, size, "\"silent\": expected true or false");
		return NULL;
	}
	int quiet = !silent || json_is_true(silent);
	uint64_t id = s->id;
	if (!quiet && s->state == EMU_SESS_OPEN && s->tp->secure)
		mbedtls_ssl_close_notify(&s->ssl);
	emu_session_close(s, quiet ? "closed_silently" : "closed_with_notify");
	return json_pack("{s:I, s:b}", "session", (json_int_t)id, "silent", quiet);
}

/* stop_answering and resume. */
static json_t *set_stopped(struct emu_server *srv, const json_t *req, int stopped, char *err,
			   size_t size)
{
	if (check_args(req, NULL, err, size) < 0)
		return NULL;
	srv->faults.stopped = stopped;
	return json_pack("{s:b}", "stopped", stopped);
}

static json_t *cmd_stop(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	return set_stopped(srv, req, 1, err, size);
}

static json_t *cmd_resume(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	return set_stopped(srv, req, 0, err, size);
}

static json_t *cmd_reload(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	if (check_args(req, NULL, err, size) < 0 || emu_server_reload(srv, err, size) < 0)
		return NULL;
	return json_pack("{s:I}", "psk_identities", (json_int_t)srv->psk_table->count);
}

static json_t *cmd_request(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	static const char *const args[] = {
	    "endpoint", "method", "path", "payload", "payload_hex", "format", "accept",
	    "request",	"paths",  "pmin", "pmax",    "gt",	    "lt",     "st",
	    "epmin",	"epmax",  "edge", "con",     "hqmax",	    NULL};
	if (check_args(req, args, err, size) < 0)
		return NULL;
	return emu_request_send(srv, req, err, size);
}

static const struct {
	const char *name;
	cmd_fn fn;
	const char *help;
} commands[] = {
    {"request", cmd_request,
     "LwM2M operation: endpoint, method (read|discover|observe|cancel|write|write_partial|"
     "execute|create|delete|bootstrap_discover|bootstrap_read|read_composite|observe_composite|"
     "cancel_composite|write_composite|write_attributes), path, [payload|payload_hex], [paths "
     "(composite)], [pmin, pmax, gt, lt, st, epmin, epmax, edge, con, hqmax "
     "(write_attributes)], "
     "[format], [accept], [request (for cancel)]"},
    {"status", cmd_status, "counters, ports, uptime"},
    {"sessions", cmd_sessions, "list sessions (DTLS, TLS, plain CoAP)"},
    {"clients", cmd_clients, "list LwM2M registrations"},
    {"forget_sessions", cmd_forget_sessions, "drop the session cache and ticket keys"},
    {"rotate_cookie_secret", cmd_rotate_cookie_secret,
     "new HelloVerifyRequest cookie key; after=hvr: right after the next HVR (one-shot)"},
    {"drop", cmd_drop, "drop next N datagrams: direction in|out|both, count"},
    {"delay", cmd_delay, "delay next N datagrams: direction, count, ms"},
    {"send_alert", cmd_send_alert, "send a TLS alert: session, level (2), description"},
    {"close_session", cmd_close_session, "forget a session: session, silent (true)"},
    {"stop_answering", cmd_stop, "read and discard every datagram"},
    {"resume", cmd_resume, "undo stop_answering"},
    {"reload", cmd_reload, "re-read the config: PSKs apply to new handshakes"},
    {"subscribe", NULL, "stream every event on this connection"},
};

/* The list of commands, for an unknown command's error and for "help". */
static json_t *command_list(void)
{
	json_t *obj = json_object();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		json_object_set_new(obj, commands[i].name, json_string(commands[i].help));
	return obj;
}

/* Wraps a result (or an error) into the reply object. */
static json_t *reply(const json_t *req, json_t *result, const char *err)
{
	json_t *r =
	    json_pack("{s:b, s:O?}", "ok", result != NULL, "cmd", json_object_get(req, "cmd"));
	if (json_object_get(req, "id"))
		json_object_set(r, "id", json_object_get(req, "id"));
	if (result) {
		json_object_update(r, result);
		json_decref(result);
	} else {
		json_object_set_new(r, "error", json_string("EINVAL"));
		json_object_set_new(r, "message", json_string(err));
	}
	return r;
}

json_t *emu_control_run(struct emu_server *srv, const json_t *req, int *subscribed)
{
	char err[256] = "";
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	if (!cmd)
		return reply(req, NULL, "missing \"cmd\" (a string); try {\"cmd\":\"help\"}");
	if (!strcmp(cmd, "help"))
		return reply(req, json_pack("{s:o}", "commands", command_list()), NULL);
	if (!strcmp(cmd, "subscribe")) {
		*subscribed = 1;
		return reply(req, json_object(), NULL);
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (commands[i].fn && !strcmp(cmd, commands[i].name)) {
			json_t *result = commands[i].fn(srv, req, err, sizeof(err));
			return reply(req, result, err);
		}
	}
	snprintf(err, sizeof(err), "unknown command \"%s\"; try {\"cmd\":\"help\"}", cmd);
	return reply(req, NULL, err);
}
