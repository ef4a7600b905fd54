/* shim_after.c: the client's behaviour right after it (re)connected. A real
 * client decides from how the connection came up: Anjay re-registers after a
 * new DTLS session (the server may have lost it) and sends nothing after a
 * resumed one (the registration is still valid). A scenario picks other
 * behaviours in the config's after_connect to test servers against them. */
#include "client_shim/shim_after.h"

#include <stdio.h>
#include <string.h>

#include "client_shim/shim_lwm2m.h"
#include "client_shim/shim_reply.h"
#include "lh_event.h"

/* How the connection just made came up, from the layer's own flags (a layer
 * that cannot say counts as a full handshake), and the configured action. */
static const char *connect_kind(shim_client_t *c, shim_after_t *mode)
{
	sl_option_value_t v = {.flag = 0};

	if (!c->vt->get_option(c->sock, SL_OPT_CONNECTION_ID_RESUMED, &v) && v.flag) {
		*mode = c->cfg.after_connect.cid_restored;
		return "cid_restored";
	}
	v.flag = 0;
	if (!c->vt->get_option(c->sock, SL_OPT_SESSION_RESUMED, &v) && v.flag) {
		*mode = c->cfg.after_connect.resumed;
		return "resumed";
	}
	*mode = c->cfg.after_connect.full_handshake;
	return "full_handshake";
}

/* Sends the Register or Update; req collects the request's reply fields. */
static int run_action(shim_client_t *c, shim_after_t mode, json_t *req, sl_error_t *err)
{
	if (mode == SHIM_AFTER_REGISTER)
		return shim_lwm2m_register(c, req, err);
	return shim_lwm2m_update(c, 0, req, err);
}

/* The message of a failed after-connect request names where it came from,
 * so a scenario's failure does not read like one of its own update steps. */
static void prefix_message(sl_error_t *err, const char *kind, shim_after_t mode)
{
	char msg[sizeof(err->message)];
	int n = snprintf(msg, sizeof(msg), "after connect (%s): %s failed: ", kind,
			 mode == SHIM_AFTER_REGISTER ? "Register" : "Update");

	/* The original text goes after the prefix, cut to what still fits. */
	if (n < 0 || (size_t)n >= sizeof(msg))
		return;
	memcpy(msg + n, err->message, sizeof(msg) - (size_t)n - 1);
	msg[sizeof(msg) - 1] = 0;
	memcpy(err->message, msg, sizeof(msg));
}

/* Copies what the request established into the reply and the event. */
static void copy_result(const json_t *req, json_t *fields, json_t *ev)
{
	const json_t *code = json_object_get(req, "code");
	const json_t *loc = json_object_get(req, "location");

	if (code) {
		json_object_set(fields, "after_connect_code", (json_t *)code);
		json_object_set(ev, "code", (json_t *)code);
	}
	if (loc) {
		json_object_set(fields, "location", (json_t *)loc);
		json_object_set(ev, "location", (json_t *)loc);
	}
}

/* Decides and performs the after-connect action, then reports it twice: in
 * the reply (what a scenario step asserts) and as an event (so the timeline
 * shows why a Register or Update appeared, or why none did). */
int shim_after_connect(shim_client_t *c, json_t *fields, sl_error_t *err)
{
	static const char *const did[] = {"nothing", "registered", "updated"};
	shim_after_t mode, done = SHIM_AFTER_NOTHING;
	const char *kind = connect_kind(c, &mode), *reason = NULL;
	json_t *req = json_object(), *ev;
	int ret = 0;

	/* The first Register is always the register command's: a client with
	 * no registration has nothing to keep or renew after connecting. */
	if (mode == SHIM_AFTER_NOTHING)
		reason = "configured";
	else if (!c->location[0])
		reason = "not registered";
	else {
		done = mode;
		ret = run_action(c, mode, req, err);
		if (ret)
			prefix_message(err, kind, mode);
	}
	ev = json_pack("{s:s,s:s,s:s,s:b}", "connect", kind, "mode", shim_config_after_name(mode),
		       "action", did[done], "ok", !ret);
	if (reason)
		json_object_set_new(ev, "reason", json_string(reason));
	json_object_set_new(fields, "after_connect", json_string(did[done]));
	copy_result(req, fields, ev);
	if (ret)
		shim_reply_add_error(ev, err);
	lh_event_emit("after_connect", ev);
	json_decref(req);
	return ret;
}
