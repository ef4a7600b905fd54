#include "emu_registry.h"
#include "lh_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registrations that share one identity (a list: the count alone
 * would not tell which one is left when it drops back to one). */
struct emu_idref {
	size_t count;
	struct emu_reg *head;
	UT_hash_handle hh;
	char identity[]; /* one allocation: a fleet has one per device */
};

/* One distinct links array, shared by every registration that sent the
 * same list: a fleet's devices send the same objects, and a private copy
 * cost ~290 bytes per device (the array, its table, a string and its text
 * per link). Found by its compact JSON text; freed with its last user. */
struct emu_linkset {
	struct emu_registry *reg;
	json_t *links;
	size_t users;
	UT_hash_handle hh;
	char key[];
};

void emu_registry_init(struct emu_registry *reg, uint32_t seed)
{
	memset(reg, 0, sizeof(*reg));
	reg->next_id = seed;
}

/* Gives up r's use of its shared links array (freed with the last user). */
static void links_unshare(struct emu_reg *r)
{
	struct emu_linkset *ls = r->linkset;
	r->linkset = NULL;
	if (!ls || --ls->users > 0)
		return;
	if (ls->reg->last_linkset == ls)
		ls->reg->last_linkset = NULL;
	HASH_DEL(ls->reg->by_links, ls);
	json_decref(ls->links);
	free(ls);
}

/* A new entry for links under key (its compact JSON text), or NULL. */
static struct emu_linkset *linkset_new(struct emu_registry *reg, json_t *links, const char *key)
{
	size_t len = strlen(key);
	struct emu_linkset *ls = malloc(sizeof(*ls) + len + 1);
	if (!ls)
		return NULL;
	memcpy(ls->key, key, len + 1);
	ls->reg = reg;
	ls->links = json_incref(links);
	ls->users = 0;
	HASH_ADD_KEYPTR(hh, reg->by_links, ls->key, len, ls);
	return ls;
}

/* The entry for links: found by its compact JSON text, or new (NULL when
 * memory runs out). */
static struct emu_linkset *linkset_find(struct emu_registry *reg, json_t *links)
{
	char *key = json_dumps(links, JSON_COMPACT | JSON_ENCODE_ANY);
	struct emu_linkset *ls = NULL;
	if (key)
		HASH_FIND_STR(reg->by_links, key, ls);
	if (key && !ls)
		ls = linkset_new(reg, links, key);
	free(key);
	return ls;
}

/* Points r at the shared array equal to links (links itself when it is the
 * first such, or privately when memory runs out). Passed the array the
 * last one shared (a state restore hands each registration its
 * predecessor's when their bytes are equal: most of a fleet's), it takes
 * that entry without writing links out as JSON to look it up: at 100k
 * registrations that text was a fifth of a restore's instructions. */
static void links_share(struct emu_registry *reg, struct emu_reg *r, json_t *links)
{
	struct emu_linkset *ls = reg->last_linkset;
	if (!ls || ls->links != links)
		ls = linkset_find(reg, links);
	if (ls) {
		ls->users++;
		reg->last_linkset = ls;
	}
	r->linkset = ls;
	r->links = json_incref(ls ? ls->links : links);
}

void emu_registry_set_links(struct emu_registry *reg, struct emu_reg *r, json_t *links)
{
	links_unshare(r);
	json_decref(r->links);
	links_share(reg, r, links);
}

size_t emu_registry_linksets(const struct emu_registry *reg)
{
	return HASH_CNT(hh, reg->by_links);
}

/* Version and binding values as devices send them (LwM2M 1.0-1.2). */
static const char *const emu_reg_common[] = {"1.0", "1.1", "1.2", "U",	 "UQ", "Q",
					     "S",   "SQ",  "US",  "UQS", "N",  "T"};

/* The table entry equal to v, or NULL. */
static const char *reg_text_common(const char *v)
{
	for (size_t i = 0; i < sizeof(emu_reg_common) / sizeof(emu_reg_common[0]); i++)
		if (strcmp(v, emu_reg_common[i]) == 0)
			return emu_reg_common[i];
	return NULL;
}

/* See emu_registry.h. */
const char *emu_reg_text(const char *v)
{
	const char *c;
	if (!v)
		return NULL;
	c = reg_text_common(v);
	return c ? c : strdup(v);
}

/* See emu_registry.h: a table entry is recognised by its address. */
void emu_reg_text_free(const char *v)
{
	for (size_t i = 0; i < sizeof(emu_reg_common) / sizeof(emu_reg_common[0]); i++)
		if (v == emu_reg_common[i])
			return;
	free((char *)v);
}

/* Frees a registration's strings and itself. */
void emu_reg_free(struct emu_reg *r)
{
	if (!r)
		return;
	links_unshare(r);
	emu_reg_text_free(r->lwm2m);
	emu_reg_text_free(r->binding);
	json_decref(r->links);
	free(r);
}

void emu_registry_fini(struct emu_registry *reg)
{
	struct emu_reg *r, *tmp;
	HASH_ITER(hh_loc, reg->by_loc, r, tmp)
	{
		emu_registry_remove(reg, r);
		emu_reg_free(r);
	}
}

/* A zeroed registration with endpoint and identity (NULL: none) copied
 * into its own tail: one allocation instead of three. */
static struct emu_reg *reg_new(const char *endpoint, const char *identity)
{
	size_t el = strlen(endpoint) + 1, il = identity ? strlen(identity) + 1 : 0;
	struct emu_reg *r = calloc(1, sizeof(*r) + el + il);
	if (!r)
		return NULL;
	r->endpoint = memcpy(r->tail, endpoint, el);
	r->identity = identity ? memcpy(r->tail + el, identity, il) : NULL;
	return r;
}

/* Adds r to the list of its identity's registrations. */
static int id_link(struct emu_registry *reg, struct emu_reg *r)
{
	struct emu_idref *ref = NULL;
	if (!r->identity)
		return 0;
	HASH_FIND(hh, reg->by_id, r->identity, strlen(r->identity), ref);
	if (!ref) {
		size_t len = strlen(r->identity);
		ref = calloc(1, sizeof(*ref) + len + 1);
		if (!ref)
			return -1;
		memcpy(ref->identity, r->identity, len + 1);
		HASH_ADD_KEYPTR(hh, reg->by_id, ref->identity, len, ref);
	}
	r->idref = ref;
	r->id_prev = NULL;
	r->id_next = ref->head;
	if (ref->head)
		ref->head->id_prev = r;
	ref->head = r;
	ref->count++;
	return 0;
}

/* Takes r off its identity's list (freeing the list when empty). */
static void id_unlink(struct emu_registry *reg, struct emu_reg *r)
{
	struct emu_idref *ref = r->idref;
	if (!ref)
		return;
	if (r->id_prev)
		r->id_prev->id_next = r->id_next;
	else
		ref->head = r->id_next;
	if (r->id_next)
		r->id_next->id_prev = r->id_prev;
	r->idref = NULL;
	if (--ref->count == 0) {
		HASH_DEL(reg->by_id, ref);
		free(ref);
	}
}

/* Picks the next unused location; the loop only repeats after a wrap. */
static void next_location(struct emu_registry *reg, struct emu_reg *r)
{
	do {
		snprintf(r->location, sizeof(r->location), "/rd/%x", reg->next_id++);
	} while (emu_registry_find(reg, r->location));
}

struct emu_reg *emu_registry_add(struct emu_registry *reg, const char *endpoint,
				 const char *identity, json_t *links, struct emu_reg **replaced)
{
	struct emu_reg *r = reg_new(endpoint, identity);
	*replaced = NULL;
	if (!r)
		return NULL;
	links_share(reg, r, links);
	struct emu_reg *old = emu_registry_find_ep(reg, endpoint);
	if (id_link(reg, r) < 0) {
		emu_reg_free(r);
		return NULL;
	}
	if (old) {
		emu_registry_remove(reg, old);
		*replaced = old;
	}
	next_location(reg, r);
	size_t llen = strlen(r->location);
	HASH_ADD_KEYPTR(hh_loc, reg->by_loc, r->location, llen, r);
	HASH_ADD_KEYPTR(hh_ep, reg->by_ep, r->endpoint, strlen(r->endpoint), r);
	reg->count++;
	return r;
}

struct emu_reg *emu_registry_restore(struct emu_registry *reg, const char *location,
				     const char *endpoint, const char *identity, json_t *links)
{
	if (emu_registry_find(reg, location) || emu_registry_find_ep(reg, endpoint))
		return NULL;
	return emu_registry_restore_new(reg, location, endpoint, identity, links);
}

struct emu_reg *emu_registry_restore_new(struct emu_registry *reg, const char *location,
					 const char *endpoint, const char *identity, json_t *links)
{
	if (strlen(location) >= EMU_LOCATION_MAX || strncmp(location, "/rd/", 4) != 0)
		return NULL;
	struct emu_reg *r = reg_new(endpoint, identity);
	if (!r)
		return NULL;
	links_share(reg, r, links);
	if (id_link(reg, r) < 0) {
		emu_reg_free(r);
		return NULL;
	}
	snprintf(r->location, sizeof(r->location), "%s", location);
	HASH_ADD_KEYPTR(hh_loc, reg->by_loc, r->location, strlen(r->location), r);
	HASH_ADD_KEYPTR(hh_ep, reg->by_ep, r->endpoint, strlen(r->endpoint), r);
	reg->count++;
	return r;
}

void emu_registry_reserve(struct emu_registry *reg, size_t n)
{
	LH_HASH_RESERVE(hh_loc, reg->by_loc, n);
	LH_HASH_RESERVE(hh_ep, reg->by_ep, n);
	LH_HASH_RESERVE(hh_lin, reg->by_lin, n);
	LH_HASH_RESERVE(hh, reg->by_id, n);
}

struct emu_reg *emu_registry_find(struct emu_registry *reg, const char *location)
{
	struct emu_reg *r = NULL;
	HASH_FIND(hh_loc, reg->by_loc, location, strlen(location), r);
	return r;
}

struct emu_reg *emu_registry_find_ep(struct emu_registry *reg, const char *endpoint)
{
	struct emu_reg *r = NULL;
	HASH_FIND(hh_ep, reg->by_ep, endpoint, strlen(endpoint), r);
	return r;
}

void emu_registry_remove(struct emu_registry *reg, struct emu_reg *r)
{
	HASH_DELETE(hh_loc, reg->by_loc, r);
	HASH_DELETE(hh_ep, reg->by_ep, r);
	if (r->has_lineage)
		HASH_DELETE(hh_lin, reg->by_lin, r);
	r->has_lineage = 0;
	id_unlink(reg, r);
	reg->count--;
}

void emu_registry_set_lineage(struct emu_registry *reg, struct emu_reg *r,
			      const uint8_t lineage[EMU_LINEAGE_LEN])
{
	struct emu_reg *holder = emu_registry_find_lineage(reg, lineage);
	if (holder == r)
		return;
	if (holder) {
		HASH_DELETE(hh_lin, reg->by_lin, holder);
		holder->has_lineage = 0;
	}
	if (r->has_lineage)
		HASH_DELETE(hh_lin, reg->by_lin, r);
	memcpy(r->lineage, lineage, EMU_LINEAGE_LEN);
	r->has_lineage = 1;
	HASH_ADD(hh_lin, reg->by_lin, lineage, EMU_LINEAGE_LEN, r);
}

struct emu_reg *emu_registry_find_lineage(struct emu_registry *reg,
					  const uint8_t lineage[EMU_LINEAGE_LEN])
{
	struct emu_reg *r = NULL;
	HASH_FIND(hh_lin, reg->by_lin, lineage, EMU_LINEAGE_LEN, r);
	return r;
}

struct emu_reg *emu_registry_find_identity(struct emu_registry *reg, const char *identity,
					   size_t *count)
{
	struct emu_idref *ref = NULL;
	if (identity)
		HASH_FIND(hh, reg->by_id, identity, strlen(identity), ref);
	*count = ref ? ref->count : 0;
	return ref ? ref->head : NULL;
}

/* A linear scan: registrations are few next to sessions, and the loop calls
 * this about once a second. */
void emu_registry_set_expiry(struct emu_registry *reg, struct emu_reg *r, int64_t expires_ms)
{
	r->expires_ms = expires_ms;
	if (expires_ms < reg->expiry_floor_ms)
		reg->expiry_floor_ms = expires_ms;
}

struct emu_reg *emu_registry_expired(struct emu_registry *reg, int64_t now_ms)
{
	struct emu_reg *r, *tmp, *best = NULL;
	int64_t next = INT64_MAX;
	if (now_ms < reg->expiry_floor_ms)
		return NULL; /* none can be due yet */
	HASH_ITER(hh_loc, reg->by_loc, r, tmp)
	{
		if (r->expires_ms <= now_ms && (!best || r->expires_ms < best->expires_ms))
			best = r;
		else if (r->expires_ms > now_ms && r->expires_ms < next)
			next = r->expires_ms;
	}
	/* With one due the caller removes it and asks again: the floor
	 * stays, so that the next call scans for the others. */
	if (!best)
		reg->expiry_floor_ms = next;
	return best;
}
