#ifndef EMU_HIB_INDEX_H
#define EMU_HIB_INDEX_H
#include <stddef.h>
#include <stdint.h>

/* An open-addressing table of pointers to hibernated sessions, keyed by
 * their id, CID or address key (emu_hib_index.c): 16 bytes per entry at
 * most, where a uthash handle costs 56 in every record, whether the record
 * is in that index or not. Linear probing, at most half full, deletion by
 * backward shift (no tombstones); equal keys may coexist (a NAT may hand
 * one address to two sessions). */

struct emu_hib;

enum emu_hib_key { EMU_HIB_KEY_CID, EMU_HIB_KEY_ADDR, EMU_HIB_KEY_ID };

struct emu_hib_index {
	struct emu_hib **slot;
	size_t cap; /* a power of two, or 0 */
	size_t used;
	enum emu_hib_key kind;
};

/* Adds h under its key. Returns 0, or -1 when the table cannot grow. */
int emu_hib_index_add(struct emu_hib_index *t, struct emu_hib *h);
/* Room for n more entries without growing on the way (a restore: every
 * doubling places every entry again). 0, or -1 out of memory (the adds
 * then grow as they go). */
int emu_hib_index_reserve(struct emu_hib_index *t, size_t n);
/* Removes h (this record, not another with the same key). */
void emu_hib_index_del(struct emu_hib_index *t, struct emu_hib *h);
/* A record with this key, or NULL. */
struct emu_hib *emu_hib_index_find(const struct emu_hib_index *t, const uint8_t *key, size_t len);
/* Walks the table: the entry after h in slot order (h NULL: the first),
 * or NULL at the end. The table must not change during the walk. */
struct emu_hib *emu_hib_index_next(const struct emu_hib_index *t, const struct emu_hib *h);
/* The entry in the first occupied slot at or after *pos (*pos set to that
 * slot), or NULL. Emptying a table by taking this entry from pos 0 on costs
 * O(slots): a deletion shifts entries back into the freed slot, never
 * before it once every earlier slot is empty (shutdown). */
struct emu_hib *emu_hib_index_from(const struct emu_hib_index *t, size_t *pos);
void emu_hib_index_free(struct emu_hib_index *t);

#endif
