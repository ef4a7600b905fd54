/* mut_no_buffered.c: mutant "no-buffered": HAS_BUFFERED_DATA always reads
 * false, so records the TLS library already read (a second record in the
 * same datagram, the rest of a TCP segment) wait until poll() fires again. */
#include "tests/mutants/mut_base.h"

/* get_option that never reports buffered data. */
static int no_buffered_get_option(sl_socket_t *sock, sl_option_t opt, sl_option_value_t *value)
{
	int ret = mut_ref()->get_option(sock, opt, value);

	if (ret == 0 && opt == SL_OPT_HAS_BUFFERED_DATA)
		value->flag = 0;
	return ret;
}

/* The loader's entry point: the reference vtable with get_option replaced. */
const sl_vtable_t *sl_layer_entry(void)
{
	static sl_vtable_t vt;

	mut_vtable_init(&vt, "mutant-no-buffered");
	vt.get_option = no_buffered_get_option;
	return &vt;
}
