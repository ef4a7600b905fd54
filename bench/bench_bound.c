/* bench_bound: the in-memory lower bound of a DTLS handshake with Mbed TLS.
 * A client and a server in one thread exchange datagrams through memory
 * queues, no sockets and no loss, with the same client configuration as
 * bench_load and a server configured like the emulator (HelloVerifyRequest
 * cookies on). The server's CPU time per handshake is what no server on this
 * Mbed TLS can beat; bench/run-bench.sh sets the emulator beside it. */
#include "bl_tls.h"

#include <getopt.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl_cookie.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Under valgrind --tool=callgrind --collect-atstart=no, only the server's
 * sections are counted (bench/run-bench.sh's instruction rows); elsewhere
 * the toggle is a no-op of a few instructions. */
#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#endif
#endif
#ifndef CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_TOGGLE_COLLECT
#endif

#define QUEUE_SLOTS 16
#define DGRAM_MAX 17408
#define BATCHES 5 /* a whole flight fits in one datagram without an MTU */

/* One direction of the wire: a FIFO of datagrams. */
struct queue {
	unsigned char (*data)[DGRAM_MAX];
	size_t len[QUEUE_SLOTS];
	unsigned head, count;
};

/* One side's view of the wire: where it sends, where it receives. */
struct end {
	struct queue *tx, *rx;
};

struct bound {
	struct bl_tls cli;
	mbedtls_ssl_config srv_conf;
	mbedtls_ssl_cookie_ctx cookies;
	mbedtls_x509_crt srv_crt;
	mbedtls_pk_context srv_key;
	struct queue to_srv, to_cli;
	struct end cli_end, srv_end;
	int64_t srv_ns, cli_ns;
	int64_t srv_t0; /* start of the server section being timed */
};

/* Thread CPU time: each side is charged only for its own steps. */
static int64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* BIO send: a full queue drops the datagram, as a network would. */
static int q_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct queue *q = ((struct end *)ctx)->tx;
	if (len > DGRAM_MAX)
		return MBEDTLS_ERR_SSL_BAD_INPUT_DATA;
	if (q->count < QUEUE_SLOTS) {
		unsigned slot = (q->head + q->count++) % QUEUE_SLOTS;
		memcpy(q->data[slot], buf, len);
		q->len[slot] = len;
	}
	return (int)len;
}

/* BIO recv: one whole datagram, as recv(2) on a UDP socket gives it. */
static int q_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct queue *q = ((struct end *)ctx)->rx;
	size_t n;
	if (q->count == 0)
		return MBEDTLS_ERR_SSL_WANT_READ;
	n = q->len[q->head] < len ? q->len[q->head] : len;
	memcpy(buf, q->data[q->head], n);
	q->head = (q->head + 1) % QUEUE_SLOTS;
	q->count--;
	return (int)n;
}

/* The server side: PSK (the emulator's default) or the test PKI's
 * localhost certificate, cookies as the emulator has them by default. */
static int server_init(struct bound *b, enum bl_auth auth, const char *certs)
{
	char crt[512], key[512];
	int ret;
	mbedtls_ssl_config_init(&b->srv_conf);
	mbedtls_ssl_cookie_init(&b->cookies);
	mbedtls_x509_crt_init(&b->srv_crt);
	mbedtls_pk_init(&b->srv_key);
	ret =
	    mbedtls_ssl_config_defaults(&b->srv_conf, MBEDTLS_SSL_IS_SERVER,
					MBEDTLS_SSL_TRANSPORT_DATAGRAM, MBEDTLS_SSL_PRESET_DEFAULT);
	if (ret == 0)
		ret = mbedtls_ssl_cookie_setup(&b->cookies, mbedtls_ctr_drbg_random, &b->cli.drbg);
	if (ret != 0)
		return ret;
	mbedtls_ssl_conf_rng(&b->srv_conf, mbedtls_ctr_drbg_random, &b->cli.drbg);
	mbedtls_ssl_conf_dtls_cookies(&b->srv_conf, mbedtls_ssl_cookie_write,
				      mbedtls_ssl_cookie_check, &b->cookies);
	if (auth == BL_AUTH_PSK)
		return mbedtls_ssl_conf_psk(&b->srv_conf, b->cli.psk, b->cli.psk_len,
					    (const unsigned char *)BL_PSK_IDENTITY,
					    strlen(BL_PSK_IDENTITY));
	snprintf(crt, sizeof(crt), "%s/server/localhost.chain.pem", certs);
	snprintf(key, sizeof(key), "%s/server/localhost.key", certs);
	ret = mbedtls_x509_crt_parse_file(&b->srv_crt, crt);
	if (ret == 0)
		ret = mbedtls_pk_parse_keyfile(&b->srv_key, key, NULL, mbedtls_ctr_drbg_random,
					       &b->cli.drbg);
	if (ret == 0)
		ret = mbedtls_ssl_conf_own_cert(&b->srv_conf, &b->srv_crt, &b->srv_key);
	return ret;
}

/* A section of the server's work begins: its CPU time is charged to the
 * server, and under callgrind its instructions are counted. */
static void srv_enter(struct bound *b)
{
	CALLGRIND_TOGGLE_COLLECT;
	b->srv_t0 = thread_ns();
}

/* The section srv_enter began ends. */
static void srv_leave(struct bound *b)
{
	b->srv_ns += thread_ns() - b->srv_t0;
	CALLGRIND_TOGGLE_COLLECT;
}

/* Steps the client and adds the CPU it took to its account. */
static int client_step(struct bound *b, mbedtls_ssl_context *cli)
{
	int64_t t0 = thread_ns();
	int ret = mbedtls_ssl_handshake(cli);
	b->cli_ns += thread_ns() - t0;
	return ret;
}

/* Mbed TLS waits for the peer: not an error. */
static int want(int ret)
{
	return ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE;
}

/* The server's part of one step; the cookie exchange restarts its context,
 * as a real server does after a HelloVerifyRequest. */
static int server_step(struct bound *b, mbedtls_ssl_context *srv, int *done)
{
	static const unsigned char peer[] = {127, 1, 0, 1, 0x30, 0x39};
	int ret;
	srv_enter(b);
	ret = mbedtls_ssl_handshake(srv);
	if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
		mbedtls_ssl_session_reset(srv);
		ret = mbedtls_ssl_set_client_transport_id(srv, peer, sizeof(peer));
		srv_leave(b);
		return ret;
	}
	srv_leave(b);
	*done = ret == 0;
	return want(ret) ? 0 : ret;
}

/* Server context creation, as a server does per new peer: part of its cost. */
static int server_new(struct bound *b, mbedtls_ssl_context *srv, struct bl_timer *timer)
{
	static const unsigned char peer[] = {127, 1, 0, 1, 0x30, 0x39};
	int ret;
	srv_enter(b);
	mbedtls_ssl_init(srv);
	ret = mbedtls_ssl_setup(srv, &b->srv_conf);
	if (ret == 0)
		ret = mbedtls_ssl_set_client_transport_id(srv, peer, sizeof(peer));
	mbedtls_ssl_set_bio(srv, &b->srv_end, q_send, q_recv, NULL);
	mbedtls_ssl_set_timer_cb(srv, timer, bl_timer_set, bl_timer_get);
	srv_leave(b);
	return ret;
}

/* One full handshake; 0, or the Mbed TLS error of the side that failed. */
static int one_handshake(struct bound *b)
{
	mbedtls_ssl_context cli, srv;
	struct bl_timer ct = {0}, st = {0};
	int ret, cli_done = 0, srv_done = 0, rounds = 0;
	int64_t t0 = thread_ns();
	b->to_srv.count = b->to_cli.count = 0;
	ret = bl_tls_client_setup(&b->cli, &cli, &ct);
	mbedtls_ssl_set_bio(&cli, &b->cli_end, q_send, q_recv, NULL);
	b->cli_ns += thread_ns() - t0;
	if (ret == 0)
		ret = server_new(b, &srv, &st);
	/* Each round moves at least one flight; 64 is far more than DTLS needs. */
	while (ret == 0 && !(cli_done && srv_done) && rounds++ < 64) {
		if (!cli_done) {
			ret = client_step(b, &cli);
			cli_done = ret == 0;
			ret = want(ret) ? 0 : ret;
		}
		if (ret == 0 && !srv_done)
			ret = server_step(b, &srv, &srv_done);
	}
	if (ret == 0 && !(cli_done && srv_done))
		ret = MBEDTLS_ERR_SSL_TIMEOUT;
	srv_enter(b);
	mbedtls_ssl_free(&srv);
	srv_leave(b);
	mbedtls_ssl_free(&cli);
	return ret;
}

/* Help text; also printed after a bad option. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_bound [--auth psk|ecdhe] [--count N] [--certs DIR]\n"
		"  --auth     psk (default) or ecdhe (ECDHE-ECDSA, P-256, test PKI)\n"
		"  --count N  handshakes to run (default 500)\n"
		"  --certs    the test PKI (default build/certs; 'make certs')\n"
		"Prints: result mode=bound auth=A handshakes=N server_cpu_us_per_op=X\n"
		"        client_cpu_us_per_op=Y cheapest_server_cpu_us_per_op=Z\n"
		"        (X, Y: means over all handshakes; Z: the cheapest of %d batches)\n"
		"Under valgrind --tool=callgrind --collect-atstart=no only the server's\n"
		"work is counted: its instructions per handshake.\n",
		BATCHES);
}

struct opts {
	enum bl_auth auth;
	long count;
	const char *certs;
};

/* Options into o: -1 to run, else the exit status (help or error). */
static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"auth", 1, 0, 'a'},
					   {"count", 1, 0, 'n'},
					   {"certs", 1, 0, 'c'},
					   {"help", 0, 0, 'h'},
					   {0, 0, 0, 0}};
	int opt;
	char *end;
	while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (opt == 'a' && (strcmp(optarg, "psk") == 0 || strcmp(optarg, "ecdhe") == 0)) {
			o->auth = optarg[0] == 'p' ? BL_AUTH_PSK : BL_AUTH_ECDHE;
		} else if (opt == 'n') {
			o->count = strtol(optarg, &end, 10);
			if (*end || end == optarg || o->count < 1 || o->count > 10000000) {
				fprintf(stderr, "bench_bound: --count '%s': want 1..10000000\n",
					optarg);
				return 2;
			}
		} else if (opt == 'c') {
			o->certs = optarg;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else {
			if (opt == 'a')
				fprintf(stderr, "bench_bound: --auth '%s': want psk or ecdhe\n",
					optarg);
			usage(stderr);
			return 2;
		}
	}
	return optind < argc ? (usage(stderr), 2) : -1;
}

/* Client setup shared with bench_load, then the server beside it. */
static int bound_init(struct bound *b, const struct opts *o)
{
	char ca[512];
	struct bl_tls_opts t = {.auth = o->auth,
				.psk_identity = BL_PSK_IDENTITY,
				.psk_key_hex = BL_PSK_KEY_HEX,
				.ca_file = ca,
				.hostname = NULL};
	int ret;
	snprintf(ca, sizeof(ca), "%s/ca/bundle.pem", o->certs);
	if (o->auth == BL_AUTH_ECDHE)
		t.hostname = "localhost";
	b->to_srv.data = malloc(QUEUE_SLOTS * sizeof(*b->to_srv.data));
	b->to_cli.data = malloc(QUEUE_SLOTS * sizeof(*b->to_cli.data));
	b->cli_end = (struct end){.tx = &b->to_srv, .rx = &b->to_cli};
	b->srv_end = (struct end){.tx = &b->to_cli, .rx = &b->to_srv};
	if (!b->to_srv.data || !b->to_cli.data || bl_rng_init(&b->cli, "bench_bound") < 0 ||
	    bl_tls_client_init(&b->cli, &t) < 0)
		return -1;
	ret = server_init(b, o->auth, o->certs);
	if (ret != 0) {
		char e[160];
		fprintf(stderr,
			"bench_bound: server setup (certificates in %s; 'make certs'): %s\n",
			o->certs, bl_tls_strerror(ret, e, sizeof(e)));
		return -1;
	}
	return 0;
}

/* Frees what bound_init set up (safe on a partial setup). */
static void bound_free(struct bound *b)
{
	mbedtls_ssl_config_free(&b->srv_conf);
	mbedtls_ssl_cookie_free(&b->cookies);
	mbedtls_x509_crt_free(&b->srv_crt);
	mbedtls_pk_free(&b->srv_key);
	bl_tls_free(&b->cli);
	free(b->to_srv.data);
	free(b->to_cli.data);
}

/* What measure found, per handshake. */
struct bound_result {
	double srv_us, cli_us;	/* over all handshakes: as bench_load's round mean */
	double srv_cheapest_us; /* the cheapest batch: the floor under host noise */
};

/* Runs count handshakes in BATCHES batches. The mean over all of them is
 * what the emulator's round is set beside (bench_load's figure is a round's
 * mean, host noise included); the cheapest batch's is printed too: other
 * work on a shared machine only ever adds to a batch's time. Returns 0 or
 * the Mbed TLS error. */
static int measure(struct bound *b, long count, struct bound_result *r)
{
	long per = count / BATCHES > 0 ? count / BATCHES : 1, done = 0;
	int64_t srv_all = 0, cli_all = 0;
	int ret = 0;
	r->srv_cheapest_us = -1;
	while (done < count && ret == 0) {
		long n = count - done < per ? count - done : per, i;
		b->srv_ns = b->cli_ns = 0;
		for (i = 0; i < n && ret == 0; i++)
			ret = one_handshake(b);
		done += n;
		srv_all += b->srv_ns;
		cli_all += b->cli_ns;
		if (r->srv_cheapest_us < 0 || (double)b->srv_ns / 1e3 / n < r->srv_cheapest_us)
			r->srv_cheapest_us = (double)b->srv_ns / 1e3 / n;
	}
	r->srv_us = (double)srv_all / 1e3 / count;
	r->cli_us = (double)cli_all / 1e3 / count;
	return ret;
}

/* Runs the handshakes and prints one result line. */
int main(int argc, char **argv)
{
	struct opts o = {.auth = BL_AUTH_PSK, .count = 500, .certs = "build/certs"};
	struct bound b;
	int status = parse(argc, argv, &o), ret;
	struct bound_result r;
	char e[160];
	if (status >= 0)
		return status;
	memset(&b, 0, sizeof(b));
	status = 2;
	if (bound_init(&b, &o) < 0)
		goto exit;
	ret = measure(&b, o.count, &r);
	if (ret != 0) {
		fprintf(stderr, "bench_bound: a handshake failed: %s\n",
			bl_tls_strerror(ret, e, sizeof(e)));
		status = 1;
		goto exit;
	}
	printf("result mode=bound auth=%s handshakes=%ld server_cpu_us_per_op=%.1f "
	       "client_cpu_us_per_op=%.1f cheapest_server_cpu_us_per_op=%.1f\n",
	       o.auth == BL_AUTH_PSK ? "psk" : "ecdhe", o.count, r.srv_us, r.cli_us,
	       r.srv_cheapest_us);
	status = 0;
exit:
	bound_free(&b);
	return status;
}
