/* Unit tests for the harness's JSON Schema subset validator: each keyword
 * accepts what it should, refuses what it should, and names the JSON path;
 * plus the real scenarios/schema.json against good and bad scenarios. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "harness/har_schema.h"

/* Validates inst (JSON text) against schema (JSON text); returns the number
 * of errors and leaves them in errs. */
static size_t check(const char *schema_text, const char *inst_text, struct har_errs *errs)
{
	json_t *schema = json_loads(schema_text, 0, NULL);
	json_t *inst = json_loads(inst_text, JSON_DECODE_ANY, NULL);
	assert_non_null(schema);
	assert_non_null(inst);
	size_t n = har_schema_validate(schema, inst, errs);
	json_decref(schema);
	json_decref(inst);
	return n;
}

/* True when some error has this path and its message contains needle. */
static int has_error(const struct har_errs *errs, const char *path, const char *needle)
{
	for (size_t i = 0; i < errs->n; i++)
		if (strcmp(errs->v[i].path, path) == 0 && strstr(errs->v[i].msg, needle))
			return 1;
	return 0;
}

static void types_and_ranges(void **state)
{
	(void)state;
	struct har_errs e = {0};
	const char *s = "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\","
			"\"minimum\":1,\"maximum\":5},\"s\":{\"type\":[\"string\",\"null\"]}}}";
	assert_int_equal(check(s, "{\"n\":3,\"s\":null}", &e), 0);
	assert_int_equal(check(s, "{\"n\":0}", &e), 1);
	assert_true(has_error(&e, "$.n", "below the minimum 1"));
	har_errs_free(&e);
	assert_int_equal(check(s, "{\"n\":6,\"s\":4}", &e), 2);
	assert_true(has_error(&e, "$.n", "above the maximum 5"));
	assert_true(has_error(&e, "$.s", "expected string or null, got integer"));
	har_errs_free(&e);
	assert_int_equal(check(s, "{\"n\":\"3\"}", &e), 1);
	assert_true(has_error(&e, "$.n", "expected integer, got string"));
	har_errs_free(&e);
	assert_int_equal(check(s, "[]", &e), 1);
	assert_true(has_error(&e, "$", "expected object, got array"));
	har_errs_free(&e);
}

static void required_and_unknown_keys(void **state)
{
	(void)state;
	struct har_errs e = {0};
	const char *s = "{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"a\"],"
			"\"properties\":{\"a\":{\"type\":\"object\",\"additionalProperties\":false,"
			"\"properties\":{\"b\":{\"type\":\"boolean\"}}}}}";
	assert_int_equal(check(s, "{\"a\":{\"b\":true}}", &e), 0);
	assert_int_equal(check(s, "{\"a\":{\"c\":1},\"z\":2}", &e), 2);
	assert_true(has_error(&e, "$.a", "unknown key \"c\" (allowed: b)"));
	assert_true(has_error(&e, "$", "unknown key \"z\""));
	har_errs_free(&e);
	assert_int_equal(check(s, "{}", &e), 1);
	assert_true(has_error(&e, "$", "missing required key \"a\""));
	har_errs_free(&e);
}

static void enum_const_pattern_items(void **state)
{
	(void)state;
	struct har_errs e = {0};
	const char *s = "{\"type\":\"array\",\"minItems\":1,\"items\":{\"type\":\"object\","
			"\"properties\":{\"k\":{\"enum\":[\"x\",\"y\"]},\"c\":{\"const\":7},"
			"\"h\":{\"type\":\"string\",\"pattern\":\"^([0-9a-f][0-9a-f])*$\"}}}}";
	assert_int_equal(check(s, "[{\"k\":\"x\",\"c\":7,\"h\":\"00ff\"}]", &e), 0);
	assert_int_equal(check(s, "[{\"k\":\"x\"},{\"k\":\"q\",\"c\":8,\"h\":\"0g\"}]", &e), 3);
	assert_true(has_error(&e, "$[1].k", "\"q\" is not one of: \"x\", \"y\""));
	assert_true(has_error(&e, "$[1].c", "8 is not one of: 7"));
	assert_true(has_error(&e, "$[1].h", "does not match the pattern"));
	har_errs_free(&e);
	assert_int_equal(check(s, "[]", &e), 1);
	assert_true(has_error(&e, "$", "needs at least 1 items"));
	har_errs_free(&e);
}

static void one_of_with_refs(void **state)
{
	(void)state;
	struct har_errs e = {0};
	const char *s =
	    "{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/step\"},\"$defs\":{"
	    "\"step\":{\"title\":\"step\",\"oneOf\":[{\"$ref\":\"#/$defs/a\"},{\"$ref\":\"#/$defs/"
	    "b\"}]},"
	    "\"a\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"go\"],"
	    "\"properties\":{\"go\":{\"enum\":[\"left\",\"right\"]}}},"
	    "\"b\":{\"type\":\"object\",\"additionalProperties\":false,\"required\":[\"wait\"],"
	    "\"properties\":{\"wait\":{\"type\":\"integer\"}}}}}";
	assert_int_equal(check(s, "[{\"go\":\"left\"},{\"wait\":3}]", &e), 0);
	/* The branch whose key is present explains the problem. */
	assert_int_equal(check(s, "[{\"go\":\"up\"}]", &e), 1);
	assert_true(has_error(&e, "$[0].go", "\"up\" is not one of"));
	har_errs_free(&e);
	/* No branch's key present: an unknown kind, with the known ones listed. */
	assert_int_equal(check(s, "[{\"wiat\":3}]", &e), 1);
	assert_true(has_error(&e, "$[0]", "unknown step"));
	assert_true(has_error(&e, "$[0]", "\"go\", \"wait\""));
	har_errs_free(&e);
	/* Both branches match: oneOf refuses. */
	assert_int_equal(check(s, "[{\"go\":\"left\",\"wait\":1}]", &e) > 0, 1);
	har_errs_free(&e);
}

static void schema_check_refuses_unsupported(void **state)
{
	(void)state;
	struct har_errs e = {0};
	json_t *bad = json_loads("{\"type\":\"object\",\"properties\":{\"a\":{\"format\":\"uri\"},"
				 "\"b\":{\"$ref\":\"#/$defs/missing\"}}}",
				 0, NULL);
	assert_int_equal(har_schema_check(bad, &e), 2);
	assert_true(has_error(&e, "#/properties/a", "unsupported schema keyword \"format\""));
	assert_true(has_error(&e, "#/properties/b", "does not resolve"));
	json_decref(bad);
	har_errs_free(&e);
}

static void real_schema_accepts_and_refuses(void **state)
{
	(void)state;
	struct har_errs e = {0};
	json_t *schema = har_schema_load("scenarios/schema.json", &e);
	assert_non_null(schema);
	assert_int_equal(e.n, 0);
	json_t *good = json_loads(
	    "{\"name\":\"t\",\"description\":\"d\",\"client\":{\"security\":{\"mode\":\"psk\","
	    "\"identity\":\"i\",\"key_hex\":\"0011\"},\"endpoint\":\"e\"},"
	    "\"steps\":[{\"client\":\"connect\"},{\"wait_ms\":10},"
	    "{\"expect_event\":{\"event\":\"register\",\"fields\":{\"code\":\"2.01\"}}}]}",
	    0, NULL);
	assert_int_equal(har_schema_validate(schema, good, &e), 0);
	json_object_set_new(json_array_get(json_object_get(good, "steps"), 1), "wait_ms",
			    json_string("soon"));
	json_array_append_new(json_object_get(good, "steps"), json_pack("{s:s}", "jump", "now"));
	assert_int_equal(har_schema_validate(schema, good, &e), 2);
	assert_true(has_error(&e, "$.steps[1].wait_ms", "expected integer, got string"));
	assert_true(has_error(&e, "$.steps[3]", "unknown step"));
	json_decref(good);
	json_decref(schema);
	har_errs_free(&e);
}

/* The emulator restart step's keep_state: a boolean, nothing else. */
static void real_schema_keep_state(void **state)
{
	(void)state;
	struct har_errs e = {0};
	json_t *schema = har_schema_load("scenarios/schema.json", &e);
	assert_non_null(schema);
	json_t *sc = json_loads(
	    "{\"name\":\"t\",\"description\":\"d\",\"client\":{\"security\":{\"mode\":\"psk\","
	    "\"identity\":\"i\",\"key_hex\":\"0011\"},\"endpoint\":\"e\"},"
	    "\"steps\":[{\"emulator\":\"restart\",\"keep_state\":true}]}",
	    0, NULL);
	assert_non_null(sc);
	assert_int_equal(har_schema_validate(schema, sc, &e), 0);
	json_object_set_new(json_array_get(json_object_get(sc, "steps"), 0), "keep_state",
			    json_string("yes"));
	assert_true(har_schema_validate(schema, sc, &e) > 0);
	assert_true(has_error(&e, "$.steps[0].keep_state", "expected boolean, got string"));
	json_decref(sc);
	json_decref(schema);
	har_errs_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(types_and_ranges),
	    cmocka_unit_test(required_and_unknown_keys),
	    cmocka_unit_test(enum_const_pattern_items),
	    cmocka_unit_test(one_of_with_refs),
	    cmocka_unit_test(schema_check_refuses_unsupported),
	    cmocka_unit_test(real_schema_accepts_and_refuses),
	    cmocka_unit_test(real_schema_keep_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
