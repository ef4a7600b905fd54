/* shim_cmd.c: command dispatch, argument checks and replies. */
#include "client_shim/shim_cmd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "client_shim/shim_after.h"
#include "client_shim/shim_bootstrap.h"
#include "client_shim/shim_device.h"
#include "client_shim/shim_layer.h"
#include "client_shim/shim_lwm2m.h"
#include "client_shim/shim_option.h"
#include "client_shim/shim_reply.h"
#include "client_shim/shim_resume_file.h"
#include "lh_event.h"
#include "lh_hex.h"

typedef int (*cmd_fn)(shim_cmd_state_t *st, const json_t *cmd, json_t *fields, sl_error_t *err);

/* Layers may lack features: such commands answer UNSUPPORTED (a skip). */
static int unsupported(sl_error_t *err, const char *what)
{
	return shim_reply_err_set(err, ENOTSUP, "this layer cannot do %s", what);
}

/* The config asks for something the layer declared it lacks. */
static int check_caps(const shim_client_t *c, const shim_config_t *cfg, sl_error_t *err)
{
	uint32_t lacks = c->vt->lacks;

	if (cfg->use_cid && (lacks & SL_LACKS_CID))
		return unsupported(err, "DTLS Connection ID");
	if (cfg->transport == SL_TRANSPORT_TLS && (lacks & SL_LACKS_TLS))
		return unsupported(err, "TLS over TCP");
	if (cfg->mode == SL_SECURITY_CERTIFICATE && (lacks & SL_LACKS_CERTIFICATES))
		return unsupported(err, "certificates");
	if (cfg->n_dane && (lacks & SL_LACKS_DANE))
		return unsupported(err, "DANE TLSA");
	if (cfg->keylog[0] && (lacks & SL_LACKS_KEYLOG))
		return unsupported(err, "key logging");
	return 0;
}

/* configure: parse the config, create a new layer socket. */
static int cmd_configure(shim_cmd_state_t *st, const json_t *cmd, json_t *fields, sl_error_t *err)
{
	static shim_config_t cfg;
	const json_t *obj = json_object_get(cmd, "config");
	char msg[sizeof(err->message)];
	int ret;

	(void)fields;
	if (!obj)
		return shim_reply_err_set(err, EINVAL, "configure needs a \"config\" object");
	if (shim_config_parse(obj, &cfg, msg, sizeof(msg)))
		return shim_reply_err_set(err, EINVAL, "%s", msg);
	if ((ret = check_caps(&st->client, &cfg, err)))
		return ret;
	if (cfg.keylog[0])
		fprintf(stderr,
			"lwm2m-client-shim: WARNING: TLS secrets are written to %s; "
			"anyone with that file can decrypt the traffic\n",
			cfg.keylog);
	return shim_client_configure(&st->client, &cfg, err);
}

/* Whether the server was authenticated: a scenario must be able to assert
 * that a connection made with certificate validation off is insecure. PSK
 * authenticates the server by the key; certificates only when validated. */
static void security_fields(const shim_client_t *c, json_t *f)
{
	int insecure = c->cfg.mode == SL_SECURITY_CERTIFICATE && !c->cfg.validation;

	json_object_set_new(f, "server_verified", json_boolean(!insecure));
	json_object_set_new(f, "insecure", json_boolean(insecure));
}

/* One connect field from an option. A layer that answers ENOTSUP (it has no
 * way to tell, e.g. avs_net has no ciphersuite getter) gets the field named
 * in "unreported", so the harness can tell "cannot report" from "wrong". */
static void connect_field(shim_client_t *c, json_t *f, sl_option_t opt, const char *name)
{
	sl_option_value_t v;
	json_t *val;
	int ret = c->vt->get_option(c->sock, opt, &v);

	if (ret == ENOTSUP) {
		json_t *list = json_object_get(f, "unreported");
		if (!list)
			json_object_set_new(f, "unreported", list = json_array());
		json_array_append_new(list, json_string(name));
		return;
	}
	if (ret)
		return;
	if (opt == SL_OPT_CIPHERSUITE)
		val = json_string(v.suite.name);
	else if (opt == SL_OPT_CONNECTION_ID)
		val = shim_option_to_json(SL_OPT_CONNECTION_ID, &v);
	else if (opt == SL_OPT_INNER_MTU)
		val = json_integer((json_int_t)v.u64);
	else
		val = json_boolean(v.flag);
	json_object_set_new(f, name, val);
}

/* Adds what a connect established: suite, resumption flags, CIDs, MTU. */
static void connect_fields(shim_client_t *c, json_t *f)
{
	security_fields(c, f);
	connect_field(c, f, SL_OPT_CIPHERSUITE, "cipher");
	connect_field(c, f, SL_OPT_SESSION_RESUMED, "session_resumed");
	connect_field(c, f, SL_OPT_CONNECTION_ID_RESUMED, "connection_id_resumed");
	connect_field(c, f, SL_OPT_CONNECTION_ID, "cid");
	connect_field(c, f, SL_OPT_INNER_MTU, "inner_mtu");
}

/* connect: resolve + handshake (or context restore), then what the config's
 * after_connect says for a client that holds a registration. A failed
 * after-connect request fails the command, but the connection stays up and
 * the reply still says what it established. */
static int cmd_connect(shim_cmd_state_t *st, const json_t *cmd, json_t *fields, sl_error_t *err)
{
	shim_client_t *c = &st->client;
	sl_option_value_t v;
	int ret;

	(void)cmd;
	if (!c->configured)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	if (c->connected)
		return shim_reply_err_set(err, EISCONN, "already connected: close first");
	ret = shim_client_connect(c, err);
	if (!ret) {
		connect_fields(c, fields);
		return shim_after_connect(c, fields, err);
	}
	if (!err->alert.received && !c->vt->get_option(c->sock, SL_OPT_LAST_ALERT, &v) &&
	    v.alert.received)
		err->alert = v.alert;
	return ret;
}

/* close: the layer keeps its session (and the buffer) for resumption. */
static int cmd_close(shim_cmd_state_t *st, const json_t *cmd, json_t *fields, sl_error_t *err)
{
	(void)cmd;
	(void)fields;
	if (!st->client.configured)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	shim_client_close(&st->client);
	return 0;
}

/* reconnect: close + connect, resuming when the layer can. */
static int cmd_reconnect(shim_cmd_state_t *st, const json_t *cmd, json_t *fields, sl_error_t *err)
{
	if (!st->client.configured)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	shim_client_close(&st->client);
	return cmd_connect(st, cmd, fields, err);
}

/* register: POST /rd with the endpoint's parameters and object links. */
static int cmd_register(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)cmd;
	return shim_lwm2m_register(&st->client, f, err);
}

/* An optional "location" (e.g. "/rd/5a3f") adopts a registration made by an
 * earlier process: after a "reboot" the client updates what it had. */
static int take_location(shim_client_t *c, const json_t *cmd, sl_error_t *err)
{
	const json_t *loc = json_object_get(cmd, "location");

	if (!loc)
		return 0;
	if (!json_is_string(loc) || json_string_value(loc)[0] != '/' ||
	    json_string_length(loc) >= sizeof(c->location))
		return shim_reply_err_set(err, EINVAL,
					  "\"location\" must be a path like \"/rd/5a3f\"");
	memcpy(c->location, json_string_value(loc), json_string_length(loc) + 1);
	return 0;
}

/* An optional "extra_objects" (like the config key) says the device's
 * objects changed: the list replaces the configured one and the Update
 * carries the new link payload (*given = 1). */
static int take_objects(shim_client_t *c, const json_t *cmd, int *given, sl_error_t *err)
{
	const json_t *arr = json_object_get(cmd, "extra_objects");
	char msg[sizeof(err->message)];

	*given = arr != NULL;
	if (arr && shim_objects_parse(arr, "$.extra_objects", &c->cfg.objects, msg, sizeof(msg)))
		return shim_reply_err_set(err, EINVAL, "%s", msg);
	return 0;
}

/* update: POST to the (given or remembered) registration location. */
static int cmd_update(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	int links = 0, ret = take_location(&st->client, cmd, err);

	if (!ret)
		ret = take_objects(&st->client, cmd, &links, err);
	return ret ? ret : shim_lwm2m_update(&st->client, links, f, err);
}

/* send_data: LwM2M Send of the Device object's values (POST /dp). */
static int cmd_send_data(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)cmd;
	return shim_lwm2m_send_data(&st->client, f, err);
}

/* sleep: a queue-mode device stops reading its link (what the server
 * sends waits in the network, or at the server) until wake or until it
 * sends a request itself. */
static int cmd_sleep(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)cmd;
	(void)f;
	if (!st->client.connected)
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	st->client.asleep = 1;
	return 0;
}

/* wake: reads the link again and, when registered, sends an Update so
 * that a queue-mode server knows the device listens. */
static int cmd_wake(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)cmd;
	st->client.asleep = 0;
	json_object_set_new(f, "updated", json_boolean(st->client.location[0] != 0));
	if (!st->client.location[0])
		return 0;
	return shim_lwm2m_update(&st->client, 0, f, err);
}

/* deregister: DELETE the (given or remembered) registration location. */
static int cmd_deregister(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	int ret = take_location(&st->client, cmd, err);

	return ret ? ret : shim_lwm2m_deregister(&st->client, f, err);
}

/* quit: the main loop closes the connection and exits 0. */
static int cmd_quit(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)cmd;
	(void)f;
	(void)err;
	st->quit = 1;
	return 0;
}

/* Reads the required string argument name of a command. */
static const char *str_arg(const json_t *cmd, const char *name, sl_error_t *err)
{
	const json_t *v = json_object_get(cmd, name);

	if (json_is_string(v))
		return json_string_value(v);
	shim_reply_err_set(err, EINVAL, "missing string argument \"%s\"", name);
	return NULL;
}

/* save_resumption: writes the resumption buffer to "path". */
static int cmd_save(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	const char *path = str_arg(cmd, "path", err);

	if (!path)
		return EINVAL;
	return shim_resume_file_save(&st->client, path, f, err);
}

/* load_resumption: fills the resumption buffer from "path" (a "reboot"). */
static int cmd_load(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	const char *path = str_arg(cmd, "path", err);

	if (!path)
		return EINVAL;
	return shim_resume_file_load(&st->client, path, f, err);
}

/* get_option: {"option":"inner_mtu"} -> "value". */
static int cmd_get_option(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	const char *name = str_arg(cmd, "option", err);
	sl_option_value_t v;
	int opt, ret;

	if (!name)
		return EINVAL;
	opt = shim_option_from_name(name);
	if (opt < 0 || opt == SL_OPT_DANE_TLSA)
		return shim_reply_err_set(err, EINVAL,
					  "unknown or write-only option \"%s\"; known: %s", name,
					  shim_option_names());
	if (!st->client.sock)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	memset(&v, 0, sizeof(v));
	ret = st->client.vt->get_option(st->client.sock, (sl_option_t)opt, &v);
	if (ret)
		return shim_reply_err_set(err, ret, "the layer cannot read %s now", name);
	json_object_set_new(f, "option", json_string(name));
	json_object_set_new(f, "value", shim_option_to_json(opt, &v));
	return 0;
}

/* set_option: {"option":"recv_timeout_ms","value":5000}; dane_tlsa takes records. */
static int cmd_set_option(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	const char *name = str_arg(cmd, "option", err);
	shim_client_t *c = &st->client;
	char msg[sizeof(err->message)];
	sl_option_value_t v;
	int opt, ret;

	(void)f;
	if (!name)
		return EINVAL;
	if ((opt = shim_option_from_name(name)) < 0)
		return shim_reply_err_set(err, EINVAL, "unknown option \"%s\"; known: %s", name,
					  shim_option_names());
	if (!c->sock)
		return shim_reply_err_set(err, EINVAL, "not configured: send configure first");
	if (opt == SL_OPT_DANE_TLSA) {
		if (c->vt->lacks & SL_LACKS_DANE)
			return unsupported(err, "DANE TLSA");
		if (shim_config_parse_dane(json_object_get(cmd, "value"), "$.value", &c->cfg, msg,
					   sizeof(msg)))
			return shim_reply_err_set(err, EINVAL, "%s", msg);
		v.dane.records = c->cfg.dane;
		v.dane.count = c->cfg.n_dane;
	} else if (shim_option_from_json(opt, json_object_get(cmd, "value"), &v, msg, sizeof(msg)))
		return shim_reply_err_set(err, EINVAL, "%s", msg);
	ret = c->vt->set_option(c->sock, (sl_option_t)opt, &v);
	if (ret)
		return shim_reply_err_set(err, ret, "the layer refused %s", name);
	/* A new link MTU moves INNER_MTU: libcoap's messages follow at once. */
	shim_client_apply_mtu(c);
	return 0;
}

/* Used by wait_request: a server request arrived that no earlier
 * wait_request reported. */
static int seen_request(shim_client_t *c)
{
	return c->server_requests > c->request_mark;
}

/* Reads an optional integer argument within [lo, hi]. */
static int int_arg(const json_t *cmd, const char *name, long dflt, long lo, long hi, long *out,
		   sl_error_t *err)
{
	const json_t *v = json_object_get(cmd, name);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return shim_reply_err_set(err, EINVAL, "\"%s\" must be an integer %ld..%ld", name,
					  lo, hi);
	*out = (long)json_integer_value(v);
	return 0;
}

/* wait_request: serves the connection until the server sends a request. */
static int cmd_wait_request(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	shim_client_t *c = &st->client;
	long ms;

	if (int_arg(cmd, "timeout_ms", 5000, 0, 600000, &ms, err))
		return EINVAL;
	if (!c->connected)
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	/* A request the shim already answered between commands counts too: the
	 * mark moves only when a wait_request reports, so none is missed. */
	if (!shim_client_pump(c, ms, seen_request))
		return shim_reply_err_set(err, ETIMEDOUT, "no server request within %ld ms", ms);
	c->request_mark = c->server_requests;
	json_object_set_new(f, "requests", json_integer(c->server_requests));
	return 0;
}

/* bootstrap: Bootstrap-Request, the bootstrap server's writes, Finish,
 * then Register with the account it wrote. */
static int cmd_bootstrap(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	long ms;

	if (int_arg(cmd, "timeout_ms", 10000, 1, 600000, &ms, err))
		return EINVAL;
	return shim_bootstrap_run(&st->client, ms, f, err);
}

/* idle: serves the connection (answers the server) for "ms" milliseconds. */
static int cmd_idle(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	long ms;

	(void)f;
	if (int_arg(cmd, "ms", 1000, 0, 600000, &ms, err))
		return EINVAL;
	shim_client_pump(&st->client, ms, NULL);
	return 0;
}

/* notify: every observed resource of /3 changed (Current Time moves on
 * anyway): libcoap sends a CON notification to each observer; the command
 * returns once they are handed to the layer (the ACKs come later). */
static int cmd_notify(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	json_t *paths = json_array();
	int n;

	(void)cmd;
	if (!st->client.connected) {
		json_decref(paths);
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	}
	n = shim_device_notify(&st->client, paths);
	json_object_set_new(f, "observers", json_integer(n));
	json_object_set_new(f, "paths", paths);
	if (n &&
	    !shim_client_pump(&st->client, st->client.cfg.request_timeout_ms, shim_device_notified))
		return shim_reply_err_set(err, ETIMEDOUT,
					  "libcoap held the notifications back (a CON "
					  "exchange still open?)");
	shim_client_pump(&st->client, -1, NULL);
	return 0;
}

/* send: a raw CoAP request {"method":"GET","path":"/x","payload":"..."}. */
static int cmd_send(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	const char *method = str_arg(cmd, "method", err), *path;
	const json_t *payload = json_object_get(cmd, "payload");
	const json_t *query = json_object_get(cmd, "query"), *q;
	const char *queries[SHIM_SEND_QUERY_MAX + 1] = {NULL};
	size_t i;

	if (!method || !(path = str_arg(cmd, "path", err)))
		return EINVAL;
	if (payload && !json_is_string(payload))
		return shim_reply_err_set(err, EINVAL, "\"payload\" must be a string");
	if (query && (!json_is_array(query) || json_array_size(query) > SHIM_SEND_QUERY_MAX))
		return shim_reply_err_set(err, EINVAL,
					  "\"query\" must be an array of at most 8 strings");
	json_array_foreach(query, i, q)
	{
		if (!json_is_string(q))
			return shim_reply_err_set(err, EINVAL, "\"query\" items must be strings");
		queries[i] = json_string_value(q);
	}
	return shim_lwm2m_raw(&st->client, method, path, query ? queries : NULL,
			      payload ? json_string_value(payload) : NULL, f, err);
}

/* send_datagram: {"size":N} (0x00 bytes) or {"hex":".."} straight to
 * layer->send, bypassing CoAP; answers the bytes that went on the wire, so
 * INNER_MTU can be measured rather than believed. */
static int cmd_send_datagram(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	static unsigned char buf[65536];
	shim_client_t *c = &st->client;
	const json_t *hex = json_object_get(cmd, "hex");
	sl_option_value_t before, after;
	long size = 0;
	int ret, n;

	if (hex && (!json_is_string(hex) ||
		    (n = lh_hex_decode(json_string_value(hex), buf, sizeof(buf))) < 0))
		return shim_reply_err_set(err, EINVAL, "\"hex\" must be even-length hex");
	if (hex)
		size = n;
	else if (int_arg(cmd, "size", -1, 0, (long)sizeof(buf), &size, err) || size < 0)
		return shim_reply_err_set(err, EINVAL, "give \"size\" (0..65536) or \"hex\"");
	else
		memset(buf, 0, (size_t)size);
	if (!c->connected)
		return shim_reply_err_set(err, ENOTCONN, "not connected: send connect first");
	memset(&before, 0, sizeof(before));
	memset(&after, 0, sizeof(after));
	if (c->vt->get_option(c->sock, SL_OPT_BYTES_SENT, &before))
		return shim_reply_err_set(err, ENOTSUP, "this layer does not count bytes sent");
	ret = c->vt->send(c->sock, buf, (size_t)size, err);
	json_object_set_new(f, "size", json_integer(size));
	if (!c->vt->get_option(c->sock, SL_OPT_BYTES_SENT, &after))
		json_object_set_new(f, "wire_bytes",
				    json_integer((json_int_t)(after.u64 - before.u64)));
	return ret;
}

/* info: the layer in use and what it lacks. */
static int cmd_info(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	char lacks[128];

	(void)cmd;
	(void)err;
	json_object_set_new(f, "layer",
			    json_string(st->client.vt->name ? st->client.vt->name : ""));
	json_object_set_new(f, "abi_version", json_integer(st->client.vt->abi_version));
	json_object_set_new(
	    f, "lacks",
	    json_string(shim_layer_lacks_text(st->client.vt->lacks, lacks, sizeof(lacks))));
	json_object_set_new(f, "configured", json_boolean(st->client.configured));
	json_object_set_new(f, "connected", json_boolean(st->client.connected));
	json_object_set_new(f, "location", json_string(st->client.location));
	return 0;
}

/* help: the command list, also for the human prompt. */
static int cmd_help(shim_cmd_state_t *st, const json_t *cmd, json_t *f, sl_error_t *err)
{
	(void)st;
	(void)cmd;
	(void)err;
	json_object_set_new(f, "help", json_string(shim_cmd_help()));
	return 0;
}

static const struct {
	const char *name;
	cmd_fn fn;
	const char *help;
} cmds[] = {
    {"configure", cmd_configure, "{\"config\":{...}}  create the socket (docs/protocol.md)"},
    {"connect", cmd_connect,
     "resolve + handshake (or restore a saved context), then config.after_connect"},
    {"register", cmd_register,
     "POST /rd?ep=..&lt=..&lwm2m=1.1&b=U with </1/0>,</3/0> + extra_objects"},
    {"update", cmd_update,
     "[{\"location\":L,\"extra_objects\":[..]}]  POST to the registration location"},
    {"deregister", cmd_deregister, "[{\"location\":L}]  DELETE the registration location"},
    {"close", cmd_close, "close, keeping the session for resumption"},
    {"reconnect", cmd_reconnect, "close + connect (with its after_connect)"},
    {"save_resumption", cmd_save, "{\"path\":FILE}  write the resumption buffer"},
    {"load_resumption", cmd_load, "{\"path\":FILE}  read it (after configure)"},
    {"get_option", cmd_get_option, "{\"option\":NAME}"},
    {"set_option", cmd_set_option, "{\"option\":NAME,\"value\":V}"},
    {"wait_request", cmd_wait_request, "{\"timeout_ms\":N}  until the server asks something"},
    {"idle", cmd_idle, "{\"ms\":N}  serve the connection for N ms"},
    {"notify", cmd_notify, "notify the observers of /3, /3/0 and /3/0/N"},
    {"send", cmd_send,
     "{\"method\":M,\"path\":P,\"query\":[\"k=v\"],\"payload\":S}  raw CoAP request"},
    {"bootstrap", cmd_bootstrap,
     "[{\"timeout_ms\":N}]  Bootstrap-Request, Finish, Register with the written account"},
    {"send_data", cmd_send_data, "LwM2M Send: POST /dp with /3/0 in SenML JSON"},
    {"sleep", cmd_sleep, "queue mode: stop reading the link"},
    {"wake", cmd_wake, "read the link again; Update when registered"},
    {"send_datagram", cmd_send_datagram, "{\"size\":N} or {\"hex\":H}  raw layer->send"},
    {"info", cmd_info, "layer name, contract version, lacking capabilities"},
    {"help", cmd_help, "this list"},
    {"quit", cmd_quit, "close and exit"},
};

void shim_cmd_background(shim_cmd_state_t *st)
{
	shim_client_t *c = &st->client;
	json_t *f;
	sl_error_t err;
	int ret;

	if (!c->update_due)
		return;
	c->update_due = 0;
	if (!c->location[0] || !c->connected)
		return;
	f = json_object();
	memset(&err, 0, sizeof(err));
	ret = shim_lwm2m_update(c, 0, f, &err);
	if (ret)
		json_object_set_new(f, "message", json_string(err.message));
	json_object_set_new(f, "ok", json_boolean(!ret));
	lh_event_emit("update_triggered", f);
}

/* The help text: one command per line. */
const char *shim_cmd_help(void)
{
	static char buf[2048];
	size_t used = 0, i;

	if (buf[0])
		return buf;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, "%-16s %s\n", cmds[i].name,
					 cmds[i].help);
	return buf;
}

/* True when name is a command (the prompt tells typos from bad arguments). */
int shim_cmd_known(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return 1;
	return 0;
}

/* Finds and runs the command; replies with ok or the error fields. */
void shim_cmd_run(shim_cmd_state_t *st, const json_t *cmd)
{
	const json_t *name = json_object_get(cmd, "cmd"), *id = json_object_get(cmd, "id");
	json_t *fields = json_object();
	sl_error_t err;
	double t0 = shim_reply_now_ms();
	size_t i;
	int ret;

	memset(&err, 0, sizeof(err));
	for (i = 0; json_is_string(name) && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, json_string_value(name)))
			break;
	if (!json_is_string(name))
		ret =
		    shim_reply_err_set(&err, EINVAL, "line %ld: missing \"cmd\" string", st->line);
	else if (i == sizeof(cmds) / sizeof(cmds[0]))
		ret = shim_reply_err_set(&err, EINVAL, "line %ld: unknown command \"%s\"; try help",
					 st->line, json_string_value(name));
	else
		ret = cmds[i].fn(st, cmd, fields, &err);
	if (ret) {
		err.code = ret;
		shim_reply_add_error(fields, &err);
		if (ret == ENOTSUP)
			json_object_set_new(fields, "reason", json_string(err.message));
	}
	shim_reply_send(json_is_string(name) ? json_string_value(name) : NULL, id, ret == 0,
			shim_reply_now_ms() - t0, fields);
}

/* Parses one JSON line; malformed input gets an EINVAL reply, not an exit. */
void shim_cmd_line(shim_cmd_state_t *st, const char *line)
{
	json_error_t jerr;
	json_t *cmd;
	sl_error_t err;
	json_t *fields;

	st->line++;
	line += strspn(line, " \t\r\n");
	if (!*line)
		return;
	cmd = json_loads(line, 0, &jerr);
	if (cmd && json_is_object(cmd)) {
		shim_cmd_run(st, cmd);
		json_decref(cmd);
		return;
	}
	shim_reply_err_set(&err, EINVAL,
			   "line %ld: %s at column %d; expected one JSON object "
			   "like {\"cmd\":\"connect\"}",
			   st->line, cmd ? "not an object" : jerr.text, cmd ? 1 : jerr.column);
	json_decref(cmd);
	fields = json_object();
	shim_reply_add_error(fields, &err);
	shim_reply_send(NULL, NULL, 0, 0, fields);
}
