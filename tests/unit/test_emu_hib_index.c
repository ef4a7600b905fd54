/* Unit test of the open-addressing index of hibernated sessions
 * (emu_hib_index.c): every entry stays findable through growth and
 * backward-shift deletions (thousands of keys, so runs of collisions and
 * wrap-around happen), removed ones are gone, and of two entries with one
 * key (a NAT reusing an address) removing one leaves the other. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_delete_find),
	    cmocka_unit_test(equal_keys_coexist),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
