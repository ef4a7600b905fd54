/* shim_device.c: the LwM2M Device object (/3, /3/0 and its resources) the
 * server may Read and Observe; notifications go out when the harness says
 * `notify`. libcoap keeps the observations (per session, per token). */
#include "client_shim/shim_device.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client_shim/shim_ops.h"
#include "client_shim/shim_watch.h"
#include "lh_event.h"

#define FMT_TEXT 0
#define FMT_SENML_JSON 110
#define PATH_OBJECT (-2)
#define PATH_INSTANCE (-1)

/* One readable resource of /3/0 (LwM2M 1.1 Object 3). */
typedef struct {
	int id;
	const char *uri; /* libcoap path, no leading slash */
	int multiple;	 /* multi-instance: only SenML can carry it */
} dev_res_t;

static const dev_res_t dev_res[] = {
    {0, "3/0/0", 0},   /* Manufacturer */
    {1, "3/0/1", 0},   /* Model Number */
    {2, "3/0/2", 0},   /* Serial Number: the endpoint name */
    {3, "3/0/3", 0},   /* Firmware Version: the socket layer's name */
    {11, "3/0/11", 1}, /* Error Code: one instance, 0 = no error */
    {13, "3/0/13", 0}, /* Current Time: changes, so notifications differ */
    {16, "3/0/16", 0}, /* Supported Binding and Modes */
};
#define DEV_NRES (sizeof(dev_res) / sizeof(dev_res[0]))

struct shim_obs {
	coap_resource_t *res[DEV_NRES + 2]; /* resources, then /3/0, then /3 */
	int pending[DEV_NRES + 2];	    /* notify asked, not produced yet */
	int notifications;		    /* produced so far */
};

/* The resource's current value: a string, or an integer (is_int set). */
static const char *res_value(shim_client_t *c, int id, long long *num, int *is_int)
{
	*is_int = id == 11 || id == 13;
	*num = id == 13 ? (long long)time(NULL) : 0;
	switch (id) {
	case 0:
		return "lwm2m-harness";
	case 1:
		return "lwm2m-client-shim";
	case 2:
		return c->cfg.endpoint;
	case 3:
		return c->vt->name ? c->vt->name : "unknown";
	case 16:
		return c->cfg.binding[0] ? c->cfg.binding : "U";
	default:
		return NULL;
	}
}

/* One SenML record ("n" relative to the base name "/3/0/"). */
static json_t *senml_record(shim_client_t *c, const dev_res_t *d, int first)
{
	long long num;
	int is_int;
	const char *s = res_value(c, d->id, &num, &is_int);
	char name[16];
	json_t *rec;

	snprintf(name, sizeof(name), d->multiple ? "%d/0" : "%d", d->id);
	rec = is_int ? json_pack("{s:s,s:I}", "n", name, "v", (json_int_t)num)
		     : json_pack("{s:s,s:s}", "n", name, "vs", s);
	if (rec && first)
		json_object_set_new(rec, "bn", json_string("/3/0/"));
	return rec;
}

/* SenML JSON of one resource (which >= 0) or of the whole instance. */
static char *senml_body(shim_client_t *c, int which)
{
	json_t *a = json_array();
	char *s = NULL;
	size_t i;

	for (i = 0; a && i < DEV_NRES; i++)
		if ((which < 0 || dev_res[i].id == which) &&
		    json_array_append_new(a, senml_record(c, &dev_res[i], !json_array_size(a))))
			goto cleanup;
	s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
cleanup:
	json_decref(a);
	return s;
}

char *shim_device_senml(shim_client_t *c)
{
	return senml_body(c, -1);
}

/* The Device object's part of a Read-Composite: the same values as a
 * Read of /3/0, each record named in full. */
int shim_device_records(shim_client_t *c, const shim_path_t *p, json_t *out)
{
	char name[24];
	size_t i, before = json_array_size(out);
	json_t *rec;

	if (p->depth >= 2 && p->iid != 0)
		return 404;
	for (i = 0; i < DEV_NRES; i++) {
		if (p->depth == 3 && dev_res[i].id != p->rid)
			continue;
		/* Named in full: a composite answer mixes objects. */
		snprintf(name, sizeof(name), dev_res[i].multiple ? "/3/0/%d/0" : "/3/0/%d",
			 dev_res[i].id);
		rec = senml_record(c, &dev_res[i], 0);
		if (!rec || json_object_set_new(rec, "n", json_string(name)) ||
		    json_array_append_new(out, rec))
			return -1;
	}
	return json_array_size(out) > before ? 0 : 404;
}

/* text/plain of one single-instance resource. */
static char *text_body(shim_client_t *c, int id)
{
	long long num;
	int is_int;
	const char *s = res_value(c, id, &num, &is_int);
	char buf[32];

	if (!is_int)
		return strdup(s ? s : "");
	snprintf(buf, sizeof(buf), "%lld", num);
	return strdup(buf);
}

/* The Accept option, -1 when absent. */
static int accept_of(const coap_pdu_t *request)
{
	coap_opt_iterator_t oi;
	coap_opt_t *opt = coap_check_option(request, COAP_OPTION_ACCEPT, &oi);

	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* Picks the format LwM2M expects: SenML JSON for the object, the instance
 * and multi-instance resources, text for a single resource; what the
 * server's Accept asks for when we have it; -1 = 4.06 Not Acceptable. */
static int choose_format(int which, int multiple, int accept)
{
	int single = which >= 0 && !multiple;

	if (accept < 0)
		return single ? FMT_TEXT : FMT_SENML_JSON;
	if (accept == FMT_SENML_JSON || (accept == FMT_TEXT && single))
		return accept;
	return -1;
}

/* The Observe option's value: 0 register, 1 cancel, -1 none. */
static int observe_of(const coap_pdu_t *request)
{
	coap_opt_iterator_t oi;
	coap_opt_t *opt = coap_check_option(request, COAP_OPTION_OBSERVE, &oi);

	return opt ? (int)coap_decode_var_bytes(coap_opt_value(opt), coap_opt_length(opt)) : -1;
}

/* "/3", "/3/0" or "/3/0/N" for a resource's userdata value. */
static void path_text(int which, char *buf, size_t size)
{
	if (which == PATH_OBJECT)
		snprintf(buf, size, "/3");
	else if (which == PATH_INSTANCE)
		snprintf(buf, size, "/3/0");
	else
		snprintf(buf, size, "/3/0/%d", which);
}

/* Index into obs->res of a resource, or -1. */
static int slot_of(shim_client_t *c, const coap_resource_t *r)
{
	int i;

	for (i = 0; c->obs && i < (int)DEV_NRES + 2; i++)
		if (c->obs->res[i] == r)
			return i;
	return -1;
}

/* A notification (libcoap re-runs the GET handler for each observer, and
 * answers a request with an ACK or NON: only notifications are CON, since
 * the resources were made with COAP_RESOURCE_FLAGS_NOTIFY_CON). */
static int note_request(shim_client_t *c, coap_resource_t *r, const coap_pdu_t *request,
			const coap_pdu_t *response, const char *path)
{
	int slot = slot_of(c, r), observe = observe_of(request);
	coap_bin_const_t tok;
	char hex[17] = "";
	size_t i;

	shim_watch_noted(c, r, observe, coap_pdu_get_type(response) == COAP_MESSAGE_CON);
	if (coap_pdu_get_type(response) == COAP_MESSAGE_CON) {
		if (slot >= 0)
			c->obs->pending[slot] = 0;
		c->obs->notifications++;
		lh_event_emitf("notification", "{s:s,s:i}", "path", path, "count",
			       c->obs->notifications);
		return 1;
	}
	c->server_requests++;
	tok = coap_pdu_get_token(request);
	for (i = 0; i < tok.length && i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", tok.s[i]);
	lh_event_emitf("server_request", "{s:s,s:s,s:b,s:i,s:i,s:s}", "method", "GET", "path", path,
		       "observe", observe >= 0, "observe_value", observe, "accept",
		       accept_of(request), "token", hex);
	return 0;
}

/* GET (Read, Observe, Cancel, notification) of /3, /3/0 or /3/0/N. */
static void on_get(coap_resource_t *r, coap_session_t *session, const coap_pdu_t *request,
		   const coap_string_t *query, coap_pdu_t *response)
{
	shim_client_t *c = coap_get_app_data(coap_session_get_context(session));
	int which = (int)(intptr_t)coap_resource_get_userdata(r), multiple = 0, fmt;
	char path[16], *body;
	size_t i;

	for (i = 0; i < DEV_NRES; i++)
		if (dev_res[i].id == which)
			multiple = dev_res[i].multiple;
	path_text(which, path, sizeof(path));
	note_request(c, r, request, response, path);
	/* Discover: the links and attributes, as for the other objects. */
	if (accept_of(request) == 40) {
		shim_ops_discover(r, session, request, query, response);
		return;
	}
	fmt = choose_format(which, multiple, accept_of(request));
	if (fmt < 0) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_NOT_ACCEPTABLE);
		return;
	}
	body = fmt == FMT_TEXT ? text_body(c, which) : senml_body(c, which < 0 ? -1 : which);
	if (!body) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_INTERNAL_ERROR);
		return;
	}
	coap_pdu_set_code(response, COAP_RESPONSE_CODE_CONTENT);
	/* libcoap leaves Content-Format out for text/plain (0); LwM2M servers
	 * expect it stated. An empty option value encodes 0. */
	if (fmt == FMT_TEXT && !coap_add_option(response, COAP_OPTION_CONTENT_FORMAT, 0, NULL)) {
		coap_pdu_set_code(response, COAP_RESPONSE_CODE_INTERNAL_ERROR);
		free(body);
		return;
	}
	coap_add_data_large_response(r, session, request, response, query, (uint16_t)fmt, -1, 0,
				     strlen(body), (const uint8_t *)body, NULL, NULL);
	free(body);
}

/* One observable resource with the GET handler; which is the resource id. */
static coap_resource_t *add_resource(shim_client_t *c, const char *uri, int which)
{
	coap_resource_t *r =
	    coap_resource_init(coap_make_str_const(uri), COAP_RESOURCE_FLAGS_NOTIFY_CON);

	if (!r)
		return NULL;
	coap_resource_set_userdata(r, (void *)(intptr_t)which);
	coap_register_handler(r, COAP_REQUEST_GET, on_get);
	coap_resource_set_get_observable(r, 1);
	coap_add_resource(c->ctx, r);
	return r;
}

/* Installs /3, /3/0 and each resource of /3/0. */
int shim_device_init(shim_client_t *c)
{
	size_t i;

	c->obs = calloc(1, sizeof(*c->obs));
	if (!c->obs)
		return -1;
	for (i = 0; i < DEV_NRES; i++)
		if (!(c->obs->res[i] = add_resource(c, dev_res[i].uri, dev_res[i].id)))
			return -1;
	c->obs->res[DEV_NRES] = add_resource(c, "3/0", PATH_INSTANCE);
	c->obs->res[DEV_NRES + 1] = add_resource(c, "3", PATH_OBJECT);
	return c->obs->res[DEV_NRES] && c->obs->res[DEV_NRES + 1] ? 0 : -1;
}

/* Frees the Observe state (libcoap frees the resources with the context). */
void shim_device_free(shim_client_t *c)
{
	free(c->obs);
	c->obs = NULL;
}

/* Marks every observed resource changed; libcoap sends the notifications in
 * its next I/O turn. Returns how many resources have observers, and lists
 * their paths in paths (may be NULL). */
int shim_device_notify(shim_client_t *c, json_t *paths)
{
	char path[16];
	int i, n = 0, which;

	/* A notification asked for earlier that libcoap dropped (the observer
	 * went away) must not hold this one up. */
	if (c->obs)
		memset(c->obs->pending, 0, sizeof(c->obs->pending));
	for (i = 0; c->obs && i < (int)DEV_NRES + 2; i++) {
		if (!c->obs->res[i] || !coap_resource_notify_observers(c->obs->res[i], NULL))
			continue;
		c->obs->pending[i] = 1;
		n++;
		which = (int)(intptr_t)coap_resource_get_userdata(c->obs->res[i]);
		path_text(which, path, sizeof(path));
		if (paths)
			json_array_append_new(paths, json_string(path));
	}
	return n;
}

/* True once every notification asked for has been produced by libcoap. */
int shim_device_notified(shim_client_t *c)
{
	int i;

	for (i = 0; c->obs && i < (int)DEV_NRES + 2; i++)
		if (c->obs->pending[i])
			return 0;
	return 1;
}
