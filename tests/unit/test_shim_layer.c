/* Unit tests for loading and checking a socket layer (--layer): another
 * contract version, a short vtable, a NULL entry, a missing file or entry
 * symbol are each refused with a message that says what is wrong; the
 * built-in reference layer and the CID-less test layer pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "client_shim/shim_layer.h"

static char msg[512];

static void vtables_are_checked(void **state)
{
	sl_vtable_t vt = *sl_layer_entry();

	(void)state;
	assert_int_equal(shim_layer_check(&vt, msg, sizeof(msg)), 0);
	assert_int_equal(shim_layer_check(NULL, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "returned NULL"));
	vt.abi_version = SL_ABI_VERSION + 1;
	assert_int_equal(shim_layer_check(&vt, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "contract version"));
	assert_non_null(strstr(msg, "rebuild the layer"));
	vt = *sl_layer_entry();
	vt.size = (uint32_t)offsetof(sl_vtable_t, create);
	assert_int_equal(shim_layer_check(&vt, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "bytes, expected"));
	vt = *sl_layer_entry();
	vt.receive = NULL;
	assert_int_equal(shim_layer_check(&vt, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "NULL"));
}

static void loading_fails_clearly(void **state)
{
	void *handle = (void *)1;

	(void)state;
	assert_null(shim_layer_load("/nonexistent/layer.so", &handle, msg, sizeof(msg)));
	assert_null(handle);
	assert_non_null(strstr(msg, "cannot load layer"));
	/* A real shared object that is no layer: the entry symbol is missing. */
	assert_null(shim_layer_load("libjansson.so.4", &handle, msg, sizeof(msg)));
	assert_null(handle);
	assert_non_null(strstr(msg, "does not export " SL_ENTRY_SYMBOL));
	assert_ptr_equal(shim_layer_load(NULL, &handle, msg, sizeof(msg)), sl_layer_entry());
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(vtables_are_checked),
	    cmocka_unit_test(loading_fails_clearly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
