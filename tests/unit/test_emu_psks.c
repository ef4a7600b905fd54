/* The compact PSK table (server/emu_psks.c): lookups, duplicates named by
 * both JSON paths, endpoint bindings, a big table's size, and a reload
 * that fails keeping the running table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/lh_event.h"
#include "server/emu_config.h"
#include "server/emu_psks.h"
#include "server/emu_server.h"

static const unsigned char key16[16] = "0123456789abcdef";

/* Adds identity with key16 at $.psk[index]; fails the test on error. */
static void add(struct emu_psks *t, const char *identity, const char *ep, uint32_t index)
{
	char err[256] = "";
	if (emu_psks_add(t, identity, key16, sizeof(key16), ep, "$.psk", index, err, sizeof(err)) <
	    0)
		fail_msg("add %s: %s", identity, err);
}

/* Hit, miss (also a prefix, a longer name, an empty one) and the key,
 * identity and endpoint a hit gives back. */
static void lookup_hit_and_miss(void **state)
{
	(void)state;
	struct emu_psks t = {0};
	struct emu_psk_view v;
	char err[256] = "";
	assert_false(emu_psks_find(&t, "dev", 3, &v)); /* empty table */
	add(&t, "dev", NULL, 0);
	add(&t, "dev-bound", "ep-1", 1);
	assert_int_equal(emu_psks_check(&t, err, sizeof(err)), 0);
	assert_true(emu_psks_find(&t, "dev", 3, &v));
	assert_string_equal(v.identity, "dev");
	assert_int_equal(v.key_len, 16);
	assert_memory_equal(v.key, key16, 16);
	assert_string_equal(v.endpoint, "");
	assert_true(emu_psks_find(&t, "dev-bound", 9, &v));
	assert_string_equal(v.endpoint, "ep-1");
	assert_false(emu_psks_find(&t, "de", 2, &v));
	assert_false(emu_psks_find(&t, "devX", 4, &v));
	assert_false(emu_psks_find(&t, "dev-boun", 8, &v));
	assert_false(emu_psks_find(&t, "", 0, &v));
	assert_false(emu_psks_find(&t, "dev\0", 4, &v)); /* bytes, not a C string */
	emu_psks_free(&t);
}

/* A repeated identity fails the check naming both places, the first given
 * stays the one found, and the walk gives every entry in order. */
static void duplicates_name_both_places(void **state)
{
	(void)state;
	struct emu_psks t = {0};
	struct emu_psk_view v;
	char err[256] = "";
	add(&t, "a", NULL, 0);
	add(&t, "b", "ep-b", 1);
	assert_int_equal(emu_psks_add(&t, "a", (const unsigned char *)"zz", 2, NULL, "--psk",
				      EMU_PSKS_NO_INDEX, err, sizeof(err)),
			 0);
	assert_int_equal(emu_psks_check(&t, err, sizeof(err)), -1);
	assert_string_equal(err, "--psk: PSK identity \"a\" is given twice (also at $.psk[0])");
	assert_true(emu_psks_find(&t, "a", 1, &v));
	assert_int_equal(v.key_len, 16);
	size_t cursor = 0, n = 0;
	const char *order[] = {"a", "b", "a"};
	while (emu_psks_next(&t, &cursor, &v))
		assert_string_equal(v.identity, order[n++]);
	assert_int_equal(n, 3);
	emu_psks_free(&t);
}

/* Through the config: a duplicate across $.psk and a vhost's own table is
 * not one (separate tables), within a vhost it is, with the vhost's path. */
static void config_duplicates_and_vhosts(void **state)
{
	(void)state;
	struct emu_config cfg;
	char err[256] = "";
	json_t *root = json_loads(
	    "{\"psk\":[{\"identity\":\"x\",\"key_hex\":\"00\"}],\"vhosts\":[{\"name\":\"h\","
	    "\"psk\":[{\"identity\":\"x\",\"key_hex\":\"01\"},{\"identity\":\"x\",\"key_hex\":"
	    "\"02\"}]}]}",
	    0, NULL);
	assert_non_null(root);
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_apply_json(&cfg, root, err, sizeof(err)), 0);
	assert_int_equal(emu_config_finish(&cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "$.vhosts[0].psk[1]: PSK identity \"x\" is given twice "
				 "(also at $.vhosts[0].psk[0])");
	emu_config_free(&cfg);
	json_decref(root);
}

/* 300,000 identities: every one found with its own key, and the table
 * stays small (the fixed-size copies it replaced took ~1.1 KB each). */
static void big_table(void **state)
{
	(void)state;
	enum { N = 300000 };
	struct emu_psks t = {0};
	struct emu_psk_view v;
	char id[32], err[256] = "";
	for (uint32_t i = 0; i < N; i++) {
		unsigned char key[4];
		memcpy(key, &i, sizeof(key));
		snprintf(id, sizeof(id), "dev-%u", i);
		if (emu_psks_add(&t, id, key, sizeof(key), NULL, "$.psk", i, err, sizeof(err)))
			fail_msg("%s", err);
	}
	assert_int_equal(emu_psks_check(&t, err, sizeof(err)), 0);
	emu_psks_shrink(&t);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "dev-%u", i);
		assert_true(emu_psks_find(&t, id, strlen(id), &v));
		assert_memory_equal(v.key, &i, 4);
	}
	snprintf(id, sizeof(id), "dev-%u", (unsigned)N);
	assert_false(emu_psks_find(&t, id, strlen(id), &v));
	print_message("# %d identities: %zu bytes (%.1f per identity)\n", N, emu_psks_bytes(&t),
		      (double)emu_psks_bytes(&t) / N);
	assert_true(emu_psks_bytes(&t) < (size_t)N * 64);
	emu_psks_free(&t);
}

/* Writes text to path. */
static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A reload whose config repeats an identity fails with that error and the
 * running table stays; a good one replaces it whole (old identity gone). */
static void reload_keeps_old_table_on_error(void **state)
{
	(void)state;
	char path[] = "/tmp/test_emu_psks_XXXXXX", err[512] = "";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char *argv[] = {
	    "lwm2m-emulator", "--config", path,		"--bind", "127.0.0.1", "--dtls-port", "0",
	    "--coap-port",    "off",	  "--tls-port", "off",	  NULL};
	struct emu_config cfg;
	struct emu_server srv;
	struct emu_psk_view v;
	FILE *ev = fopen("/dev/null", "w");
	lh_event_init(ev, "emulator", NULL, NULL);
	write_file(path, "{\"psk\":[{\"identity\":\"old\",\"key_hex\":\"0011\"}]}");
	emu_config_defaults(&cfg);
	assert_int_equal(emu_config_parse_args(&cfg, 11, argv, stderr, err, sizeof(err)),
			 EMU_ARGS_RUN);
	assert_int_equal(emu_server_init(&srv, &cfg), 0);
	srv.argc = 11;
	srv.argv = argv;
	write_file(path, "{\"psk\":[{\"identity\":\"new\",\"key_hex\":\"00\"},"
			 "{\"identity\":\"new\",\"key_hex\":\"01\"}]}");
	assert_int_equal(emu_server_reload(&srv, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "$.psk[1]: PSK identity \"new\" is given twice"));
	assert_true(emu_psks_find(srv.psk_table, "old", 3, &v));
	assert_false(emu_psks_find(srv.psk_table, "new", 3, &v));
	write_file(path, "{\"psk\":[{\"identity\":\"new\",\"key_hex\":\"aabb\"}]}");
	assert_int_equal(emu_server_reload(&srv, err, sizeof(err)), 0);
	assert_false(emu_psks_find(srv.psk_table, "old", 3, &v));
	assert_true(emu_psks_find(srv.psk_table, "new", 3, &v));
	assert_memory_equal(v.key, "\xaa\xbb", 2);
	emu_server_fini(&srv);
	emu_config_free(&cfg);
	lh_event_init(NULL, "emulator", NULL, NULL);
	fclose(ev);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(lookup_hit_and_miss),
	    cmocka_unit_test(duplicates_name_both_places),
	    cmocka_unit_test(config_duplicates_and_vhosts),
	    cmocka_unit_test(big_table),
	    cmocka_unit_test(reload_keeps_old_table_on_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
