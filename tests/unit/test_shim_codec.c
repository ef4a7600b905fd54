/* Unit tests of the client's Write decoding (TLV, SenML JSON, text), its
 * path parsing and Write-Attributes parsing (lwm2m/write-attributes-pmin-pmax
 * checks the attributes' effect end to end). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client_shim/shim_codec.h"
#include "client_shim/shim_model.h"
#include "client_shim/shim_watch.h"

static const shim_path_t inst1 = {1, 0, -1, 2};
static const shim_path_t lifetime = {1, 0, 1, 3};

/* Paths: 1..3 numeric segments, nothing else. */
static void test_path(void **state)
{
	shim_path_t p;

	(void)state;
	assert_int_equal(shim_model_path("/3/0/13", 7, &p), 0);
	assert_int_equal(p.depth, 3);
	assert_int_equal(p.rid, 13);
	assert_int_equal(shim_model_path("5", 1, &p), 0);
	assert_int_equal(p.depth, 1);
	assert_int_equal(shim_model_path("/3/x", 4, &p), -1);
	assert_int_equal(shim_model_path("/3/0/1/2", 8, &p), -1);
	assert_int_equal(shim_model_path("/70000", 6, &p), -1);
	assert_int_equal(shim_model_path("", 0, &p), -1);
}

/* TLV: two resources, then the same inside an Object Instance wrapper. */
static void test_tlv(void **state)
{
	static const uint8_t flat[] = {0xc2, 0x01, 0x01, 0x2c, 0xc1, 0x03, 0x0a};
	static const uint8_t wrapped[] = {0x07, 0x00, 0xc2, 0x01, 0x01, 0x2c, 0xc1, 0x03, 0x0a};
	const shim_res_def_t *d = shim_model_def(1, 1);
	shim_recs_t r;
	shim_val_t v;
	char why[160];

	(void)state;
	assert_int_equal(
	    shim_codec_decode(&inst1, SHIM_FMT_TLV, flat, sizeof(flat), &r, why, sizeof(why)), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(shim_codec_value(d, &r.rec[0], &v, why, sizeof(why)), 0);
	assert_int_equal(v.num, 300);
	assert_int_equal(
	    shim_codec_decode(&inst1, SHIM_FMT_TLV, wrapped, sizeof(wrapped), &r, why, sizeof(why)),
	    0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.rec[1].rid, 3);
	assert_int_equal(shim_codec_decode(&inst1, SHIM_FMT_TLV, flat, 3, &r, why, sizeof(why)),
			 400);
	assert_non_null(strstr(why, "truncated"));
}

/* SenML JSON: bn + n, values by kind; bad JSON and foreign paths 4.00. */
static void test_senml(void **state)
{
	const char *ok = "[{\"bn\":\"/1/0/\",\"n\":\"1\",\"v\":120},{\"n\":\"6\",\"vb\":false}]";
	const char *outside = "[{\"n\":\"/3/0/1\",\"vs\":\"x\"}]";
	shim_recs_t r;
	shim_val_t v;
	char why[160];

	(void)state;
	assert_int_equal(shim_codec_decode(&inst1, SHIM_FMT_SENML_JSON, (const uint8_t *)ok,
					   strlen(ok), &r, why, sizeof(why)),
			 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(shim_codec_value(shim_model_def(1, 6), &r.rec[1], &v, why, sizeof(why)),
			 0);
	assert_int_equal(v.num, 0);
	shim_codec_release(&r);
	assert_int_equal(shim_codec_decode(&inst1, SHIM_FMT_SENML_JSON, (const uint8_t *)outside,
					   strlen(outside), &r, why, sizeof(why)),
			 400);
	shim_codec_release(&r);
	assert_int_equal(shim_codec_decode(&inst1, SHIM_FMT_SENML_JSON, (const uint8_t *)"[{", 2,
					   &r, why, sizeof(why)),
			 400);
	shim_codec_release(&r);
	assert_int_equal(
	    shim_codec_decode(&lifetime, 60, (const uint8_t *)"x", 1, &r, why, sizeof(why)), 415);
}

/* Text: an integer resource takes only a whole decimal number. */
static void test_text(void **state)
{
	const shim_res_def_t *d = shim_model_def(1, 1);
	shim_recs_t r;
	shim_val_t v;
	char why[160];

	(void)state;
	assert_int_equal(shim_codec_decode(&lifetime, SHIM_FMT_TEXT, (const uint8_t *)"12a", 3, &r,
					   why, sizeof(why)),
			 0);
	assert_int_equal(shim_codec_value(d, &r.rec[0], &v, why, sizeof(why)), 400);
	assert_int_equal(
	    shim_codec_decode(&inst1, SHIM_FMT_TEXT, (const uint8_t *)"1", 1, &r, why, sizeof(why)),
	    400);
}

/* Write-Attributes: set, shown by Discover's text, removed, refused. */
static void test_attrs(void **state)
{
	shim_client_t c;
	coap_string_t q1 = {15, (uint8_t *)"pmin=1&pmax=10"}, q2 = {4, (uint8_t *)"pmin"};
	coap_string_t bad = {13, (uint8_t *)"pmin=5&pmax=2"}, unknown = {5, (uint8_t *)"foo=1"};
	char buf[128], why[160];

	(void)state;
	memset(&c, 0, sizeof(c));
	c.watch = shim_watch_new();
	c.model = shim_model_new(60, "U");
	q1.length = strlen((const char *)q1.s);
	assert_int_equal(shim_watch_write_attrs(&c, &lifetime, &q1, why, sizeof(why)), 0);
	shim_watch_attr_text(&c, &lifetime, buf, sizeof(buf));
	assert_string_equal(buf, ";pmin=1;pmax=10");
	assert_int_equal(shim_watch_write_attrs(&c, &lifetime, &q2, why, sizeof(why)), 0);
	shim_watch_attr_text(&c, &lifetime, buf, sizeof(buf));
	assert_string_equal(buf, ";pmax=10");
	assert_int_equal(shim_watch_write_attrs(&c, &lifetime, &bad, why, sizeof(why)), 400);
	assert_int_equal(shim_watch_write_attrs(&c, &lifetime, &unknown, why, sizeof(why)), 400);
	shim_watch_attr_text(&c, &lifetime, buf, sizeof(buf));
	assert_string_equal(buf, ";pmax=10");
	shim_watch_free(c.watch);
	shim_model_free(c.model);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path), cmocka_unit_test(test_tlv), cmocka_unit_test(test_senml),
	    cmocka_unit_test(test_text), cmocka_unit_test(test_attrs)};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
