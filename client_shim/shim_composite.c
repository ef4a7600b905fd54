/* shim_composite.c: Read-, Observe- and Write-Composite (see
 * shim_composite.h) on a libcoap resource at the root path. */
#include "client_shim/shim_composite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_shim/shim_codec.h"
#include "client_shim/shim_ops.h"
#include "client_shim/shim_watch.h"
#include "lh_event.h"

#define WHY_MAX 160

/* A number option of the request (Content-Format, Accept, Observe), -1
 * when absent. */
static int opt_num(const coap_pdu_t *request, uint16_t num)
{
	coap_opt_iterator_t oi;
	coap_opt_t *opt = coap_check_option(request, num, &oi);

	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* The SenML JSON answer of every listed path the client has; 404 when it
 * has none of them, else 0 with *body (free()d by the caller). */
static int composite_body(shim_client_t *c, const shim_path_t *paths, size_t n, char **body,
			  char *why, size_t size)
{
	json_t *a = json_array();
	size_t i;
	int ret = 0;

	*body = NULL;
	/* A path it does not have (or may not read) is left out, as the
	 * answer of the paths it has is still what the server asked for. */
	for (i = 0; a && i < n && ret >= 0; i++)
		ret = shim_ops_records(c, &paths[i], a);
	if (!a || ret < 0)
		ret = 500;
	else if (!json_array_size(a))
		ret = (snprintf(why, size,
				"none of the %zu paths is a readable object, instance "
				"or resource of this client",
				n),
		       404);
	else if (!(*body = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		ret = 500;
	else
		ret = 0;
	json_decref(a);
	return ret;
}

/* Read-/Observe-Composite: checks the formats, decodes the list and
 * answers 2.05 with the records; the error code otherwise. */
static int read_composite(shim_client_t *c, coap_resource_t *r, coap_session_t *session,
			  const coap_pdu_t *request, const coap_string_t *query,
			  coap_pdu_t *response, char *why, size_t size)
{
	shim_path_t paths[SHIM_REC_MAX];
	int accept = opt_num(request, COAP_OPTION_ACCEPT), code;
	const uint8_t *data = NULL;
	size_t len = 0, n = 0;
	char *body = NULL;

	coap_get_data(request, &len, &data);
	code = shim_codec_paths(opt_num(request, COAP_OPTION_CONTENT_FORMAT), data, len, paths,
				SHIM_REC_MAX, &n, why, size);
	if (!code && accept >= 0 && accept != SHIM_FMT_SENML_JSON)
		code = (snprintf(why, size, "cannot answer in Accept format %d (SenML JSON, 110)",
				 accept),
			406);
	if (!code)
		code = composite_body(c, paths, n, &body, why, size);
	if (!code) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
		code = shim_ops_put_body(r, session, request, query, response, SHIM_FMT_SENML_JSON,
					 body, strlen(body));
	}
	free(body);
	shim_watch_composite(c, r, paths, n, code ? -1 : opt_num(request, COAP_OPTION_OBSERVE),
			     coap_pdu_get_type(response) == COAP_MESSAGE_CON);
	return code ? code : 205;
}

/* FETCH on the root: Read-Composite, Observe-Composite (Observe 0), its
 * cancel (Observe 1), and the notifications libcoap makes by running it
 * again on the stored request (CON answers). */
static void on_fetch(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		     const coap_string_t *query, coap_pdu_t *response)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	int observe = opt_num(request, COAP_OPTION_OBSERVE), code;
	int notification = coap_pdu_get_type(response) == COAP_MESSAGE_CON;
	char why[WHY_MAX] = "";

	code = read_composite(c, r, session, request, query, response, why, sizeof(why));
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	if (notification) {
		lh_event_emitf("notification", "{s:s}", "path", "/");
		return;
	}
	c->server_requests++;
	shim_ops_served(c, "FETCH",
			observe == 0   ? "observe_composite"
			: observe == 1 ? "cancel_composite"
				       : "read_composite",
			"/", code, why);
}

/* iPATCH on the root: Write-Composite, all records or none. */
static void on_ipatch(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		      const coap_string_t *query, coap_pdu_t *response)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	const uint8_t *data = NULL;
	char why[WHY_MAX] = "";
	shim_recs_t recs;
	size_t len = 0;
	int code;

	(void)r;
	(void)query;
	coap_get_data(request, &len, &data);
	code = shim_codec_decode_composite(opt_num(request, COAP_OPTION_CONTENT_FORMAT), data, len,
					   &recs, why, sizeof(why));
	if (!code)
		code = shim_ops_apply(c, &recs, why, sizeof(why));
	shim_codec_release(&recs);
	coap_pdu_set_code(response, (coap_pdu_code_t)COAP_RESPONSE_CODE(code));
	c->server_requests++;
	shim_ops_served(c, "iPATCH", "write_composite", "/", code, why);
}

/* The root resource, observable by FETCH; libcoap keeps it with the
 * context across reconnects, like the object resources. */
int shim_composite_init(shim_client_t *c)
{
	coap_resource_t *root =
	    coap_resource_init(coap_make_str_const(""), COAP_RESOURCE_FLAGS_NOTIFY_CON);

	if (!root)
		return -1;
	coap_register_handler(root, COAP_REQUEST_FETCH, on_fetch);
	coap_register_handler(root, COAP_REQUEST_IPATCH, on_ipatch);
	coap_resource_set_get_observable(root, 1);
	coap_add_resource(c->ctx, root);
	return shim_watch_track_root(c, root);
}
