/* Unit tests for the fleet device (bench/fl_dev.c, fl_fmt.c, fl_plain.c):
 * the formats it answers in, byte for byte against the LwM2M 1.0 TS and RFC
 * 8428 examples, and its CoAP behaviour towards a server, over real UDP
 * sockets on loopback with the NoSec transport: Accept honoured (4.06,
 * 4.04, 4.05 otherwise), notifications in the Observe's format, a Reset to
 * a notification ends the observation (RFC 7641 §3.6), a Reset to a
 * request is counted as the server's rejection (RFC 7252 §4.2).
 * Fails (tried) when fl_dev_coap drops Resets (observe_reset_cancels,
 * reset_to_update_counted) or when fl_fmt_choose ignores Accept (choose,
 * observe_reset_cancels, refusals), and when the fleet's sockets are IPv4
 * for an IPv6 server (registers_over_ipv6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench/fl_fleet.h"
#include "bench/fl_fmt.h"

/* --- formats --- */

static void encode(int cf, const char *path, const char *value, const void *want, size_t len)
{
	uint8_t buf[160];
	size_t n = fl_fmt_encode(cf, path, value, buf, sizeof(buf));
	assert_int_equal(n, len);
	assert_memory_equal(buf, want, len);
}

/* LwM2M 1.0 TS §6.4.3.1: a single resource, /3/0/0 "Open Mobile
 * Alliance": C8 00 14 then the 20 bytes (8-bit length field). */
static void tlv_spec_vectors(void **state)
{
	(void)state;
	encode(FL_FMT_TLV, "/3/0/0", "Open Mobile Alliance", "\xc8\x00\x14Open Mobile Alliance",
	       23);
	encode(FL_FMT_TLV, "/3/0/0", "abc",
	       "\xc3\x00"
	       "abc",
	       5); /* length in the type */
	encode(FL_FMT_TLV, "/3/0/300", "abc",
	       "\xe3\x01\x2c"
	       "abc",
	       6); /* 16-bit id */
	encode(FL_FMT_TLV, "/3/0", "abc",
	       "\xc3\x00"
	       "abc",
	       5); /* an instance: its resources */
	encode(FL_FMT_TLV, "/3", "abc",
	       "\x05\x00\xc3\x00"
	       "abc",
	       7); /* object: instance TLVs */
	encode(FL_FMT_TLV, "/3/0/7/2", "abc",
	       "\x43\x02"
	       "abc",
	       5); /* resource instance */
}

/* RFC 8428: one record, name and string value; CBOR labels n = 0, vs = 3. */
static void senml_and_links(void **state)
{
	(void)state;
	encode(FL_FMT_SENML_JSON, "/3/0/0", "abc", "[{\"n\":\"/3/0/0\",\"vs\":\"abc\"}]", 27);
	encode(FL_FMT_SENML_CBOR, "/3/0/0", "abc",
	       "\x81\xa2\x00\x66/3/0/0\x03\x63"
	       "abc",
	       15);
	encode(FL_FMT_SENML_CBOR, "/3/0", "abc",
	       "\x81\xa2\x00\x66/3/0/0\x03\x63"
	       "abc",
	       15);
	encode(FL_FMT_TEXT, "/3/0/0", "abc", "abc", 3);
	encode(FL_FMT_LINK, "/3/0", "abc", "</3/0>,</3/0/0>", 15);
}

/* Accept decides; text/plain only for one resource; paths are checked. */
static void choose(void **state)
{
	(void)state;
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/3/0/0"), FL_FMT_TEXT);
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/3/0"), FL_FMT_TLV);
	assert_int_equal(fl_fmt_choose(FL_FMT_TEXT, "/3/0"), FL_FMT_NOT_ACCEPTABLE);
	assert_int_equal(fl_fmt_choose(FL_FMT_TLV, "/3"), FL_FMT_TLV);
	assert_int_equal(fl_fmt_choose(FL_FMT_SENML_CBOR, "/3/0/0"), FL_FMT_SENML_CBOR);
	assert_int_equal(fl_fmt_choose(60, "/3/0/0"), FL_FMT_NOT_ACCEPTABLE); /* plain CBOR */
	assert_int_equal(fl_fmt_choose(-2, "/3/0/0"), FL_FMT_NOT_ACCEPTABLE); /* 3-byte Accept */
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/rd/5"), FL_FMT_BAD_PATH);
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/3/0/0/0/0"), FL_FMT_BAD_PATH);
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/70000"), FL_FMT_BAD_PATH);
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, ""), FL_FMT_BAD_PATH);
	assert_int_equal(fl_fmt_choose(FL_FMT_NONE, "/3//0"), FL_FMT_BAD_PATH);
}

/* --- one device against a server socket --- */

struct fx {
	struct fl_fleet f;
	int srv;
	struct sockaddr_storage dev;
	socklen_t dev_len;
};

/* A server socket at server (port 0: the kernel's), one NoSec device
 * sending from src (NULL: the kernel's choice). */
static int setup_at(void **state, const char *server, const char *src)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct fl_opts *o = &x->f.o;
	struct timeval tv = {.tv_sec = 5}; /* a hang guard, never a verdict */
	char why[96];
	assert_non_null(x);
	o->n = 1;
	o->nosec = 1;
	o->per_addr = 1;
	o->max_hs = 1;
	o->req_timeout_ms = 10000;
	o->lifetime = 60;
	o->ep_prefix = "t-";
	assert_int_equal(fl_addr_parse(server, 0, &o->server, why, sizeof(why)), 0);
	if (src)
		assert_int_equal(fl_addr_parse(src, 0, &o->src_base, why, sizeof(why)), 0);
	x->srv = socket(o->server.ss.ss_family, SOCK_DGRAM, 0);
	assert_int_equal(bind(x->srv, (struct sockaddr *)&o->server.ss, o->server.len), 0);
	assert_int_equal(getsockname(x->srv, (struct sockaddr *)&o->server.ss, &o->server.len), 0);
	setsockopt(x->srv, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	x->f.tr = &fl_plain_transport;
	assert_int_equal(fl_net_init(&x->f), 0);
	x->f.devs = calloc(1, sizeof(*x->f.devs));
	x->f.active = calloc(1, sizeof(*x->f.active));
	x->f.devs[0].fd = -1;
	x->f.devs[0].active_pos = FL_NO_POS;
	for (int op = 0; op < FL_OP_COUNT; op++)
		assert_int_equal(bl_stats_init(&x->f.lat[op], 64), 0);
	*state = x;
	return 0;
}

static int setup(void **state)
{
	return setup_at(state, "127.0.0.1", "127.58.0.1"); /* no other test's source */
}

/* ::1, where the host has it (a host with IPv6 off has none: the test
 * then skips, saying so). */
static int setup6(void **state)
{
	struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	int fd = socket(AF_INET6, SOCK_DGRAM, 0);
	int ok = fd >= 0 && bind(fd, (struct sockaddr *)&lo, sizeof(lo)) == 0;
	if (fd >= 0)
		close(fd);
	*state = NULL;
	return ok ? setup_at(state, "::1", NULL) : 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;
	if (!x)
		return 0;
	fl_dev_drop(&x->f, &x->f.devs[0]);
	fl_net_free(&x->f);
	for (int op = 0; op < FL_OP_COUNT; op++)
		bl_stats_free(&x->f.lat[op]);
	free(x->f.devs);
	free(x->f.active);
	close(x->srv);
	free(x);
	return 0;
}

/* The next datagram the device sent, parsed; its length. */
static size_t srv_recv(struct fx *x, uint8_t *buf, size_t size, struct bl_coap_msg *m)
{
	ssize_t n;
	x->dev_len = sizeof(x->dev);
	n = recvfrom(x->srv, buf, size, 0, (struct sockaddr *)&x->dev, &x->dev_len);
	assert_true(n > 0);
	assert_int_equal(bl_coap_parse(buf, (size_t)n, m), 0);
	return (size_t)n;
}

/* Sends to the device and lets it handle the datagram. */
static void srv_send(struct fx *x, const void *buf, size_t len)
{
	assert_int_equal(sendto(x->srv, buf, len, 0, (struct sockaddr *)&x->dev, x->dev_len),
			 (ssize_t)len);
	fl_net_poll(&x->f, 5000);
}

/* A 2.01 or 2.04 piggybacked on the ACK of m, with Location-Path rd/5. */
static void answer(struct fx *x, const struct bl_coap_msg *m, uint8_t code)
{
	uint8_t a[16] = {0x64, code, (uint8_t)(m->mid >> 8), (uint8_t)m->mid};
	memcpy(a + 4, m->token, 4);
	memcpy(a + 8,
	       "\x82rd\x01"
	       "5",
	       5);
	srv_send(x, a, code == 0x41 ? 13 : 8);
}

/* The device registered (Location /rd/5) and idle. */
static struct fl_dev *registered(struct fx *x)
{
	uint8_t buf[512];
	struct bl_coap_msg m;
	struct fl_dev *d = &x->f.devs[0];
	assert_int_equal(fl_dev_start(&x->f, d), 0);
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x02);
	assert_string_equal(m.uri, "/rd");
	answer(x, &m, 0x41);
	assert_int_equal(d->state, FL_IDLE);
	assert_string_equal(d->location, "/rd/5");
	return d;
}

/* An Observe with Accept TLV is answered in TLV; the notification on the
 * next turn too; a Reset to it ends the observation, so the turn after
 * sends the Update alone. */
static void observe_reset_cancels(void **state)
{
	struct fx *x = *state;
	struct fl_dev *d = registered(x);
	uint8_t buf[512];
	struct bl_coap_msg m;
	/* CON GET /3/0/0, token "tk", Observe 0, Accept 11542 */
	static const uint8_t get[] = {0x42, 0x01, 0x12, 0x34, 't', 'k',	 0x60, 0x51,
				      '3',  0x01, '0',	0x01, '0', 0x62, 0x2d, 0x16};
	static const uint8_t ack[] = {0x62, 0x45, 0x12, 0x34, 't',  'k',  0x63, 0x00, 0x00,
				      0x01, 0x62, 0x2d, 0x16, 0xff, 0xc8, 0x00, 0x09, 'f',
				      'l',  'e',  'e',	't',  '-',  '0',  '-',	'1'};
	srv_send(x, get, sizeof(get));
	assert_int_equal(srv_recv(x, buf, sizeof(buf), &m), sizeof(ack));
	assert_memory_equal(buf, ack, sizeof(ack));
	assert_int_equal(x->f.c.observes, 1);

	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	size_t n = srv_recv(x, buf, sizeof(buf), &m); /* the notification first */
	assert_int_equal(m.type, BL_COAP_NON);
	assert_int_equal(m.observe, 2);
	assert_memory_equal(buf + n - 13,
			    "\xff\xc8\x00\x09"
			    "fleet-0-2",
			    13);
	uint8_t rst[4] = {0x70, 0x00, (uint8_t)(m.mid >> 8), (uint8_t)m.mid};
	srv_recv(x, buf, sizeof(buf), &m); /* then the Update */
	assert_string_equal(m.uri, "/rd/5");
	srv_send(x, rst, sizeof(rst));
	assert_int_equal(x->f.c.cancels, 1);
	answer(x, &m, 0x44);
	assert_int_equal(x->f.c.upd_ok, 1);

	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	srv_recv(x, buf, sizeof(buf), &m); /* no notification before it */
	assert_int_equal(m.code, 0x02);
	assert_string_equal(m.uri, "/rd/5");
	assert_int_equal(x->f.c.notifies, 1);
	assert_int_equal(fl_errors_total(&x->f.c.err), 0);
}

/* A Reset to the Update in flight: the server rejected it; counted, and
 * the device is idle again (registered). */
static void reset_to_update_counted(void **state)
{
	struct fx *x = *state;
	struct fl_dev *d = registered(x);
	uint8_t buf[512];
	struct bl_coap_msg m;
	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	srv_recv(x, buf, sizeof(buf), &m);
	uint8_t rst[4] = {0x70, 0x00, (uint8_t)(m.mid >> 8), (uint8_t)m.mid};
	srv_send(x, rst, sizeof(rst));
	assert_int_equal(x->f.c.err.resets, 1);
	assert_int_equal(d->state, FL_IDLE);
	assert_int_equal(x->f.c.registered, 1);
}

/* What the device cannot give: 4.06 for a format it has not, 4.04 for a
 * path that is no LwM2M one or outside what it registered (/1/0, /3/0),
 * 4.05 for other methods. */
static void refusals(void **state)
{
	struct fx *x = *state;
	uint8_t buf[512];
	struct bl_coap_msg m;
	static const uint8_t cbor[] = {0x40, 0x01, 0x00, 0x01, 0xb1, '3',
				       0x01, '0',  0x01, '0',  0x61, 60}; /* Accept 60 */
	static const uint8_t rd[] = {0x40, 0x01, 0x00, 0x02, 0xb2, 'r', 'd'};
	static const uint8_t put[] = {0x40, 0x03, 0x00, 0x03, 0xb1, '3', 0x01, '0'};
	static const uint8_t other[] = {0x40, 0x01, 0x00, 0x04, 0xb1, '5', 0x01, '0'}; /* /5/0 */
	static const uint8_t inst[] = {0x40, 0x01, 0x00, 0x05, 0xb1, '3', 0x01, '1'};  /* /3/1 */
	registered(x);
	srv_send(x, cbor, sizeof(cbor));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x86);
	srv_send(x, rd, sizeof(rd));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x84);
	srv_send(x, put, sizeof(put));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x85);
	srv_send(x, other, sizeof(other)); /* an object it did not register */
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x84);
	srv_send(x, inst, sizeof(inst)); /* an instance it does not have */
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x84);
	assert_int_equal(x->f.c.refused_reads, 4);
	assert_int_equal(x->f.c.reads, 0);
}

/* A second Observe (another token) while one is on: answered without the
 * Observe option (RFC 7641 §4.1: not added); a cancel with that token does
 * not end the first, whose token the next notification still carries. */
static void one_observation_at_a_time(void **state)
{
	struct fx *x = *state;
	struct fl_dev *d = registered(x);
	uint8_t buf[512];
	struct bl_coap_msg m;
	static const uint8_t obs_a[] = {0x41, 0x01, 0x00, 0x11, 'a', 0x60, 0x51, '3', 0x01, '0'};
	/* /3/0/1 */
	static const uint8_t obs_b[] = {0x41, 0x01, 0x00, 0x12, 'b',  0x60,
					0x51, '3',  0x01, '0',	0x01, '1'};
	static const uint8_t cancel_b[] = {0x41, 0x01, 0x00, 0x13, 'b',	 0x61, 0x01,
					   0x51, '3',  0x01, '0',  0x01, '1'};
	srv_send(x, obs_a, sizeof(obs_a));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.observe, 1);
	srv_send(x, obs_b, sizeof(obs_b));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.code, 0x45);
	assert_int_equal(m.observe, -1); /* not added */
	srv_send(x, cancel_b, sizeof(cancel_b));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.observe, -1);
	assert_int_equal(x->f.c.observes, 1);
	assert_int_equal(x->f.c.observes_declined, 1);
	assert_int_equal(x->f.c.cancels, 0);
	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.type, BL_COAP_NON);
	assert_int_equal(m.token_len, 1);
	assert_int_equal(m.token[0], 'a');
}

/* A NON request answered while an Update is in flight takes a MID of its
 * own: the Update's retransmission keeps its MID (RFC 7252 §4.2), and a
 * Reset to that MID still names the Update. */
static void retransmission_keeps_its_mid(void **state)
{
	struct fx *x = *state;
	struct fl_dev *d = registered(x);
	uint8_t buf[512];
	struct bl_coap_msg m;
	uint16_t upd;
	static const uint8_t non_get[] = {0x50, 0x01, 0x00, 0x21, 0xb1, '3', 0x01, '0', 0x01, '0'};
	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	srv_recv(x, buf, sizeof(buf), &m);
	upd = m.mid;
	srv_send(x, non_get, sizeof(non_get));
	srv_recv(x, buf, sizeof(buf), &m);
	assert_int_equal(m.type, BL_COAP_NON);
	assert_int_not_equal(m.mid, upd);
	fl_dev_tick(&x->f, d, d->wake_us); /* ACK_TIMEOUT: the CON again */
	srv_recv(x, buf, sizeof(buf), &m);
	assert_string_equal(m.uri, "/rd/5");
	assert_int_equal(m.mid, upd);
	uint8_t rst[4] = {0x70, 0x00, (uint8_t)(upd >> 8), (uint8_t)upd};
	srv_send(x, rst, sizeof(rst));
	assert_int_equal(x->f.c.err.resets, 1);
}

/* A server at ::1: the device registers from [::1] and its Update, sent
 * on the next turn, reaches the same server (fl_net opens sockets of the
 * server's family; it opened IPv4 ones before, and registered() failed). */
static void registers_over_ipv6(void **state)
{
	struct fx *x = *state;
	if (!x) {
		print_message("no ::1 on this host (IPv6 off): skipped\n");
		skip();
	}
	struct fl_dev *d = registered(x);
	uint8_t buf[512];
	struct bl_coap_msg m;
	char text[64];
	struct fl_addr from = {.ss = x->dev, .len = x->dev_len};
	fl_addr_text(&from, text, sizeof(text));
	assert_int_equal(strncmp(text, "[::1]:", 6), 0);
	assert_int_equal(fl_dev_act(&x->f, d, FL_ACT_UPDATE), 0);
	srv_recv(x, buf, sizeof(buf), &m);
	assert_string_equal(m.uri, "/rd/5");
	answer(x, &m, 0x44);
	assert_int_equal(x->f.c.upd_ok, 1);
	assert_int_equal(fl_errors_total(&x->f.c.err), 0);
}

/* Addresses as the options give them: both families, brackets, the text
 * the report prints, loopback, equality with what recvfrom returns. */
static void addresses(void **state)
{
	struct fl_addr a, b;
	char why[96], text[64];
	(void)state;
	assert_int_equal(fl_addr_parse("[fd00::5]", 0, &a, why, sizeof(why)), 0);
	fl_addr_set_port(&a, 5684);
	fl_addr_text(&a, text, sizeof(text));
	assert_string_equal(text, "[fd00::5]:5684");
	assert_false(fl_addr_is_loopback(&a));
	assert_string_equal(fl_addr_family(&a), "IPv6");
	assert_int_equal(fl_addr_parse("198.18.3.2", 0, &b, why, sizeof(why)), 0);
	fl_addr_set_port(&b, 5683);
	fl_addr_text(&b, text, sizeof(text));
	assert_string_equal(text, "198.18.3.2:5683");
	assert_false(fl_addr_is_loopback(&b));
	assert_false(fl_addr_equal(&a, (struct sockaddr *)&b.ss, b.len));
	assert_true(fl_addr_equal(&b, (struct sockaddr *)&b.ss, b.len));
	fl_addr_set_port(&a, 5683);
	assert_false(fl_addr_equal(&b, (struct sockaddr *)&a.ss, a.len));
	assert_int_equal(fl_addr_parse("127.9.0.1", 0, &a, why, sizeof(why)), 0);
	assert_true(fl_addr_is_v4_loopback(&a));
	assert_int_equal(fl_addr_parse("::1", 0, &a, why, sizeof(why)), 0);
	assert_true(fl_addr_is_loopback(&a));
	assert_false(fl_addr_is_v4_loopback(&a));
	assert_int_equal(fl_addr_parse("localhost", 0, &a, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "numeric"));
	assert_int_equal(fl_addr_parse("[]", 0, &a, why, sizeof(why)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(tlv_spec_vectors),
	    cmocka_unit_test(senml_and_links),
	    cmocka_unit_test(choose),
	    cmocka_unit_test_setup_teardown(observe_reset_cancels, setup, teardown),
	    cmocka_unit_test_setup_teardown(reset_to_update_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(one_observation_at_a_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(retransmission_keeps_its_mid, setup, teardown),
	    cmocka_unit_test_setup_teardown(registers_over_ipv6, setup6, teardown),
	    cmocka_unit_test(addresses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
