/* End-to-end test of the emulator's LwM2M 1.1/1.2 interfaces on its plain
 * CoAP port, with the real server in a child process and hand-written CoAP
 * on 127.0.0.1: Send (POST /dp) in SenML JSON and SenML CBOR decoded into a
 * send event, refused without a registration; Bootstrap-Pack (GET /bspack)
 * served in SenML CBOR; Read-Composite as a FETCH with a SenML path list;
 * queue mode: a request for a sleeping device waits for its next Update,
 * goes out after the Update's answer, and fails when it waits too long. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "server/emu_cbor.h"
#include "test_emu_dtls.h"
#include "test_coap_plain.h"

static void tweak(struct emu_config *cfg)
{
	json_error_t jerr;
	cfg->coap_port = 0;
	cfg->control = strdup(test_ctl_path);
	cfg->queue_awake_ms = 300;
	cfg->queue_timeout_s = 1;
	cfg->queue_max = 2;
	cfg->bootstrap = json_loads("{\"pack\": [{\"bn\": \"/0/0/\", \"n\": \"0\", \"vs\": "
				    "\"coap://127.0.0.1:5683\"}]}",
				    0, &jerr);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_lwm2m11_%d.sock",
		 (int)getpid());
	start_server(tweak);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return stop_server();
}

/* A CON request with one option list already encoded: header, token 0x5a,
 * opts, payload. */
static size_t request(uint8_t *out, uint8_t code, uint16_t mid, const uint8_t *opts, size_t olen,
		      const uint8_t *payload, size_t plen)
{
	size_t n = 0;
	out[n++] = COAP_CON | 1;
	out[n++] = code;
	out[n++] = (uint8_t)(mid >> 8);
	out[n++] = (uint8_t)mid;
	out[n++] = 0x5a;
	memcpy(out + n, opts, olen);
	n += olen;
	if (plen) {
		out[n++] = 0xff;
		memcpy(out + n, payload, plen);
		n += plen;
	}
	return n;
}

/* Registers ep (query extra appended) and returns the socket; loc gets
 * "rd/xyz". */
static int registered(const char *ep, const char *extra, char *loc, size_t loc_size)
{
	uint8_t req[256], ack[256];
	char query[96];
	int fd = new_socket(server_port_of("coap"));
	snprintf(query, sizeof(query), "ep=%s&lt=60%s", ep, extra);
	size_t n = build_request(req, 0x02, 0x7000, "rd", query, "</3/0>");
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	ssize_t r = recv_within(fd, ack, sizeof(ack));
	assert_true(r > 4);
	assert_int_equal(ack[1], 0x41);
	/* Location-Path: "rd" then the id (options 8, lengths < 13). */
	size_t i = 4 + (ack[0] & 0x0f), l1 = ack[i] & 0x0f;
	size_t l2 = ack[i + 1 + l1] & 0x0f;
	snprintf(loc, loc_size, "rd/%.*s", (int)l2, (const char *)ack + i + 2 + l1);
	return fd;
}

/* Send in SenML JSON and SenML CBOR: 2.04 and decoded records. */
static void send_decoded(void **state)
{
	static const uint8_t dp_json[] = {0xb2, 'd', 'p', 0x11, 110}; /* Uri-Path dp, CF 110 */
	static const uint8_t dp_cbor[] = {0xb2, 'd', 'p', 0x11, 112};
	const char *senml = "[{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"ACME\"}]";
	uint8_t req[512], out[64], *cbor = NULL;
	char loc[32], err[128];
	(void)state;
	int fd = registered("send-1", "", loc, sizeof(loc));
	size_t n = request(req, 0x02, 0x7001, dp_json, sizeof(dp_json), (const uint8_t *)senml,
			   strlen(senml));
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x44); /* 2.04 */
	assert_true(events_have("\"event\":\"send\"", 1));
	assert_true(events_have("\"name\":\"/3/0/0\",\"value\":\"ACME\"", 1));
	json_t *recs = json_loads("[{\"bn\":\"/3/0/\",\"n\":\"9\",\"v\":87}]", 0, NULL);
	size_t clen = emu_cbor_senml_encode(recs, &cbor, err, sizeof(err));
	json_decref(recs);
	assert_true(clen > 0);
	n = request(req, 0x02, 0x7002, dp_cbor, sizeof(dp_cbor), cbor, clen);
	free(cbor);
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x44);
	assert_true(events_have("\"name\":\"/3/0/9\",\"value\":87", 1));
	/* Without a registration on the session: 4.04, and said so. */
	int stranger = new_socket(server_port_of("coap"));
	n = request(req, 0x02, 0x7003, dp_json, sizeof(dp_json), (const uint8_t *)senml,
		    strlen(senml));
	assert_int_equal(send(stranger, req, n, 0), (ssize_t)n);
	assert_true(recv_within(stranger, out, sizeof(out)) >= 4);
	assert_int_equal(out[1], 0x84);
	assert_true(events_have("no registration on this session", 1));
	close(stranger);
	close(fd);
}

/* Bootstrap-Pack: 2.05, SenML CBOR holding the configured records. */
static void bootstrap_pack(void **state)
{
	static const uint8_t opts[] = {0xb6, 'b', 's', 'p', 'a', 'c', 'k', 0x47,
				       'e',  'p', '=', 'b', 'p', '-', '1'};
	uint8_t req[64], out[512];
	char err[128];
	(void)state;
	int fd = new_socket(server_port_of("coap"));
	size_t n = request(req, 0x01, 0x7100, opts, sizeof(opts), NULL, 0);
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	ssize_t r = recv_within(fd, out, sizeof(out));
	assert_true(r > 8);
	assert_int_equal(out[1], 0x45); /* 2.05 */
	size_t i = 4 + (out[0] & 0x0f);
	assert_int_equal(out[i], 0xc1); /* Content-Format, 1 byte */
	assert_int_equal(out[i + 1], 112);
	assert_int_equal(out[i + 2], 0xff);
	json_t *recs = emu_cbor_senml_decode(out + i + 3, (size_t)r - i - 3, err, sizeof(err));
	assert_non_null(recs);
	assert_string_equal(json_string_value(json_object_get(json_array_get(recs, 0), "name")),
			    "/0/0/0");
	json_decref(recs);
	assert_true(events_have("\"event\":\"bootstrap_pack\"", 1));
	close(fd);
}

/* Read-Composite: a FETCH carrying the paths; the SenML answer decoded. */
static void read_composite(void **state)
{
	uint8_t in[256], ack[128];
	char loc[32];
	(void)state;
	int fd = registered("comp-1", "", loc, sizeof(loc));
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"comp-1\",\"method\":"
			"\"read_composite\",\"paths\":\"/3/0/0,/3/0/1\"}\n");
	ssize_t n = recv_within(fd, in, sizeof(in));
	assert_true(n > 4);
	assert_int_equal(in[1], 0x05); /* FETCH */
	const char *list = "[{\"n\":\"/3/0/0\"},{\"n\":\"/3/0/1\"}]";
	assert_non_null(memmem(in, (size_t)n, list, strlen(list)));
	const char *answer = "[{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"ACME\"}]";
	size_t tkl = in[0] & 0x0f, m = 0;
	ack[m++] = (uint8_t)(COAP_ACK | tkl);
	ack[m++] = 0x45;
	ack[m++] = in[2];
	ack[m++] = in[3];
	memcpy(ack + m, in + 4, tkl);
	m += tkl;
	ack[m++] = 0xc1; /* Content-Format 110 */
	ack[m++] = 110;
	ack[m++] = 0xff;
	memcpy(ack + m, answer, strlen(answer));
	m += strlen(answer);
	assert_int_equal(send(fd, ack, m, 0), (ssize_t)m);
	assert_true(events_have("\"method\":\"read_composite\",\"code\":\"2.05\"", 1));
	close(fd);
}

/* Whether a CoAP message has a payload marker: the options are walked
 * (RFC 7252 3.1), since a 0xff byte may also be in the message ID, the
 * token (random) or an option's value. Malformed options count as a marker,
 * so that they fail the caller's check too. */
static int has_payload_marker(const uint8_t *m, size_t n)
{
	size_t i = 4 + (m[0] & 0x0f);
	while (i < n) {
		uint8_t b = m[i++];
		size_t d = b >> 4, l = b & 0x0f;
		if (b == 0xff || d == 15 || l == 15)
			return 1;
		i += (d == 13) + 2 * (d == 14);
		if (l >= 13 && i + (l == 13 ? 1 : 2) > n)
			return 1;
		if (l == 13)
			l = 13 + m[i++];
		else if (l == 14)
			l = 269 + ((size_t)m[i] << 8) + m[i + 1], i += 2;
		i += l;
	}
	return i > n;
}

/* Write-Attributes: a PUT whose Uri-Query carries the attributes, and no
 * payload. */
static void write_attributes(void **state)
{
	uint8_t in[256];
	char loc[32];
	(void)state;
	int fd = registered("attr-1", "", loc, sizeof(loc));
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"attr-1\",\"method\":"
			"\"write_attributes\",\"path\":\"/3/0/13\",\"pmin\":5,\"pmax\":30}\n");
	ssize_t n = recv_within(fd, in, sizeof(in));
	assert_true(n > 4);
	size_t len = n > 4 ? (size_t)n : 0;
	assert_int_equal(in[1], 0x03); /* PUT */
	assert_non_null(memmem(in, len, "pmin=5", 6));
	assert_non_null(memmem(in, len, "pmax=30", 7));
	/* Not memchr(in, 0xff, n): the token is random, and about 1 run in 10
	 * had a 0xff byte in it or in the message ID. The walk itself: a
	 * message ID of 0xffff is no marker, a payload is. */
	assert_false(has_payload_marker(in, len));
	uint8_t probe[32];
	static const uint8_t uri_3[] = {0xb1, '3'};
	assert_false(has_payload_marker(probe, request(probe, 3, 0xffff, uri_3, 2, NULL, 0)));
	assert_true(has_payload_marker(probe, request(probe, 3, 0xffff, uri_3, 2, in, 1)));
	char reply[512];
	test_control("{\"cmd\":\"request\",\"endpoint\":\"attr-1\",\"method\":"
		     "\"write_attributes\",\"path\":\"/3/0/13\"}\n",
		     reply, sizeof(reply));
	assert_non_null(strstr(reply, "needs one or more numeric attributes"));
	close(fd);
}

/* Queue mode: the Read waits while the device sleeps and goes out right
 * after the answer to its Update; a second one waits too long and fails. */
static void queue_mode(void **state)
{
	uint8_t req[128], in[256];
	char loc[32];
	(void)state;
	int fd = registered("queue-1", "&b=UQ", loc, sizeof(loc));
	usleep(400 * 1000); /* past the 300 ms awake time */
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"queue-1\",\"method\":\"read\","
			"\"path\":\"/3/0\"}\n");
	assert_true(events_have("\"event\":\"request_queued\"", 1));
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, 200), 0);
	size_t n = build_request(req, 0x02, 0x7201, loc, NULL, NULL);
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, in, sizeof(in)) >= 4);
	assert_int_equal(in[1], 0x44); /* the Update's 2.04 first, */
	assert_true(recv_within(fd, in, sizeof(in)) >= 4);
	assert_int_equal(in[1], 0x01); /* then the GET */
	usleep(400 * 1000);
	test_control_ok("{\"cmd\":\"request\",\"endpoint\":\"queue-1\",\"method\":\"read\","
			"\"path\":\"/3/0/1\"}\n");
	assert_true(events_have("\"reason\":\"queued_too_long\"", 1));
	close(fd);
}

/* A queue past its limit: the oldest waiting request is refused. */
static void queue_full(void **state)
{
	char loc[32];
	const char *read = "{\"cmd\":\"request\",\"endpoint\":\"queue-2\",\"method\":\"read\","
			   "\"path\":\"/3/0\"}\n";
	(void)state;
	int fd = registered("queue-2", "&b=UQ", loc, sizeof(loc));
	usleep(400 * 1000);
	for (int i = 0; i < 3; i++)
		test_control_ok(read);
	assert_true(events_have("\"reason\":\"queue_full\"", 1));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(send_decoded),   cmocka_unit_test(bootstrap_pack),
	    cmocka_unit_test(read_composite), cmocka_unit_test(write_attributes),
	    cmocka_unit_test(queue_mode),     cmocka_unit_test(queue_full),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
