#include "emu_registry.h"
#include "lh_hash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registrations that share one identity (a list: the count alone
 * would not tell which one is left when it drops back to one). */
struct emu_idref {
	char *identity;
	size_t count;
	struct emu_reg *head;
	UT_hash_handle hh;
};

void emu_registry_init(struct emu_registry *reg, uint32_t seed)
{
	memset(reg, 0, sizeof(*reg));
	reg->next_id = seed;
}

/* Frees a registration's strings and itself. */
void emu_reg_free(struct emu_reg *r)
{
	if (!r)
		return;
	free(r->endpoint);
	free(r->identity);
	free(r->lwm2m);
	free(r->binding);
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

/* strdup that keeps NULL as NULL. */
static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Adds r to the list of its identity's registrations. */
static int id_link(struct emu_registry *reg, struct emu_reg *r)
{
	struct emu_idref *ref = NULL;
	if (!r->identity)
		return 0;
	HASH_FIND(hh, reg->by_id, r->identity, strlen(r->identity), ref);
	if (!ref) {
		ref = calloc(1, sizeof(*ref));
		if (!ref || !(ref->identity = strdup(r->identity))) {
			free(ref);
			return -1;
		}
		HASH_ADD_KEYPTR(hh, reg->by_id, ref->identity, strlen(ref->identity), ref);
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
		free(ref->identity);
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
	struct emu_reg *r = calloc(1, sizeof(*r));
	*replaced = NULL;
	if (!r)
		return NULL;
	r->endpoint = strdup(endpoint);
	r->identity = dup_or_null(identity);
	if (!r->endpoint || (identity && !r->identity)) {
		emu_reg_free(r);
		return NULL;
	}
	r->links = json_incref(links);
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
	struct emu_reg *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->endpoint = strdup(endpoint);
	r->identity = dup_or_null(identity);
	if (!r->endpoint || (identity && !r->identity)) {
		emu_reg_free(r);
		return NULL;
	}
	r->links = json_incref(links);
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
