/* Compact per-device state (docs/perf-memory.md): registrations with equal
 * links share one array, an Update to other links touches only its own
 * registration, and the shared array goes with its last user; the common
 * version and binding texts are one table entry, not a copy each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "server/emu_registry.h"

/* A links array as emu_link_parse gives it. */
static json_t *links_of(const char *a, const char *b)
{
	json_t *l = json_array();
	json_array_append_new(l, json_string(a));
	if (b)
		json_array_append_new(l, json_string(b));
	return l;
}

/* Adds endpoint ep with links (the caller keeps its reference). */
static struct emu_reg *add(struct emu_registry *reg, const char *ep, json_t *links)
{
	struct emu_reg *old = NULL;
	struct emu_reg *r = emu_registry_add(reg, ep, ep, links, &old);
	assert_non_null(r);
	assert_null(old);
	return r;
}

static void equal_links_are_shared(void **state)
{
	(void)state;
	struct emu_registry reg;
	emu_registry_init(&reg, 1);
	json_t *l1 = links_of("</1/0>", "</3/0>"), *l2 = links_of("</1/0>", "</3/0>");
	struct emu_reg *a = add(&reg, "a", l1), *b = add(&reg, "b", l2);
	json_decref(l1);
	json_decref(l2);
	assert_ptr_equal(a->links, b->links); /* one array for both */
	assert_int_equal(emu_registry_linksets(&reg), 1);
	/* b's Update to other links: a keeps its own, unchanged. */
	json_t *l3 = links_of("</1/0>", "</5/0>");
	emu_registry_set_links(&reg, b, l3);
	json_decref(l3);
	assert_ptr_not_equal(a->links, b->links);
	assert_int_equal(json_array_size(a->links), 2);
	assert_string_equal(json_string_value(json_array_get(a->links, 1)), "</3/0>");
	assert_string_equal(json_string_value(json_array_get(b->links, 1)), "</5/0>");
	assert_int_equal(emu_registry_linksets(&reg), 2);
	/* Back to a's links: shared again; the other set is gone. */
	json_t *l4 = links_of("</1/0>", "</3/0>");
	emu_registry_set_links(&reg, b, l4);
	json_decref(l4);
	assert_ptr_equal(a->links, b->links);
	assert_int_equal(emu_registry_linksets(&reg), 1);
	emu_registry_remove(&reg, a);
	emu_reg_free(a);
	assert_int_equal(emu_registry_linksets(&reg), 1);
	emu_registry_fini(&reg);
	assert_null(reg.by_links);
}

/* Arrays that differ only in order or in one character are not shared. */
static void different_links_stay_apart(void **state)
{
	(void)state;
	struct emu_registry reg;
	emu_registry_init(&reg, 1);
	json_t *l1 = links_of("</1/0>", "</3/0>"), *l2 = links_of("</3/0>", "</1/0>");
	json_t *l3 = links_of("</1/0>,</3/0>", NULL);
	struct emu_reg *a = add(&reg, "a", l1), *b = add(&reg, "b", l2), *c = add(&reg, "c", l3);
	assert_ptr_not_equal(a->links, b->links);
	assert_ptr_not_equal(a->links, c->links);
	assert_int_equal(emu_registry_linksets(&reg), 3);
	json_decref(l1);
	json_decref(l2);
	json_decref(l3);
	emu_registry_fini(&reg);
	assert_null(reg.by_links);
}

/* "1.1" and "U" from every device are the same pointer; an unusual value
 * is a copy of its own; emu_reg_free releases both (valgrind on this test,
 * and the ASan scenario suite, where real clients send such values, report
 * a free of a table entry or a copy never freed). */
static void common_texts_are_shared(void **state)
{
	(void)state;
	struct emu_registry reg;
	emu_registry_init(&reg, 1);
	json_t *l = links_of("</1/0>", NULL);
	struct emu_reg *a = add(&reg, "a", l), *b = add(&reg, "b", l);
	char v11[] = "1.1", odd[] = "1.9-beta";
	a->lwm2m = emu_reg_text(v11);
	b->lwm2m = emu_reg_text("1.1");
	a->binding = emu_reg_text("U");
	b->binding = emu_reg_text(odd);
	assert_ptr_equal(a->lwm2m, b->lwm2m);
	assert_ptr_not_equal(a->lwm2m, v11);
	assert_string_equal(b->binding, "1.9-beta");
	assert_ptr_not_equal(b->binding, odd);
	assert_null(emu_reg_text(NULL));
	json_decref(l);
	emu_registry_fini(&reg);
}

/* A state restore hands each registration the array its predecessor
 * shares when their bytes in the file are equal (emu_state_bin.c): the
 * registry takes that entry by the pointer. Once its last user is gone the
 * entry is freed and forgotten: a later registration with equal links gets
 * a new one (ASan and valgrind report a use after free when the registry
 * keeps pointing at the freed entry), and one with other links is never
 * matched by the pointer path. */
static void predecessor_array_taken_by_pointer(void **state)
{
	(void)state;
	struct emu_registry reg;
	emu_registry_init(&reg, 1);
	json_t *l1 = links_of("</1/0>", "</3/0>");
	struct emu_reg *a = add(&reg, "a", l1);
	json_decref(l1);
	struct emu_reg *b = add(&reg, "b", a->links);
	assert_ptr_equal(a->links, b->links);
	assert_int_equal(emu_registry_linksets(&reg), 1);
	json_t *l2 = links_of("</1/0>", "</5/0>");
	struct emu_reg *c = add(&reg, "c", l2);
	json_decref(l2);
	assert_ptr_not_equal(c->links, a->links);
	assert_string_equal(json_string_value(json_array_get(c->links, 1)), "</5/0>");
	assert_int_equal(emu_registry_linksets(&reg), 2);
	emu_registry_remove(&reg, c); /* the entry shared last goes with c */
	emu_reg_free(c);
	assert_int_equal(emu_registry_linksets(&reg), 1);
	json_t *l3 = links_of("</1/0>", "</5/0>");
	struct emu_reg *d = add(&reg, "d", l3);
	json_decref(l3);
	assert_string_equal(json_string_value(json_array_get(d->links, 1)), "</5/0>");
	assert_int_equal(emu_registry_linksets(&reg), 2);
	struct emu_reg *e = add(&reg, "e", d->links);
	assert_ptr_equal(e->links, d->links);
	assert_int_equal(emu_registry_linksets(&reg), 2);
	emu_registry_fini(&reg);
	assert_null(reg.by_links);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(common_texts_are_shared),
	    cmocka_unit_test(equal_links_are_shared),
	    cmocka_unit_test(different_links_stay_apart),
	    cmocka_unit_test(predecessor_array_taken_by_pointer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
