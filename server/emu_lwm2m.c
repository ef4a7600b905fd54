/* LwM2M Register / Update / De-register on top of libcoap. Each handler
 * finds the session (DTLS, TLS or plain CoAP) behind the request through the bridge port. */
#include "emu_lwm2m.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "emu_link.h"
#include "emu_server.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

#define EMU_DEFAULT_LIFETIME 86400

/* Where a request came from: the session (0: none found, e.g. a request
 * libcoap made up itself). */
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

/* Finds the session behind a libcoap session (bridge port lookup). */
static void request_origin(struct emu_server *srv, coap_session_t *cs, struct emu_origin *o)
{
	const coap_address_t *remote = coap_session_get_addr_remote(cs);
	const coap_address_t *local = coap_session_get_addr_local(cs);
	struct emu_session *s = NULL;
	memset(o, 0, sizeof(*o));
	if (local && remote && local->addr.sa.sa_family == AF_INET &&
	    local->addr.sin.sin_port == srv->bridge_addr.sin_port &&
	    local->addr.sin.sin_addr.s_addr == srv->bridge_addr.sin_addr.s_addr)
		s = emu_sessions_by_port(&srv->sessions, ntohs(remote->addr.sin.sin_port));
	else if (local && remote && local->addr.sa.sa_family == AF_INET &&
		 srv->tcp_bridge_addr.sin_port &&
		 local->addr.sin.sin_port == srv->tcp_bridge_addr.sin_port &&
		 local->addr.sin.sin_addr.s_addr == srv->tcp_bridge_addr.sin_addr.s_addr)
		s = emu_sessions_by_tport(&srv->sessions, ntohs(remote->addr.sin.sin_port));
	if (s && s->coap_session != cs) {
		/* Kept for server-initiated requests to this endpoint. */
		if (s->coap_session)
			coap_session_release(s->coap_session);
		s->coap_session = coap_session_reference(cs);
	}
	o->s = s;
	if (s) {
		o->session = s->id;
		o->identity = s->identity[0] ? s->identity : NULL;
		o->subject = s->subject[0] ? s->subject : NULL;
		lh_addr_format((struct sockaddr *)&s->peer, o->peer, sizeof(o->peer));
	} else if (remote) {
		lh_addr_format(&remote->addr.sa, o->peer, sizeof(o->peer));
	}
}

/* "2.01" from a libcoap response code. */
static const char *code_text(coap_pdu_code_t code, char buf[8])
{
	snprintf(buf, 8, "%u.%02u", ((unsigned)code >> 5) & 7u, (unsigned)code & 0x1fu);
	return buf;
}

/* The server from a libcoap resource's context. */
static struct emu_server *server_of(coap_session_t *cs)
{
	return coap_get_app_data(coap_session_get_context(cs));
}

/* Refuses a Register with rc (4.00, 4.03) and says why in the event. */
static void register_refused_code(coap_pdu_t *resp, const struct emu_origin *o, const char *ep,
				  const char *reason, coap_pdu_code_t rc)
{
	char code[8];
	coap_pdu_set_code(resp, rc);
	lh_event_emitf("register", "{s:I, s:s, s:s?, s:s?, s:s, s:s}", "session",
		       (json_int_t)o->session, "peer", o->peer, "identity", o->identity, "endpoint",
		       ep, "code", code_text(rc, code), "reason", reason);
}

/* Refuses a malformed Register with 4.00. */
static void register_refused(coap_pdu_t *resp, const struct emu_origin *o, const char *ep,
			     const char *reason)
{
	register_refused_code(resp, o, ep, reason, COAP_RESPONSE_CODE_BAD_REQUEST);
}

/* A PSK identity bound to an endpoint may register only that endpoint
 * (4.03 otherwise). Returns 0 when allowed, -1 with err. */
static int check_binding(struct emu_server *srv, const struct emu_origin *o, const char *ep,
			 char *err, size_t size)
{
	struct emu_psk_entry *e = NULL;
	struct emu_psk_entry *table =
	    o->s && o->s->vhost && o->s->vhost->psk_table ? o->s->vhost->psk_table : srv->psk_table;
	if (!o->identity)
		return 0;
	HASH_FIND(hh, table, o->identity, strlen(o->identity), e);
	if (!e || !e->psk.endpoint[0] || strcmp(e->psk.endpoint, ep) == 0)
		return 0;
	snprintf(err, size, "PSK identity \"%s\" is bound to endpoint \"%s\"", o->identity,
		 e->psk.endpoint);
	return -1;
}

static void hnd_update(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
		       const coap_string_t *query, coap_pdu_t *resp);
static void hnd_deregister(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
			   const coap_string_t *query, coap_pdu_t *resp);

/* Creates a /rd/{id} resource that answers Update and De-register. */
static coap_resource_t *new_location_resource(struct emu_server *srv, const char *path, size_t len)
{
	coap_str_const_t *uri = coap_new_str_const((const uint8_t *)path, len);
	if (!uri)
		return NULL;
	coap_resource_t *res = coap_resource_init(uri, COAP_RESOURCE_FLAGS_RELEASE_URI);
	if (!res) {
		coap_delete_str_const(uri);
		return NULL;
	}
	coap_register_handler(res, COAP_REQUEST_POST, hnd_update);
	coap_register_handler(res, COAP_REQUEST_DELETE, hnd_deregister);
	coap_add_resource(srv->coap, res);
	return res;
}

int emu_lwm2m_attach(struct emu_server *srv, struct emu_reg *r)
{
	r->resource = new_location_resource(srv, r->location + 1, strlen(r->location + 1));
	if (!r->resource)
		return -1;
	coap_resource_set_userdata(r->resource, r);
	return 0;
}

void emu_lwm2m_prepare(struct emu_server *srv, const uint8_t *buf, size_t len)
{
	coap_pdu_t *pdu = coap_pdu_init(0, 0, 0, len);
	coap_string_t *path = NULL;
	if (!pdu || !coap_pdu_parse(COAP_PROTO_UDP, buf, len, pdu) ||
	    coap_pdu_get_code(pdu) != COAP_REQUEST_CODE_DELETE)
		goto exit;
	path = coap_get_uri_path(pdu);
	if (!path || path->length < 4 || path->length >= EMU_LOCATION_MAX ||
	    memcmp(path->s, "rd/", 3) != 0 || memchr(path->s + 3, '/', path->length - 3))
		goto exit;
	coap_str_const_t key = {path->length, path->s};
	if (coap_get_resource_from_uri_path(srv->coap, &key))
		goto exit;
	coap_resource_t *res = new_location_resource(srv, (const char *)path->s, path->length);
	if (res)
		emu_coap_bury(srv, res);
exit:
	coap_delete_string(path);
	coap_delete_pdu(pdu);
}

/* Reads the (reassembled) payload and parses it as CoRE links. */
static json_t *request_links(const coap_pdu_t *req, char *err, size_t err_size)
{
	size_t len = 0, offset, total;
	const uint8_t *data = NULL;
	if (!coap_get_data_large(req, &len, &data, &offset, &total))
		len = 0;
	return emu_link_parse((const char *)data, len, err, err_size);
}

/* Stores a new registration and answers 2.01 with its Location-Path. */
static void register_accept(struct emu_server *srv, const struct emu_origin *o,
			    const struct emu_rd_query *q, json_t *links, coap_pdu_t *resp)
{
	struct emu_reg *old = NULL;
	char code[8];
	struct emu_reg *r = emu_registry_add(&srv->registry, q->ep, o->identity, links, &old);
	if (old) {
		emu_lwm2m_bury(srv, old);
		emu_reg_free(old);
	}
	if (!r || emu_lwm2m_attach(srv, r) < 0) {
		if (r) {
			emu_registry_remove(&srv->registry, r);
			emu_reg_free(r);
		}
		coap_pdu_set_code(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR);
		return;
	}
	r->lifetime = q->lt >= 0 ? (uint32_t)q->lt : EMU_DEFAULT_LIFETIME;
	r->lwm2m = q->has_lwm2m ? strdup(q->lwm2m) : NULL;
	r->binding = q->has_b ? strdup(q->b) : NULL;
	r->session = o->session;
	if (o->s)
		snprintf(o->s->location, sizeof(o->s->location), "%s", r->location);
	r->expires_ms = lh_time_mono_ms() + (int64_t)r->lifetime * 1000;
	srv->stats.registrations++;
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CREATED);
	coap_add_option(resp, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd");
	coap_add_option(resp, COAP_OPTION_LOCATION_PATH, strlen(r->location + 4),
			(const uint8_t *)r->location + 4);
	lh_event_emitf(
	    "register", "{s:I, s:s, s:s?, s:s*, s:s, s:I, s:s?, s:s?, s:b, s:s, s:O, s:s}",
	    "session", (json_int_t)o->session, "peer", o->peer, "identity", o->identity, "subject",
	    o->subject, "endpoint", r->endpoint, "lifetime", (json_int_t)r->lifetime, "lwm2m",
	    r->lwm2m, "binding", r->binding, "queue_mode", q->queue_mode, "location", r->location,
	    "links", r->links, "code", code_text(COAP_RESPONSE_CODE_CREATED, code));
}

/* POST /rd?ep=..&lt=..: Register. */
static void hnd_register(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
			 const coap_string_t *query, coap_pdu_t *resp)
{
	struct emu_server *srv = server_of(cs);
	struct emu_origin o;
	struct emu_rd_query q;
	char err[512];
	json_t *links = NULL;
	(void)res;
	request_origin(srv, cs, &o);
	if (emu_lwm2m_parse_query(query ? (const char *)query->s : "", query ? query->length : 0,
				  srv->cfg->min_lifetime, srv->cfg->max_lifetime, 1, &q, err,
				  sizeof(err)) < 0) {
		register_refused(resp, &o, q.has_ep ? q.ep : NULL, err);
		goto exit;
	}
	if (check_binding(srv, &o, q.ep, err, sizeof(err)) < 0) {
		register_refused_code(resp, &o, q.ep, err, COAP_RESPONSE_CODE_FORBIDDEN);
		goto exit;
	}
	links = request_links(req, err, sizeof(err));
	if (!links) {
		register_refused(resp, &o, q.ep, err);
		goto exit;
	}
	register_accept(srv, &o, &q, links, resp);
exit:
	json_decref(links);
}

/* The registration a /rd/{id} resource serves, or NULL when it is gone. */
static struct emu_reg *resource_reg(struct emu_server *srv, coap_resource_t *res,
				    char location[EMU_LOCATION_MAX])
{
	coap_str_const_t *path = coap_resource_get_uri_path(res);
	snprintf(location, EMU_LOCATION_MAX, "/%.*s", path ? (int)path->length : 0,
		 path ? (const char *)path->s : "");
	return coap_resource_get_userdata(res) ? emu_registry_find(&srv->registry, location) : NULL;
}

/* Applies an Update's lt/b/payload to r; -1 with err on bad input. */
static int apply_update(struct emu_server *srv, struct emu_reg *r, const coap_pdu_t *req,
			const coap_string_t *query, char *err, size_t err_size)
{
	struct emu_rd_query q;
	size_t len = 0, offset, total;
	const uint8_t *data = NULL;
	if (emu_lwm2m_parse_query(query ? (const char *)query->s : "", query ? query->length : 0,
				  srv->cfg->min_lifetime, srv->cfg->max_lifetime, 0, &q, err,
				  err_size) < 0)
		return -1;
	if (coap_get_data_large(req, &len, &data, &offset, &total) && len > 0) {
		json_t *links = emu_link_parse((const char *)data, len, err, err_size);
		if (!links)
			return -1;
		json_decref(r->links);
		r->links = links;
	}
	if (q.lt >= 0)
		r->lifetime = (uint32_t)q.lt;
	if (q.has_b) {
		free(r->binding);
		r->binding = strdup(q.b);
	}
	r->expires_ms = lh_time_mono_ms() + (int64_t)r->lifetime * 1000;
	return 0;
}

/* POST /rd/{id}: Update (2.04, 4.00 on bad parameters, 4.04 when gone). */
static void hnd_update(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
		       const coap_string_t *query, coap_pdu_t *resp)
{
	struct emu_server *srv = server_of(cs);
	struct emu_origin o;
	char location[EMU_LOCATION_MAX], err[160] = "", code[8];
	coap_pdu_code_t rc = COAP_RESPONSE_CODE_CHANGED;
	request_origin(srv, cs, &o);
	struct emu_reg *r = res ? resource_reg(srv, res, location) : NULL;
	if (!res) {
		coap_string_t *path = coap_get_uri_path(req);
		snprintf(location, sizeof(location), "/%.*s", path ? (int)path->length : 0,
			 path ? (const char *)path->s : "");
		coap_delete_string(path);
	}
	if (!r)
		rc = COAP_RESPONSE_CODE_NOT_FOUND;
	else if (apply_update(srv, r, req, query, err, sizeof(err)) < 0)
		rc = COAP_RESPONSE_CODE_BAD_REQUEST;
	else
		r->session = o.session;
	if (r && o.s && rc == COAP_RESPONSE_CODE_CHANGED)
		snprintf(o.s->location, sizeof(o.s->location), "%s", r->location);
	coap_pdu_set_code(resp, rc);
	lh_event_emitf("update", "{s:I, s:s, s:s, s:s?, s:o, s:s, s:s?}", "session",
		       (json_int_t)o.session, "peer", o.peer, "location", location, "endpoint",
		       r ? r->endpoint : NULL, "lifetime",
		       r ? json_integer(r->lifetime) : json_null(), "code", code_text(rc, code),
		       "reason", err[0] ? err : (r ? NULL : "unknown registration"));
}

/* DELETE /rd/{id}: De-register (2.02, 4.04 when gone). */
static void hnd_deregister(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
			   const coap_string_t *query, coap_pdu_t *resp)
{
	struct emu_server *srv = server_of(cs);
	struct emu_origin o;
	char location[EMU_LOCATION_MAX], code[8];
	(void)req;
	(void)query;
	request_origin(srv, cs, &o);
	struct emu_reg *r = resource_reg(srv, res, location);
	coap_pdu_code_t rc = r ? COAP_RESPONSE_CODE_DELETED : COAP_RESPONSE_CODE_NOT_FOUND;
	coap_pdu_set_code(resp, rc);
	lh_event_emitf("deregister", "{s:I, s:s, s:s, s:s?, s:s}", "session", (json_int_t)o.session,
		       "peer", o.peer, "location", location, "endpoint", r ? r->endpoint : NULL,
		       "code", code_text(rc, code));
	if (r) {
		emu_registry_remove(&srv->registry, r);
		emu_lwm2m_bury(srv, r);
		emu_reg_free(r);
	}
}

/* POST to a path nobody serves: an Update of a registration this server
 * never had (or lost in a restart) must get 4.04 and show in the log. */
static void hnd_unknown_post(coap_resource_t *res, coap_session_t *cs, const coap_pdu_t *req,
			     const coap_string_t *query, coap_pdu_t *resp)
{
	(void)res;
	hnd_update(NULL, cs, req, query, resp);
}

int emu_lwm2m_init(struct emu_server *srv)
{
	coap_resource_t *rd = coap_resource_init(coap_make_str_const("rd"), 0);
	coap_resource_t *unknown = coap_resource_unknown_init2(NULL, 0);
	if (!rd || !unknown)
		return -1;
	coap_register_handler(rd, COAP_REQUEST_POST, hnd_register);
	coap_add_resource(srv->coap, rd);
	coap_register_handler(unknown, COAP_REQUEST_POST, hnd_unknown_post);
	coap_add_resource(srv->coap, unknown);
	return 0;
}
