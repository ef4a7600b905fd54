/* bench_load: N DTLS clients in one process, one epoll loop, against a
 * CoAP-over-DTLS server on loopback (lwm2m-emulator, coap-server-openssl).
 * Modes: full handshakes as fast as they go; Updates through established
 * (CID) sessions with p50/p99; N idle registered sessions with the server's
 * RSS and fd count. Prints "result key=value ..." lines; never judges speed.
 * See bench/README.md. */
#include "bl_client.h"
#include "bl_ivl.h"
#include "bl_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_US 50000	   /* how often timers are scanned */
#define SETUP_IN_FLIGHT 64 /* handshakes + Registers at once while setting up */
#define MAX_CHECKPOINTS 8
#define STALL_US 20000000	   /* > Mbed TLS's 15 s to give up a handshake */
#define LAT_SAMPLES_MAX (8u << 20) /* latency samples kept for percentiles */
#define PACE_EVENTS 32		   /* updates --rate: answers read between two pace() */
#define DRAIN_US 2000000	   /* handshakes: in-flight ones finish within this */
#define CLOSE_SETTLE_US 20000	   /* handshakes: the server reads the last close_notify */

struct run_opts {
	pid_t server_pid;
	uint32_t checkpoints[MAX_CHECKPOINTS];
	unsigned n_checkpoints;
	double hold_s;
	double settle_s;       /* idle: wait this long before the final measure */
	uint32_t intervals_ms; /* updates: one "interval" line per this many ms */
};

/* Help text: every option with its default. */
static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench_load --mode handshakes|updates|idle --port P [options]\n"
		"       bench_load --fd-count PID\n"
		"  --server ADDR       server IPv4 address on 127.0.0.0/8 (default 127.0.0.1)\n"
		"  --port P            server DTLS port (required)\n"
		"  --clients N         handshakes: concurrent handshakes; updates, idle: sessions\n"
		"                      (default 16 / 2000 / 1000)\n"
		"  --duration S        measured phase of handshakes and updates (default 5)\n"
		"  --setup-timeout S   updates, idle: time to establish all sessions (default 60)\n"
		"  --auth psk|ecdhe    default psk\n"
		"  --psk ID:HEX        default lwm2m-emulator:" BL_PSK_KEY_HEX "\n"
		"  --ca FILE           ecdhe: PEM trust for the server (default "
		"build/certs/ca/bundle.pem)\n"
		"  --hostname NAME     ecdhe: name in the server certificate (default localhost)\n"
		"  --suite NAME        Mbed TLS suite (default "
		"TLS-PSK-/TLS-ECDHE-ECDSA-WITH-AES-128-CCM-8)\n"
		"  --cid               offer DTLS Connection ID (RFC 9146)\n"
		"  --no-verify         ecdhe: do not check the server's chain (saves client CPU)\n"
		"  --any-code          accept any CoAP answer (a peer that is no LwM2M server)\n"
		"  --server-pid PID    read the server's CPU, RSS and fds from /proc/PID\n"
		"  --checkpoint K      idle: also report RSS and fds at K sessions (repeatable)\n"
		"  --hold S            idle: keep the sessions S seconds after the report\n"
		"  --settle S          idle: wait S seconds once all are registered, then measure\n"
		"                      again (a server that hibernates idle sessions)\n"
		"  --park              idle: once registered, drop the client's socket and TLS\n"
		"                      context (the server keeps the session): N sessions\n"
		"                      without N fds here\n"
		"  --src ADDR          first client source address (default 127.1.0.1)\n"
		"  --per-addr K        clients per source address (default 20000)\n"
		"  --req-timeout MS    CoAP request timeout (default 5000)\n"
		"  --rate R            updates: R Updates/s in all, paced over the sessions\n"
		"                      (default: closed loop, each as soon as answered)\n"
		"  --intervals MS      updates: also print one \"interval\" line per MS ms\n"
		"                      (latency p50/p99/max, server and generator CPU and\n"
		"                      scheduling delay, UDP drops): where a tail comes from\n"
		"  --fd-count PID      print PID's open fd count and exit\n"
		"Exit status: 0 when nothing failed, 1 when some operation failed (the\n"
		"result is still printed), 2 on bad arguments or setup errors.\n");
}

/* strtoul/strtod with the whole argument checked: bad input is an error. */
static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bench_load: %s '%s': want an integer %u..%u\n", opt, s, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Seconds, fractional allowed, bounded so that a run always ends. */
static int parse_secs(const char *opt, const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= 0.0 && v <= 86400.0)) {
		fprintf(stderr, "bench_load: %s '%s': want seconds 0..86400\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Loopback only: this tool must never send a flood anywhere else. */
static int parse_loopback(const char *opt, const char *s, struct in_addr *a)
{
	if (inet_pton(AF_INET, s, a) != 1 || (ntohl(a->s_addr) >> 24) != 127) {
		fprintf(stderr, "bench_load: %s '%s': want a literal IPv4 address in 127.0.0.0/8\n",
			opt, s);
		return -1;
	}
	return 0;
}

/* The three modes by name; anything else is an error. */
static int parse_mode(const char *s, enum bl_mode *m)
{
	static const char *const names[] = {"handshakes", "updates", "idle"};
	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0) {
			*m = (enum bl_mode)i;
			return 0;
		}
	fprintf(stderr, "bench_load: --mode '%s': want handshakes, updates or idle\n", s);
	return -1;
}

/* ID:HEX into the TLS options (pointers into the argument itself). */
static int parse_psk(char *s, struct bl_tls_opts *t)
{
	char *colon = strchr(s, ':');
	unsigned char key[64];
	if (!colon || colon == s || bl_hex_decode(colon + 1, key, sizeof(key)) < 0) {
		fprintf(stderr, "bench_load: --psk '%s': want IDENTITY:HEXKEY\n", s);
		return -1;
	}
	*colon = '\0';
	t->psk_identity = s;
	t->psk_key_hex = colon + 1;
	return 0;
}

/* --fd-count PID: the helper a test uses to compare fds at two loads. */
static int fd_count_main(const char *arg)
{
	uint32_t pid;
	long n;
	if (parse_u32("--fd-count", arg, 1, 4194304, &pid) < 0)
		return 2;
	n = bl_proc_fd_count((pid_t)pid);
	if (n < 0) {
		fprintf(stderr, "bench_load: cannot read /proc/%u/fd: %s\n", pid, strerror(errno));
		return 2;
	}
	printf("%ld\n", n);
	return 0;
}

enum {
	OPT_MODE = 256,
	OPT_SERVER,
	OPT_PORT,
	OPT_CLIENTS,
	OPT_DURATION,
	OPT_SETUP,
	OPT_AUTH,
	OPT_PSK,
	OPT_CA,
	OPT_HOSTNAME,
	OPT_SUITE,
	OPT_CID,
	OPT_NO_VERIFY,
	OPT_ANY,
	OPT_PID,
	OPT_CHECKPOINT,
	OPT_HOLD,
	OPT_SETTLE,
	OPT_PARK,
	OPT_SRC,
	OPT_PER_ADDR,
	OPT_REQ_TIMEOUT,
	OPT_RATE,
	OPT_INTERVALS,
	OPT_FD_COUNT,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"mode", 1, 0, OPT_MODE},
    {"server", 1, 0, OPT_SERVER},
    {"port", 1, 0, OPT_PORT},
    {"clients", 1, 0, OPT_CLIENTS},
    {"duration", 1, 0, OPT_DURATION},
    {"setup-timeout", 1, 0, OPT_SETUP},
    {"auth", 1, 0, OPT_AUTH},
    {"psk", 1, 0, OPT_PSK},
    {"ca", 1, 0, OPT_CA},
    {"hostname", 1, 0, OPT_HOSTNAME},
    {"suite", 1, 0, OPT_SUITE},
    {"cid", 0, 0, OPT_CID},
    {"no-verify", 0, 0, OPT_NO_VERIFY},
    {"any-code", 0, 0, OPT_ANY},
    {"server-pid", 1, 0, OPT_PID},
    {"checkpoint", 1, 0, OPT_CHECKPOINT},
    {"hold", 1, 0, OPT_HOLD},
    {"settle", 1, 0, OPT_SETTLE},
    {"park", 0, 0, OPT_PARK},
    {"src", 1, 0, OPT_SRC},
    {"per-addr", 1, 0, OPT_PER_ADDR},
    {"req-timeout", 1, 0, OPT_REQ_TIMEOUT},
    {"rate", 1, 0, OPT_RATE},
    {"intervals", 1, 0, OPT_INTERVALS},
    {"fd-count", 1, 0, OPT_FD_COUNT},
    {"help", 0, 0, OPT_HELP},
    {0, 0, 0, 0},
};

struct args {
	struct bl_bench *b;
	struct bl_tls_opts *t;
	struct run_opts *r;
	uint32_t port;
	int have_mode, have_clients;
};

/* Options about the run itself (what and how long). */
static int parse_run_opt(struct args *a, int opt, char *arg)
{
	uint32_t v, pid;
	switch (opt) {
	case OPT_MODE:
		a->have_mode = 1;
		return parse_mode(arg, &a->b->mode);
	case OPT_CLIENTS:
		a->have_clients = 1;
		return parse_u32("--clients", arg, 1, 1000000, &a->b->n);
	case OPT_DURATION:
		return parse_secs("--duration", arg, &a->b->duration_s);
	case OPT_SETUP:
		return parse_secs("--setup-timeout", arg, &a->b->setup_s);
	case OPT_PID:
		if (parse_u32("--server-pid", arg, 1, 4194304, &pid) < 0)
			return -1;
		a->r->server_pid = (pid_t)pid;
		return 0;
	case OPT_CHECKPOINT:
		if (a->r->n_checkpoints == MAX_CHECKPOINTS) {
			fprintf(stderr, "bench_load: at most %d --checkpoint\n", MAX_CHECKPOINTS);
			return -1;
		}
		if (parse_u32("--checkpoint", arg, 1, 1000000, &v) < 0)
			return -1;
		a->r->checkpoints[a->r->n_checkpoints++] = v;
		return 0;
	case OPT_HOLD:
		return parse_secs("--hold", arg, &a->r->hold_s);
	case OPT_SETTLE:
		return parse_secs("--settle", arg, &a->r->settle_s);
	case OPT_PARK:
		a->b->park = 1;
		return 0;
	case OPT_REQ_TIMEOUT:
		return parse_u32("--req-timeout", arg, 1, 600000, &a->b->req_timeout_ms);
	case OPT_RATE:
		if (parse_u32("--rate", arg, 1, 10000000, &v) < 0)
			return -1;
		a->b->rate = v;
		return 0;
	case OPT_INTERVALS:
		return parse_u32("--intervals", arg, 10, 60000, &a->r->intervals_ms);
	}
	return 1;
}

/* Options about where and how to connect. */
static int parse_net_opt(struct args *a, int opt, char *arg)
{
	switch (opt) {
	case OPT_SERVER:
		return parse_loopback("--server", arg, &a->b->server.sin_addr);
	case OPT_PORT:
		return parse_u32("--port", arg, 1, 65535, &a->port);
	case OPT_AUTH:
		if (strcmp(arg, "psk") != 0 && strcmp(arg, "ecdhe") != 0) {
			fprintf(stderr, "bench_load: --auth '%s': want psk or ecdhe\n", arg);
			return -1;
		}
		a->t->auth = arg[0] == 'p' ? BL_AUTH_PSK : BL_AUTH_ECDHE;
		return 0;
	case OPT_PSK:
		return parse_psk(arg, a->t);
	case OPT_CA:
		a->t->ca_file = arg;
		return 0;
	case OPT_HOSTNAME:
		a->t->hostname = arg;
		return 0;
	case OPT_SUITE:
		a->t->suite = arg;
		return 0;
	case OPT_CID:
		a->t->cid = 1;
		return 0;
	case OPT_NO_VERIFY:
		a->t->no_verify = 1;
		return 0;
	case OPT_ANY:
		a->b->any_code = 1;
		return 0;
	case OPT_SRC:
		return parse_loopback("--src", arg, &a->b->src_base);
	case OPT_PER_ADDR:
		return parse_u32("--per-addr", arg, 1, 28000, &a->b->per_addr);
	}
	return 1;
}

/* Defaults that depend on the mode, and the checks across options. */
static int finish_args(struct args *a)
{
	static const uint32_t default_n[] = {16, 2000, 1000};
	if (!a->have_mode || !a->port) {
		fprintf(stderr, "bench_load: --mode and --port are required (--help)\n");
		return -1;
	}
	if (!a->have_clients)
		a->b->n = default_n[a->b->mode];
	if (a->b->park && a->b->mode != BL_MODE_IDLE) {
		fprintf(stderr, "bench_load: --park applies to --mode idle only\n");
		return -1;
	}
	if (a->r->intervals_ms && a->b->mode != BL_MODE_UPDATES) {
		fprintf(stderr, "bench_load: --intervals applies to --mode updates only\n");
		return -1;
	}
	if ((uint64_t)a->b->n > (uint64_t)a->b->per_addr * 250) {
		fprintf(stderr,
			"bench_load: %u clients need more than 250 source addresses; "
			"raise --per-addr\n",
			a->b->n);
		return -1;
	}
	a->b->server.sin_port = htons((uint16_t)a->port);
	if (a->t->auth == BL_AUTH_PSK)
		a->t->hostname = NULL;
	return 0;
}

/* 0 to run, 1 when done already (--help, --fd-count: *status set), -1 on error. */
static int parse_args(int argc, char **argv, struct args *a, int *status)
{
	int opt, ret;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout);
			*status = 0;
			return 1;
		}
		if (opt == OPT_FD_COUNT) {
			*status = fd_count_main(optarg);
			return 1;
		}
		if (opt == '?')
			return -1;
		ret = parse_run_opt(a, opt, optarg);
		if (ret > 0)
			ret = parse_net_opt(a, opt, optarg);
		if (ret != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "bench_load: unexpected argument '%s' (--help)\n", argv[optind]);
		return -1;
	}
	return finish_args(a);
}

/* One fd per client plus a few: raise the soft limit, and the hard one when
 * allowed (root), or say what to do. */
static int raise_nofile(uint32_t n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n + 64;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	rl.rlim_cur = want;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr,
			"bench_load: %u clients need %llu file descriptors: %s; raise "
			"'ulimit -n' or use fewer --clients\n",
			n, (unsigned long long)want, strerror(errno));
		return -1;
	}
	return 0;
}

/* Everything a run needs before the first client: fds, TLS, clients. */
static int bench_init(struct bl_bench *b, const struct bl_tls_opts *t)
{
	if (raise_nofile(b->park ? SETUP_IN_FLIGHT * 2 : b->n) < 0 ||
	    bl_rng_init(&b->tls, "bench_load") < 0 || bl_tls_client_init(&b->tls, t) < 0)
		return -1;
	b->epfd = epoll_create1(EPOLL_CLOEXEC);
	b->clients = calloc(b->n, sizeof(*b->clients));
	if (b->epfd < 0 || !b->clients || bl_stats_init(&b->lat, LAT_SAMPLES_MAX) < 0 ||
	    bl_stats_init(&b->hs_lat, LAT_SAMPLES_MAX) < 0 ||
	    bl_stats_init(&b->lat_rx, b->mode == BL_MODE_UPDATES ? LAT_SAMPLES_MAX : 0) < 0) {
		fprintf(stderr, "bench_load: out of memory or fds for %u clients\n", b->n);
		return -1;
	}
	for (uint32_t i = 0; i < b->n; i++) {
		b->clients[i].fd = -1;
		b->clients[i].idx = i;
	}
	return 0;
}

/* Waits up to timeout_ms for datagrams (at most max_ev handled), then runs
 * the timers when due. */
static void poll_n(struct bl_bench *b, int timeout_ms, int64_t *next_tick, int max_ev)
{
	struct epoll_event ev[512];
	int64_t now;
	int n = epoll_wait(b->epfd, ev, max_ev < 512 ? max_ev : 512, timeout_ms);
	for (int i = 0; i < n; i++)
		bl_client_step(b, &b->clients[ev[i].data.u32]);
	now = bl_mono_us();
	if (now < *next_tick)
		return;
	*next_tick = now + TICK_US;
	for (uint32_t i = 0; i < b->n; i++)
		bl_client_tick(b, &b->clients[i], now);
}

/* poll_n with the most events a turn takes. */
static void poll_once(struct bl_bench *b, int timeout_ms, int64_t *next_tick)
{
	poll_n(b, timeout_ms, next_tick, 512);
}

/* Ends every client, close_notify for the established ones, so a
 * server that lives on (the smoke test) frees its sessions. */
static void close_all(struct bl_bench *b)
{
	b->running = 0;
	for (uint32_t i = 0; b->clients && i < b->n; i++)
		if (b->clients[i].state != BL_FREE)
			bl_client_close(b, &b->clients[i], 1);
}

/* Every failed operation of the run, whatever the phase. */
static uint64_t errors(const struct bl_bench *b)
{
	return b->c.hs_err + b->c.reg_err + b->c.upd_err + b->c.timeouts;
}

/* This process's CPU time in µs: near the wall time, the generator (not the
 * server) limits the rate, which the result line then shows. */
static int64_t self_cpu_us(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
	       ru.ru_stime.tv_usec;
}

/* Server CPU per operation in µs, or -1 without a PID or operations. */
static double cpu_per_op(int64_t cpu0, int64_t cpu1, uint64_t ops)
{
	if (cpu0 < 0 || cpu1 < 0 || ops == 0)
		return -1;
	return (double)(cpu1 - cpu0) / (double)ops;
}

/* The clocks around a measured phase: wall, the server's CPU, our own CPU. */
struct phase {
	int64_t t0, t1, cpu0, cpu1, self0, self1;
};

/* Reads the clocks in the order that keeps setup cost out of the phase. */
static void phase_begin(struct phase *p, const struct run_opts *r)
{
	p->cpu0 = r->server_pid ? bl_proc_cpu_us(r->server_pid) : -1;
	p->self0 = self_cpu_us();
	p->t0 = bl_mono_us();
}

/* The same clocks at the end of the phase. */
static void phase_end(struct phase *p, const struct run_opts *r)
{
	p->t1 = bl_mono_us();
	p->self1 = self_cpu_us();
	p->cpu1 = r->server_pid ? bl_proc_cpu_us(r->server_pid) : -1;
}

/* The keys every timed result shares, for ops operations in the phase. */
static void print_phase(const struct phase *p, uint64_t ops)
{
	double secs = (double)(p->t1 - p->t0) / 1e6, div = secs > 0 ? secs : 1;
	printf(" secs=%.3f rate=%.1f server_cpu_us_per_op=%.1f load_cpu_pct=%.0f\n", secs,
	       (double)ops / div, cpu_per_op(p->cpu0, p->cpu1, ops),
	       (double)(p->self1 - p->self0) / 1e4 / div);
}

/* Handshakes in flight (slots waiting out a backoff are not). */
static uint32_t in_flight(const struct bl_bench *b)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < b->n; i++)
		n += b->clients[i].state == BL_HANDSHAKE;
	return n;
}

/* The round's edge: no handshake starts after the deadline (running = 0),
 * those in flight finish and are counted, for DRAIN_US at most (a lost
 * flight waits for Mbed TLS's 1 s retransmission); so the server's CPU
 * read after it is for whole handshakes only, none charged but uncounted.
 * Returns the handshakes still unfinished then. */
static uint32_t drain(struct bl_bench *b, int64_t *next_tick)
{
	int64_t end = bl_mono_us() + DRAIN_US;
	uint32_t left;
	b->running = 0;
	while ((left = in_flight(b)) > 0 && bl_mono_us() < end)
		poll_once(b, 10, next_tick);
	return left;
}

/* Mode handshakes: --clients concurrent full handshakes for --duration,
 * then the drain (see drain()); the phase's clocks span both. */
static int run_handshakes(struct bl_bench *b, const struct run_opts *r)
{
	struct phase p;
	int64_t next_tick = 0, end, drain_us;
	uint32_t unfinished;
	phase_begin(&p, r);
	b->running = 1;
	end = p.t0 + (int64_t)(b->duration_s * 1e6);
	for (uint32_t i = 0; i < b->n; i++)
		bl_client_open(b, &b->clients[i]);
	while (bl_mono_us() < end)
		poll_once(b, 10, &next_tick);
	drain_us = bl_mono_us();
	unfinished = drain(b, &next_tick);
	drain_us = bl_mono_us() - drain_us;
	close_all(b);		 /* the server's cost of closing belongs to the handshakes */
	usleep(CLOSE_SETTLE_US); /* ... so let it read the last close_notify */
	phase_end(&p, r);
	printf("result mode=handshakes clients=%u ok=%llu errors=%llu unfinished=%u drain_ms=%.1f "
	       "p50_us=%u p99_us=%u",
	       b->n, (unsigned long long)b->c.hs_ok, (unsigned long long)errors(b), unfinished,
	       (double)drain_us / 1e3, bl_stats_pct(&b->hs_lat, 50), bl_stats_pct(&b->hs_lat, 99));
	print_phase(&p, b->c.hs_ok);
	if (b->c.hs_ok == 0)
		fprintf(stderr,
			"bench_load: no handshake completed in %.1f s: is a DTLS server "
			"listening on that port?\n",
			b->duration_s);
	/* Nothing completed is a failure even when nothing answered to fail. */
	return errors(b) || b->c.hs_ok == 0 ? 1 : 0;
}

/* Opens clients up to index target (a bounded number in flight so the
 * server's handshake queue is not what is measured) and waits until each has
 * registered or failed, until deadline, or until no session has registered
 * for STALL_US (a server that stopped accepting: only failures trickle in).
 * Returns the clients unfinished. */
static uint32_t establish(struct bl_bench *b, uint32_t *launched, uint32_t target, int64_t deadline)
{
	int64_t next_tick = 0, now, moved = bl_mono_us();
	uint64_t last = b->c.reg_ok;
	while ((now = bl_mono_us()) < deadline && now - moved < STALL_US) {
		while (*launched < target && b->in_setup < SETUP_IN_FLIGHT)
			bl_client_open(b, &b->clients[(*launched)++]);
		if (*launched == target && b->in_setup == 0)
			return 0;
		poll_once(b, 10, &next_tick);
		if (b->c.reg_ok != last) {
			last = b->c.reg_ok;
			moved = bl_mono_us();
		}
	}
	fprintf(stderr, "bench_load: setup: %u of %u sessions not established (%s)\n",
		target - b->registered, target,
		now >= deadline ? "--setup-timeout reached" : "none registered for 20 s");
	return target - *launched + b->in_setup;
}

/* Holds the sessions for secs, answering whatever the server sends. */
static void hold(struct bl_bench *b, double secs)
{
	int64_t next_tick = 0, end = bl_mono_us() + (int64_t)(secs * 1e6);
	while (bl_mono_us() < end)
		poll_once(b, 10, &next_tick);
}

/* The server's fds and RSS now, for the no-fd-per-session comparison. */
static void checkpoint(struct bl_bench *b, const struct run_opts *r, uint32_t target)
{
	hold(b, 0.2); /* let the server finish with the last Register */
	printf("checkpoint target=%u sessions=%u server_fds=%ld server_rss_kb=%ld\n", target,
	       b->registered, r->server_pid ? bl_proc_fd_count(r->server_pid) : -1L,
	       r->server_pid ? bl_proc_rss_kb(r->server_pid) : -1L);
	fflush(stdout);
}

/* Mode idle: the server's memory and fds per established session. */
static int run_idle(struct bl_bench *b, const struct run_opts *r)
{
	uint32_t launched = 0, unfinished = 0;
	int64_t deadline = bl_mono_us() + (int64_t)(b->setup_s * 1e6);
	long rss0 = r->server_pid ? bl_proc_rss_kb(r->server_pid) : -1;
	long fds0 = r->server_pid ? bl_proc_fd_count(r->server_pid) : -1;
	long rss1, fds1;
	for (unsigned i = 0; i < r->n_checkpoints; i++) {
		if (r->checkpoints[i] >= b->n || r->checkpoints[i] <= launched)
			continue;
		unfinished += establish(b, &launched, r->checkpoints[i], deadline);
		checkpoint(b, r, r->checkpoints[i]);
	}
	unfinished += establish(b, &launched, b->n, deadline);
	checkpoint(b, r, b->n);
	long rss_live = r->server_pid ? bl_proc_rss_kb(r->server_pid) : -1;
	hold(b, r->settle_s);
	rss1 = r->server_pid ? bl_proc_rss_kb(r->server_pid) : -1;
	fds1 = r->server_pid ? bl_proc_fd_count(r->server_pid) : -1;
	printf("result mode=idle sessions=%u errors=%llu unfinished=%u server_rss_kb_base=%ld "
	       "server_rss_kb=%ld rss_kb_per_session=%.2f server_fds_base=%ld server_fds=%ld "
	       "settle_s=%.1f rss_kb_per_session_before_settle=%.2f\n",
	       b->registered, (unsigned long long)errors(b), unfinished, rss0, rss1,
	       b->registered && rss0 >= 0 ? (double)(rss1 - rss0) / b->registered : -1.0, fds0,
	       fds1, r->settle_s,
	       b->registered && rss0 >= 0 ? (double)(rss_live - rss0) / b->registered : -1.0);
	fflush(stdout);
	hold(b, r->hold_s);
	close_all(b);
	return errors(b) || unfinished ? 1 : 0;
}

/* --rate: sends the Updates due by now (rate x elapsed), each from the next
 * session in turn that is not waiting for an answer; a session still
 * waiting is skipped (and counted in *late), never queued up. */
static void pace(struct bl_bench *b, int64_t t0, uint64_t *sent, uint32_t *next, uint64_t *late)
{
	uint64_t due = (uint64_t)((double)(bl_mono_us() - t0) * b->rate / 1e6);
	while (*sent < due) {
		struct bl_client *c = &b->clients[*next];
		*next = (*next + 1) % b->n;
		(*sent)++;
		if (c->state == BL_READY)
			bl_client_update(b, c);
		else
			(*late)++;
	}
}

/* The measured phase of mode updates: closed loop, or paced at --rate,
 * with the interval lines when asked; returns Updates skipped as late. */
static uint64_t update_phase(struct bl_bench *b, int64_t t0, struct bl_ivl *ivl)
{
	uint32_t next = 0;
	uint64_t sent = 0, late = 0;
	int64_t next_tick = 0, now, end;
	/* Without one session there is nothing to measure: no empty wait. */
	end = t0 + (b->registered ? (int64_t)(b->duration_s * 1e6) : 0);
	for (uint32_t i = 0; i < b->n && b->rate == 0; i++)
		if (b->clients[i].state == BL_READY)
			bl_client_update(b, &b->clients[i]);
	while ((now = bl_mono_us()) < end) {
		/* Paced: a short turn (PACE_EVENTS answers at most) between two
		 * pace() calls, so that the Updates due go out on time, not in a
		 * burst after a long turn. */
		if (b->rate > 0) {
			pace(b, t0, &sent, &next, &late);
			poll_n(b, 1, &next_tick, PACE_EVENTS);
		} else {
			poll_once(b, 10, &next_tick);
		}
		now = bl_mono_us();
		bl_ivl_loop(ivl, now);
		bl_ivl_tick(ivl, &b->lat, &b->lat_rx, b->rate > 0 ? sent : b->c.upd_ok, now);
	}
	return late;
}

/* Mode updates: Updates through established sessions, closed loop (each
 * as soon as the previous is answered) or paced at --rate. */
static int run_updates(struct bl_bench *b, const struct run_opts *r)
{
	struct phase p;
	struct bl_ivl ivl;
	uint32_t launched = 0, unfinished;
	uint64_t late;
	unfinished = establish(b, &launched, b->n, bl_mono_us() + (int64_t)(b->setup_s * 1e6));
	phase_begin(&p, r);
	if (bl_ivl_init(&ivl, r->intervals_ms, r->server_pid, p.t0, &b->lat, &b->lat_rx) < 0) {
		fprintf(stderr, "bench_load: out of memory for --intervals\n");
		return 2;
	}
	b->running = 1;
	late = update_phase(b, p.t0, &ivl);
	b->running = 0;
	phase_end(&p, r);
	bl_ivl_free(&ivl);
	printf("result mode=updates sessions=%u ok=%llu errors=%llu unfinished=%u timeouts=%llu "
	       "target_rate=%.0f late=%llu p50_us=%u p99_us=%u p50_rx_us=%u p99_rx_us=%u",
	       b->registered, (unsigned long long)b->c.upd_ok, (unsigned long long)errors(b),
	       unfinished, (unsigned long long)b->c.timeouts, b->rate, (unsigned long long)late,
	       bl_stats_pct(&b->lat, 50), bl_stats_pct(&b->lat, 99), bl_stats_pct(&b->lat_rx, 50),
	       bl_stats_pct(&b->lat_rx, 99));
	print_phase(&p, b->c.upd_ok);
	close_all(b);
	return errors(b) || unfinished ? 1 : 0;
}

/* Releases the run (safe after a failed bench_init). */
static void bench_free(struct bl_bench *b)
{
	close_all(b);
	free(b->clients);
	bl_stats_free(&b->lat);
	bl_stats_free(&b->hs_lat);
	bl_stats_free(&b->lat_rx);
	if (b->epfd >= 0)
		close(b->epfd);
	bl_tls_free(&b->tls);
}

/* Parses, runs one mode, prints its result; the exit status says
 * whether anything failed (see usage()). */
int main(int argc, char **argv)
{
	struct bl_bench b = {
	    .duration_s = 5, .setup_s = 60, .req_timeout_ms = 5000, .per_addr = 20000, .epfd = -1};
	struct bl_tls_opts t = {.auth = BL_AUTH_PSK,
				.psk_identity = BL_PSK_IDENTITY,
				.psk_key_hex = BL_PSK_KEY_HEX,
				.ca_file = "build/certs/ca/bundle.pem",
				.hostname = "localhost"};
	struct run_opts r = {0};
	struct args a = {.b = &b, .t = &t, .r = &r};
	int status = 2;
	char prefix[32];
	b.server.sin_family = AF_INET;
	b.server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	b.src_base.s_addr =
	    htonl(0x7f010001); /* 127.1.0.1: leaves 127.0.0.1's ports to the server */
	snprintf(prefix, sizeof(prefix), "bench-%d-", (int)getpid());
	b.ep_prefix = prefix;
	if (parse_args(argc, argv, &a, &status) != 0)
		return status;
	if (bench_init(&b, &t) < 0)
		goto exit;
	if (b.mode == BL_MODE_HANDSHAKES)
		status = run_handshakes(&b, &r);
	else if (b.mode == BL_MODE_UPDATES)
		status = run_updates(&b, &r);
	else
		status = run_idle(&b, &r);
exit:
	bench_free(&b);
	return status;
}
