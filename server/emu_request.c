#include "emu_request.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "emu_link.h"
#include "emu_senml.h"
#include "emu_server.h"
#include "emu_tlv.h"
#include "lh_event.h"
#include "lh_hex.h"

#define EMU_FMT_TEXT 0
#define EMU_FMT_LINK 40
#define EMU_FMT_OPAQUE 42
#define EMU_FMT_JSON 50
#define EMU_FMT_SENML_JSON 110
#define EMU_FMT_TLV 11542
#define EMU_FMT_LWM2M_JSON 11543

struct emu_req {
	uint8_t token[8];
	size_t token_len;
	uint64_t id;
	char endpoint[256];
	char path[128];
	char method[16];
	int observe;
	UT_hash_handle hh;
};

static struct emu_req *g_reqs; /* by token */
static uint64_t g_next_id = 1;

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
	       {"lwm2m+json", EMU_FMT_LWM2M_JSON}};

/* Bytes as hex text (at most 512 bytes shown). */
static json_t *hex_json(const uint8_t *data, size_t len)
{
	char hex[2 * 512 + 1];
	lh_hex_encode(data, len < 512 ? len : 512, hex);
	return json_string(hex);
}

json_t *emu_request_decode(int format, const uint8_t *data, size_t len)
{
	char err[160];
	json_t *v = NULL;
	if (format == EMU_FMT_TEXT)
		v = json_stringn((const char *)data, len);
	else if (format == EMU_FMT_TLV)
		v = emu_tlv_decode(data, len, err, sizeof(err));
	else if (format == EMU_FMT_SENML_JSON)
		v = emu_senml_decode((const char *)data, len, err, sizeof(err));
	else if (format == EMU_FMT_JSON || format == EMU_FMT_LWM2M_JSON)
		v = json_loadb((const char *)data, len, 0, NULL);
	else if (format == EMU_FMT_LINK)
		v = emu_link_parse((const char *)data, len, err, sizeof(err));
	if (v)
		return json_pack("{s:o}", "decoded", v);
	return json_pack("{s:o, s:s?}", "hex", hex_json(data, len), "decode_error",
			 format == EMU_FMT_OPAQUE || format < 0 ? NULL : "could not decode");
}

/* Content format of a PDU, or -1. */
static int pdu_format(const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *opt = coap_check_option(pdu, COAP_OPTION_CONTENT_FORMAT, &it);
	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* Answers and notifications for our requests. */
static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
				   const coap_pdu_t *received, const coap_mid_t mid)
{
	coap_bin_const_t tok = coap_pdu_get_token(received);
	struct emu_req *r = NULL;
	size_t len = 0, off, total;
	const uint8_t *data = NULL;
	coap_opt_iterator_t it;
	char code[8];
	(void)session;
	(void)sent;
	(void)mid;
	HASH_FIND(hh, g_reqs, tok.s, tok.length, r);
	if (!r)
		return COAP_RESPONSE_OK;
	coap_pdu_code_t c = coap_pdu_get_code(received);
	snprintf(code, sizeof(code), "%u.%02u", ((unsigned)c >> 5) & 7u, (unsigned)c & 0x1fu);
	coap_get_data_large(received, &len, &data, &off, &total);
	int fmt = pdu_format(received);
	int is_notify =
	    r->observe && coap_check_option(received, COAP_OPTION_OBSERVE, &it) && r->observe++ > 1;
	json_t *ev = json_pack("{s:I, s:s, s:s, s:s, s:s, s:i, s:I}", "request", (json_int_t)r->id,
			       "endpoint", r->endpoint, "path", r->path, "method", r->method,
			       "code", code, "format", fmt, "bytes", (json_int_t)len);
	json_t *decoded = emu_request_decode(fmt, data, len);
	json_object_update(ev, decoded);
	json_decref(decoded);
	lh_event_emit(is_notify ? "notify" : "response_received", ev);
	if (!r->observe || ((c >> 5) != 2)) {
		HASH_DEL(g_reqs, r);
		free(r);
	}
	return COAP_RESPONSE_OK;
}

/* A request that got no answer (timeout, RST). */
static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
		    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	coap_bin_const_t tok = coap_pdu_get_token(sent);
	struct emu_req *r = NULL;
	(void)session;
	(void)mid;
	HASH_FIND(hh, g_reqs, tok.s, tok.length, r);
	if (!r)
		return;
	lh_event_emitf("request_failed", "{s:I, s:s, s:s, s:s, s:s}", "request", (json_int_t)r->id,
		       "endpoint", r->endpoint, "path", r->path, "method", r->method, "reason",
		       reason == COAP_NACK_TOO_MANY_RETRIES ? "timeout"
		       : reason == COAP_NACK_RST	    ? "reset"
							    : "not_deliverable");
	HASH_DEL(g_reqs, r);
	free(r);
}

void emu_request_init(struct emu_server *srv)
{
	coap_register_response_handler(srv->coap, on_response);
	coap_register_nack_handler(srv->coap, on_nack);
}

void emu_request_fini(struct emu_server *srv)
{
	struct emu_req *r, *tmp;
	(void)srv;
	HASH_ITER(hh, g_reqs, r, tmp)
	{
		HASH_DEL(g_reqs, r);
		free(r);
	}
}

/* The libcoap session that reaches a registered endpoint. */
static coap_session_t *endpoint_session(struct emu_server *srv, const char *ep, char *err,
					size_t size)
{
	struct emu_reg *reg = emu_registry_find_ep(&srv->registry, ep);
	struct emu_session *s = reg ? emu_sessions_by_id(&srv->sessions, reg->session) : NULL;
	if (!reg || !s || !s->bridge_port) {
		snprintf(err, size, "endpoint \"%s\" %s", ep,
			 !reg ? "is not registered"
			      : "has no live session (it must send an Update)");
		return NULL;
	}
	coap_session_t *cs = s->coap_session;
	if (!cs)
		snprintf(err, size, "endpoint \"%s\" has not talked CoAP on its session yet", ep);
	return cs;
}

/* Method name -> CoAP code and observe value (-1 none). */
static int method_code(const char *m, coap_pdu_code_t *code, int *observe)
{
	static const struct {
		const char *name;
		coap_pdu_code_t code;
		int observe;
	} methods[] = {{"read", COAP_REQUEST_CODE_GET, -1},
		       {"discover", COAP_REQUEST_CODE_GET, -1},
		       {"observe", COAP_REQUEST_CODE_GET, 0},
		       {"cancel", COAP_REQUEST_CODE_GET, 1},
		       {"write", COAP_REQUEST_CODE_PUT, -1},
		       {"write_partial", COAP_REQUEST_CODE_POST, -1},
		       {"execute", COAP_REQUEST_CODE_POST, -1},
		       {"create", COAP_REQUEST_CODE_POST, -1},
		       {"delete", COAP_REQUEST_CODE_DELETE, -1},
		       {"bootstrap_finish", COAP_REQUEST_CODE_POST, -1}};
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
	if (json_is_integer(f))
		return (int)json_integer_value(f);
	for (size_t i = 0; json_is_string(f) && i < sizeof(formats) / sizeof(formats[0]); i++)
		if (!strcmp(json_string_value(f), formats[i].name))
			return formats[i].id;
	return -1;
}

/* Adds Uri-Path options for "/3/0/1". */
static void add_path(coap_pdu_t *pdu, const char *path)
{
	const char *p = path;
	while (*p) {
		while (*p == '/')
			p++;
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n)
			coap_add_option(pdu, COAP_OPTION_URI_PATH, n, (const uint8_t *)p);
		p += n;
	}
}

/* Reuses the token of an earlier observe when cancelling it. */
static struct emu_req *observe_of(const json_t *req)
{
	struct emu_req *r, *tmp;
	json_int_t id = json_integer_value(json_object_get(req, "request"));
	HASH_ITER(hh, g_reqs, r, tmp)
	{
		if ((json_int_t)r->id == id && r->observe)
			return r;
	}
	return NULL;
}

/* Builds the PDU; options in increasing number order. */
static coap_pdu_t *build(coap_session_t *cs, struct emu_req *r, coap_pdu_code_t code, int observe,
			 int fmt, const uint8_t *payload, size_t plen)
{
	uint8_t buf[4];
	coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, coap_new_message_id(cs),
					coap_session_max_pdu_size(cs));
	if (!pdu || !coap_add_token(pdu, r->token_len, r->token))
		return NULL;
	if (observe >= 0)
		coap_add_option(pdu, COAP_OPTION_OBSERVE,
				coap_encode_var_safe(buf, sizeof(buf), (unsigned)observe), buf);
	add_path(pdu, r->path);
	if (payload && fmt >= 0)
		coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
				coap_encode_var_safe(buf, sizeof(buf), (unsigned)fmt), buf);
	if (!strcmp(r->method, "discover"))
		coap_add_option(pdu, COAP_OPTION_ACCEPT,
				coap_encode_var_safe(buf, sizeof(buf), EMU_FMT_LINK), buf);
	if (payload)
		coap_add_data(pdu, plen, payload);
	return pdu;
}

/* Sends the request. A cancel goes through coap_cancel_observe(): with
 * libcoap's block mode on, coap_send() puts a token of its own on the wire
 * (it keeps ours as the "application" token), so a hand-built GET Observe:1
 * would carry a token the client never saw and cancel nothing (RFC 7641
 * §3.6 needs the observe's token). libcoap then sends it with the token the
 * observe actually used. Returns 0 or -1. */
static int send_request(coap_session_t *cs, struct emu_req *r, coap_pdu_code_t code, int observe,
			int fmt, const uint8_t *payload, size_t plen)
{
	if (observe == 1) {
		coap_binary_t tok = {.length = r->token_len, .s = r->token};
		return coap_cancel_observe(cs, &tok, COAP_MESSAGE_CON) ? 0 : -1;
	}
	coap_pdu_t *pdu = build(cs, r, code, observe, fmt, payload, plen);
	if (!pdu)
		return -1;
	return coap_send(cs, pdu) == COAP_INVALID_MID ? -1 : 0;
}

/* The payload of a request: "payload" (text) or "payload_hex" (bytes). */
static int request_payload(const json_t *req, uint8_t *buf, size_t size, const uint8_t **out,
			   size_t *len)
{
	const char *text = json_string_value(json_object_get(req, "payload"));
	const char *hex = json_string_value(json_object_get(req, "payload_hex"));
	*out = NULL;
	*len = 0;
	if (text) {
		*out = (const uint8_t *)text;
		*len = strlen(text);
	} else if (hex) {
		int n = lh_hex_decode(hex, buf, size);
		if (n < 0)
			return -1;
		*out = buf;
		*len = (size_t)n;
	}
	return 0;
}

json_t *emu_request_to(struct emu_server *srv, void *session, const char *ep, const json_t *req,
		       char *err, size_t size)
{
	coap_session_t *cs = session;
	const char *method = json_string_value(json_object_get(req, "method"));
	const char *path = json_string_value(json_object_get(req, "path"));
	const json_t *jf = json_object_get(req, "format");
	static uint8_t pbuf[4096];
	const uint8_t *payload;
	size_t plen;
	coap_pdu_code_t code;
	int observe, fmt = jf ? format_id(jf) : EMU_FMT_TEXT;
	(void)srv;
	if (!path || path[0] != '/' || strlen(path) >= 128 ||
	    method_code(method, &code, &observe) < 0 || fmt < 0 ||
	    request_payload(req, pbuf, sizeof(pbuf), &payload, &plen) < 0) {
		snprintf(err, size,
			 "request needs path (\"/3/0/0\"), method (read, discover, observe, "
			 "cancel, write, write_partial, execute, create, delete, "
			 "bootstrap_finish), an optional payload (text) or payload_hex (up to "
			 "4096 bytes) and format (text, opaque, tlv, senml+json, json, "
			 "lwm2m+json, link or a number)");
		return NULL;
	}
	struct emu_req *old = observe == 1 ? observe_of(req) : NULL;
	if (observe == 1 && !old) {
		snprintf(err, size, "cancel needs \"request\": the id of a live observe");
		return NULL;
	}
	struct emu_req *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->id = g_next_id++;
	r->observe = observe == 0;
	snprintf(r->endpoint, sizeof(r->endpoint), "%s", ep);
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->method, sizeof(r->method), "%s", method);
	if (old) {
		memcpy(r->token, old->token, old->token_len);
		r->token_len = old->token_len;
		HASH_DEL(g_reqs, old);
		free(old);
	} else {
		coap_session_new_token(cs, &r->token_len, r->token);
	}
	if (send_request(cs, r, code, observe, fmt, payload, plen) < 0) {
		snprintf(err, size, "libcoap could not send the request");
		free(r);
		return NULL;
	}
	HASH_ADD(hh, g_reqs, token, r->token_len, r);
	char tok[17];
	lh_hex_encode(r->token, r->token_len, tok);
	lh_event_emitf("request_sent", "{s:I, s:s, s:s, s:s, s:s}", "request", (json_int_t)r->id,
		       "endpoint", ep, "path", path, "method", method, "token", tok);
	return json_pack("{s:I, s:s}", "request", (json_int_t)r->id, "token", tok);
}

json_t *emu_request_send(struct emu_server *srv, const json_t *req, char *err, size_t size)
{
	const char *ep = json_string_value(json_object_get(req, "endpoint"));
	if (!ep || strlen(ep) >= 256) {
		snprintf(err, size, "request needs \"endpoint\" (a registered endpoint name)");
		return NULL;
	}
	coap_session_t *cs = endpoint_session(srv, ep, err, size);
	return cs ? emu_request_to(srv, cs, ep, req, err, size) : NULL;
}
