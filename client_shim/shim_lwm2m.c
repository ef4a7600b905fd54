/* shim_lwm2m.c: LwM2M requests on libcoap and the /3/0 Device object. */
#include "client_shim/shim_lwm2m.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_shim/shim_bootstrap.h"
#include "client_shim/shim_composite.h"
#include "client_shim/shim_device.h"
#include "client_shim/shim_ops.h"
#include "client_shim/shim_reply.h"
#include "lh_event.h"

/* "2.01" from class*100+detail. */
void shim_lwm2m_code_text(int code, char *buf, size_t size)
{
	snprintf(buf, size, "%d.%02d", code / 100, code % 100);
}

/* Collects Location-Path options as "/rd/5a3f". */
static void read_location(const coap_pdu_t *pdu, char *out, size_t size)
{
	coap_opt_iterator_t oi;
	coap_opt_filter_t f;
	coap_opt_t *opt;
	size_t used = 0;

	out[0] = 0;
	coap_option_filter_clear(&f);
	coap_option_filter_set(&f, COAP_OPTION_LOCATION_PATH);
	coap_option_iterator_init(pdu, &oi, &f);
	while ((opt = coap_option_next(&oi)) && used + coap_opt_length(opt) + 2 < size) {
		out[used++] = '/';
		memcpy(out + used, coap_opt_value(opt), coap_opt_length(opt));
		used += coap_opt_length(opt);
		out[used] = 0;
	}
}

/* libcoap response handler: completes the pending request by token. */
static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
				   const coap_pdu_t *received, const coap_mid_t mid)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	coap_bin_const_t tok = coap_pdu_get_token(received);
	coap_pdu_code_t code = coap_pdu_get_code(received);
	const uint8_t *data;
	size_t len = 0;

	(void)sent;
	(void)mid;
	if (!c->req.active || tok.length != c->req.token_len ||
	    memcmp(tok.s, c->req.token, tok.length))
		return COAP_RESPONSE_OK;
	c->req.code = COAP_RESPONSE_CLASS(code) * 100 + (code & 0x1f);
	read_location(received, c->req.location, sizeof(c->req.location));
	if (coap_get_data(received, &len, &data) && len) {
		len = len < sizeof(c->req.payload) - 1 ? len : sizeof(c->req.payload) - 1;
		memcpy(c->req.payload, data, len);
	}
	c->req.payload[len] = 0;
	c->req.done = 1;
	return COAP_RESPONSE_OK;
}

/* libcoap NACK handler: the request timed out or was reset. */
static void on_nack(coap_session_t *session, const coap_pdu_t *sent,
		    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	coap_bin_const_t tok = coap_pdu_get_token(sent);

	(void)mid;
	if (!c->req.active || tok.length != c->req.token_len ||
	    memcmp(tok.s, c->req.token, tok.length))
		return;
	c->req.failed = 1;
	c->req.nack = (int)reason;
}

/* Adds one Uri-Path option per segment of path ("/rd/5a3f" or "rd"). */
static int add_path(coap_pdu_t *pdu, const char *path)
{
	const char *seg = path, *end;

	while (*seg) {
		while (*seg == '/')
			seg++;
		if (!*seg)
			break;
		end = strchr(seg, '/');
		if (!end)
			end = seg + strlen(seg);
		if (!coap_add_option(pdu, COAP_OPTION_URI_PATH, (size_t)(end - seg),
				     (const uint8_t *)seg))
			return -1;
		seg = end;
	}
	return 0;
}

/* libcoap hands the body back when its last block has gone (or the
 * exchange was dropped). */
static void release_body(coap_session_t *session, void *body)
{
	(void)session;
	free(body);
}

/* Adds the body through libcoap's block-wise machinery: one message when it
 * fits the session MTU, else Block1 (with Size1 and Request-Tag) in blocks
 * sized so that each datagram fits. libcoap keeps the copy until then. */
static int add_body(shim_client_t *c, coap_pdu_t *pdu, const char *payload)
{
	size_t len = strlen(payload);
	char *body = malloc(len + 1);

	if (!body)
		return -1;
	memcpy(body, payload, len + 1);
	/* libcoap owns body from here on, also when it fails. */
	if (!coap_add_data_large_request(c->session, pdu, len, (const uint8_t *)body, release_body,
					 body))
		return -1;
	return 0;
}

/* Builds a CON request; queries is NULL-terminated (may be NULL). */
static coap_pdu_t *build_request(shim_client_t *c, coap_pdu_code_t method, const char *path,
				 const char *const *queries, const char *payload, int format)
{
	coap_pdu_t *pdu = coap_new_pdu(COAP_MESSAGE_CON, method, c->session);
	uint8_t buf[4];
	size_t i;

	if (!pdu)
		return NULL;
	coap_session_new_token(c->session, &c->req.token_len, c->req.token);
	if (!coap_add_token(pdu, c->req.token_len, c->req.token) || add_path(pdu, path))
		goto err;
	if (payload && format >= 0 &&
	    !coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
			     coap_encode_var_safe(buf, sizeof(buf), (unsigned)format), buf))
		goto err;
	for (i = 0; queries && queries[i]; i++)
		if (!coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(queries[i]),
				     (const uint8_t *)queries[i]))
			goto err;
	if (payload && add_body(c, pdu, payload))
		goto err;
	return pdu;
err:
	coap_delete_pdu(pdu);
	return NULL;
}

/* The pump stops when the request completed, failed, or the link broke. */
static int request_over(shim_client_t *c)
{
	return c->req.done || c->req.failed || c->link_failed;
}

/* Tells the layer a request went unanswered (a layer without the option
 * ignores it: it then keeps its own judgement). */
static void note_unanswered(shim_client_t *c)
{
	sl_option_value_t v;

	memset(&v, 0, sizeof(v));
	v.flag = 1;
	if (c->sock && c->connected)
		(void)c->vt->set_option(c->sock, SL_OPT_REQUEST_UNANSWERED, &v);
}

/* Sends a request and waits for its answer within request_timeout_ms. */
static int exchange(shim_client_t *c, coap_pdu_code_t method, const char *path,
		    const char *const *queries, const char *payload, int format, sl_error_t *err)
{
	sl_error_t derr;
	coap_pdu_t *pdu;

	if (!c->configured)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	if (!c->connected || !c->session)
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	memset(&c->req, 0, sizeof(c->req));
	/* A queue-mode device that sends is awake (and reads the answer). */
	c->asleep = 0;
	/* INNER_MTU may have moved since the last request (set_option mtu). */
	shim_client_apply_mtu(c);
	pdu = build_request(c, method, path, queries, payload, format);
	if (!pdu)
		return shim_reply_err_set(err, ENOMEM, "cannot build the CoAP request");
	c->req.active = 1;
	c->link_failed = 0;
	if (coap_send(c->session, pdu) == COAP_INVALID_MID) {
		c->req.active = 0;
		return shim_reply_err_set(err, EIO, "libcoap refused to send the request");
	}
	shim_client_pump(c, c->cfg.request_timeout_ms, request_over);
	c->req.active = 0;
	if (c->req.done)
		return 0;
	/* The layer cannot tell a request from a response, so it only learns
	 * that the server went silent from a retransmission, which libcoap
	 * makes after 2..3 s (ACK_TIMEOUT * ACK_RANDOM_FACTOR): a request given
	 * up on before that must be reported, or a later reconnect restores a
	 * CID context the server may have lost (the flake of
	 * cid-restart-no-state-recovers, request_timeout_ms 3000). */
	note_unanswered(c);
	/* We gave up on it (the reply says so): libcoap must never send it
	 * again, neither now nor after a reconnect, nor hold the next request
	 * behind it (NSTART=1). */
	if (shim_client_drop_exchanges(c, &derr))
		lh_event_emitf("coap_error", "{s:s}", "message", derr.message);
	if (c->link_failed) {
		*err = c->link_err;
		return err->code ? err->code : EIO;
	}
	if (c->req.failed)
		return shim_reply_err_set(err, ETIMEDOUT, "no answer: libcoap gave up (nack %d)",
					  c->req.nack);
	return shim_reply_err_set(err, ETIMEDOUT, "no answer within %ld ms",
				  c->cfg.request_timeout_ms);
}

/* Sends the request, waits for the answer within request_timeout_ms and
 * puts what went to the layer meanwhile (shim_wire) into fields. */
static int transact(shim_client_t *c, coap_pdu_code_t method, const char *path,
		    const char *const *queries, const char *payload, int format, json_t *fields,
		    sl_error_t *err)
{
	int ret;

	shim_wire_reset(&c->wire);
	ret = exchange(c, method, path, queries, payload, format, err);
	/* TLS/TCP is a byte stream: no datagrams to report. */
	if (!c->relay_stream && (c->wire.datagrams || !ret))
		shim_wire_fields(&c->wire, fields);
	return ret;
}

/* Puts the CoAP code into the reply; a non-2.xx is an error of class COAP. */
static int finish(shim_client_t *c, json_t *fields, sl_error_t *err)
{
	char code[8];

	shim_lwm2m_code_text(c->req.code, code, sizeof(code));
	json_object_set_new(fields, "code", json_string(code));
	if (c->req.code / 100 == 2)
		return 0;
	shim_reply_err_set(err, EBADMSG, "server answered %s", code);
	return EBADMSG;
}

/* POST /rd?ep=..&lt=..&lwm2m=1.1&b=U with the object links. */
int shim_lwm2m_register(shim_client_t *c, json_t *fields, sl_error_t *err)
{
	static char links[SHIM_LINKS_MAX];
	char ep[160], lt[32], b[16];
	const char *q[] = {ep, lt, "lwm2m=1.1", b, c->cfg.queue_mode ? "Q" : NULL, NULL};
	int ret, len = shim_objects_links(&c->cfg.objects, links, sizeof(links));

	if (len < 0)
		return shim_reply_err_set(err, EINVAL, "the object links do not fit %d bytes",
					  SHIM_LINKS_MAX);
	snprintf(ep, sizeof(ep), "ep=%s", c->cfg.endpoint);
	snprintf(lt, sizeof(lt), "lt=%ld", c->cfg.lifetime);
	snprintf(b, sizeof(b), "b=%s", c->cfg.binding);
	json_object_set_new(fields, "payload_bytes", json_integer(len));
	ret = transact(c, COAP_REQUEST_CODE_POST, "rd", q, links,
		       COAP_MEDIATYPE_APPLICATION_LINK_FORMAT, fields, err);
	if (ret)
		return ret;
	ret = finish(c, fields, err);
	if (!ret && !c->req.location[0])
		return shim_reply_err_set(err, EBADMSG, "2.01 without a Location-Path");
	if (!ret) {
		memcpy(c->location, c->req.location, sizeof(c->location));
		json_object_set_new(fields, "location", json_string(c->location));
	}
	return ret;
}

/* POST to the registration's location; with_links: the objects changed, so
 * the Update carries the whole link payload (as Register does). */
int shim_lwm2m_update(shim_client_t *c, int with_links, json_t *fields, sl_error_t *err)
{
	static char links[SHIM_LINKS_MAX];
	int ret, len = 0;

	if (!c->location[0])
		return shim_reply_err_set(err, EINVAL, "not registered: send register first");
	if (with_links && (len = shim_objects_links(&c->cfg.objects, links, sizeof(links))) < 0)
		return shim_reply_err_set(err, EINVAL, "the object links do not fit %d bytes",
					  SHIM_LINKS_MAX);
	if (with_links)
		json_object_set_new(fields, "payload_bytes", json_integer(len));
	ret = transact(c, COAP_REQUEST_CODE_POST, c->location, NULL, with_links ? links : NULL,
		       with_links ? COAP_MEDIATYPE_APPLICATION_LINK_FORMAT : -1, fields, err);
	json_object_set_new(fields, "location", json_string(c->location));
	return ret ? ret : finish(c, fields, err);
}

/* DELETE the registration's location. */
int shim_lwm2m_deregister(shim_client_t *c, json_t *fields, sl_error_t *err)
{
	int ret;

	if (!c->location[0])
		return shim_reply_err_set(err, EINVAL, "not registered: send register first");
	ret = transact(c, COAP_REQUEST_CODE_DELETE, c->location, NULL, NULL, -1, fields, err);
	json_object_set_new(fields, "location", json_string(c->location));
	if (!ret)
		ret = finish(c, fields, err);
	if (!ret)
		c->location[0] = 0;
	return ret;
}

/* Send (LwM2M 1.1 §6.4.3.4): POST /dp with the Device object's values in
 * SenML JSON, as a device reports without being asked. */
int shim_lwm2m_send_data(shim_client_t *c, json_t *fields, sl_error_t *err)
{
	char *body = shim_device_senml(c);
	int ret;

	if (!body)
		return shim_reply_err_set(err, ENOMEM, "cannot build the SenML payload");
	json_object_set_new(fields, "payload_bytes", json_integer((json_int_t)strlen(body)));
	ret = transact(c, COAP_REQUEST_CODE_POST, "dp", NULL, body, 110, fields, err);
	free(body);
	return ret ? ret : finish(c, fields, err);
}

/* Any request the harness wants to send (method name, path, payload). */
int shim_lwm2m_raw(shim_client_t *c, const char *method, const char *path,
		   const char *const *queries, const char *payload, json_t *fields, sl_error_t *err)
{
	static const struct {
		const char *name;
		coap_pdu_code_t code;
	} m[] = {{"GET", COAP_REQUEST_CODE_GET},
		 {"POST", COAP_REQUEST_CODE_POST},
		 {"PUT", COAP_REQUEST_CODE_PUT},
		 {"DELETE", COAP_REQUEST_CODE_DELETE}};
	size_t i;
	int ret;

	for (i = 0; i < 4 && strcmp(m[i].name, method); i++)
		;
	if (i == 4)
		return shim_reply_err_set(err, EINVAL, "method must be GET, POST, PUT or DELETE");
	ret = transact(c, m[i].code, path, queries, payload, payload ? 0 : -1, fields, err);
	if (ret)
		return ret;
	json_object_set_new(fields, "payload", json_string(c->req.payload));
	return finish(c, fields, err);
}

/* Installs the response handlers and the Device object. */
int shim_lwm2m_init(shim_client_t *c)
{
	coap_context_set_block_mode(c->ctx, COAP_BLOCK_USE_LIBCOAP);
	coap_register_response_handler(c->ctx, on_response);
	coap_register_nack_handler(c->ctx, on_nack);
	return shim_device_init(c) || shim_ops_init(c) || shim_composite_init(c) ||
		       shim_bootstrap_init(c)
		   ? -1
		   : 0;
}

/* Frees the Device object's Observe state. */
void shim_lwm2m_free(shim_client_t *c)
{
	shim_device_free(c);
	shim_ops_free(c);
}
