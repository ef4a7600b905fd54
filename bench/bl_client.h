/* bl_client: one DTLS client of the load generator and the run they share.
 * Every client is a state machine driven by the one epoll loop in
 * bench_load.c: readable socket or expired timer -> bl_client_step(). */
#ifndef BL_CLIENT_H
#define BL_CLIENT_H

#include "bl_coap.h"
#include "bl_stats.h"
#include "bl_tls.h"

#include <netinet/in.h>
#include <stdint.h>
#include <sys/types.h>

enum bl_mode { BL_MODE_HANDSHAKES, BL_MODE_UPDATES, BL_MODE_IDLE };

enum bl_state {
	BL_FREE,      /* no socket */
	BL_BACKOFF,   /* failed; reopens at wake_us (handshakes mode) */
	BL_HANDSHAKE, /* DTLS handshake in progress */
	BL_REGISTER,  /* Register sent, waiting for 2.01 */
	BL_READY,     /* registered, nothing in flight */
	BL_UPDATE,    /* Update sent, waiting for the answer */
	BL_PARKED,    /* registered, then socket and TLS context dropped (--park) */
};

struct bl_client {
	int fd;
	uint32_t idx;
	enum bl_state state;
	int has_ssl;
	mbedtls_ssl_context ssl;
	struct bl_timer timer;
	int64_t op_start_us; /* when the handshake or request began */
	int64_t op_start_rt; /* the same, CLOCK_REALTIME ns (updates: vs rx_rt) */
	int64_t rx_rt;	     /* the kernel's arrival stamp of the datagram read last
				(SO_TIMESTAMPNS, updates mode), CLOCK_REALTIME ns */
	int64_t wake_us;     /* request timeout, or end of backoff */
	uint16_t mid;
	uint8_t token[BL_COAP_TOKEN_LEN];
	char location[BL_COAP_LOCATION_MAX];
};

struct bl_counts {
	uint64_t hs_ok, hs_err, reg_ok, reg_err, upd_ok, upd_err, timeouts;
};

struct bl_bench {
	/* options */
	enum bl_mode mode;
	uint32_t n;	   /* clients (handshakes: concurrent slots) */
	double duration_s; /* handshakes, updates: measured phase */
	double setup_s;	   /* updates, idle: limit to establish all */
	uint32_t req_timeout_ms;
	int any_code; /* a peer that is no LwM2M server: any answer counts */
	struct sockaddr_in server;
	struct in_addr src_base; /* clients bind to src_base + idx / per_addr */
	uint32_t per_addr;
	const char *ep_prefix;
	int park;    /* idle: drop each client's socket once registered */
	double rate; /* updates: Updates/s in all (paced); 0: closed loop */
	/* run state */
	struct bl_tls tls;
	int epfd;
	int running; /* the measured phase is on: keep sending Updates */
	struct bl_client *clients;
	uint32_t in_setup; /* clients handshaking or registering */
	uint32_t registered;
	struct bl_counts c;
	struct bl_stats lat;	/* Update round trips, to when the generator read the answer */
	struct bl_stats lat_rx; /* the same, to the answer's arrival in the kernel */
	struct bl_stats hs_lat;
	unsigned errors_printed;
};

#define BL_PARK_PORT0 10000 /* a client's fixed port: 10000 + idx % per_addr */

/* A non-blocking UDP socket of family, bound to src unless src_len is 0 (an
 * IPv4 source whose fixed port is taken gets any port instead) and
 * connected to server unless it is NULL; -1 with errno. */
int bl_udp_socket(const struct sockaddr *src, socklen_t src_len, const struct sockaddr *server,
		  socklen_t server_len, int family);

/* A non-blocking UDP socket bound to base + idx / per_addr (port 10000 +
 * idx % per_addr when fixed_port, else any) and, unless server is NULL,
 * connected to server; -1 with errno. Loopback has 16M source addresses, so
 * N clients need not share one address's ephemeral ports. */
int bl_udp_open(struct in_addr base, uint32_t per_addr, uint32_t idx, int fixed_port,
		const struct sockaddr_in *server);

/* Opens a socket for c and starts its handshake; -1 counts as a failure. */
int bl_client_open(struct bl_bench *b, struct bl_client *c);

/* Ends c; with notify, an established session sends close_notify first. */
void bl_client_close(struct bl_bench *b, struct bl_client *c, int notify);

/* Reacts to a readable socket or an expired timer. */
void bl_client_step(struct bl_bench *b, struct bl_client *c);

/* Checks c's timers at now: retransmission, request timeout, backoff. */
void bl_client_tick(struct bl_bench *b, struct bl_client *c, int64_t now);

/* Sends an Update now (c must be BL_READY). */
void bl_client_update(struct bl_bench *b, struct bl_client *c);

/* Prints one error line for the first few errors of a run, then stays quiet. */
void bl_client_error(struct bl_bench *b, const struct bl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
