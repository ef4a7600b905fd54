/* Tests of the configure step's merge: a step's partial client config is
 * merged over the scenario's, objects key by key, other values replaced. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "harness/har_ctx.h"

/* Parses a JSON text the test wrote; a typo fails the test. */
static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	assert_non_null(v);
	return v;
}

static void nested_object_changes_one_key(void **state)
{
	(void)state;
	json_t *base = parse("{\"security\":{\"mode\":\"psk\",\"identity\":\"dev1\","
			     "\"key_hex\":\"00\"},\"endpoint\":\"dev1\"}");
	json_t *over = parse("{\"security\":{\"key_hex\":\"ff\"}}");
	json_t *want = parse("{\"security\":{\"mode\":\"psk\",\"identity\":\"dev1\","
			     "\"key_hex\":\"ff\"},\"endpoint\":\"dev1\"}");
	har_ctx_merge_config(base, over);
	assert_true(json_equal(base, want));
	json_decref(base);
	json_decref(over);
	json_decref(want);
}

static void other_values_replace_and_add(void **state)
{
	(void)state;
	json_t *base = parse("{\"ciphersuites\":[1,2],\"lifetime\":30,\"security\":{\"a\":1}}");
	json_t *over = parse("{\"ciphersuites\":[3],\"lifetime\":{\"x\":1},\"security\":5,"
			     "\"endpoint\":\"e\"}");
	json_t *want = parse("{\"ciphersuites\":[3],\"lifetime\":{\"x\":1},\"security\":5,"
			     "\"endpoint\":\"e\"}");
	har_ctx_merge_config(base, over);
	assert_true(json_equal(base, want));
	/* The merged value is a copy: changing over later leaves base alone. */
	json_array_append_new(json_object_get(over, "ciphersuites"), json_integer(4));
	assert_int_equal(json_array_size(json_object_get(base, "ciphersuites")), 1);
	json_decref(base);
	json_decref(over);
	json_decref(want);
}

static void empty_over_changes_nothing(void **state)
{
	(void)state;
	json_t *base = parse("{\"endpoint\":\"dev1\",\"security\":{\"mode\":\"psk\"}}");
	json_t *copy = json_deep_copy(base);
	json_t *over = parse("{}");
	har_ctx_merge_config(base, over);
	assert_true(json_equal(base, copy));
	json_decref(base);
	json_decref(copy);
	json_decref(over);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(nested_object_changes_one_key),
	    cmocka_unit_test(other_values_replace_and_add),
	    cmocka_unit_test(empty_over_changes_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
