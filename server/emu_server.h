#ifndef EMU_SERVER_H
#define EMU_SERVER_H
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_ticket.h>
#include <stdint.h>
#include <sys/types.h>
#include <uthash.h>

#include "emu_config.h"
#include "emu_faults.h"
#include "emu_hibernate.h"
#include "emu_limits.h"
#include "emu_linger.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "emu_timer.h"
#include "emu_x509.h"

/* The emulator process: one thread, one epoll loop. Public UDP socket ->
 * demux -> DTLS session (or TLS connection, or plain CoAP peer) -> the
 * session's CoAP layer (emu_msg.c, in-process on the plaintext) -> LwM2M
 * (emu_lwm2m.c, emu_request.c) -> devices (emu_device.c) + events. No
 * socket per session. */

/* What an epoll event's u64 points at: the kind in the top byte, an id below. */
enum emu_fd_kind {
	EMU_FD_DTLS = 1,
	EMU_FD_SIGNAL = 4,
	EMU_FD_CONTROL = 5,
	EMU_FD_CONTROL_CLIENT = 6,
	EMU_FD_TLS_LISTEN = 7,
	EMU_FD_TLS_CONN = 8,
	EMU_FD_PLAIN = 9, /* the public plain-CoAP UDP socket */
	EMU_FD_TLS_LINGER = 10,
	EMU_FD_HTTP = 11, /* libmicrohttpd's epoll fd (emu_http.c) */
};
#define EMU_FD_TAG(kind, id) (((uint64_t)(kind) << 56) | (uint64_t)(id))
#define EMU_FD_KIND(tag) ((int)((tag) >> 56))
#define EMU_FD_ID(tag) ((tag)&0x00ffffffffffffffULL)

struct emu_stats {
	uint64_t datagrams_in, hello_verify_sent, handshakes_done, handshakes_failed;
	uint64_t records_dropped, bytes_held, registrations, peer_address_changes;
	uint64_t datagrams_out_failed;	/* refused by the kernel (emu_udp.c) */
	uint64_t read_batch_max;	/* most datagrams one recvmmsg returned */
	uint64_t timer_entries_dropped; /* stale timer entries compacted away */
};

struct emu_gen;
struct emu_vhost;
struct emu_requests;
struct emu_bootstrap;
struct emu_peer_ip;
struct emu_http;

struct emu_server {
	struct emu_config *cfg;
	int epfd, sigfd, dtls_fd;
	int running;
	int ran; /* the loop ran: shutdown may save state */
	/* Mbed TLS: one config shared by every session. */
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_cookie_ctx cookie;
	mbedtls_ssl_config conf;
	mbedtls_ssl_config tls_conf; /* TLS over TCP (stream) */
	int tls_fd, tls_port_bound;
	struct emu_x509 x509;
	mbedtls_ssl_cache_context cache;
	mbedtls_ssl_ticket_context ticket;
	struct emu_session *current;	  /* the session Mbed TLS is working on */
	const struct emu_psks *psk_table; /* the current generation's config owns it */
	struct emu_vhost *vhosts;	  /* by lower-case name */
	int cid_any;			  /* some vhost assigns CIDs: the demux reads type 25 */
	uint64_t cid_lengths;		  /* bit L set: some host assigns L-byte CIDs */
	int cid_mixed;			  /* several lengths: a CID's first byte is its length */
	struct emu_gen *gen;		  /* reloaded credentials; NULL: the ones above */
	struct emu_gen *retired;	  /* older generations still used by sessions */
	int coap_port_bound, dtls_port_bound;
	int coap_fd;	       /* public plain CoAP (UDP) socket, -1: none */
	size_t plain_sessions; /* live plain-CoAP sessions */
	struct emu_sessions sessions;
	struct emu_hibernation hib; /* idle DTLS sessions, serialized (emu_hibernate.c) */
	struct emu_timers timers;
	struct emu_registry registry;	 /* the devices (emu_device.c) */
	struct emu_requests *requests;	 /* server requests (emu_request.c) */
	struct emu_bootstrap *bootstrap; /* bootstrap jobs (emu_bootstrap.c) */
	struct emu_stats stats;
	struct emu_limits limits; /* what peers hold now (emu_limits.c) */
	struct emu_faults faults;
	struct emu_lingering linger; /* TLS connections closing (emu_linger.c) */
	int64_t next_expiry_check;
	int64_t next_state_save_ms; /* emu_state_tick; 0: not yet scheduled */
	int64_t started_ms;
	/* Control socket (NULL path: none). */
	int ctl_fd;
	struct emu_ctl_client *ctl_clients;
	uint64_t ctl_next_id;
	dev_t ctl_sock_dev; /* the socket this process bound (unlinked only if */
	ino_t ctl_sock_ino; /* it is still that one at close; 0: none) */
	int argc;	    /* the command line, re-read on reload */
	char **argv;
	/* Live DTLS sessions per peer IP (emu_peer_ip.c), for record_dropped hints. */
	struct emu_peer_ip *peer_ips;
	/* Batched datagram I/O on the public UDP sockets (emu_udp.c). */
	struct emu_udp *udp;
	/* Set-up DTLS contexts waiting for their next handshake (emu_ctxpool.c). */
	struct emu_ctxpool *ctxpool;
	struct emu_http *http; /* the HTTP API (emu_http.c); NULL: off */
};

/* Re-reads the command line and config file into a fresh config, checks
 * it, and swaps in the PSK table (for new handshakes) and lifetime bounds. */
int emu_server_reload(struct emu_server *srv, char *err, size_t err_size);
/* Sets everything up and binds the ports. Returns 0, or -1 after printing
 * what failed to stderr. */
int emu_server_init(struct emu_server *srv, struct emu_config *cfg);
/* Runs the loop until SIGTERM/SIGINT. Returns 0, or -1 on a fatal error. */
/* One turn of the event loop: waits at most max_wait_ms (less when a timer
 * or a delayed fault is due), dispatches what is ready, runs due timers and
 * the once-a-second housekeeping. The daemon loops on it; the fuzzers drive
 * it directly. Returns the number of events handled, or -1 on an epoll error. */
int emu_server_step(struct emu_server *srv, int max_wait_ms);
int emu_server_run(struct emu_server *srv);
/* Closes every session (emitting session_closed) and frees everything. */
void emu_server_fini(struct emu_server *srv);

#endif
