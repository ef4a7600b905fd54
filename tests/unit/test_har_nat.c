/* Unit tests for the network simulator's NAT table (flows, rebinding, the
 * 127.0.0.0/8 address rotation), its seeded generator and the synthesized
 * IPv4/UDP headers of the capture. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "harness/har_nat.h"
#include "harness/har_pcap.h"
#include "harness/har_rng.h"

/* An IPv4 socket address from text. */
static struct sockaddr_in sa(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	assert_int_equal(inet_pton(AF_INET, ip, &a.sin_addr), 1);
	return a;
}

static void add_and_lookup(void **state)
{
	(void)state;
	struct har_nat nat;
	struct sockaddr_in c1 = sa("127.0.0.1", 40000), c2 = sa("127.0.0.1", 40001);
	struct sockaddr_in o1 = sa("127.0.0.1", 50000), o2 = sa("127.0.0.1", 50001);
	har_nat_init(&nat);
	struct har_nat_flow *f1 = har_nat_add(&nat, &c1, 7, &o1);
	struct har_nat_flow *f2 = har_nat_add(&nat, &c2, 8, &o2);
	assert_non_null(f1);
	assert_non_null(f2);
	assert_int_equal(f1->id, 1);
	assert_int_equal(f2->id, 2);
	assert_ptr_equal(har_nat_by_client(&nat, &c2), f2);
	assert_ptr_equal(har_nat_by_fd(&nat, 7), f1);
	assert_null(har_nat_by_fd(&nat, 9));
	assert_null(har_nat_by_fd(&nat, -1));
	/* Same client twice: refused, the first mapping stays. */
	assert_null(har_nat_add(&nat, &c1, 10, &o2));
	/* Another port on the same address is another flow. */
	struct sockaddr_in c3 = sa("127.0.0.1", 40002);
	assert_null(har_nat_by_client(&nat, &c3));
}

static void rebind_and_remove(void **state)
{
	(void)state;
	struct har_nat nat;
	struct sockaddr_in c = sa("127.0.0.1", 40000), o = sa("127.0.0.1", 50000);
	struct sockaddr_in o_new = sa("127.0.0.2", 50002);
	har_nat_init(&nat);
	struct har_nat_flow *f = har_nat_add(&nat, &c, 7, &o);
	assert_int_equal(har_nat_rebind(f, 11, &o_new), 7);
	assert_int_equal(f->rebinds, 1);
	assert_int_equal(f->fd, 11);
	assert_int_equal(f->outside.sin_addr.s_addr, o_new.sin_addr.s_addr);
	/* The client side is untouched: its datagrams still find the flow. */
	assert_ptr_equal(har_nat_by_client(&nat, &c), f);
	assert_null(har_nat_by_fd(&nat, 7));
	assert_ptr_equal(har_nat_by_fd(&nat, 11), f);
	assert_int_equal(har_nat_remove(&nat, f), 11);
	assert_int_equal(nat.n, 0);
	assert_null(har_nat_by_client(&nat, &c));
}

static void table_full(void **state)
{
	(void)state;
	struct har_nat nat;
	struct sockaddr_in o = sa("127.0.0.1", 50000);
	har_nat_init(&nat);
	for (int i = 0; i < HAR_NAT_MAX_FLOWS; i++) {
		struct sockaddr_in c = sa("127.0.0.1", 40000 + i);
		assert_non_null(har_nat_add(&nat, &c, 100 + i, &o));
	}
	struct sockaddr_in extra = sa("127.0.0.1", 39999);
	assert_null(har_nat_add(&nat, &extra, 99, &o));
	/* Removing from the middle keeps the others reachable. */
	struct sockaddr_in c5 = sa("127.0.0.1", 40005), c6 = sa("127.0.0.1", 40006);
	assert_int_equal(har_nat_remove(&nat, har_nat_by_client(&nat, &c5)), 105);
	assert_int_equal(har_nat_by_client(&nat, &c6)->fd, 106);
	assert_non_null(har_nat_add(&nat, &extra, 99, &o));
}

static void address_rotation(void **state)
{
	(void)state;
	struct har_nat nat;
	char text[INET_ADDRSTRLEN];
	har_nat_init(&nat);
	in_addr_t a = har_nat_next_address(&nat, 0);
	assert_string_equal(inet_ntop(AF_INET, &a, text, sizeof(text)), "127.0.0.2");
	a = har_nat_next_address(&nat, 0);
	assert_string_equal(inet_ntop(AF_INET, &a, text, sizeof(text)), "127.0.0.3");
	/* Never the address the flow already has. */
	struct in_addr four;
	inet_pton(AF_INET, "127.0.0.4", &four);
	a = har_nat_next_address(&nat, four.s_addr);
	assert_string_equal(inet_ntop(AF_INET, &a, text, sizeof(text)), "127.0.0.5");
	/* Wraps from .254 to .2, never .1 or .255. */
	for (int i = 0; i < 600; i++) {
		a = har_nat_next_address(&nat, 0);
		unsigned last = ntohl(a) & 0xff;
		assert_true(last >= 2 && last <= 254);
		assert_true(har_nat_is_loopback(a));
	}
	struct in_addr ext;
	inet_pton(AF_INET, "10.0.0.1", &ext);
	assert_false(har_nat_is_loopback(ext.s_addr));
}

static void rng_is_seeded(void **state)
{
	(void)state;
	struct har_rng a, b, c;
	har_rng_seed(&a, 42);
	har_rng_seed(&b, 42);
	har_rng_seed(&c, 43);
	int differ = 0;
	for (int i = 0; i < 100; i++) {
		uint64_t x = har_rng_next(&a);
		assert_true(x == har_rng_next(&b));
		differ |= x != har_rng_next(&c);
	}
	assert_true(differ);
	/* Certainties consume nothing; a fair chance is roughly fair. */
	uint64_t before = a.state;
	assert_false(har_rng_chance(&a, 0));
	assert_true(har_rng_chance(&a, 1));
	assert_true(a.state == before);
	int hits = 0;
	for (int i = 0; i < 10000; i++)
		hits += har_rng_chance(&a, 0.25);
	assert_in_range(hits, 2200, 2800);
}

static void pcap_headers(void **state)
{
	(void)state;
	unsigned char h[28];
	struct sockaddr_in s = sa("127.0.0.2", 40000), d = sa("127.0.0.1", 5684);
	assert_int_equal(har_pcap_headers(h, &s, &d, 100, 1), 28);
	assert_int_equal(h[0], 0x45);
	assert_int_equal(h[2] << 8 | h[3], 128); /* 20 + 8 + 100 */
	assert_int_equal(h[9], 17);
	assert_memory_equal(h + 12, "\x7f\x00\x00\x02", 4);
	assert_memory_equal(h + 16, "\x7f\x00\x00\x01", 4);
	assert_int_equal(h[20] << 8 | h[21], 40000);
	assert_int_equal(h[22] << 8 | h[23], 5684);
	assert_int_equal(h[24] << 8 | h[25], 108);
	/* A correct header checksum makes the one's complement sum 0xffff. */
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(sum, 0xffff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(add_and_lookup), cmocka_unit_test(rebind_and_remove),
	    cmocka_unit_test(table_full),     cmocka_unit_test(address_rotation),
	    cmocka_unit_test(rng_is_seeded),  cmocka_unit_test(pcap_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
