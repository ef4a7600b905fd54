/* GET /api/events: every event as a Server-Sent Event ("data: JSON"). Each
 * client has its own bounded queue; MHD pulls from it when the socket takes
 * more, and the connection is suspended while the queue is empty. A client
 * that stops reading lets its queue grow: past sse_max_queue it is dropped
 * (queue freed, socket shut down, evented), never buffered without end. */
#include "emu_http_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <utlist.h>

#include "emu_reload.h"
#include "emu_server.h"

/* Lets MHD poll a suspended stream again. */
static void wake(struct emu_http_sse *s)
{
	if (!s->suspended)
		return;
	s->suspended = 0;
	s->h->resumed = 1;
	MHD_resume_connection(s->mc);
}

/* MHD wants bytes for the client: the queued ones, or (none queued) the
 * stream is suspended until the next event so MHD does not spin on it. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct emu_http_sse *s = cls;
	size_t n = s->len - s->off;
	(void)pos;
	if (s->dead)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0) {
		s->off = s->len = 0;
		s->suspended = 1;
		MHD_suspend_connection(s->mc);
		return 0;
	}
	n = n < max ? n : max;
	memcpy(buf, s->buf + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* The response is gone (client closed, dropped, shutdown): forget it. */
static void sse_free(void *cls)
{
	struct emu_http_sse *s = cls;
	DL_DELETE(s->h->sse, s);
	s->h->sse_count--;
	free(s->buf);
	free(s);
}

/* Drops a client that did not read: its queue is freed now, its socket
 * shut down so MHD closes the connection at its next look. */
static void drop(struct emu_http_sse *s)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(s->mc, MHD_CONNECTION_INFO_CONNECTION_FD);
	s->dead = 1;
	free(s->buf);
	s->buf = NULL;
	s->off = s->len = s->cap = 0;
	s->h->sse_dropped++;
	if (ci)
		shutdown(ci->connect_fd, SHUT_RDWR);
	wake(s);
}

/* Appends text to a client's queue, compacting or growing it; over the
 * bound, the client is dropped instead. */
static void enqueue(struct emu_http_sse *s, const char *text, size_t len)
{
	size_t max = emu_gen_cfg(s->h->srv)->http_sse_max;
	if (s->dead)
		return;
	if (s->len - s->off + len > max) {
		drop(s);
		return;
	}
	if (s->off) {
		memmove(s->buf, s->buf + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
	}
	if (s->len + len > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + len)
			cap *= 2;
		char *grown = realloc(s->buf, cap);
		if (!grown) {
			drop(s);
			return;
		}
		s->buf = grown;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, text, len);
	s->len += len;
	wake(s);
}

enum MHD_Result emu_http_sse_start(struct emu_http *h, struct MHD_Connection *mc)
{
	static const char hello[] = "retry: 3000\n: lwm2m-emulator events\n\n";
	struct emu_http_sse *s = calloc(1, sizeof(*s));
	struct MHD_Response *r;
	if (!s)
		return MHD_NO;
	s->h = h;
	s->mc = mc;
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, sse_read, s, sse_free);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	DL_APPEND(h->sse, s);
	h->sse_count++;
	enqueue(s, hello, sizeof(hello) - 1);
	MHD_add_response_header(r, "Content-Type", "text/event-stream");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Drops the oldest history entry. */
static void history_pop(struct emu_http *h)
{
	size_t i = h->history_first;
	h->history_bytes -= h->history_len[i];
	free(h->history[i]);
	h->history[i] = NULL;
	h->history_first = (i + 1) % EMU_HTTP_HISTORY;
	h->history_count--;
}

/* Keeps json (taking it) as the newest history entry, dropping the oldest
 * ones past the count and byte bounds; a single oversized event is not
 * kept. */
static void history_push(struct emu_http *h, char *json)
{
	size_t len = strlen(json);
	if (len > EMU_HTTP_HISTORY_BYTES / 4) {
		free(json);
		return;
	}
	while (h->history_count && (h->history_count == EMU_HTTP_HISTORY ||
				    h->history_bytes + len > EMU_HTTP_HISTORY_BYTES))
		history_pop(h);
	size_t i = (h->history_first + h->history_count) % EMU_HTTP_HISTORY;
	h->history[i] = json;
	h->history_len[i] = len;
	h->history_bytes += len;
	h->history_count++;
}

enum MHD_Result emu_http_sse_recent(struct emu_http *h, struct MHD_Connection *mc)
{
	size_t cap = h->history_bytes + h->history_count + 16, used = 0;
	char *text = malloc(cap);
	if (!text)
		return MHD_NO;
	used += (size_t)snprintf(text, cap, "{\"events\":[");
	for (size_t k = 0; k < h->history_count; k++) {
		size_t i = (h->history_first + k) % EMU_HTTP_HISTORY;
		if (k)
			text[used++] = ',';
		memcpy(text + used, h->history[i], h->history_len[i]);
		used += h->history_len[i];
	}
	memcpy(text + used, "]}", 3);
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(used + 2, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* Every event: as one "data:" line to each stream, and into the history. */
void emu_http_sse_publish(struct emu_http *h, const json_t *event)
{
	struct emu_http_sse *s, *tmp;
	char *json = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t jlen = json ? strlen(json) : 0;
	char *text = json && h->sse ? malloc(jlen + 8) : NULL;
	if (text) {
		memcpy(text, "data: ", 6);
		memcpy(text + 6, json, jlen);
		memcpy(text + 6 + jlen, "\n\n", 2);
		DL_FOREACH_SAFE(h->sse, s, tmp)
		enqueue(s, text, jlen + 8);
	}
	free(text);
	if (json)
		history_push(h, json);
}

void emu_http_sse_heartbeat(struct emu_http *h)
{
	static const char beat[] = ": keepalive\n\n";
	struct emu_http_sse *s, *tmp;
	DL_FOREACH_SAFE(h->sse, s, tmp)
	enqueue(s, beat, sizeof(beat) - 1);
}

void emu_http_sse_close_all(struct emu_http *h)
{
	struct emu_http_sse *s, *tmp;
	DL_FOREACH_SAFE(h->sse, s, tmp)
	{
		s->dead = 1;
		wake(s);
	}
	while (h->history_count)
		history_pop(h);
}
