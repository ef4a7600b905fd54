/* ctl_pipe: a control-socket client that pipelines. It writes every request
 * line from stdin to the emulator's control socket in one go, reads nothing
 * for WAIT_MS (so replies pile up on the server), then reads replies until
 * it has one per request line, printing them to stdout. Used by
 * tests/abuse/test-control.sh.
 *
 *   ctl_pipe PATH WAIT_MS TIMEOUT_MS < requests.jsonl
 *
 * Exit 0 when every request got a reply line, 1 otherwise ("sent N answered
 * M" on stderr either way), 2 on misuse. Nothing but a Unix socket is used. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Reads all of stdin into a malloc'd buffer; NULL on failure. */
static char *slurp(size_t *len)
{
	size_t cap = 65536;
	char *p = malloc(cap);
	size_t n;
	*len = 0;
	while (p && (n = fread(p + *len, 1, cap - *len, stdin)) > 0) {
		*len += n;
		if (*len == cap) {
			char *g = realloc(p, cap *= 2);
			if (!g)
				free(p);
			p = g;
		}
	}
	return p;
}

/* Connects to the Unix socket at path; -1 on failure. */
static int connect_to(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads replies to stdout until `want` newlines came, the peer closed, or
 * nothing arrived for timeout_ms. Returns the number of lines. */
static size_t read_lines(int fd, size_t want, int timeout_ms)
{
	char buf[65536];
	size_t got = 0;
	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		for (ssize_t i = 0; i < n; i++)
			got += buf[i] == '\n';
	}
	return got;
}

int main(int argc, char **argv)
{
	size_t len, sent = 0, lines = 0;
	if (argc != 4) {
		fprintf(stderr, "usage: ctl_pipe PATH WAIT_MS TIMEOUT_MS < requests.jsonl\n");
		return 2;
	}
	char *req = slurp(&len);
	int fd = connect_to(argv[1]);
	if (!req || fd < 0) {
		fprintf(stderr, "ctl_pipe: cannot read stdin or connect to %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < len; i++)
		lines += req[i] == '\n';
	while (sent < len) {
		ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	struct timespec wait = {atoi(argv[2]) / 1000, (atoi(argv[2]) % 1000) * 1000000L};
	nanosleep(&wait, NULL);
	size_t got = read_lines(fd, lines, atoi(argv[3]));
	fflush(stdout);
	fprintf(stderr, "sent %zu answered %zu\n", lines, got);
	close(fd);
	free(req);
	return got == lines ? 0 : 1;
}
