/* The HTTP API's routes: each is a control command (emu_control_run, the
 * one command layer under both front ends) with its JSON body as the
 * arguments. POST /api/request waits, suspended, for the device's answer
 * (the response_received or request_failed event of its request id, the
 * events `ctl request` waits for) up to a timeout. */
#include "emu_http_int.h"

#include <stdlib.h>
#include <string.h>
#include <utlist.h>

#include "emu_control_cmd.h"
#include "emu_server.h"
#include "lh_time.h"

#define R_WRITES 1 /* changes state: the token is needed */
#define R_WAIT 2   /* waits for the device's answer */
#define R_EVENTS 4 /* the Server-Sent Events stream */
#define R_RECENT 8 /* the latest events (HTTP only: not a command) */

static const struct route {
	const char *path, *method, *cmd;
	int flags;
} routes[] = {
    {"/api/help", "GET", "help", 0},
    {"/api/status", "GET", "status", 0},
    {"/api/devices", "GET", "clients", 0},
    {"/api/sessions", "GET", "sessions", 0},
    {"/api/events", "GET", NULL, R_EVENTS},
    {"/api/recent", "GET", NULL, R_RECENT},
    {"/api/request", "POST", "request", R_WRITES | R_WAIT},
    {"/api/reload", "POST", "reload", R_WRITES},
    {"/api/faults/drop", "POST", "drop", R_WRITES},
    {"/api/faults/delay", "POST", "delay", R_WRITES},
    {"/api/faults/forget_sessions", "POST", "forget_sessions", R_WRITES},
    {"/api/faults/rotate_cookie_secret", "POST", "rotate_cookie_secret", R_WRITES},
    {"/api/faults/close_session", "POST", "close_session", R_WRITES},
    {"/api/faults/send_alert", "POST", "send_alert", R_WRITES},
    {"/api/faults/stop_answering", "POST", "stop_answering", R_WRITES},
    {"/api/faults/resume", "POST", "resume", R_WRITES},
};
#define N_ROUTES ((int)(sizeof(routes) / sizeof(routes[0])))

int emu_http_api_route(const char *url, const char *method, int *route, const char **allow)
{
	for (int i = 0; i < N_ROUTES; i++) {
		if (strcmp(url, routes[i].path) != 0)
			continue;
		*route = i;
		*allow = routes[i].method;
		return strcmp(method, routes[i].method) == 0 ? 0 : 405;
	}
	return 404;
}

int emu_http_api_writes(int route)
{
	return (routes[route].flags & R_WRITES) != 0;
}

int emu_http_api_is_events(int route)
{
	return (routes[route].flags & R_EVENTS) != 0;
}

/* The JSON path a command's error message names ("\"count\": expected
 * ..." or "unknown argument \"x\""), so a client can point at its field. */
static json_t *error_path(const char *msg)
{
	const char *q = strchr(msg, '"');
	const char *end = q ? strchr(q + 1, '"') : NULL;
	int named = q && end && (q == msg || !strncmp(msg, "unknown argument", 16));
	if (!named)
		return NULL;
	return json_pack("{s:s+#}", "path", "$.", q + 1, (int)(end - q - 1));
}

/* A failed command as HTTP: 404 when what it names does not exist, else
 * 400 with the message and, when it names one, the argument's path. */
static enum MHD_Result command_error(struct MHD_Connection *mc, const json_t *reply)
{
	const char *msg = json_string_value(json_object_get(reply, "message"));
	msg = msg ? msg : "the command failed";
	int missing = strstr(msg, "is not registered") || !strncmp(msg, "no session", 10);
	return emu_http_error(mc, missing ? 404 : 400, missing ? "not_found" : "bad_request", msg,
			      error_path(msg));
}

/* The body as the command's arguments: a JSON object (empty body: {}),
 * without "cmd" (the URL names it). NULL after queueing a 400 that says
 * where the JSON is wrong. */
static json_t *parse_body(struct emu_http_conn *c, const char *cmd, enum MHD_Result *ret)
{
	json_error_t jerr;
	json_t *req =
	    c->len ? json_loadb(c->body, c->len, JSON_REJECT_DUPLICATES, &jerr) : json_object();
	if (!req) {
		*ret =
		    emu_http_error(c->mc, 400, "bad_json", jerr.text,
				   json_pack("{s:s, s:i, s:i, s:i}", "path", "$", "line", jerr.line,
					     "column", jerr.column, "position", jerr.position));
	} else if (!json_is_object(req) || json_object_get(req, "cmd")) {
		*ret = emu_http_error(
		    c->mc, 400, "bad_request",
		    json_is_object(req)
			? "\"cmd\" is not an argument: the URL names the command"
			: "the body must be a JSON object of the command's arguments",
		    json_pack("{s:s}", "path", json_is_object(req) ? "$.cmd" : "$"));
		json_decref(req);
		req = NULL;
	} else {
		json_object_set_new(req, "cmd", json_string(cmd));
	}
	return req;
}

/* ?wait=0|1 and ?timeout=1..150 (seconds) of POST /api/request. Returns 0,
 * or -1 after queueing a 400. */
static int wait_args(struct emu_http_conn *c, int *wait, long *timeout, enum MHD_Result *ret)
{
	const char *w = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, "wait");
	const char *t = MHD_lookup_connection_value(c->mc, MHD_GET_ARGUMENT_KIND, "timeout");
	char *end = NULL;
	*wait = !w || strcmp(w, "0") != 0;
	*timeout = t ? strtol(t, &end, 10) : 30;
	if ((w && strcmp(w, "0") && strcmp(w, "1")) ||
	    (t && (*end || *timeout < 1 || *timeout > 150))) {
		*ret = emu_http_error(c->mc, 400, "bad_request",
				      "query: wait is 0 or 1, timeout is seconds 1..150", NULL);
		return -1;
	}
	return 0;
}

/* An answer to request id among events, or NULL. */
static json_t *answer_of(const json_t *events, json_int_t id)
{
	size_t i;
	json_t *ev;
	json_array_foreach(events, i, ev)
	{
		if (json_integer_value(json_object_get(ev, "request")) == id)
			return ev;
	}
	return NULL;
}

/* Sent: the answer if it came at once (an immediate failure), else the
 * connection is suspended until it comes or the timeout. */
static enum MHD_Result start_wait(struct emu_http_conn *c, json_t *reply, json_t *early,
				  long timeout)
{
	c->reply = reply;
	c->request = json_integer_value(json_object_get(reply, "request"));
	json_t *ev = answer_of(early, c->request);
	if (ev) {
		c->answer = json_incref(ev);
		return emu_http_api_answer(c);
	}
	c->deadline = lh_time_mono_ms() + timeout * 1000;
	c->waiting = 1;
	DL_APPEND(c->h->waits, c);
	MHD_suspend_connection(c->mc);
	return MHD_YES;
}

enum MHD_Result emu_http_api_run(struct emu_http_conn *c, int route)
{
	struct emu_http *h = c->h;
	enum MHD_Result ret = MHD_NO;
	int subscribed = 0, wait = 0;
	long timeout = 0;
	json_t *req = NULL, *reply = NULL, *early = NULL;
	if (routes[route].flags & R_RECENT)
		return emu_http_sse_recent(h, c->mc);
	if ((routes[route].flags & R_WAIT) && wait_args(c, &wait, &timeout, &ret) < 0)
		goto exit;
	if (!(req = parse_body(c, routes[route].cmd, &ret)))
		goto exit;
	h->captured = json_array();
	reply = emu_control_run(h->srv, req, &subscribed);
	early = h->captured;
	h->captured = NULL;
	if (!json_is_true(json_object_get(reply, "ok"))) {
		ret = command_error(c->mc, reply);
	} else if (wait) {
		ret = start_wait(c, reply, early, timeout);
		reply = NULL; /* c owns it now */
	} else {
		ret = emu_http_json(c->mc, 200, json_incref(reply));
	}
exit:
	json_decref(req);
	json_decref(reply);
	json_decref(early);
	return ret;
}

enum MHD_Result emu_http_api_answer(struct emu_http_conn *c)
{
	json_t *body = json_deep_copy(c->reply);
	const char *name = json_string_value(json_object_get(c->answer, "event"));
	char msg[200];
	if (!c->answer) {
		snprintf(msg, sizeof(msg),
			 "no answer to request %lld within the timeout (a sleeping device's "
			 "request waits for it to wake; GET /api/events shows it when it comes)",
			 (long long)c->request);
		json_decref(body);
		return emu_http_error(c->mc, 504, "timeout", msg,
				      json_pack("{s:I}", "request", c->request));
	}
	json_object_set(body, "answer", c->answer);
	if (name && !strcmp(name, "response_received"))
		return emu_http_json(c->mc, 200, body);
	snprintf(msg, sizeof(msg), "request %lld failed: %s", (long long)c->request,
		 json_string_value(json_object_get(c->answer, "reason")) ?: "no answer");
	json_object_set_new(body, "error", json_string("request_failed"));
	json_object_set_new(body, "message", json_string(msg));
	return emu_http_json(c->mc, 502, body);
}

/* Takes c off the wait list and lets MHD call the handler again. */
static void resume(struct emu_http_conn *c)
{
	DL_DELETE(c->h->waits, c);
	c->waiting = 0;
	c->h->resumed = 1;
	MHD_resume_connection(c->mc);
}

void emu_http_api_publish(struct emu_http *h, const json_t *event)
{
	const char *name = json_string_value(json_object_get(event, "event"));
	struct emu_http_conn *c, *tmp;
	if (!name || (strcmp(name, "response_received") && strcmp(name, "request_failed")))
		return;
	if (h->captured)
		json_array_append(h->captured, (json_t *)event);
	json_int_t id = json_integer_value(json_object_get(event, "request"));
	DL_FOREACH_SAFE(h->waits, c, tmp)
	{
		if (c->request == id) {
			c->answer = json_incref((json_t *)event);
			resume(c);
		}
	}
}

void emu_http_api_expire(struct emu_http *h, int64_t now)
{
	struct emu_http_conn *c, *tmp;
	DL_FOREACH_SAFE(h->waits, c, tmp)
	{
		if (now >= c->deadline) {
			c->timed_out = 1;
			resume(c);
		}
	}
}
