/* Open-addressing index of hibernated sessions; see emu_hib_index.h. */
#include "emu_hib_index.h"

#include <stdlib.h>
#include <string.h>

#include "emu_hibernate.h"

/* The key h is indexed under in t. */
static const uint8_t *key_of(const struct emu_hib_index *t, const struct emu_hib *h, size_t *len)
{
	if (t->kind == EMU_HIB_KEY_CID) {
		*len = h->cid_len;
		return h->cid;
	}
	if (t->kind == EMU_HIB_KEY_ID) {
		*len = sizeof(h->id);
		return (const uint8_t *)&h->id;
	}
	*len = h->addr_key_len;
	return h->addr_key;
}

/* FNV-1a, then a multiply to spread the low bits the mask keeps (CIDs
 * are random already; address keys differ mostly in their last bytes). */
static size_t hash(const uint8_t *k, size_t len)
{
	uint64_t x = UINT64_C(0xcbf29ce484222325);
	for (size_t i = 0; i < len; i++)
		x = (x ^ k[i]) * UINT64_C(0x100000001b3);
	return (size_t)((x * UINT64_C(0x9e3779b97f4a7c15)) >> 17);
}

static size_t home(const struct emu_hib_index *t, const struct emu_hib *h)
{
	size_t len;
	const uint8_t *k = key_of(t, h, &len);
	return hash(k, len) & (t->cap - 1);
}

/* Places h in the first free slot from its home (the table has room). */
static void place(struct emu_hib_index *t, struct emu_hib *h)
{
	size_t i = home(t, h);
	while (t->slot[i])
		i = (i + 1) & (t->cap - 1);
	t->slot[i] = h;
}

/* Doubles the table (1024 slots at first) and places every entry again. */
static int grow(struct emu_hib_index *t)
{
	size_t old_cap = t->cap, cap = old_cap ? old_cap * 2 : 1024;
	struct emu_hib **old = t->slot;
	t->slot = calloc(cap, sizeof(*t->slot));
	if (!t->slot) {
		t->slot = old;
		return -1;
	}
	t->cap = cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i])
			place(t, old[i]);
	free(old);
	return 0;
}

int emu_hib_index_reserve(struct emu_hib_index *t, size_t n)
{
	while ((t->used + n) * 2 > t->cap)
		if (grow(t) < 0)
			return -1;
	return 0;
}

int emu_hib_index_add(struct emu_hib_index *t, struct emu_hib *h)
{
	if ((t->used + 1) * 2 > t->cap && grow(t) < 0)
		return -1;
	place(t, h);
	t->used++;
	return 0;
}

/* Whether the entry at j, whose home is k, may move back to the hole at
 * i: k is not cyclically within (i, j]. */
static int may_fill(size_t i, size_t j, size_t k)
{
	return i <= j ? (k <= i || k > j) : (k <= i && k > j);
}

void emu_hib_index_del(struct emu_hib_index *t, struct emu_hib *h)
{
	size_t mask = t->cap - 1, i;
	if (!t->cap)
		return;
	for (i = home(t, h); t->slot[i] && t->slot[i] != h; i = (i + 1) & mask)
		;
	if (t->slot[i] != h)
		return;
	/* Backward shift: later entries of the run move into the hole when
	 * their home allows, so every probe sequence stays unbroken. */
	for (size_t j = (i + 1) & mask; t->slot[j]; j = (j + 1) & mask) {
		if (may_fill(i, j, home(t, t->slot[j]))) {
			t->slot[i] = t->slot[j];
			i = j;
		}
	}
	t->slot[i] = NULL;
	t->used--;
}

struct emu_hib *emu_hib_index_find(const struct emu_hib_index *t, const uint8_t *key, size_t len)
{
	size_t mask = t->cap - 1, klen;
	if (!t->cap)
		return NULL;
	for (size_t i = hash(key, len) & mask; t->slot[i]; i = (i + 1) & mask) {
		const uint8_t *k = key_of(t, t->slot[i], &klen);
		if (klen == len && memcmp(k, key, len) == 0)
			return t->slot[i];
	}
	return NULL;
}

struct emu_hib *emu_hib_index_next(const struct emu_hib_index *t, const struct emu_hib *h)
{
	size_t mask = t->cap - 1, i = 0;
	if (!t->cap)
		return NULL;
	if (h) {
		for (i = home(t, h); t->slot[i] && t->slot[i] != h; i = (i + 1) & mask)
			;
		if (t->slot[i] != h)
			return NULL;
		i++;
	}
	for (; i < t->cap; i++)
		if (t->slot[i])
			return t->slot[i];
	return NULL;
}

struct emu_hib *emu_hib_index_from(const struct emu_hib_index *t, size_t *pos)
{
	for (; *pos < t->cap; ++*pos)
		if (t->slot[*pos])
			return t->slot[*pos];
	return NULL;
}

void emu_hib_index_free(struct emu_hib_index *t)
{
	free(t->slot);
	t->slot = NULL;
	t->cap = t->used = 0;
}
