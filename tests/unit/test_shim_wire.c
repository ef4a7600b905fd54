/* Unit tests for shim_wire: what a request handed to the layer, read back
 * from hand-built CoAP datagrams (RFC 7252 framing, RFC 7959 Block1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client_shim/shim_wire.h"

/* Builds a CON datagram: code, message id, a 2-byte token, optionally a
 * Block1 option (num, more, szx) and len payload bytes; returns its size. */
static size_t dgram(unsigned char *out, unsigned code, unsigned mid, int block_num, int more,
		    int szx, size_t len)
{
	size_t n = 0;

	out[n++] = 0x42; /* version 1, CON, token length 2 */
	out[n++] = (unsigned char)code;
	out[n++] = (unsigned char)(mid >> 8);
	out[n++] = (unsigned char)mid;
	out[n++] = 0xab;
	out[n++] = 0xcd;
	if (block_num >= 0) {
		out[n++] = 0xd1; /* delta 13 + extended byte, length 1 */
		out[n++] = 27 - 13;
		out[n++] = (unsigned char)((block_num << 4) | (more << 3) | szx);
	}
	if (len) {
		out[n++] = 0xff;
		memset(out + n, 'x', len);
		n += len;
	}
	return n;
}

/* A request without Block1: counted, not block-wise. */
static void plain_request_is_not_blockwise(void **state)
{
	unsigned char b[2048];
	shim_wire_t w;
	json_t *f = json_object();

	(void)state;
	shim_wire_reset(&w);
	shim_wire_note(&w, b, dgram(b, 0x02, 1, -1, 0, 0, 100));
	shim_wire_fields(&w, f);
	assert_int_equal(json_integer_value(json_object_get(f, "datagrams")), 1);
	assert_int_equal(json_integer_value(json_object_get(f, "max_datagram")), 107);
	assert_true(json_is_false(json_object_get(f, "blockwise")));
	assert_int_equal(json_integer_value(json_object_get(f, "blocks")), 0);
	assert_null(json_object_get(f, "block_size"));
	json_decref(f);
}

/* Three Block1 blocks of 256 bytes, the second retransmitted (same message
 * id): three blocks, four datagrams; the largest is the full block. */
static void block1_blocks_counted_once(void **state)
{
	unsigned char b[2048];
	shim_wire_t w;
	json_t *f = json_object();

	(void)state;
	shim_wire_reset(&w);
	shim_wire_note(&w, b, dgram(b, 0x02, 10, 0, 1, 4, 256));
	shim_wire_note(&w, b, dgram(b, 0x02, 11, 1, 1, 4, 256));
	shim_wire_note(&w, b, dgram(b, 0x02, 11, 1, 1, 4, 256));
	shim_wire_note(&w, b, dgram(b, 0x02, 12, 2, 0, 4, 40));
	shim_wire_fields(&w, f);
	assert_int_equal(json_integer_value(json_object_get(f, "datagrams")), 4);
	assert_int_equal(json_integer_value(json_object_get(f, "max_datagram")), 6 + 3 + 1 + 256);
	assert_true(json_is_true(json_object_get(f, "blockwise")));
	assert_int_equal(json_integer_value(json_object_get(f, "blocks")), 3);
	assert_int_equal(json_integer_value(json_object_get(f, "block_size")), 256);
	json_decref(f);
}

/* A response carrying Block1 (2.31 Continue to the server's request) and
 * bytes that are not CoAP count as datagrams, never as blocks. */
static void responses_and_garbage_are_not_blocks(void **state)
{
	unsigned char b[2048];
	shim_wire_t w;

	(void)state;
	shim_wire_reset(&w);
	shim_wire_note(&w, b, dgram(b, 0x5f, 3, 0, 1, 2, 0)); /* 2.31 */
	memset(b, 0xff, 9);
	shim_wire_note(&w, b, 9);
	assert_int_equal(w.datagrams, 2);
	assert_int_equal(w.blocks, 0);
	shim_wire_reset(&w);
	assert_int_equal(w.datagrams, 0);
	assert_int_equal(w.max_bytes, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_request_is_not_blockwise),
	    cmocka_unit_test(block1_blocks_counted_once),
	    cmocka_unit_test(responses_and_garbage_are_not_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
