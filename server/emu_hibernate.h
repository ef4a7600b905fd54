#ifndef EMU_HIBERNATE_H
#define EMU_HIBERNATE_H
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uthash.h>

#include "emu_hib_index.h"
#include "emu_registry.h"

/* Hibernation of idle DTLS sessions ($.dtls.hibernate_after, emu_hibernate.c).
 * An established session quiet for that long is serialized with
 * mbedtls_ssl_context_save (a few hundred bytes) and its emu_session, its
 * Mbed TLS context and its two 16 KiB record buffers are freed: what is
 * left is one compact struct emu_hib, found by the same CID, peer address
 * and id as before. Its next record (or a server request to its device)
 * restores it with mbedtls_ssl_setup + mbedtls_ssl_context_load on the
 * config it was set up with: no handshake, nothing the client can see. A
 * woken session whose datagram did not authenticate (bad MAC, replay,
 * garbage) goes straight back to sleep, counted. At most
 * $.dtls.hibernate_max_awake woken sessions hold a context at once: beyond
 * that, records for hibernated sessions are dropped (record_dropped reason
 * wake_limit, one wake_limit_reached event per second at most). */

struct emu_server;
struct emu_session;
struct emu_vhost;
struct emu_gen;
struct mbedtls_ssl_config;

/* One hibernated session: everything a live one needs to go on, nothing
 * more. The blob and the strings live in the tail (one allocation). */
struct emu_hib {
	uint64_t id; /* the session id, kept across sleep and wake */
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} peer;
	uint8_t peer_len;
	uint8_t addr_key_len;
	uint8_t cid_len;
	uint8_t flags; /* EMU_HIB_* */
	uint8_t addr_key[19];
	uint8_t cid[32];
	uint16_t next_mid;
	uint16_t blob_len;
	uint16_t identity_len, subject_len, sni_len;
	uint32_t bad_macs;
	uint32_t timer_gen;
	int64_t timer_fin;
	int64_t started_ms, last_in_ms;
	uint64_t last_order, bytes_in, bytes_out;
	uint8_t lineage[16];
	uint8_t hello_random[32];
	char location[EMU_LOCATION_MAX];
	struct emu_vhost *vhost;
	struct emu_gen *gen; /* held: the config below belongs to it */
	const struct mbedtls_ssl_config *conf;
	/* CoAP duplicates still within EXCHANGE_LIFETIME (emu_dedup.h), packed
	 * at the end of the tail: count, then mid, time, ACK length and bytes. */
	uint16_t dedup_len;
	uint8_t tail[]; /* blob, identity, subject, sni (no NULs), dedup */
};

#define EMU_HIB_LINEAGE 0x01
#define EMU_HIB_RESUMED 0x02
#define EMU_HIB_COOKIE 0x04
#define EMU_HIB_CID_INDEXED 0x08

struct emu_hib_stats {
	uint64_t hibernated, woken, rehibernated_unauthenticated, wake_limit_drops;
	uint64_t save_failed;
};

/* Hibernated sessions up to this size come from a pool of their own (1 MiB
 * mappings, a free list per 16-byte size class): they are what stays once
 * the live sessions are gone, and packed together they do not pin the
 * pages the freed contexts leave behind. Larger ones use malloc. */
#define EMU_HIB_POOL_MAX 4096
#define EMU_HIB_POOL_CLASSES (EMU_HIB_POOL_MAX / 16 + 1)

struct emu_hib_pool {
	void *free[EMU_HIB_POOL_CLASSES]; /* per class: a list through the first word */
	uint8_t *cur, *end;		  /* the chunk being carved */
	void *chunks;			  /* mapped chunks, listed through their first word */
	size_t mapped;
};

/* Hangs off struct emu_server. */
struct emu_hibernation {
	struct emu_hib_pool pool;
	int malloc_tuned;
	/* by id, and by CID or address: open addressing (emu_hib_index.h), 16
	 * bytes per entry at most where a uthash handle took 56 in each hib */
	struct emu_hib_index by_id, by_cid, by_addr;
	size_t count; /* hibernated now */
	size_t awake; /* woken and still holding a context */
	size_t bytes; /* what the hibernated sessions hold (structs + tails) */
	size_t freed_since_trim;
	int64_t limit_reported_ms;
	/* No live session is due to hibernate before sweep_floor_ms (computed
	 * with hibernate_after = sweep_after_ms): the once-a-second sweep scans
	 * the live sessions only from then on (~0.3-0.8 us each: 5-12 ms at
	 * 15k), not every second. A session's due time (last activity + after)
	 * only moves later, and a new or woken one's is at least now + after. */
	int64_t sweep_floor_ms, sweep_after_ms;
	struct emu_hib_stats stats;
};

/* Hibernates every open DTLS session quiet for $.dtls.hibernate_after
 * seconds (called once a second from the loop). */
void emu_hib_sweep(struct emu_server *srv, int64_t now);
/* Hibernates s now (reason for the event). Returns 0 (s is freed), or -1
 * (Mbed TLS cannot save it yet: it stays live, counted). */
int emu_hib_put(struct emu_session *s, const char *reason);
/* A datagram with a CID no live session has: when a hibernated session
 * has it, wakes it and routes the datagram. Returns 1 when handled. */
int emu_hib_route_cid(struct emu_server *srv, const uint8_t *cid, size_t cid_len,
		      const uint8_t *buf, size_t len, const struct sockaddr *from,
		      socklen_t from_len);
/* The same for a datagram from an address no live session has. */
int emu_hib_route_addr(struct emu_server *srv, const uint8_t *buf, size_t len,
		       const struct sockaddr *from, socklen_t from_len);
/* The live session with this id, waking it when it is hibernated (a server
 * request to its device); NULL when there is none or the wake limit is
 * reached (err says which). */
struct emu_session *emu_hib_session(struct emu_server *srv, uint64_t id, char *err,
				    size_t err_size);
/* A timer popped for an id no live session has: the idle timeout of a
 * hibernated session, decided without waking it. */
void emu_hib_timer(struct emu_server *srv, uint64_t id, uint32_t gen);
/* s is being closed: a woken session gives its wake slot back. */
void emu_hib_forget(struct emu_session *s);
/* The device of location moved off hibernated session id for certain:
 * closes that session (reason superseded) when it still carries location.
 * Returns 1 when it closed it. */
int emu_hib_supersede(struct emu_server *srv, uint64_t id, const char *location);
/* Sets up what hibernation needs (malloc's mmap threshold when it is on). */
void emu_hib_init(struct emu_server *srv);
/* Closes every hibernated session (shutdown), emitting session_closed. */
void emu_hib_fini(struct emu_server *srv);
/* A session as the state file has it (graceful restart). */
struct emu_hib_saved {
	struct emu_vhost *vhost;
	const struct sockaddr *peer;
	socklen_t peer_len;
	const uint8_t *cid;
	size_t cid_len;
	const uint8_t *blob; /* the saved context, its record counter advanced */
	size_t blob_len;
	const char *identity, *subject;
	const uint8_t *lineage; /* 16 bytes, or NULL */
	uint64_t last_order;
};
/* Adds a hibernated session straight from the state file (at start, before
 * any reload: it uses the server's own generation), with a new id: no
 * context is allocated until its device talks. The caller has checked that
 * no two entries share a CID (emu_state_bin.c validates the whole file
 * first). Returns it, or NULL on allocation failure or an address that
 * cannot be used. */
struct emu_hib *emu_hib_restore(struct emu_server *srv, const struct emu_hib_saved *in);
/* Sizes the indexes for about n hibernated sessions (a restore, after its
 * first emu_hib_restore: lh_hash.h says why). */
void emu_hib_reserve(struct emu_server *srv, size_t n);
/* Iteration for the state file: the first hibernated session, the next. */
struct emu_hib *emu_hib_first(struct emu_server *srv);
struct emu_hib *emu_hib_next(struct emu_server *srv, struct emu_hib *h);
/* The saved context and strings of h. */
const uint8_t *emu_hib_blob(const struct emu_hib *h);
const char *emu_hib_identity(const struct emu_hib *h, size_t *len);
const char *emu_hib_subject(const struct emu_hib *h, size_t *len);
const char *emu_hib_sni(const struct emu_hib *h, size_t *len);
/* The hibernated session with this id, or NULL (it is not woken). */
const struct emu_hib *emu_hib_find(struct emu_server *srv, uint64_t id);

#endif
