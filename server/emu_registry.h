#ifndef EMU_REGISTRY_H
#define EMU_REGISTRY_H
#include <jansson.h>
#include <stdint.h>
#include <uthash.h>

/* LwM2M registrations: the device model. A device is its endpoint plus its
 * security identity; its registration is found in O(1) by location
 * (/rd/{id}), by endpoint name, by the TLS session lineage it was last seen
 * on (a resumed session carries its device along), and by identity (a new
 * handshake with an identity exactly one device has). A new Register from
 * an endpoint that is already registered replaces the old registration, as
 * LwM2M servers do. */

/* "/rd/" and a 32-bit id in hex ("/rd/ffffffff"), kept in every
 * registration, session and hibernated session: 16, not 32, bytes each. */
#define EMU_LOCATION_MAX 16
#define EMU_LINEAGE_LEN 16

struct emu_idref;
struct emu_linkset;

struct emu_reg {
	char location[EMU_LOCATION_MAX]; /* "/rd/5a3f" */
	char *endpoint;			 /* in tail */
	char *identity;	     /* in tail: PSK identity or cert subject; NULL for plain CoAP */
	const char *lwm2m;   /* version as sent, NULL if absent (emu_reg_text) */
	const char *binding; /* "U", NULL if absent (emu_reg_text) */
	json_t *links;	     /* array of link-value strings: shared, never changed in place */
	struct emu_linkset *linkset; /* the registry's entry for links (NULL: private) */
	uint32_t lifetime;
	int queue_mode;	     /* binding Q (LwM2M 1.0 "UQ", or 1.1's Q parameter) */
	int64_t awake_until; /* queue mode: it listens until then (monotonic ms) */
	uint64_t session;    /* the session it was made or last updated on */
	int proto;	     /* its CoAP transport there (COAP_PROTO_*): how a request
			      * queued while it has no session is framed */
	int64_t expires_ms;  /* monotonic */
	/* The (D)TLS session lineage (a digest of its master secret, which
	 * resumption keeps) it was last seen on; all zero: none. */
	uint8_t lineage[EMU_LINEAGE_LEN];
	int has_lineage;
	struct emu_idref *idref; /* the devices sharing its identity */
	struct emu_reg *id_prev, *id_next;
	UT_hash_handle hh_loc;
	UT_hash_handle hh_ep;
	UT_hash_handle hh_lin;
	char tail[]; /* endpoint, identity: one allocation per registration */
};

struct emu_registry {
	struct emu_reg *by_loc;
	struct emu_reg *by_ep;
	struct emu_reg *by_lin;
	struct emu_idref *by_id;
	struct emu_linkset *by_links;	  /* the distinct links arrays in use */
	struct emu_linkset *last_linkset; /* the one shared last (links_share) */
	uint32_t next_id;
	size_t count;
	/* No registration expires before this (a lower bound, lowered by
	 * emu_registry_set_expiry, raised by a scan that finds none due): the
	 * once-a-second expiry check scans the registrations only when one may
	 * be due, not every second (~0.4 us each: 6-8 ms at 15k). */
	int64_t expiry_floor_ms;
};

/* Starts empty; ids are hex counters starting at seed, so they differ across
 * runs but never collide within one. */
void emu_registry_init(struct emu_registry *reg, uint32_t seed);
/* Sizes the tables for about n registrations (a restore, after its first
 * registration and lineage are in: lh_hash.h says why). */
void emu_registry_reserve(struct emu_registry *reg, size_t n);
/* Frees every registration. */
void emu_registry_fini(struct emu_registry *reg);
/* Creates a registration (taking a reference on links) and gives it a new
 * location. *replaced receives the older registration of the same endpoint,
 * which is unlinked but not freed (the caller tears down its resource).
 * Returns NULL on allocation failure. */
struct emu_reg *emu_registry_add(struct emu_registry *reg, const char *endpoint,
				 const char *identity, json_t *links, struct emu_reg **replaced);
/* Re-creates a registration at a known location (graceful restart).
 * Returns NULL when the location or endpoint is taken or on allocation
 * failure. */
struct emu_reg *emu_registry_restore(struct emu_registry *reg, const char *location,
				     const char *endpoint, const char *identity, json_t *links);
/* The same without the two lookups, for a caller that has made sure the
 * location and endpoint are new (the binary state file checks uniqueness
 * of both before restoring anything: 100k lookups less at a restart). */
struct emu_reg *emu_registry_restore_new(struct emu_registry *reg, const char *location,
					 const char *endpoint, const char *identity, json_t *links);
/* Finds by location text ("/rd/5a3f"), or NULL. */
struct emu_reg *emu_registry_find(struct emu_registry *reg, const char *location);
/* Finds by endpoint name, or NULL. */
struct emu_reg *emu_registry_find_ep(struct emu_registry *reg, const char *endpoint);
/* Replaces r's links with (a shared array equal to) links; the caller keeps
 * its reference. */
void emu_registry_set_links(struct emu_registry *reg, struct emu_reg *r, json_t *links);
/* How many distinct links arrays the registrations hold. */
size_t emu_registry_linksets(const struct emu_registry *reg);
/* Unlinks r from both tables (does not free). */
void emu_registry_remove(struct emu_registry *reg, struct emu_reg *r);
/* Frees an unlinked registration. */
void emu_reg_free(struct emu_reg *r);

/* A registration's version or binding text, for r->lwm2m and r->binding:
 * NULL for NULL (and when out of memory). The values nearly every device
 * sends ("1.0", "1.1", "U", "UQ", ...) come from a fixed table, so a million
 * registrations do not cost two small mallocs each (~64 MB); others are
 * copied. */
const char *emu_reg_text(const char *v);
/* Releases what emu_reg_text returned (nothing for a table entry). */
void emu_reg_text_free(const char *v);
/* Records the session lineage r was seen on (an older holder loses it). */
void emu_registry_set_lineage(struct emu_registry *reg, struct emu_reg *r,
			      const uint8_t lineage[EMU_LINEAGE_LEN]);
/* The registration last seen on a session of this lineage, or NULL. */
struct emu_reg *emu_registry_find_lineage(struct emu_registry *reg,
					  const uint8_t lineage[EMU_LINEAGE_LEN]);
/* The registrations made with this identity: *count of them, and the
 * first (the only one when *count is 1), or NULL. */
struct emu_reg *emu_registry_find_identity(struct emu_registry *reg, const char *identity,
					   size_t *count);
/* Sets r's expiry (monotonic ms). Every change of expires_ms goes through
 * here, so that the floor of emu_registry_expired stays a lower bound. */
void emu_registry_set_expiry(struct emu_registry *reg, struct emu_reg *r, int64_t expires_ms);
/* The earliest-expiring registration at or before now_ms, or NULL. */
struct emu_reg *emu_registry_expired(struct emu_registry *reg, int64_t now_ms);

#endif
