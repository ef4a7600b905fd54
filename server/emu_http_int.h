#ifndef EMU_HTTP_INT_H
#define EMU_HTTP_INT_H
/* Shared by emu_http.c (daemon, loop, dispatch), emu_http_api.c (routes to
 * the control commands) and emu_http_sse.c (event streams). Not for other
 * modules: they use emu_http.h. */
#include <jansson.h>
#include <microhttpd.h>
#include <stdint.h>

struct emu_server;

#define EMU_HTTP_HISTORY 256
#define EMU_HTTP_HISTORY_BYTES (256u << 10)

/* One HTTP request (MHD's per-request context). */
struct emu_http_conn {
	struct emu_http *h;
	struct MHD_Connection *mc;
	char *body; /* the request body so far, at most max_body bytes */
	size_t len;
	int too_big; /* the body passed max_body: its bytes are discarded */
	/* POST /api/request waiting (suspended) for the device's answer. */
	int waiting, timed_out;
	json_int_t request;
	int64_t deadline;
	json_t *reply;	/* the control reply (request id, token, session) */
	json_t *answer; /* response_received or request_failed event */
	struct emu_http_conn *prev, *next;
};

/* One client of GET /api/events (Server-Sent Events). */
struct emu_http_sse {
	struct emu_http *h;
	struct MHD_Connection *mc;
	char *buf; /* queued event text: buf[off..len) not yet given to MHD */
	size_t off, len, cap;
	int suspended; /* nothing queued: MHD does not poll it until resumed */
	int dead;      /* dropped: its next read ends the response */
	struct emu_http_sse *prev, *next;
};

struct emu_http {
	struct emu_server *srv;
	struct MHD_Daemon *d;
	int port;
	unsigned conns;	  /* open connections (MHD_OPTION_NOTIFY_CONNECTION) */
	int limit_hit;	  /* connection_limit event sent for this episode */
	uint64_t refused; /* connections refused at the limit, for the event */
	int resumed;	  /* a connection was resumed: MHD_run this turn */
	struct emu_http_conn *waits;
	struct emu_http_sse *sse;
	size_t sse_count;
	uint64_t sse_dropped; /* dropped since the last tick: evented there */
	int64_t next_heartbeat;
	/* While a request is being sent: its answers emitted at once (an
	 * immediate failure) are kept here to be matched by id. */
	json_t *captured;
	/* The latest events as JSON text, oldest first, for GET /api/recent
	 * (a page opened late still shows what happened): at most
	 * EMU_HTTP_HISTORY of them and EMU_HTTP_HISTORY_BYTES in all. */
	char *history[EMU_HTTP_HISTORY];
	size_t history_len[EMU_HTTP_HISTORY];
	size_t history_first, history_count, history_bytes;
};

/* Queues a JSON response (steals body). */
enum MHD_Result emu_http_json(struct MHD_Connection *mc, unsigned status, json_t *body);
/* Queues {"error": code, "message": msg} (plus extra's members, stolen). */
enum MHD_Result emu_http_error(struct MHD_Connection *mc, unsigned status, const char *code,
			       const char *msg, json_t *extra);

/* The route of url/method: 0 and *route (an opaque index) when known, else
 * the HTTP status (404, 405; *allow then names the methods). */
int emu_http_api_route(const char *url, const char *method, int *route, const char **allow);
/* Does route change state (and so need the token)? */
int emu_http_api_writes(int route);
/* Is route the event stream? */
int emu_http_api_is_events(int route);
/* Runs route with the collected body. */
enum MHD_Result emu_http_api_run(struct emu_http_conn *c, int route);
/* A resumed POST /api/request: its answer, failure or timeout. */
enum MHD_Result emu_http_api_answer(struct emu_http_conn *c);
/* An answer event for the waiting requests: resumes the one it ends. */
void emu_http_api_publish(struct emu_http *h, const json_t *event);
/* Resumes waits whose deadline passed (they answer 504). */
void emu_http_api_expire(struct emu_http *h, int64_t now);

/* Starts an event stream on mc. */
enum MHD_Result emu_http_sse_start(struct emu_http *h, struct MHD_Connection *mc);
/* Queues one event to every stream, dropping those over sse_max_queue. */
void emu_http_sse_publish(struct emu_http *h, const json_t *event);
/* A comment line to every stream, so idle ones stay open and closed ones
 * are noticed. */
void emu_http_sse_heartbeat(struct emu_http *h);
/* Ends every stream (shutdown) and frees the history. */
void emu_http_sse_close_all(struct emu_http *h);
/* GET /api/recent: {"events": [the history, oldest first]}. */
enum MHD_Result emu_http_sse_recent(struct emu_http *h, struct MHD_Connection *mc);

#endif
