/* Unit tests for expectation matching: field equality, subset objects,
 * operators, event matchers, the explanation of a mismatch, the checks of
 * matchers before a run, and timeline search. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "harness/har_match.h"
#include "harness/har_timeline.h"

/* Matches two JSON texts with har_match_value. */
static int m(const char *want, const char *have)
{
	json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
	json_t *h = have ? json_loads(have, JSON_DECODE_ANY, NULL) : NULL;
	assert_non_null(w);
	int r = har_match_value(w, h);
	json_decref(w);
	json_decref(h);
	return r;
}

static void plain_values(void **state)
{
	(void)state;
	assert_true(m("\"2.01\"", "\"2.01\""));
	assert_false(m("\"2.01\"", "\"2.04\""));
	assert_true(m("60", "60.0"));
	assert_false(m("60", "\"60\""));
	assert_true(m("true", "true"));
	assert_false(m("true", "false"));
	assert_false(m("true", NULL));
	assert_true(m("null", "null"));
	assert_true(m("[1,\"a\"]", "[1,\"a\"]"));
	assert_false(m("[1]", "[1,2]"));
}

static void subset_objects(void **state)
{
	(void)state;
	const char *alert =
	    "{\"alert\":{\"level\":2,\"description\":20,\"name\":\"bad_record_mac\"},"
	    "\"ok\":false}";
	assert_true(m("{\"ok\":false}", alert));
	assert_true(m("{\"alert\":{\"name\":\"bad_record_mac\"}}", alert));
	assert_false(m("{\"alert\":{\"name\":\"decrypt_error\"}}", alert));
	assert_false(m("{\"missing\":1}", alert));
	assert_false(m("{\"alert\":{\"name\":\"x\"}}", "{\"alert\":null}"));
}

static void operators(void **state)
{
	(void)state;
	assert_true(m("{\"$regex\":\"^/rd/[0-9a-f]+$\"}", "\"/rd/5a3f\""));
	assert_false(m("{\"$regex\":\"^/rd/[0-9a-f]+$\"}", "\"/bs\""));
	assert_false(m("{\"$regex\":\"x\"}", "5"));
	assert_true(m("{\"$min\":1,\"$max\":5}", "5"));
	assert_false(m("{\"$min\":1,\"$max\":5}", "5.5"));
	assert_false(m("{\"$min\":1}", "\"3\""));
	assert_true(m("{\"$exists\":false}", NULL));
	assert_false(m("{\"$exists\":true}", NULL));
	assert_true(m("{\"$exists\":true}", "null"));
	assert_true(m("{\"$ne\":\"2.01\"}", "\"4.00\""));
	assert_true(m("{\"$ne\":\"2.01\"}", NULL));
	assert_true(m("{\"$in\":[\"2.01\",\"2.04\"]}", "\"2.04\""));
	assert_false(m("{\"$in\":[\"2.01\",\"2.04\"]}", "\"4.04\""));
}

static void event_matchers(void **state)
{
	(void)state;
	json_t *ev = json_loads("{\"ts\":1.5,\"src\":\"emulator\",\"event\":\"handshake_done\","
				"\"cookie_verified\":true,\"identity\":\"dev1\"}",
				0, NULL);
	json_t *ok = json_loads("{\"src\":\"emulator\",\"event\":\"handshake_done\","
				"\"fields\":{\"cookie_verified\":true}}",
				0, NULL);
	json_t *wrong_src = json_loads("{\"src\":\"shim\",\"event\":\"handshake_done\"}", 0, NULL);
	json_t *wrong_field = json_loads("{\"event\":\"handshake_done\","
					 "\"fields\":{\"identity\":{\"$regex\":\"^dev2$\"}}}",
					 0, NULL);
	assert_true(har_match_event(ok, ev));
	assert_false(har_match_event(wrong_src, ev));
	assert_false(har_match_event(wrong_field, ev));
	json_decref(ev);
	json_decref(ok);
	json_decref(wrong_src);
	json_decref(wrong_field);
}

static void explanations(void **state)
{
	(void)state;
	char why[256];
	json_t *want = json_loads("{\"ok\":true,\"alert\":{\"name\":\"bad_record_mac\"}}", 0, NULL);
	json_t *have = json_loads("{\"ok\":true,\"alert\":{\"name\":\"decrypt_error\"}}", 0, NULL);
	assert_int_equal(har_match_explain(want, have, why, sizeof(why)), 1);
	assert_string_equal(why, "alert.name: expected \"bad_record_mac\", got \"decrypt_error\"");
	json_object_del(have, "alert");
	assert_int_equal(har_match_explain(want, have, why, sizeof(why)), 1);
	assert_string_equal(why, "alert: expected {\"name\":\"bad_record_mac\"}, got (missing)");
	json_object_set_new(have, "alert", json_pack("{s:s}", "name", "bad_record_mac"));
	assert_int_equal(har_match_explain(want, have, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	json_decref(want);
	json_decref(have);
}

static void matcher_checks(void **state)
{
	(void)state;
	struct har_errs e = {0};
	json_t *good =
	    json_loads("{\"a\":{\"$regex\":\"^x+$\"},\"b\":{\"$min\":1},\"c\":[1]}", 0, NULL);
	json_t *bad = json_loads("{\"a\":{\"$regex\":\"(\"},\"b\":{\"$min\":\"1\"},"
				 "\"c\":{\"$like\":1}}",
				 0, NULL);
	assert_int_equal(har_match_check(good, "$.expect", &e), 0);
	assert_int_equal(har_match_check(bad, "$.expect", &e), 3);
	assert_string_equal(e.v[0].path, "$.expect.a.$regex");
	assert_string_equal(e.v[1].path, "$.expect.b.$min");
	assert_string_equal(e.v[2].path, "$.expect.c.$like");
	assert_non_null(strstr(e.v[2].msg, "unknown matcher operator"));
	json_decref(good);
	json_decref(bad);
	har_errs_free(&e);
}

static void timeline_search(void **state)
{
	(void)state;
	struct har_timeline tl = {0};
	har_timeline_add(&tl, json_pack("{s:f,s:s,s:s,s:s}", "ts", 2.0, "src", "emulator", "event",
					"register", "code", "2.01"));
	har_timeline_add(&tl, json_pack("{s:f,s:s,s:s,s:s}", "ts", 1.0, "src", "emulator", "event",
					"update", "code", "4.04"));
	har_timeline_add(&tl, json_pack("{s:f,s:s,s:s,s:s}", "ts", 3.0, "src", "emulator", "event",
					"update", "code", "2.04"));
	json_t *upd = json_pack("{s:s}", "event", "update");
	json_t *ok = json_pack("{s:s,s:{s:s}}", "event", "update", "fields", "code", "2.04");
	assert_int_equal(har_timeline_find(&tl, upd, 0), 1);
	assert_int_equal(har_timeline_find(&tl, upd, 2), 2);
	assert_int_equal(har_timeline_find(&tl, ok, 0), 2);
	assert_int_equal(har_timeline_count(&tl, upd, 0), 2);
	assert_int_equal(har_timeline_count(&tl, upd, 2), 1);
	json_decref(upd);
	json_decref(ok);
	har_timeline_free(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(plain_values),    cmocka_unit_test(subset_objects),
	    cmocka_unit_test(operators),       cmocka_unit_test(event_matchers),
	    cmocka_unit_test(explanations),    cmocka_unit_test(matcher_checks),
	    cmocka_unit_test(timeline_search),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
