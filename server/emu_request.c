/* Server-initiated requests on the emulator's own CoAP layer (see
 * emu_request.h). */
#include "emu_request.h"

#include <stdlib.h>
#include <string.h>

#include "emu_cbor.h"
#include "emu_device.h"
#include "emu_limits.h"
#include "emu_reload.h"
#include "emu_link.h"
#include "emu_model.h"
#include "emu_msg.h"
#include "emu_senml.h"
#include "emu_server.h"
#include "emu_tlv.h"
#include "lh_event.h"
#include "lh_hex.h"
#include "lh_time.h"

#define EMU_FMT_TEXT 0
#define EMU_FMT_LINK 40
#define EMU_FMT_OPAQUE 42
#define EMU_FMT_JSON 50
#define EMU_FMT_SENML_JSON 110
#define EMU_FMT_TLV 11542
#define EMU_FMT_LWM2M_JSON 11543
#define EMU_FMT_SENML_CBOR 112
#define EMU_FMT_LWM2M_CBOR 11544

/* RFC 7252 §4.8 transmission parameters. */
#define EMU_ACK_TIMEOUT_MS 2000
#define EMU_MAX_RETRANSMIT 4
#define EMU_RESPONSE_WAIT_MS 93000 /* MAX_TRANSMIT_WAIT: a separate response */
#define EMU_BLOCK2_MAX 65536	   /* a reassembled answer, at most */
#define EMU_PAYLOAD_MAX 4096

/* Where a request waits for its ACK: the session and message id it went out
 * with. */
struct emu_req_mid {
	uint64_t session;
	uint16_t mid;
	uint16_t pad[3];
};

struct emu_req {
	uint64_t id;
	uint8_t token[8];
	size_t token_len;
	char endpoint[256];
	char path[128];
	char method[24];
	char query[160];	/* Write-Attributes: "pmin=5&pmax=30" */
	int observe;		/* an Observe that may become an observation */
	unsigned answers;	/* responses seen (the first is not a notification) */
	uint64_t pin;		/* bootstrap: the session it must use; 0: the device's */
	int proto;		/* the transport wire is framed for (COAP_PROTO_*) */
	struct emu_req_mid key; /* last sent on */
	int acked, tries;
	int queued;    /* waits for the device's request in flight (NSTART 1) */
	int announced; /* request_sent was reported (it went on the wire) */
	uint32_t timer_gen;
	int64_t timeout_ms; /* the current retransmission timeout */
	uint16_t last_con_mid;
	uint8_t *wire; /* the message as sent, for retransmission */
	size_t wire_len;
	uint8_t *b2; /* Block2: the answer so far */
	size_t b2_len;
	UT_hash_handle hh, hh_id, hh_mid;
};

struct emu_requests {
	struct emu_req *by_token, *by_id, *by_mid;
	uint64_t next_id;
	size_t pending; /* not yet answered */
};

/* Content-format names the control API accepts. */
static const struct {
	const char *name;
	int id;
} formats[] = {{"text", EMU_FMT_TEXT},
	       {"link", EMU_FMT_LINK},
	       {"opaque", EMU_FMT_OPAQUE},
	       {"json", EMU_FMT_JSON},
	       {"senml+json", EMU_FMT_SENML_JSON},
	       {"tlv", EMU_FMT_TLV},
	       {"lwm2m+json", EMU_FMT_LWM2M_JSON},
	       {"senml+cbor", EMU_FMT_SENML_CBOR},
	       {"lwm2m+cbor", EMU_FMT_LWM2M_CBOR}};

int emu_request_init(struct emu_server *srv)
{
	srv->requests = calloc(1, sizeof(*srv->requests));
	if (!srv->requests)
		return -1;
	srv->requests->next_id = 1;
	return 0;
}

/* Unlinks and frees a request. */
static void req_free(struct emu_requests *t, struct emu_req *r)
{
	HASH_DELETE(hh, t->by_token, r);
	HASH_DELETE(hh_id, t->by_id, r);
	if (r->key.session)
		HASH_DELETE(hh_mid, t->by_mid, r);
	if (r->answers == 0)
		t->pending--;
	free(r->wire);
	free(r->b2);
	free(r);
}

void emu_request_fini(struct emu_server *srv)
{
	struct emu_req *r, *tmp;
	if (!srv->requests)
		return;
	HASH_ITER(hh_id, srv->requests->by_id, r, tmp)
	req_free(srv->requests, r);
	free(srv->requests);
	srv->requests = NULL;
}

size_t emu_request_pending(const struct emu_server *srv)
{
	return srv->requests ? srv->requests->pending : 0;
}

/* Bytes as hex text (at most 512 bytes shown). */
static json_t *hex_json(const uint8_t *data, size_t len)
{
	char hex[2 * 512 + 1];
	lh_hex_encode(data, len < 512 ? len : 512, hex);
	return json_string(hex);
}

/* Kept for callers without a request path (other front ends): built-in
 * models only, TLV untyped. */
json_t *emu_request_decode(int format, const uint8_t *data, size_t len)
{
	return emu_request_decode_model(NULL, NULL, format, data, len);
}

/* SenML records carry their own types: the model only checks them. */
static json_t *checked(json_t *records, const struct emu_models *models)
{
	if (records)
		emu_model_check_records(records, models);
	return records;
}

/* One decoded form for events, ctl and every front end, whatever the
 * content format; what fails to decode is shown as hex with the reason. */
json_t *emu_request_decode_model(const struct emu_models *models, const char *path, int format,
				 const uint8_t *data, size_t len)
{
	char err[160] = "could not decode";
	json_t *v = NULL;
	if (format == EMU_FMT_TEXT)
		v = json_stringn((const char *)data, len);
	else if (format == EMU_FMT_TLV)
		v = emu_tlv_decode_model(data, len, models, path, err, sizeof(err));
	else if (format == EMU_FMT_SENML_JSON)
		v = checked(emu_senml_decode((const char *)data, len, err, sizeof(err)), models);
	else if (format == EMU_FMT_SENML_CBOR)
		v = checked(emu_cbor_senml_decode(data, len, err, sizeof(err)), models);
	else if (format == EMU_FMT_LWM2M_CBOR)
		v = checked(emu_cbor_lwm2m_decode(data, len, err, sizeof(err)), models);
	else if (format == EMU_FMT_JSON || format == EMU_FMT_LWM2M_JSON)
		v = json_loadb((const char *)data, len, 0, NULL);
	else if (format == EMU_FMT_LINK)
		v = emu_link_parse((const char *)data, len, err, sizeof(err));
	if (v)
		return json_pack("{s:o}", "decoded", v);
	return json_pack("{s:o, s:s?}", "hex", hex_json(data, len), "decode_error",
			 format == EMU_FMT_OPAQUE || format < 0 ? NULL : err);
}

/* An unsigned option of a PDU, or -1. */
static long long opt_uint(const coap_pdu_t *pdu, coap_option_num_t num)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, num, &it);
	return opt ? (long long)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt))
		   : -1;
}

/* The session a request goes out on now: its pin, or the device's. */
static struct emu_session *target(struct emu_server *srv, const char *ep, uint64_t pin, char *err,
				  size_t size)
{
	err[0] = '\0';
	if (pin) {
		/* A hibernated session is woken (emu_hibernate.c). */
		struct emu_session *s = emu_hib_session(srv, pin, err, size);
		if (!s && !err[0])
			snprintf(err, size, "session %llu of \"%s\" is closed",
				 (unsigned long long)pin, ep);
		return s;
	}
	struct emu_reg *reg = emu_registry_find_ep(&srv->registry, ep);
	struct emu_session *s = reg ? emu_hib_session(srv, reg->session, err, size) : NULL;
	if (s || err[0])
		return s;
	if (!reg)
		snprintf(err, size, "endpoint \"%s\" is not registered", ep);
	else if (!s)
		snprintf(err, size,
			 "endpoint \"%s\" has no live session: its last one (%llu) is closed and "
			 "it has not connected since",
			 ep, (unsigned long long)reg->session);
	return s;
}

/* Arms the request's timer at now + ms. */
static void arm(struct emu_server *srv, struct emu_req *r, int64_t ms)
{
	r->timer_gen++;
	(void)emu_timers_push(&srv->timers, lh_time_mono_ms() + ms, EMU_TIMER_REQUEST | r->id,
			      r->timer_gen);
}

/* Indexes r by the session and message id it was just sent with. */
static void key_set(struct emu_requests *t, struct emu_req *r, uint64_t session, uint16_t mid)
{
	if (r->key.session)
		HASH_DELETE(hh_mid, t->by_mid, r);
	memset(&r->key, 0, sizeof(r->key));
	r->key.session = session;
	r->key.mid = mid;
	HASH_ADD(hh_mid, t->by_mid, key, sizeof(r->key), r);
}

/* Reports a request as it first goes on the wire. */
static void announce(struct emu_req *r, struct emu_session *s)
{
	char tok[17];
	lh_hex_encode(r->token, r->token_len, tok);
	lh_event_emitf("request_sent", "{s:I, s:s, s:s, s:s, s:s, s:I}", "request",
		       (json_int_t)r->id, "endpoint", r->endpoint, "path", r->path, "method",
		       r->method, "token", tok, "session", (json_int_t)s->id);
	r->announced = 1;
}

static void fail(struct emu_server *srv, struct emu_req *r, const char *reason);

/* Puts r's message on s (with a fresh message id when s is not the session
 * it last went out on) and schedules what comes next. */
static void transmit(struct emu_server *srv, struct emu_req *r, struct emu_session *s)
{
	int stream = s->tp->proto == COAP_PROTO_TCP;
	if ((int)s->tp->proto != r->proto) {
		/* Queued while the device had no session, framed for the
		 * transport it had; it came back over another one. */
		fail(srv, r, "transport_changed");
		return;
	}
	if (!stream && r->key.session != s->id) {
		uint16_t mid = emu_msg_next_mid(s);
		r->wire[2] = (uint8_t)(mid >> 8);
		r->wire[3] = (uint8_t)mid;
		key_set(srv->requests, r, s->id, mid);
	} else if (stream) {
		key_set(srv->requests, r, s->id, 0);
	}
	s->tp->send(s, r->wire, r->wire_len);
	if (!r->announced)
		announce(r, s);
	if (stream) {
		r->acked = 1;
		arm(srv, r, EMU_RESPONSE_WAIT_MS);
	} else {
		arm(srv, r, r->timeout_ms);
	}
}

/* Is another request to r's device in flight? RFC 7252 §4.7 (NSTART 1):
 * one at a time, so bootstrap writes and Finish arrive in order. */
static int busy(struct emu_server *srv, const struct emu_req *r)
{
	struct emu_req *q, *tmp;
	HASH_ITER(hh_id, srv->requests->by_id, q, tmp)
	{
		if (q != r && !q->queued && q->answers == 0 && !strcmp(q->endpoint, r->endpoint))
			return 1;
	}
	return 0;
}

/* Is the device r goes to asleep (queue mode)? A pinned (bootstrap)
 * request goes to a session that just spoke. */
static int sleeping(struct emu_server *srv, const char *ep, uint64_t pin)
{
	return !pin && emu_device_asleep(srv, emu_registry_find_ep(&srv->registry, ep));
}

/* Sends the oldest request queued for endpoint ep, if any, unless its
 * device sleeps. */
static void promote(struct emu_server *srv, const char *ep)
{
	struct emu_req *q, *tmp;
	char err[300];
	HASH_ITER(hh_id, srv->requests->by_id, q, tmp)
	{
		if (!q->queued || strcmp(q->endpoint, ep))
			continue;
		if (sleeping(srv, ep, q->pin))
			return;
		q->queued = 0;
		struct emu_session *s = target(srv, q->endpoint, q->pin, err, sizeof(err));
		if (s)
			transmit(srv, q, s);
		else
			arm(srv, q, q->timeout_ms); /* retried as a retransmission */
		return;
	}
}

/* Drops a request that is over, and lets the device's next one go. */
static void finish(struct emu_server *srv, struct emu_req *r)
{
	char ep[sizeof(r->endpoint)];
	memcpy(ep, r->endpoint, sizeof(ep));
	req_free(srv->requests, r);
	promote(srv, ep);
}

/* Reports a request that ends without an answer, and drops it. */
static void fail(struct emu_server *srv, struct emu_req *r, const char *reason)
{
	lh_event_emitf("request_failed", "{s:I, s:s, s:s, s:s, s:s}", "request", (json_int_t)r->id,
		       "endpoint", r->endpoint, "path", r->path, "method", r->method, "reason",
		       reason);
	finish(srv, r);
}

size_t emu_request_queued(const struct emu_server *srv, const char *endpoint)
{
	struct emu_req *q, *tmp;
	size_t n = 0;
	if (!srv->requests)
		return 0;
	HASH_ITER(hh_id, srv->requests->by_id, q, tmp)
	n += q->queued && !strcmp(q->endpoint, endpoint);
	return n;
}

void emu_request_wake(struct emu_server *srv, const char *endpoint)
{
	struct emu_req tmp;
	snprintf(tmp.endpoint, sizeof(tmp.endpoint), "%s", endpoint);
	if (!busy(srv, &tmp))
		promote(srv, endpoint);
}

/* The oldest request waiting for endpoint, or NULL. */
static struct emu_req *oldest_queued(struct emu_server *srv, const char *endpoint)
{
	struct emu_req *q, *tmp;
	HASH_ITER(hh_id, srv->requests->by_id, q, tmp)
	{
		if (q->queued && !strcmp(q->endpoint, endpoint))
			return q;
	}
	return NULL;
}

/* Queue mode: r waits for its device to wake (it sends a Register, Update
 * or anything), at most $.lwm2m.queue.timeout_s; beyond max_requests the
 * oldest waiting one is refused. */
static void wait_for_wake(struct emu_server *srv, struct emu_req *r, const char *reason)
{
	const struct emu_config *cfg = emu_gen_cfg(srv);
	size_t n = emu_request_queued(srv, r->endpoint);
	if (n >= cfg->queue_max) {
		fail(srv, oldest_queued(srv, r->endpoint), "queue_full");
		n--;
	}
	r->queued = 1;
	arm(srv, r, (int64_t)cfg->queue_timeout_s * 1000);
	lh_event_emitf("request_queued", "{s:I, s:s, s:s, s:s, s:I, s:I}", "request",
		       (json_int_t)r->id, "endpoint", r->endpoint, "method", r->method, "reason",
		       reason, "queued", (json_int_t)n + 1, "limit", (json_int_t)cfg->queue_max);
}

void emu_request_timer(struct emu_server *srv, uint64_t id, uint32_t gen)
{
	struct emu_req *r = NULL;
	char err[300];
	if (srv->requests)
		HASH_FIND(hh_id, srv->requests->by_id, &id, sizeof(id), r);
	if (!r || r->timer_gen != gen || (r->observe && r->answers > 0))
		return;
	if (r->queued) {
		fail(srv, r, "queued_too_long");
		return;
	}
	if (r->acked) {
		fail(srv, r, "no_response");
		return;
	}
	if (++r->tries > EMU_MAX_RETRANSMIT) {
		fail(srv, r, "timeout");
		return;
	}
	struct emu_session *s = target(srv, r->endpoint, r->pin, err, sizeof(err));
	if (!s) {
		arm(srv, r, r->timeout_ms *= 2); /* the device may come back */
		return;
	}
	r->timeout_ms *= 2;
	lh_event_emitf("request_retransmitted", "{s:I, s:s, s:I, s:i}", "request",
		       (json_int_t)r->id, "endpoint", r->endpoint, "session", (json_int_t)s->id,
		       "try", r->tries);
	transmit(srv, r, s);
}

/* Method name -> CoAP code and Observe value (-1 none). */
static int method_code(const char *m, int *code, int *observe)
{
	static const struct {
		const char *name;
		int code, observe;
	} methods[] = {{"read", COAP_REQUEST_CODE_GET, -1},
		       {"discover", COAP_REQUEST_CODE_GET, -1},
		       {"observe", COAP_REQUEST_CODE_GET, 0},
		       {"cancel", COAP_REQUEST_CODE_GET, 1},
		       {"write", COAP_REQUEST_CODE_PUT, -1},
		       {"write_partial", COAP_REQUEST_CODE_POST, -1},
		       {"execute", COAP_REQUEST_CODE_POST, -1},
		       {"create", COAP_REQUEST_CODE_POST, -1},
		       {"delete", COAP_REQUEST_CODE_DELETE, -1},
		       {"bootstrap_finish", COAP_REQUEST_CODE_POST, -1},
		       {"bootstrap_discover", COAP_REQUEST_CODE_GET, -1},
		       {"bootstrap_read", COAP_REQUEST_CODE_GET, -1},
		       {"read_composite", COAP_REQUEST_CODE_FETCH, -1},
		       {"observe_composite", COAP_REQUEST_CODE_FETCH, 0},
		       {"cancel_composite", COAP_REQUEST_CODE_FETCH, 1},
		       {"write_composite", COAP_REQUEST_CODE_IPATCH, -1},
		       {"write_attributes", COAP_REQUEST_CODE_PUT, -1}};
	for (size_t i = 0; m && i < sizeof(methods) / sizeof(methods[0]); i++)
		if (!strcmp(m, methods[i].name)) {
			*code = methods[i].code;
			*observe = methods[i].observe;
			return 0;
		}
	return -1;
}

/* Format name (or number) -> content-format id; -1 when unknown. */
static int format_id(const json_t *f)
{
	if (json_is_integer(f) && json_integer_value(f) >= 0 && json_integer_value(f) <= 65535)
		return (int)json_integer_value(f);
	for (size_t i = 0; json_is_string(f) && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(json_string_value(f), formats[i].name))
			return formats[i].id;
	return -1;
}

/* The payload of a request: "payload" (text; a number is taken as its
 * text) or "payload_hex" (bytes). -1 with err for anything else: an empty
 * Write would be read by a client as Write-Attributes. */
static int request_payload(const json_t *req, uint8_t *buf, size_t size, size_t *len, char *err,
			   size_t err_size)
{
	const json_t *p = json_object_get(req, "payload");
	const json_t *hex = json_object_get(req, "payload_hex");
	int n = -1;
	*len = 0;
	if (p && hex) {
		snprintf(err, err_size, "give payload or payload_hex, not both");
		return -1;
	}
	if (json_is_string(p) && json_string_length(p) <= size) {
		n = (int)json_string_length(p);
		memcpy(buf, json_string_value(p), (size_t)n);
	} else if (json_is_integer(p)) {
		n = snprintf((char *)buf, size, "%lld", (long long)json_integer_value(p));
	} else if (json_is_real(p)) {
		n = snprintf((char *)buf, size, "%.17g", json_real_value(p));
	} else if (json_is_string(hex)) {
		n = lh_hex_decode(json_string_value(hex), buf, size);
	} else if (!p && !hex) {
		return 0;
	}
	if (n < 0 || (size_t)n > size) {
		snprintf(err, err_size,
			 "payload must be text, or payload_hex an even number of hex digits, of "
			 "at most %d bytes",
			 EMU_PAYLOAD_MAX);
		return -1;
	}
	*len = (size_t)n;
	return 0;
}

/* Read-/Observe-Composite (LwM2M 1.1 §6.3.8): the paths as a SenML list
 * ([{"n":"/3/0/0"}, ...]) in SenML JSON or, when fmt says so, SenML CBOR.
 * "paths" is an array of strings or one comma-separated string. Returns
 * the payload's length, or -1 with err. */
static int composite_paths(const json_t *req, int fmt, uint8_t *buf, size_t size, char *err,
			   size_t err_size)
{
	const json_t *paths = json_object_get(req, "paths"), *p;
	json_t *list = json_array();
	char *text = json_is_string(paths) ? strdup(json_string_value(paths)) : NULL, *save;
	size_t i, len = 0;
	uint8_t *cbor = NULL;
	json_array_foreach(paths, i, p) json_array_append_new(list, json_pack("{s:O}", "n", p));
	for (char *t = text ? strtok_r(text, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(list, json_pack("{s:s}", "n", t));
	free(text);
	int ok = json_array_size(list) > 0;
	json_array_foreach(list, i, p) ok = ok && json_is_string(json_object_get(p, "n")) &&
					    json_string_value(json_object_get(p, "n"))[0] == '/';
	if (ok && fmt == EMU_FMT_SENML_CBOR)
		len = emu_cbor_senml_encode(list, &cbor, err, err_size);
	else if (ok)
		len = json_dumpb(list, (char *)buf, size, JSON_COMPACT);
	if (cbor && len <= size)
		memcpy(buf, cbor, len);
	free(cbor);
	json_decref(list);
	if (!ok || len == 0 || len > size) {
		snprintf(err, err_size,
			 "a composite request needs \"paths\": [\"/3/0/0\", ...] (or "
			 "\"/3/0/0,/1/0\"), and format senml+json or senml+cbor");
		return -1;
	}
	return (int)len;
}

/* Builds the message: options in increasing number order. */
static int build(struct emu_coap_msg *m, struct emu_req *r, int code, int observe, int fmt,
		 int accept, const uint8_t *payload, size_t plen, long long block2)
{
	emu_coap_msg_init(m, EMU_COAP_CON, code, 0, r->token, r->token_len);
	if (observe >= 0)
		emu_coap_msg_opt_uint(m, COAP_OPTION_OBSERVE, (unsigned)observe);
	emu_coap_msg_opt_path(m, COAP_OPTION_URI_PATH, r->path);
	if (plen > 0 && fmt >= 0)
		emu_coap_msg_opt_uint(m, COAP_OPTION_CONTENT_FORMAT, (unsigned)fmt);
	for (const char *q = r->query; *q;) {
		size_t n = strcspn(q, "&");
		emu_coap_msg_opt(m, COAP_OPTION_URI_QUERY, q, n);
		q += n + (q[n] == '&');
	}
	if (accept >= 0)
		emu_coap_msg_opt_uint(m, COAP_OPTION_ACCEPT, (unsigned)accept);
	if (block2 >= 0)
		emu_coap_msg_opt_uint(m, COAP_OPTION_BLOCK2, (unsigned)block2);
	emu_coap_msg_payload(m, payload, plen);
	return m->overflow ? -1 : 0;
}

/* NSTART 1: r waits for the device's request in flight; said once. */
static void wait_in_line(struct emu_req *r)
{
	if (!r->queued && !r->announced)
		lh_event_emitf("request_queued", "{s:I, s:s, s:s, s:s}", "request",
			       (json_int_t)r->id, "endpoint", r->endpoint, "method", r->method,
			       "reason", "in_flight");
	r->queued = 1;
}

/* Frames r's message for its transport, keeps the bytes for retransmission
 * and sends it on s; with no session (a queue-mode device that is away) it
 * waits for the device to come back. */
static int start(struct emu_server *srv, struct emu_req *r, struct emu_session *s,
		 struct emu_coap_msg *m)
{
	size_t len;
	const uint8_t *wire = emu_coap_msg_frame(m, r->proto, &len);
	uint8_t *copy = wire ? malloc(len) : NULL;
	uint8_t rnd;
	if (!copy)
		return -1;
	memcpy(copy, wire, len);
	free(r->wire);
	r->wire = copy;
	r->wire_len = len;
	r->acked = 0;
	r->tries = 0;
	mbedtls_ctr_drbg_random(&srv->drbg, &rnd, 1);
	/* ACK_TIMEOUT scaled by a random factor in [1, ACK_RANDOM_FACTOR=1.5]. */
	r->timeout_ms = EMU_ACK_TIMEOUT_MS + (EMU_ACK_TIMEOUT_MS / 2) * rnd / 255;
	if (r->key.session)
		HASH_DELETE(hh_mid, srv->requests->by_mid, r);
	r->key.session = 0;
	if (!s)
		wait_for_wake(srv, r, "no_session");
	else if (sleeping(srv, r->endpoint, r->pin) && r->answers == 0)
		wait_for_wake(srv, r, "asleep");
	else if (busy(srv, r))
		wait_in_line(r);
	else
		transmit(srv, r, s);
	return 0;
}

/* A live observation by the id of the observe that set it up. */
static struct emu_req *observation(struct emu_server *srv, const json_t *req)
{
	struct emu_req *r = NULL;
	json_int_t id = json_integer_value(json_object_get(req, "request"));
	HASH_FIND(hh_id, srv->requests->by_id, &id, sizeof(id), r);
	return r && r->observe ? r : NULL;
}

/* A new request entry: a fresh token, or the observation's for a cancel
 * (RFC 7641 §3.6 needs the observe's token), which it then replaces. */
static struct emu_req *req_new(struct emu_server *srv, const char *ep, const char *method,
			       const char *path, struct emu_req *old)
{
	struct emu_requests *t = srv->requests;
	struct emu_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = t->next_id++;
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", ep);
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->method, sizeof(r->method), "%s", method);
	if (old) {
		memcpy(r->token, old->token, old->token_len);
		r->token_len = old->token_len;
		req_free(t, old);
	} else {
		r->token_len = 8;
		mbedtls_ctr_drbg_random(&srv->drbg, r->token, r->token_len);
	}
	HASH_ADD(hh, t->by_token, token, r->token_len, r);
	HASH_ADD(hh_id, t->by_id, id, sizeof(r->id), r);
	t->pending++;
	return r;
}

/* Checks the control request's fields; fills code, observe, fmt, accept. */
static int check_request(const json_t *req, const char **method, const char **path, int *code,
			 int *observe, int *fmt, int *accept, char *err, size_t size)
{
	const json_t *jf = json_object_get(req, "format"), *ja = json_object_get(req, "accept");
	*method = json_string_value(json_object_get(req, "method"));
	*path = json_string_value(json_object_get(req, "path"));
	*fmt = jf ? format_id(jf) : EMU_FMT_TEXT;
	*accept = ja ? format_id(ja) : -1;
	/* Composite operations address the root; their paths are in the body. */
	if (!*path && *method && strstr(*method, "_composite"))
		*path = "/";
	if (*path && (*path)[0] == '/' && strlen(*path) < 128 &&
	    method_code(*method, code, observe) == 0 && *fmt >= 0 && (!ja || *accept >= 0)) {
		if (*accept < 0 && *method && !strcmp(*method, "discover"))
			*accept = EMU_FMT_LINK;
		return 0;
	}
	snprintf(err, size,
		 "request needs path (\"/3/0/0\"), method (read, discover, observe, cancel, "
		 "write, write_partial, execute, create, delete, bootstrap_finish, "
		 "bootstrap_discover, bootstrap_read), an optional payload (text) or "
		 "payload_hex (up to %d bytes), format and accept (text, opaque, tlv, "
		 "senml+json, senml+cbor, json, lwm2m+json, lwm2m+cbor, link or a number)",
		 EMU_PAYLOAD_MAX);
	return -1;
}

/* $.limits.requests_per_device: a device holds at most that many requests
 * (pending, waiting or observing). 1 with err when ep has them all. */
static int too_many(struct emu_server *srv, const char *ep, char *err, size_t size)
{
	struct emu_req *q, *tmp;
	uint32_t n = 0, max = emu_gen_cfg(srv)->requests_per_device;
	HASH_ITER(hh_id, srv->requests->by_id, q, tmp)
	n += !strcmp(q->endpoint, ep);
	if (n < max)
		return 0;
	snprintf(err, size,
		 "endpoint \"%s\" already has %u requests (pending, queued or observing; "
		 "$.limits.requests_per_device): wait for answers or cancel observations",
		 ep, n);
	emu_limit_report(srv, "limits.requests_per_device", max, ep);
	return 1;
}

/* Write-Attributes (LwM2M §5.4.4): the notification attributes given as
 * fields (pmin, pmax, gt, lt, st, epmin, epmax, edge, con, hqmax) as the
 * request's Uri-Query. -1 with err when none is given or one is no number. */
static int attributes_query(const json_t *req, char *out, size_t size, char *err, size_t err_size)
{
	static const char *const names[] = {"pmin",  "pmax",  "gt",   "lt",  "st",
					    "epmin", "epmax", "edge", "con", "hqmax"};
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const json_t *v = json_object_get(req, names[i]);
		char num[64];
		if (!v)
			continue;
		if (json_is_integer(v))
			snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
		else if (json_is_real(v))
			snprintf(num, sizeof(num), "%g", json_real_value(v));
		else
			goto bad;
		used += (size_t)snprintf(out + used, size - used, "%s%s=%s", used ? "&" : "",
					 names[i], num);
		if (used >= size)
			goto bad;
	}
	if (used)
		return 0;
bad:
	snprintf(err, err_size,
		 "write_attributes needs one or more numeric attributes: pmin, "
		 "pmax, gt, lt, st, epmin, epmax, edge, con, hqmax");
	return -1;
}

/* Reports a request that went out. */
static json_t *sent(struct emu_req *r, struct emu_session *s)
{
	char tok[17];
	lh_hex_encode(r->token, r->token_len, tok);
	return json_pack("{s:I, s:s, s:o, s:b}", "request", (json_int_t)r->id, "token", tok,
			 "session", s ? json_integer((json_int_t)s->id) : json_null(), "queued",
			 r->queued);
}

/* Builds and starts a request to ep on s (NULL: queued until the device
 * comes back), framed for proto. */
static json_t *request_make(struct emu_server *srv, struct emu_session *s, int proto,
			    const char *ep, const json_t *req, char *err, size_t size)
{
	static struct emu_coap_msg m;
	uint8_t payload[EMU_PAYLOAD_MAX];
	const char *method, *path;
	size_t plen;
	int code, observe, fmt, accept;
	if (check_request(req, &method, &path, &code, &observe, &fmt, &accept, err, size) < 0)
		return NULL;
	if (code == COAP_REQUEST_CODE_FETCH) {
		if (!json_object_get(req, "format"))
			fmt = EMU_FMT_SENML_JSON;
		if (accept < 0)
			accept = fmt;
		int n = composite_paths(req, fmt, payload, sizeof(payload), err, size);
		if (n < 0)
			return NULL;
		plen = (size_t)n;
	} else if (request_payload(req, payload, sizeof(payload), &plen, err, size) < 0) {
		return NULL;
	} else if (code == COAP_REQUEST_CODE_IPATCH && !json_object_get(req, "format")) {
		fmt = EMU_FMT_SENML_JSON; /* Write-Composite carries SenML */
	}
	struct emu_req *old = observe == 1 ? observation(srv, req) : NULL;
	if (!old && too_many(srv, ep, err, size))
		return NULL;
	if (observe == 1 && !old) {
		snprintf(err, size, "cancel needs \"request\": the id of a live observe");
		return NULL;
	}
	struct emu_req *r = req_new(srv, ep, method, path, old);
	if (!r) {
		snprintf(err, size, "out of memory");
		return NULL;
	}
	r->observe = observe == 0;
	r->proto = proto;
	r->pin = emu_registry_find_ep(&srv->registry, ep) || !s ? 0 : s->id;
	if (!strcmp(method, "write_attributes") &&
	    attributes_query(req, r->query, sizeof(r->query), err, size) < 0) {
		req_free(srv->requests, r);
		return NULL;
	}
	if (build(&m, r, code, observe, fmt, accept, payload, plen, -1) < 0 ||
	    start(srv, r, s, &m) < 0) {
		snprintf(err, size, "the request does not fit in one message");
		req_free(srv->requests, r);
		return NULL;
	}
	return sent(r, s);
}

json_t *emu_request_send(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	const char *ep = json_string_value(json_object_get(req, "endpoint"));
	if (!ep || strlen(ep) >= 256) {
		snprintf(err, size, "request needs \"endpoint\" (a registered endpoint name)");
		return NULL;
	}
	struct emu_session *s = target(srv, ep, 0, err, size);
	if (s)
		return request_make(srv, s, s->tp->proto, ep, req, err, size);
	/* Queue mode (LwM2M 1.1 §6.5): a device that closed its session to
	 * sleep gets the request when it next connects and speaks. */
	struct emu_reg *reg = emu_registry_find_ep(&srv->registry, ep);
	if (!reg || !reg->queue_mode || !reg->proto || emu_hib_find(srv, reg->session))
		return NULL; /* (a hibernated one beyond the wake limit: err says so) */
	return request_make(srv, NULL, reg->proto, ep, req, err, size);
}

json_t *emu_request_to(struct emu_server *srv, struct emu_session *s, const char *ep,
		       const json_t *req, char *err, size_t size)
{
	return request_make(srv, s, s->tp->proto, ep, req, err, size);
}

/* Answers a Confirmable message from the client with an empty ACK or RST. */
static void reply_empty(struct emu_session *s, const coap_pdu_t *pdu, int type)
{
	struct emu_coap_msg m;
	if (s->tp->proto == COAP_PROTO_TCP || coap_pdu_get_type(pdu) != COAP_MESSAGE_CON)
		return;
	emu_coap_msg_init(&m, type, 0, (uint16_t)coap_pdu_get_mid(pdu), NULL, 0);
	emu_msg_send(s, &m);
}

/* Asks for the next block of a Block2 answer; -1 when it cannot. */
static int next_block(struct emu_server *srv, struct emu_req *r, struct emu_session *s,
		      const coap_block_t *blk)
{
	static struct emu_coap_msg m;
	if (build(&m, r, COAP_REQUEST_CODE_GET, -1, -1, -1, NULL, 0,
		  (long long)((blk->num + 1) << 4 | blk->szx)) < 0)
		return -1;
	return start(srv, r, s, &m);
}

/* Collects one block of a Block2 answer. Returns 1 when more is coming
 * (asked for), 0 when the answer is complete, -1 when it failed. */
static int block2_collect(struct emu_server *srv, struct emu_req *r, struct emu_session *s,
			  const coap_pdu_t *pdu, const uint8_t **data, size_t *len)
{
	coap_block_t blk;
	if (!coap_get_block(pdu, COAP_OPTION_BLOCK2, &blk) || (!blk.m && !r->b2) || r->observe)
		return 0;
	if (r->b2_len + *len > EMU_BLOCK2_MAX || (blk.num << (blk.szx + 4)) != r->b2_len)
		return -1;
	uint8_t *n = realloc(r->b2, r->b2_len + *len + 1);
	if (!n)
		return -1;
	memcpy(n + r->b2_len, *data, *len);
	r->b2 = n;
	r->b2_len += *len;
	if (blk.m)
		return next_block(srv, r, s, &blk) < 0 ? -1 : 1;
	*data = r->b2;
	*len = r->b2_len;
	return 0;
}

/* Reports an answer or a notification; drops the request unless it is now
 * a live observation. */
static void answered(struct emu_server *srv, struct emu_req *r, struct emu_session *s,
		     const coap_pdu_t *pdu)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	char code[8];
	int c = coap_pdu_get_code(pdu);
	coap_get_data(pdu, &len, &data);
	int more = (c >> 5) == 2 ? block2_collect(srv, r, s, pdu, &data, &len) : 0;
	if (more > 0)
		return;
	if (more < 0) {
		fail(srv, r, "block2_failed");
		return;
	}
	int observing = r->observe && (c >> 5) == 2 && opt_uint(pdu, COAP_OPTION_OBSERVE) >= 0;
	if (r->key.session) {
		/* Answered: its message id may be reused from now on. */
		HASH_DELETE(hh_mid, srv->requests->by_mid, r);
		r->key.session = 0;
	}
	if (++r->answers == 1)
		srv->requests->pending--;
	json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I, s:I}", "request",
			       (json_int_t)r->id, "endpoint", r->endpoint, "path", r->path,
			       "method", r->method, "code", emu_coap_code_text(c, code), "format",
			       (int)opt_uint(pdu, COAP_OPTION_CONTENT_FORMAT), "bytes",
			       (json_int_t)len, "session", (json_int_t)s->id);
	json_t *decoded =
	    emu_request_decode_model(emu_gen_cfg(srv)->models, r->path,
				     (int)opt_uint(pdu, COAP_OPTION_CONTENT_FORMAT), data, len);
	json_object_update(ev, decoded);
	json_decref(decoded);
	lh_event_emit(r->answers > 1 ? "notify" : "response_received", ev);
	if (!observing) {
		finish(srv, r);
	} else if (r->answers == 1) {
		r->timer_gen++; /* an observation waits as long as it takes */
		promote(srv, r->endpoint);
	}
}

/* A response that belongs to no request of this device: RFC 7641 §3.6 (a
 * notification nobody wants) and RFC 7252 §4.2: Reset, and say so. */
static void unmatched(struct emu_session *s, const coap_pdu_t *pdu)
{
	char tok[17], code[8];
	coap_bin_const_t t = coap_pdu_get_token(pdu);
	lh_hex_encode(t.s, t.length, tok);
	lh_event_emitf("response_unmatched", "{s:I, s:s, s:s, s:b}", "session", (json_int_t)s->id,
		       "token", tok, "code", emu_coap_code_text(coap_pdu_get_code(pdu), code),
		       "notification", opt_uint(pdu, COAP_OPTION_OBSERVE) >= 0);
	reply_empty(s, pdu, EMU_COAP_RST);
}

/* An empty ACK or a Reset for a message this server sent on s. */
static void empty_input(struct emu_server *srv, struct emu_session *s, const coap_pdu_t *pdu)
{
	struct emu_req_mid key = {.session = s->id, .mid = (uint16_t)coap_pdu_get_mid(pdu)};
	struct emu_req *r = NULL;
	HASH_FIND(hh_mid, srv->requests->by_mid, &key, sizeof(key), r);
	if (!r)
		return; /* a late duplicate ACK, or an ACK of a notification's ACK */
	if (coap_pdu_get_type(pdu) == COAP_MESSAGE_RST) {
		fail(srv, r, "reset");
		return;
	}
	r->acked = 1;
	arm(srv, r, EMU_RESPONSE_WAIT_MS);
}

/* Does a response on s belong to r? The device's requests are answered on
 * the session they went out on or on the device's current one. */
static int belongs(struct emu_server *srv, const struct emu_req *r, const struct emu_session *s)
{
	if (r->key.session == s->id || r->pin == s->id)
		return 1;
	struct emu_reg *reg = emu_registry_find_ep(&srv->registry, r->endpoint);
	return reg && reg->session == s->id;
}

void emu_request_input(struct emu_session *s, const coap_pdu_t *pdu)
{
	struct emu_server *srv = s->srv;
	coap_bin_const_t tok = coap_pdu_get_token(pdu);
	struct emu_req *r = NULL;
	int type = coap_pdu_get_type(pdu), stream = s->tp->proto == COAP_PROTO_TCP;
	if (!stream && coap_pdu_get_code(pdu) == 0) {
		empty_input(srv, s, pdu);
		return;
	}
	HASH_FIND(hh, srv->requests->by_token, tok.s, tok.length, r);
	if (!r || !belongs(srv, r, s)) {
		unmatched(s, pdu);
		return;
	}
	if (!stream && type == COAP_MESSAGE_CON) {
		reply_empty(s, pdu, EMU_COAP_ACK);
		/* The same notification again (our ACK was lost): once is enough. */
		if (r->answers > 0 && r->last_con_mid == (uint16_t)coap_pdu_get_mid(pdu))
			return;
		r->last_con_mid = (uint16_t)coap_pdu_get_mid(pdu);
	}
	r->acked = 1;
	answered(srv, r, s, pdu);
}
