#ifndef EMU_PSKS_H
#define EMU_PSKS_H
#include <stddef.h>
#include <stdint.h>

/* A PSK table (identity -> key, optional bound endpoint): every entry packed
 * back to back in one arena (an 8-byte header, the identity, the key, the
 * endpoint), found through an open-addressing hash of arena offsets. About
 * 50 bytes per short identity instead of the ~1.1 KB two fixed-size copies
 * (config array + uthash entry) cost: a 1,000,000-identity fleet fits in
 * ~50 MB. Where each entry was given ("$.psk[3]", "--psk") is kept as a
 * source number and an index, for the duplicate error. */

struct emu_psk_view {
	const char *identity; /* NUL-terminated */
	size_t identity_len;
	const unsigned char *key;
	size_t key_len;
	const char *endpoint; /* bound endpoint name, "" = any */
};

struct emu_psk_slot {
	uint32_t off; /* arena offset + 1; 0: empty */
	uint32_t hash;
};

struct emu_psks {
	unsigned char *arena;
	size_t used, cap;
	struct emu_psk_slot *slots;
	size_t nslots; /* a power of two, or 0 */
	size_t count;
	char *srcs[8];	   /* "$.psk", "--psk": where entries were given */
	size_t src_count;  /* used srcs */
	uint32_t dup_off;  /* the first entry whose identity was given before (+1) */
	uint32_t dup_prev; /* that earlier entry (+1) */
};

/* No index: the entry's source names it alone ("--psk", "default"). */
#define EMU_PSKS_NO_INDEX UINT32_MAX

void emu_psks_free(struct emu_psks *t);
/* Appends identity -> key (endpoint NULL or "": any) given at src[index]
 * (index EMU_PSKS_NO_INDEX: at src). A repeated identity is recorded for
 * emu_psks_check, the first one staying the one found. -1 with err when out
 * of memory or past the table's limits (4 GB of entries, 8 sources). */
int emu_psks_add(struct emu_psks *t, const char *identity, const unsigned char *key, size_t key_len,
		 const char *endpoint, const char *src, uint32_t index, char *err, size_t err_size);
/* -1 with err naming both places when some identity was given twice. */
int emu_psks_check(const struct emu_psks *t, char *err, size_t err_size);
/* Gives back the arena's unused tail once loading is done. */
void emu_psks_shrink(struct emu_psks *t);
/* 1 and *out when the identity (len bytes, not NUL-terminated) is known. */
int emu_psks_find(const struct emu_psks *t, const void *identity, size_t len,
		  struct emu_psk_view *out);
/* Walks the entries in the order given: *cursor 0 first; 0 at the end. */
int emu_psks_next(const struct emu_psks *t, size_t *cursor, struct emu_psk_view *out);
/* Bytes the table holds (arena and slots), for status and the docs. */
size_t emu_psks_bytes(const struct emu_psks *t);

#endif
