/* libFuzzer target: the emulator's control socket, through the real Unix
 * socket path: accept, line splitting and over-long lines (emu_control.c),
 * JSON parsing, then every command with its argument checks
 * (emu_control_cmd.c: status, sessions, clients, drop/delay, send_alert,
 * close_session, forget_sessions, rotate_cookie_secret, stop_answering,
 * reload, subscribe, ...). Cookies are off so that a real ClientHello
 * (fuzz/corpus/handshake/client-hello, or FUZZ_CLIENT_HELLO) keeps a
 * session in handshake for the per-session commands to find. Each input is
 * sent as one line; the reply is read and dropped. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fz_emu.h"
#include "emu_demux.h"

static struct emu_server *g_srv;
static char g_dir[64], g_path[96];
static uint8_t g_hello[2048];
static size_t g_hello_len;
static int g_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads the seed ClientHello (fz_emu_split format: [a][port:2][len:2] data). */
static void load_hello(void)
{
	const char *path = getenv("FUZZ_CLIENT_HELLO");
	uint8_t buf[sizeof(g_hello) + 5];
	FILE *f = fopen(path ? path : "fuzz/corpus/handshake/client-hello", "rb");
	size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
	if (f)
		fclose(f);
	if (n < 6) {
		fprintf(stderr, "fuzz_control: no seed ClientHello (run from the repository)\n");
		abort();
	}
	g_hello_len = n - 5;
	memcpy(g_hello, buf + 5, g_hello_len);
}

/* Removes the socket and its folder when the fuzzer exits. */
static void cleanup(void)
{
	unlink(g_path);
	rmdir(g_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(g_dir, sizeof(g_dir), "/tmp/fuzz-control.XXXXXX");
	if (!mkdtemp(g_dir))
		abort();
	snprintf(g_path, sizeof(g_path), "%s/ctl.sock", g_dir);
	atexit(cleanup);
	load_hello();
	g_srv = fz_emu_start(0, 4, g_path);
	return 0;
}

/* A fresh control connection, accepted by the emulator. */
static void ctl_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (g_fd >= 0)
		close(g_fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", g_path);
	g_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (g_fd < 0 || connect(g_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	fz_emu_pump(g_srv, 0);
}

/* Reads what the emulator answered; 0 when the connection is closed. */
static int ctl_drain(void)
{
	char buf[65536];
	ssize_t n;
	while ((n = recv(g_fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		;
	return n == 0 || (n < 0 && errno != EAGAIN) ? 0 : 1;
}

/* Keeps a session in handshake for the per-session commands. */
static void keep_session(void)
{
	struct sockaddr_storage ss;
	socklen_t len = fz_emu_addr(3, 4000, &ss);
	if (g_srv->sessions.count == 0)
		emu_demux_dispatch(g_srv, g_hello, g_hello_len, (struct sockaddr *)&ss, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 60000)
		return 0;
	if (g_fd < 0)
		ctl_connect();
	keep_session();
	if (send(g_fd, data, size, MSG_NOSIGNAL) < 0 || send(g_fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		ctl_connect();
		return 0;
	}
	fz_emu_pump(g_srv, 0);
	if (!ctl_drain())
		g_fd = (close(g_fd), -1);
	/* Faults must not outlive the input that set them. */
	memset(g_srv->faults.drop, 0, sizeof(g_srv->faults.drop));
	memset(g_srv->faults.delay, 0, sizeof(g_srv->faults.delay));
	g_srv->faults.stopped = 0;
	return 0;
}
