/* End-to-end test of plain CoAP (no DTLS) in the emulator, with the real
 * server in a child process and a UDP client on 127.0.0.1 writing CoAP by
 * hand. Plain CoAP peers get sessions like DTLS ones, so: Register answers
 * 2.01; a retransmitted CON is answered from the de-duplication cache, not
 * run twice; a server-initiated Read reaches the client and its answer is
 * decoded; an idle session without a registration is closed while the
 * registered one stays; bad datagrams, stray responses and the session
 * limit are dropped with their reasons; TLS-only control commands refuse;
 * faults delay plain datagrams both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_emu_dtls.h"
#include "test_coap_plain.h"


/* Plain CoAP on an ephemeral port, a 1 s idle timeout, room for 3 peers. */
static void tweak(struct emu_config *cfg)
{
	cfg->coap_port = 0;
	cfg->coap_idle_s = 1;
	cfg->coap_max_sessions = 3;
	cfg->control = strdup(test_ctl_path);
}

static int setup(void **state)
{
	(void)state;
	snprintf(test_ctl_path, sizeof(test_ctl_path), "/tmp/test_emu_plain_%d.sock",
		 (int)getpid());
	start_server(tweak);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return stop_server();
}

/* Registers endpoint ep from fd (mid): the ACK must carry 2.01. */
static void register_ep(int fd, const char *ep, uint16_t mid, uint8_t *ack, ssize_t *ack_len)
{
	uint8_t req[256];
	char query[64];
	snprintf(query, sizeof(query), "ep=%s&lt=60", ep);
	size_t n = build_request(req, 0x02, mid, "rd", query, "</3/0>");
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	*ack_len = recv_within(fd, ack, 512);
	assert_true(*ack_len >= 5);
	assert_int_equal(ack[0] & 0xf0, COAP_ACK);
	assert_int_equal(ack[1], 0x41); /* 2.01 */
}

static void plain_register_and_duplicate(void **state)
{
	(void)state;
	uint8_t req[256], ack[512], again[512];
	ssize_t ack_len;
	int fd = new_socket(server_port_of("coap"));
	register_ep(fd, "plain-1", 0x1234, ack, &ack_len);
	assert_true(events_have("\"event\":\"session_opened\"", 1));
	assert_true(events_have("\"transport\":\"coap\"", 1));
	assert_true(events_have("\"endpoint\":\"plain-1\"", 1));
	/* The same CON again (same MID): the same ACK, and no second Register. */
	size_t n = build_request(req, 0x02, 0x1234, "rd", "ep=plain-1&lt=60", "</3/0>");
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_int_equal(recv_within(fd, again, sizeof(again)), ack_len);
	assert_memory_equal(ack, again, (size_t)ack_len);
	assert_true(events_have("\"event\":\"coap_duplicate\"", 1));
	assert_int_equal(events_have("\"event\":\"register\"", 1), 1);
	close(fd);
}

static void plain_server_initiated_read(void **state)
{
	(void)state;
	uint8_t ack[512], req[512];
	ssize_t ack_len;
	char reply[1024];
	int fd = new_socket(server_port_of("coap"));
	register_ep(fd, "plain-2", 0x2000, ack, &ack_len);
	test_control("{\"cmd\":\"request\",\"endpoint\":\"plain-2\",\"method\":\"read\","
		     "\"path\":\"/3/0/0\"}\n",
		     reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	/* The GET arrives on the client's own socket, as plain CoAP. */
	ssize_t n = recv_within(fd, req, sizeof(req));
	assert_true(n >= 4);
	assert_int_equal(req[0] & 0x30, 0x00); /* CON */
	assert_int_equal(req[1], 0x01);	       /* GET */
	/* ACK 2.05 with the same MID and token, text/plain "Acme". */
	uint8_t resp[64];
	size_t tkl = req[0] & 0x0f, r = 0;
	resp[r++] = (uint8_t)(COAP_ACK | tkl);
	resp[r++] = 0x45;
	resp[r++] = req[2];
	resp[r++] = req[3];
	memcpy(resp + r, req + 4, tkl);
	r += tkl;
	resp[r++] = 0xc0; /* Content-Format (12), empty = 0: text/plain */
	resp[r++] = 0xff;
	memcpy(resp + r, "Acme", 4);
	r += 4;
	assert_int_equal(send(fd, resp, r, 0), (ssize_t)r);
	assert_true(events_have("\"event\":\"response_received\"", 1));
	assert_true(events_have("\"decoded\":\"Acme\"", 1));
	close(fd);
}

/* A peer that never registered is closed after the idle timeout; the
 * registered ones (lifetime 60 s) stay reachable. */
static void plain_idle_session_closed(void **state)
{
	(void)state;
	uint8_t req[128], resp[512];
	char reply[2048];
	int fd = new_socket(server_port_of("coap"));
	size_t n = build_request(req, 0x01, 0x3000, "nothing/here", NULL, NULL);
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, resp, sizeof(resp)) >= 4);
	assert_int_equal(resp[1], 0x84); /* 4.04 */
	assert_true(events_have("\"reason\":\"idle\"", 1));
	assert_int_equal(events_have("\"reason\":\"idle\"", 1), 1);
	test_control("{\"cmd\":\"request\",\"endpoint\":\"plain-1\",\"method\":\"read\","
		     "\"path\":\"/3/0/1\"}\n",
		     reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"ok\":true"));
	close(fd);
}

static void plain_bad_input_dropped(void **state)
{
	(void)state;
	static const uint8_t garbage[] = {0xff, 0x00, 0x01};
	static const uint8_t stray_ack[] = {0x60, 0x00, 0x12, 0x34};
	char reply[512];
	int fd = new_socket(server_port_of("coap"));
	assert_int_equal(send(fd, garbage, sizeof(garbage), 0), (ssize_t)sizeof(garbage));
	assert_true(events_have("\"reason\":\"malformed_coap\"", 1));
	assert_int_equal(send(fd, stray_ack, sizeof(stray_ack), 0), (ssize_t)sizeof(stray_ack));
	assert_true(events_have("\"reason\":\"no_coap_session\"", 1));
	close(fd);
	/* A plain session has no (D)TLS: an alert cannot be sent on it. */
	test_control("{\"cmd\":\"send_alert\",\"session\":1,\"description\":40}\n", reply,
		     sizeof(reply));
	assert_non_null(strstr(reply, "plain CoAP"));
}

/* plain-1 and plain-2 hold two of the three sessions: one more peer gets
 * one, the next is refused. */
static void plain_session_limit(void **state)
{
	(void)state;
	uint8_t req[128], resp[512];
	int a = new_socket(server_port_of("coap")), b = new_socket(server_port_of("coap"));
	size_t n = build_request(req, 0x01, 0x4000, "x", NULL, NULL);
	assert_int_equal(send(a, req, n, 0), (ssize_t)n);
	assert_true(recv_within(a, resp, sizeof(resp)) >= 4);
	assert_int_equal(send(b, req, n, 0), (ssize_t)n);
	assert_true(events_have("\"reason\":\"coap_session_limit\"", 1));
	close(a);
	close(b);
}

/* Faults apply to plain CoAP as to DTLS: a delayed request and a delayed
 * answer go out later through the plain socket, not the DTLS one. Runs
 * last: it waits for session_limit's unregistered peer to go idle. */
static void plain_delay_fault(void **state)
{
	(void)state;
	uint8_t req[128], resp[512];
	assert_true(events_have("\"reason\":\"idle\"", 2));
	test_control_ok("{\"cmd\":\"delay\",\"direction\":\"both\",\"count\":1,\"ms\":100}\n");
	int fd = new_socket(server_port_of("coap"));
	size_t n = build_request(req, 0x01, 0x5000, "y", NULL, NULL);
	assert_int_equal(send(fd, req, n, 0), (ssize_t)n);
	assert_true(recv_within(fd, resp, sizeof(resp)) >= 4);
	assert_int_equal(resp[1], 0x84); /* 4.04 */
	assert_true(events_have("\"fault\":\"delay\",\"direction\":\"in\"", 1));
	assert_true(events_have("\"fault\":\"delay\",\"direction\":\"out\"", 1));
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_register_and_duplicate),
	    cmocka_unit_test(plain_server_initiated_read),
	    cmocka_unit_test(plain_idle_session_closed),
	    cmocka_unit_test(plain_bad_input_dropped),
	    cmocka_unit_test(plain_session_limit),
	    cmocka_unit_test(plain_delay_fault),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
