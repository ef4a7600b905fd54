/* End-to-end test of the emulator's CoAP message layer (emu_msg.c,
 * emu_request.c) on its plain CoAP port, with the real server in a child
 * process and hand-written CoAP on 127.0.0.1: malformed messages inside a
 * session get a Reset and an event and the session lives on; a Register
 * in Block1 blocks is reassembled, out-of-order and oversized transfers are
 * refused with 4.08 and 4.13; a response for a token nobody asked for gets a
 * Reset; a path nobody serves gets 4.04 and an event; the emulator keeps
 * one request in flight per device (NSTART 1) and sends a numeric payload
 * as its text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"
#include "test_coap_plain.h"

#define COAP_RST 0x70

static void tweak(struct emu_config *cfg)
{
	cfg->coap_port = 0;
	cfg->control = strdup(test_ctl_path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_msg_%d.sock", (int)getpid());
	start_server(tweak);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return stop_server();
}

/* Sends n bytes and returns the first byte pair (type/TKL, code) of the
 * answer in out; the answer's length, or -1. */
static ssize_t exchange(int fd, const uint8_t *req, size_t n, uint8_t *out, size_t size)
{
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	return recv_within(fd, out, size);
}

/* Registers ep from a new socket; returns the socket. */
static int registered(const char *ep, uint16_t mid)
{
	uint8_t req[256], ack[256];
	char query[64];
	int fd = new_socket(server_port_of("coap"));
	snprintf(query, sizeof(query), "ep=%s&lt=60", ep);
	size_t n = build_request(req, 0x02, mid, "rd", query, "</3/0>");
	assert_true(exchange(fd, req, n, ack, sizeof(ack)) >= 4);
	assert_int_equal(ack[1], 0x41);
	return fd;
}

/* Each malformed CON gets a Reset with its message id, and an event. */
static void malformed_gets_reset(void **state)
{
	static const uint8_t bad[][8] = {
	    {0x41, 0x01, 0x70, 0x01, 0x5a, 0xb5, 'r', 'd'},   /* option longer than the message */
	    {0x41, 0x01, 0x70, 0x02, 0x5a, 0xff},	      /* payload marker, no payload */
	    {0x41, 0x01, 0x70, 0x03, 0x5a, 0xe0, 0xff, 0xff}, /* option number overflows */
	};
	static const size_t len[] = {8, 6, 8};
	uint8_t out[64], req[128];
	(void)state;
	int fd = registered("msg-bad", 0x6000);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(exchange(fd, bad[i], len[i], out, sizeof(out)), 4);
		assert_int_equal(out[0], COAP_RST);
		assert_int_equal(out[1], 0);
		assert_int_equal(out[3], bad[i][3]);
	}
	assert_true(events_have("\"event\":\"malformed_coap\"", 3));
	assert_true(events_have("\"reason\":\"bad_options_or_payload_marker\"", 3));
	/* The session lives: the same peer is still served. */
	size_t n = build_request(req, 0x01, 0x6001, "nothing/here", NULL, NULL);
	assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x84); /* 4.04 */
	assert_true(events_have("\"event\":\"request_unhandled\"", 1));
	assert_true(events_have("\"method\":\"GET\",\"path\":\"/nothing/here\"", 1));
	close(fd);
}

/* A Register's block num of a 16-byte-block transfer: Uri-Path rd,
 * Uri-Query, Block1 (27), optional Size1 (60), the block's payload. */
static size_t block_register(uint8_t *out, uint16_t mid, const char *query, unsigned num, int more,
			     long size1, const char *data, size_t dlen)
{
	int last = 0;
	size_t n = 0;
	uint8_t blk = (uint8_t)(num << 4 | (more ? 8 : 0)), s1[3];
	out[n++] = COAP_CON | 1;
	out[n++] = 0x02;
	out[n++] = (uint8_t)(mid >> 8);
	out[n++] = (uint8_t)mid;
	out[n++] = 0x5b;
	n += put_option(out + n, &last, 11, "rd", 2);
	n += put_option(out + n, &last, 15, query, strlen(query));
	n += put_option(out + n, &last, 27, &blk, 1);
	if (size1 >= 0) {
		s1[0] = (uint8_t)(size1 >> 16);
		s1[1] = (uint8_t)(size1 >> 8);
		s1[2] = (uint8_t)size1;
		n += put_option(out + n, &last, 60, s1, 3);
	}
	out[n++] = 0xff;
	memcpy(out + n, data, dlen);
	return n + dlen;
}

/* Block1: in order it registers with every link; out of order 4.08; a
 * Size1 beyond the bound 4.13. */
static void block1_register(void **state)
{
	static const char links[] = "</1/0>,</3/0>,</5/0>,</4/0>,</6/0>"; /* 34 bytes */
	uint8_t req[256], out[128];
	(void)state;
	int fd = new_socket(server_port_of("coap"));
	const char *q = "ep=msg-block&lt=60";
	for (unsigned i = 0; i < 3; i++) {
		size_t dlen = i < 2 ? 16 : sizeof(links) - 1 - 32;
		size_t n = block_register(req, (uint16_t)(0x6100 + i), q, i, i < 2, -1,
					  links + 16 * i, dlen);
		assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
		assert_int_equal(out[1], i < 2 ? 0x5f : 0x41); /* 2.31, then 2.01 */
	}
	assert_true(events_have("\"endpoint\":\"msg-block\"", 1));
	assert_true(events_have("\"</6/0>\"", 1));
	size_t n = block_register(req, 0x6110, q, 0, 1, -1, links, 16);
	assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
	n = block_register(req, 0x6111, q, 2, 0, -1, links + 32, 2);
	assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x88); /* 4.08 Request Entity Incomplete */
	/* A request with the token of the transfer in progress: a Reset. */
	n = block_register(req, 0x6113, q, 0, 1, -1, links, 16);
	assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
	static const uint8_t reuse[] = {0x41, 0x01, 0x61, 0x14, 0x5b};
	assert_int_equal(exchange(fd, reuse, sizeof(reuse), out, sizeof(out)), 4);
	assert_int_equal(out[0], COAP_RST);
	assert_true(events_have("\"reason\":\"token_reused\"", 1));
	n = block_register(req, 0x6112, q, 0, 1, 100000, links, 16);
	assert_true(exchange(fd, req, n, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x8d); /* 4.13 Request Entity Too Large */
	assert_true(events_have("\"reason\":\"out_of_order\"", 1));
	assert_true(events_have("\"reason\":\"size1_too_large\"", 1));
	close(fd);
}

/* A Confirmable 2.05 nobody asked for: Reset, and an event. */
static void unmatched_response_reset(void **state)
{
	uint8_t resp[] = {0x41, 0x45, 0x62, 0x00, 0x77, 0xff, 'x'}, out[64];
	(void)state;
	int fd = registered("msg-stray", 0x6200);
	assert_int_equal(exchange(fd, resp, sizeof(resp), out, sizeof(out)), 4);
	assert_int_equal(out[0], COAP_RST);
	assert_int_equal(out[3], 0x00);
	assert_true(events_have("\"event\":\"response_unmatched\"", 1));
	close(fd);
}

/* Two requests at once: the second waits for the first's answer; the
 * numeric payload goes out as its text. */
static void one_request_in_flight(void **state)
{
	uint8_t in[256], ack[32], none[64];
	(void)state;
	int fd = registered("msg-nstart", 0x6300);
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"msg-nstart\",\"method\":\"write\","
			"\"path\":\"/1/0/1\",\"payload\":120}\n");
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"msg-nstart\",\"method\":\"read\","
			"\"path\":\"/3/0\"}\n");
	ssize_t n = recv_within(fd, in, sizeof(in));
	assert_true(n > 7);
	assert_int_equal(in[1], 0x03); /* PUT */
	assert_memory_equal(in + n - 4,
			    "\xff"
			    "120",
			    4);
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 300), 0); /* the Read waits (NSTART 1) */
	size_t tkl = in[0] & 0x0f;
	ack[0] = (uint8_t)(COAP_ACK | tkl);
	ack[1] = 0x44; /* 2.04 */
	ack[2] = in[2];
	ack[3] = in[3];
	memcpy(ack + 4, in + 4, tkl);
	assert_int_equal(send(fd, ack, 4 + tkl, 0), (ssize_t)(4 + tkl));
	n = recv_within(fd, none, sizeof(none));
	assert_true(n > 4);
	assert_int_equal(none[1], 0x01); /* now the GET */
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(malformed_gets_reset),
	    cmocka_unit_test(block1_register),
	    cmocka_unit_test(unmatched_response_reset),
	    cmocka_unit_test(one_request_in_flight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
