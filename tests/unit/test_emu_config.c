/* Unit tests for the emulator's config: strict JSON (unknown keys and wrong
 * types name the JSON path), flags over the file, defaults and --psk text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "server/emu_certbind.h"
#include "server/emu_config.h"

/* Applies JSON text to a fresh default config; returns the result. */
static int apply(const char *text, struct emu_config *cfg, char *err, size_t size)
{
	json_error_t jerr;
	json_t *root = json_loads(text, 0, &jerr);
	assert_non_null(root);
	emu_config_defaults(cfg);
	int ret = emu_config_apply_json(cfg, root, err, size);
	json_decref(root);
	return ret;
}

static void full_config_is_applied(void **state)
{
	(void)state;
	struct emu_config cfg;
	char err[256] = "";
	assert_int_equal(
	    apply("{\"bind\":\"127.0.0.1\",\"ports\":{\"coap\":0,\"dtls\":6000,\"tls\":\"off\"},"
		  "\"psk\":[{\"identity\":\"dev1\",\"key_hex\":\"000102\"}],"
		  "\"dtls\":{\"cookies\":false,\"cid\":{\"enabled\":true,\"length\":0},"
		  "\"handshake_timeout_ms\":{\"min\":500,\"max\":4000},"
		  "\"ciphersuites\":[\"TLS-PSK-WITH-AES-128-CCM-8\"],\"mtu\":1200,"
		  "\"idle_timeout\":30,\"pack_records\":true},"
		  "\"lwm2m\":{\"min_lifetime\":10,\"max_lifetime\":600}}",
		  &cfg, err, sizeof(err)),
	    0);
	assert_string_equal(cfg.bind, "127.0.0.1");
	assert_int_equal(cfg.coap_port, 0);
	assert_int_equal(cfg.dtls_port, 6000);
	assert_int_equal(cfg.tls_port, EMU_PORT_OFF);
	struct emu_psk_view pv;
	assert_int_equal(cfg.psk.count, 1);
	assert_true(emu_psks_find(&cfg.psk, "dev1", 4, &pv));
	assert_int_equal(pv.key_len, 3);
	assert_false(cfg.cookies);
	assert_true(cfg.cid_enabled);
	assert_int_equal(cfg.cid_length, 0);
	assert_int_equal(cfg.hs_min_ms, 500);
	assert_int_equal(cfg.hs_max_ms, 4000);
	assert_int_not_equal(cfg.ciphersuites[0], 0);
	assert_int_equal(cfg.ciphersuites[1], 0);
	assert_int_equal(cfg.mtu, 1200);
	assert_int_equal(cfg.dtls_idle_s, 30);
	assert_true(cfg.pack_records);
	assert_int_equal(cfg.min_lifetime, 10);
	assert_int_equal(cfg.max_lifetime, 600);
	emu_config_free(&cfg);
}

/* Each bad document must fail with an error naming the exact path. */
static void errors_name_the_json_path(void **state)
{
	(void)state;
	static const struct {
		const char *json, *expect;
	} cases[] = {
	    {"{\"colour\":1}", "$.colour: unknown key"},
	    {"{\"dtls\":{\"cid\":{\"length\":33}}}", "$.dtls.cid.length: expected integer 0..32"},
	    {"{\"dtls\":{\"cid\":{\"length\":\"8\"}}}", "$.dtls.cid.length: expected integer"},
	    {"{\"dtls\":{\"cookies\":1}}", "$.dtls.cookies: expected true or false"},
	    {"{\"dtls\":{\"pack_records\":\"yes\"}}",
	     "$.dtls.pack_records: expected true or false"},
	    {"{\"dtls\":{\"cid\":{\"enabeld\":true}}}", "$.dtls.cid.enabeld: unknown key"},
	    {"{\"ports\":{\"dtls\":70000}}", "$.ports.dtls: expected integer 0..65535"},
	    {"{\"psk\":[{\"identity\":\"a\",\"key_hex\":\"xyz\"}]}", "$.psk[0]: key must be"},
	    {"{\"psk\":[{\"identity\":\"a\",\"key\":\"00\"}]}", "$.psk[0].key: unknown key"},
	    {"{\"psk\":{}}", "$.psk: expected an array"},
	    {"{\"dtls\":{\"ciphersuites\":[\"NOPE\"]}}", "$.dtls.ciphersuites[0]: not a"},
	    {"{\"lwm2m\":{\"max_lifetime\":0}}", "$.lwm2m.max_lifetime: expected integer"},
	    {"{\"dtls\":{\"idle_timeout\":-1}}", "$.dtls.idle_timeout: expected integer 0..604800"},
	    {"{\"dtls\":{\"idle_timeout\":\"1h\"}}", "$.dtls.idle_timeout: expected integer"},
	    {"[]", "$: expected a JSON object"},
	    {"{\"dtls\":[]}", "$.dtls: expected an object"},
	    {"{\"sni\":{\"missing\":\"maybe\"}}", "$.sni.missing: expected \"reject\" or"},
	    {"{\"sni\":{\"unknown\":1}}", "$.sni.unknown: expected \"reject\" or"},
	    {"{\"vhosts\":[{\"name\":\"x\",\"cid\":{\"length\":40}}]}",
	     "$.vhosts[0].cid.length: expected integer 0..32"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct emu_config cfg;
		char err[256] = "";
		assert_int_equal(apply(cases[i].json, &cfg, err, sizeof(err)), -1);
		if (strncmp(err, cases[i].expect, strlen(cases[i].expect)) != 0)
			fail_msg("case %zu: got \"%s\", want prefix \"%s\"", i, err,
				 cases[i].expect);
		emu_config_free(&cfg);
	}
}

/* Writes text to a temporary file and returns its path. */
static void write_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void flags_override_file_and_default_psk(void **state)
{
	(void)state;
	char path[] = "/tmp/test_emu_config_XXXXXX";
	char err[256] = "";
	write_file(path, "{\"ports\":{\"dtls\":7000},\"dtls\":{\"cookies\":false}}");
	char *argv[] = {"lwm2m-emulator", "--dtls-port", "0", "--config", path, "--cid", "4", NULL};
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	FILE *out = fopen("/dev/null", "w");
	assert_int_equal(emu_config_parse_args(&cfg, 7, argv, out, err, sizeof(err)), EMU_ARGS_RUN);
	fclose(out);
	unlink(path);
	assert_int_equal(cfg.dtls_port, 0); /* the flag wins though it came first */
	assert_false(cfg.cookies);	    /* from the file */
	assert_true(cfg.cid_enabled);
	assert_int_equal(cfg.cid_length, 4);
	struct emu_psk_view pv;
	assert_int_equal(cfg.psk.count, 1); /* the documented default */
	assert_true(emu_psks_find(&cfg.psk, EMU_DEFAULT_PSK_IDENTITY,
				  strlen(EMU_DEFAULT_PSK_IDENTITY), &pv));
	assert_memory_equal(pv.key, "lwm2m-secret-key", 16);
	emu_config_free(&cfg);
}

static void bad_flags_and_files_are_refused(void **state)
{
	(void)state;
	static char *bad[][3] = {
	    {"--cid", "33", "--cid 33"},
	    {"--cookies", "maybe", "--cookies maybe"},
	    {"--dtls-port", "x", "--dtls-port x"},
	    {"--psk", "nohexkey", "--psk nohexkey"},
	    {"--psk", "id:zz", "--psk: key"},
	    {"--bind", "localhost", "--bind localhost"},
	    {"--config", "/nonexistent.json", "/nonexistent.json"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct emu_config cfg;
		char err[256] = "";
		char *argv[] = {"lwm2m-emulator", bad[i][0], bad[i][1], NULL};
		emu_config_defaults(&cfg);
		assert_int_equal(emu_config_parse_args(&cfg, 3, argv, stderr, err, sizeof(err)),
				 EMU_ARGS_ERROR);
		if (!strstr(err, bad[i][2]))
			fail_msg("case %zu: \"%s\" does not mention \"%s\"", i, err, bad[i][2]);
		emu_config_free(&cfg);
	}
}

/* A cross-field error found after loading names the file like the
 * loader's own errors ("FILE: $.path: message", what the harness maps). */
static void finish_errors_name_the_file(void **state)
{
	(void)state;
	char path[] = "/tmp/test_emu_config_XXXXXX", want[96];
	char err[256] = "";
	struct emu_config cfg;
	write_file(path, "{\"dtls\":{\"handshake_timeout_ms\":{\"min\":5000,\"max\":100}}}");
	char *argv[] = {"lwm2m-emulator", "--config", path, NULL};
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_parse_args(&cfg, 3, argv, stderr, err, sizeof(err)),
			 EMU_ARGS_ERROR);
	snprintf(want, sizeof(want), "%s: $.dtls.handshake_timeout_ms:", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", want prefix \"%s\"", err, want);
	emu_config_free(&cfg);
	unlink(path);
}

/* $.state_interval and --state-interval: default 5, 0 allowed (only at
 * SIGTERM), out-of-range values refused with the JSON path or the flag. */
static void state_interval_config_and_flag(void **state)
{
	(void)state;
	char err[256] = "";
	struct emu_config cfg;
	emu_config_defaults(&cfg);
	assert_int_equal(cfg.state_interval_s, 5);
	emu_config_free(&cfg);
	assert_int_equal(apply("{\"state_interval\": 0}", &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.state_interval_s, 0);
	emu_config_free(&cfg);
	assert_int_equal(apply("{\"state_interval\": -1}", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.state_interval: expected integer 0..86400"));
	emu_config_free(&cfg);
	char *argv[] = {"lwm2m-emulator", "--state-interval", "30", NULL};
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_parse_args(&cfg, 3, argv, stderr, err, sizeof(err)),
			 EMU_ARGS_RUN);
	assert_int_equal(cfg.state_interval_s, 30);
	emu_config_free(&cfg);
	char *bad[] = {"lwm2m-emulator", "--state-interval", "soon", NULL};
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_parse_args(&cfg, 3, bad, stderr, err, sizeof(err)),
			 EMU_ARGS_ERROR);
	assert_non_null(strstr(err, "--state-interval soon"));
	emu_config_free(&cfg);
}

static void syntax_errors_give_line_and_column(void **state)
{
	(void)state;
	char path[] = "/tmp/test_emu_config_XXXXXX";
	char err[256] = "";
	struct emu_config cfg;
	write_file(path, "{\n  \"bind\": \"127.0.0.1\",\n  oops\n}");
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_load_file(&cfg, path, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, ":3:"));
	emu_config_free(&cfg);
}

static void cross_field_rules(void **state)
{
	(void)state;
	struct emu_config cfg;
	char err[256] = "";
	assert_int_equal(apply("{\"dtls\":{\"handshake_timeout_ms\":{\"min\":5000,\"max\":100}}}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.dtls.handshake_timeout_ms"));
	emu_config_free(&cfg);
	assert_int_equal(apply("{\"psk\":[{\"identity\":\"a\",\"key_hex\":\"00\"},"
			       "{\"identity\":\"a\",\"key_hex\":\"01\"}]}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "given twice"));
	emu_config_free(&cfg);
	/* Several CID lengths: the first byte names the length, so not 1. */
	assert_int_equal(apply("{\"dtls\":{\"cid\":{\"enabled\":true,\"length\":1}},"
			       "\"vhosts\":[{\"name\":\"x\",\"cid\":{\"length\":4}}]}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.vhosts: a CID length of 1"));
	emu_config_free(&cfg);
}

/* A vhost inherits what it does not set; a missing SNI follows the
 * unknown-name policy unless "missing" says otherwise. */
static void vhost_cid_and_sni_policies(void **state)
{
	(void)state;
	struct emu_config cfg;
	char err[256] = "";
	assert_int_equal(
	    apply("{\"dtls\":{\"cid\":{\"enabled\":true,\"length\":6}},"
		  "\"vhosts\":[{\"name\":\"x\"},{\"name\":\"y\",\"cid\":{\"length\":4}},"
		  "{\"name\":\"z\",\"cid\":{\"enabled\":false}}],"
		  "\"sni\":{\"unknown\":\"reject\"}}",
		  &cfg, err, sizeof(err)),
	    0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.vhosts[0].c->cid_length, 6);
	assert_true(cfg.vhosts[0].c->cid_enabled);
	assert_int_equal(cfg.vhosts[1].c->cid_length, 4);
	assert_false(cfg.vhosts[2].c->cid_enabled);
	json_t *j = emu_config_to_json(&cfg);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(j, "sni"), "missing")), "reject");
	json_decref(j);
	emu_config_free(&cfg);
	assert_int_equal(apply("{\"sni\":{\"unknown\":\"reject\",\"missing\":\"default\"}}", &cfg,
			       err, sizeof(err)),
			 0);
	assert_true(cfg.sni_reject_unknown);
	assert_int_equal(cfg.sni_reject_missing, 0);
	emu_config_free(&cfg);
}

/* --print-config output is itself a valid config that means the same. */
static void print_config_round_trips(void **state)
{
	(void)state;
	struct emu_config a, b;
	char err[256] = "";
	assert_int_equal(
	    apply("{\"ports\":{\"tls\":\"off\"},\"dtls\":{\"cid\":{\"enabled\":true,\"length\":3},"
		  "\"idle_timeout\":45},"
		  "\"vhosts\":[{\"name\":\"x.example\"},{\"name\":\"y.example\",\"psk\":[{"
		  "\"identity\":"
		  "\"y\",\"key_hex\":\"0a0b\"}],\"cid\":{\"length\":5},\"ciphersuites\":[\"TLS-PSK-"
		  "WITH-AES-128-CCM-8\"]}],\"sni\":{\"unknown\":\"reject\"},"
		  "\"bootstrap\":{\"writes\":[{\"path\":\"/0/1\"}]},\"certificate\":"
		  "{\"ca\":\"/tmp/ca.pem\",\"client_auth\":\"optional\"},\"state\":\"/tmp/s\"}",
		  &a, err, sizeof(err)),
	    0);
	assert_int_equal(emu_config_finish(&a, err, sizeof(err)), 0);
	json_t *ja = emu_config_to_json(&a);
	assert_non_null(ja);
	emu_config_defaults(&b);
	if (emu_config_apply_json(&b, ja, err, sizeof(err)) < 0)
		fail_msg("print-config output refused: %s", err);
	json_t *jb = emu_config_to_json(&b);
	assert_true(json_equal(ja, jb));
	assert_int_equal(b.dtls_idle_s, 45);
	assert_int_equal(b.client_auth, 1);
	assert_int_equal(b.vhost_count, 2);
	assert_int_equal(b.vhosts[1].c->psk.count, 1);
	assert_int_equal(b.vhosts[1].c->cid_length, 5);
	assert_int_equal(b.vhosts[1].c->ciphersuites[0], 49320);
	json_decref(ja);
	json_decref(jb);
	emu_config_free(&a);
	emu_config_free(&b);
}

/* $.bind is an address, checked when the file is read (exit 2 with its
 * path), not when the socket is opened (issue 14, finding 6). */
static void bind_must_be_numeric(void **state)
{
	(void)state;
	static const char *const bad[] = {"{\"bind\":\"not-an-address\"}",
					  "{\"bind\":\"localhost\"}",
					  "{\"bind\":\"127.0.0.1:5684\"}",
					  "{\"bind\":\"[::1]\"}",
					  "{\"bind\":\"\"}",
					  "{\"bind\":7}"};
	struct emu_config cfg;
	char err[256] = "";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (apply(bad[i], &cfg, err, sizeof(err)) == 0)
			fail_msg("%s was accepted", bad[i]);
		assert_non_null(strstr(err, "$.bind"));
		emu_config_free(&cfg);
	}
	assert_int_equal(apply("{\"bind\":\"::1\"}", &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.bind, "::1");
	emu_config_free(&cfg);
}

/* Builds {"psk":[...]} with n distinct identities, plus one repeat of
 * identity dup_of at the end when dup_of < n. */
static json_t *many_psks(size_t n, size_t dup_of)
{
	json_t *arr = json_array();
	char id[32];
	for (size_t i = 0; i <= n; i++) {
		if (i == n && dup_of >= n)
			break;
		snprintf(id, sizeof(id), "dev%07zu", i == n ? dup_of : i);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "identity", id, "key_hex",
						     "000102030405060708090a0b0c0d0e0f"));
	}
	return json_pack("{s:o}", "psk", arr);
}

/* 100k identities load (the pairwise duplicate scan took 7 s at 40k), and a
 * repeated identity is still named with both JSON paths. */
static void many_psks_load_and_dups_name_paths(void **state)
{
	(void)state;
	struct emu_config cfg;
	char err[256] = "";
	json_t *root = many_psks(100000, SIZE_MAX);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_apply_json(&cfg, root, err, sizeof(err)), 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("# 100000 PSK identities applied and checked in %.3f s\n",
		      (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	struct emu_psk_view pv;
	assert_int_equal(cfg.psk.count, 100000);
	assert_true(emu_psks_find(&cfg.psk, "dev0099999", 10, &pv));
	emu_config_free(&cfg);
	json_decref(root);
	root = many_psks(1000, 17);
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_apply_json(&cfg, root, err, sizeof(err)), 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.psk[1000]"));
	assert_non_null(strstr(err, "$.psk[17]"));
	assert_non_null(strstr(err, "dev0000017"));
	emu_config_free(&cfg);
	json_decref(root);
}

/* $.certificate.endpoints: each binding is checked and a bad one names its
 * JSON path; a vhost cannot have its own (they apply to every session). */
static void cert_endpoints_are_checked(void **state)
{
	struct emu_config cfg;
	char err[256];
	static const struct {
		const char *json, *path;
	} bad[] = {
	    {"{\"certificate\": {\"endpoints\": {}}}", "$.certificate.endpoints"},
	    {"{\"certificate\": {\"endpoints\": [{\"cn\": \"dev1\"}]}}",
	     "$.certificate.endpoints[0].endpoint"},
	    {"{\"certificate\": {\"endpoints\": [{\"endpoint\": \"dev1\"}]}}",
	     "$.certificate.endpoints[0]"},
	    {"{\"certificate\": {\"endpoints\": [{\"cn\": \"a\", \"subject\": \"CN=a\", "
	     "\"endpoint\": \"a\"}]}}",
	     "$.certificate.endpoints[0]"},
	    {"{\"certificate\": {\"endpoints\": [{\"cn\": \"\", \"endpoint\": \"a\"}]}}",
	     "$.certificate.endpoints[0].cn"},
	    {"{\"certificate\": {\"endpoints\": [{\"cn\": \"a\", \"endpoint\": \"a\", "
	     "\"ep\": 1}]}}",
	     "$.certificate.endpoints[0].ep"},
	    {"{\"vhosts\": [{\"name\": \"a.test\", \"certificate\": {\"endpoints\": []}}]}",
	     "$.vhosts[0].certificate.endpoints"},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(apply(bad[i].json, &cfg, err, sizeof(err)), -1);
		if (!strstr(err, bad[i].path))
			fail_msg("case %zu: \"%s\" does not name %s", i, err, bad[i].path);
		emu_config_free(&cfg);
	}
	assert_int_equal(apply("{\"certificate\": {\"endpoints\": [{\"cn\": \"dev1\", "
			       "\"endpoint\": \"dev1\"}, {\"subject\": \"O=x, CN=y\", "
			       "\"endpoint\": \"y\"}]}}",
			       &cfg, err, sizeof(err)),
			 0);
	assert_int_equal(json_array_size(cfg.cert_endpoints), 2);
	assert_int_equal(
	    emu_certbind_allows(cfg.cert_endpoints, "O=org, CN=dev1", "dev1", err, sizeof(err)), 0);
	assert_int_equal(
	    emu_certbind_allows(cfg.cert_endpoints, "O=org, CN=dev1", "dev2", err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "bound to endpoint \"dev1\""));
	assert_int_equal(
	    emu_certbind_allows(cfg.cert_endpoints, "O=x, CN=y", "y", err, sizeof(err)), 0);
	assert_int_equal(
	    emu_certbind_allows(cfg.cert_endpoints, "O=org, CN=dev9", "dev2", err, sizeof(err)), 0);
	emu_config_free(&cfg);
}

/* The CN is found at the start or after ", ", and an escaped comma is part
 * of a value, not a separator. */
static void cert_cn_is_parsed(void **state)
{
	char cn[64];
	(void)state;
	assert_int_equal(emu_certbind_cn("CN=dev1, O=org", cn, sizeof(cn)), 0);
	assert_string_equal(cn, "dev1");
	assert_int_equal(emu_certbind_cn("O=org, CN=dev1", cn, sizeof(cn)), 0);
	assert_string_equal(cn, "dev1");
	assert_int_equal(emu_certbind_cn("O=a\\, CN=x, CN=b\\, c", cn, sizeof(cn)), 0);
	assert_string_equal(cn, "b, c");
	assert_int_equal(emu_certbind_cn("O=a\\, CN=x", cn, sizeof(cn)), -1);
	assert_int_equal(emu_certbind_cn("O=org", cn, sizeof(cn)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(full_config_is_applied),
	    cmocka_unit_test(errors_name_the_json_path),
	    cmocka_unit_test(flags_override_file_and_default_psk),
	    cmocka_unit_test(bad_flags_and_files_are_refused),
	    cmocka_unit_test(syntax_errors_give_line_and_column),
	    cmocka_unit_test(finish_errors_name_the_file),
	    cmocka_unit_test(cross_field_rules),
	    cmocka_unit_test(vhost_cid_and_sni_policies),
	    cmocka_unit_test(print_config_round_trips),
	    cmocka_unit_test(state_interval_config_and_flag),
	    cmocka_unit_test(bind_must_be_numeric),
	    cmocka_unit_test(many_psks_load_and_dups_name_paths),
	    cmocka_unit_test(cert_endpoints_are_checked),
	    cmocka_unit_test(cert_cn_is_parsed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
