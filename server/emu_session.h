#ifndef EMU_SESSION_H
#define EMU_SESSION_H
#include <mbedtls/ssl.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uthash.h>

#include "emu_config.h"
#include "emu_msg.h"
#include "emu_registry.h"
#include "emu_transport.h"

/* One peer on one transport (DTLS, TLS over TCP, plain CoAP; tp says which
 * and is the only way shared code reaches it). A DTLS session is created
 * only after its ClientHello carried a valid cookie (or at once when cookies
 * are off). Found in O(1) by peer address, by the CID this server assigned
 * and by id (events, control). No socket of its own: it is reached through
 * the public sockets (UDP) or its TCP connection. */

enum emu_sess_state { EMU_SESS_HANDSHAKE, EMU_SESS_OPEN };

/* Peer address as hash key and DTLS client transport id: IP bytes + port. */
#define EMU_ADDR_KEY_MAX 19

struct emu_server;
struct emu_vhost;
struct emu_gen;
struct emu_tls_conn;
struct emu_amp;

struct emu_session {
	uint64_t id;
	struct emu_server *srv;
	enum emu_sess_state state;
	struct sockaddr_storage peer;
	socklen_t peer_len;
	uint8_t addr_key[EMU_ADDR_KEY_MAX];
	size_t addr_key_len;
	uint8_t cid[EMU_CID_MAX]; /* the CID this server assigned */
	size_t cid_len;
	int cid_indexed;
	mbedtls_ssl_context ssl;
	/* The datagram being fed to Mbed TLS through the in-memory bio. */
	const uint8_t *in_buf;
	size_t in_len;
	/* Mbed TLS handshake timer (absolute monotonic ms); 0 = stopped. */
	int64_t timer_int, timer_fin;
	uint32_t timer_gen;
	const struct emu_transport *tp;
	int tcp_fd;		  /* TLS over TCP: the client's connection, else -1 */
	struct emu_tls_conn *tls; /* TLS over TCP: emu_tls.c's state, else NULL */
	struct emu_msg_state msg; /* its CoAP (emu_msg.c) */
	/* Digest of the master secret (kept by resumption): which device a
	 * resumed session belongs to. */
	uint8_t lineage[EMU_LINEAGE_LEN];
	int has_lineage;
	int cookie_verified;
	uint8_t hello_random[32]; /* of the ClientHello that created it (DTLS) */
	int resumed;
	const char *resumed_by;	 /* "cache" or "ticket" when resumed, else NULL */
	struct emu_vhost *vhost; /* NULL: the default vhost */
	struct emu_gen *gen;	 /* credentials generation (NULL: the initial one) */
	char sni[256];		 /* as sent (sanitized), "" if none */
	char identity[EMU_PSK_IDENTITY_MAX + 1];
	char subject[256];		  /* client certificate subject, "" if none */
	int alert_sent[2], alert_recv[2]; /* level, description; level 0 = none */
	uint64_t last_order;		  /* newest epoch/seq accepted */
	uint32_t bad_macs;		  /* bad-MAC records on its own address */
	uint64_t pending_order;		  /* epoch/seq of the datagram being read */
	uint64_t bytes_in, bytes_out, bytes_held;
	int64_t started_ms;
	int64_t last_in_ms;		 /* the last datagram from the peer (idle timeouts) */
	char location[EMU_LOCATION_MAX]; /* the registration made on this session, "" if none */
	UT_hash_handle hh_addr, hh_cid, hh_id;
	/* Datagrams held back by the anti-amplification limit (emu_amp.c). */
	struct emu_amp *amp;
	/* Alert-only datagrams Mbed TLS sent inside one mbedtls_ssl_read
	 * (emu_reneg.c: a refused renegotiation). */
	uint32_t alerts_in_read;
	/* $.dtls.pack_records: what Mbed TLS sends while one datagram of the
	 * peer is read, joined into one datagram (emu_dtls.c). */
	uint8_t *pack_buf;
	size_t pack_len, pack_cap;
	uint32_t pack_count; /* sends joined in pack_buf */
	int packing;	     /* bio_send joins instead of sending */
};

/* The length a CID names by its first byte: CIDs of 2+ bytes start with
 * their length plus a random multiple of 33, which keeps ~3 random bits in
 * that byte while the demux reads the length back as first byte % 33. */
#define EMU_CID_LEN_OF(first) ((size_t)(first) % 33)
/* A first byte for a len-byte CID from a random byte r. */
static inline uint8_t emu_cid_first_byte(size_t len, uint8_t r)
{
	return (uint8_t)(len + 33 * (r % ((255 - len) / 33 + 1)));
}

/* TCP sessions' address keys carry this extra byte, so they never collide
 * with a UDP peer of the same address. */
#define EMU_ADDR_KEY_TCP_MARK 't'
/* ... and plain CoAP sessions this one: the same client may talk DTLS and
 * plain CoAP from one address and port to the two server ports. */
#define EMU_ADDR_KEY_PLAIN_MARK 'c'

struct emu_sessions {
	struct emu_session *by_addr, *by_cid, *by_id;
	uint64_t next_id;
	size_t count;
	/* The CIDs indexed, by length; and how many of them do not name their
	 * length (EMU_CID_LEN_OF; 1-byte CIDs, or restored from an older run):
	 * the demux can only read lengths from first bytes while this is 0. */
	size_t cid_count[EMU_CID_MAX + 1];
	size_t cid_unprefixed;
};

/* Closes any session (DTLS, TLS, plain): emits session_closed with reason,
 * releases its CoAP state and transport, unindexes and frees it. */
void emu_session_close(struct emu_session *s, const char *reason);

/* Builds the address key of sa into key; returns its length (0: not IP). */
size_t emu_addr_key(const struct sockaddr *sa, uint8_t key[EMU_ADDR_KEY_MAX]);

void emu_sessions_init(struct emu_sessions *t);
/* Gives s an id and indexes it by address (and CID when cid_len > 0 or
 * cid_indexed is requested). */
void emu_sessions_add(struct emu_sessions *t, struct emu_session *s);
/* Removes s from every index. */
void emu_sessions_remove(struct emu_sessions *t, struct emu_session *s);
/* Indexes s by its own CID (after it was chosen). */
void emu_sessions_index_cid(struct emu_sessions *t, struct emu_session *s);
/* Moves s to a new peer address (re-keys the address index). */
void emu_sessions_move(struct emu_sessions *t, struct emu_session *s, const struct sockaddr *sa,
		       socklen_t len);
struct emu_session *emu_sessions_by_addr(struct emu_sessions *t, const struct sockaddr *sa);
/* The session indexed under an address key (with its mark, if any). */
struct emu_session *emu_sessions_by_key(struct emu_sessions *t, const uint8_t *key, size_t len);
struct emu_session *emu_sessions_by_cid(struct emu_sessions *t, const uint8_t *cid, size_t len);
struct emu_session *emu_sessions_by_id(struct emu_sessions *t, uint64_t id);

#endif
