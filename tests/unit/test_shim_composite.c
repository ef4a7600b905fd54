/* Unit tests of the composite operations' parsing and checks: the SenML
 * JSON path list of a Read-/Observe-Composite, the records of a
 * Write-Composite, their all-or-nothing application, and the full-name
 * records a Read-Composite answers with (lwm2m/read-composite,
 * observe-composite, write-composite and malformed-composite check them
 * end to end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_shim/shim_codec.h"
#include "client_shim/shim_model.h"
#include "client_shim/shim_ops.h"
#include "client_shim/shim_watch.h"

#define FMT_SENML_CBOR 112

/* Decodes a path list given as text; the code. */
static int paths_of(const char *json, int fmt, shim_path_t *p, size_t max, size_t *n, char *why)
{
	return shim_codec_paths(fmt, (const uint8_t *)json, strlen(json), p, max, n, why, 160);
}

/* A path list: full names, and "bn" carried over to the names after it. */
static void test_paths(void **state)
{
	const char *list = "[{\"n\":\"/3/0/0\"},{\"bn\":\"/1/0/\",\"n\":\"1\"},{\"n\":\"3\"},"
			   "{\"bn\":\"/5\"}]";
	shim_path_t p[4];
	size_t n = 0;
	char why[160];

	(void)state;
	assert_int_equal(paths_of(list, SHIM_FMT_SENML_JSON, p, 4, &n, why), 0);
	assert_int_equal(n, 4);
	assert_int_equal(p[0].depth, 3);
	assert_int_equal(p[0].oid, 3);
	assert_int_equal(p[1].oid, 1);
	assert_int_equal(p[1].rid, 1);
	assert_int_equal(p[2].rid, 3);
	assert_int_equal(p[3].depth, 1);
	assert_int_equal(p[3].oid, 5);
	assert_int_equal(paths_of(list, SHIM_FMT_SENML_JSON, p, 3, &n, why), 400);
	assert_non_null(strstr(why, "more than 3 paths"));
	assert_int_equal(paths_of("[{\"n\":\"/\"}]", SHIM_FMT_SENML_JSON, p, 4, &n, why), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0].depth, 0);
}

/* A bad path list: 4.00 with the reason; another format: 4.15. */
static void test_paths_bad(void **state)
{
	static const char *const bad[] = {"[{\"n\":\"/3/x\"}]",
					  "[{\"n\":\"/3/0/11/0\"}]",
					  "[]",
					  "{}",
					  "[1]",
					  "[{\"n\":\"/3/0/0\"}",
					  ""};
	shim_path_t p[4];
	size_t n, i;
	char why[160];

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		assert_int_equal(paths_of(bad[i], SHIM_FMT_SENML_JSON, p, 4, &n, why), 400);
		assert_true(why[0] != 0);
	}
	assert_int_equal(paths_of("[{\"n\":\"/3/0/0\"}]", FMT_SENML_CBOR, p, 4, &n, why), 415);
	assert_non_null(strstr(why, "content-format 112"));
	assert_int_equal(paths_of("[{\"n\":\"/3/0/0\"}]", -1, p, 4, &n, why), 415);
}

/* Write-Composite records carry their own object and instance. */
static void test_write_records(void **state)
{
	const char *ok =
	    "[{\"n\":\"/1/0/1\",\"v\":120},{\"bn\":\"/5/0/\",\"n\":\"1\",\"vs\":\"u\"}]";
	shim_recs_t r;
	char why[160];

	(void)state;
	assert_int_equal(shim_codec_decode_composite(SHIM_FMT_SENML_JSON, (const uint8_t *)ok,
						     strlen(ok), &r, why, sizeof(why)),
			 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rec[0].oid, 1);
	assert_int_equal(r.rec[0].rid, 1);
	assert_int_equal(r.rec[1].oid, 5);
	assert_int_equal(r.rec[1].iid, 0);
	assert_int_equal(r.rec[1].kind, SHIM_REC_STR);
	shim_codec_release(&r);
	assert_int_equal(shim_codec_decode_composite(SHIM_FMT_SENML_JSON,
						     (const uint8_t *)"[{\"n\":\"/1/0\",\"v\":1}]",
						     20, &r, why, sizeof(why)),
			 400);
	shim_codec_release(&r);
	assert_int_equal(shim_codec_decode_composite(FMT_SENML_CBOR, (const uint8_t *)"x", 1, &r,
						     why, sizeof(why)),
			 415);
	shim_codec_release(&r);
}

/* Decodes and applies a Write-Composite on c; the code. */
static int write_composite(shim_client_t *c, const char *json, char *why)
{
	shim_recs_t r;
	int code = shim_codec_decode_composite(SHIM_FMT_SENML_JSON, (const uint8_t *)json,
					       strlen(json), &r, why, 160);

	if (!code)
		code = shim_ops_apply(c, &r, why, 160);
	shim_codec_release(&r);
	return code;
}

/* All records are checked before any is stored. */
static void test_apply_whole(void **state)
{
	shim_client_t c;
	char why[160];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.watch = shim_watch_new();
	c.model = shim_model_new(60, "U");
	assert_int_equal(
	    write_composite(&c, "[{\"n\":\"/1/0/1\",\"v\":120},{\"n\":\"/3/0/0\",\"vs\":\"x\"}]",
			    why),
	    405);
	assert_int_equal(
	    write_composite(&c, "[{\"n\":\"/1/0/1\",\"v\":120},{\"n\":\"/1/1/1\",\"v\":1}]", why),
	    404);
	assert_int_equal(
	    write_composite(&c, "[{\"n\":\"/1/0/1\",\"v\":120},{\"n\":\"/1/0/6\",\"v\":7}]", why),
	    400);
	assert_int_equal(write_composite(&c, "[{\"n\":\"/0/0/0\",\"vs\":\"coaps://x\"}]", why),
			 401);
	assert_int_equal(shim_model_val(c.model, 1, 1)->num, 60);
	assert_int_equal(
	    write_composite(&c, "[{\"n\":\"/1/0/1\",\"v\":120},{\"n\":\"/1/0/6\",\"vb\":false}]",
			    why),
	    204);
	assert_int_equal(shim_model_val(c.model, 1, 1)->num, 120);
	assert_int_equal(shim_model_val(c.model, 1, 6)->num, 0);
	shim_watch_free(c.watch);
	shim_model_free(c.model);
}

/* A Read-Composite's records: full names, readable resources only; 4.04
 * for what is not there, 4.01 for the Security object. */
static void test_records(void **state)
{
	shim_path_t inst = {1, 0, -1, 2}, exec = {1, 0, 8, 3}, none = {42, -1, -1, 1};
	shim_path_t sec = {0, 0, 0, 3};
	shim_client_t c;
	json_t *a = json_array();

	(void)state;
	memset(&c, 0, sizeof(c));
	c.model = shim_model_new(60, "U");
	assert_int_equal(shim_ops_records(&c, &inst, a), 0);
	assert_int_equal(json_array_size(a), 6);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 1), "n")),
			    "/1/0/1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 1), "v")), 60);
	assert_int_equal(shim_ops_records(&c, &exec, a), 404);
	assert_int_equal(shim_ops_records(&c, &none, a), 404);
	assert_int_equal(shim_ops_records(&c, &sec, a), 401);
	assert_int_equal(json_array_size(a), 6);
	json_array_clear(a);
	/* An object: its readable resources only (/5/0/0 Package is W only,
	 * /5/0/2 Update E only). */
	sec.oid = 5;
	sec.depth = 1;
	assert_int_equal(shim_ops_records(&c, &sec, a), 0);
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "n")),
			    "/5/0/1");
	json_decref(a);
	shim_model_free(c.model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_paths), cmocka_unit_test(test_paths_bad),
	    cmocka_unit_test(test_write_records), cmocka_unit_test(test_apply_whole),
	    cmocka_unit_test(test_records)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
