/* The HTTP front end: libmicrohttpd in external-epoll mode inside the
 * emulator's loop (no thread of its own), the dashboard's static files, and
 * the checks every request passes before a route runs: known path (404),
 * allowed method (405), bearer token for state changes (401), bounded body
 * (413), bounded connections (refused, evented). */
#include "emu_http.h"
#include "emu_http_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <utlist.h>

#include "emu_http_cfg.h"
#include "emu_reload.h"
#include "emu_server.h"
#include "emu_sink.h"
#include "emu_www.h"
#include "lh_addr.h"
#include "lh_event.h"
#include "lh_time.h"

/* Connections above the limit are refused here, with an event, before
 * MHD's own (higher) backstop limit would refuse them silently. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct emu_http *h = cls;
	(void)sa;
	(void)len;
	if (h->conns < emu_gen_cfg(h->srv)->http_max_clients)
		return MHD_YES;
	h->refused++;
	if (!h->limit_hit)
		lh_event_emitf("http_connection_limit", "{s:I, s:s}", "limit",
			       (json_int_t)emu_gen_cfg(h->srv)->http_max_clients, "effect",
			       "new HTTP connections are refused until one closes");
	h->limit_hit = 1;
	return MHD_NO;
}

/* Counts open connections for on_accept's limit. */
static void on_connection(void *cls, struct MHD_Connection *mc, void **socket_ctx,
			  enum MHD_ConnectionNotificationCode code)
{
	struct emu_http *h = cls;
	(void)mc;
	(void)socket_ctx;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		h->conns++;
	} else if (h->conns > 0) {
		h->conns--;
		h->limit_hit = 0;
	}
}

/* A request ended (answered, or its client went away): frees its state. */
static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct emu_http *h = cls;
	struct emu_http_conn *c = *con_cls;
	(void)mc;
	(void)toe;
	if (!c)
		return;
	if (c->waiting)
		DL_DELETE(h->waits, c);
	json_decref(c->reply);
	json_decref(c->answer);
	free(c->body);
	free(c);
	*con_cls = NULL;
}

enum MHD_Result emu_http_json(struct MHD_Connection *mc, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(body);
	if (!text)
		return MHD_NO;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(mc, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result emu_http_error(struct MHD_Connection *mc, unsigned status, const char *code,
			       const char *msg, json_t *extra)
{
	json_t *body = json_pack("{s:s, s:s}", "error", code, "message", msg);
	if (extra) {
		json_object_update(body, extra);
		json_decref(extra);
	}
	return emu_http_json(mc, status, body);
}

/* A built-in dashboard file, served from the binary (no disk, no network). */
static enum MHD_Result serve_file(struct MHD_Connection *mc, const struct emu_www_file *f)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", f->type);
	MHD_add_response_header(r, "Content-Security-Policy",
				"default-src 'self'; style-src 'self'; script-src 'self'");
	enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Does the request carry "Authorization: Bearer <token>"? Compared in
 * constant time, so the token cannot be guessed byte by byte. */
static int authorized(struct emu_http *h, struct MHD_Connection *mc)
{
	const char *want = emu_gen_cfg(h->srv)->http_token;
	const char *got = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
	if (!want)
		return 1;
	if (!got || strncmp(got, "Bearer ", 7) != 0 || strlen(got + 7) != strlen(want))
		return 0;
	unsigned char diff = 0;
	for (size_t i = 0; want[i]; i++)
		diff |= (unsigned char)(got[7 + i] ^ want[i]);
	return diff == 0;
}

/* A declared body over max_body is refused before any of it is read. */
static int declared_too_big(struct emu_http *h, struct MHD_Connection *mc)
{
	const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
	return cl && strtoull(cl, NULL, 10) > emu_gen_cfg(h->srv)->http_max_body;
}

/* The checks a request passes on its first call (headers only): what fails
 * here is answered at once, without reading a body. Returns -1 when a
 * response was queued (*ret says how), else the route. */
static int first_checks(struct emu_http *h, struct MHD_Connection *mc, const char *url,
			const char *method, enum MHD_Result *ret)
{
	const char *allow = NULL;
	char msg[300];
	int route, status = emu_http_api_route(url, method, &route, &allow);
	if (status == 404) {
		snprintf(msg, sizeof(msg), "no such path: %.200s (see GET /api/help)", url);
		*ret = emu_http_error(mc, 404, "not_found", msg, NULL);
	} else if (status == 405) {
		snprintf(msg, sizeof(msg), "%.200s takes %s, not %.20s", url, allow, method);
		*ret = emu_http_error(mc, 405, "method_not_allowed", msg,
				      json_pack("{s:s}", "allow", allow));
	} else if (emu_http_api_writes(route) && !authorized(h, mc)) {
		*ret = emu_http_error(mc, 401, "unauthorized",
				      "this request changes state: send the token as "
				      "\"Authorization: Bearer TOKEN\" (--http-token)",
				      NULL);
	} else if (declared_too_big(h, mc)) {
		snprintf(msg, sizeof(msg), "request body larger than %u bytes (max_body)",
			 emu_gen_cfg(h->srv)->http_max_body);
		*ret = emu_http_error(mc, 413, "payload_too_large", msg, NULL);
	} else {
		return route;
	}
	return -1;
}

/* First call of a request: static files and the event stream are answered
 * at once; an API route waits for its body. */
static enum MHD_Result first_call(struct emu_http *h, struct MHD_Connection *mc, const char *url,
				  const char *method, void **con_cls)
{
	enum MHD_Result ret = MHD_YES;
	const struct emu_www_file *f = emu_www_find(url);
	struct emu_http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return MHD_NO;
	c->h = h;
	c->mc = mc;
	*con_cls = c;
	if (f && (!strcmp(method, "GET") || !strcmp(method, "HEAD")))
		return serve_file(mc, f);
	if (f)
		return emu_http_error(mc, 405, "method_not_allowed",
				      "the dashboard's files take GET",
				      json_pack("{s:s}", "allow", "GET, HEAD"));
	int route = first_checks(h, mc, url, method, &ret);
	if (route >= 0 && emu_http_api_is_events(route))
		return emu_http_sse_start(h, mc);
	return ret;
}

/* Body bytes: kept up to max_body; past it, discarded (bounded memory) and
 * the request answered 413 once the client is done sending. */
static enum MHD_Result take_body(struct emu_http_conn *c, const char *data, size_t *size)
{
	size_t max = emu_gen_cfg(c->h->srv)->http_max_body;
	if (!c->too_big && c->len + *size <= max) {
		char *grown = realloc(c->body, c->len + *size + 1);
		if (!grown)
			return MHD_NO;
		memcpy(grown + c->len, data, *size);
		c->body = grown;
		c->len += *size;
		c->body[c->len] = '\0';
	} else {
		c->too_big = 1;
		free(c->body);
		c->body = NULL;
		c->len = 0;
	}
	*size = 0;
	return MHD_YES;
}

/* MHD's access handler: every call of every request comes here. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct emu_http *h = cls;
	struct emu_http_conn *c = *con_cls;
	const char *allow;
	int route;
	(void)version;
	if (!c)
		return first_call(h, mc, url, method, con_cls);
	if (*upload_size)
		return take_body(c, upload, upload_size);
	if (c->reply) /* a POST /api/request resumed: its answer or timeout */
		return emu_http_api_answer(c);
	if (c->too_big)
		return emu_http_error(mc, 413, "payload_too_large",
				      "request body larger than max_body; nothing was done", NULL);
	if (emu_http_api_route(url, method, &route, &allow) != 0)
		return MHD_NO;
	return emu_http_api_run(c, route);
}

/* MHD's own messages, as events rather than stray stderr lines. */
static void on_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	lh_event_emitf("http_log", "{s:s}", "message", msg);
}

/* Starts MHD on the parsed address: external epoll, suspend/resume, the
 * connection limit (a backstop above ours), timeouts and memory bound. */
static struct MHD_Daemon *start_daemon(struct emu_http *h, const struct sockaddr_storage *ss)
{
	unsigned max = emu_gen_cfg(h->srv)->http_max_clients;
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
			 (ss->ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	return MHD_start_daemon(flags, 0, on_accept, h, on_request, h, MHD_OPTION_EXTERNAL_LOGGER,
				on_log, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)ss,
				MHD_OPTION_CONNECTION_LIMIT, max + 8, MHD_OPTION_CONNECTION_TIMEOUT,
				60u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10),
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_END);
}

/* Puts MHD's epoll fd into the server's epoll and says where it listens. */
static int attach(struct emu_http *h, struct sockaddr_storage *ss)
{
	const union MHD_DaemonInfo *fd = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD);
	const union MHD_DaemonInfo *port = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_HTTP, 0)};
	char addr[LH_ADDR_STRLEN];
	if (!fd || !port || epoll_ctl(h->srv->epfd, EPOLL_CTL_ADD, fd->epoll_fd, &ev) < 0)
		return -1;
	h->port = port->port;
	((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)h->port); /* same offset in v6 */
	lh_event_emitf("listening", "{s:s, s:s, s:b}", "proto", "http", "addr",
		       lh_addr_format((struct sockaddr *)ss, addr, sizeof(addr)), "token",
		       emu_gen_cfg(h->srv)->http_token != NULL);
	return 0;
}

int emu_http_open(struct emu_server *srv)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256];
	const char *listen = srv->cfg->http;
	struct emu_http *h = calloc(1, sizeof(*h));
	if (!h) {
		fprintf(stderr, "lwm2m-emulator: --http %s: out of memory\n", listen);
		return -1;
	}
	h->srv = srv;
	srv->http = h;
	if (emu_http_parse_listen(listen, &ss, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "lwm2m-emulator: --http %s\n", err);
		goto err;
	}
	h->d = start_daemon(h, &ss);
	if (!h->d || attach(h, &ss) < 0) {
		fprintf(stderr, "lwm2m-emulator: --http %s: cannot listen there: %s\n", listen,
			strerror(errno));
		goto err;
	}
	emu_sink_update(srv);
	return 0;
err:
	emu_http_close(srv);
	return -1;
}

void emu_http_close(struct emu_server *srv)
{
	struct emu_http *h = srv->http;
	struct emu_http_conn *c, *tmp;
	if (!h)
		return;
	/* MHD must not be stopped with suspended connections: resume all. */
	DL_FOREACH_SAFE(h->waits, c, tmp)
	{
		DL_DELETE(h->waits, c);
		c->waiting = 0;
		MHD_resume_connection(c->mc);
	}
	emu_http_sse_close_all(h);
	if (h->d)
		MHD_stop_daemon(h->d);
	json_decref(h->captured);
	free(h);
	srv->http = NULL;
	emu_sink_update(srv);
}

void emu_http_readable(struct emu_server *srv)
{
	if (srv->http)
		MHD_run(srv->http->d);
}

int64_t emu_http_wait_ms(struct emu_server *srv)
{
	MHD_UNSIGNED_LONG_LONG t;
	struct emu_http *h = srv->http;
	struct emu_http_conn *c;
	if (!h)
		return -1;
	int64_t now = lh_time_mono_ms(), until = h->next_heartbeat - now;
	if (MHD_get_timeout(h->d, &t) == MHD_YES && (int64_t)t < until)
		until = (int64_t)t;
	DL_FOREACH(h->waits, c)
	if (c->deadline - now < until)
		until = c->deadline - now;
	return until < 0 ? 0 : until;
}

void emu_http_tick(struct emu_server *srv, int64_t now)
{
	struct emu_http *h = srv->http;
	if (!h)
		return;
	emu_http_api_expire(h, now);
	if (now >= h->next_heartbeat) {
		emu_http_sse_heartbeat(h);
		h->next_heartbeat = now + 15000;
	}
	if (h->sse_dropped) {
		lh_event_emitf("http_client_dropped", "{s:I, s:I, s:s}", "clients",
			       (json_int_t)h->sse_dropped, "sse_max_queue",
			       (json_int_t)emu_gen_cfg(srv)->http_sse_max, "reason",
			       "the event stream's client did not read its queued events");
		h->sse_dropped = 0;
	}
	/* MHD also needs a turn when its timeout is due: connection timeouts,
	 * and data it has buffered but not processed (a large chunk). */
	MHD_UNSIGNED_LONG_LONG t;
	if (h->resumed || (MHD_get_timeout(h->d, &t) == MHD_YES && t == 0)) {
		h->resumed = 0;
		MHD_run(h->d);
	}
}

void emu_http_publish(struct emu_server *srv, const json_t *event)
{
	if (!srv->http)
		return;
	emu_http_api_publish(srv->http, event);
	emu_http_sse_publish(srv->http, event);
}
