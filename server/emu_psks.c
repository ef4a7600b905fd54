/* The PSK table: one arena of packed entries and an open-addressing hash
 * (emu_psks.h says why). */
#include "emu_psks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR 8 /* id_len, key_len, ep_len, src, index (4 bytes, host order) */

void emu_psks_free(struct emu_psks *t)
{
	free(t->arena);
	free(t->slots);
	for (size_t i = 0; i < t->src_count; i++)
		free(t->srcs[i]);
	memset(t, 0, sizeof(*t));
}

/* FNV-1a: identities are operator-chosen names, and a client's identity can
 * only probe the entries the operator gave, so no keyed hash is needed. */
static uint32_t hash_bytes(const unsigned char *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The entry at arena offset off as a view. */
static void view_at(const struct emu_psks *t, size_t off, struct emu_psk_view *v)
{
	const unsigned char *h = t->arena + off;
	v->identity_len = h[0];
	v->key_len = h[1];
	v->identity = (const char *)h + HDR;
	v->key = h + HDR + h[0] + 1;
	v->endpoint = h[2] ? (const char *)v->key + h[1] : "";
}

/* Bytes an entry takes in the arena. */
static size_t entry_size(const unsigned char *h)
{
	return HDR + h[0] + 1u + h[1] + (h[2] ? h[2] + 1u : 0);
}

/* Writes "$.psk[3]" (or "--psk") for the entry at arena offset off. */
static void where_at(const struct emu_psks *t, size_t off, char *buf, size_t size)
{
	const unsigned char *h = t->arena + off;
	uint32_t index;
	memcpy(&index, h + 4, sizeof(index));
	if (index == EMU_PSKS_NO_INDEX)
		snprintf(buf, size, "%s", t->srcs[h[3]]);
	else
		snprintf(buf, size, "%s[%u]", t->srcs[h[3]], index);
}

/* The slot holding identity, or the empty slot where it would go. */
static struct emu_psk_slot *probe(const struct emu_psks *t, const void *id, size_t len,
				  uint32_t hash)
{
	size_t mask = t->nslots - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct emu_psk_slot *s = &t->slots[i];
		if (!s->off)
			return s;
		const unsigned char *h = t->arena + s->off - 1;
		if (s->hash == hash && h[0] == len && memcmp(h + HDR, id, len) == 0)
			return s;
	}
}

/* Doubles the slot array (kept at most 3/4 full so probes stay short). */
static int grow_slots(struct emu_psks *t)
{
	size_t n = t->nslots ? 2 * t->nslots : 64;
	struct emu_psk_slot *old = t->slots, *fresh = calloc(n, sizeof(*fresh));
	size_t old_n = t->nslots;
	if (!fresh)
		return -1;
	t->slots = fresh;
	t->nslots = n;
	for (size_t i = 0; i < old_n; i++)
		if (old[i].off) {
			const unsigned char *h = t->arena + old[i].off - 1;
			*probe(t, h + HDR, h[0], old[i].hash) = old[i];
		}
	free(old);
	return 0;
}

/* Makes room for need more arena bytes (doubling: O(n) copies in all). */
static int reserve(struct emu_psks *t, size_t need)
{
	if (t->used + need <= t->cap)
		return 0;
	size_t cap = t->cap ? t->cap : 4096;
	while (cap < t->used + need)
		cap *= 2;
	unsigned char *p = realloc(t->arena, cap);
	if (!p)
		return -1;
	t->arena = p;
	t->cap = cap;
	return 0;
}

/* The number of src in t->srcs, added when new; -1 when full. */
static int src_number(struct emu_psks *t, const char *src)
{
	for (size_t i = 0; i < t->src_count; i++)
		if (strcmp(t->srcs[i], src) == 0)
			return (int)i;
	if (t->src_count == sizeof(t->srcs) / sizeof(t->srcs[0]))
		return -1;
	t->srcs[t->src_count] = strdup(src);
	return t->srcs[t->src_count] ? (int)t->src_count++ : -1;
}

/* Copies one entry to the arena's end; returns its offset. */
static size_t append(struct emu_psks *t, const char *id, size_t ilen, const unsigned char *key,
		     size_t klen, const char *ep, size_t elen, int src, uint32_t index)
{
	size_t off = t->used;
	unsigned char *h = t->arena + off;
	h[0] = (unsigned char)ilen;
	h[1] = (unsigned char)klen;
	h[2] = (unsigned char)elen;
	h[3] = (unsigned char)src;
	memcpy(h + 4, &index, sizeof(index));
	memcpy(h + HDR, id, ilen);
	h[HDR + ilen] = '\0';
	memcpy(h + HDR + ilen + 1, key, klen);
	if (elen) {
		memcpy(h + HDR + ilen + 1 + klen, ep, elen);
		h[HDR + ilen + 1 + klen + elen] = '\0';
	}
	t->used += entry_size(h);
	return off;
}

int emu_psks_add(struct emu_psks *t, const char *identity, const unsigned char *key, size_t key_len,
		 const char *endpoint, const char *src, uint32_t index, char *err, size_t err_size)
{
	size_t ilen = strlen(identity), elen = endpoint ? strlen(endpoint) : 0;
	int n = src_number(t, src);
	if (ilen == 0 || ilen > 255 || key_len == 0 || key_len > 255 || elen > 255 || n < 0) {
		snprintf(err, err_size, "%s: PSK entry out of the table's limits", src);
		return -1;
	}
	size_t need = HDR + ilen + 1 + key_len + (elen ? elen + 1 : 0);
	if (t->used + need >= UINT32_MAX || reserve(t, need) < 0 ||
	    ((t->count + 1) * 4 > t->nslots * 3 && grow_slots(t) < 0)) {
		snprintf(err, err_size, "%s: out of memory for the PSK table", src);
		return -1;
	}
	uint32_t hash = hash_bytes((const unsigned char *)identity, ilen);
	struct emu_psk_slot *s = probe(t, identity, ilen, hash);
	size_t off = append(t, identity, ilen, key, key_len, endpoint, elen, n, index);
	if (!s->off) {
		s->off = (uint32_t)off + 1;
		s->hash = hash;
	} else if (!t->dup_off) {
		t->dup_off = (uint32_t)off + 1;
		t->dup_prev = s->off;
	}
	t->count++;
	return 0;
}

int emu_psks_check(const struct emu_psks *t, char *err, size_t err_size)
{
	char here[96], there[96];
	if (!t->dup_off)
		return 0;
	where_at(t, t->dup_off - 1, here, sizeof(here));
	where_at(t, t->dup_prev - 1, there, sizeof(there));
	snprintf(err, err_size, "%s: PSK identity \"%s\" is given twice (also at %s)", here,
		 (const char *)t->arena + t->dup_off - 1 + HDR, there);
	return -1;
}

void emu_psks_shrink(struct emu_psks *t)
{
	if (!t->used || t->used == t->cap)
		return;
	unsigned char *p = realloc(t->arena, t->used);
	if (p) {
		t->arena = p;
		t->cap = t->used;
	}
}

int emu_psks_find(const struct emu_psks *t, const void *identity, size_t len,
		  struct emu_psk_view *out)
{
	if (!t || !t->nslots || len == 0 || len > 255)
		return 0;
	const struct emu_psk_slot *s =
	    probe(t, identity, len, hash_bytes((const unsigned char *)identity, len));
	if (!s->off)
		return 0;
	view_at(t, s->off - 1, out);
	return 1;
}

int emu_psks_next(const struct emu_psks *t, size_t *cursor, struct emu_psk_view *out)
{
	if (*cursor >= t->used)
		return 0;
	view_at(t, *cursor, out);
	*cursor += entry_size(t->arena + *cursor);
	return 1;
}

size_t emu_psks_bytes(const struct emu_psks *t)
{
	return t->cap + t->nslots * sizeof(*t->slots);
}
