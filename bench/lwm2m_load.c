/* lwm2m-load: a fleet of N virtual LwM2M devices in one process and one epoll
 * loop, on Mbed TLS (or plain CoAP, --auth none), against the emulator or
 * any LwM2M server at an address the user gives (IPv4 or IPv6; loopback in
 * the tests).
 * Devices are started at --rate handshakes/s, register, then take turns at
 * --update-rate (Update, re-Register or reconnect, --mix), answer the
 * server's Reads and Observes and notify; idle ones are hibernated (see
 * fl_fleet.h). Prints a table (and --json FILE) with handshakes/s,
 * requests/s, latency percentiles per operation, errors by class and the
 * server's RSS. A benchmark tool: it never judges the numbers. */
#include "fl_fleet.h"
#include "bl_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define TICK_US 50000		   /* how often the timers of busy devices are checked */
#define PROGRESS_US 1000000	   /* the live line's period */
#define DRAIN_US 1000000	   /* after --duration: answers still in flight may land */
#define LAT_SAMPLES_MAX (8u << 20) /* latency samples kept per operation */
#define MAX_DEVICES 10000000u
#define MAX_RATE 20000u		/* handshakes/s one generator process can start */
#define MAX_UPDATE_RATE 200000u /* requests/s one generator process can send */
#define BYTES_PER_IDLE 600u	/* struct fl_dev + saved context + malloc overhead */

/* Help text: every option with its default. */
static void usage(FILE *o)
{
	fprintf(
	    o,
	    "usage: lwm2m-load --port P --devices N [options]\n"
	    "  --server ADDR         LwM2M server: IPv4 or IPv6 address (or host name)\n"
	    "                        (default 127.0.0.1)\n"
	    "  --port P              its DTLS port (CoAP port with --auth none; required)\n"
	    "  --devices N           virtual devices, 1..%u (required)\n"
	    "  --rate R              ramp-up: devices started (handshakes, or Registers with\n"
	    "                        --auth none) per second (default 500, at most %u)\n"
	    "  --max-handshakes K    handshakes in flight at most (default 64)\n"
	    "  --duration S          the whole run, ramp-up included (default 10)\n"
	    "  --update-rate R       device turns per second, fleet-wide (default 100, 0: none)\n"
	    "  --steady S            turns only once every device registered (or failed), for\n"
	    "                        S seconds (--duration still caps the run): the Update\n"
	    "                        latency of a registered fleet, not of its ramp-up\n"
	    "  --settle S            after the run, hold the fleet S seconds (answering the\n"
	    "                        server) before reading RSS: a server that hibernates\n"
	    "                        idle sessions has then done so (default 0)\n"
	    "  --mix A=W,...         what a turn is: update, reregister, reconnect with weights\n"
	    "                        (default update=1)\n"
	    "  --resume PCT          share of devices whose first connection is resumed (a full\n"
	    "                        handshake, then an abbreviated one; default 0)\n"
	    "  --auth psk|cert|none  default psk (cert: ECDHE-ECDSA, the server's certificate;\n"
	    "                        none: plain CoAP, LwM2M NoSec, each device on its own\n"
	    "                        socket; the DTLS options below do not apply)\n"
	    "  --psk ID:HEX          default " BL_PSK_IDENTITY ":" BL_PSK_KEY_HEX "\n"
	    "  --psk-identities K    device i uses identity ID-(i %% K), same key (default: all "
	    "ID)\n"
	    "  --ca FILE             cert: PEM trust (default build/certs/ca/bundle.pem)\n"
	    "  --hostname NAME       cert: name in the server certificate (default localhost)\n"
	    "  --no-verify           cert: skip the chain check (saves the generator's CPU)\n"
	    "  --suite NAME          Mbed TLS suite (default the LwM2M CCM-8 one)\n"
	    "  --no-cid              no DTLS Connection ID: each device keeps its own socket\n"
	    "  --pool K              CID: sockets idle devices send from (default 64)\n"
	    "  --src ADDR            devices' own sockets send from ADDR; with a server on\n"
	    "                        IPv4 loopback, from ADDR and the addresses after it\n"
	    "                        (default 127.1.0.1 there; elsewhere the kernel picks)\n"
	    "  --pool-src ADDR       the same for the CID pool (default 127.2.0.1 there)\n"
	    "  --per-addr K          IPv4 loopback: own sockets per source address\n"
	    "                        (default 20000)\n"
	    "  --req-timeout MS      Register/Update answer timeout; the CON is retransmitted\n"
	    "                        after 2 s, then doubling (default 10000)\n"
	    "  --lifetime S          registration lifetime (default 86400)\n"
	    "  --ep-prefix P         endpoint names are P0, P1, ... (default fleet-PID-)\n"
	    "  --server-pid PID      report this local server's RSS (/proc/PID)\n"
	    "  --json FILE           also write the results as JSON\n"
	    "  --progress|--no-progress  live line on stderr (default: when stderr is a TTY)\n"
	    "Exit status: 0 nothing failed, 1 some operation failed or was unfinished,\n"
	    "2 bad options or setup (the message says which option and what to do).\n",
	    MAX_DEVICES, MAX_RATE);
}

/* An integer option in min..max; the message names the option and range. */
static int parse_u32(const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "lwm2m-load: %s '%s': want an integer %u..%u\n", opt, s, min, max);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* A number of seconds or a rate, in min..max. */
static int parse_num(const char *opt, const char *s, double min, double max, double *out)
{
	char *end;
	double v = strtod(s, &end);
	if (end == s || *end || !(v >= min && v <= max)) {
		fprintf(stderr, "lwm2m-load: %s '%s': want a number %g..%g\n", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* --mix update=8,reregister=1,reconnect=1 */
static int parse_mix(char *s, uint32_t mix[FL_ACT_COUNT])
{
	static const char *const names[FL_ACT_COUNT] = {"update", "reregister", "reconnect"};
	uint32_t total = 0;
	memset(mix, 0, FL_ACT_COUNT * sizeof(*mix));
	for (char *item = strtok(s, ","); item; item = strtok(NULL, ",")) {
		char *eq = strchr(item, '=');
		int a = -1;
		for (int i = 0; eq && i < FL_ACT_COUNT; i++)
			if (strncmp(item, names[i], (size_t)(eq - item)) == 0 &&
			    strlen(names[i]) == (size_t)(eq - item))
				a = i;
		if (a < 0 || parse_u32("--mix weight", eq + 1, 0, 1000, &mix[a]) < 0) {
			fprintf(stderr,
				"lwm2m-load: --mix '%s': want update=W,reregister=W,"
				"reconnect=W (weights 0..1000)\n",
				item);
			return -1;
		}
		total += mix[a];
	}
	if (total == 0) {
		fprintf(stderr, "lwm2m-load: --mix: every weight is 0; give one a weight\n");
		return -1;
	}
	return 0;
}

/* ID:HEX into the TLS options. */
static int parse_psk(char *s, struct bl_tls_opts *t)
{
	char *colon = strchr(s, ':');
	unsigned char key[64];
	if (!colon || colon == s || bl_hex_decode(colon + 1, key, sizeof(key)) < 0) {
		fprintf(stderr, "lwm2m-load: --psk '%s': want IDENTITY:HEXKEY\n", s);
		return -1;
	}
	*colon = '\0';
	t->psk_identity = s;
	t->psk_key_hex = colon + 1;
	return 0;
}

enum {
	OPT_SERVER = 256,
	OPT_PORT,
	OPT_DEVICES,
	OPT_RATE,
	OPT_MAX_HS,
	OPT_DURATION,
	OPT_UPDATE_RATE,
	OPT_MIX,
	OPT_RESUME,
	OPT_AUTH,
	OPT_PSK,
	OPT_CA,
	OPT_HOSTNAME,
	OPT_NO_VERIFY,
	OPT_SUITE,
	OPT_NO_CID,
	OPT_POOL,
	OPT_SRC,
	OPT_POOL_SRC,
	OPT_PER_ADDR,
	OPT_REQ_TIMEOUT,
	OPT_LIFETIME,
	OPT_IDENTITIES,
	OPT_EP_PREFIX,
	OPT_STEADY,
	OPT_SETTLE,
	OPT_PID,
	OPT_JSON,
	OPT_PROGRESS,
	OPT_NO_PROGRESS,
	OPT_HELP,
};

static const struct option long_opts[] = {
    {"server", 1, 0, OPT_SERVER},
    {"port", 1, 0, OPT_PORT},
    {"devices", 1, 0, OPT_DEVICES},
    {"rate", 1, 0, OPT_RATE},
    {"max-handshakes", 1, 0, OPT_MAX_HS},
    {"duration", 1, 0, OPT_DURATION},
    {"update-rate", 1, 0, OPT_UPDATE_RATE},
    {"mix", 1, 0, OPT_MIX},
    {"resume", 1, 0, OPT_RESUME},
    {"auth", 1, 0, OPT_AUTH},
    {"psk", 1, 0, OPT_PSK},
    {"ca", 1, 0, OPT_CA},
    {"hostname", 1, 0, OPT_HOSTNAME},
    {"no-verify", 0, 0, OPT_NO_VERIFY},
    {"suite", 1, 0, OPT_SUITE},
    {"no-cid", 0, 0, OPT_NO_CID},
    {"pool", 1, 0, OPT_POOL},
    {"src", 1, 0, OPT_SRC},
    {"pool-src", 1, 0, OPT_POOL_SRC},
    {"per-addr", 1, 0, OPT_PER_ADDR},
    {"req-timeout", 1, 0, OPT_REQ_TIMEOUT},
    {"lifetime", 1, 0, OPT_LIFETIME},
    {"psk-identities", 1, 0, OPT_IDENTITIES},
    {"ep-prefix", 1, 0, OPT_EP_PREFIX},
    {"steady", 1, 0, OPT_STEADY},
    {"settle", 1, 0, OPT_SETTLE},
    {"server-pid", 1, 0, OPT_PID},
    {"json", 1, 0, OPT_JSON},
    {"progress", 0, 0, OPT_PROGRESS},
    {"no-progress", 0, 0, OPT_NO_PROGRESS},
    {"help", 0, 0, OPT_HELP},
    {0, 0, 0, 0},
};

struct args {
	struct fl_opts *o;
	struct bl_tls_opts *t;
	uint32_t port;
	int have_devices, have_per_addr, progress;
	const char *dtls_only; /* the first DTLS-only option given (for --auth none) */
	const char *server, *src, *pool_src; /* resolved once all are read */
};

/* A source option (--src, --pool-src) against the server it must reach:
 * numeric, of the server's family, and not loopback when the server is
 * elsewhere (the kernel would drop every datagram, silently). Not given:
 * v4lo_default on IPv4 loopback (fl_net.c spreads the devices over the
 * addresses after it), otherwise none (the kernel picks). */
static int parse_src(const struct fl_addr *srv, const char *opt, const char *arg,
		     const char *v4lo_default, struct fl_addr *out)
{
	char why[96], text[64];
	if (!arg && !fl_addr_is_v4_loopback(srv)) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	if (fl_addr_parse(arg ? arg : v4lo_default, 0, out, why, sizeof(why)) < 0) {
		fprintf(stderr, "lwm2m-load: %s '%s': %s\n", opt, arg, why);
		return -1;
	}
	fl_addr_text(srv, text, sizeof(text));
	if (out->ss.ss_family != srv->ss.ss_family) {
		fprintf(stderr,
			"lwm2m-load: %s %s is an %s address and the server %s an %s one: give "
			"a source address of the server's family, or leave %s out\n",
			opt, arg, fl_addr_family(out), text, fl_addr_family(srv), opt);
		return -1;
	}
	if (fl_addr_is_loopback(out) && !fl_addr_is_loopback(srv)) {
		fprintf(stderr,
			"lwm2m-load: %s %s is a loopback address: nothing sent from it reaches "
			"%s, which is not on loopback; give this host's address towards the "
			"server, or leave %s out (the kernel's route picks one)\n",
			opt, arg, text, opt);
		return -1;
	}
	return 0;
}

/* --server, --src, --pool-src, once every option is read (the sources
 * depend on the server's family and place). The server may be any address
 * or host name: loopback in the tests, a lab or staging server in the
 * field. */
static int resolve_addrs(struct args *a)
{
	struct fl_opts *o = a->o;
	const char *server = a->server ? a->server : "127.0.0.1";
	char why[96];
	if (fl_addr_parse(server, 1, &o->server, why, sizeof(why)) < 0) {
		fprintf(stderr, "lwm2m-load: --server '%s': %s\n", server, why);
		return -1;
	}
	fl_addr_set_port(&o->server, (uint16_t)a->port);
	fl_addr_text(&o->server, o->server_text, sizeof(o->server_text));
	if (parse_src(&o->server, "--src", a->src, "127.1.0.1", &o->src_base) < 0 ||
	    parse_src(&o->server, "--pool-src", a->pool_src, "127.2.0.1", &o->pool_base) < 0)
		return -1;
	if (a->have_per_addr && !fl_addr_is_v4_loopback(&o->src_base)) {
		fprintf(stderr, "lwm2m-load: --per-addr spreads devices over 127.x source "
				"addresses; it applies only with a server on IPv4 loopback "
				"(drop it)\n");
		return -1;
	}
	return 0;
}

/* What the run does: how many, how fast, how long. */
static int parse_run_opt(struct args *a, int opt, char *arg)
{
	uint32_t v;
	switch (opt) {
	case OPT_DEVICES:
		a->have_devices = 1;
		return parse_u32("--devices", arg, 0, UINT32_MAX, &a->o->n);
	case OPT_RATE:
		return parse_u32("--rate", arg, 0, UINT32_MAX, &a->o->rate);
	case OPT_MAX_HS:
		return parse_u32("--max-handshakes", arg, 1, 4096, &a->o->max_hs);
	case OPT_DURATION:
		return parse_num("--duration", arg, 0.1, 86400, &a->o->duration_s);
	case OPT_UPDATE_RATE:
		return parse_num("--update-rate", arg, 0, 1e12, &a->o->update_rate);
	case OPT_MIX:
		return parse_mix(arg, a->o->mix);
	case OPT_RESUME:
		a->dtls_only = "--resume";
		return parse_u32("--resume", arg, 0, 100, &a->o->resume_pct);
	case OPT_REQ_TIMEOUT:
		return parse_u32("--req-timeout", arg, 1, 600000, &a->o->req_timeout_ms);
	case OPT_LIFETIME:
		return parse_u32("--lifetime", arg, 1, 0x7fffffff, &a->o->lifetime);
	case OPT_IDENTITIES:
		a->dtls_only = "--psk-identities";
		return parse_u32("--psk-identities", arg, 1, MAX_DEVICES, &a->o->identities);
	case OPT_PID:
		if (parse_u32("--server-pid", arg, 1, 4194304, &v) < 0)
			return -1;
		a->o->server_pid = (pid_t)v;
		return 0;
	case OPT_JSON:
		a->o->json_path = arg;
		return 0;
	case OPT_EP_PREFIX:
		if (strlen(arg) > 64) {
			fprintf(stderr, "lwm2m-load: --ep-prefix: at most 64 characters\n");
			return -1;
		}
		a->o->ep_prefix = arg;
		return 0;
	case OPT_STEADY:
		return parse_num("--steady", arg, 0.1, 86400, &a->o->steady_s);
	case OPT_SETTLE:
		return parse_num("--settle", arg, 0, 3600, &a->o->settle_s);
	case OPT_PROGRESS:
	case OPT_NO_PROGRESS:
		a->progress = opt == OPT_PROGRESS;
		return 0;
	}
	return 1;
}

/* --auth psk|cert|none (ecdhe is accepted as bench_load's name for cert). */
static int parse_auth(struct args *a, const char *arg)
{
	a->o->nosec = 0;
	if (strcmp(arg, "psk") == 0) {
		a->t->auth = BL_AUTH_PSK;
		a->o->auth_name = "psk";
	} else if (strcmp(arg, "cert") == 0 || strcmp(arg, "ecdhe") == 0) {
		a->t->auth = BL_AUTH_ECDHE;
		a->o->auth_name = "cert";
	} else if (strcmp(arg, "none") == 0) {
		a->t->auth = BL_AUTH_PSK; /* the DTLS setup stays unused */
		a->o->nosec = 1;
		a->o->auth_name = "none";
	} else {
		fprintf(stderr, "lwm2m-load: --auth '%s': want psk, cert or none\n", arg);
		return -1;
	}
	return 0;
}

/* Options that only mean something over DTLS: remembered, so that --auth
 * none can refuse them rather than ignore them. */
static void note_dtls_only(struct args *a, int opt)
{
	static const struct {
		int opt;
		const char *name;
	} names[] = {{OPT_PSK, "--psk"},	   {OPT_CA, "--ca"},
		     {OPT_HOSTNAME, "--hostname"}, {OPT_NO_VERIFY, "--no-verify"},
		     {OPT_SUITE, "--suite"},	   {OPT_POOL, "--pool"},
		     {OPT_POOL_SRC, "--pool-src"}, {OPT_MAX_HS, "--max-handshakes"}};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].opt == opt)
			a->dtls_only = names[i].name;
}

/* Where and how to connect. */
static int parse_net_opt(struct args *a, int opt, char *arg)
{
	switch (opt) {
	case OPT_SERVER:
		a->server = arg;
		return 0;
	case OPT_PORT:
		return parse_u32("--port", arg, 1, 65535, &a->port);
	case OPT_AUTH:
		return parse_auth(a, arg);
	case OPT_PSK:
		return parse_psk(arg, a->t);
	case OPT_CA:
		a->t->ca_file = arg;
		return 0;
	case OPT_HOSTNAME:
		a->t->hostname = arg;
		return 0;
	case OPT_NO_VERIFY:
		a->t->no_verify = 1;
		return 0;
	case OPT_SUITE:
		a->t->suite = arg;
		return 0;
	case OPT_NO_CID:
		a->o->cid = 0;
		return 0;
	case OPT_POOL:
		return parse_u32("--pool", arg, 1, 4096, &a->o->pool_n);
	case OPT_SRC:
		a->src = arg;
		return 0;
	case OPT_POOL_SRC:
		a->pool_src = arg;
		return 0;
	case OPT_PER_ADDR:
		a->have_per_addr = 1;
		return parse_u32("--per-addr", arg, 1, 28000, &a->o->per_addr);
	}
	return 1;
}

/* MemAvailable in KiB, or -1. */
static long mem_available_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* The bounds that depend on this machine: memory for N devices, fds
 * without CID. */
static int check_machine(const struct fl_opts *o)
{
	long avail = mem_available_kb();
	unsigned long long need_kb = (unsigned long long)o->n * BYTES_PER_IDLE / 1024;
	struct rlimit rl;
	if (avail > 0 && need_kb > (unsigned long long)avail) {
		fprintf(stderr,
			"lwm2m-load: --devices %u needs about %llu MiB here (%u bytes per idle "
			"device) but %ld MiB are available; use fewer --devices\n",
			o->n, need_kb / 1024, BYTES_PER_IDLE, avail / 1024);
		return -1;
	}
	if (!o->cid && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    (rlim_t)o->n + 64 > rl.rlim_max) {
		fprintf(stderr,
			"lwm2m-load: %s: each device keeps its own socket, and %u devices "
			"need %u descriptors; the hard limit is %llu: %s or use at most %llu "
			"--devices\n",
			o->nosec ? "--auth none" : "--no-cid", o->n, o->n + 64,
			(unsigned long long)rl.rlim_max,
			o->nosec ? "raise it ('ulimit -Hn')"
				 : "drop --no-cid (idle CID devices hold none)",
			(unsigned long long)rl.rlim_max - 64);
		return -1;
	}
	return 0;
}

/* Without CID every device keeps its own socket. From one source address
 * (anything but IPv4 loopback, where fl_net.c spreads the devices over
 * many) that is one port each, and the host has only its ephemeral range. */
static int check_ports(const struct fl_opts *o)
{
	unsigned lo = 32768, hi = 60999, n;
	FILE *f;
	if (o->cid || fl_addr_is_v4_loopback(&o->src_base))
		return 0;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || hi < lo)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	n = hi - lo + 1;
	if (o->n <= n)
		return 0;
	fprintf(stderr,
		"lwm2m-load: %s: each device keeps its own socket, and one source address "
		"(the server %s is not on IPv4 loopback) has %u ports here "
		"(net.ipv4.ip_local_port_range); use at most %u --devices%s\n",
		o->nosec ? "--auth none" : "--no-cid", o->server_text, n, n,
		o->nosec ? "" : ", or drop --no-cid (idle CID devices hold none)");
	return -1;
}

/* Bounds on what was asked: each message says which option and what to do. */
static int check_bounds(const struct args *a)
{
	const struct fl_opts *o = a->o;
	if (!a->port) {
		fprintf(stderr, "lwm2m-load: --port is required: the LwM2M server's DTLS port, "
				"or its CoAP port with --auth none (e.g. lwm2m-emulator "
				"--dtls-port P or --coap-port P; --help)\n");
		return -1;
	}
	if (!a->have_devices || o->n == 0 || o->n > MAX_DEVICES) {
		if (a->have_devices)
			fprintf(stderr, "lwm2m-load: --devices %u: want 1..%u virtual devices\n",
				o->n, MAX_DEVICES);
		else
			fprintf(stderr, "lwm2m-load: --devices N is required (1..%u)\n",
				MAX_DEVICES);
		return -1;
	}
	if (o->rate == 0 || o->rate > MAX_RATE) {
		fprintf(stderr,
			"lwm2m-load: --rate %u: want 1..%u handshakes/s; one generator process "
			"cannot start more (a full handshake costs it ~50-100 us of CPU); lower "
			"--rate or run several generators\n",
			o->rate, MAX_RATE);
		return -1;
	}
	if (o->update_rate > MAX_UPDATE_RATE) {
		fprintf(stderr,
			"lwm2m-load: --update-rate %g: at most %u requests/s per generator "
			"process (each costs it ~5 us of CPU plus a context restore); lower it "
			"or run several generators\n",
			o->update_rate, MAX_UPDATE_RATE);
		return -1;
	}
	return check_machine(o);
}

/* 0 to run, 1 when done (--help), -1 on error. */
static int parse_args(int argc, char **argv, struct args *a)
{
	int opt, ret;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == OPT_HELP) {
			usage(stdout);
			return 1;
		}
		if (opt == '?')
			return -1;
		note_dtls_only(a, opt);
		ret = parse_run_opt(a, opt, optarg);
		if (ret > 0)
			ret = parse_net_opt(a, opt, optarg);
		if (ret != 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "lwm2m-load: unexpected argument '%s' (--help)\n", argv[optind]);
		return -1;
	}
	if (check_bounds(a) < 0 || resolve_addrs(a) < 0)
		return -1;
	a->t->cid = a->o->cid;
	a->t->own_cid_len = a->o->cid ? FL_CID_LEN : 0;
	if (a->t->auth == BL_AUTH_PSK)
		a->t->hostname = NULL;
	if (a->o->identities && (a->t->auth != BL_AUTH_PSK || a->o->nosec)) {
		fprintf(stderr, "lwm2m-load: --psk-identities applies to --auth psk only\n");
		return -1;
	}
	if (a->o->nosec && a->dtls_only) {
		fprintf(stderr,
			"lwm2m-load: --auth none is plain CoAP (NoSec), without DTLS: %s does not "
			"apply; drop it, or use --auth psk or cert\n",
			a->dtls_only);
		return -1;
	}
	if (a->o->nosec)
		a->o->cid = 0; /* no DTLS, no CID: each device keeps its own socket */
	return check_ports(a->o);
}

/* Raises the soft fd limit to the hard one: handshakes in flight, the pool
 * and, without CID, every device hold a socket. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* --psk-identities K: one config per handshake in flight (max_hs), each
 * given its device's identity when a handshake borrows it (fl_dev.c). */
static int identity_confs(struct fl_fleet *f, const struct bl_tls_opts *t)
{
	if (f->o.identities == 0)
		return 0;
	f->psk_identity = t->psk_identity;
	f->confs = calloc(f->o.max_hs, sizeof(*f->confs));
	f->free_confs = calloc(f->o.max_hs, sizeof(*f->free_confs));
	if (!f->confs || !f->free_confs) {
		fprintf(stderr, "lwm2m-load: out of memory for %u configs\n", f->o.max_hs);
		return -1;
	}
	for (uint32_t k = 0; k < f->o.max_hs; k++) {
		if (bl_tls_client_conf_psk(&f->tls, &f->confs[k], t->psk_identity) != 0) {
			fprintf(stderr, "lwm2m-load: PSK config %u: setup failed\n", k);
			return -1;
		}
		f->free_confs[f->n_free_confs++] = k;
	}
	return 0;
}

/* Everything before the first device: TLS, sockets, the device table. */
static int fleet_init(struct fl_fleet *f, const struct bl_tls_opts *t)
{
	raise_nofile();
	f->tr = f->o.nosec ? &fl_plain_transport : &fl_dtls_transport;
	if (bl_rng_init(&f->tls, "lwm2m-load") < 0 || bl_tls_client_init(&f->tls, t) < 0 ||
	    identity_confs(f, t) < 0)
		return -1;
	if (fl_net_probe(&f->o) < 0) {
		fprintf(stderr,
			"lwm2m-load: cannot send to %s from the source given: %s (--src, "
			"--pool-src: an address of this host towards the server, or leave them "
			"out)\n",
			f->o.server_text, strerror(errno));
		return -1;
	}
	if (fl_net_init(f) < 0) {
		fprintf(stderr, "lwm2m-load: sockets: %s (--pool, --pool-src, 'ulimit -n')\n",
			strerror(errno));
		return -1;
	}
	f->devs = calloc(f->o.n, sizeof(*f->devs));
	f->active = calloc(f->o.n, sizeof(*f->active));
	for (int op = 0; op < FL_OP_COUNT; op++)
		if (bl_stats_init(&f->lat[op], LAT_SAMPLES_MAX) < 0)
			f->devs = NULL;
	if (!f->devs || !f->active) {
		fprintf(stderr, "lwm2m-load: out of memory for %u devices\n", f->o.n);
		return -1;
	}
	for (uint32_t i = 0; i < f->o.n; i++) {
		struct fl_dev *d = &f->devs[i];
		d->idx = i;
		d->fd = -1;
		d->active_pos = FL_NO_POS;
		if (i % 100 < f->o.resume_pct)
			d->flags = FL_F_RESUME;
	}
	return 0;
}

/* The mix's next action, in proportion to the weights (deterministic). */
static enum fl_action next_action(struct fl_fleet *f)
{
	uint32_t total = 0, k;
	for (int i = 0; i < FL_ACT_COUNT; i++)
		total += f->o.mix[i];
	k = f->mix_cursor++ % total;
	for (int i = 0; i < FL_ACT_COUNT; i++) {
		if (k < f->o.mix[i])
			return (enum fl_action)i;
		k -= f->o.mix[i];
	}
	return FL_ACT_UPDATE;
}

/* Gives `due` idle devices their turn, round robin from the cursor: each
 * device's period is registered / --update-rate. */
static void take_turns(struct fl_fleet *f, uint32_t due)
{
	/* Bounded per call: a fleet with few idle devices (most failed or
	 * busy) must not cost a scan of all N on every loop turn. */
	uint32_t limit = 4096 + 64 * (due < 1000000 ? due : 1000000);
	for (uint32_t scanned = 0; due && scanned < f->o.n && scanned < limit; scanned++) {
		struct fl_dev *d = &f->devs[f->upd_cursor];
		f->upd_cursor = (f->upd_cursor + 1) % f->o.n;
		if (d->state == FL_IDLE && fl_dev_act(f, d, next_action(f)) == 0)
			due--;
	}
}

/* The timers of the busy devices only (idle ones have none); from the end,
 * since a device leaving the list takes the last one's place. */
static void tick_active(struct fl_fleet *f, int64_t now)
{
	for (uint32_t i = f->n_active; i-- > 0;)
		if (i < f->n_active)
			fl_dev_tick(f, &f->devs[f->active[i]], now);
}

struct pacer {
	double hs_credit, upd_credit;
	int64_t last_us, next_tick, next_progress;
};

/* One loop turn: start devices and turns as the rates allow, wait for
 * datagrams, then the timers and the progress line. */
static void loop_turn(struct fl_fleet *f, struct pacer *p, int64_t t0, int progress)
{
	int64_t now = bl_mono_us();
	double dt = (double)(now - p->last_us) / 1e6;
	p->last_us = now;
	p->hs_credit += dt * f->o.rate;
	if (p->hs_credit > f->o.max_hs)
		p->hs_credit = f->o.max_hs; /* a stall must not turn into a burst */
	while (f->running && p->hs_credit >= 1 && f->launched < f->o.n && f->in_hs < f->o.max_hs) {
		p->hs_credit -= 1;
		fl_dev_start(f, &f->devs[f->launched++]);
	}
	if (!f->ramp_t1 && f->launched == f->o.n && f->c.registered + f->c.failed == f->o.n)
		f->ramp_t1 = now;
	if (!f->turns_t0 && f->running && (f->o.steady_s == 0 || f->ramp_t1))
		f->turns_t0 = now;
	p->upd_credit += f->c.registered && f->turns_t0 ? dt * f->o.update_rate : 0;
	if (p->upd_credit > 1000 + f->o.update_rate / 10)
		p->upd_credit = 1000 + f->o.update_rate / 10;
	if (f->running && p->upd_credit >= 1) {
		take_turns(f, (uint32_t)p->upd_credit);
		p->upd_credit -= (uint32_t)p->upd_credit;
	}
	fl_net_poll(f, 1);
	now = bl_mono_us();
	if (now >= p->next_tick) {
		p->next_tick = now + TICK_US;
		tick_active(f, now);
	}
	if (progress && now >= p->next_progress) {
		p->next_progress = now + PROGRESS_US;
		fl_progress(f, (double)(now - t0) / 1e6, 0);
	}
}

/* The run: --duration of load, then up to DRAIN_US for answers in flight
 * (nothing new starts); always ends on time, whatever the server does. Then
 * --settle: the fleet idles (and answers), so that a server that hibernates
 * idle sessions has done it when RSS is read. Returns the run's seconds. */
static double run(struct fl_fleet *f, int progress)
{
	int64_t t0 = bl_mono_us(), end = t0 + (int64_t)(f->o.duration_s * 1e6);
	struct pacer p = {.last_us = t0};
	double secs;
	f->run_t0 = t0;
	f->running = 1;
	while (bl_mono_us() < end) {
		loop_turn(f, &p, t0, progress);
		if (f->o.steady_s > 0 && f->turns_t0 &&
		    bl_mono_us() >= f->turns_t0 + (int64_t)(f->o.steady_s * 1e6))
			break;
	}
	f->running = 0;
	f->turns_t1 = bl_mono_us();
	end = f->turns_t1 + DRAIN_US;
	while (f->n_active && bl_mono_us() < end)
		loop_turn(f, &p, t0, progress);
	secs = (double)(bl_mono_us() - t0) / 1e6;
	end = bl_mono_us() + (int64_t)(f->o.settle_s * 1e6);
	while (bl_mono_us() < end)
		loop_turn(f, &p, t0, progress);
	if (progress)
		fl_progress(f, (double)(bl_mono_us() - t0) / 1e6, 1);
	return secs;
}

/* The numbers that need a look at every device or at /proc. */
static void gather(struct fl_fleet *f, struct fl_report *r)
{
	struct rusage ru;
	r->unfinished = f->n_active;
	f->c.err.unfinished = f->n_active; /* never answered by the end: an error too */
	if (f->turns_t0)
		r->turn_secs = (double)(f->turns_t1 - f->turns_t0) / 1e6;
	r->ramp_secs = f->ramp_t1 ? (double)(f->ramp_t1 - f->run_t0) / 1e6 : -1;
	for (uint32_t i = 0; i < f->o.n; i++)
		if (f->devs[i].blob) {
			r->hibernated++;
			r->blob_bytes += f->devs[i].blob_len;
		}
	r->client_rss_kb = bl_proc_rss_kb(getpid());
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		r->client_cpu_s = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				  (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	r->server_rss_kb = f->o.server_pid ? bl_proc_rss_kb(f->o.server_pid) : -1;
}

/* Releases the run (safe after a failed fleet_init). */
static void fleet_free(struct fl_fleet *f)
{
	for (uint32_t i = 0; f->devs && i < f->o.n; i++)
		fl_dev_drop(f, &f->devs[i]);
	free(f->devs);
	free(f->active);
	for (int op = 0; op < FL_OP_COUNT; op++)
		bl_stats_free(&f->lat[op]);
	fl_net_free(f);
	for (uint32_t k = 0; f->confs && k < f->o.max_hs; k++)
		mbedtls_ssl_config_free(&f->confs[k]);
	free(f->confs);
	free(f->free_confs);
	bl_tls_free(&f->tls);
}

/* Defaults (see usage()). */
static void defaults(struct fl_fleet *f, struct bl_tls_opts *t, char *prefix, size_t size)
{
	struct fl_opts *o = &f->o;
	o->rate = 500;
	o->max_hs = 64;
	o->duration_s = 10;
	o->update_rate = 100;
	o->mix[FL_ACT_UPDATE] = 1;
	o->pool_n = 64;
	o->per_addr = 20000;
	o->req_timeout_ms = 10000;
	o->lifetime = 86400;
	o->cid = 1;
	o->auth_name = "psk";
	snprintf(prefix, size, "fleet-%d-", (int)getpid());
	o->ep_prefix = prefix;
	f->epfd = -1;
	*t = (struct bl_tls_opts){.auth = BL_AUTH_PSK,
				  .psk_identity = BL_PSK_IDENTITY,
				  .psk_key_hex = BL_PSK_KEY_HEX,
				  .ca_file = "build/certs/ca/bundle.pem",
				  .hostname = "localhost"};
}

/* Parses, runs, reports; the exit status says whether anything failed. */
int main(int argc, char **argv)
{
	static struct fl_fleet f;
	struct bl_tls_opts t;
	struct fl_report r = {0};
	char prefix[32];
	struct args a = {.o = &f.o, .t = &t, .progress = isatty(STDERR_FILENO)};
	int status = 2, ret;
	defaults(&f, &t, prefix, sizeof(prefix));
	ret = parse_args(argc, argv, &a);
	if (ret != 0)
		return ret > 0 ? 0 : 2;
	if (fleet_init(&f, &t) < 0)
		goto exit;
	r.server_rss0_kb = f.o.server_pid ? bl_proc_rss_kb(f.o.server_pid) : -1;
	r.secs = run(&f, a.progress);
	gather(&f, &r);
	fl_report_print(&f, &r);
	fflush(stdout);
	status = fl_errors_total(&f.c.err) || !f.c.registered ? 1 : 0;
	if (!f.c.registered)
		fprintf(stderr,
			"lwm2m-load: no device registered in %.1f s: is an LwM2M server listening "
			"on %s %s%s?\n",
			r.secs, f.o.nosec ? "CoAP (NoSec)" : "DTLS", f.o.server_text,
			f.o.nosec ? "" : ", with these credentials");
	if (f.o.json_path && fl_report_json(&f, &r, f.o.json_path) < 0)
		status = 2;
exit:
	fleet_free(&f);
	return status;
}
