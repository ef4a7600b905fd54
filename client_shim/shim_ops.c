/* shim_ops.c: Write, Execute, Discover, Write-Attributes and the Read of
 * the objects other than /3 (see shim_ops.h), on libcoap resources. */
#include "client_shim/shim_ops.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_shim/shim_codec.h"
#include "client_shim/shim_device.h"
#include "client_shim/shim_model.h"
#include "client_shim/shim_watch.h"
#include "lh_event.h"

#define WHY_MAX 160
#define FW_IDLE 0
#define FW_DOWNLOADED 2

/* One request being served: where it goes and what it says. */
typedef struct {
	shim_client_t *c;
	shim_path_t p;
	char path[32];
	const char *method, *op;
	char why[WHY_MAX];
} served_t;

/* One event per served request, so a scenario can assert what the device
 * answered (the server's view is the emulator's response_received). */
void shim_ops_served(shim_client_t *c, const char *method, const char *op, const char *path,
		     int code, const char *reason)
{
	char text[16];

	snprintf(text, sizeof(text), "%d.%02d", code / 100, code % 100);
	if (reason && *reason && code >= 400)
		lh_event_emitf("request_served", "{s:s,s:s,s:s,s:s,s:s}", "method", method, "op",
			       op, "path", path, "code", text, "reason", reason);
	else
		lh_event_emitf("request_served", "{s:s,s:s,s:s,s:s}", "method", method, "op", op,
			       "path", path, "code", text);
	(void)c;
}

/* Sets the answer's code, reports it and counts it for wait_request. */
static void answer(served_t *s, coap_pdu_t *response, int code)
{
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	s->c->server_requests++;
	shim_ops_served(s->c, s->method, s->op, s->path, code, s->why);
}

/* Fills s from the request's Uri-Path; -1 when it is not /o[/i[/r]]. */
static int start(served_t *s, coap_session_t *session, const coap_pdu_t *request,
		 const char *method, const char *op)
{
	coap_string_t *uri = coap_get_uri_path(request);
	int ret;

	memset(s, 0, sizeof(*s));
	s->c = coap_get_app_data(coap_session_get_context(session));
	s->method = method;
	s->op = op;
	if (!uri)
		return -1;
	snprintf(s->path, sizeof(s->path), "/%.*s", (int)uri->length, (const char *)uri->s);
	ret = shim_model_path((const char *)uri->s, uri->length, &s->p);
	coap_delete_string(uri);
	return ret;
}

/* A number option of the request (Content-Format, Accept), -1 when absent. */
static int opt_num(const coap_pdu_t *request, uint16_t num)
{
	coap_opt_iterator_t oi;
	coap_opt_t *opt = coap_check_option(request, num, &oi);

	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* 4.04 unless the path names something of the model; 4.01 for the
 * Security object, which only a bootstrap server may touch. */
static int check_path(served_t *s)
{
	int bs = s->c->bootstrapping;

	if (!(shim_model_has(s->p.oid, s->p.iid) || (bs && s->p.oid == 0 && s->p.iid == 1)) ||
	    (s->p.depth == 3 && !shim_model_def(s->p.oid, s->p.rid)))
		return snprintf(s->why, sizeof(s->why),
				"%s is not an object, instance or "
				"resource of this client",
				s->path),
		       404;
	if (s->p.oid == 0 && !bs)
		return snprintf(s->why, sizeof(s->why),
				"the Security object is for the bootstrap server only"),
		       401;
	return 0;
}

/* What a value written to /5/0/0 or /5/0/1 does: a package (or URI) makes
 * the state Downloaded, an empty one Idle. */
static void firmware_written(shim_client_t *c, int rid, const shim_val_t *v)
{
	shim_val_t *state = shim_model_val(c->model, 5, 3);

	if (state && (rid == 0 || rid == 1))
		state->num = v->len ? FW_DOWNLOADED : FW_IDLE;
}

/* Whether record r may be written: its resource exists (4.04), is not in
 * the Security object unless a bootstrap server writes (4.01), takes a
 * Write (4.05) and its value fits (4.00). 0 or the code, with why. */
static int check_record(shim_client_t *c, const shim_rec_t *r, shim_val_t *val, char *why,
			size_t size)
{
	const shim_res_def_t *d = shim_model_def(r->oid, r->rid);

	if (!d ||
	    !(shim_model_has(r->oid, r->iid) || (c->bootstrapping && r->oid == 0 && r->iid == 1)))
		return snprintf(why, size, "/%d/%d/%d does not exist", r->oid, r->iid, r->rid), 404;
	if (r->oid == 0 && !c->bootstrapping)
		return snprintf(why, size, "the Security object is for the bootstrap server only"),
		       401;
	if (!(d->ops & SHIM_OP_W))
		return snprintf(why, size, "/%d/%d/%d is not writable", r->oid, r->iid, d->rid),
		       405;
	return shim_codec_value(d, r, val, why, size) ? 400 : 0;
}

/* A Write or Write-Composite is applied whole or not at all: a server
 * that sees an error must be able to trust nothing changed. */
int shim_ops_apply(shim_client_t *c, const shim_recs_t *recs, char *why, size_t size)
{
	static shim_val_t vals[SHIM_REC_MAX];
	const shim_rec_t *r;
	shim_path_t p;
	shim_val_t *dst;
	size_t i;
	int code;

	for (i = 0; i < recs->n; i++)
		if ((code = check_record(c, &recs->rec[i], &vals[i], why, size)))
			return code;
	for (i = 0; i < recs->n; i++) {
		r = &recs->rec[i];
		if ((dst = shim_model_val_at(c->model, r->oid, r->iid, r->rid))) {
			*dst = vals[i];
			if (r->oid == 5)
				firmware_written(c, r->rid, dst);
		}
		p = (shim_path_t){r->oid, r->iid, r->rid, 3};
		shim_watch_changed(c, &p);
	}
	return 204;
}

/* Write (replace or partial update) of an instance or a resource. */
static int write_payload(served_t *s, const coap_pdu_t *request)
{
	shim_recs_t recs;
	const uint8_t *data = NULL;
	size_t len = 0;
	int code;

	if (s->p.depth == 1)
		return snprintf(s->why, sizeof(s->why), "a Write names an instance or resource"),
		       405;
	coap_get_data(request, &len, &data);
	code = shim_codec_decode(&s->p, opt_num(request, COAP_OPTION_CONTENT_FORMAT), data, len,
				 &recs, s->why, sizeof(s->why));
	if (!code)
		code = shim_ops_apply(s->c, &recs, s->why, sizeof(s->why));
	shim_codec_release(&recs);
	return code;
}

/* PUT: Write (with a payload) or Write-Attributes (Uri-Query only). */
static void on_put(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		   const coap_string_t *query, coap_pdu_t *response)
{
	const uint8_t *data;
	size_t len = 0;
	int attrs = !coap_get_data(request, &len, &data) || !len, code;
	served_t s;

	(void)r;
	if (start(&s, session, request, "PUT", attrs ? "write_attributes" : "write"))
		code = 404;
	else if ((code = check_path(&s)))
		;
	else if (attrs)
		code = shim_watch_write_attrs(s.c, &s.p, query, s.why, sizeof(s.why));
	else
		code = write_payload(&s, request);
	if (attrs && !code)
		code = 204;
	answer(&s, response, code);
}

/* Execute of a resource: what it does, then 2.04; 4.05 when it is not
 * executable (or, for a firmware Update, when no package is there). */
static int execute(served_t *s)
{
	const shim_res_def_t *d = shim_model_def(s->p.oid, s->p.rid);
	shim_val_t *state = shim_model_val(s->c->model, 5, 3);

	if (!(d->ops & SHIM_OP_E))
		return snprintf(s->why, sizeof(s->why), "%s is not executable", s->path), 405;
	/* Registration Update Trigger: the Update goes out from the main loop
	 * (a request cannot wait for its answer inside this handler). */
	if (s->p.oid == 1 && s->p.rid == 8)
		s->c->update_due = 1;
	if (s->p.oid == 5 && s->p.rid == 2) {
		if (!state || state->num != FW_DOWNLOADED)
			return snprintf(s->why, sizeof(s->why), "no firmware package downloaded"),
			       405;
		state->num = FW_IDLE;
		shim_model_val(s->c->model, 5, 5)->num = 1; /* Firmware updated */
		shim_watch_changed(s->c, &s->p);
	}
	return 204;
}

/* POST: Execute (resource), partial Write (instance), Create (object:
 * the objects here have a fixed instance, so 4.05). */
static void on_post(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		    const coap_string_t *query, coap_pdu_t *response)
{
	served_t s;
	int bad = start(&s, session, request, "POST", "execute"), code;

	(void)r;
	(void)query;
	if (!bad && s.p.depth == 2)
		s.op = "write_partial";
	else if (!bad && s.p.depth == 1)
		s.op = "create";
	if (bad)
		code = 404;
	else if ((code = check_path(&s)))
		;
	else if (s.p.depth == 3)
		code = execute(&s);
	else if (s.p.depth == 2)
		code = write_payload(&s, request);
	else
		code = (snprintf(s.why, sizeof(s.why), "/%d has one fixed instance", s.p.oid), 405);
	answer(&s, response, code);
}

/* DELETE: instances here are fixed, resources cannot be deleted. */
static void on_delete(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		      const coap_string_t *query, coap_pdu_t *response)
{
	served_t s;
	int code;

	(void)r;
	(void)query;
	if (start(&s, session, request, "DELETE", "delete"))
		code = 404;
	else if ((code = check_path(&s)))
		;
	else if (s.c->bootstrapping && s.p.oid == 0 && (s.p.depth == 1 || s.p.iid == 1))
		code = (shim_model_drop_sec1(s.c->model), 202);
	else
		code = (snprintf(s.why, sizeof(s.why), "%s cannot be deleted", s.path), 405);
	answer(&s, response, code);
}

/* Appends "</o/i/r>" with ";dim=1" for a multiple resource and the
 * attributes written on the path; -1 when buf is full. */
static int link_one(shim_client_t *c, const shim_path_t *p, int multiple, char *buf, size_t size,
		    size_t *used)
{
	char attrs[128], name[32];
	int n;

	if (p->depth == 1)
		snprintf(name, sizeof(name), "/%d", p->oid);
	else if (p->depth == 2)
		snprintf(name, sizeof(name), "/%d/%d", p->oid, p->iid);
	else
		snprintf(name, sizeof(name), "/%d/%d/%d", p->oid, p->iid, p->rid);
	shim_watch_attr_text(c, p, attrs, sizeof(attrs));
	n = snprintf(buf + *used, size - *used, "%s<%s>%s%s", *used ? "," : "", name,
		     multiple ? ";dim=1" : "", attrs);
	if (n < 0 || (size_t)n >= size - *used)
		return -1;
	*used += (size_t)n;
	return 0;
}

/* The Discover answer (LwM2M 1.1 §5.4.2): the object and instance when
 * asked for, then the resources, each with its attributes. */
static int discover_body(shim_client_t *c, const shim_path_t *p, char *buf, size_t size)
{
	shim_path_t q = {p->oid, -1, -1, 1};
	const shim_res_def_t *d;
	size_t used = 0, i;

	int last = p->oid == 0 && shim_model_sec1(c->model) ? 1 : 0;

	buf[0] = 0;
	if (p->depth == 1 && link_one(c, &q, 0, buf, size, &used))
		return -1;
	for (q.iid = p->depth == 1 ? 0 : p->iid; q.iid <= (p->depth == 1 ? last : p->iid);
	     q.iid++) {
		q.depth = 2;
		q.rid = -1;
		if (p->depth <= 2 && link_one(c, &q, 0, buf, size, &used))
			return -1;
		q.depth = 3;
		for (i = 0; (d = shim_model_nth(p->oid, i)); i++) {
			q.rid = d->rid;
			if ((p->depth < 3 || d->rid == p->rid) &&
			    link_one(c, &q, d->multiple, buf, size, &used))
				return -1;
		}
	}
	return (int)used;
}

/* libcoap hands the copy back once the last block went (or failed). */
static void release_copy(coap_session_t *session, void *copy)
{
	(void)session;
	free(copy);
}

/* libcoap leaves Content-Format out for text/plain, 0; LwM2M servers
 * expect it stated. */
int shim_ops_put_body(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		      const coap_string_t *query, coap_pdu_t *response, int fmt, const void *body,
		      size_t len)
{
	uint8_t *copy;

	if (fmt == SHIM_FMT_TEXT && !coap_add_option(response, COAP_OPTION_CONTENT_FORMAT, 0, NULL))
		return 500;
	if (!(copy = malloc(len ? len : 1)))
		return 500;
	/* A Block2 answer is sent from the copy after this handler returns;
	 * libcoap owns it from here on, also when this fails. */
	memcpy(copy, body, len);
	if (!coap_add_data_large_response(r, session, request, response, query, (uint16_t)fmt, -1,
					  0, len, copy, release_copy, copy))
		return 500;
	return 0;
}

/* Discover of a checked path: 2.05 with the links. */
static int discover(served_t *s, coap_resource_t *r, coap_session_t *session,
		    const coap_pdu_t *request, const coap_string_t *query, coap_pdu_t *response)
{
	static char links[2048];
	int len = discover_body(s->c, &s->p, links, sizeof(links));

	if (len < 0)
		return 500;
	len = shim_ops_put_body(r, session, request, query, response, SHIM_FMT_LINK, links,
				(size_t)len);
	return len ? len : 205;
}

/* Discover for shim_device's resources (their GET is shim_device's). */
void shim_ops_discover(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		       const coap_string_t *query, coap_pdu_t *response)
{
	served_t s;
	int code = start(&s, session, request, "GET", "discover") ? 404 : check_path(&s);

	if (!code)
		code = discover(&s, r, session, request, query, response);
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	shim_ops_served(s.c, s.method, s.op, s.path, code, s.why);
}

/* One SenML record of /o/0/rid (the first carries the base name). */
static json_t *senml_record(shim_client_t *c, const shim_res_def_t *d, int first)
{
	const shim_val_t *v = shim_model_val(c->model, d->oid, d->rid);
	char name[16], bn[16];
	json_t *rec;

	snprintf(name, sizeof(name), "%u", d->rid);
	if (d->type == SHIM_T_STR)
		rec = json_pack("{s:s,s:s}", "n", name, "vs", (const char *)v->bytes);
	else if (d->type == SHIM_T_BOOL)
		rec = json_pack("{s:s,s:b}", "n", name, "vb", (int)v->num);
	else
		rec = json_pack("{s:s,s:I}", "n", name, "v", (json_int_t)v->num);
	snprintf(bn, sizeof(bn), "/%u/0/", d->oid);
	if (rec && first)
		json_object_set_new(rec, "bn", json_string(bn));
	return rec;
}

/* SenML JSON of the readable resources at p (opaque ones left out). */
static char *senml_body(shim_client_t *c, const shim_path_t *p)
{
	const shim_res_def_t *d;
	json_t *a = json_array();
	char *out = NULL;
	size_t i;

	for (i = 0; a && (d = shim_model_nth(p->oid, i)); i++)
		if ((d->ops & SHIM_OP_R) && d->type != SHIM_T_OPAQUE &&
		    (p->depth < 3 || d->rid == p->rid) &&
		    json_array_append_new(a, senml_record(c, d, !json_array_size(a))))
			goto exit;
	out = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
exit:
	json_decref(a);
	return out;
}

/* One SenML record of /o/i/rid named in full, as composite answers carry
 * them (no base name: paths of several objects mix). */
static json_t *full_record(shim_client_t *c, const shim_res_def_t *d, int iid)
{
	const shim_val_t *v = shim_model_val_at(c->model, d->oid, iid, d->rid);
	char name[32];

	snprintf(name, sizeof(name), "/%u/%d/%u", d->oid, iid, d->rid);
	if (!v)
		return NULL;
	if (d->type == SHIM_T_STR)
		return json_pack("{s:s,s:s}", "n", name, "vs", (const char *)v->bytes);
	if (d->type == SHIM_T_BOOL)
		return json_pack("{s:s,s:b}", "n", name, "vb", (int)v->num);
	return json_pack("{s:s,s:I}", "n", name, "v", (json_int_t)v->num);
}

/* Read-Composite's share of each listed path: the records a Read of it
 * gives, under full names since the answer mixes objects. */
int shim_ops_records(shim_client_t *c, const shim_path_t *p, json_t *out)
{
	static const int readable[] = {1, 3, 5};
	const shim_res_def_t *d;
	size_t i, before = json_array_size(out);
	int iid = p->iid < 0 ? 0 : p->iid;
	shim_path_t obj = {-1, -1, -1, 1};

	/* The root ("/"): every object the server may read, so not /0. */
	for (i = 0; !p->depth && i < sizeof(readable) / sizeof(readable[0]); i++)
		if (obj.oid = readable[i], shim_ops_records(c, &obj, out) < 0)
			return -1;
	if (!p->depth)
		return 0;
	if (p->oid == 0 && shim_model_has(p->oid, p->iid))
		return 401;
	if (p->oid == 3)
		return shim_device_records(c, p, out);
	if (!shim_model_has(p->oid, p->iid))
		return 404;
	for (i = 0; (d = shim_model_nth(p->oid, i)); i++)
		if ((d->ops & SHIM_OP_R) && d->type != SHIM_T_OPAQUE &&
		    (p->depth < 3 || d->rid == p->rid) &&
		    json_array_append_new(out, full_record(c, d, iid)))
			return -1;
	return json_array_size(out) > before ? 0 : 404;
}

/* The format of a Read: what Accept asks for when it fits, else text (or
 * opaque) for one resource and SenML JSON for more; -1: 4.06. */
static int read_format(const shim_path_t *p, const shim_res_def_t *d, int accept)
{
	int single = p->depth == 3 ? (d->type == SHIM_T_OPAQUE ? SHIM_FMT_OPAQUE : SHIM_FMT_TEXT)
				   : SHIM_FMT_SENML_JSON;

	if (accept < 0 || accept == single || accept == SHIM_FMT_SENML_JSON)
		return accept < 0 ? single : accept;
	return -1;
}

/* Read (also Observe and the notifications) of a checked path. */
static int read_path(served_t *s, coap_resource_t *r, coap_session_t *session,
		     const coap_pdu_t *request, const coap_string_t *query, coap_pdu_t *response)
{
	const shim_res_def_t *d = s->p.depth == 3 ? shim_model_def(s->p.oid, s->p.rid) : NULL;
	int fmt = read_format(&s->p, d, opt_num(request, COAP_OPTION_ACCEPT)), ret;
	char text[SHIM_VAL_MAX + 1], *body = NULL;
	const shim_val_t *v = d ? shim_model_val(s->c->model, d->oid, d->rid) : NULL;

	if (d && !(d->ops & SHIM_OP_R))
		return snprintf(s->why, sizeof(s->why), "%s is not readable", s->path), 405;
	if (fmt < 0)
		return snprintf(s->why, sizeof(s->why), "cannot answer in the Accept format"), 406;
	if (fmt == SHIM_FMT_SENML_JSON && !(body = senml_body(s->c, &s->p)))
		return 500;
	if (fmt == SHIM_FMT_TEXT &&
	    shim_model_text(s->c->model, d->oid, d->rid, text, sizeof(text)))
		return 500;
	coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
	if (body)
		ret = shim_ops_put_body(r, session, request, query, response, fmt, body,
					strlen(body));
	else if (fmt == SHIM_FMT_TEXT)
		ret = shim_ops_put_body(r, session, request, query, response, fmt, text,
					strlen(text));
	else
		ret =
		    shim_ops_put_body(r, session, request, query, response, fmt, v->bytes, v->len);
	free(body);
	return ret ? ret : 205;
}

/* GET on the objects other than /3: Read, Observe, Cancel, Discover, and
 * the notifications libcoap produces by running it again (CON answers). */
static void on_get(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		   const coap_string_t *query, coap_pdu_t *response)
{
	int observe = opt_num(request, COAP_OPTION_OBSERVE), code;
	int notification = coap_pdu_get_type(response) == COAP_MESSAGE_CON;
	int disc = opt_num(request, COAP_OPTION_ACCEPT) == SHIM_FMT_LINK;
	served_t s;

	if (start(&s, session, request, "GET",
		  disc		 ? "discover"
		  : observe == 0 ? "observe"
		  : observe == 1 ? "cancel"
				 : "read"))
		code = 404;
	else if ((code = check_path(&s)))
		;
	else if (disc)
		code = discover(&s, r, session, request, query, response);
	else
		code = read_path(&s, r, session, request, query, response);
	shim_watch_noted(s.c, r, observe, notification);
	if (!notification) {
		answer(&s, response, code);
		return;
	}
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	lh_event_emitf("notification", "{s:s}", "path", s.path);
}

/* Any request to a path the client does not have: 4.04 (libcoap itself
 * answers DELETE of an unknown path). */
static void on_unknown(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		       const coap_string_t *query, coap_pdu_t *response)
{
	static const char *names[] = {"?",	"GET",	 "POST",  "PUT",
				      "DELETE", "FETCH", "PATCH", "IPATCH"};
	unsigned code = coap_pdu_get_code(request);
	served_t s;

	(void)r;
	(void)query;
	start(&s, session, request, code < 8 ? names[code] : "?", "unknown");
	snprintf(s.why, sizeof(s.why), "%s is not an object, instance or resource of this client",
		 s.path);
	answer(&s, response, 404);
}

/* The resource at uri: the one shim_device made (it keeps its GET) or a
 * new observable one with the GET here; both get PUT, POST and DELETE. */
static int ensure(shim_client_t *c, const char *uri)
{
	coap_resource_t *r = coap_get_resource_from_uri_path(c->ctx, coap_make_str_const(uri));

	if (!r) {
		r = coap_resource_init(coap_new_str_const((const uint8_t *)uri, strlen(uri)),
				       COAP_RESOURCE_FLAGS_NOTIFY_CON |
					   COAP_RESOURCE_FLAGS_RELEASE_URI);
		if (!r)
			return -1;
		coap_register_handler(r, COAP_REQUEST_GET, on_get);
		coap_resource_set_get_observable(r, 1);
		coap_add_resource(c->ctx, r);
	}
	coap_register_handler(r, COAP_REQUEST_PUT, on_put);
	coap_register_handler(r, COAP_REQUEST_POST, on_post);
	coap_register_handler(r, COAP_REQUEST_DELETE, on_delete);
	return shim_watch_track(c, r);
}

/* One instance and each of its resources. */
static int ensure_instance(shim_client_t *c, int oid, int iid)
{
	const shim_res_def_t *d;
	char uri[24];
	size_t i;

	snprintf(uri, sizeof(uri), "%d/%d", oid, iid);
	if (ensure(c, uri))
		return -1;
	for (i = 0; (d = shim_model_nth(oid, i)); i++) {
		snprintf(uri, sizeof(uri), "%d/%d/%u", oid, iid, d->rid);
		if (ensure(c, uri))
			return -1;
	}
	return 0;
}

/* The object and its instance 0; the Security object also its instance 1,
 * the server account a bootstrap server writes. */
static int ensure_object(shim_client_t *c, int oid)
{
	char uri[24];

	snprintf(uri, sizeof(uri), "%d", oid);
	if (ensure(c, uri) || ensure_instance(c, oid, 0))
		return -1;
	return oid == 0 ? ensure_instance(c, 0, 1) : 0;
}

/* Builds the model and its resources once, at start: libcoap keeps them
 * with the context across reconnects. */
int shim_ops_init(shim_client_t *c)
{
	static const int oids[] = {0, 1, 3, 5};
	coap_resource_t *unknown;
	size_t i;

	c->model = shim_model_new(0, "U");
	c->watch = shim_watch_new();
	if (!c->model || !c->watch)
		return -1;
	for (i = 0; i < sizeof(oids) / sizeof(oids[0]); i++)
		if (ensure_object(c, oids[i]))
			return -1;
	unknown = coap_resource_unknown_init2(on_unknown, 0);
	if (!unknown)
		return -1;
	coap_register_handler(unknown, COAP_REQUEST_GET, on_unknown);
	coap_register_handler(unknown, COAP_REQUEST_POST, on_unknown);
	coap_add_resource(c->ctx, unknown);
	return 0;
}

/* The model and attributes (libcoap frees the resources). */
void shim_ops_free(shim_client_t *c)
{
	shim_model_free(c->model);
	shim_watch_free(c->watch);
	c->model = NULL;
	c->watch = NULL;
}
