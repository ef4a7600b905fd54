/* Unit tests for the Mbed TLS layer's resumption-buffer format: what a
 * rebooted client reads back must be exactly what was stored, and anything
 * damaged must read as "nothing stored" (then a full handshake follows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client_shim/layer_mbedtls.h"

static void roundtrip_session_and_context(void **state)
{
	unsigned char buf[128], blob[40];
	const unsigned char *out;
	size_t len;
	long used;

	(void)state;
	memset(blob, 0xA5, sizeof(blob));
	used = layer_resume_pack(buf, sizeof(buf), LAYER_RESUME_SESSION, blob, sizeof(blob));
	assert_int_equal(used, 16 + sizeof(blob));
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_SESSION);
	assert_int_equal(len, sizeof(blob));
	assert_memory_equal(out, blob, sizeof(blob));
	used = layer_resume_pack(buf, sizeof(buf), LAYER_RESUME_CONTEXT, blob, 7);
	assert_int_equal(used, 23);
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_CONTEXT);
	assert_int_equal(len, 7);
}

static void blob_may_already_sit_in_place(void **state)
{
	unsigned char buf[64];
	const unsigned char *out;
	size_t len;

	(void)state;
	memcpy(buf + 16, "serialized", 10);
	assert_int_equal(layer_resume_pack(buf, sizeof(buf), LAYER_RESUME_SESSION, buf + 16, 10),
			 26);
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_SESSION);
	assert_memory_equal(out, "serialized", 10);
}

static void refuses_what_does_not_fit(void **state)
{
	unsigned char buf[32], blob[17] = {0};

	(void)state;
	assert_int_equal(layer_resume_pack(buf, sizeof(buf), LAYER_RESUME_SESSION, blob, 17), -1);
	assert_int_equal(layer_resume_pack(buf, 15, LAYER_RESUME_SESSION, blob, 0), -1);
	assert_int_equal(layer_resume_pack(NULL, 0, LAYER_RESUME_SESSION, blob, 1), -1);
}

static void damaged_buffers_read_as_empty(void **state)
{
	unsigned char buf[64], blob[20];
	const unsigned char *out;
	size_t len;

	(void)state;
	memset(blob, 0x3C, sizeof(blob));
	layer_resume_pack(buf, sizeof(buf), LAYER_RESUME_CONTEXT, blob, sizeof(blob));
	/* Truncated: the length says more than the buffer holds. */
	assert_int_equal(layer_resume_unpack(buf, 30, &out, &len), LAYER_RESUME_NONE);
	assert_null(out);
	/* One flipped bit in the blob. */
	buf[20] ^= 1;
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_NONE);
	buf[20] ^= 1;
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_CONTEXT);
	/* Unknown kind, foreign magic, all zero. */
	buf[5] = 9;
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_NONE);
	buf[5] = LAYER_RESUME_CONTEXT;
	buf[0] = 'X';
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_NONE);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(layer_resume_unpack(buf, sizeof(buf), &out, &len), LAYER_RESUME_NONE);
	assert_int_equal(layer_resume_unpack(NULL, 0, &out, &len), LAYER_RESUME_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(roundtrip_session_and_context),
	    cmocka_unit_test(blob_may_already_sit_in_place),
	    cmocka_unit_test(refuses_what_does_not_fit),
	    cmocka_unit_test(damaged_buffers_read_as_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
