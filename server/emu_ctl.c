/* The control socket's command-line client: builds one JSON request from
 * the arguments, prints the reply (or, for `subscribe`, the event stream). */
#include "emu_ctl.h"
#include "lh_time.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define EMU_CTL_TIMEOUT_MS 5000

/* Usage text for `ctl`. */
static void usage(FILE *out)
{
	fprintf(out,
		"usage: lwm2m-emulator ctl --control PATH [--no-wait] COMMAND [key=value ...]\n"
		"       lwm2m-emulator ctl --control PATH --json '{\"cmd\":\"status\"}'\n"
		"PATH is the emulator's own --control PATH. `request` prints the reply,\n"
		"then waits (up to 150 s) for the device's answer and prints it\n"
		"(response_received or request_failed); --no-wait prints the reply only.\n"
		"\n"
		"Commands: status, sessions, clients, forget_sessions, rotate_cookie_secret,\n"
		"  drop direction=in|out|both count=N, delay direction=.. count=N ms=M,\n"
		"  send_alert session=N [level=2] description=D, close_session session=N\n"
		"  [silent=true|false], stop_answering, resume, reload, subscribe, help,\n"
		"  request endpoint=EP method=M path=/O/I/R [payload=T|payload_hex=H]\n"
		"  [format=F] [accept=F] (M: read, discover, observe, cancel request=ID,\n"
		"  write, write_partial, execute, create, delete, bootstrap_finish,\n"
		"  bootstrap_discover, bootstrap_read, read_composite, observe_composite,\n"
		"  cancel_composite, write_composite: these take paths=/3/0/0,/1/0;\n"
		"  write_attributes takes pmin=5 pmax=30 gt= lt= st= epmin= epmax=).\n"
		"Values that look like integers or true/false are sent as such, except\n"
		"endpoint, path, payload and payload_hex, which are always text.\n");
}

/* Keys whose values are always text: `payload=0120` is the four
 * characters, not the number 120, and an endpoint may be all digits. */
static int is_text_key(const char *key)
{
	static const char *const text[] = {"payload", "payload_hex", "endpoint",
					   "path",    "paths",	     NULL};
	for (size_t i = 0; text[i]; i++)
		if (!strcmp(key, text[i]))
			return 1;
	return 0;
}

/* "key=value" into the request, typed as integer, boolean or string. */
static int add_arg(json_t *req, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *end;
	if (!eq || eq == arg)
		return -1;
	char key[128];
	snprintf(key, sizeof(key), "%.*s", (int)(eq - arg), arg);
	const char *v = eq + 1;
	long long n = strtoll(v, &end, 10);
	json_t *val;
	if (is_text_key(key))
		val = json_string(v);
	else if (*v && !*end)
		val = json_integer(n);
	else if (!strcmp(v, "true") || !strcmp(v, "false"))
		val = json_boolean(!strcmp(v, "true"));
	else
		val = json_string(v);
	return json_object_set_new(req, key, val);
}

/* Connects to the control socket at path. */
static int connect_ctl(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		goto err;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err;
	return fd;
err:
	fprintf(stderr,
		"lwm2m-emulator ctl: cannot connect to %s: %s (is the emulator running "
		"with --control %s?)\n",
		path, strerror(errno), path);
	if (fd >= 0)
		close(fd);
	return -1;
}

/* A growing receive buffer: a reply line has no size limit. */
struct ctl_buf {
	char *p;
	size_t len, cap;
};

/* Makes room for at least 64 KiB more; -1 when memory runs out. */
static int buf_room(struct ctl_buf *b)
{
	if (b->cap - b->len > 65536)
		return 0;
	size_t cap = b->cap ? 2 * b->cap : 131072;
	char *grown = realloc(b->p, cap);
	if (!grown) {
		fprintf(stderr, "lwm2m-emulator ctl: reply too large for memory\n");
		return -1;
	}
	b->p = grown;
	b->cap = cap;
	return 0;
}

/* Prints one reply line; returns the exit status its "ok" means. */
static int print_line(const char *line)
{
	printf("%s\n", line);
	fflush(stdout);
	json_t *r = json_loads(line, 0, NULL);
	int status = json_is_true(json_object_get(r, "ok")) ? 0 : 1;
	json_decref(r);
	return status;
}

/* Waits for and reads more bytes; -1 on timeout, error or end (said why). */
static int recv_more(int fd, int stream, struct ctl_buf *b)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (buf_room(b) < 0)
		return -1;
	if (poll(&p, 1, stream ? -1 : EMU_CTL_TIMEOUT_MS) <= 0) {
		fprintf(stderr, "lwm2m-emulator ctl: no reply within %d ms\n", EMU_CTL_TIMEOUT_MS);
		return -1;
	}
	ssize_t n = recv(fd, b->p + b->len, b->cap - b->len - 1, 0);
	if (n <= 0 && stream)
		return -1; /* the event stream ended with the emulator */
	if (n <= 0) {
		fprintf(stderr, "lwm2m-emulator ctl: the emulator closed the connection%s%s\n",
			n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		return -1;
	}
	b->len += (size_t)n;
	return 0;
}

#define EMU_CTL_ANSWER_MS 150000

/* The next whole line on fd into *line (NUL-terminated, in b); -1 when
 * none came within ms or the connection ended. */
static int next_line(int fd, struct ctl_buf *b, size_t *used, int ms, char **line)
{
	memmove(b->p, b->p + *used, b->len - *used);
	b->len -= *used;
	*used = 0;
	for (;;) {
		char *nl = b->len ? memchr(b->p, '\n', b->len) : NULL;
		if (nl) {
			*nl = '\0';
			*line = b->p;
			*used = (size_t)(nl + 1 - b->p);
			return 0;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n = buf_room(b) < 0 || poll(&p, 1, ms) <= 0
				? -1
				: recv(fd, b->p + b->len, b->cap - b->len - 1, 0);
		if (n <= 0)
			return -1;
		b->len += (size_t)n;
	}
}

/* Is this event line the end of request id: its answer or its failure? */
static int answers(const char *line, json_int_t id)
{
	json_t *ev = json_loads(line, 0, NULL);
	const char *name = json_string_value(json_object_get(ev, "event"));
	int done = name && json_integer_value(json_object_get(ev, "request")) == id &&
		   (!strcmp(name, "response_received") || !strcmp(name, "request_failed"));
	int status = done && !strcmp(name, "response_received") ? 0 : 1;
	json_decref(ev);
	return done ? status : -1;
}

/* Sends line on fd and reads its reply into *reply (in b). */
static int exchange(int fd, const char *line, struct ctl_buf *b, size_t *used, char **reply)
{
	size_t len = strlen(line);
	if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len ||
	    next_line(fd, b, used, EMU_CTL_TIMEOUT_MS, reply) < 0) {
		fprintf(stderr, "lwm2m-emulator ctl: no reply within %d ms\n", EMU_CTL_TIMEOUT_MS);
		return -1;
	}
	return 0;
}

/* `request`, waiting for the device: an event subscription opened first
 * (so a fast answer is not missed), the request sent, its reply printed,
 * then the answer or failure of that request. Returns the exit status. */
static int request_and_wait(const char *path, const char *req_line)
{
	struct ctl_buf eb = {NULL, 0, 0}, rb = {NULL, 0, 0};
	size_t eu = 0, ru = 0;
	char *line;
	int ret = 1, ev = connect_ctl(path), fd = ev >= 0 ? connect_ctl(path) : -1;
	if (fd < 0 || exchange(ev, "{\"cmd\":\"subscribe\"}\n", &eb, &eu, &line) < 0 ||
	    exchange(fd, req_line, &rb, &ru, &line) < 0 || print_line(line) != 0)
		goto exit;
	json_t *r = json_loads(line, 0, NULL);
	json_int_t id = json_integer_value(json_object_get(r, "request"));
	json_decref(r);
	int64_t end = lh_time_mono_ms() + EMU_CTL_ANSWER_MS;
	while (lh_time_mono_ms() < end &&
	       next_line(ev, &eb, &eu, (int)(end - lh_time_mono_ms()), &line) == 0)
		if ((ret = answers(line, id)) >= 0) {
			print_line(line);
			goto exit;
		}
	ret = 1;
	fprintf(stderr,
		"lwm2m-emulator ctl: no answer to request %lld within %d s (a sleeping device's "
		"request waits for it to wake; `subscribe` shows it when it comes)\n",
		(long long)id, EMU_CTL_ANSWER_MS / 1000);
exit:
	free(eb.p);
	free(rb.p);
	if (ev >= 0)
		close(ev);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Prints reply lines, each read whole whatever its size; stops after the
 * first unless streaming. Returns the exit status from the first reply's
 * "ok". */
static int read_replies(int fd, int stream)
{
	struct ctl_buf b = {NULL, 0, 0};
	int status = 1, first = 1;
	size_t scanned = 0;
	for (;;) {
		char *nl = b.len ? memchr(b.p + scanned, '\n', b.len - scanned) : NULL;
		if (!nl) {
			scanned = b.len;
			if (recv_more(fd, stream, &b) < 0)
				break;
			continue;
		}
		*nl = '\0';
		int st = print_line(b.p);
		if (first) {
			status = st;
			first = 0;
			if (!stream || status != 0)
				break;
		}
		b.len -= (size_t)(nl + 1 - b.p);
		memmove(b.p, nl + 1, b.len);
		scanned = 0;
	}
	free(b.p);
	return first ? 1 : status;
}

/* Builds the request from --json or COMMAND key=value...; NULL on misuse. */
static json_t *build_request(int argc, char **argv, int i)
{
	json_error_t jerr;
	if (i < argc && !strcmp(argv[i], "--json")) {
		json_t *req = i + 1 < argc ? json_loads(argv[i + 1], 0, &jerr) : NULL;
		if (!json_is_object(req)) {
			fprintf(stderr, "lwm2m-emulator ctl: --json needs a JSON object%s%s\n",
				req ? "" : ": ", req ? "" : jerr.text);
			json_decref(req);
			return NULL;
		}
		return req;
	}
	if (i >= argc)
		return NULL;
	json_t *req = json_pack("{s:s}", "cmd", argv[i]);
	for (int k = i + 1; k < argc; k++) {
		if (add_arg(req, argv[k]) < 0) {
			fprintf(stderr, "lwm2m-emulator ctl: %s: expected key=value\n", argv[k]);
			json_decref(req);
			return NULL;
		}
	}
	return req;
}

int emu_ctl_main(int argc, char **argv)
{
	const char *path = NULL;
	int i = 0, ret = 2, fd = -1;
	json_t *req = NULL;
	char *line = NULL;
	if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (i + 1 < argc && !strcmp(argv[i], "--control")) {
		path = argv[i + 1];
		i += 2;
	}
	int no_wait = i < argc && !strcmp(argv[i], "--no-wait");
	i += no_wait;
	if (!path) {
		fprintf(stderr,
			"lwm2m-emulator ctl: no control socket given: start the emulator with "
			"--control PATH (e.g. lwm2m-emulator --control /tmp/emu.sock) and give ctl "
			"the same --control PATH\n");
		goto exit;
	}
	req = build_request(argc, argv, i);
	if (!req) {
		usage(stderr);
		goto exit;
	}
	ret = 1;
	line = json_dumps(req, JSON_COMPACT);
	if (!line)
		goto exit;
	size_t len = strlen(line);
	line = realloc(line, len + 2);
	if (!line)
		goto exit;
	line[len] = '\n';
	line[len + 1] = '\0';
	if (!no_wait && !strcmp(json_string_value(json_object_get(req, "cmd")) ?: "", "request")) {
		ret = request_and_wait(path, line);
		goto exit;
	}
	fd = connect_ctl(path);
	if (fd < 0)
		goto exit;
	if (send(fd, line, len + 1, MSG_NOSIGNAL) != (ssize_t)(len + 1))
		goto exit;
	ret = read_replies(
	    fd, !strcmp(json_string_value(json_object_get(req, "cmd")) ?: "", "subscribe"));
exit:
	free(line);
	json_decref(req);
	if (fd >= 0)
		close(fd);
	return ret;
}
