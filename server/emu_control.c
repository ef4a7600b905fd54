/* The control socket: a Unix stream socket (mode 0600) speaking JSON lines.
 * One request object per line ({"cmd":..., "id":...}), one reply per line,
 * in order; `subscribe` turns a connection into an event stream. Replies go
 * through a per-client output queue flushed on EPOLLOUT, so a reply of any
 * size arrives whole, and a client that stops reading stops being read
 * (backpressure) instead of losing replies. */
#include "emu_control.h"
#include "emu_server.h"
#include "emu_reload.h"
#include "emu_control.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "emu_control_cmd.h"
#include "emu_sink.h"
#include "lh_event.h"

#define EMU_CTL_LINE_MAX 65536
/* Queued output above which a client's further requests wait unread. */
#define EMU_CTL_OUT_HIGH (1u << 20)
/* Queued events above which a subscriber that does not read is dropped. */
#define EMU_CTL_OUT_MAX (64u << 20)

struct emu_ctl_client {
	uint64_t id;
	int fd;
	int subscribed;
	int dead;	 /* failed a write: closed at the next sweep, never mid-request */
	int eof;	 /* sent all its requests: closed once its replies are out */
	uint32_t events; /* epoll interest now registered */
	size_t len;
	char buf[EMU_CTL_LINE_MAX];
	char *out; /* queued reply bytes: out[off..out_len) not yet sent */
	size_t out_off, out_len, out_cap;
	UT_hash_handle hh;
};

/* The socket this process created: only it is unlinked at shutdown. */

/* Fills sa from path; -1 (and a message) when it does not fit. */
static int make_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "lwm2m-emulator: --control %s: path longer than %zu bytes\n", path,
			sizeof(sa->sun_path) - 1);
		return -1;
	}
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return 0;
}

/* What is at sa's path: 0 nothing, 1 a stale socket (connection refused),
 * -1 something that must not be replaced (a message says what). */
static int probe_path(const struct sockaddr_un *sa)
{
	struct stat st;
	const char *path = sa->sun_path;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode) || st.st_uid != geteuid()) {
		fprintf(stderr,
			"lwm2m-emulator: --control %s: %s; refusing to replace it (remove it "
			"yourself or choose another path)\n",
			path,
			S_ISSOCK(st.st_mode)  ? "a socket owned by another user"
			: S_ISLNK(st.st_mode) ? "a symbolic link is there"
			: S_ISDIR(st.st_mode) ? "a folder is there"
					      : "a file that is not a socket is there");
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret = -1;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		fprintf(stderr, "lwm2m-emulator: control socket %s is in use by another process\n",
			path);
	else if (errno == ECONNREFUSED)
		ret = 1;
	else
		fprintf(stderr, "lwm2m-emulator: control socket %s: %s\n", path, strerror(errno));
	close(fd);
	return ret;
}

int emu_control_check(const char *path)
{
	struct sockaddr_un sa;
	return make_addr(path, &sa) < 0 || probe_path(&sa) < 0 ? -1 : 0;
}

/* Remembers which inode the bound socket got, for emu_control_close. */
static void remember_socket(struct emu_server *srv, const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
		srv->ctl_sock_dev = st.st_dev;
		srv->ctl_sock_ino = st.st_ino;
	}
}

static void send_line(struct emu_server *srv, struct emu_ctl_client *c, const json_t *obj);

/* Every event, to the control clients that subscribed (through the
 * lh_event sink of emu_sink.c). */
void emu_control_publish(struct emu_server *srv, const json_t *event)
{
	struct emu_ctl_client *c, *tmp;
	HASH_ITER(hh, srv->ctl_clients, c, tmp)
	{
		if (c->subscribed && !c->dead)
			send_line(srv, c, event);
	}
}

int emu_control_open(struct emu_server *srv, const char *path)
{
	struct sockaddr_un sa;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_CONTROL, 0)};
	srv->ctl_sock_ino = 0;
	if (make_addr(path, &sa) < 0)
		return -1;
	int what = probe_path(&sa);
	if (what < 0 || (what == 1 && unlink(path) < 0 && errno != ENOENT))
		return -1;
	srv->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Created 0600 from the start: no window where others could connect. */
	mode_t old = umask(0177);
	int rc = srv->ctl_fd < 0 ? -1 : bind(srv->ctl_fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(srv->ctl_fd, 16) < 0 ||
	    epoll_ctl(srv->epfd, EPOLL_CTL_ADD, srv->ctl_fd, &ev) < 0) {
		fprintf(stderr, "lwm2m-emulator: control socket %s: %s\n", path, strerror(errno));
		return -1;
	}
	remember_socket(srv, path);
	emu_sink_update(srv);
	return 0;
}

/* Drops one client connection. */
static void client_close(struct emu_server *srv, struct emu_ctl_client *c)
{
	HASH_DEL(srv->ctl_clients, c);
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	emu_limit_give(srv, EMU_LIMIT_CONTROL_CLIENTS, 1);
	free(c->out);
	free(c);
}

/* Unlinks the control socket only if it is still the one this process
 * bound: whatever replaced it since is someone else's. */
static void unlink_own(struct emu_server *srv, const char *path)
{
	struct stat st;
	if (path && srv->ctl_sock_ino && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == srv->ctl_sock_dev && st.st_ino == srv->ctl_sock_ino)
		unlink(path);
	srv->ctl_sock_ino = 0;
}

void emu_control_close(struct emu_server *srv)
{
	struct emu_ctl_client *c, *tmp;
	HASH_ITER(hh, srv->ctl_clients, c, tmp)
	client_close(srv, c);
	if (srv->ctl_fd >= 0) {
		close(srv->ctl_fd);
		unlink_own(srv, emu_gen_cfg(srv)->control);
	}
	srv->ctl_fd = -1;
	emu_sink_update(srv);
}

void emu_control_accept(struct emu_server *srv)
{
	int fd;
	while ((fd = accept4(srv->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct emu_ctl_client *c = NULL;
		struct epoll_event ev = {.events = EPOLLIN};
		if (emu_limit_take(srv, EMU_LIMIT_CONTROL_CLIENTS, 1, "a control client") < 0) {
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			emu_limit_give(srv, EMU_LIMIT_CONTROL_CLIENTS, 1);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		c->id = ++srv->ctl_next_id;
		ev.data.u64 = EMU_FD_TAG(EMU_FD_CONTROL_CLIENT, c->id);
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			emu_limit_give(srv, EMU_LIMIT_CONTROL_CLIENTS, 1);
			continue;
		}
		HASH_ADD(hh, srv->ctl_clients, id, sizeof(c->id), c);
	}
}

/* Bytes queued for the client and not yet sent. */
static size_t pending(const struct emu_ctl_client *c)
{
	return c->out_len - c->out_off;
}

/* Registers the interest the queue calls for: EPOLLOUT while output waits,
 * EPOLLIN only while the queue is below the high-water mark. */
static void update_interest(struct emu_server *srv, struct emu_ctl_client *c)
{
	uint32_t want =
	    (pending(c) ? EPOLLOUT : 0) | (!c->eof && pending(c) < EMU_CTL_OUT_HIGH ? EPOLLIN : 0);
	struct epoll_event ev = {.events = want,
				 .data.u64 = EMU_FD_TAG(EMU_FD_CONTROL_CLIENT, c->id)};
	if (want == c->events)
		return;
	if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		c->dead = 1;
	else
		c->events = want;
}

/* Sends what the socket takes now; the rest waits for EPOLLOUT. */
static void flush_out(struct emu_server *srv, struct emu_ctl_client *c)
{
	while (!c->dead && pending(c)) {
		ssize_t n =
		    send(c->fd, c->out + c->out_off, pending(c), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			c->dead = 1;
		else
			c->out_off += (size_t)n;
	}
	if (!pending(c))
		c->out_off = c->out_len = 0;
	if (!c->dead)
		update_interest(srv, c);
}

/* Appends len bytes to the queue, compacting or growing it. */
static int queue_bytes(struct emu_ctl_client *c, const char *p, size_t len)
{
	if (c->out_off && c->out_len + len > c->out_cap) {
		memmove(c->out, c->out + c->out_off, pending(c));
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		char *grown = realloc(c->out, cap);
		if (!grown)
			return -1;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, p, len);
	c->out_len += len;
	return 0;
}

/* Queues one JSON value as a line and starts sending it. A client whose
 * queue cannot grow (out of memory, or a subscriber that stopped reading
 * events) is marked dead rather than sent a cut line. */
static void send_line(struct emu_server *srv, struct emu_ctl_client *c, const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text || (c->subscribed && pending(c) > EMU_CTL_OUT_MAX)) {
		fprintf(stderr, "lwm2m-emulator: control client %llu did not take a reply\n",
			(unsigned long long)c->id);
		c->dead = 1;
	} else {
		size_t len = strlen(text);
		text[len] = '\n';
		if (queue_bytes(c, text, len + 1) < 0)
			c->dead = 1;
	}
	free(text);
	flush_out(srv, c);
}

/* Parses and runs one request line, then queues its answer. */
static void handle_line(struct emu_server *srv, struct emu_ctl_client *c, const char *line)
{
	json_error_t jerr;
	json_t *req = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
	json_t *reply;
	if (!req || !json_is_object(req)) {
		reply = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "EINVAL", "message",
				  req ? "request must be a JSON object" : jerr.text);
	} else {
		reply = emu_control_run(srv, req, &c->subscribed);
	}
	if (reply)
		send_line(srv, c, reply);
	json_decref(reply);
	json_decref(req);
}

/* Handles the complete lines in the buffer, in order, while the client's
 * output queue is below the high-water mark (the rest wait in the buffer:
 * backpressure). Returns -1 when a line is over-long. */
static int drain_lines(struct emu_server *srv, struct emu_ctl_client *c)
{
	char *nl;
	while (!c->dead && pending(c) < EMU_CTL_OUT_HIGH &&
	       (nl = memchr(c->buf, '\n', c->len)) != NULL) {
		*nl = '\0';
		if (nl > c->buf)
			handle_line(srv, c, c->buf);
		size_t used = (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
	}
	return c->len == sizeof(c->buf) && !memchr(c->buf, '\n', c->len) ? -1 : 0;
}

/* Answers an over-long request line and drops the client. */
static void refuse_long_line(struct emu_server *srv, struct emu_ctl_client *c)
{
	json_t *err = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "EMSGSIZE", "message",
				"request line longer than 64 KiB");
	send_line(srv, c, err);
	json_decref(err);
	client_close(srv, c);
}

/* Reads what the client sent; 0 when nothing more is there for now. */
static int read_more(struct emu_ctl_client *c)
{
	ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n < 0)
		c->dead = 1;
	else if (n == 0)
		c->eof = 1; /* half-closed: its queued replies are still sent */
	c->len += n > 0 ? (size_t)n : 0;
	return n > 0;
}

/* Any event on a client: send queued output, handle buffered lines, then
 * read more while the queue has room. */
void emu_control_readable(struct emu_server *srv, uint64_t client_id)
{
	struct emu_ctl_client *c = NULL;
	HASH_FIND(hh, srv->ctl_clients, &client_id, sizeof(client_id), c);
	if (!c)
		return;
	flush_out(srv, c);
	for (;;) {
		if (drain_lines(srv, c) < 0) {
			refuse_long_line(srv, c);
			return;
		}
		if (c->dead || c->eof || pending(c) >= EMU_CTL_OUT_HIGH || !read_more(c))
			break;
	}
	if (c->dead || (c->eof && !pending(c) && (c->len == 0 || !memchr(c->buf, '\n', c->len))))
		client_close(srv, c);
	else
		update_interest(srv, c);
}

void emu_control_sweep(struct emu_server *srv)
{
	struct emu_ctl_client *c, *tmp;
	HASH_ITER(hh, srv->ctl_clients, c, tmp)
	{
		if (c->dead)
			client_close(srv, c);
	}
}
