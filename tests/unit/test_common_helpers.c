/* Unit tests for common/: hex codec and address text parsing/formatting,
 * which every process uses for keys, CIDs and peer addresses in events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <string.h>

#include <stdlib.h>

#include "common/lh_addr.h"
#include "common/lh_hex.h"
#include "common/lh_time.h"

static void hex_roundtrip(void **state)
{
	(void)state;
	unsigned char buf[8];
	char text[17];
	assert_int_equal(lh_hex_decode("00A1ff10", buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "\x00\xa1\xff\x10", 4);
	lh_hex_encode(buf, 4, text);
	assert_string_equal(text, "00a1ff10");
	assert_int_equal(lh_hex_decode("", buf, sizeof(buf)), 0);
}

static void hex_rejects_bad_input(void **state)
{
	(void)state;
	unsigned char buf[2];
	assert_int_equal(lh_hex_decode("abc", buf, sizeof(buf)), -1);	 /* odd length */
	assert_int_equal(lh_hex_decode("zz", buf, sizeof(buf)), -1);	 /* not hex */
	assert_int_equal(lh_hex_decode("001122", buf, sizeof(buf)), -1); /* too long */
	assert_int_equal(lh_hex_decode("0x12", buf, sizeof(buf)), -1);	 /* prefix */
}

static void addr_parse_and_format(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	char text[LH_ADDR_STRLEN];

	assert_int_equal(lh_addr_parse("127.0.0.1:5684", 0, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_string_equal(lh_addr_format((struct sockaddr *)&ss, text, sizeof(text)),
			    "127.0.0.1:5684");

	assert_int_equal(lh_addr_parse("[::1]:5683", 0, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(len, sizeof(struct sockaddr_in6));
	assert_string_equal(lh_addr_format((struct sockaddr *)&ss, text, sizeof(text)),
			    "[::1]:5683");

	/* A bare host takes the default port; a bare IPv6 address too. */
	assert_int_equal(lh_addr_parse("127.0.0.2", 5684, &ss, &len), 0);
	assert_string_equal(lh_addr_format((struct sockaddr *)&ss, text, sizeof(text)),
			    "127.0.0.2:5684");
	assert_int_equal(lh_addr_parse("::1", 7, &ss, &len), 0);
	assert_string_equal(lh_addr_format((struct sockaddr *)&ss, text, sizeof(text)), "[::1]:7");

	/* IPv4 is written by hand: every digit count, both ends. */
	static const char *const v4[] = {"0.0.0.0:0", "255.255.255.255:65535", "10.99.100.9:1",
					 "127.1.19.200:5684"};
	for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
		assert_int_equal(lh_addr_parse(v4[i], 0, &ss, &len), 0);
		assert_string_equal(lh_addr_format((struct sockaddr *)&ss, text, sizeof(text)),
				    v4[i]);
	}
}

static void addr_rejects_bad_input(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(lh_addr_parse("localhost:5684", 0, &ss, &len), -1); /* no DNS */
	assert_int_equal(lh_addr_parse("127.0.0.1:99999", 0, &ss, &len), -1);
	assert_int_equal(lh_addr_parse("127.0.0.1:", 0, &ss, &len), -1);
	assert_int_equal(lh_addr_parse("127.0.0.1:12x", 0, &ss, &len), -1);
	assert_int_equal(lh_addr_parse("[::1", 0, &ss, &len), -1);
	assert_int_equal(lh_addr_parse("[::1]x", 0, &ss, &len), -1);
	assert_int_equal(lh_addr_parse(":5684", 0, &ss, &len), -1);
}

/* The warp factor comes from the harness's environment variable: a bad
 * value must never scale a wait (it counts as no warp for the waits and is
 * reported as -1 for whoever checks it). */
static void time_warp_from_env(void **state)
{
	(void)state;
	unsetenv(LH_TIME_WARP_ENV);
	assert_int_equal(lh_time_warp(), 1);
	assert_true(lh_time_real_ms(5000) == 5000);
	setenv(LH_TIME_WARP_ENV, "100", 1);
	assert_int_equal(lh_time_warp(), 100);
	assert_true(lh_time_real_ms(5000) == 500000);
	static const char *const bad[] = {"0", "-3", "x10", "10x", "", "10001", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv(LH_TIME_WARP_ENV, bad[i], 1);
		assert_int_equal(lh_time_warp(), bad[i][0] ? -1 : 1);
		assert_true(lh_time_real_ms(5000) == 5000);
	}
	unsetenv(LH_TIME_WARP_ENV);
}

/* The unwarped clock is a monotonic millisecond clock like the other. */
static void time_real_clock_monotonic(void **state)
{
	(void)state;
	int64_t a = lh_time_real_mono_ms(), m = lh_time_mono_ms();
	int64_t b = lh_time_real_mono_ms();
	assert_true(a > 0 && b >= a);
	/* Unwarped here, both read CLOCK_MONOTONIC. */
	assert_true(m >= a - 1 && m <= b + 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(hex_roundtrip),	     cmocka_unit_test(hex_rejects_bad_input),
	    cmocka_unit_test(addr_parse_and_format), cmocka_unit_test(addr_rejects_bad_input),
	    cmocka_unit_test(time_warp_from_env),    cmocka_unit_test(time_real_clock_monotonic),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
