/* Unit test of the open-addressing index of hibernated sessions
 * (emu_hib_index.c): every entry stays findable through growth and
 * backward-shift deletions (thousands of keys, so runs of collisions and
 * wrap-around happen), removed ones are gone, and of two entries with one
 * key (a NAT reusing an address) removing one leaves the other; by id,
 * the walk the state file and shutdown use visits every entry once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "server/emu_hib_index.h"
#include "server/emu_hibernate.h"

#define N 5000

/* A deterministic 4-byte CID for entry i (xorshift: spread, no repeats). */
static void cid_of(uint32_t i, uint8_t out[4])
{
	uint32_t x = i * 2654435761u + 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	memcpy(out, &x, 4);
}

static void add_delete_find(void **state)
{
	(void)state;
	struct emu_hib_index t = {.kind = EMU_HIB_KEY_CID};
	struct emu_hib *h = calloc(N, sizeof(*h));
	assert_non_null(h);
	for (uint32_t i = 0; i < N; i++) {
		h[i].cid_len = 4;
		cid_of(i, h[i].cid);
		assert_int_equal(emu_hib_index_add(&t, &h[i]), 0);
	}
	assert_int_equal(t.used, N);
	assert_true(t.cap >= 2 * N);
	for (uint32_t i = 0; i < N; i += 2)
		emu_hib_index_del(&t, &h[i]);
	for (uint32_t i = 0; i < N; i++) {
		struct emu_hib *f = emu_hib_index_find(&t, h[i].cid, 4);
		if (i % 2)
			assert_ptr_equal(f, &h[i]);
		else
			assert_null(f);
	}
	assert_int_equal(t.used, N / 2);
	emu_hib_index_free(&t);
	free(h);
}

static void equal_keys_coexist(void **state)
{
	(void)state;
	struct emu_hib_index t = {.kind = EMU_HIB_KEY_ADDR};
	struct emu_hib a = {.addr_key_len = 6}, b = {.addr_key_len = 6};
	memcpy(a.addr_key, "\x7f\0\0\x01\x16\x34", 6);
	memcpy(b.addr_key, a.addr_key, 6);
	assert_int_equal(emu_hib_index_add(&t, &a), 0);
	assert_int_equal(emu_hib_index_add(&t, &b), 0);
	emu_hib_index_del(&t, &a);
	assert_ptr_equal(emu_hib_index_find(&t, a.addr_key, 6), &b);
	emu_hib_index_del(&t, &b);
	assert_null(emu_hib_index_find(&t, a.addr_key, 6));
	assert_int_equal(t.used, 0);
	emu_hib_index_free(&t);
}

/* The id index (it replaced a uthash handle in every hib): found by id,
 * the walk visits each entry exactly once, also after deletions, and
 * taking the entry from a position that only moves forward (shutdown)
 * empties it, wrap-around runs included. */
static void by_id_walk(void **state)
{
	(void)state;
	struct emu_hib_index t = {.kind = EMU_HIB_KEY_ID};
	struct emu_hib *h = calloc(N, sizeof(*h));
	uint8_t *seen = calloc(N, 1);
	size_t n = 0;
	assert_non_null(h);
	assert_non_null(seen);
	for (uint32_t i = 0; i < N; i++) {
		h[i].id = (uint64_t)i * 7919 + 1;
		assert_int_equal(emu_hib_index_add(&t, &h[i]), 0);
	}
	for (uint32_t i = 0; i < N; i += 3)
		emu_hib_index_del(&t, &h[i]);
	for (struct emu_hib *e = emu_hib_index_next(&t, NULL); e; e = emu_hib_index_next(&t, e)) {
		size_t i = (size_t)(e - h);
		assert_true(i < N && i % 3 != 0);
		assert_int_equal(seen[i], 0);
		seen[i] = 1;
		n++;
	}
	assert_int_equal(n, N - (N + 2) / 3);
	uint64_t id = h[4].id;
	assert_ptr_equal(emu_hib_index_find(&t, (const uint8_t *)&id, sizeof(id)), &h[4]);
	size_t pos = 0;
	for (struct emu_hib *e; (e = emu_hib_index_from(&t, &pos));)
		emu_hib_index_del(&t, e);
	assert_int_equal(t.used, 0);
	assert_null(emu_hib_index_next(&t, NULL));
	emu_hib_index_free(&t);
	free(seen);
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_delete_find),
	    cmocka_unit_test(equal_keys_coexist),
	    cmocka_unit_test(by_id_walk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
