#ifndef EMU_SERVER_H
#define EMU_SERVER_H
#include <coap3/coap.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_cache.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_ticket.h>
#include <stdint.h>
#include <uthash.h>

#include "emu_config.h"
#include "emu_faults.h"
#include "emu_linger.h"
#include "emu_registry.h"
#include "emu_session.h"
#include "emu_timer.h"
#include "emu_x509.h"

/* The emulator process: one thread, one epoll loop. Public UDP socket ->
 * demux -> DTLS session -> bridge socket -> libcoap (same process) -> LwM2M
 * handlers -> registry + events. */

/* What an epoll event's u64 points at: the kind in the top byte, an id below. */
enum emu_fd_kind {
	EMU_FD_DTLS = 1,
	EMU_FD_COAP = 2,
	EMU_FD_BRIDGE = 3,
	EMU_FD_SIGNAL = 4,
	EMU_FD_CONTROL = 5,
	EMU_FD_CONTROL_CLIENT = 6,
	EMU_FD_TLS_LISTEN = 7,
	EMU_FD_TLS_CONN = 8,
	EMU_FD_PLAIN = 9, /* the public plain-CoAP UDP socket */
	EMU_FD_TLS_LINGER = 10,
};
#define EMU_FD_TAG(kind, id) (((uint64_t)(kind) << 56) | (uint64_t)(id))
#define EMU_FD_KIND(tag) ((int)((tag) >> 56))
#define EMU_FD_ID(tag) ((tag)&0x00ffffffffffffffULL)

struct emu_psk_entry {
	struct emu_psk psk;
	UT_hash_handle hh;
};

/* A virtual host at run time: its own Mbed TLS config (suites, CID,
 * certificate, CA, auth mode) and PSK table (NULL: the default's). The
 * default vhost is the server's own conf/x509/psk_table. */
struct emu_vhost {
	char name[256];
	mbedtls_ssl_config conf;
	mbedtls_ssl_config tls_conf; /* TLS over TCP (stream), same credentials */
	struct emu_x509 x509;
	struct emu_psk_entry *psk_table;
	int cid_enabled;
	int cid_length; /* of the CIDs this vhost assigns */
	UT_hash_handle hh;
};

struct emu_stats {
	uint64_t datagrams_in, hello_verify_sent, handshakes_done, handshakes_failed;
	uint64_t records_dropped, bytes_held, registrations, peer_address_changes;
};

struct emu_tombstone;
struct emu_gen;
struct emu_peer_ip;

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
	struct sockaddr_in tcp_bridge_addr; /* libcoap's TCP endpoint */
	struct emu_x509 x509;
	mbedtls_ssl_cache_context cache;
	mbedtls_ssl_ticket_context ticket;
	struct emu_session *current; /* the session Mbed TLS is working on */
	struct emu_psk_entry *psk_table;
	struct emu_vhost *vhosts; /* by lower-case name */
	int cid_any;		  /* some vhost assigns CIDs: the demux reads type 25 */
	uint64_t cid_lengths;	  /* bit L set: some host assigns L-byte CIDs */
	int cid_mixed;		  /* several lengths: a CID's first byte is its length */
	struct emu_gen *gen;	  /* reloaded credentials; NULL: the ones above */
	struct emu_gen *retired;  /* older generations still used by sessions */
	/* libcoap: bridge endpoint (loopback) and the plain CoAP endpoint. */
	coap_context_t *coap;
	struct sockaddr_in bridge_addr;
	int coap_port_bound, dtls_port_bound;
	int coap_fd;	       /* public plain CoAP (UDP) socket, -1: none */
	size_t plain_sessions; /* live plain-CoAP sessions */
	struct emu_sessions sessions;
	struct emu_timers timers;
	struct emu_registry registry;
	struct emu_tombstone *tombstones;
	size_t tombstone_count;
	struct emu_stats stats;
	struct emu_faults faults;
	struct emu_lingering linger; /* TLS connections closing (emu_linger.c) */
	int64_t next_expiry_check;
	int64_t started_ms;
	/* Control socket (NULL path: none). */
	int ctl_fd;
	struct emu_ctl_client *ctl_clients;
	uint64_t ctl_next_id;
	int argc; /* the command line, re-read on reload */
	char **argv;
	/* Live DTLS sessions per peer IP (emu_peer_ip.c), for record_dropped hints. */
	struct emu_peer_ip *peer_ips;
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

/* emu_dtls.c: the Mbed TLS side. */
int emu_dtls_init(struct emu_server *srv);
void emu_dtls_fini(struct emu_server *srv);
/* Replaces the PSK table with cfg's (established sessions are unaffected). */
int emu_dtls_load_psks(struct emu_server *srv, const struct emu_config *cfg);
/* Builds a PSK table from cfg into *table (replacing it). */
int emu_dtls_psk_table(struct emu_psk_entry **table, const struct emu_config *cfg);
void emu_dtls_psk_table_free(struct emu_psk_entry **table);
/* Fills conf with the DTLS settings: global ones from srv->cfg, suites from
 * v (when it has any), CID when cid_enabled. Returns an Mbed TLS code. */
int emu_dtls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf,
			const struct emu_config *v, int cid_enabled);

/* emu_vhost.c: SNI virtual hosts. */
int emu_vhosts_init(struct emu_server *srv);
/* The length of the CID starting at cid (avail bytes there) in a tls12_cid
 * record: the one length in use, or (several in use) the one its first byte
 * names (EMU_CID_LEN_OF). -1: no host assigns such a CID. */
int emu_vhost_cid_len(const struct emu_server *srv, const uint8_t *cid, size_t avail);
/* The CID lengths the demux must know once a generation assigning lengths
 * (bit L: L-byte CIDs) is current: those plus the ones live sessions hold.
 * -1 with err when that takes a length byte in every CID (several lengths)
 * and some live CID has none; nothing is changed either way. */
int emu_vhost_cid_plan(const struct emu_server *srv, uint64_t lengths, uint64_t *out, char *err,
		       size_t err_size);
/* Makes the demux use these CID lengths. */
void emu_vhost_cid_set(struct emu_server *srv, uint64_t lengths);
/* Mbed TLS's certificate-selection callback: applies the policy for a
 * ClientHello without SNI (unrecognized_name alert when it is "reject"). */
int emu_vhost_cert_cb(mbedtls_ssl_context *ssl);
void emu_vhosts_fini(struct emu_server *srv);
/* Sets up cfg's vhosts into *table; *lengths gets the CID lengths in use
 * (bit L: L-byte CIDs), the server's own included. */
int emu_vhosts_open(struct emu_server *srv, const struct emu_config *cfg, struct emu_vhost **table,
		    uint64_t *lengths);
void emu_vhosts_free(struct emu_vhost **table);

/* emu_reload.c: credentials reloaded by SIGHUP / `ctl reload`. Each reload
 * builds a new generation (default Mbed TLS config, certificate, vhosts);
 * new handshakes use the newest, and an older one lives on until the last
 * session set up with it closes, because an Mbed TLS context keeps using
 * its config. The generation built at start is the server's own fields. */
/* Builds a generation from fresh (taking over what it owns; fresh is left
 * empty) and makes it and fresh's PSK table current. Returns 0, or -1 with
 * err and nothing changed. */
int emu_gen_reload(struct emu_server *srv, struct emu_config *fresh, char *err, size_t err_size);
/* The current settings (the last reload's, else the start's): what new
 * handshakes follow, e.g. the default vhost's CID policy. */
const struct emu_config *emu_gen_cfg(const struct emu_server *srv);
/* The current default config and vhost table, for new sessions. */
mbedtls_ssl_config *emu_gen_conf(struct emu_server *srv);
struct emu_vhost **emu_gen_vhosts(struct emu_server *srv);
/* The current default stream config, for new TLS connections. */
mbedtls_ssl_config *emu_gen_tls_conf(struct emu_server *srv);
/* The vhost table of the generation session s was set up with. */
struct emu_vhost **emu_gen_session_vhosts(const struct emu_session *s);
/* SHA-256 of the current default certificate (hex). */
const char *emu_gen_fingerprint(const struct emu_server *srv);
/* The certificate session s presents when it has no vhost. */
const struct emu_x509 *emu_gen_x509(const struct emu_session *s);
/* A session starts / stops using the current generation. */
void emu_gen_hold(struct emu_session *s);
void emu_gen_release(struct emu_server *srv, struct emu_gen *gen);
/* Frees every generation (after all sessions are closed). */
void emu_gen_fini(struct emu_server *srv);
/* Mbed TLS's SNI callback: records the name, refuses unknown ones when
 * configured to (unrecognized_name alert). */
int emu_vhost_sni_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);
/* The vhost for a ClientHello's SNI bytes, or NULL (default vhost). */
struct emu_vhost *emu_vhost_find(struct emu_server *srv, const uint8_t *name, size_t len);
/* Handles a datagram that is not for a known session: answers a ClientHello
 * statelessly with a HelloVerifyRequest, or creates the session once the
 * cookie checks out; anything else is dropped and counted. */
void emu_dtls_new_peer(struct emu_server *srv, const uint8_t *buf, size_t len,
		       const struct sockaddr *peer, socklen_t peer_len);
/* Feeds one datagram to an existing session (handshake or application data). */
void emu_dtls_input(struct emu_session *s, const uint8_t *buf, size_t len);
/* Feeds a datagram that reached s by its CID from another address. */
void emu_dtls_input_moved(struct emu_session *s, const uint8_t *buf, size_t len,
			  const struct sockaddr *from, socklen_t from_len);
/* Called when the session's timer entry pops. */
void emu_dtls_timer(struct emu_session *s);
/* Encrypts and sends plaintext from the bridge to the peer. */
void emu_dtls_send_app(struct emu_session *s, const uint8_t *buf, size_t len);
/* Recreates an established session from mbedtls_ssl_context_save output
 * (graceful restart). Returns it indexed and bridged, or NULL with err. */
struct emu_session *emu_dtls_restore(struct emu_server *srv, struct emu_vhost *vhost,
				     const struct sockaddr *peer, socklen_t peer_len,
				     const uint8_t *cid, size_t cid_len, const uint8_t *blob,
				     size_t len, char *err, size_t err_size);
/* Shared with TLS/TCP (emu_tls.c): the PSK callback and the two
 * handshake reports. */
int emu_dtls_psk_cb(void *p, mbedtls_ssl_context *ssl, const unsigned char *id, size_t id_len);
void emu_dtls_report_done(struct emu_session *s);
void emu_dtls_report_failed(struct emu_session *s, int err);
/* Sends the fatal alert owed for a failed client authentication, if any. */
void emu_dtls_send_failure_alert(struct emu_session *s, int err);
/* Closes a TLS connection without a RST overtaking what was sent; after a
 * fatal alert, it lingers in the loop until the peer closes (emu_linger.c). */
void emu_tls_close(struct emu_session *s, int after_alert);
/* Frees a session, emitting session_closed with reason. */
void emu_dtls_close(struct emu_session *s, const char *reason);

/* emu_resume.c: session cache and tickets (shared by every vhost). */
int emu_resume_init(struct emu_server *srv);
/* Hooks conf to the shared cache and ticket key, as configured. */
void emu_resume_conf(struct emu_server *srv, mbedtls_ssl_config *conf);
void emu_resume_fini(struct emu_server *srv);
/* Clears the cache and rotates the ticket key; returns what was done. */
json_t *emu_resume_forget(struct emu_server *srv);

/* emu_tls.c: CoAP over TLS over TCP (RFC 8323). */
int emu_tls_init(struct emu_server *srv);
/* Sets conf up for TLS over TCP like the DTLS config of c: leaf's chain
 * and key, x's client CA set, c's suites and auth mode; SNI and
 * certificate callbacks of emu_vhost.c. Returns 0 or an Mbed TLS error. */
int emu_tls_setup_conf(struct emu_server *srv, mbedtls_ssl_config *conf, const struct emu_config *c,
		       const struct emu_x509 *leaf, const struct emu_x509 *x);
void emu_tls_fini(struct emu_server *srv);
void emu_tls_accept(struct emu_server *srv);
void emu_tls_readable(struct emu_server *srv, uint64_t session_id);
/* The handshake deadline of a TLS connection passed: fails and closes it
 * unless the handshake is done. */
void emu_tls_timer(struct emu_session *s);

/* emu_demux.c: the public UDP socket. */
/* Reads what one public UDP socket holds (DTLS or plain CoAP), counts it,
 * passes it through the faults and routes it. */
void emu_demux_readable(struct emu_server *srv, enum emu_path path);
/* Routes one datagram that arrived on path's socket. */
void emu_demux_route(struct emu_server *srv, enum emu_path path, const uint8_t *buf, size_t len,
		     const struct sockaddr *from, socklen_t from_len);
/* Routes one datagram (after faults): by CID, by address, or to the cookie
 * exchange. */
void emu_demux_dispatch(struct emu_server *srv, const uint8_t *buf, size_t len,
			const struct sockaddr *from, socklen_t from_len);
/* Emits record_dropped and counts it. */
void emu_demux_drop(struct emu_server *srv, const struct sockaddr *peer, const char *reason,
		    size_t bytes);

/* emu_bridge.c: the loopback relay between a DTLS session and libcoap. */
int emu_bridge_open(struct emu_session *s);
void emu_bridge_close(struct emu_session *s);
void emu_bridge_readable(struct emu_server *srv, uint64_t session_id);
/* Passes decrypted CoAP to libcoap (after emu_lwm2m_prepare). */
void emu_bridge_forward(struct emu_session *s, const uint8_t *buf, size_t len);

/* emu_coap.c: libcoap context and LwM2M resources. */
int emu_coap_init(struct emu_server *srv);
void emu_coap_fini(struct emu_server *srv);
void emu_coap_process(struct emu_server *srv);
/* Retires a resource: its handlers answer 4.04 until housekeeping deletes it. */
void emu_coap_bury(struct emu_server *srv, coap_resource_t *res);
/* Expires registrations and frees old tombstones; called about once a second. */
void emu_coap_housekeeping(struct emu_server *srv, int64_t now);

/* emu_control.c: the control Unix socket (JSON lines). */
int emu_control_open(struct emu_server *srv, const char *path);
void emu_control_close(struct emu_server *srv);
void emu_control_accept(struct emu_server *srv);
void emu_control_readable(struct emu_server *srv, uint64_t client_id);
/* Closes control clients that failed a write. */
void emu_control_sweep(struct emu_server *srv);
/* Sends an event line to every subscribed control client. */
void emu_control_publish(const json_t *event);

/* emu_events.c: helpers shared by the emitters. */
json_t *emu_alert_json(int level, int description);
void emu_events_human(FILE *out, const json_t *event);

#endif
