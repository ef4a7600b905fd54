/* Shared helpers for the emulator's end-to-end tests (test_emu_cid.c,
 * test_emu_resume.c): the real server in a forked child on 127.0.0.1, a
 * real Mbed TLS DTLS client, and a minimal CoAP request writer/reader. */
#ifndef TEST_EMU_DTLS_H
#define TEST_EMU_DTLS_H
#include <arpa/inet.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <poll.h>
#include <psa/crypto.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/lh_event.h"
#include "common/lh_time.h"
#include "server/emu_server.h"

#define WAIT_MS 5000

struct client {
	int fd;
	uint8_t last_out[2048];
	size_t last_out_len;
	int64_t t_int, t_fin;
};

static char events_path[64];
static pid_t server_pid;
/* The control socket of tests that give the server one (cfg->control). */
static char test_ctl_path[64];

/* Runs the emulator in this (child) process until SIGTERM. */
/* Lets a test change the config before the server starts. */
typedef void (*test_emu_tweak_fn)(struct emu_config *cfg);

static inline void run_server(test_emu_tweak_fn tweak)
{
	struct emu_config cfg;
	struct emu_server srv;
	char err[256];
	FILE *ev = fopen(events_path, "w");
	emu_config_defaults(&cfg);
	snprintf(cfg.bind, sizeof(cfg.bind), "127.0.0.1");
	cfg.coap_port = EMU_PORT_OFF;
	cfg.tls_port = EMU_PORT_OFF;
	cfg.dtls_port = 0;
	if (tweak)
		tweak(&cfg);
	if (!ev ||
	    emu_config_add_psk_text(&cfg, "cid-dev:00112233445566778899aabbccddeeff", err,
				    sizeof(err)) < 0 ||
	    emu_config_finish(&cfg, err, sizeof(err)) < 0)
		_exit(3);
	lh_event_init(ev, "emulator", NULL, NULL);
	int rc = emu_server_init(&srv, &cfg) == 0 && emu_server_run(&srv) == 0 ? 0 : 1;
	emu_server_fini(&srv);
	_exit(rc);
}

/* Waits until the events file has a line containing needle (count times). */
static inline int events_have(const char *needle, int count)
{
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	while (lh_time_mono_ms() < end) {
		char line[4096];
		int seen = 0;
		FILE *f = fopen(events_path, "r");
		while (f && fgets(line, sizeof(line), f))
			seen += strstr(line, needle) != NULL;
		if (f)
			fclose(f);
		if (seen >= count)
			return seen;
		usleep(20000);
	}
	return 0;
}

/* The port of proto ("dtls", "coap", "tls") from the listening event. */
static inline int server_port_of(const char *proto)
{
	char line[4096], needle[64];
	int port = -1;
	snprintf(needle, sizeof(needle), "\"proto\":\"%s\"", proto);
	assert_true(events_have(needle, 1));
	FILE *f = fopen(events_path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "\"addr\":\"127.0.0.1:");
		if (p && strstr(line, needle) && strstr(line, "\"listening\""))
			port = atoi(p + strlen("\"addr\":\"127.0.0.1:"));
	}
	fclose(f);
	return port;
}

/* The DTLS port from the listening event. */
/* A test that failed half-way left its server running (holding the control
 * socket and port the next test needs): ends it, so one failure stays one.
 * For a cmocka teardown. */
static inline void test_server_reap(void)
{
	int status;
	if (server_pid > 0 && waitpid(server_pid, &status, WNOHANG) == 0) {
		kill(server_pid, SIGKILL);
		waitpid(server_pid, &status, 0);
	}
}

static inline int server_port(void)
{
	return server_port_of("dtls");
}

/* Sends one request line to the control socket (test_ctl_path) and returns
 * the reply line in reply. */
static inline void test_control(const char *line, char *reply, size_t size)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	size_t n = 0;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", test_ctl_path);
	assert_true(fd >= 0);
	assert_true(events_have("\"event\":\"control_ready\"", 1));
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, line, strlen(line), 0), (ssize_t)strlen(line));
	while (n + 1 < size && (n == 0 || reply[n - 1] != '\n')) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, WAIT_MS), 1);
		ssize_t r = recv(fd, reply + n, size - n - 1, 0);
		assert_true(r > 0);
		n += (size_t)r;
	}
	reply[n] = '\0';
	close(fd);
}

/* test_control for a command that must succeed. */
static inline void test_control_ok(const char *line)
{
	char reply[2048];
	test_control(line, reply, sizeof(reply));
	if (!strstr(reply, "\"ok\":true"))
		fail_msg("control %s -> %s", line, reply);
}

/* A UDP socket on a fresh ephemeral port, connected to the server. */
static inline int new_socket(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Client bio: remembers the last datagram so the test can replay it. */
static inline int c_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct client *c = ctx;
	if (len <= sizeof(c->last_out)) {
		memcpy(c->last_out, buf, len);
		c->last_out_len = len;
	}
	return (int)send(c->fd, buf, len, 0);
}

/* Client bio receive with a bounded wait. */
static inline int c_recv(void *ctx, unsigned char *buf, size_t len, uint32_t timeout)
{
	struct client *c = ctx;
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, timeout ? (int)timeout : 1000) <= 0)
		return MBEDTLS_ERR_SSL_TIMEOUT;
	ssize_t n = recv(c->fd, buf, len, 0);
	return n < 0 ? MBEDTLS_ERR_SSL_INTERNAL_ERROR : (int)n;
}

/* Timer callbacks for the client (Mbed TLS needs them for DTLS). */
static inline void c_set_timer(void *ctx, uint32_t int_ms, uint32_t fin_ms)
{
	struct client *c = ctx;
	int64_t now = lh_time_mono_ms();
	c->t_int = fin_ms ? now + int_ms : 0;
	c->t_fin = fin_ms ? now + fin_ms : 0;
}
static inline int c_get_timer(void *ctx)
{
	struct client *c = ctx;
	int64_t now = lh_time_mono_ms();
	if (!c->t_fin)
		return -1;
	return now >= c->t_fin ? 2 : now >= c->t_int ? 1 : 0;
}

/* Sends a CoAP CON request and returns the response code byte. Location
 * options (8) of the answer are joined into loc ("rd/abc"). */
static inline int coap_request(mbedtls_ssl_context *ssl, uint8_t code, const char *path,
			       const char *query, char *loc, size_t loc_size)
{
	static uint16_t mid = 0x100;
	uint8_t req[256], resp[512];
	size_t n = 0;
	mid++;
	req[n++] = 0x41; /* ver 1, CON, TKL 1 */
	req[n++] = code;
	req[n++] = (uint8_t)(mid >> 8);
	req[n++] = (uint8_t)mid;
	req[n++] = 0x5a;
	int last = 0;
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *seg = strtok(tmp, "/"); seg; seg = strtok(NULL, "/")) {
		size_t l = strlen(seg);
		req[n++] = (uint8_t)(((11 - last) << 4) | l);
		memcpy(req + n, seg, l);
		n += l;
		last = 11;
	}
	if (query) {
		size_t l = strlen(query);
		if (l < 13) {
			req[n++] = (uint8_t)(((15 - last) << 4) | l);
		} else {
			req[n++] = (uint8_t)(((15 - last) << 4) | 13);
			req[n++] = (uint8_t)(l - 13);
		}
		memcpy(req + n, query, l);
		n += l;
	}
	assert_int_equal(mbedtls_ssl_write(ssl, req, n), (int)n);
	int r = mbedtls_ssl_read(ssl, resp, sizeof(resp));
	if (r < 4)
		return -1;
	size_t i = 4 + (resp[0] & 0x0f), opt = 0;
	if (loc)
		loc[0] = '\0';
	while (i < (size_t)r && resp[i] != 0xff) {
		size_t delta = resp[i] >> 4, len = resp[i] & 0x0f;
		i++;
		opt += delta;
		if (opt == 8 && loc) {
			strncat(loc, loc[0] ? "/" : "", loc_size - strlen(loc) - 1);
			strncat(loc, (const char *)resp + i,
				len < loc_size - strlen(loc) - 1 ? len : 0);
		}
		i += len;
	}
	return resp[1];
}

/* Forks the server; the parent returns. */
static inline void start_server(test_emu_tweak_fn tweak)
{
	snprintf(events_path, sizeof(events_path), "/tmp/test_emu_e2e_XXXXXX");
	int fd = mkstemp(events_path);
	assert_true(fd >= 0);
	close(fd);
	server_pid = fork();
	assert_true(server_pid >= 0);
	if (server_pid == 0) {
		/* Never outlive the test, nor hold its output pipes: a failed
		 * assertion must not leave a server behind. */
		int devnull = open("/dev/null", O_RDWR);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1 || devnull < 0)
			_exit(4);
		if (!getenv("EMU_DEBUG")) {
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		close(devnull);
		alarm(120);
		run_server(tweak);
	}
}

/* SIGTERMs the server; 0 when it exited cleanly with status 0. */
static inline int stop_server(void)
{
	int status = -1;
	kill(server_pid, SIGTERM);
	waitpid(server_pid, &status, 0);
	/* TEST_EMU_KEEP_EVENTS=1 keeps the event logs for a post-mortem. */
	if (!getenv("TEST_EMU_KEEP_EVENTS"))
		unlink(events_path);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* A PSK DTLS client config for identity (with the key run_server adds). */
static inline void client_conf_id(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg,
				  const char *identity)
{
	static const unsigned char key[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					    0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
	assert_int_equal(mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT,
						     MBEDTLS_SSL_TRANSPORT_DATAGRAM,
						     MBEDTLS_SSL_PRESET_DEFAULT),
			 0);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, drbg);
	assert_int_equal(mbedtls_ssl_conf_psk(conf, key, sizeof(key),
					      (const unsigned char *)identity, strlen(identity)),
			 0);
	mbedtls_ssl_conf_read_timeout(conf, 2000);
	/* A PSK device offers PSK suites only; offering certificate suites too
	 * would let the server (which always has a certificate) pick one. */
	static const int psk_suites[] = {MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
					 MBEDTLS_TLS_PSK_WITH_AES_128_CCM_8, 0};
	mbedtls_ssl_conf_ciphersuites(conf, psk_suites);
}

/* The usual client: identity "cid-dev". */
static inline void client_conf(mbedtls_ssl_config *conf, mbedtls_ctr_drbg_context *drbg)
{
	client_conf_id(conf, drbg, "cid-dev");
}

/* The usual client's config with the randomness it needs, set up and torn
 * down in one call each. */
struct test_dtls_conf {
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config conf;
};

static inline void test_dtls_conf_init(struct test_dtls_conf *t)
{
	mbedtls_entropy_init(&t->ent);
	mbedtls_ctr_drbg_init(&t->drbg);
	mbedtls_ssl_config_init(&t->conf);
	assert_int_equal(mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->ent, NULL, 0),
			 0);
	client_conf(&t->conf, &t->drbg);
}

static inline void test_dtls_conf_free(struct test_dtls_conf *t)
{
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->ent);
}

/* Binds ssl to client c on a fresh socket and runs the handshake. */
static inline int client_handshake(mbedtls_ssl_context *ssl, struct client *c, int port)
{
	int ret;
	c->fd = new_socket(port);
	mbedtls_ssl_set_bio(ssl, c, c_send, NULL, c_recv);
	mbedtls_ssl_set_timer_cb(ssl, c, c_set_timer, c_get_timer);
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	while ((ret = mbedtls_ssl_handshake(ssl)) != 0 && lh_time_mono_ms() < end)
		if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_TIMEOUT)
			break;
	return ret;
}

#endif
