/* mut_resumed_false.c: mutant "resumed-false": SESSION_RESUMED always
 * reads false, so a client re-registers after every abbreviated handshake
 * (and loses its observations) although the session was resumed. */
#include "tests/mutants/mut_base.h"

/* get_option that never admits a resumed session. */
static int resumed_false_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret == 0 && opt == SL_OPT_SESSION_RESUMED)
		value->flag = 0;
	return ret;
}

/* The loader's entry point: the reference vtable with get_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-resumed-false");
	vt.get_option = resumed_false_get_option;
	return &vt;
}
