/* Unit tests for the shim's client config and option handling: strict
 * parsing with JSON paths in errors, defaults, and option name/JSON mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client_shim/shim_config.h"
#include "client_shim/shim_option.h"
#include "client_shim/shim_prompt.h"

static shim_config_t cfg;
static char msg[256];

/* Parses text as the config object; returns shim_config_parse's result. */
static int parse(const char *text)
{
	json_error_t jerr;
	json_t *o = json_loads(text, 0, &jerr);
	int ret;

	assert_non_null(o);
	msg[0] = 0;
	ret = shim_config_parse(o, &cfg, msg, sizeof(msg));
	json_decref(o);
	return ret;
}

#define PSK "\"security\":{\"mode\":\"psk\",\"identity\":\"dev1\",\"key_hex\":\"0011aA\"}"

static void minimal_psk_config_gets_defaults(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK "}"), 0);
	assert_string_equal(cfg.host, "127.0.0.1");
	assert_string_equal(cfg.port, "5684");
	assert_int_equal(cfg.transport, SL_TRANSPORT_DTLS);
	assert_int_equal(cfg.key_len, 3);
	assert_memory_equal(cfg.key, "\x00\x11\xaa", 3);
	assert_int_equal(cfg.lifetime, 60);
	assert_int_equal(cfg.hs.min_ms, 1000);
	assert_int_equal(cfg.hs.max_ms, 8000);
	assert_int_equal(cfg.request_timeout_ms, 5000);
	assert_false(cfg.use_cid);
	assert_false(cfg.has_sni);
}

static void full_config(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"server\":\"[::1]:7\",\"endpoint\":\"ep\"," PSK
			       ",\"transport\":\"tls\",\"use_connection_id\":true,"
			       "\"own_cid_hex\":\"a1b2\",\"sni\":\"srv\",\"ciphersuites\":[49320,"
			       "\"TLS-PSK-WITH-AES-128-CBC-SHA256\"],\"handshake_timeout_ms\":"
			       "{\"min\":10,\"max\":20},\"lifetime\":5,\"dane\":[{\"usage\":3,"
			       "\"selector\":1,\"matching\":1,\"data_hex\":\"00ff\"}]}"),
			 0);
	assert_string_equal(cfg.host, "::1");
	assert_string_equal(cfg.port, "7");
	assert_int_equal(cfg.transport, SL_TRANSPORT_TLS);
	assert_int_equal(cfg.own_cid_len, 2);
	assert_true(cfg.has_sni);
	assert_int_equal(cfg.n_suites, 2);
	assert_int_equal(cfg.suites[0], 0xC0A8);
	assert_int_equal(cfg.suites[1], 0x00AE);
	assert_int_equal(cfg.hs.min_ms, 10);
	assert_int_equal(cfg.n_dane, 1);
	assert_int_equal(cfg.dane[0].usage, SL_DANE_DOMAIN_ISSUED_CERT);
	assert_int_equal(cfg.dane[0].data_len, 2);
}

/* recv_buffer_size: the device's receive buffer, 1..65536, default 65536
 * (any datagram fits, as before the key existed). */
static void recv_buffer_size_is_bounded(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK "}"), 0);
	assert_int_equal(cfg.recv_buffer_size, SHIM_RECV_BUFFER_MAX);
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK
			       ",\"recv_buffer_size\":16}"),
			 0);
	assert_int_equal(cfg.recv_buffer_size, 16);
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK
			       ",\"recv_buffer_size\":0}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.recv_buffer_size"));
}

static void errors_name_the_json_path(void **state)
{
	(void)state;
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"e\",\"security\":"
			       "{\"mode\":\"psk\",\"identity\":\"d\",\"key_hex\":\"0g\"}}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.security.key_hex"));
	assert_int_equal(parse("{\"server\":\"127.0.0.1\",\"endpoint\":\"e\"," PSK "}"), -1);
	assert_non_null(strstr(msg, "$.config.server"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK ",\"x\":1}"),
			 -1);
	assert_string_equal(msg, "$.config.x: unknown key");
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"ciphersuites\":[\"NOPE\"]}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.ciphersuites[0]"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"handshake_timeout_ms\":{\"min\":9,\"max\":3}}"),
			 -1);
	assert_non_null(strstr(msg, "min 9 is above max 3"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"dane\":[{\"usage\":5,\"data_hex\":\"00\"}]}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.dane[0].usage"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"}"), -1);
	assert_non_null(strstr(msg, "$.config.security"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\",\"security\":"
			       "{\"mode\":\"rpk\"}}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.security.mode"));
}

/* DANE records with validation off would be ignored: refused, naming why. */
static void dane_needs_validation(void **state)
{
	(void)state;
	assert_int_equal(
	    parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\",\"security\":"
		  "{\"mode\":\"certificate\",\"validation\":false},\"dane\":"
		  "[{\"usage\":3,\"selector\":1,\"matching\":1,\"data_hex\":\"00\"}]}"),
	    -1);
	assert_non_null(strstr(msg, "$.config.dane: DANE records need server certificate"));
	assert_int_equal(
	    parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\",\"security\":"
		  "{\"mode\":\"certificate\"},\"dane\":"
		  "[{\"usage\":3,\"selector\":1,\"matching\":1,\"data_hex\":\"00\"}]}"),
	    0);
	assert_int_equal(cfg.n_dane, 1);
}

/* extra_objects: each {"id","instances"} becomes its links after the two
 * built-in ones; instances 0 is the bare object. */
static void extra_objects_become_links(void **state)
{
	char links[SHIM_LINKS_MAX];

	(void)state;
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK "}"), 0);
	assert_int_equal(cfg.objects.n, 0);
	assert_int_equal(shim_objects_links(&cfg.objects, links, sizeof(links)), 13);
	assert_string_equal(links, "</1/0>,</3/0>");
	assert_int_equal(parse("{\"server\":\"127.0.0.1:5684\",\"endpoint\":\"ep\"," PSK
			       ",\"extra_objects\":[{\"id\":3303,\"instances\":2},{\"id\":5,"
			       "\"instances\":0},{\"id\":0}]}"),
			 0);
	assert_int_equal(cfg.objects.n, 3);
	assert_int_equal(shim_objects_links(&cfg.objects, links, sizeof(links)), 45);
	assert_string_equal(links, "</1/0>,</3/0>,</3303/0>,</3303/1>,</5>,</0/0>");
	/* A buffer too small is refused, never truncated. */
	assert_int_equal(shim_objects_links(&cfg.objects, links, 45), -1);
	assert_int_equal(shim_objects_links(&cfg.objects, links, 46), 45);
}

/* Checks that text is refused with an error containing want. */
static void refused(const char *extra, const char *want)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK ",\"extra_objects\":%s}",
		 extra);
	assert_int_equal(parse(text), -1);
	if (!strstr(msg, want))
		fail_msg("for %s: wanted \"%s\" in \"%s\"", extra, want, msg);
}

static void extra_objects_errors_name_the_path(void **state)
{
	(void)state;
	refused("{}", "$.config.extra_objects: expected an array of at most 16 objects");
	refused("[7]", "$.config.extra_objects[0]: expected an object");
	refused("[{\"instances\":2}]", "$.config.extra_objects[0].id: missing");
	refused("[{\"id\":65535}]", "$.config.extra_objects[0].id: missing or not an integer");
	refused("[{\"id\":3}]", "$.config.extra_objects[0].id: object 3 is built in");
	refused("[{\"id\":9},{\"id\":9}]",
		"$.config.extra_objects[1].id: object 9 is listed twice");
	refused("[{\"id\":9,\"instances\":-1}]", "$.config.extra_objects[0].instances: expected");
	refused("[{\"id\":9,\"instances\":1025}]", "$.config.extra_objects[0].instances");
	refused("[{\"id\":9,\"x\":1}]", "$.config.extra_objects[0].x: unknown key");
	refused("[{\"id\":10000,\"instances\":1024}]",
		"$.config.extra_objects: the link payload would exceed 8191 bytes");
}

/* The after-connect actions: Anjay's defaults, each one settable, and every
 * mistake refused with its JSON path (a typo must not silently fall back). */
static void after_connect_defaults_and_values(void **state)
{
	char text[512];

	(void)state;
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK "}"), 0);
	assert_int_equal(cfg.after_connect.full_handshake, SHIM_AFTER_REGISTER);
	assert_int_equal(cfg.after_connect.resumed, SHIM_AFTER_NOTHING);
	assert_int_equal(cfg.after_connect.cid_restored, SHIM_AFTER_NOTHING);
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"after_connect\":{\"full_handshake\":\"nothing\","
			       "\"resumed\":\"update\",\"cid_restored\":\"register\"}}"),
			 0);
	assert_int_equal(cfg.after_connect.full_handshake, SHIM_AFTER_NOTHING);
	assert_int_equal(cfg.after_connect.resumed, SHIM_AFTER_UPDATE);
	assert_int_equal(cfg.after_connect.cid_restored, SHIM_AFTER_REGISTER);
	assert_string_equal(shim_config_after_name(SHIM_AFTER_UPDATE), "update");
	/* Only the keys given change: the others keep their defaults. */
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"after_connect\":{\"resumed\":\"update\"}}"),
			 0);
	assert_int_equal(cfg.after_connect.full_handshake, SHIM_AFTER_REGISTER);
	snprintf(text, sizeof(text), "{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK "%s}",
		 ",\"after_connect\":{\"resumed\":\"Update\"}");
	assert_int_equal(parse(text), -1);
	assert_string_equal(msg, "$.config.after_connect.resumed: expected \"register\", "
				 "\"update\" or \"nothing\"");
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"after_connect\":{\"full_handshake\":1}}"),
			 -1);
	assert_non_null(strstr(msg, "$.config.after_connect.full_handshake: expected"));
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"after_connect\":{\"new_session\":\"update\"}}"),
			 -1);
	assert_string_equal(msg, "$.config.after_connect.new_session: unknown key");
	assert_int_equal(parse("{\"server\":\"1.2.3.4:1\",\"endpoint\":\"e\"," PSK
			       ",\"after_connect\":\"update\"}"),
			 -1);
	assert_string_equal(msg, "$.config.after_connect: expected an object");
}

static void options_by_name_and_json(void **state)
{
	sl_option_value_t v;
	json_t *j;

	(void)state;
	assert_int_equal(shim_option_from_name("inner_mtu"), SL_OPT_INNER_MTU);
	assert_int_equal(shim_option_from_name("nope"), -1);
	assert_string_equal(shim_option_name(SL_OPT_HAS_BUFFERED_DATA), "has_buffered_data");
	j = json_integer(250);
	assert_int_equal(shim_option_from_json(SL_OPT_RECV_TIMEOUT, j, &v, msg, sizeof(msg)), 0);
	assert_int_equal(v.i64, 250);
	assert_int_equal(shim_option_from_json(SL_OPT_INNER_MTU, j, &v, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "read-only"));
	json_decref(j);
	j = json_pack("{s:i,s:i}", "min", 500, "max", 100);
	assert_int_equal(
	    shim_option_from_json(SL_OPT_DTLS_HANDSHAKE_TIMEOUTS, j, &v, msg, sizeof(msg)), -1);
	json_decref(j);
	memset(&v, 0, sizeof(v));
	v.cid.negotiated = 1;
	v.cid.peer_len = 2;
	v.cid.peer[0] = 0xab;
	v.cid.peer[1] = 0x01;
	j = shim_option_to_json(SL_OPT_CONNECTION_ID, &v);
	assert_string_equal(json_string_value(json_object_get(j, "own")), "");
	assert_string_equal(json_string_value(json_object_get(j, "peer")), "ab01");
	json_decref(j);
}

static void prompt_lines_become_commands(void **state)
{
	json_t *c;

	(void)state;
	c = shim_prompt_parse("get_option inner_mtu", msg, sizeof(msg));
	assert_string_equal(json_string_value(json_object_get(c, "option")), "inner_mtu");
	json_decref(c);
	c = shim_prompt_parse("idle 250", msg, sizeof(msg));
	assert_int_equal(json_integer_value(json_object_get(c, "ms")), 250);
	json_decref(c);
	c = shim_prompt_parse("connect {\"id\":4}", msg, sizeof(msg));
	assert_int_equal(json_integer_value(json_object_get(c, "id")), 4);
	json_decref(c);
	assert_null(shim_prompt_parse("connect now", msg, sizeof(msg)));
	assert_non_null(strstr(msg, "takes no word argument"));
	assert_null(shim_prompt_parse("frobnicate now", msg, sizeof(msg)));
	assert_string_equal(msg, "unknown command \"frobnicate\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(minimal_psk_config_gets_defaults),
	    cmocka_unit_test(full_config),
	    cmocka_unit_test(recv_buffer_size_is_bounded),
	    cmocka_unit_test(errors_name_the_json_path),
	    cmocka_unit_test(dane_needs_validation),
	    cmocka_unit_test(extra_objects_become_links),
	    cmocka_unit_test(extra_objects_errors_name_the_path),
	    cmocka_unit_test(after_connect_defaults_and_values),
	    cmocka_unit_test(options_by_name_and_json),
	    cmocka_unit_test(prompt_lines_become_commands),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
