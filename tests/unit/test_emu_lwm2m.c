/* Unit tests for the emulator's LwM2M logic: CoRE link-format parsing, the
 * Register/Update query and the registry (locations, replacement, expiry). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/emu_link.h"
#include "server/emu_lwm2m.h"
#include "server/emu_registry.h"

/* Parses text and checks the link-values that come out. */
static void expect_links(const char *text, size_t n, const char *const *want)
{
	char err[128] = "";
	json_t *arr = emu_link_parse(text, strlen(text), err, sizeof(err));
	if (!arr)
		fail_msg("\"%s\": %s", text, err);
	assert_int_equal(json_array_size(arr), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
	json_decref(arr);
}

static void links_are_split_and_trimmed(void **state)
{
	(void)state;
	static const char *const a[] = {"</1/0>", "</3/0>"};
	static const char *const b[] = {"</>;rt=\"oma.lwm2m\";ct=11543", "</1/0>;ver=1.1",
					"</3/0>"};
	static const char *const c[] = {"</a,b>;title=\"x,y\"", "</c>"};
	expect_links("</1/0>,</3/0>", 2, a);
	expect_links(" </1/0> ,\r\n</3/0>", 2, a);
	expect_links("</>;rt=\"oma.lwm2m\";ct=11543,</1/0>;ver=1.1,</3/0>", 3, b);
	expect_links("</a,b>;title=\"x,y\",</c>", 2, c);
	expect_links("", 0, NULL);
}

static void bad_links_say_where(void **state)
{
	(void)state;
	static const struct {
		const char *text, *expect;
	} cases[] = {
	    {"garbage", "offset 0"},
	    {"</1/0>,,</3/0>", "empty link at offset 7"},
	    {"</1/0>x", "expected ';'"},
	    {"</1/0", "unterminated <URI>"},
	    {"</1/0>;t=\"abc", "unterminated quoted string"},
	    {"<>", "does not start with <URI>"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[128] = "";
		json_t *arr =
		    emu_link_parse(cases[i].text, strlen(cases[i].text), err, sizeof(err));
		assert_null(arr);
		if (!strstr(err, cases[i].expect))
			fail_msg("\"%s\": got \"%s\"", cases[i].text, err);
	}
}

static void register_query(void **state)
{
	(void)state;
	struct emu_rd_query q;
	char err[128] = "";
	const char *ok = "ep=dev1&lt=300&lwm2m=1.1&b=UQ&Q&sms=123";
	assert_int_equal(emu_lwm2m_parse_query(ok, strlen(ok), 1, 86400, 1, &q, err, sizeof(err)),
			 0);
	assert_string_equal(q.ep, "dev1");
	assert_int_equal(q.lt, 300);
	assert_string_equal(q.lwm2m, "1.1");
	assert_string_equal(q.b, "UQ");
	assert_true(q.queue_mode);
	assert_int_equal(emu_lwm2m_parse_query("lt=60", 5, 1, 86400, 1, &q, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "ep="));
	assert_int_equal(emu_lwm2m_parse_query("ep=x&lt=9x", 10, 1, 86400, 1, &q, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "lt=9x"));
	assert_int_equal(emu_lwm2m_parse_query("ep=x&lt=0", 9, 1, 86400, 1, &q, err, sizeof(err)),
			 -1);
	assert_int_equal(emu_lwm2m_parse_query("ep=", 3, 1, 86400, 1, &q, err, sizeof(err)), -1);
	/* An Update needs no ep, and an absent lt stays -1. */
	assert_int_equal(emu_lwm2m_parse_query("b=U", 3, 1, 86400, 0, &q, err, sizeof(err)), 0);
	assert_int_equal(q.lt, -1);
}

static void registry_locations_and_replacement(void **state)
{
	(void)state;
	struct emu_registry reg;
	struct emu_reg *old = NULL;
	json_t *links = json_array();
	emu_registry_init(&reg, 0xabc);
	struct emu_reg *a = emu_registry_add(&reg, "dev1", "id1", links, &old);
	struct emu_reg *b = emu_registry_add(&reg, "dev2", NULL, links, &old);
	assert_non_null(a);
	assert_non_null(b);
	assert_null(old);
	assert_string_equal(a->location, "/rd/abc");
	assert_string_equal(b->location, "/rd/abd");
	assert_ptr_equal(emu_registry_find(&reg, "/rd/abc"), a);
	assert_ptr_equal(emu_registry_find_ep(&reg, "dev2"), b);
	assert_null(emu_registry_find(&reg, "/rd/zzz"));
	/* dev1 registers again: new location, the old one is handed back. */
	struct emu_reg *a2 = emu_registry_add(&reg, "dev1", "id1", links, &old);
	assert_ptr_equal(old, a);
	assert_string_not_equal(a2->location, a->location);
	assert_null(emu_registry_find(&reg, a->location));
	assert_ptr_equal(emu_registry_find_ep(&reg, "dev1"), a2);
	assert_int_equal(reg.count, 2);
	emu_reg_free(old);
	emu_registry_fini(&reg);
	json_decref(links);
}

static void registry_expiry_order(void **state)
{
	(void)state;
	struct emu_registry reg;
	struct emu_reg *old;
	emu_registry_init(&reg, 1);
	struct emu_reg *a = emu_registry_add(&reg, "a", NULL, NULL, &old);
	struct emu_reg *b = emu_registry_add(&reg, "b", NULL, NULL, &old);
	emu_registry_set_expiry(&reg, a, 2000);
	emu_registry_set_expiry(&reg, b, 1000);
	assert_null(emu_registry_expired(&reg, 999));
	assert_ptr_equal(emu_registry_expired(&reg, 5000), b);
	emu_registry_remove(&reg, b);
	emu_reg_free(b);
	assert_null(emu_registry_expired(&reg, 1500));
	assert_ptr_equal(emu_registry_expired(&reg, 2000), a);
	emu_registry_fini(&reg);
	assert_int_equal(reg.count, 0);
}

/* The expiry floor: a scan that finds nothing due skips the next checks
 * until the earliest expiry, and a registration added or shortened after it
 * (Register, an Update with a smaller lt, a restore) lowers it, so none is
 * missed. */
static void registry_expiry_floor(void **state)
{
	(void)state;
	struct emu_registry reg;
	struct emu_reg *old;
	emu_registry_init(&reg, 1);
	struct emu_reg *a = emu_registry_add(&reg, "a", NULL, NULL, &old);
	emu_registry_set_expiry(&reg, a, 5000);
	assert_null(emu_registry_expired(&reg, 100));
	assert_int_equal(reg.expiry_floor_ms, 5000);
	struct emu_reg *b = emu_registry_add(&reg, "b", NULL, NULL, &old);
	emu_registry_set_expiry(&reg, b, 3000);
	assert_ptr_equal(emu_registry_expired(&reg, 3000), b);
	emu_registry_remove(&reg, b);
	emu_reg_free(b);
	assert_null(emu_registry_expired(&reg, 3000));
	emu_registry_set_expiry(&reg, a, 4000); /* an Update with a shorter lt */
	assert_ptr_equal(emu_registry_expired(&reg, 4000), a);
	emu_registry_fini(&reg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(links_are_split_and_trimmed),
	    cmocka_unit_test(bad_links_say_where),
	    cmocka_unit_test(register_query),
	    cmocka_unit_test(registry_locations_and_replacement),
	    cmocka_unit_test(registry_expiry_order),
	    cmocka_unit_test(registry_expiry_floor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
