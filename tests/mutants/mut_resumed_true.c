/* mut_resumed_true.c: mutant "resumed-true": SESSION_RESUMED always reads
 * true, so after a full handshake (the server restarted or forgot the
 * session) the client believes its registration survived and sends
 * nothing, while the server no longer knows it. */
#include "tests/mutants/mut_base.h"

/* get_option that calls every session a resumed one. */
static int resumed_true_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret == 0 && opt == SL_OPT_SESSION_RESUMED)
		value->flag = 1;
	return ret;
}

/* The loader's entry point: the reference vtable with get_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-resumed-true");
	vt.get_option = resumed_true_get_option;
	return &vt;
}
