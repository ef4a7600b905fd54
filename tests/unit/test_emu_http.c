/* Unit tests for the emulator's HTTP API: its settings ($.http and the
 * flags: listen address forms, bounds, unknown keys, each error naming its
 * JSON path or flag; --print-config round trip), and, in process, the
 * server's own loop (emu_server_step) driving libmicrohttpd: an event
 * reaches a GET /api/events client as a Server-Sent Event, and a POST
 * without the token is refused 401 while a GET is answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lh_event.h"
#include "server/emu_config.h"
#include "server/emu_http_cfg.h"
#include "server/emu_http_int.h"
#include "server/emu_server.h"

/* Applies JSON text to a fresh default config. */
static int apply(const char *text, struct emu_config *cfg, char *err, size_t size)
{
	json_t *root = json_loads(text, 0, NULL);
	assert_non_null(root);
	emu_config_defaults(cfg);
	int ret = emu_config_apply_json(cfg, root, err, size);
	json_decref(root);
	return ret;
}

static void http_config_is_applied_and_printed(void **state)
{
	(void)state;
	struct emu_config cfg, again;
	char err[256] = "";
	assert_int_equal(apply("{\"http\":{\"listen\":\"[::1]:8080\",\"token\":\"t\","
			       "\"max_clients\":3,\"max_body\":2048,\"sse_max_queue\":8192}}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(cfg.http, "[::1]:8080");
	assert_string_equal(cfg.http_token, "t");
	assert_int_equal(cfg.http_max_clients, 3);
	assert_int_equal(cfg.http_max_body, 2048);
	assert_int_equal(cfg.http_sse_max, 8192);
	json_t *printed = emu_config_to_json(&cfg);
	emu_config_defaults(&again);
	assert_int_equal(emu_config_apply_json(&again, printed, err, sizeof(err)), 0);
	assert_string_equal(again.http, cfg.http);
	assert_int_equal(again.http_max_clients, 3);
	json_decref(printed);
	emu_config_free(&again);
	emu_config_free(&cfg);
}

/* Each bad $.http value is refused with its JSON path. */
static void http_config_errors_name_the_path(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"{\"http\":\"8080\"}", "$.http: expected an object"},
	    {"{\"http\":{\"listen\":\"localhost:80\"}}",
	     "$.http.listen: \"localhost:80\": expected"},
	    {"{\"http\":{\"listen\":\"127.0.0.1:70000\"}}", "$.http.listen:"},
	    {"{\"http\":{\"listen\":\"\"}}", "$.http.listen: expected a non-empty string"},
	    {"{\"http\":{\"max_clients\":0}}", "$.http.max_clients: expected integer 1..4096"},
	    {"{\"http\":{\"max_body\":\"big\"}}", "$.http.max_body: expected integer"},
	    {"{\"http\":{\"tokn\":\"x\"}}", "$.http.tokn: unknown key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_config cfg;
		char err[256] = "";
		assert_int_equal(apply(cases[i][0], &cfg, err, sizeof(err)), -1);
		if (strncmp(err, cases[i][1], strlen(cases[i][1])) != 0)
			fail_msg("%s: got \"%s\", want \"%s...\"", cases[i][0], err, cases[i][1]);
		emu_config_free(&cfg);
	}
}

/* A bare port is loopback; numeric addresses only; flags name themselves. */
static void http_listen_forms_and_flags(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	char err[256] = "", text[64];
	assert_int_equal(emu_http_parse_listen("8080", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, text, sizeof(text));
	assert_string_equal(text, "127.0.0.1");
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8080);
	assert_int_equal(emu_http_parse_listen("[::1]:0", &ss, &len, err, sizeof(err)), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(emu_http_parse_listen("0.0.0.0:x", &ss, &len, err, sizeof(err)), -1);
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	assert_int_equal(emu_http_cfg_flag(&cfg, "--http", "example.com:80", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "--http \"example.com:80\": expected ADDR:PORT"));
	assert_int_equal(emu_http_cfg_flag(&cfg, "--http-token", "", err, sizeof(err)), -1);
	assert_int_equal(emu_http_cfg_flag(&cfg, "--http", "127.0.0.2:9", err, sizeof(err)), 0);
	assert_string_equal(cfg.http, "127.0.0.2:9");
	emu_config_free(&cfg);
}

/* An emulator with only the HTTP API (token "tk") on a free loopback port. */
static void start(struct emu_server *srv, struct emu_config *cfg)
{
	emu_config_defaults(cfg);
	cfg->coap_port = cfg->dtls_port = cfg->tls_port = EMU_PORT_OFF;
	cfg->tls_port_given = 1;
	snprintf(cfg->bind, sizeof(cfg->bind), "127.0.0.1");
	cfg->http = strdup("127.0.0.1:0");
	cfg->http_token = strdup("tk");
	char err[256];
	assert_int_equal(emu_config_finish(cfg, err, sizeof(err)), 0);
	lh_event_init(NULL, "emulator", NULL, NULL);
	assert_int_equal(emu_server_init(srv, cfg), 0);
	assert_non_null(srv->http);
}

/* A blocking loopback client of the HTTP port that sends text. */
static int client(struct emu_server *srv, const char *text)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(srv->http->port)};
	struct timeval tv = {0, 20000};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	assert_int_equal(send(fd, text, strlen(text), 0), (ssize_t)strlen(text));
	return fd;
}

/* Runs the server's loop until what fd received contains want (at most
 * 300 turns of 10 ms). Returns 1 when it came. */
static int pump_until(struct emu_server *srv, int fd, char *buf, size_t size, size_t *len,
		      const char *want)
{
	for (int turn = 0; turn < 300 && !strstr(buf, want); turn++) {
		assert_true(emu_server_step(srv, 10) >= 0);
		ssize_t n = recv(fd, buf + *len, size - 1 - *len, 0);
		if (n > 0)
			*len += (size_t)n;
		buf[*len] = '\0';
	}
	return strstr(buf, want) != NULL;
}

static void sse_delivers_an_event_and_token_guards_writes(void **state)
{
	(void)state;
	struct emu_server srv;
	struct emu_config cfg;
	char buf[8192] = "", other[4096] = "";
	size_t len = 0, olen = 0;
	start(&srv, &cfg);
	int fd = client(&srv, "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
	assert_true(pump_until(&srv, fd, buf, sizeof(buf), &len, "lwm2m-emulator events"));
	assert_non_null(strstr(buf, "Content-Type: text/event-stream"));
	lh_event_emitf("unit_probe", "{s:s}", "what", "sse");
	assert_true(pump_until(&srv, fd, buf, sizeof(buf), &len, "\"event\":\"unit_probe\""));
	assert_non_null(strstr(buf, "data: {\"ts\":"));
	int w = client(&srv, "POST /api/faults/stop_answering HTTP/1.1\r\nHost: x\r\n"
			     "Content-Length: 2\r\n\r\n{}");
	assert_true(pump_until(&srv, w, other, sizeof(other), &olen, "unauthorized"));
	assert_non_null(strstr(other, "HTTP/1.1 401"));
	assert_false(srv.faults.stopped);
	close(w);
	emu_server_fini(&srv);
	close(fd);
	emu_config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(http_config_is_applied_and_printed),
	    cmocka_unit_test(http_config_errors_name_the_path),
	    cmocka_unit_test(http_listen_forms_and_flags),
	    cmocka_unit_test(sse_delivers_an_event_and_token_guards_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
