/* The LwM2M interfaces a client calls: Register / Update / De-register
 * (/rd), Bootstrap-Request (/bs, emu_bootstrap.c), on the requests the
 * session's CoAP layer (emu_msg.c) hands over. Every event names the
 * session, the device's own peer address and its identity. */
#include "emu_lwm2m.h"

#include <stdlib.h>
#include <string.h>

#include "emu_bootstrap.h"
#include "emu_cbor.h"
#include "emu_certbind.h"
#include "emu_request.h"
#include "emu_device.h"
#include "emu_link.h"
#include "emu_server.h"
#include "emu_vhost.h"
#include "emu_reload.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

#define EMU_DEFAULT_LIFETIME 86400

/* Who sent a request: its session, real peer address and identity. */
struct emu_origin {
	uint64_t session;
	char peer[LH_ADDR_STRLEN];
	const char *identity;
	const char *subject; /* client certificate, NULL if none */
	struct emu_session *s;
};

/* Copies [v, v+n) into a fixed buffer; -1 when it does not fit or is empty. */
static int copy_value(char *dst, size_t size, const char *v, size_t n)
{
	if (n == 0 || n >= size)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* Parses lt: decimal seconds within the configured bounds. */
static int parse_lt(const char *v, size_t n, uint32_t min_lt, uint32_t max_lt, long long *out)
{
	long long lt = 0;
	if (n == 0 || n > 10)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		lt = lt * 10 + (v[i] - '0');
	}
	if (lt < min_lt || lt > max_lt)
		return -1;
	*out = lt;
	return 0;
}

/* Applies one "key=value" (or bare "Q") query parameter. */
static int parse_param(const char *p, size_t n, uint32_t min_lt, uint32_t max_lt,
		       struct emu_rd_query *q, char *err, size_t err_size)
{
	const char *eq = memchr(p, '=', n);
	size_t klen = eq ? (size_t)(eq - p) : n;
	const char *v = eq ? eq + 1 : p + n;
	size_t vlen = eq ? n - klen - 1 : 0;
	if (klen == 2 && memcmp(p, "ep", 2) == 0) {
		q->has_ep = copy_value(q->ep, sizeof(q->ep), v, vlen) == 0;
		if (!q->has_ep)
			goto bad;
	} else if (klen == 2 && memcmp(p, "lt", 2) == 0) {
		if (parse_lt(v, vlen, min_lt, max_lt, &q->lt) < 0) {
			snprintf(err, err_size, "lt=%.*s: expected seconds %u..%u", (int)vlen, v,
				 min_lt, max_lt);
			return -1;
		}
	} else if (klen == 5 && memcmp(p, "lwm2m", 5) == 0) {
		q->has_lwm2m = copy_value(q->lwm2m, sizeof(q->lwm2m), v, vlen) == 0;
		if (!q->has_lwm2m)
			goto bad;
	} else if (klen == 1 && p[0] == 'b') {
		q->has_b = copy_value(q->b, sizeof(q->b), v, vlen) == 0;
		if (!q->has_b)
			goto bad;
	} else if (klen == 1 && p[0] == 'Q' && !eq) {
		q->queue_mode = 1;
	}
	return 0;
bad:
	snprintf(err, err_size, "%.*s: empty or too long value", (int)klen, p);
	return -1;
}

int emu_lwm2m_parse_query(const char *query, size_t len, uint32_t min_lt, uint32_t max_lt,
			  int need_ep, struct emu_rd_query *q, char *err, size_t err_size)
{
	size_t start = 0;
	memset(q, 0, sizeof(*q));
	q->lt = -1;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && query[i] != '&')
			continue;
		if (i > start &&
		    parse_param(query + start, i - start, min_lt, max_lt, q, err, err_size) < 0)
			return -1;
		start = i + 1;
	}
	if (need_ep && !q->has_ep) {
		snprintf(err, err_size, "missing endpoint name (ep=)");
		return -1;
	}
	return 0;
}

/* Describes the session a request came on. */
static void request_origin(struct emu_session *s, struct emu_origin *o)
{
	memset(o, 0, sizeof(*o));
	o->s = s;
	o->session = s->id;
	o->identity = s->identity[0] ? s->identity : NULL;
	o->subject = s->subject[0] ? s->subject : NULL;
	lh_addr_format((struct sockaddr *)&s->peer, o->peer, sizeof(o->peer));
}

/* Refuses a Register with rc (4.00, 4.03) and says why in the event. */
static void register_refused(struct emu_coap_msg *resp, const struct emu_origin *o, const char *ep,
			     const char *reason, int rc)
{
	char code[8];
	resp->code = rc;
	lh_event_emitf("register", "{s:I, s:s, s:s?, s:s?, s:s, s:s}", "session",
		       (json_int_t)o->session, "peer", o->peer, "identity", o->identity, "endpoint",
		       ep, "code", emu_coap_code_text(rc, code), "reason", reason);
}

/* A PSK identity or a client certificate bound to an endpoint may
 * register (and update) only that endpoint (4.03 otherwise): a device must
 * not act for another with its own credentials. Returns 0 when allowed, -1
 * with err. */
static int check_binding(struct emu_server *srv, const struct emu_origin *o, const char *ep,
			 char *err, size_t size)
{
	struct emu_psk_view e;
	const struct emu_psks *table =
	    o->s->vhost && o->s->vhost->psk_table ? o->s->vhost->psk_table : srv->psk_table;
	const json_t *certs = emu_gen_cfg(srv)->cert_endpoints;
	if (o->subject && certs)
		return emu_certbind_allows(certs, o->subject, ep, err, size);
	if (!o->identity)
		return 0;
	if (!emu_psks_find(table, o->identity, strlen(o->identity), &e) || !e.endpoint[0] ||
	    strcmp(e.endpoint, ep) == 0)
		return 0;
	snprintf(err, size, "PSK identity \"%s\" is bound to endpoint \"%s\"", o->identity,
		 e.endpoint);
	return -1;
}

/* Stores a new registration and answers 2.01 with its Location-Path. */
static void register_accept(struct emu_server *srv, const struct emu_origin *o,
			    const struct emu_rd_query *q, json_t *links, struct emu_coap_msg *resp)
{
	struct emu_reg *old = NULL;
	char code[8];
	struct emu_reg *r =
	    emu_registry_add(&srv->registry, q->ep, emu_device_identity(o->s), links, &old);
	emu_reg_free(old);
	if (!r) {
		resp->code = COAP_RESPONSE_CODE_INTERNAL_ERROR;
		return;
	}
	r->lifetime = q->lt >= 0 ? (uint32_t)q->lt : EMU_DEFAULT_LIFETIME;
	r->lwm2m = q->has_lwm2m ? emu_reg_text(q->lwm2m) : NULL;
	r->binding = q->has_b ? emu_reg_text(q->b) : NULL;
	r->queue_mode = q->queue_mode || (q->has_b && strchr(q->b, 'Q'));
	emu_registry_set_expiry(&srv->registry, r, lh_time_mono_ms() + (int64_t)r->lifetime * 1000);
	emu_device_bind(o->s, r, NULL);
	srv->stats.registrations++;
	resp->code = COAP_RESPONSE_CODE_CREATED;
	emu_coap_msg_opt(resp, COAP_OPTION_LOCATION_PATH, "rd", 2);
	emu_coap_msg_opt(resp, COAP_OPTION_LOCATION_PATH, r->location + 4, strlen(r->location + 4));
	lh_event_emitf(
	    "register", "{s:I, s:s, s:s?, s:s*, s:s, s:I, s:s?, s:s?, s:b, s:s, s:O, s:s}",
	    "session", (json_int_t)o->session, "peer", o->peer, "identity", o->identity, "subject",
	    o->subject, "endpoint", r->endpoint, "lifetime", (json_int_t)r->lifetime, "lwm2m",
	    r->lwm2m, "binding", r->binding, "queue_mode", q->queue_mode, "location", r->location,
	    "links", r->links, "code", emu_coap_code_text(COAP_RESPONSE_CODE_CREATED, code));
}

/* POST /rd?ep=..&lt=..: Register. */
static void hnd_register(struct emu_session *s, const struct emu_coap_req *req,
			 struct emu_coap_msg *resp)
{
	struct emu_server *srv = s->srv;
	struct emu_origin o;
	struct emu_rd_query q;
	char err[512];
	json_t *links = NULL;
	request_origin(s, &o);
	if (emu_lwm2m_parse_query(req->query, req->query_len, emu_gen_cfg(srv)->min_lifetime,
				  emu_gen_cfg(srv)->max_lifetime, 1, &q, err, sizeof(err)) < 0) {
		register_refused(resp, &o, q.has_ep ? q.ep : NULL, err,
				 COAP_RESPONSE_CODE_BAD_REQUEST);
		goto exit;
	}
	if (check_binding(srv, &o, q.ep, err, sizeof(err)) < 0) {
		register_refused(resp, &o, q.ep, err, COAP_RESPONSE_CODE_FORBIDDEN);
		goto exit;
	}
	links = emu_link_parse((const char *)req->payload, req->payload_len, err, sizeof(err));
	if (!links) {
		register_refused(resp, &o, q.ep, err, COAP_RESPONSE_CODE_BAD_REQUEST);
		goto exit;
	}
	register_accept(srv, &o, &q, links, resp);
exit:
	json_decref(links);
}

/* Applies an Update's lt/b/payload to r; -1 with err on bad input. */
static int apply_update(struct emu_server *srv, struct emu_reg *r, const struct emu_coap_req *req,
			char *err, size_t err_size)
{
	struct emu_rd_query q;
	if (emu_lwm2m_parse_query(req->query, req->query_len, emu_gen_cfg(srv)->min_lifetime,
				  emu_gen_cfg(srv)->max_lifetime, 0, &q, err, err_size) < 0)
		return -1;
	if (req->payload_len > 0) {
		json_t *links =
		    emu_link_parse((const char *)req->payload, req->payload_len, err, err_size);
		if (!links)
			return -1;
		emu_registry_set_links(&srv->registry, r, links);
		json_decref(links);
	}
	if (q.lt >= 0)
		r->lifetime = (uint32_t)q.lt;
	if (q.has_b) {
		emu_reg_text_free(r->binding);
		r->binding = emu_reg_text(q.b);
		r->queue_mode = strchr(q.b, 'Q') != NULL;
	}
	if (q.queue_mode)
		r->queue_mode = 1;
	emu_registry_set_expiry(&srv->registry, r, lh_time_mono_ms() + (int64_t)r->lifetime * 1000);
	return 0;
}

/* POST /rd/{id}: Update (2.04, 4.00 on bad parameters, 4.04 when gone). */
static void hnd_update(struct emu_session *s, const struct emu_coap_req *req,
		       struct emu_coap_msg *resp, const char *location)
{
	struct emu_server *srv = s->srv;
	struct emu_origin o;
	char err[512] = "", code[8];
	int rc = COAP_RESPONSE_CODE_CHANGED;
	request_origin(s, &o);
	struct emu_reg *r = emu_registry_find(&srv->registry, location);
	if (!r)
		rc = COAP_RESPONSE_CODE_NOT_FOUND;
	else if (check_binding(srv, &o, r->endpoint, err, sizeof(err)) < 0)
		rc = COAP_RESPONSE_CODE_FORBIDDEN;
	else if (apply_update(srv, r, req, err, sizeof(err)) < 0)
		rc = COAP_RESPONSE_CODE_BAD_REQUEST;
	else
		emu_device_bind(s, r, "update");
	resp->code = rc;
	if (!lh_event_wanted())
		return;
	struct lh_ev_field f[] = {
	    LH_EV_I("session", o.session),
	    LH_EV_S("peer", o.peer),
	    LH_EV_S("identity", o.identity),
	    LH_EV_S("location", location),
	    LH_EV_S("endpoint", r ? r->endpoint : NULL),
	    r ? LH_EV_I("lifetime", r->lifetime) : LH_EV_J("lifetime", NULL),
	    LH_EV_S("code", emu_coap_code_text(rc, code)),
	    LH_EV_S("reason", err[0] ? err : (r ? NULL : "unknown registration"))};
	lh_event_emit_fields("update", f, sizeof(f) / sizeof(f[0]));
}

/* DELETE /rd/{id}: De-register (2.02, 4.04 when gone). */
static void hnd_deregister(struct emu_session *s, struct emu_coap_msg *resp, const char *location)
{
	struct emu_server *srv = s->srv;
	struct emu_origin o;
	char code[8];
	request_origin(s, &o);
	struct emu_reg *r = emu_registry_find(&srv->registry, location);
	int rc = r ? COAP_RESPONSE_CODE_DELETED : COAP_RESPONSE_CODE_NOT_FOUND;
	resp->code = rc;
	lh_event_emitf("deregister", "{s:I, s:s, s:s?, s:s, s:s?, s:s}", "session",
		       (json_int_t)o.session, "peer", o.peer, "identity", o.identity, "location",
		       location, "endpoint", r ? r->endpoint : NULL, "code",
		       emu_coap_code_text(rc, code));
	if (r) {
		emu_registry_remove(&srv->registry, r);
		emu_reg_free(r);
	}
}

/* The Content-Format of a request, or -1. */
static int content_format(const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, COAP_OPTION_CONTENT_FORMAT, &it);
	return o ? (int)coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) : -1;
}

/* POST /dp: LwM2M 1.1 Send. A registered device's records are decoded into
 * a send event and answered with $.lwm2m.send_code (2.04 unless a test of
 * the client's retries wants 4.00 or 5.03); a device without a
 * registration on this session gets 4.04. */
static void hnd_send(struct emu_session *s, const struct emu_coap_req *req,
		     struct emu_coap_msg *resp)
{
	struct emu_origin o;
	char code[8];
	struct emu_reg *r = emu_device_of(s);
	int fmt = content_format(req->pdu);
	request_origin(s, &o);
	resp->code = r ? emu_gen_cfg(s->srv)->send_code : COAP_RESPONSE_CODE_NOT_FOUND;
	json_t *ev = json_pack(
	    "{s:I, s:s, s:s?, s:s?, s:s?, s:i, s:I, s:s, s:s?}", "session", (json_int_t)o.session,
	    "peer", o.peer, "identity", o.identity, "endpoint", r ? r->endpoint : NULL, "location",
	    r ? r->location : NULL, "format", fmt, "bytes", (json_int_t)req->payload_len, "code",
	    emu_coap_code_text(resp->code, code), "reason",
	    r ? NULL : "no registration on this session: Register first");
	json_t *decoded = emu_request_decode_model(emu_gen_cfg(s->srv)->models, NULL, fmt,
						   req->payload, req->payload_len);
	json_object_update(ev, decoded);
	json_decref(decoded);
	lh_event_emit("send", ev);
}

/* GET /bspack?ep=NAME: LwM2M 1.2 Bootstrap-Pack, $.bootstrap.pack in SenML
 * CBOR (content-format 112), or $.bootstrap.pack_code (default 4.04) when
 * none is configured. */
static void hnd_bspack(struct emu_session *s, const struct emu_coap_req *req,
		       struct emu_coap_msg *resp)
{
	const json_t *bs = emu_gen_cfg(s->srv)->bootstrap;
	const char *pc = json_string_value(json_object_get(bs, "pack_code"));
	const json_t *pack = json_object_get(bs, "pack");
	struct emu_rd_query q;
	struct emu_origin o;
	char err[160] = "", code[8];
	uint8_t *cbor = NULL;
	size_t len = 0;
	request_origin(s, &o);
	int ok = emu_lwm2m_parse_query(req->query, req->query_len, 1, 0xffffffffu, 1, &q, err,
				       sizeof(err)) == 0;
	if (ok && pack)
		len = emu_cbor_senml_encode(pack, &cbor, err, sizeof(err));
	resp->code = !ok   ? COAP_RESPONSE_CODE_BAD_REQUEST
		     : len ? COAP_RESPONSE_CODE_CONTENT
		     : pc  ? emu_config_code(pc)
			   : COAP_RESPONSE_CODE_NOT_FOUND;
	if (len) {
		emu_coap_msg_opt_uint(resp, COAP_OPTION_CONTENT_FORMAT, 112);
		emu_coap_msg_payload(resp, cbor, len);
	}
	lh_event_emitf("bootstrap_pack", "{s:I, s:s, s:s?, s:s?, s:s, s:I, s:s?}", "session",
		       (json_int_t)o.session, "peer", o.peer, "identity", o.identity, "endpoint",
		       q.has_ep ? q.ep : NULL, "code", emu_coap_code_text(resp->code, code),
		       "bytes", (json_int_t)len, "reason",
		       !ok   ? err
		       : len ? NULL
			     : "no $.bootstrap.pack configured");
	free(cbor);
}

/* A request nobody serves (LwM2M 1.2 GET /bspack, a Send to /dp, a typo):
 * 4.04 or 4.05 and an event, never silence. */
static void unhandled(struct emu_session *s, const struct emu_coap_req *req,
		      struct emu_coap_msg *resp, int rc)
{
	static const char *const methods[] = {"?",	"GET",	 "POST",  "PUT",
					      "DELETE", "FETCH", "PATCH", "iPATCH"};
	struct emu_origin o;
	char code[8], path[EMU_LOCATION_MAX * 8];
	request_origin(s, &o);
	resp->code = rc;
	snprintf(path, sizeof(path), "/%s", req->path);
	lh_event_emitf("request_unhandled", "{s:I, s:s, s:s?, s:s, s:s, s:s, s:s}", "session",
		       (json_int_t)o.session, "peer", o.peer, "identity", o.identity, "method",
		       methods[req->code >= 1 && req->code <= 7 ? req->code : 0], "path", path,
		       "query", req->query, "code", emu_coap_code_text(rc, code));
}

/* "rd/{id}" -> "/rd/{id}" in location; 0 when path is one. */
static int rd_location(const struct emu_coap_req *req, char location[EMU_LOCATION_MAX])
{
	if (req->path_len < 4 || req->path_len + 1 >= EMU_LOCATION_MAX ||
	    memcmp(req->path, "rd/", 3) != 0 || memchr(req->path + 3, '/', req->path_len - 3))
		return -1;
	snprintf(location, EMU_LOCATION_MAX, "/%s", req->path);
	return 0;
}

void emu_lwm2m_request(struct emu_session *s, const struct emu_coap_req *req,
		       struct emu_coap_msg *resp)
{
	char location[EMU_LOCATION_MAX];
	int post = req->code == COAP_REQUEST_CODE_POST;
	if (!strcmp(req->path, "rd"))
		post ? hnd_register(s, req, resp)
		     : unhandled(s, req, resp, COAP_RESPONSE_CODE_NOT_ALLOWED);
	else if (rd_location(req, location) == 0 && post)
		hnd_update(s, req, resp, location);
	else if (rd_location(req, location) == 0 && req->code == COAP_REQUEST_CODE_DELETE)
		hnd_deregister(s, resp, location);
	else if (!strcmp(req->path, "bs") && post)
		emu_bootstrap_request(s, req, resp);
	else if (!strcmp(req->path, "dp") && post)
		hnd_send(s, req, resp);
	else if (!strcmp(req->path, "bspack") && req->code == COAP_REQUEST_CODE_GET)
		hnd_bspack(s, req, resp);
	else
		unhandled(s, req, resp, COAP_RESPONSE_CODE_NOT_FOUND);
}
