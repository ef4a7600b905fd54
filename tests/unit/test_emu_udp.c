/* Batched datagram I/O (server/emu_udp.c): one recvmmsg hands over every
 * datagram waiting from many peers, each with its own sender, an oversized
 * one reported as such; queued datagrams leave only at the flush, in
 * order, after the event log; and the real emulator, stopped while six
 * clients send their ClientHellos, reads them in one batch and completes
 * all six handshakes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <sys/stat.h>

#include "test_emu_dtls.h"
#include "server/emu_udp.h"

#define PEERS 8

/* A UDP socket on 127.0.0.1 at an ephemeral port; its address in sa. */
static int bound_socket(struct sockaddr_in *sa)
{
	socklen_t len = sizeof(*sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)sa, &len), 0);
	return fd;
}

struct seen {
	int count, oversized;
	uint16_t port[PEERS + 1];
	char text[PEERS + 1][16];
};

/* Records what emu_udp_read_batch handed over. */
static void record(struct emu_server *srv, void *ctx, const uint8_t *buf, size_t len, size_t cap,
		   const struct sockaddr *from, socklen_t from_len)
{
	struct seen *s = ctx;
	(void)srv;
	assert_int_equal(from_len, sizeof(struct sockaddr_in));
	assert_true(s->count <= PEERS);
	s->port[s->count] = ((const struct sockaddr_in *)from)->sin_port;
	if (len > cap)
		s->oversized++;
	else
		snprintf(s->text[s->count], sizeof(s->text[0]), "%.*s", (int)len,
			 (const char *)buf);
	s->count++;
}

static void one_read_many_peers(void **state)
{
	struct emu_server srv;
	struct sockaddr_in srv_sa, peer_sa[PEERS];
	static char big[20000];
	struct seen seen = {0};
	int peer[PEERS];
	(void)state;
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(emu_udp_init(&srv), 0);
	int fd = bound_socket(&srv_sa);
	for (int i = 0; i < PEERS; i++) {
		char text[24];
		peer[i] = bound_socket(&peer_sa[i]);
		snprintf(text, sizeof(text), "peer-%d", i);
		assert_int_equal(sendto(peer[i], text, strlen(text), 0, (struct sockaddr *)&srv_sa,
					sizeof(srv_sa)),
				 (ssize_t)strlen(text));
	}
	assert_int_equal(
	    sendto(peer[0], big, sizeof(big), 0, (struct sockaddr *)&srv_sa, sizeof(srv_sa)),
	    (ssize_t)sizeof(big));
	/* One call: every datagram, each with its own sender. */
	assert_int_equal(emu_udp_read_batch(&srv, fd, record, &seen), PEERS + 1);
	assert_int_equal(seen.count, PEERS + 1);
	for (int i = 0; i < PEERS; i++) {
		char text[24];
		snprintf(text, sizeof(text), "peer-%d", i);
		assert_int_equal(seen.port[i], peer_sa[i].sin_port);
		assert_string_equal(seen.text[i], text);
	}
	assert_int_equal(seen.oversized, 1);
	assert_int_equal(srv.stats.read_batch_max, PEERS + 1);
	assert_int_equal(emu_udp_read_batch(&srv, fd, record, &seen), 0);
	for (int i = 0; i < PEERS; i++)
		close(peer[i]);
	close(fd);
	emu_udp_fini(&srv);
}

/* The size of the events file on disk now. */
static off_t file_size(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

static void queue_sends_after_log(void **state)
{
	struct emu_server srv;
	struct sockaddr_in srv_sa, peer_sa[3];
	int peer[3];
	char path[] = "/tmp/test_emu_udp_ev_XXXXXX", buf[64];
	(void)state;
	int evfd = mkstemp(path);
	assert_true(evfd >= 0);
	FILE *ev = fdopen(evfd, "w");
	lh_event_init(ev, "emulator", NULL, NULL);
	lh_event_defer_flush(1);
	memset(&srv, 0, sizeof(srv));
	assert_int_equal(emu_udp_init(&srv), 0);
	int fd = bound_socket(&srv_sa);
	for (int i = 0; i < 3; i++)
		peer[i] = bound_socket(&peer_sa[i]);
	lh_event_emitf("test_marker", "{s:i}", "n", 1);
	for (int i = 0; i < 3; i++) {
		snprintf(buf, sizeof(buf), "d%d", i);
		assert_int_equal(emu_udp_send(&srv, fd, buf, 2, (struct sockaddr *)&peer_sa[i],
					      sizeof(peer_sa[i])),
				 0);
	}
	assert_int_equal(
	    emu_udp_send(&srv, fd, "d9", 2, (struct sockaddr *)&peer_sa[0], sizeof(peer_sa[0])), 0);
	/* Queued: nothing on the wire, nothing of the event on disk yet. */
	assert_int_equal(emu_udp_pending(&srv), 4);
	assert_int_equal(recv(peer[0], buf, sizeof(buf), MSG_DONTWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(file_size(path), 0);
	emu_udp_flush(&srv);
	assert_true(file_size(path) > 0); /* the log went first */
	assert_int_equal(emu_udp_pending(&srv), 0);
	for (int i = 0; i < 3; i++) {
		char want[3] = {'d', (char)('0' + i), 0};
		assert_int_equal(recv(peer[i], buf, sizeof(buf), 0), 2);
		buf[2] = '\0';
		assert_string_equal(buf, want);
	}
	assert_int_equal(recv(peer[0], buf, sizeof(buf), 0), 2); /* in order */
	assert_memory_equal(buf, "d9", 2);
	for (int i = 0; i < 3; i++)
		close(peer[i]);
	close(fd);
	emu_udp_fini(&srv);
	lh_event_defer_flush(0);
	lh_event_init(NULL, "emulator", NULL, NULL);
	fclose(ev);
	unlink(path);
}

/* Non-blocking client receive, so six clients are driven side by side. */
static int nb_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct client *c = ctx;
	ssize_t n = recv(c->fd, buf, len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? MBEDTLS_ERR_SSL_WANT_READ : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	return (int)n;
}

static void with_control(struct emu_config *cfg)
{
	cfg->control = strdup(test_ctl_path);
}

#define HS_CLIENTS 6

/* Steps every unfinished handshake once; returns how many are done. */
static int step_all(mbedtls_ssl_context *ssl, int *done)
{
	int n = 0;
	for (int i = 0; i < HS_CLIENTS; i++) {
		if (!done[i]) {
			int ret = mbedtls_ssl_handshake(&ssl[i]);
			if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
				assert_int_equal(ret, 0);
			done[i] = ret == 0;
		}
		n += done[i];
	}
	return n;
}

static void server_batch_of_client_hellos(void **state)
{
	struct test_dtls_conf t;
	mbedtls_ssl_context ssl[HS_CLIENTS];
	struct client c[HS_CLIENTS];
	int done[HS_CLIENTS] = {0};
	char reply[4096];
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_udp_%d.ctl", (int)getpid());
	start_server(with_control);
	int port = server_port();
	assert_true(port > 0);
	assert_true(events_have("\"event\":\"control_ready\"", 1));
	assert_int_equal(psa_crypto_init(), PSA_SUCCESS);
	test_dtls_conf_init(&t);
	kill(server_pid, SIGSTOP); /* every ClientHello waits in the socket */
	for (int i = 0; i < HS_CLIENTS; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].fd = new_socket(port);
		mbedtls_ssl_init(&ssl[i]);
		assert_int_equal(mbedtls_ssl_setup(&ssl[i], &t.conf), 0);
		mbedtls_ssl_set_bio(&ssl[i], &c[i], c_send, nb_recv, NULL);
		mbedtls_ssl_set_timer_cb(&ssl[i], &c[i], c_set_timer, c_get_timer);
		assert_int_equal(mbedtls_ssl_handshake(&ssl[i]), MBEDTLS_ERR_SSL_WANT_READ);
	}
	kill(server_pid, SIGCONT);
	int64_t end = lh_time_mono_ms() + WAIT_MS;
	while (step_all(ssl, done) < HS_CLIENTS && lh_time_mono_ms() < end)
		usleep(2000);
	assert_int_equal(step_all(ssl, done), HS_CLIENTS);
	assert_true(events_have("\"event\":\"handshake_done\"", HS_CLIENTS));
	test_control("{\"cmd\":\"status\"}\n", reply, sizeof(reply));
	const char *p = strstr(reply, "\"read_batch_max\":");
	assert_non_null(p);
	assert_true(atoi(p + strlen("\"read_batch_max\":")) >= HS_CLIENTS);
	for (int i = 0; i < HS_CLIENTS; i++) {
		mbedtls_ssl_close_notify(&ssl[i]);
		mbedtls_ssl_free(&ssl[i]);
		close(c[i].fd);
	}
	test_dtls_conf_free(&t);
	assert_int_equal(stop_server(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(one_read_many_peers),
	    cmocka_unit_test(queue_sends_after_log),
	    cmocka_unit_test(server_batch_of_client_hellos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
