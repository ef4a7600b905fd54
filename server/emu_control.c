/* The control socket: a Unix stream socket (mode 0600) speaking JSON lines.
 * One request object per line ({"cmd":..., "id":...}), one reply per line;
 * `subscribe` turns a connection into an event stream. */
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
#include "lh_event.h"

#define EMU_CTL_LINE_MAX 65536

struct emu_ctl_client {
	uint64_t id;
	int fd;
	int subscribed;
	int dead; /* failed a write: closed at the next sweep, never mid-request */
	size_t len;
	char buf[EMU_CTL_LINE_MAX];
	UT_hash_handle hh;
};

static struct emu_server *g_srv;

/* Refuses to steal a socket another live emulator is serving; removes a
 * stale one left by a crash. */
static int clear_stale(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int ret = 0;
	if (fd < 0)
		return -1;
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0) {
		fprintf(stderr, "lwm2m-emulator: control socket %s is in use by another process\n",
			sa->sun_path);
		ret = -1;
	} else if (errno == ECONNREFUSED) {
		unlink(sa->sun_path);
	}
	close(fd);
	return ret;
}

int emu_control_open(struct emu_server *srv, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = EMU_FD_TAG(EMU_FD_CONTROL, 0)};
	g_srv = srv;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "lwm2m-emulator: --control %s: path longer than %zu bytes\n", path,
			sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (clear_stale(&sa) < 0)
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
	return 0;
}

/* Drops one client connection. */
static void client_close(struct emu_server *srv, struct emu_ctl_client *c)
{
	HASH_DEL(srv->ctl_clients, c);
	epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

void emu_control_close(struct emu_server *srv)
{
	struct emu_ctl_client *c, *tmp;
	HASH_ITER(hh, srv->ctl_clients, c, tmp)
	client_close(srv, c);
	if (srv->ctl_fd >= 0) {
		close(srv->ctl_fd);
		if (emu_gen_cfg(srv)->control)
			unlink(emu_gen_cfg(srv)->control);
	}
	srv->ctl_fd = -1;
	g_srv = NULL;
}

void emu_control_accept(struct emu_server *srv)
{
	int fd;
	while ((fd = accept4(srv->ctl_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct emu_ctl_client *c = calloc(1, sizeof(*c));
		struct epoll_event ev = {.events = EPOLLIN};
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++srv->ctl_next_id;
		ev.data.u64 = EMU_FD_TAG(EMU_FD_CONTROL_CLIENT, c->id);
		if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		HASH_ADD(hh, srv->ctl_clients, id, sizeof(c->id), c);
	}
}

/* Writes one JSON value as a line; a client too slow to take it is dropped
 * by the caller on -1. */
static int send_line(int fd, const json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	int ret = -1;
	if (!text)
		return -1;
	size_t len = strlen(text);
	text[len] = '\n';
	if (send(fd, text, len + 1, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)(len + 1))
		ret = 0;
	free(text);
	return ret;
}

/* Parses and runs one request line, then answers it. */
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
	if (reply && send_line(c->fd, reply) < 0)
		fprintf(stderr, "lwm2m-emulator: control client %llu did not take a reply\n",
			(unsigned long long)c->id);
	json_decref(reply);
	json_decref(req);
}

/* Splits the buffer into lines and handles each; -1 when over-long. */
static int drain_lines(struct emu_server *srv, struct emu_ctl_client *c)
{
	char *nl;
	while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
		*nl = '\0';
		if (nl > c->buf)
			handle_line(srv, c, c->buf);
		size_t used = (size_t)(nl + 1 - c->buf);
		memmove(c->buf, nl + 1, c->len - used);
		c->len -= used;
	}
	return c->len == sizeof(c->buf) ? -1 : 0;
}

void emu_control_readable(struct emu_server *srv, uint64_t client_id)
{
	struct emu_ctl_client *c = NULL;
	HASH_FIND(hh, srv->ctl_clients, &client_id, sizeof(client_id), c);
	if (!c)
		return;
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			client_close(srv, c);
			return;
		}
		c->len += (size_t)n;
		if (drain_lines(srv, c) < 0) {
			json_t *err = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "EMSGSIZE",
						"message", "request line longer than 64 KiB");
			send_line(c->fd, err);
			json_decref(err);
			client_close(srv, c);
			return;
		}
	}
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

void emu_control_publish(const json_t *event)
{
	struct emu_ctl_client *c, *tmp;
	if (!g_srv)
		return;
	HASH_ITER(hh, g_srv->ctl_clients, c, tmp)
	{
		if (c->subscribed && !c->dead && send_line(c->fd, event) < 0)
			c->dead = 1;
	}
}
