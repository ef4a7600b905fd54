/* Unit tests for scenario variables: ${certs} and ${pki:<id>.<field>}, which
 * let scenarios name the build's test PKI and its fingerprints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness/har_vars.h"

static char dir[64];

static int make_pki(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test-har-vars-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	char file[128];
	snprintf(file, sizeof(file), "%s/index.json", dir);
	FILE *f = fopen(file, "w");
	if (!f)
		return -1;
	fputs("{\"certs\": {\"server/selfsigned\": {\"sha256_spki\": \"abcd\", \"serial\": 7}}}",
	      f);
	fclose(f);
	snprintf(file, sizeof(file), "%s/key.der", dir);
	if (!(f = fopen(file, "wb")))
		return -1;
	fwrite("\x30\x00\xff", 1, 3, f);
	fclose(f);
	return 0;
}

static int remove_pki(void **state)
{
	(void)state;
	char file[128];
	snprintf(file, sizeof(file), "%s/index.json", dir);
	unlink(file);
	snprintf(file, sizeof(file), "%s/key.der", dir);
	unlink(file);
	rmdir(dir);
	return 0;
}

/* Expands one string value; returns the result (static) or NULL on error. */
static const char *expand(const char *text, const char *certs, size_t *nerr)
{
	static char out[512];
	struct har_errs errs = {0};
	json_t *v = json_pack("{s:[s]}", "k", text);
	*nerr = har_vars_expand(v, "$.client", certs, &errs);
	snprintf(out, sizeof(out), "%s",
		 json_string_value(json_array_get(json_object_get(v, "k"), 0)));
	if (*nerr)
		snprintf(out, sizeof(out), "%s: %s", errs.v[0].path, errs.v[0].msg);
	har_errs_free(&errs);
	json_decref(v);
	return out;
}

static void certs_and_pki_expand(void **state)
{
	(void)state;
	size_t n;
	char want[256];
	snprintf(want, sizeof(want), "%s/ca/root.crt", dir);
	assert_string_equal(expand("${certs}/ca/root.crt", dir, &n), want);
	assert_int_equal(n, 0);
	assert_string_equal(expand("pin ${pki:server/selfsigned.sha256_spki}!", dir, &n),
			    "pin abcd!");
	assert_string_equal(expand("no variables", dir, &n), "no variables");
	assert_int_equal(n, 0);
}

static void bad_variables_are_errors_at_the_path(void **state)
{
	(void)state;
	size_t n;
	const char *msg = expand("${home}/x", dir, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(msg, "$.client.k[0]: unknown variable ${home}"));
	msg = expand("${pki:server/selfsigned.serial}", dir, &n); /* not a string */
	assert_int_equal(n, 1);
	msg = expand("${pki:server/none.sha256_spki}", dir, &n);
	assert_int_equal(n, 1);
	msg = expand("${certs", dir, &n);
	assert_int_equal(n, 1);
	msg = expand("${certs}/x", "/nonexistent/pki", &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(msg, "make certs"));
}

/* ${pki_hex:FILE}: a file of the PKI in hex; nothing outside the PKI. */
static void pki_hex_expands(void **state)
{
	(void)state;
	size_t n;
	assert_string_equal(expand("${pki_hex:key.der}", dir, &n), "3000ff");
	assert_int_equal(n, 0);
	expand("${pki_hex:none.der}", dir, &n);
	assert_int_equal(n, 1);
	assert_non_null(strstr(expand("${pki_hex:../etc/passwd}", dir, &n), "inside the PKI"));
	assert_int_equal(n, 1);
}

/* ${server_uri} waits for the run under $.emulator, is an error elsewhere,
 * and becomes the network simulator's front at run time. */
static void runtime_variables_wait_for_the_run(void **state)
{
	(void)state;
	struct har_errs errs = {0};
	json_t *emu = json_pack("{s:[s]}", "w", "${server_uri}");
	assert_int_equal(har_vars_expand(emu, "$.emulator", dir, &errs), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(emu, "w"), 0)),
			    "${server_uri}");
	assert_true(har_vars_has_runtime(emu));
	struct har_vars_env env = {.server_addr = "127.0.0.1:4242", .scheme = "coaps"};
	assert_int_equal(har_vars_expand_runtime(emu, "$.emulator", &env, &errs), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(emu, "w"), 0)),
			    "coaps://127.0.0.1:4242");
	assert_false(har_vars_has_runtime(emu));
	json_decref(emu);
	size_t n;
	assert_non_null(strstr(expand("${server_addr}", dir, &n), "$.emulator"));
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(certs_and_pki_expand),
	    cmocka_unit_test(bad_variables_are_errors_at_the_path),
	    cmocka_unit_test(pki_hex_expands),
	    cmocka_unit_test(runtime_variables_wait_for_the_run),
	};
	return cmocka_run_group_tests_name("har_vars", tests, make_pki, remove_pki);
}
